//! The KAFKA format: a single column in Kafka's own serializers' encoding
//! (`KafkaSerdeFactory`): INT as 4 big-endian bytes, BIGINT as 8, DOUBLE as 8 IEEE-754 bytes,
//! STRING as UTF-8, BYTES as is. With no columns the record is ignored (`KsqlVoidSerde`).

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use riffle_types::{Column, SqlType};
use serde_json::Value;

use crate::builder::ColumnBuilder;
use crate::java;
use crate::validate::base_type_name;
use crate::{FormatError, RowDecoder};

/// Decodes KAFKA-format records.
pub(crate) struct KafkaDecoder<'a> {
    pub(crate) columns: &'a [Column],
}

fn size_error(deserializer: &str, size: usize) -> String {
    format!("Size of data received by {deserializer} is not {size}")
}

fn unsupported(ty: &SqlType) -> String {
    format!(
        "The 'KAFKA' format does not support type '{}'",
        base_type_name(ty)
    )
}

impl RowDecoder for KafkaDecoder<'_> {
    fn decode_row(&mut self, bytes: &[u8], builders: &mut [ColumnBuilder]) -> Result<bool, String> {
        let (Some(col), Some(b)) = (self.columns.first(), builders.first_mut()) else {
            return Ok(true);
        };
        if self.columns.len() > 1 {
            return Err(format!(
                "The 'KAFKA' format only supports a single field. Got: {}",
                crate::validate::column_list(self.columns, false)
            ));
        }
        match &col.ty {
            SqlType::Int => {
                let a: [u8; 4] = bytes
                    .try_into()
                    .map_err(|_| size_error("IntegerDeserializer", 4))?;
                b.push_i32(i32::from_be_bytes(a));
            }
            SqlType::Bigint => {
                let a: [u8; 8] = bytes
                    .try_into()
                    .map_err(|_| size_error("LongDeserializer", 8))?;
                b.push_i64(i64::from_be_bytes(a));
            }
            SqlType::Double => {
                let a: [u8; 8] = bytes
                    .try_into()
                    .map_err(|_| size_error("Deserializer", 8))?;
                b.push_f64(f64::from_be_bytes(a));
            }
            SqlType::String => b.push_str(&String::from_utf8_lossy(bytes)),
            SqlType::Bytes => b.push_bytes(bytes),
            other => return Err(unsupported(other)),
        }
        Ok(true)
    }
}

/// Serializes the single column of each row; nulls are null records.
pub(crate) fn encode(
    columns: &[Column],
    arrays: &[ArrayRef],
    num_rows: usize,
) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
    let (Some(col), Some(a)) = (columns.first(), arrays.first()) else {
        return Ok(vec![None; num_rows]);
    };
    if columns.len() > 1 {
        return Err(FormatError::Serialization(format!(
            "The 'KAFKA' format only supports a single field. Got: {}",
            crate::validate::column_list(columns, false)
        )));
    }
    let a = a.as_ref();
    let mut out = Vec::with_capacity(num_rows);
    for row in 0..num_rows {
        if a.is_null(row) {
            out.push(None);
            continue;
        }
        out.push(Some(match &col.ty {
            SqlType::Int => a
                .as_primitive::<Int32Type>()
                .value(row)
                .to_be_bytes()
                .to_vec(),
            SqlType::Bigint => a
                .as_primitive::<Int64Type>()
                .value(row)
                .to_be_bytes()
                .to_vec(),
            SqlType::Double => a
                .as_primitive::<Float64Type>()
                .value(row)
                .to_be_bytes()
                .to_vec(),
            SqlType::String => a.as_string::<i32>().value(row).as_bytes().to_vec(),
            SqlType::Bytes => a.as_binary::<i32>().value(row).to_vec(),
            other => return Err(FormatError::Serialization(unsupported(other))),
        }));
    }
    Ok(out)
}

/// A QTT-style JSON description → record bytes: numbers for INT/BIGINT/DOUBLE, text for
/// STRING, base64 text for BYTES. With no columns, a string's bytes (the record is ignored).
pub(crate) fn json_to_bytes(
    columns: &[Column],
    value: &Value,
) -> Result<Option<Vec<u8>>, FormatError> {
    if value.is_null() {
        return Ok(None);
    }
    let bad = || {
        FormatError::Serialization(format!(
            "Can't write {value} as a KAFKA {}",
            columns.first().map_or("record", |c| base_type_name(&c.ty))
        ))
    };
    let Some(col) = columns.first() else {
        return Ok(Some(match value {
            Value::String(s) => s.as_bytes().to_vec(),
            other => other.to_string().into_bytes(),
        }));
    };
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_str().to_string(),
        other => other.to_string(),
    };
    Ok(Some(match &col.ty {
        SqlType::Int => {
            let v = match value {
                Value::Number(n) => {
                    i32::try_from(n.as_i64().ok_or_else(bad)?).map_err(|_| bad())?
                }
                _ => text.trim().parse::<i32>().map_err(|_| bad())?,
            };
            v.to_be_bytes().to_vec()
        }
        SqlType::Bigint => {
            let v = match value {
                Value::Number(n) => n.as_i64().ok_or_else(bad)?,
                _ => text.trim().parse::<i64>().map_err(|_| bad())?,
            };
            v.to_be_bytes().to_vec()
        }
        SqlType::Double => {
            let v = java::parse_java_double(&text).ok_or_else(bad)?;
            v.to_be_bytes().to_vec()
        }
        SqlType::String => text.into_bytes(),
        SqlType::Bytes => java::base64_decode(&text).ok_or_else(bad)?,
        other => return Err(FormatError::Serialization(unsupported(other))),
    }))
}

/// Record bytes → the JSON description QTT files use (see [`json_to_bytes`]).
pub(crate) fn bytes_to_json(
    columns: &[Column],
    bytes: Option<&[u8]>,
) -> Result<Value, FormatError> {
    let (Some(bytes), Some(col)) = (bytes, columns.first()) else {
        return Ok(Value::Null);
    };
    let err = |m: String| FormatError::Deserialization(m);
    Ok(match &col.ty {
        SqlType::Int => {
            let a: [u8; 4] = bytes
                .try_into()
                .map_err(|_| err(size_error("IntegerDeserializer", 4)))?;
            Value::from(i32::from_be_bytes(a))
        }
        SqlType::Bigint => {
            let a: [u8; 8] = bytes
                .try_into()
                .map_err(|_| err(size_error("LongDeserializer", 8)))?;
            Value::from(i64::from_be_bytes(a))
        }
        SqlType::Double => {
            let a: [u8; 8] = bytes
                .try_into()
                .map_err(|_| err(size_error("Deserializer", 8)))?;
            crate::value::double_value(f64::from_be_bytes(a))
        }
        SqlType::String => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        SqlType::Bytes => Value::String(java::base64_encode(bytes)),
        other => return Err(err(unsupported(other))),
    })
}
