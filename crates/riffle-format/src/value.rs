//! Arrow values → JSON as ksqlDB's REST API renders query rows (`ApiJsonMapper`):
//!
//! | type      | JSON                                                                      |
//! |-----------|---------------------------------------------------------------------------|
//! | BOOLEAN   | `true` / `false`                                                          |
//! | INT, BIGINT | number                                                                  |
//! | DOUBLE    | number as Java's `Double.toString` (`1.0E7`); `"NaN"`, `"Infinity"` quoted |
//! | DECIMAL   | number with its scale, never scientific (`WRITE_BIGDECIMAL_AS_PLAIN`): `1.50` |
//! | STRING    | string                                                                    |
//! | BYTES     | base64 string                                                             |
//! | DATE      | `"yyyy-MM-dd"` (`SqlTimeTypes.formatDate`)                                 |
//! | TIME      | `"HH:mm"` or `"HH:mm:ss"` (`SqlTimeTypes.formatTime`: whole seconds, `LocalTime.toString`) |
//! | TIMESTAMP | `"yyyy-MM-dd'T'HH:mm:ss.SSS"` in UTC (`SqlTimeTypes.formatTimestamp`)       |
//! | ARRAY     | array                                                                     |
//! | MAP       | object (keys as text)                                                     |
//! | STRUCT    | object with the fields' declared names, in order                          |
//! | null      | `null`                                                                    |

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::*;
use serde_json::{Map, Number, Value};

use crate::java;
use crate::json::{binary_at, list_at, string_at, temporal_i64};

/// The value at `row` of `array` as ksqlDB's REST API renders it (see the module docs).
pub fn arrow_value_to_json(array: &dyn Array, row: usize) -> Value {
    if row >= array.len() || array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float16 => double_value(array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => double_value(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => double_value(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, s) => number(&java::decimal_to_string(
            array.as_primitive::<Decimal128Type>().value(row),
            *s,
        )),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Value::String(string_at(array, row).unwrap_or_default().to_string())
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Value::String(java::base64_encode(
            binary_at(array, row).unwrap_or_default(),
        )),
        DataType::Date32 | DataType::Date64 => {
            let days = temporal_i64(array, row).unwrap_or_default();
            Value::String(format_date(days))
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let ms = temporal_i64(array, row).unwrap_or_default();
            Value::String(format_time(ms))
        }
        DataType::Timestamp(_, _) => {
            let ms = temporal_i64(array, row).unwrap_or_default();
            Value::String(format_timestamp(ms))
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            match list_at(array, row) {
                Some(items) => Value::Array(
                    (0..items.len())
                        .map(|i| arrow_value_to_json(&items, i))
                        .collect(),
                ),
                None => Value::Null,
            }
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut m = Map::with_capacity(entries.len());
            for i in 0..entries.len() {
                let key = match arrow_value_to_json(keys.as_ref(), i) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(key, arrow_value_to_json(values.as_ref(), i));
            }
            Value::Object(m)
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut m = Map::with_capacity(fields.len());
            for (f, col) in fields.iter().zip(s.columns()) {
                m.insert(f.name().clone(), arrow_value_to_json(col.as_ref(), row));
            }
            Value::Object(m)
        }
        DataType::Dictionary(_, value_type) => match cast(&array.slice(row, 1), value_type) {
            Ok(one) => arrow_value_to_json(one.as_ref(), 0),
            Err(_) => Value::Null,
        },
        _ => Value::Null,
    }
}

/// A DOUBLE as Jackson writes it: `Double.toString` digits, non-finite values as strings.
pub(crate) fn double_value(d: f64) -> Value {
    let s = java::double_to_string(d);
    if d.is_finite() {
        number(&s)
    } else {
        Value::String(s)
    }
}

/// A JSON number keeping the given text (the workspace enables `arbitrary_precision`).
fn number(text: &str) -> Value {
    serde_json::from_str::<Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_string()))
}

/// `LocalDate.ofEpochDay(days).toString()`.
pub(crate) fn format_date(days: i64) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::try_days(days)?))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| days.to_string())
}

/// `LocalTime.ofSecondOfDay(ms / 1000).toString()`: `HH:mm`, or `HH:mm:ss` when the seconds
/// are not zero.
pub(crate) fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400) as u32;
    match NaiveTime::from_num_seconds_from_midnight_opt(secs, 0) {
        Some(t) if t.second() == 0 => t.format("%H:%M").to_string(),
        Some(t) => t.format("%H:%M:%S").to_string(),
        None => ms.to_string(),
    }
}

/// `yyyy-MM-dd'T'HH:mm:ss.SSS` in UTC.
pub(crate) fn format_timestamp(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BinaryArray, Date32Array, Decimal128Array, Float64Array, Int32Array, ListArray,
        StringArray, StructArray, Time32MillisecondArray, TimestampMillisecondArray,
    };
    use serde_json::json;

    use super::*;

    #[test]
    fn renders_scalars_like_ksqldb_rest() {
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(150), None])
                .with_precision_and_scale(4, 2)
                .unwrap(),
        );
        assert_eq!(arrow_value_to_json(dec.as_ref(), 0).to_string(), "1.50");
        assert_eq!(arrow_value_to_json(dec.as_ref(), 1), Value::Null);
        let d = Float64Array::from(vec![1e7, f64::NAN, 0.5]);
        // serde_json keeps the digits but normalises the exponent as it does when parsing
        // an expected `1.0E7`
        assert_eq!(
            arrow_value_to_json(&d, 0),
            serde_json::from_str::<Value>("1.0E7").unwrap()
        );
        assert_eq!(arrow_value_to_json(&d, 1), json!("NaN"));
        assert_eq!(arrow_value_to_json(&d, 2).to_string(), "0.5");
        let b = BinaryArray::from(vec![&b"!"[..]]);
        assert_eq!(arrow_value_to_json(&b, 0), json!("IQ=="));
        assert_eq!(
            arrow_value_to_json(&Date32Array::from(vec![10]), 0),
            json!("1970-01-11")
        );
        let t = Time32MillisecondArray::from(vec![3_600_000, 3_661_500]);
        assert_eq!(arrow_value_to_json(&t, 0), json!("01:00"));
        assert_eq!(arrow_value_to_json(&t, 1), json!("01:01:01"));
        let ts = TimestampMillisecondArray::from(vec![1_580_223_282_123]);
        assert_eq!(
            arrow_value_to_json(&ts, 0),
            json!("2020-01-28T14:54:42.123")
        );
        assert_eq!(
            arrow_value_to_json(&Int32Array::from(vec![7]), 5),
            Value::Null
        );
    }

    #[test]
    fn renders_nested_values() {
        let list =
            ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None])]);
        assert_eq!(arrow_value_to_json(&list, 0), json!([1, null]));
        let s = StructArray::from(vec![
            (
                Arc::new(Field::new("KEY", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["abc"])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("value", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![None])) as ArrayRef,
            ),
        ]);
        assert_eq!(
            arrow_value_to_json(&s, 0),
            json!({"KEY": "abc", "value": null})
        );
    }
}
