//! STDDEV_SAMP, STDDEV_SAMPLE and CORRELATION.
//!
//! ksqlDB ships two sample standard deviations that differ in more than name, and Riffle keeps
//! both exactly: `STDDEV_SAMPLE` returns the square root of M2 / (n - 1) and counts in a
//! BIGINT, while `STDDEV_SAMP` returns M2 / (n - 1) itself (the sample *variance*; ksqlDB never
//! takes the root) and counts in an INT. Both use the Youngs-Cramer update with Java's integer
//! arithmetic (wrapping, truncating division) for INT and BIGINT inputs, and both report 0.0
//! below two values. There is no STDDEV_POP nor STDDEV in ksqlDB.

use std::sync::Arc;

use datafusion::arrow::datatypes::Fields;
use datafusion::common::ScalarValue;
use riffle_types::{SqlType, StructField};

use crate::value::{
    as_f64, bad_args, coerce, first, internal, make_struct, struct_fields, struct_values,
    typed_null,
};
use crate::{AggregateConfig, AggregateFunction, Result};

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    _params: &[ScalarValue],
    _config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    Ok(Some(match name {
        "STDDEV_SAMP" | "STDDEV_SAMPLE" => {
            let sample = name == "STDDEV_SAMPLE";
            let ty = crate::value::one_arg(name, args)?;
            if !matches!(ty, SqlType::Int | SqlType::Bigint | SqlType::Double) {
                return Err(bad_args(name, args));
            }
            let state = SqlType::Struct(vec![
                field("SUM", ty.clone()),
                field(
                    "COUNT",
                    if sample {
                        SqlType::Bigint
                    } else {
                        SqlType::Int
                    },
                ),
                field("M2", SqlType::Double),
            ]);
            Arc::new(StdDev {
                sample,
                ty: ty.clone(),
                fields: struct_fields(name, &state)?,
                state,
            })
        }
        "CORRELATION" => {
            if args.len() != 2 || !args.iter().all(SqlType::is_numeric) {
                return Err(bad_args(name, args));
            }
            let state = SqlType::Struct(
                CORRELATION_FIELDS
                    .iter()
                    .map(|n| field(n, SqlType::Double))
                    .chain([field("COUNT", SqlType::Bigint)])
                    .collect(),
            );
            Arc::new(Correlation {
                fields: struct_fields(name, &state)?,
                state,
            })
        }
        _ => return Ok(None),
    }))
}

fn field(name: &str, ty: SqlType) -> StructField {
    StructField {
        name: name.into(),
        ty,
    }
}

/// A running sum of the input type, with Java's arithmetic.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i32),
    Long(i64),
    Double(f64),
}

impl Num {
    fn of(v: &ScalarValue) -> Option<Num> {
        match v {
            ScalarValue::Int32(Some(x)) => Some(Num::Int(*x)),
            ScalarValue::Int64(Some(x)) => Some(Num::Long(*x)),
            ScalarValue::Float64(Some(x)) => Some(Num::Double(*x)),
            _ => None,
        }
    }
    fn scalar(self) -> ScalarValue {
        match self {
            Num::Int(x) => ScalarValue::Int32(Some(x)),
            Num::Long(x) => ScalarValue::Int64(Some(x)),
            Num::Double(x) => ScalarValue::Float64(Some(x)),
        }
    }
    fn add(self, o: Num, sign: i32) -> Num {
        match (self, o) {
            (Num::Int(a), Num::Int(b)) => Num::Int(a.wrapping_add(b.wrapping_mul(sign))),
            (Num::Long(a), Num::Long(b)) => Num::Long(a.wrapping_add(b.wrapping_mul(sign.into()))),
            (Num::Double(a), Num::Double(b)) => Num::Double(a + b * f64::from(sign)),
            (a, _) => a,
        }
    }
}

/// One of ksqlDB's two sample standard deviations (see the module docs).
#[derive(Debug)]
struct StdDev {
    /// STDDEV_SAMPLE (BIGINT count, square root) rather than STDDEV_SAMP.
    sample: bool,
    ty: SqlType,
    state: SqlType,
    fields: Fields,
}

/// The decoded state: sum, count and M2.
#[derive(Debug, Clone, Copy)]
struct Moments {
    sum: Num,
    count: i64,
    m2: f64,
}

impl StdDev {
    fn fname(&self) -> &'static str {
        if self.sample {
            "STDDEV_SAMPLE"
        } else {
            "STDDEV_SAMP"
        }
    }

    fn zero(&self) -> Num {
        match self.ty {
            SqlType::Int => Num::Int(0),
            SqlType::Bigint => Num::Long(0),
            _ => Num::Double(0.0),
        }
    }

    fn decode(&self, state: &ScalarValue) -> Result<Moments> {
        let values = struct_values(self.fname(), state)?.unwrap_or_default();
        let [sum, count, m2] = values.as_slice() else {
            return Err(internal(self.fname(), "malformed state"));
        };
        let count = match count {
            ScalarValue::Int32(c) => i64::from(c.unwrap_or(0)),
            ScalarValue::Int64(c) => c.unwrap_or(0),
            _ => return Err(internal(self.fname(), "malformed COUNT")),
        };
        Ok(Moments {
            sum: Num::of(sum).unwrap_or(self.zero()),
            count,
            m2: as_f64(m2).unwrap_or(0.0),
        })
    }

    fn encode(&self, m: Moments) -> Result<ScalarValue> {
        let count = if self.sample {
            ScalarValue::Int64(Some(m.count))
        } else {
            ScalarValue::Int32(Some(m.count as i32))
        };
        make_struct(
            self.fname(),
            &self.fields,
            &[m.sum.scalar(), count, ScalarValue::Float64(Some(m.m2))],
        )
    }

    /// The count as ksqlDB's COUNT field holds it (INT for STDDEV_SAMP wraps).
    fn count_field(&self, c: i64) -> i64 {
        if self.sample {
            c
        } else {
            i64::from(c as i32)
        }
    }

    /// `a × b` in the COUNT field's integer type, as a double.
    fn count_product(&self, a: i64, b: i64) -> f64 {
        if self.sample {
            a.wrapping_mul(b) as f64
        } else {
            f64::from((a as i32).wrapping_mul(b as i32))
        }
    }

    /// ksqlDB's `createDelta`: v × (count + 1) − (sum + v), in the input's Java arithmetic.
    fn delta(&self, m: &Moments, v: Num) -> f64 {
        let c1 = self.count_field(m.count.wrapping_add(1));
        match (m.sum, v) {
            (Num::Int(s), Num::Int(x)) if self.sample => {
                (i64::from(x).wrapping_mul(c1)).wrapping_sub(i64::from(s.wrapping_add(x))) as f64
            }
            (Num::Int(s), Num::Int(x)) => {
                f64::from(x.wrapping_mul(c1 as i32).wrapping_sub(s.wrapping_add(x)))
            }
            (Num::Long(s), Num::Long(x)) => {
                x.wrapping_mul(c1).wrapping_sub(s.wrapping_add(x)) as f64
            }
            (Num::Double(s), Num::Double(x)) => x * c1 as f64 - (s + x),
            _ => 0.0,
        }
    }

    /// ksqlDB's `mergeInner`: the difference of the two means (integer division for
    /// STDDEV_SAMP of integers).
    fn mean_difference(&self, a: &Moments, b: &Moments) -> f64 {
        if self.sample {
            let mean = |m: &Moments| num_f64(m.sum) / m.count as f64;
            return mean(a) - mean(b);
        }
        match (a.sum, b.sum) {
            (Num::Int(x), Num::Int(y)) => f64::from(
                x.wrapping_div(a.count as i32)
                    .wrapping_sub(y.wrapping_div(b.count as i32)),
            ),
            (Num::Long(x), Num::Long(y)) => {
                x.wrapping_div(a.count)
                    .wrapping_sub(y.wrapping_div(b.count)) as f64
            }
            (x, y) => num_f64(x) / a.count as f64 - num_f64(y) / b.count as f64,
        }
    }
}

fn num_f64(n: Num) -> f64 {
    match n {
        Num::Int(x) => f64::from(x),
        Num::Long(x) => x as f64,
        Num::Double(x) => x,
    }
}

impl AggregateFunction for StdDev {
    fn name(&self) -> &str {
        self.fname()
    }
    fn return_type(&self) -> SqlType {
        SqlType::Double
    }
    fn state_type(&self) -> SqlType {
        self.state.clone()
    }
    fn initial(&self) -> ScalarValue {
        let m = Moments {
            sum: self.zero(),
            count: 0,
            m2: 0.0,
        };
        self.encode(m)
            .unwrap_or_else(|_| typed_null(&self.state.to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let Some(v) = Num::of(&coerce(self.fname(), first(args), &self.ty.to_arrow())?) else {
            return Ok(());
        };
        let m = self.decode(state)?;
        let count = self.count_field(m.count + 1);
        let new_m2 = if count - 1 > 0 {
            let d = self.delta(&m, v);
            d * d / self.count_product(count, count - 1)
        } else {
            0.0
        };
        *state = self.encode(Moments {
            sum: m.sum.add(v, 1),
            count,
            m2: new_m2 + m.m2,
        })?;
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        let Some(v) = Num::of(&coerce(self.fname(), first(args), &self.ty.to_arrow())?) else {
            return Ok(true);
        };
        let m = self.decode(state)?;
        let count = self.count_field(m.count - 1);
        // As ksqlDB: the delta is taken against the state before removal.
        let removed = if count > 0 {
            let d = self.delta(&m, v);
            d * d / self.count_product(count, count + 1)
        } else {
            0.0
        };
        *state = self.encode(Moments {
            sum: m.sum.add(v, -1),
            count,
            m2: m.m2 - removed,
        })?;
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let (x, y) = (self.decode(a)?, self.decode(b)?);
        let count = self.count_field(x.count + y.count);
        let m2 = if x.count == 0 || y.count == 0 {
            x.m2 + y.m2
        } else {
            let inner = self.mean_difference(&x, &y);
            x.m2 + y.m2 + self.count_product(x.count, y.count) * inner * inner / count as f64
        };
        self.encode(Moments {
            sum: x.sum.add(y.sum, 1),
            count,
            m2,
        })
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        let m = self.decode(state)?;
        if m.count < 2 {
            return Ok(ScalarValue::Float64(Some(0.0)));
        }
        let variance = m.m2 / (m.count - 1) as f64;
        Ok(ScalarValue::Float64(Some(if self.sample {
            variance.sqrt()
        } else {
            variance
        })))
    }
}

/// The DOUBLE fields of CORRELATION's state, before its BIGINT COUNT.
const CORRELATION_FIELDS: [&str; 5] =
    ["X_SUM", "Y_SUM", "X_SQUARED_SUM", "Y_SQUARED_SUM", "XY_SUM"];

/// `CORRELATION(x, y)`: Pearson's coefficient over the records where both are non-null, by the
/// single-pass formula; NaN below two points or with a constant column (as ksqlDB).
#[derive(Debug)]
struct Correlation {
    state: SqlType,
    fields: Fields,
}

impl Correlation {
    /// The five sums and the count.
    fn decode(&self, state: &ScalarValue) -> Result<([f64; 5], i64)> {
        let values = struct_values("CORRELATION", state)?.unwrap_or_default();
        let [a, b, c, d, e, ScalarValue::Int64(n)] = values.as_slice() else {
            return Err(internal("CORRELATION", "malformed state"));
        };
        let f = |v: &ScalarValue| as_f64(v).unwrap_or(0.0);
        Ok(([f(a), f(b), f(c), f(d), f(e)], n.unwrap_or(0)))
    }

    fn encode(&self, sums: [f64; 5], count: i64) -> Result<ScalarValue> {
        let values: Vec<_> = sums
            .iter()
            .map(|s| ScalarValue::Float64(Some(*s)))
            .chain([ScalarValue::Int64(Some(count))])
            .collect();
        make_struct("CORRELATION", &self.fields, &values)
    }

    fn apply(&self, state: &mut ScalarValue, args: &[ScalarValue], sign: f64) -> Result<()> {
        let (Some(x), Some(y)) = (args.first().and_then(as_f64), args.get(1).and_then(as_f64))
        else {
            return Ok(());
        };
        let (s, n) = self.decode(state)?;
        let terms = [x, y, x * x, y * y, x * y];
        let sums = std::array::from_fn(|i| s[i] + sign * terms[i]);
        *state = self.encode(sums, n + sign as i64)?;
        Ok(())
    }
}

impl AggregateFunction for Correlation {
    fn name(&self) -> &str {
        "CORRELATION"
    }
    fn return_type(&self) -> SqlType {
        SqlType::Double
    }
    fn state_type(&self) -> SqlType {
        self.state.clone()
    }
    fn initial(&self) -> ScalarValue {
        self.encode([0.0; 5], 0)
            .unwrap_or_else(|_| typed_null(&self.state.to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        self.apply(state, args, 1.0)
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        self.apply(state, args, -1.0)?;
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let ((x, n), (y, m)) = (self.decode(a)?, self.decode(b)?);
        self.encode(std::array::from_fn(|i| x[i] + y[i]), n + m)
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        let ([sx, sy, sxx, syy, sxy], n) = self.decode(state)?;
        let n = n as f64;
        let numerator = n * sxy - sx * sy;
        let denominator = ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt();
        Ok(ScalarValue::Float64(Some(numerator / denominator)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, ty: SqlType, values: &[ScalarValue]) -> Vec<f64> {
        let f = crate::resolve(name, &[ty], &[]).unwrap();
        let mut s = f.initial();
        assert_eq!(s.data_type(), f.state_type().to_arrow());
        values
            .iter()
            .map(|v| {
                f.add(&mut s, std::slice::from_ref(v)).unwrap();
                as_f64(&f.result(&s).unwrap()).unwrap()
            })
            .collect()
    }

    #[test]
    fn sample_is_root_and_samp_is_variance() {
        let vals = [2.0, 4.0, 9.0].map(|v| ScalarValue::Float64(Some(v)));
        let sample = run("STDDEV_SAMPLE", SqlType::Double, &vals);
        let samp = run("stddev_samp", SqlType::Double, &vals);
        // mean 5, squared deviations 9 + 1 + 16 = 26, / 2 = 13.
        assert_eq!(samp, vec![0.0, 2.0, 13.0]);
        assert!((sample[2] - 13f64.sqrt()).abs() < 1e-12);
        let ints = [1, 2, 3, 10].map(|v| ScalarValue::Int32(Some(v)));
        let got = run("STDDEV_SAMPLE", SqlType::Int, &ints);
        assert!((got[3] - 4.08248290463863).abs() < 1e-12);
        assert!(crate::resolve("STDDEV_SAMP", &[SqlType::String], &[]).is_err());
    }

    #[test]
    fn stddev_undo_and_merge() {
        let f = crate::resolve("STDDEV_SAMPLE", &[SqlType::Bigint], &[]).unwrap();
        let l = |v| [ScalarValue::Int64(Some(v))];
        let (mut a, mut b) = (f.initial(), f.initial());
        for v in [4, 8] {
            f.add(&mut a, &l(v)).unwrap();
        }
        for v in [6, 10] {
            f.add(&mut b, &l(v)).unwrap();
        }
        let m = f.merge(&a, &b).unwrap();
        let r = as_f64(&f.result(&m).unwrap()).unwrap();
        // 4, 6, 8, 10: mean 7, squared deviations 20, / 3.
        assert!((r - (20f64 / 3.0).sqrt()).abs() < 1e-12);
        f.add(&mut a, &l(100)).unwrap();
        assert!(f.undo(&mut a, &l(100)).unwrap());
        let r = as_f64(&f.result(&a).unwrap()).unwrap();
        assert!(r.is_finite());
    }

    #[test]
    fn correlation() {
        let f = crate::resolve("CORRELATION", &[SqlType::Int, SqlType::Double], &[]).unwrap();
        let mut s = f.initial();
        let rec = |x: i32, y: f64| [ScalarValue::Int32(Some(x)), ScalarValue::Float64(Some(y))];
        f.add(&mut s, &rec(1, 2.0)).unwrap();
        assert!(as_f64(&f.result(&s).unwrap()).unwrap().is_nan());
        f.add(&mut s, &rec(2, 4.0)).unwrap();
        f.add(&mut s, &rec(3, 6.0)).unwrap();
        f.add(
            &mut s,
            &[ScalarValue::Int32(None), ScalarValue::Float64(Some(1.0))],
        )
        .unwrap();
        assert_eq!(f.result(&s).unwrap(), ScalarValue::Float64(Some(1.0)));
        f.add(&mut s, &rec(4, 0.0)).unwrap();
        f.undo(&mut s, &rec(4, 0.0)).unwrap();
        let r = as_f64(&f.result(&s).unwrap()).unwrap();
        assert!((r - 1.0).abs() < 1e-12);
        assert!(crate::resolve("CORRELATION", &[SqlType::Int], &[]).is_err());
    }
}
