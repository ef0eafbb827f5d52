//! The JSON format: records are JSON documents; a row is an object of its columns unless the
//! single column is unwrapped (always for keys, `WRAP_SINGLE_VALUE=false` for values).

mod decode;
mod encode;

use datafusion::arrow::array::ArrayRef;
use riffle_types::Column;
use serde_json::Value;

pub(crate) use decode::{parse_document, JsonDecoder};
pub(crate) use encode::{binary_at, list_at, string_at, temporal_i64, write_value};

use crate::FormatError;

/// Serializes each row; `unwrapped` writes the single column's bare value.
pub(crate) fn encode(
    columns: &[Column],
    arrays: &[ArrayRef],
    num_rows: usize,
    unwrapped: bool,
    is_key: bool,
) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
    let mut out = Vec::with_capacity(num_rows);
    if columns.is_empty() {
        // No columns: keys carry nothing; values are empty objects.
        out.resize(num_rows, if is_key { None } else { Some(b"{}".to_vec()) });
        return Ok(out);
    }
    if unwrapped && columns.len() == 1 {
        let a = arrays[0].as_ref();
        for row in 0..num_rows {
            if a.is_null(row) {
                out.push(None);
            } else {
                let mut buf = Vec::with_capacity(16);
                write_value(&mut buf, a, row)?;
                out.push(Some(buf));
            }
        }
        return Ok(out);
    }
    // `"NAME":` prefixes, escaped once.
    let prefixes: Vec<Vec<u8>> = columns
        .iter()
        .map(|c| {
            let mut p = Vec::with_capacity(c.name.len() + 3);
            encode::string(&mut p, &c.name);
            p.push(b':');
            p
        })
        .collect();
    let mut cap = 2;
    for row in 0..num_rows {
        let mut buf = Vec::with_capacity(cap);
        buf.push(b'{');
        for (i, (prefix, a)) in prefixes.iter().zip(arrays).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(prefix);
            write_value(&mut buf, a.as_ref(), row)?;
        }
        buf.push(b'}');
        cap = cap.max(buf.len());
        out.push(Some(buf));
    }
    Ok(out)
}

/// A QTT-style JSON description → record bytes: the document itself; `null` is a null record.
pub(crate) fn json_to_bytes(value: &Value) -> Result<Option<Vec<u8>>, FormatError> {
    if value.is_null() {
        return Ok(None);
    }
    serde_json::to_vec(value)
        .map(Some)
        .map_err(|e| FormatError::Serialization(e.to_string()))
}

/// Record bytes → the JSON document they hold (`null` for a null or empty record).
pub(crate) fn bytes_to_json(bytes: Option<&[u8]>) -> Result<Value, FormatError> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    parse_document(bytes)
        .map(|v| v.unwrap_or(Value::Null))
        .map_err(FormatError::Deserialization)
}

#[cfg(test)]
mod tests;
