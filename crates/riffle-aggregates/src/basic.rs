//! COUNT, SUM and SUM_LIST.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use riffle_types::SqlType;

use crate::value::{coerce, first, internal, one_arg};
use crate::{AggregateConfig, AggregateError, AggregateFunction, Result};

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    _params: &[ScalarValue],
    _config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    Ok(Some(match name {
        "COUNT" => Arc::new(Count {
            star: args.is_empty(),
        }),
        "SUM" => {
            let ty = one_arg("SUM", args)?;
            match ty {
                SqlType::Decimal { precision, scale } => Arc::new(DecimalSum {
                    precision: *precision,
                    scale: *scale,
                }),
                t if t.is_numeric() => Arc::new(Sum { ty: ty.clone() }),
                _ => return Err(crate::value::bad_args("SUM", args)),
            }
        }
        "SUM_LIST" => match one_arg("SUM_LIST", args)? {
            SqlType::Array(item)
                if matches!(**item, SqlType::Int | SqlType::Bigint | SqlType::Double) =>
            {
                Arc::new(ListSum {
                    ty: (**item).clone(),
                })
            }
            _ => return Err(crate::value::bad_args("SUM_LIST", args)),
        },
        _ => return Ok(None),
    }))
}

/// `COUNT(*)` counts records; `COUNT(col)` counts non-null values.
#[derive(Debug)]
struct Count {
    star: bool,
}

impl Count {
    fn counts(&self, args: &[ScalarValue]) -> bool {
        self.star || args.first().is_some_and(|a| !a.is_null())
    }
}

impl AggregateFunction for Count {
    fn name(&self) -> &str {
        "COUNT"
    }
    fn return_type(&self) -> SqlType {
        SqlType::Bigint
    }
    fn state_type(&self) -> SqlType {
        SqlType::Bigint
    }
    fn initial(&self) -> ScalarValue {
        ScalarValue::Int64(Some(0))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        if self.counts(args) {
            if let ScalarValue::Int64(Some(n)) = state {
                *n += 1;
            }
        }
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if self.counts(args) {
            if let ScalarValue::Int64(Some(n)) = state {
                *n -= 1;
            }
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        a.add(b).map_err(|e| internal("COUNT", e))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

/// `SUM(x)` of INT, BIGINT or DOUBLE: the sum of non-null values, of x's type (integers wrap
/// on overflow as Java's do); 0 for a group of nulls.
#[derive(Debug)]
struct Sum {
    ty: SqlType,
}

impl AggregateFunction for Sum {
    fn name(&self) -> &str {
        "SUM"
    }
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn state_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn initial(&self) -> ScalarValue {
        ScalarValue::new_zero(&self.ty.to_arrow()).unwrap_or(ScalarValue::Null)
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let v = &coerce("SUM", first(args), &self.ty.to_arrow())?;
        if !v.is_null() {
            // ScalarValue::add wraps on integer overflow, as Java's `+` does.
            *state = state.add(v).map_err(|e| internal("SUM", e))?;
        }
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        let v = &coerce("SUM", first(args), &self.ty.to_arrow())?;
        if !v.is_null() {
            *state = state.sub(v).map_err(|e| internal("SUM", e))?;
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        a.add(b).map_err(|e| internal("SUM", e))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

/// `SUM(x)` of DECIMAL(p, s): the result keeps x's type, and a sum whose absolute value reaches
/// 10^(p-s) fails with ksqlDB's "Numeric field overflow" (ksqlDB's `DecimalSumKudaf`). Undo and
/// merge do not check, as in ksqlDB.
#[derive(Debug)]
struct DecimalSum {
    precision: u8,
    scale: i8,
}

impl DecimalSum {
    fn unscaled(&self, v: &ScalarValue) -> Result<Option<i128>> {
        match v {
            ScalarValue::Decimal128(x, _, s) if *s == self.scale => Ok(*x),
            ScalarValue::Null => Ok(None),
            other => {
                let cast = other
                    .cast_to(&self.state_type().to_arrow())
                    .map_err(|e| internal("SUM", e))?;
                match cast {
                    ScalarValue::Decimal128(x, _, _) => Ok(x),
                    _ => Err(internal("SUM", "DECIMAL cast failed")),
                }
            }
        }
    }

    fn wrap(&self, x: i128) -> ScalarValue {
        ScalarValue::Decimal128(Some(x), self.precision, self.scale)
    }

    fn overflow(&self, sum: i128) -> AggregateError {
        let digits = i32::from(self.precision) - i32::from(self.scale);
        AggregateError::Runtime(format!(
            "Numeric field overflow: A field with precision {} and scale {} must round to an \
             absolute value less than 10^{digits}. Got {}",
            self.precision,
            self.scale,
            rounded_plain(sum, i32::from(self.scale), u32::from(self.precision)),
        ))
    }
}

/// `unscaled × 10^-scale` rounded HALF_UP to `precision` significant digits, printed as Java's
/// `BigDecimal.toPlainString` (as ksqlDB's overflow message shows it).
fn rounded_plain(unscaled: i128, scale: i32, precision: u32) -> String {
    let negative = unscaled < 0;
    let mut mag = unscaled.unsigned_abs();
    let mut scale = scale;
    let digits = |m: u128| m.checked_ilog10().map_or(1, |d| d + 1);
    let d = digits(mag);
    if d > precision {
        let drop = d - precision;
        let unit = 10u128.pow(drop);
        let (q, r) = (mag / unit, mag % unit);
        mag = if r * 2 >= unit { q + 1 } else { q };
        scale -= drop as i32;
        // Rounding up may carry into a new digit (99.96 → 100.0): drop the now-exact zero.
        if digits(mag) > precision {
            mag /= 10;
            scale -= 1;
        }
    }
    let body = if scale <= 0 {
        let zeros = "0".repeat(usize::try_from(-scale).unwrap_or(0));
        if mag == 0 {
            "0".to_string()
        } else {
            format!("{mag}{zeros}")
        }
    } else {
        let s = format!("{mag:0>width$}", width = scale as usize + 1);
        let (int, frac) = s.split_at(s.len() - scale as usize);
        format!("{int}.{frac}")
    };
    if negative {
        format!("-{body}")
    } else {
        body
    }
}

impl AggregateFunction for DecimalSum {
    fn name(&self) -> &str {
        "SUM"
    }
    fn return_type(&self) -> SqlType {
        self.state_type()
    }
    fn state_type(&self) -> SqlType {
        SqlType::Decimal {
            precision: self.precision,
            scale: self.scale,
        }
    }
    fn initial(&self) -> ScalarValue {
        self.wrap(0)
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let Some(v) = self.unscaled(first(args))? else {
            return Ok(());
        };
        let acc = self.unscaled(state)?.unwrap_or(0);
        let limit = 10i128.pow(u32::from(self.precision));
        let sum = acc
            .checked_add(v)
            .ok_or_else(|| self.overflow(acc.saturating_add(v)))?;
        if sum.unsigned_abs() >= limit.unsigned_abs() {
            return Err(self.overflow(sum));
        }
        *state = self.wrap(sum);
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if let Some(v) = self.unscaled(first(args))? {
            let acc = self.unscaled(state)?.unwrap_or(0);
            *state = self.wrap(acc.wrapping_sub(v));
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let x = self.unscaled(a)?.unwrap_or(0);
        let y = self.unscaled(b)?.unwrap_or(0);
        Ok(self.wrap(x.wrapping_add(y)))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

/// `SUM_LIST(a)` of `ARRAY<INT|BIGINT|DOUBLE>`: the sum of all non-null elements of all
/// non-null arrays, of the element type (integers wrap as Java's do); undo subtracts an array.
#[derive(Debug)]
struct ListSum {
    ty: SqlType,
}

impl ListSum {
    fn list_sum(&self, v: &ScalarValue) -> Result<Option<ScalarValue>> {
        if v.is_null() {
            return Ok(None);
        }
        let mut sum = self.initial();
        for item in crate::value::list_items("SUM_LIST", v)? {
            if !item.is_null() {
                sum = sum.add(&item).map_err(|e| internal("SUM_LIST", e))?;
            }
        }
        Ok(Some(sum))
    }
}

impl AggregateFunction for ListSum {
    fn name(&self) -> &str {
        "SUM_LIST"
    }
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn state_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn initial(&self) -> ScalarValue {
        ScalarValue::new_zero(&self.ty.to_arrow()).unwrap_or(ScalarValue::Null)
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        if let Some(s) = self.list_sum(first(args))? {
            *state = state.add(&s).map_err(|e| internal("SUM_LIST", e))?;
        }
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if let Some(s) = self.list_sum(first(args))? {
            *state = state.sub(&s).map_err(|e| internal("SUM_LIST", e))?;
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        a.add(b).map_err(|e| internal("SUM_LIST", e))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_sum_add_and_undo() {
        let count = crate::resolve("count", &[SqlType::Int], &[]).unwrap();
        let mut s = count.initial();
        count.add(&mut s, &[ScalarValue::Int32(Some(1))]).unwrap();
        count.add(&mut s, &[ScalarValue::Int32(None)]).unwrap();
        assert_eq!(count.result(&s).unwrap(), ScalarValue::Int64(Some(1)));
        let sum = crate::resolve("SUM", &[SqlType::Int], &[]).unwrap();
        let mut s = sum.initial();
        sum.add(&mut s, &[ScalarValue::Int32(Some(5))]).unwrap();
        sum.add(&mut s, &[ScalarValue::Int32(Some(2))]).unwrap();
        sum.undo(&mut s, &[ScalarValue::Int32(Some(5))]).unwrap();
        assert_eq!(sum.result(&s).unwrap(), ScalarValue::Int32(Some(2)));
        assert!(crate::resolve("SUM", &[SqlType::String], &[]).is_err());
    }

    #[test]
    fn int_sum_wraps_like_java() {
        let sum = crate::resolve("SUM", &[SqlType::Int], &[]).unwrap();
        let mut s = sum.initial();
        sum.add(&mut s, &[ScalarValue::Int32(Some(i32::MAX))])
            .unwrap();
        sum.add(&mut s, &[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(s, ScalarValue::Int32(Some(i32::MIN)));
        // A literal argument may arrive wider than the resolved column type.
        sum.add(&mut s, &[ScalarValue::Int64(Some(1))]).unwrap();
        assert_eq!(s, ScalarValue::Int32(Some(i32::MIN + 1)));
    }

    #[test]
    fn decimal_sum_keeps_type_and_overflows() {
        let ty = SqlType::Decimal {
            precision: 3,
            scale: 1,
        };
        let sum = crate::resolve("SUM", std::slice::from_ref(&ty), &[]).unwrap();
        assert_eq!(sum.return_type(), ty);
        let d = |x| ScalarValue::Decimal128(Some(x), 3, 1);
        let mut s = sum.initial();
        sum.add(&mut s, &[d(612)]).unwrap(); // 61.2
        sum.add(&mut s, &[ScalarValue::Decimal128(None, 3, 1)])
            .unwrap();
        assert_eq!(s, d(612));
        let err = sum.add(&mut s, &[d(405)]).unwrap_err(); // 101.7
        assert_eq!(
            err.to_string(),
            "Numeric field overflow: A field with precision 3 and scale 1 must round to an \
             absolute value less than 10^2. Got 102"
        );
        sum.undo(&mut s, &[d(12)]).unwrap();
        assert_eq!(sum.result(&s).unwrap(), d(600));
    }

    #[test]
    fn sum_list_adds_elements() {
        let ty = SqlType::Array(Box::new(SqlType::Bigint));
        let f = crate::resolve("sum_list", &[ty], &[]).unwrap();
        assert_eq!(f.return_type(), SqlType::Bigint);
        let l = |v: &[Option<i64>]| {
            let items: Vec<_> = v.iter().map(|x| ScalarValue::Int64(*x)).collect();
            crate::value::make_list("T", &items, &datafusion::arrow::datatypes::DataType::Int64)
                .unwrap()
        };
        let mut s = f.initial();
        f.add(&mut s, &[l(&[Some(3), None, Some(4)])]).unwrap();
        f.add(&mut s, &[l(&[Some(10)])]).unwrap();
        f.add(&mut s, &[ScalarValue::Null]).unwrap();
        f.undo(&mut s, &[l(&[Some(10)])]).unwrap();
        assert_eq!(f.result(&s).unwrap(), ScalarValue::Int64(Some(7)));
        assert!(crate::resolve("SUM_LIST", &[SqlType::Int], &[]).is_err());
    }

    #[test]
    fn plain_rounding() {
        assert_eq!(rounded_plain(1017, 1, 3), "102");
        assert_eq!(rounded_plain(-9996, 2, 3), "-100");
        assert_eq!(rounded_plain(123, 2, 5), "1.23");
        assert_eq!(rounded_plain(5, 3, 5), "0.005");
        assert_eq!(rounded_plain(10005, 1, 4), "1001");
    }
}
