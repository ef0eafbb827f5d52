//! ksqlDB's `CAST` (`io.confluent.ksql.execution.codegen.helpers.CastEvaluator`), as the UDF
//! `KSQL_CAST(value, 'TARGET TYPE')`.
//!
//! DataFusion's `CAST` differs from ksqlDB's in many places, so every ksqlDB CAST is planned as
//! this UDF:
//! * narrowing integer casts wrap (`BIGINT` 2147483648 is `INT` -2147483648, Java's
//!   `intValue()`) where Arrow fails;
//! * casts to DECIMAL round half-up and fail (a null, logged) when the value has too many digits;
//! * `CAST(x AS STRING)` renders doubles, DECIMALs, arrays, maps and structs as Java does
//!   (`1.0E7`, `[1, 3]`, `{k=1}`, `Struct{F0=1}`);
//! * strings are trimmed before parsing; `'t'`, `'yes'`… are booleans;
//! * structs cast field by field by name (missing fields are null);
//! * unsupported casts fail at planning time with ksqlDB's message.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, StringArray, StructArray,
    Time32MillisecondArray, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float64Type, Int32Type, Int64Type, TimeUnit,
    TimestampMillisecondType,
};
use datafusion::common::{exec_err, plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::datetime::{parse_date, parse_time, parse_timestamp};
use crate::dec::{self, Rounding};
use crate::format::value_string;
use crate::types::{
    canonical, is_decimal, is_double, is_integer, is_string, list_item, map_types, type_name,
};
use crate::udf::{KsqlUdf, Typed};

/// Name of the cast UDF.
pub const CAST_UDF: &str = "KSQL_CAST";

/// The cast UDF.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![KsqlUdf::new(CAST_UDF, type_cast, eval_cast).into_udf()]
}

/// The Arrow type named by a ksqlDB type string such as `ARRAY<INTEGER>`.
pub fn parse_target(text: &str) -> Result<DataType> {
    riffle_sql::parse_data_type(text)
        .map(|t| t.to_arrow())
        .map_err(|e| DataFusionError::Plan(format!("Unknown type {text}: {e}")))
}

fn type_cast(args: &[DataType], scalars: &[Option<ScalarValue>]) -> Result<Typed> {
    let Some(Some(ScalarValue::Utf8(Some(target)))) = scalars.get(1) else {
        // Argument coercion: nothing to coerce.
        return Ok(Typed::new(args, DataType::Null));
    };
    let to = parse_target(target)?;
    check_cast(&args[0], &to)?;
    Ok(Typed::new(args, to))
}

/// Fails with ksqlDB's message unless `from` can be cast to `to`.
pub fn check_cast(from: &DataType, to: &DataType) -> Result<()> {
    if supported(from, to) {
        Ok(())
    } else {
        plan_err!(
            "{UNSUPPORTED_CAST_PREFIX}{} to {} is not supported",
            type_name(from),
            type_name(to)
        )
    }
}

/// How [`check_cast`]'s message starts. ksqlDB finds unsupported casts while generating code for
/// an expression, a later phase than type checking, and callers prefix such errors with the
/// clause ("Invalid Select: ").
pub const UNSUPPORTED_CAST_PREFIX: &str = "Cast of ";

fn supported(from: &DataType, to: &DataType) -> bool {
    let (f, t) = (canonical(from), canonical(to));
    if f == t || f == DataType::Null || is_string(&t) {
        return true;
    }
    let numeric = |d: &DataType| is_integer(d) || is_double(d) || is_decimal(d);
    if numeric(&f) && numeric(&t) {
        return true;
    }
    let ts = DataType::Timestamp(TimeUnit::Millisecond, None);
    let time = DataType::Time32(TimeUnit::Millisecond);
    if is_string(&f) {
        return numeric(&t)
            || matches!(t, DataType::Boolean | DataType::Date32)
            || t == ts
            || t == time;
    }
    if f == ts {
        return t == DataType::Date32 || t == time;
    }
    if f == DataType::Date32 {
        return t == ts;
    }
    match (&f, &t) {
        (DataType::List(a), DataType::List(b)) => supported(a.data_type(), b.data_type()),
        (DataType::Map(_, _), DataType::Map(_, _)) => match (map_types(&f), map_types(&t)) {
            (Some((k1, v1)), Some((k2, v2))) => supported(k1, k2) && supported(v1, v2),
            _ => false,
        },
        (DataType::Struct(a), DataType::Struct(b)) => a.iter().all(|fa| {
            b.iter()
                .find(|fb| fb.name() == fa.name())
                .is_none_or(|fb| supported(fa.data_type(), fb.data_type()))
        }),
        _ => false,
    }
}

fn eval_cast(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    cast(&args[0], ret)
}

/// Casts `a` to `to` with ksqlDB's semantics; fails on the first value that cannot be converted.
pub fn cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let from = a.data_type();
    if from == to {
        return Ok(a.clone());
    }
    if from == &DataType::Null {
        return Ok(new_null_array(to, a.len()));
    }
    let n = a.len();
    Ok(match to {
        DataType::Utf8 => Arc::new(
            (0..n)
                .map(|i| value_string(a.as_ref(), i))
                .collect::<StringArray>(),
        ),
        DataType::Boolean => {
            let s = strings(a)?;
            Arc::new(
                (0..n)
                    .map(|i| s[i].as_ref().map(|v| parse_bool_lenient(v)))
                    .collect::<BooleanArray>(),
            )
        }
        DataType::Int32 => Arc::new(
            to_i64(a)?
                .into_iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Int32Array>(),
        ),
        DataType::Int64 => Arc::new(to_i64(a)?.into_iter().collect::<Int64Array>()),
        DataType::Float64 => Arc::new(to_f64(a)?.into_iter().collect::<Float64Array>()),
        DataType::Decimal128(p, s) => {
            let v = to_decimal(a, *p, *s)?;
            Arc::new(Decimal128Array::from(v).with_precision_and_scale(*p, *s)?)
        }
        DataType::Date32 => Arc::new(to_date(a)?.into_iter().collect::<Date32Array>()),
        DataType::Time32(TimeUnit::Millisecond) => {
            Arc::new(to_time(a)?.into_iter().collect::<Time32MillisecondArray>())
        }
        DataType::Timestamp(TimeUnit::Millisecond, None) => Arc::new(
            to_timestamp(a)?
                .into_iter()
                .collect::<TimestampMillisecondArray>(),
        ),
        DataType::List(field) => {
            let Some(list) = a.as_list_opt::<i32>() else {
                return unsupported(from, to);
            };
            let values = cast(list.values(), field.data_type())?;
            Arc::new(ListArray::try_new(
                Arc::new(Field::new(field.name(), field.data_type().clone(), true)),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?)
        }
        DataType::Map(entries_field, sorted) => {
            let (Some(map), DataType::Struct(kv)) = (a.as_map_opt(), entries_field.data_type())
            else {
                return unsupported(from, to);
            };
            let keys = cast(map.keys(), kv[0].data_type())?;
            let values = cast(map.values(), kv[1].data_type())?;
            let entries = StructArray::try_new(kv.clone(), vec![keys, values], None)?;
            Arc::new(MapArray::try_new(
                entries_field.clone(),
                map.offsets().clone(),
                entries,
                map.nulls().cloned(),
                *sorted,
            )?)
        }
        DataType::Struct(fields) => {
            let Some(s) = a.as_struct_opt() else {
                return unsupported(from, to);
            };
            let mut columns = Vec::with_capacity(fields.len());
            for f in fields.iter() {
                match s.column_by_name(f.name()) {
                    Some(c) => columns.push(cast(c, f.data_type())?),
                    None => columns.push(new_null_array(f.data_type(), n)),
                }
            }
            let fields: Vec<Field> = fields
                .iter()
                .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                .collect();
            if fields.is_empty() {
                Arc::new(StructArray::new_empty_fields(n, s.nulls().cloned()))
            } else {
                Arc::new(StructArray::try_new(
                    fields.into(),
                    columns,
                    s.nulls().cloned(),
                )?)
            }
        }
        _ => return unsupported(from, to),
    })
}

fn unsupported<T>(from: &DataType, to: &DataType) -> Result<T> {
    exec_err!(
        "Cast of {} to {} is not supported",
        type_name(from),
        type_name(to)
    )
}

/// The rows of a STRING array.
fn strings(a: &ArrayRef) -> Result<Vec<Option<String>>> {
    let n = a.len();
    match a.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok((0..n).map(|i| value_string(a.as_ref(), i)).collect())
        }
        t => exec_err!("Expected STRING, got {}", type_name(t)),
    }
}

/// ksqlDB's `SqlBooleans.parseBoolean`: prefixes of `true` and `yes` (any case) are true.
pub fn parse_bool_lenient(s: &str) -> bool {
    parse_bool_strict(s).unwrap_or(false)
}

/// A string that ksqlDB accepts as a BOOLEAN literal (prefixes of true/false/yes/no), if any.
pub fn parse_bool_strict(s: &str) -> Option<bool> {
    let l = s.trim().to_ascii_lowercase();
    if l.is_empty() {
        return None;
    }
    if "true".starts_with(&l) || "yes".starts_with(&l) {
        Some(true)
    } else if "false".starts_with(&l) || "no".starts_with(&l) {
        Some(false)
    } else {
        None
    }
}

fn to_i64(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let n = a.len();
    let get = |i: usize| !a.is_null(i);
    Ok(match a.data_type() {
        DataType::Int32 => {
            let p = a.as_primitive::<Int32Type>();
            (0..n).map(|i| get(i).then(|| p.value(i) as i64)).collect()
        }
        DataType::Int64 => {
            let p = a.as_primitive::<Int64Type>();
            (0..n).map(|i| get(i).then(|| p.value(i))).collect()
        }
        DataType::Float64 => {
            // Java's (long) d: saturating, NaN is 0 — as Rust's `as`.
            let p = a.as_primitive::<Float64Type>();
            (0..n).map(|i| get(i).then(|| p.value(i) as i64)).collect()
        }
        DataType::Decimal128(_, s) => {
            let p = a.as_primitive::<Decimal128Type>();
            let s = *s as i32;
            (0..n)
                .map(|i| get(i).then(|| dec::to_i64_wrapping(p.value(i), s)))
                .collect()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let p = a.as_primitive::<TimestampMillisecondType>();
            (0..n).map(|i| get(i).then(|| p.value(i))).collect()
        }
        _ => {
            let mut out = Vec::with_capacity(n);
            for s in strings(a)? {
                out.push(match s {
                    None => None,
                    Some(s) => Some(s.trim().parse::<i64>().map_err(|_| {
                        DataFusionError::Execution(format!("For input string: \"{s}\""))
                    })?),
                });
            }
            out
        }
    })
}

fn to_f64(a: &ArrayRef) -> Result<Vec<Option<f64>>> {
    let n = a.len();
    Ok(match a.data_type() {
        DataType::Float64 => a.as_primitive::<Float64Type>().iter().collect(),
        DataType::Decimal128(_, s) => {
            let p = a.as_primitive::<Decimal128Type>();
            let s = *s as i32;
            p.iter().map(|v| v.map(|v| dec::to_f64(v, s))).collect()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let mut out = Vec::with_capacity(n);
            for s in strings(a)? {
                out.push(match s {
                    None => None,
                    Some(s) => Some(parse_java_double(&s).ok_or_else(|| {
                        DataFusionError::Execution(format!("For input string: \"{s}\""))
                    })?),
                });
            }
            out
        }
        _ => to_i64(a)?
            .into_iter()
            .map(|v| v.map(|v| v as f64))
            .collect(),
    })
}

/// Java's `Double.parseDouble` of a trimmed string.
pub fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => t.parse().ok(),
    }
}

fn overflow(p: u8, s: i8) -> DataFusionError {
    DataFusionError::Execution(format!(
        "Numeric field overflow: A field with precision {p} and scale {s} must round to an absolute value less than 10^{}",
        p as i32 - s as i32
    ))
}

/// ksqlDB's `DecimalUtil.cast`: rounds half-up to the scale and fails when too wide.
fn to_decimal(a: &ArrayRef, p: u8, s: i8) -> Result<Vec<Option<i128>>> {
    let n = a.len();
    let scale = s as i32;
    let fit = |v: Option<(i128, i32)>| -> Result<i128> {
        let (v, from) = v.ok_or_else(|| overflow(p, s))?;
        let r = dec::rescale(v, from, scale, Rounding::HalfUp).ok_or_else(|| overflow(p, s))?;
        if dec::fits(r, p) {
            Ok(r)
        } else {
            Err(overflow(p, s))
        }
    };
    let mut out = Vec::with_capacity(n);
    match a.data_type() {
        DataType::Decimal128(_, from) => {
            let arr = a.as_primitive::<Decimal128Type>();
            for v in arr.iter() {
                out.push(v.map(|v| fit(Some((v, *from as i32)))).transpose()?);
            }
        }
        DataType::Float64 => {
            for v in a.as_primitive::<Float64Type>().iter() {
                out.push(v.map(|v| fit(dec::from_f64(v))).transpose()?);
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            for v in strings(a)? {
                out.push(
                    v.map(|v| match dec::parse(&v) {
                        Some(d) => fit(Some(d)),
                        None => exec_err!("Cannot convert \"{v}\" to DECIMAL"),
                    })
                    .transpose()?,
                );
            }
        }
        _ => {
            for v in to_i64(a)? {
                out.push(v.map(|v| fit(Some((v as i128, 0)))).transpose()?);
            }
        }
    }
    Ok(out)
}

fn to_timestamp(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    match a.data_type() {
        DataType::Date32 => Ok(a
            .as_primitive::<Date32Type>()
            .iter()
            .map(|d| d.map(|d| d as i64 * 86_400_000))
            .collect()),
        _ => strings(a)?
            .into_iter()
            .map(|s| s.map(|s| parse_timestamp(&s)).transpose())
            .collect(),
    }
}

fn to_date(a: &ArrayRef) -> Result<Vec<Option<i32>>> {
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => Ok(a
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .map(|t| t.map(|t| t.div_euclid(86_400_000) as i32))
            .collect()),
        _ => strings(a)?
            .into_iter()
            .map(|s| s.map(|s| parse_date(&s)).transpose())
            .collect(),
    }
}

fn to_time(a: &ArrayRef) -> Result<Vec<Option<i32>>> {
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Millisecond, _) => Ok(a
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .map(|t| t.map(|t| t.rem_euclid(86_400_000) as i32))
            .collect()),
        _ => strings(a)?
            .into_iter()
            .map(|s| s.map(|s| parse_time(&s)).transpose())
            .collect(),
    }
}

/// Whether `dt` lists `item` (helper for callers building casts of collections).
pub fn is_list_of(dt: &DataType, item: &DataType) -> bool {
    list_item(dt) == Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_like_ksql() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(2147483648), None]));
        let r = cast(&a, &DataType::Int32).unwrap();
        assert_eq!(r.as_primitive::<Int32Type>().value(0), -2147483648);
        assert!(r.is_null(1));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["0.99", " 1.1 "]));
        let d = cast(&s, &DataType::Decimal128(2, 1)).unwrap();
        assert_eq!(d.as_primitive::<Decimal128Type>().value(0), 10);
        assert_eq!(d.as_primitive::<Decimal128Type>().value(1), 11);
        let i: ArrayRef = Arc::new(Int32Array::from(vec![10]));
        assert!(cast(&i, &DataType::Decimal128(2, 1)).is_err());
        assert!(check_cast(
            &DataType::Utf8,
            &crate::types::map_of(DataType::Utf8, DataType::Int32)
        )
        .is_err());
        assert_eq!(parse_bool_strict("tr"), Some(true));
        assert_eq!(parse_bool_strict("Not a boolean"), None);
    }
}
