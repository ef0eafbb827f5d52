//! PROTOBUF: `.proto` schemas compiled at run time (`protox`), records read and written as
//! dynamic messages (`prost-reflect`), with the mapping of Confluent's `ProtobufData` and
//! ksqlDB's `ProtobufSchemaTranslator`:
//!
//! * `int32`/`sint32`/`sfixed32` → INT; other integers → BIGINT; `float`/`double` → DOUBLE;
//!   enums → STRING; `repeated` → ARRAY; `map<string, V>` → MAP; messages → STRUCT;
//! * `google.protobuf.*Value` wrappers → their (nullable) primitive; `google.type.Date` → DATE,
//!   `google.type.TimeOfDay` → TIME, `google.protobuf.Timestamp` → TIMESTAMP,
//!   `confluent.type.Decimal` → DECIMAL (precision and scale from `confluent.field_meta`).
//!
//! proto3 scalars have no null: unset fields read as their defaults, and nulls are written as
//! unset fields. The record's message is the file's first, or the one named by
//! `*_SCHEMA_FULL_NAME`; Confluent's message indexes after the schema id say which.

mod data;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, Value as Pv};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use riffle_types::{Column, SqlType, StructField};
use serde_json::Value;

use crate::FormatError;

/// The name the registered schema is compiled under.
const MAIN_FILE: &str = "riffle_schema.proto";

/// Imports Confluent schemas use that `protox` does not ship.
const EXTRA_FILES: &[(&str, &str)] = &[
    (
        "confluent/meta.proto",
        "syntax = \"proto3\"; package confluent; import \"google/protobuf/descriptor.proto\";
         message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }
         extend google.protobuf.FileOptions { Meta file_meta = 1088; }
         extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
         extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
         extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
         extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }",
    ),
    (
        "confluent/type/decimal.proto",
        "syntax = \"proto3\"; package confluent.type;
         message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }",
    ),
    (
        "google/type/date.proto",
        "syntax = \"proto3\"; package google.type;
         message Date { int32 year = 1; int32 month = 2; int32 day = 3; }",
    ),
    (
        "google/type/timeofday.proto",
        "syntax = \"proto3\"; package google.type;
         message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }",
    ),
];

/// Serves the registered schema text and [`EXTRA_FILES`].
struct Sources {
    main: String,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == MAIN_FILE {
            return File::from_source(name, &self.main);
        }
        match EXTRA_FILES.iter().find(|(n, _)| *n == name) {
            Some((n, src)) => File::from_source(n, src),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A compiled `.proto` schema.
#[derive(Debug)]
pub(crate) struct ProtoSchema {
    text: String,
    pool: DescriptorPool,
}

impl ProtoSchema {
    /// Compiles `.proto` text (with the well-known and Confluent imports available). Schemas
    /// that use `confluent.field_meta` without importing its definition, as Confluent's lenient
    /// parser allows, get the import added.
    pub(crate) fn parse(text: &str) -> Result<ProtoSchema, FormatError> {
        match Self::compile(text) {
            Err(e) if text.contains("confluent.") && !text.contains("confluent/meta.proto") => {
                let patched = match text.find(';') {
                    Some(i) => format!(
                        "{} import \"confluent/meta.proto\";{}",
                        &text[..=i],
                        &text[i + 1..]
                    ),
                    None => return Err(e),
                };
                Self::compile(&patched)
                    .map(|s| ProtoSchema {
                        text: text.to_string(),
                        pool: s.pool,
                    })
                    .map_err(|_| e)
            }
            other => other,
        }
    }

    fn compile(text: &str) -> Result<ProtoSchema, FormatError> {
        let mut resolver = ChainFileResolver::new();
        resolver.add(Sources {
            main: text.to_string(),
        });
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        compiler
            .open_file(MAIN_FILE)
            .map_err(|e| FormatError::Schema(format!("Invalid Protobuf schema: {e}")))?;
        let pool = compiler.descriptor_pool();
        let schema = ProtoSchema {
            text: text.to_string(),
            pool,
        };
        if schema.messages().is_empty() {
            return Err(FormatError::Schema(
                "Invalid Protobuf schema: it defines no message".to_string(),
            ));
        }
        Ok(schema)
    }

    /// Whitespace-normalised text, which equal schemas share.
    pub(crate) fn canonical(&self) -> String {
        self.text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn messages(&self) -> Vec<MessageDescriptor> {
        self.pool
            .get_file_by_name(MAIN_FILE)
            .map(|f| f.messages().collect())
            .unwrap_or_default()
    }

    /// The record's message: the one named `full_name` (with or without the package), else
    /// the file's first.
    pub(crate) fn root(&self, full_name: Option<&str>) -> Result<MessageDescriptor, String> {
        let Some(name) = full_name else {
            return self
                .messages()
                .into_iter()
                .next()
                .ok_or_else(|| "the schema defines no message".to_string());
        };
        let package = self
            .pool
            .get_file_by_name(MAIN_FILE)
            .map(|f| f.package_name().to_string())
            .unwrap_or_default();
        self.pool
            .get_message_by_name(name)
            .or_else(|| self.pool.get_message_by_name(&format!("{package}.{name}")))
            .ok_or_else(|| format!("message {name} is not defined by the schema"))
    }

    /// Confluent's message indexes of `desc`: its position among the file's messages, then
    /// among each parent's nested messages.
    fn indexes(&self, desc: &MessageDescriptor) -> Vec<i32> {
        let mut path = Vec::new();
        let mut cur = desc.clone();
        loop {
            match cur.parent_message() {
                Some(parent) => {
                    let i = parent.child_messages().position(|m| m == cur).unwrap_or(0);
                    path.push(i as i32);
                    cur = parent;
                }
                None => {
                    let i = self.messages().iter().position(|m| *m == cur).unwrap_or(0);
                    path.push(i as i32);
                    break;
                }
            }
        }
        path.reverse();
        path
    }

    /// The message that `indexes` point to.
    fn by_indexes(&self, indexes: &[i32]) -> Result<MessageDescriptor, String> {
        let bad = || format!("Invalid message indexes: {indexes:?}");
        let mut cur = self
            .messages()
            .into_iter()
            .nth(*indexes.first().unwrap_or(&0) as usize)
            .ok_or_else(bad)?;
        for i in indexes.iter().skip(1) {
            let next = cur.child_messages().nth(*i as usize).ok_or_else(bad)?;
            cur = next;
        }
        Ok(cur)
    }

    /// The columns ksqlDB infers: one per field of the record's message.
    pub(crate) fn infer_columns(
        &self,
        full_name: Option<&str>,
        original: bool,
    ) -> Result<Vec<(String, SqlType)>, FormatError> {
        let root = self.root(full_name).map_err(FormatError::Schema)?;
        let upper = !original;
        let cols: Vec<(String, SqlType)> = root
            .fields()
            .filter_map(|f| {
                let ty = field_type(&f, upper).ok()?;
                let name = if upper {
                    f.name().to_uppercase()
                } else {
                    f.name().to_string()
                };
                Some((name, ty))
            })
            .collect();
        if cols.is_empty() {
            return Err(FormatError::Schema(format!(
                "Schema does not include any columns with types that ksqlDB supports.\nschema: {}",
                self.canonical()
            )));
        }
        Ok(cols)
    }

    /// Test-file JSON → a record (indexes and message) appended to `out`.
    pub(crate) fn write_spec(
        &self,
        value: &Value,
        full_name: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let root = self.root(full_name)?;
        let msg = data::json_to_message(&root, value)?;
        write_indexes(&self.indexes(&root), out);
        prost::Message::encode(&msg, out).map_err(|e| e.to_string())
    }

    /// A payload (indexes and message) → the JSON test files use.
    pub(crate) fn read_spec(&self, payload: &[u8]) -> Result<Value, String> {
        let (indexes, rest) = read_indexes(payload)?;
        let desc = self.by_indexes(&indexes)?;
        let msg = prost_reflect::DynamicMessage::decode(desc, rest)
            .map_err(|e| format!("Error deserializing Protobuf message: {e}"))?;
        Ok(data::message_to_json(&msg))
    }

    /// Rows of `columns` → records with schema id `id`.
    pub(crate) fn encode_rows(
        &self,
        id: u32,
        full_name: Option<&str>,
        columns: &[Column],
        arrays: &[datafusion::arrow::array::ArrayRef],
        num_rows: usize,
    ) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let root = self.root(full_name).map_err(FormatError::Serialization)?;
        let indexes = self.indexes(&root);
        let rows = crate::json::encode(columns, arrays, num_rows, false, false)?;
        let mut out = Vec::with_capacity(num_rows);
        for row in rows {
            let Some(json) = row else {
                out.push(None);
                continue;
            };
            let value: Value = serde_json::from_slice(&json)
                .map_err(|e| FormatError::Serialization(e.to_string()))?;
            let msg = data::json_to_message(&root, &value).map_err(FormatError::Serialization)?;
            let mut buf = super::header(id);
            write_indexes(&indexes, &mut buf);
            prost::Message::encode(&msg, &mut buf)
                .map_err(|e| FormatError::Serialization(e.to_string()))?;
            out.push(Some(buf));
        }
        Ok(out)
    }
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

/// Confluent's message indexes: `[0]` as a single 0, else the count and each index, all
/// zig-zag varints.
fn write_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    write_varint(zigzag(indexes.len() as i32), out);
    for i in indexes {
        write_varint(zigzag(*i), out);
    }
}

fn read_varint(buf: &mut &[u8]) -> Result<i32, String> {
    let mut v: u64 = 0;
    for shift in (0..35).step_by(7) {
        let (&b, rest) = buf
            .split_first()
            .ok_or("Error deserializing Protobuf message indexes")?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            let u = v as u32;
            return Ok(((u >> 1) as i32) ^ -((u & 1) as i32));
        }
    }
    Err("Error deserializing Protobuf message indexes".to_string())
}

fn read_indexes(payload: &[u8]) -> Result<(Vec<i32>, &[u8]), String> {
    let mut buf = payload;
    let n = read_varint(&mut buf)?;
    if n == 0 {
        return Ok((vec![0], buf));
    }
    if !(0..=100).contains(&n) {
        return Err("Error deserializing Protobuf message indexes".to_string());
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        out.push(read_varint(&mut buf)?);
    }
    Ok((out, buf))
}

/// `(precision, scale)` from a decimal field's `confluent.field_meta` params.
fn decimal_params(fd: &FieldDescriptor) -> (Option<i64>, Option<i64>) {
    let Some(ext) = fd
        .parent_pool()
        .get_extension_by_name("confluent.field_meta")
    else {
        return (None, None);
    };
    let options = fd.options();
    let meta = options.get_extension(&ext);
    let Some(Pv::Message(m)) = Some(meta.as_ref()) else {
        return (None, None);
    };
    let Some(params) = m.get_field_by_name("params") else {
        return (None, None);
    };
    let get = |k: &str| match params.as_ref() {
        Pv::Map(map) => map
            .get(&prost_reflect::MapKey::String(k.to_string()))
            .and_then(|v| v.as_str()?.parse().ok()),
        _ => None,
    };
    (get("precision"), get("scale"))
}

/// The SQL type of a field.
fn field_type(fd: &FieldDescriptor, upper: bool) -> Result<SqlType, String> {
    if fd.is_map() {
        let Kind::Message(entry) = fd.kind() else {
            return Err("map without entry".to_string());
        };
        let value = entry.map_entry_value_field();
        return Ok(SqlType::Map(
            Box::new(SqlType::String),
            Box::new(field_type(&value, upper)?),
        ));
    }
    let ty = kind_type(&fd.kind(), Some(fd), upper)?;
    Ok(if fd.is_list() {
        SqlType::Array(Box::new(ty))
    } else {
        ty
    })
}

fn kind_type(kind: &Kind, fd: Option<&FieldDescriptor>, upper: bool) -> Result<SqlType, String> {
    Ok(match kind {
        Kind::Double | Kind::Float => SqlType::Double,
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => SqlType::Int,
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint32 | Kind::Uint64 => {
            SqlType::Bigint
        }
        Kind::Fixed32 | Kind::Fixed64 => SqlType::Bigint,
        Kind::Bool => SqlType::Boolean,
        Kind::String | Kind::Enum(_) => SqlType::String,
        Kind::Bytes => SqlType::Bytes,
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp" => SqlType::Timestamp,
            "google.type.Date" => SqlType::Date,
            "google.type.TimeOfDay" => SqlType::Time,
            "confluent.type.Decimal" => {
                let (p, s) = fd.map(decimal_params).unwrap_or((None, None));
                let precision = p.unwrap_or(38).clamp(1, 38);
                SqlType::Decimal {
                    precision: precision as u8,
                    scale: s.unwrap_or(0).clamp(0, precision) as i8,
                }
            }
            name if data::wrapper_inner(name).is_some() => {
                let inner = m
                    .get_field_by_name("value")
                    .ok_or("wrapper without value")?;
                kind_type(&inner.kind(), None, upper)?
            }
            _ => SqlType::Struct(
                m.fields()
                    .filter_map(|f| {
                        let ty = field_type(&f, upper).ok()?;
                        let name = if upper {
                            f.name().to_uppercase()
                        } else {
                            f.name().to_string()
                        };
                        Some(StructField { name, ty })
                    })
                    .collect(),
            ),
        },
    })
}

/// The `.proto` schema ksqlDB registers for `columns`: one message (`ConnectDefault1`, or
/// the given full name) with a field per column, nested messages for structs.
pub(crate) fn schema_for_columns(
    columns: &[Column],
    full_name: Option<&str>,
    _is_key: bool,
) -> Result<String, FormatError> {
    let (package, name) = match full_name.and_then(|n| n.rsplit_once('.')) {
        Some((p, n)) => (Some(p), n.to_string()),
        None => (None, full_name.unwrap_or("ConnectDefault1").to_string()),
    };
    let mut gen = Generator {
        counter: 1,
        imports: Vec::new(),
    };
    let fields: Vec<(&str, &SqlType)> = columns.iter().map(|c| (c.name.as_str(), &c.ty)).collect();
    let body = gen.message(&name, &fields)?;
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(p) = package {
        out.push_str(&format!("package {p};\n"));
    }
    for i in &gen.imports {
        out.push_str(&format!("import \"{i}\";\n"));
    }
    out.push_str(&body);
    Ok(out)
}

struct Generator {
    counter: usize,
    imports: Vec<&'static str>,
}

impl Generator {
    fn import(&mut self, file: &'static str) {
        if !self.imports.contains(&file) {
            self.imports.push(file);
        }
    }

    fn message(&mut self, name: &str, fields: &[(&str, &SqlType)]) -> Result<String, FormatError> {
        let mut body = String::new();
        let mut nested = String::new();
        for (i, (fname, ty)) in fields.iter().enumerate() {
            if !fname
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                || !fname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(FormatError::Schema(format!(
                    "Schema is not compatible with Protobuf: invalid field name {fname}"
                )));
            }
            let (decl, options) = match ty {
                SqlType::Array(item) => (
                    format!("repeated {}", self.scalar(item, &mut nested)?),
                    String::new(),
                ),
                SqlType::Map(_, v) => (
                    format!("map<string, {}>", self.scalar(v, &mut nested)?),
                    String::new(),
                ),
                SqlType::Decimal { precision, scale } => {
                    self.import("confluent/meta.proto");
                    (
                        self.scalar(ty, &mut nested)?,
                        format!(
                            " [(confluent.field_meta) = {{ params: [{{ key: \"precision\", value: \"{precision}\" }}, {{ key: \"scale\", value: \"{scale}\" }}] }}]"
                        ),
                    )
                }
                _ => (self.scalar(ty, &mut nested)?, String::new()),
            };
            body.push_str(&format!("  {decl} {fname} = {}{options};\n", i + 1));
        }
        Ok(format!("message {name} {{\n{body}{nested}}}\n"))
    }

    /// A type usable as a field, list item or map value; nested arrays and maps are not.
    fn scalar(&mut self, ty: &SqlType, nested: &mut String) -> Result<String, FormatError> {
        Ok(match ty {
            SqlType::Boolean => "bool".into(),
            SqlType::Int => "int32".into(),
            SqlType::Bigint => "int64".into(),
            SqlType::Double => "double".into(),
            SqlType::String => "string".into(),
            SqlType::Bytes => "bytes".into(),
            SqlType::Decimal { .. } => {
                self.import("confluent/type/decimal.proto");
                "confluent.type.Decimal".into()
            }
            SqlType::Date => {
                self.import("google/type/date.proto");
                "google.type.Date".into()
            }
            SqlType::Time => {
                self.import("google/type/timeofday.proto");
                "google.type.TimeOfDay".into()
            }
            SqlType::Timestamp => {
                self.import("google/protobuf/timestamp.proto");
                "google.protobuf.Timestamp".into()
            }
            SqlType::Struct(fields) => {
                self.counter += 1;
                let name = format!("ConnectDefault{}", self.counter);
                let fs: Vec<(&str, &SqlType)> =
                    fields.iter().map(|f| (f.name.as_str(), &f.ty)).collect();
                nested.push_str(&self.message(&name, &fs)?);
                name
            }
            SqlType::Array(_) | SqlType::Map(_, _) => {
                return Err(FormatError::Schema(
                    "PROTOBUF does not support nested ARRAY or MAP types".to_string(),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests;
