//! The Schema Registry formats: AVRO, JSON_SR and PROTOBUF.
//!
//! Records use Confluent's wire format: a zero magic byte, the writer schema's id as a 4-byte
//! big-endian integer, then the payload (Protobuf adds message indexes first). Decoders look the
//! writer schema up by that id; encoders write with the schema ksqlDB generates from the columns
//! (registered under the subject on first use), or with the schema pinned by
//! `KEY_SCHEMA_ID`/`VALUE_SCHEMA_ID`.

pub(crate) mod avro_data;
pub(crate) mod avro_schema;
pub(crate) mod json_sr;
pub(crate) mod protobuf;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::Schema;
use apache_avro::writer::datum::GenericDatumWriter;
use datafusion::arrow::array::{Array, ArrayRef};
use riffle_types::{Column, ColumnKind};
use serde_json::Value;

use crate::builder::ColumnBuilder;
use crate::json::JsonDecoder;
use crate::registry::{Parsed, RegisteredSchema, SchemaRegistry, SchemaType};
use crate::{Format, FormatError, FormatKind, RowDecoder};

use avro_schema::AvroSchema;

/// The registry and subject a Schema Registry format reads and writes schemas with.
#[derive(Clone)]
pub struct RegistryBinding {
    /// The registry.
    pub registry: Arc<SchemaRegistry>,
    /// The subject, `<topic>-key` or `<topic>-value`.
    pub subject: String,
}

impl fmt::Debug for RegistryBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBinding")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl PartialEq for RegistryBinding {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.registry, &other.registry) && self.subject == other.subject
    }
}

/// The five bytes before every payload: magic byte 0 and the schema id.
pub(crate) fn header(id: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.push(0);
    v.extend_from_slice(&id.to_be_bytes());
    v
}

/// Splits a record into its schema id and payload.
pub(crate) fn split_header(bytes: &[u8]) -> Result<(u32, &[u8]), String> {
    match bytes {
        [0, a, b, c, d, rest @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), rest)),
        [] | [0, ..] => Err("Error deserializing: record is shorter than its header".to_string()),
        _ => Err("Unknown magic byte!".to_string()),
    }
}

/// A JSON value shortened for error messages.
pub(crate) fn clip_json(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 80 {
        return s;
    }
    let mut end = 80;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The full name ksqlDB gives the Avro key record of a source:
/// `io.confluent.ksql.avro_schemas.<Source>Key` (`MY_SOURCE` → `MySourceKey`).
pub fn key_schema_full_name(source: &str) -> String {
    avro_schema::key_schema_name(source)
}

fn schema_type(kind: FormatKind) -> SchemaType {
    match kind {
        FormatKind::Protobuf => SchemaType::Protobuf,
        FormatKind::JsonSr => SchemaType::Json,
        _ => SchemaType::Avro,
    }
}

impl Format {
    /// Whether this is AVRO, PROTOBUF or JSON_SR, whose schemas live in a schema registry.
    pub fn is_schema_registry(&self) -> bool {
        matches!(
            self.kind,
            FormatKind::Avro | FormatKind::Protobuf | FormatKind::JsonSr
        )
    }

    fn binding(&self) -> Result<&RegistryBinding, FormatError> {
        self.registry.as_ref().ok_or_else(|| {
            FormatError::Unsupported(format!(
                "{} needs a schema registry, and none is configured for this topic",
                self.name()
            ))
        })
    }

    /// The schema ksqlDB would register for `columns` (JSON text for AVRO and JSON_SR, `.proto`
    /// text for PROTOBUF).
    pub fn physical_schema(&self, columns: &[Column], is_key: bool) -> Result<String, FormatError> {
        let unwrapped = self.is_unwrapped(columns, is_key);
        match self.kind {
            FormatKind::Avro => {
                let name = self
                    .schema_full_name
                    .as_deref()
                    .unwrap_or(avro_schema::DEFAULT_VALUE_NAME);
                Ok(avro_schema::schema_for_columns(columns, unwrapped, name)?.to_string())
            }
            FormatKind::JsonSr => Ok(json_sr::schema_for_columns(columns, unwrapped).to_string()),
            FormatKind::Protobuf => {
                protobuf::schema_for_columns(columns, self.schema_full_name.as_deref(), is_key)
            }
            _ => Err(FormatError::Unsupported(format!(
                "{} has no schema",
                self.name()
            ))),
        }
    }

    /// The schema records are written with: the one pinned by the schema id, else the schema
    /// generated from `columns`, registered under the subject if it is not there yet.
    pub fn register_schema(&self, columns: &[Column], is_key: bool) -> Result<u32, FormatError> {
        self.writer_schema(columns, is_key).map(|s| s.id)
    }

    fn writer_schema(
        &self,
        columns: &[Column],
        is_key: bool,
    ) -> Result<Arc<RegisteredSchema>, FormatError> {
        let b = self.binding()?;
        if let Some(id) = self.schema_id {
            return b
                .registry
                .schema_by_id(id)
                .ok_or_else(|| FormatError::Schema(format!("Schema with id {id} does not exist")));
        }
        let text = self.physical_schema(columns, is_key)?;
        let id = b
            .registry
            .register(&b.subject, schema_type(self.kind), &text)?;
        b.registry
            .schema_by_id(id)
            .ok_or_else(|| FormatError::Schema(format!("Schema with id {id} does not exist")))
    }

    /// The schema a record of the subject is produced with by test tools: the subject's newest
    /// version, else (registering it) the one generated from `columns`.
    fn latest_schema(
        &self,
        columns: &[Column],
        is_key: bool,
    ) -> Result<Arc<RegisteredSchema>, FormatError> {
        let b = self.binding()?;
        match b.registry.latest(&b.subject) {
            Some(s) => Ok(s),
            None => self.writer_schema(columns, is_key),
        }
    }

    /// The columns ksqlDB infers from the subject's schema (the version `schema_id` pins, else
    /// the newest): field names are kept when a schema id is given and upper-cased otherwise;
    /// unwrapped schemas give one `ROWKEY`/`ROWVAL` column. Columns are keys when `is_key`.
    pub fn infer_columns(&self, is_key: bool) -> Result<Vec<Column>, FormatError> {
        let b = self.binding()?;
        let schema = match self.schema_id {
            Some(id) => b.registry.schema_by_id(id),
            None => b.registry.latest(&b.subject),
        }
        .ok_or_else(|| {
            let topic = b
                .subject
                .strip_suffix(if is_key { "-key" } else { "-value" })
                .unwrap_or(&b.subject);
            FormatError::Schema(match self.schema_id {
                Some(id) => format!("Schema with id {id} does not exist in the Schema Registry."),
                None => format!(
                    "Schema for message {} on topic '{topic}' does not exist in the Schema \
                     Registry.\nSubject: {}",
                    if is_key { "keys" } else { "values" },
                    b.subject
                ),
            })
        })?;
        let expected = schema_type(self.kind);
        if schema.schema_type != expected {
            return Err(FormatError::Schema(format!(
                "{} format does not support schema.\nformat: {}\nschema: {}\nreason: Expected \
                 schema type {} but got {}",
                if is_key { "Key" } else { "Value" },
                self.name(),
                schema.text,
                expected.name(),
                schema.schema_type.name()
            )));
        }
        let original = self.schema_id.is_some();
        let unwrap = match self.kind {
            FormatKind::Protobuf => false,
            _ => is_key || self.wrap_single_value == Some(false),
        };
        let cols = match &schema.parsed {
            Parsed::Avro(a) => avro_schema::infer_columns(a, is_key, unwrap, original)?,
            Parsed::Json(j) => json_sr::infer_columns(j, is_key, unwrap, original)?,
            Parsed::Protobuf(p) => p.infer_columns(self.schema_full_name.as_deref(), original)?,
        };
        let kind = if is_key {
            ColumnKind::Key
        } else {
            ColumnKind::Value
        };
        Ok(cols
            .into_iter()
            .map(|(name, ty)| Column {
                name,
                ty,
                kind: kind.clone(),
            })
            .collect())
    }

    /// `json_to_bytes` for the Schema Registry formats.
    pub(crate) fn sr_json_to_bytes(
        &self,
        columns: &[Column],
        value: &Value,
        is_key: bool,
    ) -> Result<Option<Vec<u8>>, FormatError> {
        let schema = self.latest_schema(columns, is_key)?;
        let mut out = header(schema.id);
        let ser = |e: String| FormatError::Serialization(e);
        match &schema.parsed {
            Parsed::Avro(a) => {
                let v = avro_data::from_spec(a, &a.root, value).map_err(ser)?;
                write_avro(a, &v, &mut out).map_err(ser)?;
            }
            Parsed::Json(_) => {
                serde_json::to_writer(&mut out, value).map_err(|e| ser(e.to_string()))?
            }
            Parsed::Protobuf(p) => p
                .write_spec(value, self.schema_full_name.as_deref(), &mut out)
                .map_err(ser)?,
        }
        Ok(Some(out))
    }

    /// `bytes_to_json` for the Schema Registry formats.
    pub(crate) fn sr_bytes_to_json(
        &self,
        columns: &[Column],
        bytes: Option<&[u8]>,
        is_key: bool,
    ) -> Result<Value, FormatError> {
        let Some(bytes) = bytes else {
            return Ok(Value::Null);
        };
        let unwrapped = self.is_unwrapped(columns, is_key);
        let de = FormatError::Deserialization;
        let (id, payload) = split_header(bytes).map_err(de)?;
        if self.kind == FormatKind::JsonSr {
            return json_sr::to_spec(columns, payload, unwrapped).map_err(de);
        }
        let schema = lookup(self.binding()?.registry.as_ref(), id).map_err(de)?;
        match &schema.parsed {
            Parsed::Avro(a) => {
                let v = read_avro(a, payload).map_err(de)?;
                Ok(avro_data::to_spec(a, &a.root, &v))
            }
            Parsed::Json(_) => json_sr::to_spec(columns, payload, unwrapped).map_err(de),
            Parsed::Protobuf(p) => p.read_spec(payload).map_err(de),
        }
    }

    /// `encode` for the Schema Registry formats.
    pub(crate) fn sr_encode(
        &self,
        columns: &[Column],
        arrays: &[ArrayRef],
        num_rows: usize,
        is_key: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        if columns.is_empty() {
            return Ok(vec![None; num_rows]);
        }
        let unwrapped = self.is_unwrapped(columns, is_key);
        if self.kind == FormatKind::JsonSr {
            let id = self.writer_schema(columns, is_key)?.id;
            let plain = crate::json::encode(columns, arrays, num_rows, unwrapped, is_key)?;
            return Ok(plain
                .into_iter()
                .map(|r| {
                    r.map(|b| {
                        let mut out = header(id);
                        out.extend_from_slice(&b);
                        out
                    })
                })
                .collect());
        }
        let schema = self.writer_schema(columns, is_key)?;
        if let Parsed::Protobuf(p) = &schema.parsed {
            let name = self.schema_full_name.as_deref();
            return p.encode_rows(schema.id, name, columns, arrays, num_rows);
        }
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let arrays: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        let ser = FormatError::Serialization;
        match &schema.parsed {
            Parsed::Avro(a) => {
                let writer = GenericDatumWriter::builder(&a.root)
                    .build()
                    .map_err(|e| ser(e.to_string()))?;
                let root = a.resolve(&a.root);
                let mut out = Vec::with_capacity(num_rows);
                for row in 0..num_rows {
                    if unwrapped && arrays[0].is_null(row) {
                        out.push(None);
                        continue;
                    }
                    let value = match root {
                        _ if unwrapped => avro_data::from_arrow(a, &a.root, arrays[0], row),
                        Schema::Record(r) => {
                            avro_data::record_from_columns(a, r, &names, &arrays, row)
                        }
                        _ => Err(format!(
                            "The schema of id {} is not a record, but the value has {} columns",
                            schema.id,
                            columns.len()
                        )),
                    }
                    .map_err(ser)?;
                    let mut buf = header(schema.id);
                    writer
                        .write_value_ref(&mut buf, &value)
                        .map_err(|e| ser(format!("Error serializing Avro message: {e}")))?;
                    out.push(Some(buf));
                }
                Ok(out)
            }
            Parsed::Protobuf(_) | Parsed::Json(_) => Err(ser(format!(
                "Schema {} is a JSON schema, not {}",
                schema.id,
                self.name()
            ))),
        }
    }

    /// The decoder of the Schema Registry formats.
    pub(crate) fn sr_decoder<'a>(&'a self, columns: &'a [Column], is_key: bool) -> SrDecoder<'a> {
        SrDecoder {
            format: self,
            json: JsonDecoder::new(columns, self.is_unwrapped(columns, is_key)),
            cache: HashMap::new(),
        }
    }
}

fn lookup(registry: &SchemaRegistry, id: u32) -> Result<Arc<RegisteredSchema>, String> {
    registry
        .schema_by_id(id)
        .ok_or_else(|| format!("Schema not found; error code: 40403 (schema id {id})"))
}

/// Reads one Avro datum written with `schema`; the whole payload must be consumed.
pub(crate) fn read_avro(
    schema: &AvroSchema,
    payload: &[u8],
) -> Result<apache_avro::types::Value, String> {
    let reader = GenericDatumReader::builder(&schema.root)
        .build()
        .map_err(|e| format!("Error deserializing Avro message: {e}"))?;
    let mut cursor = payload;
    reader
        .read_value(&mut cursor)
        .map_err(|e| format!("Error deserializing Avro message: {e}"))
}

fn write_avro(
    schema: &AvroSchema,
    value: &apache_avro::types::Value,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    GenericDatumWriter::builder(&schema.root)
        .build()
        .and_then(|w| w.write_value_ref(out, value))
        .map(|_| ())
        .map_err(|e| format!("Error serializing Avro message: {e}"))
}

/// Decodes records of a Schema Registry format: header, writer schema by id, payload to JSON,
/// then the JSON format's coercions into the columns.
pub(crate) struct SrDecoder<'a> {
    format: &'a Format,
    json: JsonDecoder<'a>,
    cache: HashMap<u32, Arc<RegisteredSchema>>,
}

impl SrDecoder<'_> {
    fn schema(&mut self, id: u32) -> Result<Arc<RegisteredSchema>, String> {
        if let Some(s) = self.cache.get(&id) {
            return Ok(s.clone());
        }
        let b = self.format.binding().map_err(|e| e.to_string())?;
        let s = lookup(&b.registry, id)?;
        self.cache.insert(id, s.clone());
        Ok(s)
    }
}

impl RowDecoder for SrDecoder<'_> {
    fn decode_row(&mut self, bytes: &[u8], builders: &mut [ColumnBuilder]) -> Result<bool, String> {
        let (id, payload) = split_header(bytes)?;
        if self.format.kind == FormatKind::JsonSr {
            return self.json.decode_row(payload, builders);
        }
        let schema = self.schema(id)?;
        let value = match &schema.parsed {
            Parsed::Avro(a) => {
                let v = read_avro(a, payload)?;
                avro_data::to_spec(a, &a.root, &v)
            }
            Parsed::Protobuf(p) => p.read_spec(payload)?,
            Parsed::Json(_) => return self.json.decode_row(payload, builders),
        };
        self.json.decode_value(&value, builders)
    }
}

#[cfg(test)]
mod tests;
