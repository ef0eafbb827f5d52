//! Arrow → JSON record bytes, as ksqlDB writes them through Kafka Connect's `JsonConverter`
//! (`schemas.enable=false`, `decimal.format=NUMERIC`): compact JSON, fields named and ordered as
//! declared, DOUBLE as Java's `Double.toString`, DECIMAL as a plain number with its scale
//! (`1.50`), BYTES as base64, DATE as epoch days, TIME as milliseconds of the day, TIMESTAMP as
//! epoch milliseconds.

use std::io::Write;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};

use crate::java;
use crate::FormatError;

/// Writes the value at `row` of `array` as JSON.
pub(crate) fn write_value(
    buf: &mut Vec<u8>,
    array: &dyn Array,
    row: usize,
) -> Result<(), FormatError> {
    if array.is_null(row) {
        buf.extend_from_slice(b"null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => buf.extend_from_slice(b"null"),
        DataType::Boolean => {
            let v = array.as_boolean().value(row);
            buf.extend_from_slice(if v { b"true" } else { b"false" });
        }
        DataType::Int8 => int(buf, array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => int(buf, array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => int(buf, array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => int(buf, array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => int(buf, array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => int(buf, array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => int(buf, array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => int(buf, array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float16 => double(buf, array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => double(buf, array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => double(buf, array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, s) => {
            let v = array.as_primitive::<Decimal128Type>().value(row);
            buf.extend_from_slice(java::decimal_to_string(v, *s).as_bytes());
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            string(buf, string_at(array, row).unwrap_or_default())
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => string(
            buf,
            &java::base64_encode(binary_at(array, row).unwrap_or_default()),
        ),
        DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            int(buf, temporal_i64(array, row).unwrap_or_default())
        }
        DataType::Timestamp(_, _) => int(buf, temporal_i64(array, row).unwrap_or_default()),
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            let items = list_at(array, row).unwrap_or_else(|| array.slice(0, 0));
            buf.push(b'[');
            for i in 0..items.len() {
                if i > 0 {
                    buf.push(b',');
                }
                write_value(buf, items.as_ref(), i)?;
            }
            buf.push(b']');
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let entries = map.value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            buf.push(b'{');
            for i in 0..entries.len() {
                if i > 0 {
                    buf.push(b',');
                }
                string(buf, &key_text(keys.as_ref(), i)?);
                buf.push(b':');
                write_value(buf, values.as_ref(), i)?;
            }
            buf.push(b'}');
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            buf.push(b'{');
            for (i, (f, col)) in fields.iter().zip(s.columns()).enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                string(buf, f.name());
                buf.push(b':');
                write_value(buf, col.as_ref(), row)?;
            }
            buf.push(b'}');
        }
        DataType::Dictionary(_, value_type) => {
            let one = cast(&array.slice(row, 1), value_type)
                .map_err(|e| FormatError::Serialization(e.to_string()))?;
            write_value(buf, one.as_ref(), 0)?;
        }
        other => {
            return Err(FormatError::Serialization(format!(
                "The 'JSON' format cannot serialize values of Arrow type {other}"
            )))
        }
    }
    Ok(())
}

fn int(buf: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write!(buf, "{v}");
}

/// Jackson writes non-finite doubles as quoted strings (`QUOTE_NON_NUMERIC_NUMBERS`).
fn double(buf: &mut Vec<u8>, v: f64) {
    let s = java::double_to_string(v);
    if v.is_finite() {
        buf.extend_from_slice(s.as_bytes());
    } else {
        string(buf, &s);
    }
}

/// A JSON string literal with JSON escaping.
pub(crate) fn string(buf: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *buf, s);
}

/// The text of a string array's value.
pub(crate) fn string_at(array: &dyn Array, row: usize) -> Option<&str> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(array.as_string_view().value(row)),
        _ => None,
    }
}

/// The bytes of a binary array's value.
pub(crate) fn binary_at(array: &dyn Array, row: usize) -> Option<&[u8]> {
    match array.data_type() {
        DataType::Binary => Some(array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => Some(array.as_binary::<i64>().value(row)),
        DataType::BinaryView => Some(array.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => Some(array.as_fixed_size_binary().value(row)),
        _ => None,
    }
}

/// The elements of a list array's value.
pub(crate) fn list_at(array: &dyn Array, row: usize) -> Option<std::sync::Arc<dyn Array>> {
    match array.data_type() {
        DataType::List(_) => Some(array.as_list::<i32>().value(row)),
        DataType::LargeList(_) => Some(array.as_list::<i64>().value(row)),
        DataType::FixedSizeList(_, _) => Some(array.as_fixed_size_list().value(row)),
        _ => None,
    }
}

/// DATE as epoch days, TIME as milliseconds of the day, TIMESTAMP as epoch milliseconds
/// (ksqlDB's units), whatever the Arrow unit.
pub(crate) fn temporal_i64(array: &dyn Array, row: usize) -> Option<i64> {
    Some(match array.data_type() {
        DataType::Date32 => array.as_primitive::<Date32Type>().value(row) as i64,
        DataType::Date64 => array
            .as_primitive::<Date64Type>()
            .value(row)
            .div_euclid(86_400_000),
        DataType::Time32(TimeUnit::Second) => {
            array.as_primitive::<Time32SecondType>().value(row) as i64 * 1000
        }
        DataType::Time32(_) => array.as_primitive::<Time32MillisecondType>().value(row) as i64,
        DataType::Time64(TimeUnit::Microsecond) => {
            array.as_primitive::<Time64MicrosecondType>().value(row) / 1000
        }
        DataType::Time64(_) => array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000,
        DataType::Timestamp(unit, _) => {
            use datafusion::arrow::datatypes::{
                TimestampMicrosecondType as Us, TimestampMillisecondType as Ms,
                TimestampNanosecondType as Ns, TimestampSecondType as S,
            };
            match unit {
                TimeUnit::Second => array.as_primitive::<S>().value(row).saturating_mul(1000),
                TimeUnit::Millisecond => array.as_primitive::<Ms>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<Us>().value(row).div_euclid(1000),
                TimeUnit::Nanosecond => array.as_primitive::<Ns>().value(row).div_euclid(1_000_000),
            }
        }
        _ => return None,
    })
}

/// A map key as JSON object key text.
fn key_text(keys: &dyn Array, i: usize) -> Result<String, FormatError> {
    if let Some(s) = string_at(keys, i) {
        return Ok(s.to_string());
    }
    let mut b = Vec::new();
    write_value(&mut b, keys, i)?;
    let text = String::from_utf8_lossy(&b).into_owned();
    Ok(text.trim_matches('"').to_string())
}
