//! AVG, MIN and MAX.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::datatypes::Fields;
use datafusion::common::ScalarValue;
use riffle_types::{SqlType, StructField};

use crate::value::{
    bad_args, first, internal, is_comparable, java_cmp, make_struct, one_arg, struct_fields,
    struct_values, typed_null,
};
use crate::{AggregateConfig, AggregateError, AggregateFunction, Result};

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    _params: &[ScalarValue],
    _config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    Ok(Some(match name {
        "AVG" => {
            let ty = one_arg("AVG", args)?;
            // ksqlDB's AverageUdaf has INT, BIGINT and DOUBLE variants only.
            if !matches!(ty, SqlType::Int | SqlType::Bigint | SqlType::Double) {
                return Err(bad_args("AVG", args));
            }
            let state = SqlType::Struct(vec![
                StructField {
                    name: "SUM".into(),
                    ty: ty.clone(),
                },
                StructField {
                    name: "COUNT".into(),
                    ty: SqlType::Bigint,
                },
            ]);
            Arc::new(Avg {
                fields: struct_fields("AVG", &state)?,
                state,
            })
        }
        "MIN" | "MAX" => {
            let [ty] = args else {
                return Err(AggregateError::BadArguments(format!(
                    "expected exactly one argument to aggregate {name} function"
                )));
            };
            if !is_comparable(ty) {
                return Err(AggregateError::BadArguments(format!(
                    "No {name} aggregate function with {ty} argument type exists!"
                )));
            }
            Arc::new(MinMax {
                max: name == "MAX",
                ty: ty.clone(),
            })
        }
        _ => return Ok(None),
    }))
}

/// `AVG(x)`: sum / count of the non-null values as DOUBLE, 0.0 for no values. The state is
/// ksqlDB's `STRUCT<SUM x's type, COUNT BIGINT>`; integer sums wrap as Java's do.
#[derive(Debug)]
struct Avg {
    state: SqlType,
    fields: Fields,
}

impl Avg {
    fn parts(&self, state: &ScalarValue) -> Result<(ScalarValue, i64)> {
        let values = struct_values("AVG", state)?.unwrap_or_default();
        match values.as_slice() {
            [sum, ScalarValue::Int64(count)] => Ok((sum.clone(), count.unwrap_or(0))),
            _ => Err(internal("AVG", "malformed state")),
        }
    }

    fn build(&self, sum: ScalarValue, count: i64) -> Result<ScalarValue> {
        make_struct("AVG", &self.fields, &[sum, ScalarValue::Int64(Some(count))])
    }

    /// Applies `sign` × `v` to the state (1 adds, -1 retracts).
    fn apply(&self, state: &mut ScalarValue, v: &ScalarValue, sign: i64) -> Result<()> {
        let v = &crate::value::coerce("AVG", v, self.fields[0].data_type())?;
        if v.is_null() {
            return Ok(());
        }
        let (sum, count) = self.parts(state)?;
        let sum = if sign > 0 { sum.add(v) } else { sum.sub(v) }.map_err(|e| internal("AVG", e))?;
        *state = self.build(sum, count.wrapping_add(sign))?;
        Ok(())
    }
}

impl AggregateFunction for Avg {
    fn name(&self) -> &str {
        "AVG"
    }
    fn return_type(&self) -> SqlType {
        SqlType::Double
    }
    fn state_type(&self) -> SqlType {
        self.state.clone()
    }
    fn initial(&self) -> ScalarValue {
        let zero = ScalarValue::new_zero(self.fields[0].data_type()).unwrap_or(ScalarValue::Null);
        self.build(zero, 0)
            .unwrap_or_else(|_| typed_null(&self.state.to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        self.apply(state, first(args), 1)
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        self.apply(state, first(args), -1)?;
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let (s1, c1) = self.parts(a)?;
        let (s2, c2) = self.parts(b)?;
        let sum = s1.add(&s2).map_err(|e| internal("AVG", e))?;
        self.build(sum, c1.wrapping_add(c2))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        let (sum, count) = self.parts(state)?;
        if count == 0 {
            return Ok(ScalarValue::Float64(Some(0.0)));
        }
        let sum = crate::value::as_f64(&sum).unwrap_or(0.0);
        Ok(ScalarValue::Float64(Some(sum / count as f64)))
    }
}

/// `MIN(x)` / `MAX(x)`: the least / greatest non-null value in Java's order, NULL for none.
/// ksqlDB cannot undo them (tables keep the old extreme).
#[derive(Debug)]
struct MinMax {
    max: bool,
    ty: SqlType,
}

impl MinMax {
    fn fold(&self, current: &ScalarValue, acc: &ScalarValue) -> ScalarValue {
        if current.is_null() {
            return acc.clone();
        }
        if acc.is_null() {
            return current.clone();
        }
        let wanted = if self.max {
            Ordering::Greater
        } else {
            Ordering::Less
        };
        // ksqlDB keeps the aggregate only when it is strictly better than the new value.
        if java_cmp(acc, current) == wanted {
            acc.clone()
        } else {
            current.clone()
        }
    }
}

impl AggregateFunction for MinMax {
    fn name(&self) -> &str {
        if self.max {
            "MAX"
        } else {
            "MIN"
        }
    }
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn state_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn initial(&self) -> ScalarValue {
        typed_null(&self.ty.to_arrow())
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let v = crate::value::coerce(self.name(), first(args), &self.ty.to_arrow())?;
        *state = self.fold(&v, state);
        Ok(())
    }
    fn undo(&self, _state: &mut ScalarValue, _args: &[ScalarValue]) -> Result<bool> {
        Ok(false)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        Ok(self.fold(a, b))
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, ty: SqlType, values: &[ScalarValue]) -> ScalarValue {
        let f = crate::resolve(name, &[ty], &[]).unwrap();
        let mut s = f.initial();
        assert_eq!(s.data_type(), f.state_type().to_arrow());
        for v in values {
            f.add(&mut s, std::slice::from_ref(v)).unwrap();
        }
        f.result(&s).unwrap()
    }

    #[test]
    fn avg_of_ints_longs_and_doubles() {
        let ints = [3, 4, 4].map(|v| ScalarValue::Int32(Some(v)));
        assert_eq!(
            run("AVG", SqlType::Int, &ints),
            ScalarValue::Float64(Some(11.0 / 3.0))
        );
        assert_eq!(
            run("avg", SqlType::Double, &[]),
            ScalarValue::Float64(Some(0.0))
        );
        // Java's long sum wraps: MAX + 1 is MIN.
        let longs = [
            ScalarValue::Int64(Some(i64::MAX)),
            ScalarValue::Int64(Some(1)),
        ];
        assert_eq!(
            run("AVG", SqlType::Bigint, &longs),
            ScalarValue::Float64(Some(i64::MIN as f64 / 2.0))
        );
        assert!(crate::resolve("AVG", &[SqlType::String], &[]).is_err());
    }

    #[test]
    fn avg_undo_and_merge() {
        let f = crate::resolve("AVG", &[SqlType::Bigint], &[]).unwrap();
        let mut a = f.initial();
        f.add(&mut a, &[ScalarValue::Int64(Some(10))]).unwrap();
        f.add(&mut a, &[ScalarValue::Int64(Some(20))]).unwrap();
        f.add(&mut a, &[ScalarValue::Int64(None)]).unwrap();
        assert!(f.undo(&mut a, &[ScalarValue::Int64(Some(10))]).unwrap());
        let mut b = f.initial();
        f.add(&mut b, &[ScalarValue::Int64(Some(5))]).unwrap();
        let m = f.merge(&a, &b).unwrap();
        assert_eq!(f.result(&m).unwrap(), ScalarValue::Float64(Some(12.5)));
    }

    #[test]
    fn min_max_of_various_types() {
        let strs = ["pear", "apple", "zoo"].map(|s| ScalarValue::Utf8(Some(s.into())));
        assert_eq!(
            run("MAX", SqlType::String, &strs),
            ScalarValue::Utf8(Some("zoo".into()))
        );
        assert_eq!(
            run("MIN", SqlType::String, &strs),
            ScalarValue::Utf8(Some("apple".into()))
        );
        let dates = [ScalarValue::Date32(Some(3)), ScalarValue::Date32(None)];
        assert_eq!(
            run("MIN", SqlType::Date, &dates),
            ScalarValue::Date32(Some(3))
        );
        assert_eq!(run("MAX", SqlType::Int, &[]), ScalarValue::Int32(None));
        let bytes = [vec![0x7f], vec![0x80]].map(|b| ScalarValue::Binary(Some(b)));
        // Java compares bytes signed: 0x80 (-128) is the minimum.
        assert_eq!(
            run("MAX", SqlType::Bytes, &bytes),
            ScalarValue::Binary(Some(vec![0x7f]))
        );
        let err = crate::resolve("MAX", &[SqlType::Boolean], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "No MAX aggregate function with BOOLEAN argument type exists!"
        );
        let f = crate::resolve("MIN", &[SqlType::Int], &[]).unwrap();
        let mut s = f.initial();
        assert!(!f.undo(&mut s, &[ScalarValue::Int32(Some(1))]).unwrap());
        let m = f
            .merge(&ScalarValue::Int32(Some(4)), &ScalarValue::Int32(Some(2)))
            .unwrap();
        assert_eq!(m, ScalarValue::Int32(Some(2)));
    }
}
