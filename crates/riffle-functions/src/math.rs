//! ksqlDB's math functions (`io.confluent.ksql.function.udf.math.*`).
//!
//! DataFusion's functions of the same names differ in result types and rounding:
//! * `ROUND` (ksqlDB `Round`): `ROUND(DOUBLE)` is a BIGINT rounded like `Math.round` (ties
//!   towards positive infinity); `ROUND(x, n)` rounds the decimal digits of `Double.toString(x)`
//!   half-up (half-down below zero); DECIMALs keep their type (`ROUND(DECIMAL(p, s))` is
//!   `DECIMAL(p - s, 0)`). DataFusion rounds ties away from zero and returns DOUBLE.
//! * `TRUNC` (ksqlDB `Trunc`): the same shapes, rounding towards zero; DataFusion's returns DOUBLE.
//! * `FLOOR`, `CEIL` (ksqlDB `Floor`, `Ceil`): integers stay integers and DECIMALs keep their
//!   scale; DataFusion returns DOUBLE for integers and changes DECIMAL scales.
//! * `ABS` (ksqlDB `Abs`): like Java's `Math.abs`, wrapping at the minimum integer where
//!   DataFusion fails.
//! * `SIGN` (ksqlDB `Sign`): an INT; DataFusion's `signum` returns the argument type.
//! * `LOG(x)` (ksqlDB `Log`) is the natural logarithm, where DataFusion's is base 10, and
//!   `LOG(b, x)` is NaN for bases ≤ 0 or 1.
//! * `POWER`, `EXP`, `LN`, `SQRT`, `CBRT`, trigonometric functions, `DEGREES`, `RADIANS`
//!   (ksqlDB `Power`, `Exp`, …) take and return DOUBLE whatever the numeric argument;
//!   DataFusion's `power` keeps integer types.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::dec::{self, Rounding};
use crate::types::{decimal, is_double, is_integer, is_numeric, BIGINT, DOUBLE, INT};
use crate::udf::{no_overload, KsqlUdf, Typed};

/// The math UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    let mut v = vec![
        KsqlUdf::new("ROUND", type_round, eval_round).into_udf(),
        KsqlUdf::new("TRUNC", type_round, eval_trunc).into_udf(),
        KsqlUdf::new("FLOOR", type_same_numeric, eval_floor).into_udf(),
        KsqlUdf::new("CEIL", type_same_numeric, eval_ceil).into_udf(),
        KsqlUdf::new("ABS", type_same_numeric, eval_abs).into_udf(),
        KsqlUdf::new("SIGN", type_sign, eval_sign).into_udf(),
        KsqlUdf::new("LOG", type_log, eval_log).into_udf(),
        KsqlUdf::new("POWER", type_two_doubles, eval_power).into_udf(),
        KsqlUdf::new("ATAN2", type_two_doubles, eval_atan2).into_udf(),
    ];
    macro_rules! unary {
        ($($name:literal => $f:expr),* $(,)?) => {
            $(v.push(KsqlUdf::new($name, type_double, |a, _| unary_double(a, $f)).into_udf());)*
        };
    }
    unary! {
        "EXP" => f64::exp,
        "LN" => f64::ln,
        "SQRT" => f64::sqrt,
        "CBRT" => f64::cbrt,
        "SIN" => f64::sin,
        "COS" => f64::cos,
        "TAN" => f64::tan,
        "ASIN" => f64::asin,
        "ACOS" => f64::acos,
        "ATAN" => f64::atan,
        "COT" => |x: f64| 1.0 / x.tan(),
        "SINH" => f64::sinh,
        "COSH" => f64::cosh,
        "TANH" => f64::tanh,
        "DEGREES" => f64::to_degrees,
        "RADIANS" => f64::to_radians,
    }
    v
}

fn type_double(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a] if is_numeric(a) || a == &DataType::Null => Ok(Typed {
            args: vec![DOUBLE],
            ret: DOUBLE,
        }),
        _ => no_overload("DOUBLE FUNCTION", args),
    }
}

fn type_two_doubles(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a, b] if numeric_or_null(a) && numeric_or_null(b) => Ok(Typed {
            args: vec![DOUBLE, DOUBLE],
            ret: DOUBLE,
        }),
        _ => no_overload("POWER", args),
    }
}

fn numeric_or_null(t: &DataType) -> bool {
    is_numeric(t) || t == &DataType::Null
}

fn type_log(args: &[DataType], s: &[Option<ScalarValue>]) -> Result<Typed> {
    match args.len() {
        1 => type_double(args, s),
        2 => type_two_doubles(args, s),
        _ => no_overload("LOG", args),
    }
}

/// ROUND and TRUNC: see the module docs.
fn type_round(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a] if is_integer(a) => Ok(Typed {
            args: vec![BIGINT],
            ret: BIGINT,
        }),
        [a] if is_double(a) || a == &DataType::Null => Ok(Typed {
            args: vec![DOUBLE],
            ret: BIGINT,
        }),
        [DataType::Decimal128(p, s)] => Ok(Typed::new(args, decimal(*p as i32 - *s as i32, 0))),
        [a, n] if (is_integer(a) || is_double(a) || a == &DataType::Null) && int_arg(n) => {
            Ok(Typed {
                args: vec![DOUBLE, INT],
                ret: DOUBLE,
            })
        }
        [d @ DataType::Decimal128(_, _), n] if int_arg(n) => Ok(Typed {
            args: vec![d.clone(), INT],
            ret: d.clone(),
        }),
        _ => no_overload("ROUND", args),
    }
}

fn int_arg(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Null
    )
}

/// FLOOR, CEIL, ABS: the argument's own type.
fn type_same_numeric(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a] if is_integer(a) => {
            let t = if matches!(a, DataType::Int64 | DataType::UInt32 | DataType::UInt64) {
                BIGINT
            } else {
                INT
            };
            Ok(Typed {
                args: vec![t.clone()],
                ret: t,
            })
        }
        [a] if is_double(a) || a == &DataType::Null => Ok(Typed {
            args: vec![DOUBLE],
            ret: DOUBLE,
        }),
        [d @ DataType::Decimal128(_, _)] => Ok(Typed::new(args, d.clone())),
        _ => no_overload("ABS", args),
    }
}

fn type_sign(args: &[DataType], s: &[Option<ScalarValue>]) -> Result<Typed> {
    let t = type_same_numeric(args, s)?;
    Ok(Typed {
        args: t.args,
        ret: INT,
    })
}

/// Applies `f` to every non-null DOUBLE.
fn unary_double(args: &[ArrayRef], f: impl Fn(f64) -> f64) -> Result<ArrayRef> {
    let a = args[0].as_primitive::<Float64Type>();
    let out: Float64Array = a.unary(f);
    Ok(Arc::new(out))
}

fn binary_double(args: &[ArrayRef], f: impl Fn(f64, f64) -> f64) -> Result<ArrayRef> {
    let a = args[0].as_primitive::<Float64Type>();
    let b = args[1].as_primitive::<Float64Type>();
    let out: Float64Array = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| Some(f(x?, y?)))
        .collect();
    Ok(Arc::new(out))
}

fn eval_power(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    binary_double(args, f64::powf)
}

fn eval_atan2(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    binary_double(args, f64::atan2)
}

fn eval_log(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    if args.len() == 1 {
        return unary_double(args, f64::ln);
    }
    binary_double(args, |base, value| {
        if base <= 0.0 || base == 1.0 || value < 0.0 {
            f64::NAN
        } else {
            value.ln() / base.ln()
        }
    })
}

/// Java's `Math.round(double)`: `floor(x + 0.5)` saturated to the long range.
fn java_round(x: f64) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let r = (x + 0.5).floor();
    // Math.round is exact for |x| >= 2^52 where adding 0.5 could round up.
    if x.abs() >= 4_503_599_627_370_496.0 {
        return x as i64;
    }
    r as i64
}

/// ROUND/TRUNC of a DOUBLE to `places` via `BigDecimal.valueOf`, as ksqlDB does.
fn round_double(x: f64, places: i32, mode: impl Fn(bool) -> Rounding) -> f64 {
    match dec::from_f64(x) {
        Some((v, scale)) => match dec::round_keep_scale(v, scale, places, mode(v > 0)) {
            Some(r) => dec::to_f64(r, scale),
            None => x,
        },
        None => x,
    }
}

fn round_mode(positive: bool) -> Rounding {
    if positive {
        Rounding::HalfUp
    } else {
        Rounding::HalfDown
    }
}

fn eval_round(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    eval_rounding(args, ret, java_round, round_mode)
}

fn eval_trunc(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    eval_rounding(args, ret, |x| x as i64, |_| Rounding::Down)
}

fn eval_rounding(
    args: &[ArrayRef],
    ret: &DataType,
    whole: fn(f64) -> i64,
    mode: fn(bool) -> Rounding,
) -> Result<ArrayRef> {
    let places = args.get(1).map(|a| a.as_primitive::<Int32Type>());
    let place = |i: usize| places.map(|p| (!p.is_null(i)).then(|| p.value(i)));
    match (args[0].data_type(), ret) {
        (DataType::Int64, _) => Ok(args[0].clone()),
        (DataType::Float64, DataType::Int64) => {
            let a = args[0].as_primitive::<Float64Type>();
            let out: Int64Array = a.unary(whole);
            Ok(Arc::new(out))
        }
        (DataType::Float64, _) => {
            let a = args[0].as_primitive::<Float64Type>();
            let out: Float64Array = (0..a.len())
                .map(|i| {
                    let n = place(i).flatten()?;
                    (!a.is_null(i)).then(|| round_double(a.value(i), n, mode))
                })
                .collect();
            Ok(Arc::new(out))
        }
        (DataType::Decimal128(_, s), DataType::Decimal128(rp, rs)) => {
            let a = args[0].as_primitive::<Decimal128Type>();
            let s = *s as i32;
            let mut out = Vec::with_capacity(a.len());
            for i in 0..a.len() {
                if a.is_null(i) {
                    out.push(None);
                    continue;
                }
                let v = a.value(i);
                let r = match place(i) {
                    None => dec::rescale(v, s, 0, mode(v > 0)),
                    Some(None) => {
                        out.push(None);
                        continue;
                    }
                    Some(Some(n)) => dec::round_keep_scale(v, s, n, mode(v > 0)),
                };
                match r {
                    Some(r) if dec::fits(r, *rp) => out.push(Some(r)),
                    _ => {
                        return exec_err!(
                            "Numeric overflow rounding {}",
                            dec::to_plain_string(v, s)
                        )
                    }
                }
            }
            let arr = Decimal128Array::from(out).with_precision_and_scale(*rp, *rs)?;
            Ok(Arc::new(arr))
        }
        (t, r) => exec_err!("ROUND of {t} to {r} is not supported"),
    }
}

fn eval_floor(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    integral(args, f64::floor, Rounding::Floor)
}

fn eval_ceil(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    integral(args, f64::ceil, Rounding::Ceiling)
}

fn integral(args: &[ArrayRef], f: fn(f64) -> f64, mode: Rounding) -> Result<ArrayRef> {
    match args[0].data_type() {
        DataType::Int32 | DataType::Int64 => Ok(args[0].clone()),
        DataType::Float64 => unary_double(args, f),
        DataType::Decimal128(p, s) => {
            let a = args[0].as_primitive::<Decimal128Type>();
            let s = *s as i32;
            let out: Decimal128Array =
                a.unary(|v| dec::round_keep_scale(v, s, 0, mode).unwrap_or(v));
            Ok(Arc::new(out.with_precision_and_scale(*p, s as i8)?))
        }
        t => exec_err!("FLOOR/CEIL of {t} is not supported"),
    }
}

fn eval_abs(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    match args[0].data_type() {
        DataType::Int32 => {
            let out: Int32Array = args[0].as_primitive::<Int32Type>().unary(i32::wrapping_abs);
            Ok(Arc::new(out))
        }
        DataType::Int64 => {
            let out: Int64Array = args[0].as_primitive::<Int64Type>().unary(i64::wrapping_abs);
            Ok(Arc::new(out))
        }
        DataType::Float64 => unary_double(args, f64::abs),
        DataType::Decimal128(p, s) => {
            let out: Decimal128Array = args[0]
                .as_primitive::<Decimal128Type>()
                .unary(i128::wrapping_abs);
            Ok(Arc::new(out.with_precision_and_scale(*p, *s)?))
        }
        t => exec_err!("ABS of {t} is not supported"),
    }
}

fn eval_sign(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: Int32Array = match args[0].data_type() {
        DataType::Int32 => args[0].as_primitive::<Int32Type>().unary(|v| v.signum()),
        DataType::Int64 => args[0]
            .as_primitive::<Int64Type>()
            .unary(|v| v.signum() as i32),
        DataType::Float64 => {
            let a = args[0].as_primitive::<Float64Type>();
            // Math.signum(NaN) is NaN, and (int) NaN is 0.
            a.unary(|v| {
                if v > 0.0 {
                    1
                } else if v < 0.0 {
                    -1
                } else {
                    0
                }
            })
        }
        DataType::Decimal128(_, _) => args[0]
            .as_primitive::<Decimal128Type>()
            .unary(|v| v.signum() as i32),
        t => return exec_err!("SIGN of {t} is not supported"),
    };
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_rounding() {
        assert_eq!(java_round(-1.5), -1);
        assert_eq!(java_round(1.5), 2);
        assert_eq!(java_round(-1.7), -2);
        assert_eq!(round_double(12345.678, -1, round_mode), 12350.0);
        assert_eq!(round_double(-12345.678, 2, round_mode), -12345.68);
        assert_eq!(round_double(1.234567, 10, round_mode), 1.234567);
        assert_eq!(round_double(-1.5, 0, round_mode), -1.0);
        assert_eq!(round_double(12345.678, 1, |_| Rounding::Down), 12345.6);
        assert_eq!(round_double(1.2, -1, round_mode), 0.0);
    }
}
