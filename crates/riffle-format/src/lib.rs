//! Record bytes ⇄ Arrow columns for ksqlDB's serialization formats.
//!
//! A [`Format`] decodes a batch of Kafka record keys or values into one Arrow array per column
//! ([`Format::decode`]) and encodes arrays back into record bytes ([`Format::encode`]), with the
//! semantics of ksqlDB's serdes:
//!
//! * **JSON** (`KsqlJsonDeserializer`, Kafka Connect `JsonConverter`): a row is an object whose
//!   fields match column names exactly or after upper-casing; missing fields are null, extra
//!   fields ignored; values are coerced as `JsonSerdeUtils` does. A single key column is always
//!   unwrapped (the record is the bare value); a single value column is unwrapped when
//!   `WRAP_SINGLE_VALUE=false`.
//! * **DELIMITED** (`KsqlDelimitedDeserializer`/`Serializer`, commons-csv): one CSV line, empty
//!   fields are null, no nested types.
//! * **KAFKA** (`KafkaSerdeFactory`): one INT/BIGINT/DOUBLE/STRING/BYTES column in Kafka's
//!   binary encodings.
//! * **NONE**: no columns; the record is ignored.
//!
//! * **AVRO**, **JSON_SR**, **PROTOBUF**: Confluent's Schema Registry wire format (magic byte,
//!   schema id, payload) with schemas kept in a [`SchemaRegistry`]; a format needs a
//!   [`RegistryBinding`] (registry and subject) to be used. See the `sr` module.

#![warn(missing_docs)]

mod builder;
mod delimited;
mod error;
mod java;
mod json;
mod kafka;
pub mod registry;
mod sr;
mod validate;
mod value;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::cast;
use riffle_types::Column;

use crate::builder::ColumnBuilder;
pub use crate::error::FormatError;
pub use crate::registry::{subject_name, SchemaRegistry, SchemaType};
pub use crate::sr::{key_schema_full_name, RegistryBinding};
pub use crate::value::arrow_value_to_json;

/// The serialization formats ksqlDB names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// `JSON`: schemaless JSON documents.
    Json,
    /// `DELIMITED`: one delimiter-separated line per record.
    Delimited,
    /// `KAFKA`: a single primitive in Kafka's own serializers' encoding.
    Kafka,
    /// `NONE`: no data (keyless streams).
    None,
    /// `AVRO`: Avro with a Schema Registry header.
    Avro,
    /// `PROTOBUF` (and `PROTOBUF_NOSR`).
    Protobuf,
    /// `JSON_SR`: JSON with a Schema Registry header.
    JsonSr,
}

/// Every format name [`Format::from_name`] accepts.
pub const FORMAT_NAMES: &[&str] = &[
    "JSON",
    "DELIMITED",
    "KAFKA",
    "NONE",
    "AVRO",
    "PROTOBUF",
    "PROTOBUF_NOSR",
    "JSON_SR",
];

/// A key or value format with its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    /// Which format.
    pub kind: FormatKind,
    /// The field delimiter; used by DELIMITED only. Default `,`.
    pub delimiter: char,
    /// `WRAP_SINGLE_VALUE` for value formats: `None` means the default (wrapped), `Some(false)`
    /// makes a single value column the bare record. Ignored for keys.
    pub wrap_single_value: Option<bool>,
    /// `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`: the registered schema to read the columns from and
    /// to write records with (Schema Registry formats).
    pub schema_id: Option<u32>,
    /// The full name of the record or message ksqlDB generates (`VALUE_AVRO_SCHEMA_FULL_NAME`,
    /// `*_SCHEMA_FULL_NAME`; key records default to `<Source>Key`).
    pub schema_full_name: Option<String>,
    /// Where the Schema Registry formats keep their schemas; set by the engine.
    pub registry: Option<RegistryBinding>,
}

/// The result of decoding a batch of records.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// One array per column, each with one row per input record, typed as
    /// `column.ty.to_arrow()`.
    pub arrays: Vec<ArrayRef>,
    /// Rows that could not be decoded: `(row index, message)`. Their slots are null; the caller
    /// drops those rows (and logs the message to the processing log).
    pub errors: Vec<(usize, String)>,
    /// Rows whose record is null: a `None` input, or a JSON `null`/empty document. Their slots
    /// are null; ksqlDB treats them as null rows (tombstones for tables).
    pub null_rows: Vec<usize>,
}

/// Decodes one record into the column builders.
pub(crate) trait RowDecoder {
    /// Appends exactly one value (possibly null) to every builder and returns `Ok(true)`;
    /// `Ok(false)` for a null record; `Err(message)` for a bad record (partial appends are
    /// rolled back by the caller).
    fn decode_row(&mut self, bytes: &[u8], builders: &mut [ColumnBuilder]) -> Result<bool, String>;
}

impl Format {
    /// A format of `kind` with default properties.
    pub fn new(kind: FormatKind) -> Format {
        Format {
            kind,
            delimiter: ',',
            wrap_single_value: None,
            schema_id: None,
            schema_full_name: None,
            registry: None,
        }
    }

    /// Parses a format name case-insensitively (`json`, `Delimited`, `KAFKA`, `NONE`, `AVRO`,
    /// `PROTOBUF`, `PROTOBUF_NOSR`, `JSON_SR`).
    pub fn from_name(name: &str) -> Result<Format, FormatError> {
        let upper = name.trim().to_ascii_uppercase();
        let kind = match upper.as_str() {
            "JSON" => FormatKind::Json,
            "DELIMITED" => FormatKind::Delimited,
            "KAFKA" => FormatKind::Kafka,
            "NONE" => FormatKind::None,
            "AVRO" => FormatKind::Avro,
            "PROTOBUF" | "PROTOBUF_NOSR" => FormatKind::Protobuf,
            "JSON_SR" => FormatKind::JsonSr,
            _ => {
                return Err(FormatError::UnknownFormat {
                    name: name.to_uppercase(),
                    supported: FORMAT_NAMES.join(", "),
                })
            }
        };
        Ok(Format::new(kind))
    }

    /// The format's name as ksqlDB prints it (`JSON`, `DELIMITED`, ...).
    pub fn name(&self) -> &'static str {
        match self.kind {
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::Kafka => "KAFKA",
            FormatKind::None => "NONE",
            FormatKind::Avro => "AVRO",
            FormatKind::Protobuf => "PROTOBUF",
            FormatKind::JsonSr => "JSON_SR",
        }
    }

    /// Applies `VALUE_DELIMITER`: a single character, or `TAB` / `SPACE`. Errors as ksqlDB does
    /// for other values, and for formats other than DELIMITED.
    pub fn with_delimiter(self, spec: &str) -> Result<Format, FormatError> {
        self.with_delimiter_property("VALUE_DELIMITER", spec)
    }

    /// Applies `KEY_DELIMITER`; see [`Format::with_delimiter`].
    pub fn with_key_delimiter(self, spec: &str) -> Result<Format, FormatError> {
        self.with_delimiter_property("KEY_DELIMITER", spec)
    }

    fn with_delimiter_property(
        mut self,
        property: &'static str,
        spec: &str,
    ) -> Result<Format, FormatError> {
        if self.kind != FormatKind::Delimited {
            return Err(FormatError::UnsupportedProperty {
                format: self.name(),
                property: "delimiter",
            });
        }
        let invalid = |reason: String| FormatError::InvalidDelimiter { property, reason };
        if spec.trim().is_empty() {
            return Err(invalid(
                "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, \
                 please use the special values 'TAB' or 'SPACE'"
                    .to_string(),
            ));
        }
        let mut chars = spec.chars();
        self.delimiter = match (chars.next(), chars.next()) {
            (Some(c), None) => c,
            _ if spec.eq_ignore_ascii_case("TAB") => '\t',
            _ if spec.eq_ignore_ascii_case("SPACE") => ' ',
            _ => {
                return Err(invalid(format!(
                    "Invalid delimiter value: '{spec}'. Delimiter must be a single character or \
                     TAB,SPACE"
                )))
            }
        };
        Ok(self)
    }

    /// Checks that this format can carry `columns` (the key columns when `is_key`, else the
    /// value columns), with ksqlDB's rules and messages: KAFKA carries at most one INT, BIGINT,
    /// DOUBLE, STRING or BYTES column; NONE carries none; DELIMITED no ARRAY, MAP or STRUCT;
    /// JSON only STRING map keys; keys never contain maps; `WRAP_SINGLE_VALUE` needs exactly one
    /// value column and is rejected by DELIMITED/KAFKA when `true`; AVRO needs STRING map keys and
    /// Avro-compatible names.
    pub fn validate(&self, columns: &[Column], is_key: bool) -> Result<(), FormatError> {
        validate::validate(self, columns, is_key)
    }

    /// Whether the record is the single column's bare value rather than a wrapper object.
    pub fn is_unwrapped(&self, columns: &[Column], is_key: bool) -> bool {
        columns.len() == 1
            && match self.kind {
                FormatKind::Json | FormatKind::Avro | FormatKind::JsonSr => {
                    is_key || self.wrap_single_value == Some(false)
                }
                FormatKind::Protobuf => false,
                _ => true,
            }
    }

    /// Decodes a batch of record keys (`is_key`) or values into one array per column. Records
    /// that fail are listed in [`Decoded::errors`] with ksqlDB's message (without the topic; see
    /// [`Format::decode_from_topic`]) and get null slots; `None` inputs give null rows.
    pub fn decode(&self, columns: &[Column], inputs: &[Option<&[u8]>], is_key: bool) -> Decoded {
        self.decode_impl(None, columns, inputs, is_key)
    }

    /// [`Format::decode`], with error messages naming the topic as ksqlDB's processing log
    /// does: `Failed to deserialize value from topic: t. <reason>`.
    pub fn decode_from_topic(
        &self,
        topic: &str,
        columns: &[Column],
        inputs: &[Option<&[u8]>],
        is_key: bool,
    ) -> Decoded {
        self.decode_impl(Some(topic), columns, inputs, is_key)
    }

    fn decode_impl(
        &self,
        topic: Option<&str>,
        columns: &[Column],
        inputs: &[Option<&[u8]>],
        is_key: bool,
    ) -> Decoded {
        let mut void = VoidDecoder;
        let mut json;
        let mut delimited;
        let mut kafka;
        let mut sr;
        let decoder: &mut dyn RowDecoder = match self.kind {
            _ if columns.is_empty() => &mut void,
            FormatKind::Json => {
                json = json::JsonDecoder::new(columns, self.is_unwrapped(columns, is_key));
                &mut json
            }
            FormatKind::Delimited => {
                delimited = delimited::DelimitedDecoder {
                    columns,
                    delimiter: self.delimiter,
                };
                &mut delimited
            }
            FormatKind::Kafka => {
                kafka = kafka::KafkaDecoder { columns };
                &mut kafka
            }
            FormatKind::None => &mut void,
            FormatKind::Avro | FormatKind::Protobuf | FormatKind::JsonSr => {
                sr = self.sr_decoder(columns, is_key);
                &mut sr
            }
        };
        let target = if is_key { "key" } else { "value" };
        run(columns, inputs, decoder, |m| match topic {
            Some(t) => format!("Failed to deserialize {target} from topic: {t}. {m}"),
            None => m,
        })
    }

    /// Encodes each row of `arrays` (one per column, in `columns` order) into record bytes.
    /// `Ok(None)` for a row means a null record:
    ///
    /// * a key whose columns are all null (ksqlDB carries a null key through as a null key,
    ///   whatever the key format);
    /// * a null single unwrapped value (JSON with `WRAP_SINGLE_VALUE=false`, KAFKA);
    /// * any row of a schema without columns (JSON values give `{}`).
    ///
    /// A wrapped JSON value is always an object, even when every column is null, and a DELIMITED
    /// value always a line: to write tombstones for rows that came from null records, use
    /// [`Format::encode_with_null_records`]. Arrays whose type differs from
    /// `column.ty.to_arrow()` are cast first.
    pub fn encode(
        &self,
        columns: &[Column],
        arrays: &[ArrayRef],
        is_key: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let num_rows = arrays.first().map_or(0, |a| a.len());
        self.encode_impl(columns, arrays, num_rows, None, is_key)
    }

    /// [`Format::encode`] with an explicit row count, for schemas without columns (where
    /// `arrays` is empty).
    pub fn encode_rows(
        &self,
        columns: &[Column],
        arrays: &[ArrayRef],
        num_rows: usize,
        is_key: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        self.encode_impl(columns, arrays, num_rows, None, is_key)
    }

    /// [`Format::encode`] for `null_records.len()` rows, where rows flagged `true` are null
    /// records (tombstones, null keys) and encode to `None` whatever their column values.
    pub fn encode_with_null_records(
        &self,
        columns: &[Column],
        arrays: &[ArrayRef],
        null_records: &[bool],
        is_key: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        self.encode_impl(
            columns,
            arrays,
            null_records.len(),
            Some(null_records),
            is_key,
        )
    }

    fn encode_impl(
        &self,
        columns: &[Column],
        arrays: &[ArrayRef],
        num_rows: usize,
        null_records: Option<&[bool]>,
        is_key: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let mut out = self.encode_columns(columns, arrays, num_rows, is_key)?;
        if let Some(flags) = null_records {
            for (o, null) in out.iter_mut().zip(flags) {
                if *null {
                    *o = None;
                }
            }
        }
        if is_key && !arrays.is_empty() {
            for (row, o) in out.iter_mut().enumerate() {
                if o.is_some() && arrays.iter().all(|a| a.is_null(row)) {
                    *o = None;
                }
            }
        }
        Ok(out)
    }

    fn encode_columns(
        &self,
        columns: &[Column],
        arrays: &[ArrayRef],
        num_rows: usize,
        is_key: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        if arrays.len() != columns.len() {
            return Err(FormatError::Serialization(format!(
                "Column count mismatch on serialization. expected: {}, got: {}",
                columns.len(),
                arrays.len()
            )));
        }
        let mut cast_arrays = Vec::with_capacity(arrays.len());
        for (c, a) in columns.iter().zip(arrays) {
            if a.len() < num_rows {
                return Err(FormatError::Serialization(format!(
                    "Column {} has {} rows, expected {num_rows}",
                    c.name,
                    a.len()
                )));
            }
            let dt = c.ty.to_arrow();
            if a.data_type() == &dt {
                cast_arrays.push(a.clone());
            } else {
                match cast(a, &dt) {
                    Ok(x) => cast_arrays.push(x),
                    // JSON writes any Arrow type; the other formats need the declared one.
                    Err(_) if self.kind == FormatKind::Json => cast_arrays.push(a.clone()),
                    Err(e) => {
                        return Err(FormatError::Serialization(format!(
                            "Column {} of type {} cannot be serialized as {}: {e}",
                            c.name,
                            a.data_type(),
                            c.ty
                        )))
                    }
                }
            }
        }
        match self.kind {
            FormatKind::Json => json::encode(
                columns,
                &cast_arrays,
                num_rows,
                self.is_unwrapped(columns, is_key),
                is_key,
            ),
            FormatKind::Delimited => {
                delimited::encode(columns, &cast_arrays, num_rows, self.delimiter)
            }
            FormatKind::Kafka => kafka::encode(columns, &cast_arrays, num_rows),
            FormatKind::Avro | FormatKind::Protobuf | FormatKind::JsonSr => {
                self.sr_encode(columns, &cast_arrays, num_rows, is_key)
            }
            _ => Ok(vec![None; num_rows]),
        }
    }

    /// A record described as QTT test files write it → its bytes (`None` for a null record).
    ///
    /// * JSON: the JSON document itself (`"key": 1`, `"value": {"FOO": 10}`).
    /// * DELIMITED: the string is the record text (`"value": "0,zero,0"`); numbers and booleans
    ///   are written as their text.
    /// * KAFKA: a number for INT/BIGINT/DOUBLE, text for STRING, base64 text for BYTES.
    /// * NONE, or no columns: a string's bytes (the record is ignored anyway).
    /// * AVRO, PROTOBUF, JSON_SR: the value converted to the subject's newest schema (ksqlDB's
    ///   generated one, registered now, when the subject has none), after the schema id.
    pub fn json_to_bytes(
        &self,
        columns: &[Column],
        value: &serde_json::Value,
        is_key: bool,
    ) -> Result<Option<Vec<u8>>, FormatError> {
        if value.is_null() {
            return Ok(None);
        }
        match self.kind {
            FormatKind::Json => json::json_to_bytes(value),
            FormatKind::Kafka => kafka::json_to_bytes(columns, value),
            FormatKind::Delimited | FormatKind::None => Ok(Some(match value {
                serde_json::Value::String(s) => s.as_bytes().to_vec(),
                other => other.to_string().into_bytes(),
            })),
            FormatKind::Avro | FormatKind::Protobuf | FormatKind::JsonSr => {
                self.sr_json_to_bytes(columns, value, is_key)
            }
        }
    }

    /// Record bytes → the JSON description QTT test files use (the inverse of
    /// [`Format::json_to_bytes`]): the JSON document, the delimited text as a string, the KAFKA
    /// value as a number/string/base64 string; `null` for a null record and for NONE.
    pub fn bytes_to_json(
        &self,
        columns: &[Column],
        bytes: Option<&[u8]>,
        is_key: bool,
    ) -> Result<serde_json::Value, FormatError> {
        match self.kind {
            FormatKind::Json => json::bytes_to_json(bytes),
            FormatKind::Kafka => kafka::bytes_to_json(columns, bytes),
            FormatKind::Delimited => Ok(bytes.map_or(serde_json::Value::Null, |b| {
                serde_json::Value::String(String::from_utf8_lossy(b).into_owned())
            })),
            FormatKind::None => Ok(serde_json::Value::Null),
            FormatKind::Avro | FormatKind::Protobuf | FormatKind::JsonSr => {
                self.sr_bytes_to_json(columns, bytes, is_key)
            }
        }
    }
}

/// Ignores records entirely (no columns: `KsqlVoidSerde`).
struct VoidDecoder;

impl RowDecoder for VoidDecoder {
    fn decode_row(&mut self, _: &[u8], _: &mut [ColumnBuilder]) -> Result<bool, String> {
        Ok(true)
    }
}

/// Runs a row decoder over a batch, rolling back and nulling failed rows.
fn run(
    columns: &[Column],
    inputs: &[Option<&[u8]>],
    decoder: &mut dyn RowDecoder,
    message: impl Fn(String) -> String,
) -> Decoded {
    let mut builders: Vec<ColumnBuilder> = columns
        .iter()
        .map(|c| ColumnBuilder::new(&c.ty, inputs.len()))
        .collect();
    let mut errors = Vec::new();
    let mut null_rows = Vec::new();
    for (row, input) in inputs.iter().enumerate() {
        let outcome = match input {
            None => Ok(false),
            Some(bytes) => decoder.decode_row(bytes, &mut builders),
        };
        let complete = builders.iter().all(|b| b.len() == row + 1);
        match outcome {
            Ok(true) if complete => continue,
            Ok(true) => {}
            Ok(false) => null_rows.push(row),
            Err(m) => errors.push((row, message(m))),
        }
        for b in &mut builders {
            b.truncate(row);
            b.append_null();
        }
    }
    Decoded {
        arrays: builders.into_iter().map(ColumnBuilder::finish).collect(),
        errors,
        null_rows,
    }
}

#[cfg(test)]
mod tests;
