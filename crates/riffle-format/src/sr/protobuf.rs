//! PROTOBUF (placeholder until `.proto` schemas are supported).

use datafusion::arrow::array::Array;
use riffle_types::{Column, SqlType};
use serde_json::Value;

use crate::FormatError;

fn unsupported() -> FormatError {
    FormatError::Unsupported("PROTOBUF schemas are not supported yet".to_string())
}

/// A parsed `.proto` schema.
#[derive(Debug)]
pub(crate) struct ProtoSchema {
    text: String,
}

impl ProtoSchema {
    pub(crate) fn parse(text: &str) -> Result<ProtoSchema, FormatError> {
        let _ = text;
        Err(unsupported())
    }

    pub(crate) fn canonical(&self) -> String {
        self.text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    pub(crate) fn infer_columns(
        &self,
        _full_name: Option<&str>,
        _original: bool,
    ) -> Result<Vec<(String, SqlType)>, FormatError> {
        Err(unsupported())
    }

    pub(crate) fn write_spec(
        &self,
        _value: &Value,
        _full_name: Option<&str>,
        _out: &mut Vec<u8>,
    ) -> Result<(), String> {
        Err(unsupported().to_string())
    }

    pub(crate) fn read_spec(&self, _payload: &[u8]) -> Result<Value, String> {
        Err(unsupported().to_string())
    }

    pub(crate) fn read_for_columns(
        &self,
        _payload: &[u8],
        _columns: &[Column],
    ) -> Result<Value, String> {
        Err(unsupported().to_string())
    }

    pub(crate) fn encode_rows(
        &self,
        _id: u32,
        _full_name: Option<&str>,
        _columns: &[Column],
        _arrays: &[&dyn Array],
        _num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        Err(unsupported())
    }
}

/// The `.proto` schema ksqlDB registers for `columns`.
pub(crate) fn schema_for_columns(
    _columns: &[Column],
    _full_name: Option<&str>,
    _is_key: bool,
) -> Result<String, FormatError> {
    Err(unsupported())
}
