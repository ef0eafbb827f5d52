//! An in-memory schema registry in the manner of Confluent Schema Registry.
//!
//! Subjects (`<topic>-value`, `<topic>-key`) hold versions of schemas; every distinct schema has
//! a global id, shared by all subjects that register it, as the Confluent registry assigns them.
//! Schemas are parsed (and so validated) when registered, and the parsed form is kept, so
//! serializers look schemas up by id without parsing them again.
//!
//! The registry is thread-safe and meant to be shared behind an [`Arc`](std::sync::Arc): the
//! engine owns one, and every Schema Registry [`Format`](crate::Format) refers to it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::sr::avro_schema::AvroSchema;
use crate::sr::protobuf::ProtoSchema;
use crate::FormatError;

/// The kind of a registered schema, as Schema Registry names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// An Avro schema (JSON text).
    Avro,
    /// A JSON Schema document.
    Json,
    /// A Protobuf `.proto` file.
    Protobuf,
}

impl SchemaType {
    /// `AVRO`, `JSON` or `PROTOBUF`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }

    /// Parses `AVRO`, `JSON` (or `JSON_SR`) and `PROTOBUF` case-insensitively.
    pub fn from_name(name: &str) -> Option<SchemaType> {
        match name.trim().to_ascii_uppercase().as_str() {
            "AVRO" => Some(SchemaType::Avro),
            "JSON" | "JSON_SR" => Some(SchemaType::Json),
            "PROTOBUF" | "PROTOBUF_NOSR" => Some(SchemaType::Protobuf),
            _ => None,
        }
    }
}

/// A schema's parsed form.
#[derive(Debug)]
pub(crate) enum Parsed {
    Avro(AvroSchema),
    Json(serde_json::Value),
    Protobuf(ProtoSchema),
}

/// One registered schema.
#[derive(Debug)]
pub struct RegisteredSchema {
    /// The global id, as written after the magic byte of each record.
    pub id: u32,
    /// The kind of schema.
    pub schema_type: SchemaType,
    /// The schema text as registered.
    pub text: String,
    /// Canonical text, used to find an already registered equal schema.
    canonical: String,
    pub(crate) parsed: Parsed,
}

impl RegisteredSchema {
    /// Parses `text` as a schema of `schema_type` (without registering it).
    pub(crate) fn parse(id: u32, schema_type: SchemaType, text: &str) -> Result<Self, FormatError> {
        let (parsed, canonical) = match schema_type {
            SchemaType::Avro => {
                let s = AvroSchema::parse(text)?;
                let canonical = s.canonical();
                (Parsed::Avro(s), canonical)
            }
            SchemaType::Json => {
                let v: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| FormatError::Schema(format!("Invalid JSON schema: {e}")))?;
                let canonical = v.to_string();
                (Parsed::Json(v), canonical)
            }
            SchemaType::Protobuf => {
                let s = ProtoSchema::parse(text)?;
                let canonical = s.canonical();
                (Parsed::Protobuf(s), canonical)
            }
        };
        Ok(RegisteredSchema {
            id,
            schema_type,
            text: text.to_string(),
            canonical,
            parsed,
        })
    }
}

#[derive(Debug, Default)]
struct State {
    schemas: BTreeMap<u32, Arc<RegisteredSchema>>,
    /// Versions of each subject, oldest first, as schema ids.
    subjects: BTreeMap<String, Vec<u32>>,
}

impl State {
    fn next_id(&self) -> u32 {
        self.schemas.keys().next_back().map_or(1, |id| id + 1)
    }
}

/// An in-memory schema registry (see the module docs).
#[derive(Debug, Default)]
pub struct SchemaRegistry {
    state: RwLock<State>,
}

/// The subject of a topic's keys or values: `<topic>-key` / `<topic>-value`.
pub fn subject_name(topic: &str, is_key: bool) -> String {
    format!("{topic}-{}", if is_key { "key" } else { "value" })
}

impl SchemaRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `text` under `subject` and returns its id. An equal schema already in the
    /// subject keeps its id and version; one registered under another subject keeps its id and
    /// becomes a new version here; anything else gets the next free id. Invalid schemas are
    /// rejected.
    pub fn register(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
    ) -> Result<u32, FormatError> {
        let candidate = RegisteredSchema::parse(0, schema_type, text)?;
        self.insert(subject, candidate, None)
    }

    /// Registers `text` under `subject` with a given id (as test files pin `valueSchemaId`).
    /// Fails when the id is taken by a different schema.
    pub fn register_with_id(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        id: u32,
    ) -> Result<u32, FormatError> {
        let candidate = RegisteredSchema::parse(id, schema_type, text)?;
        self.insert(subject, candidate, Some(id))
    }

    fn insert(
        &self,
        subject: &str,
        mut candidate: RegisteredSchema,
        id: Option<u32>,
    ) -> Result<u32, FormatError> {
        let mut state = self.write();
        let same = |s: &RegisteredSchema| {
            s.schema_type == candidate.schema_type && s.canonical == candidate.canonical
        };
        if let Some(versions) = state.subjects.get(subject) {
            for v in versions {
                if id.is_none_or(|id| id == *v) && state.schemas.get(v).is_some_and(|s| same(s)) {
                    return Ok(*v);
                }
            }
        }
        let existing = match id {
            Some(id) => match state.schemas.get(&id) {
                Some(s) if same(s) => Some(id),
                Some(_) => {
                    return Err(FormatError::Schema(format!(
                        "Schema id {id} is already registered with a different schema"
                    )))
                }
                None => None,
            },
            None => state.schemas.values().find(|s| same(s)).map(|s| s.id),
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let id = id.unwrap_or_else(|| state.next_id());
                candidate.id = id;
                state.schemas.insert(id, Arc::new(candidate));
                id
            }
        };
        state
            .subjects
            .entry(subject.to_string())
            .or_default()
            .push(id);
        Ok(id)
    }

    /// The schema with a global id.
    pub fn schema_by_id(&self, id: u32) -> Option<Arc<RegisteredSchema>> {
        self.read().schemas.get(&id).cloned()
    }

    /// The newest version of a subject.
    pub fn latest(&self, subject: &str) -> Option<Arc<RegisteredSchema>> {
        let state = self.read();
        let id = state.subjects.get(subject)?.last()?;
        state.schemas.get(id).cloned()
    }

    /// Whether the subject has any version.
    pub fn subject_exists(&self, subject: &str) -> bool {
        self.read()
            .subjects
            .get(subject)
            .is_some_and(|v| !v.is_empty())
    }

    /// Whether `id` is one of the subject's versions.
    pub fn subject_has_id(&self, subject: &str, id: u32) -> bool {
        self.read()
            .subjects
            .get(subject)
            .is_some_and(|v| v.contains(&id))
    }

    /// Every subject, sorted.
    pub fn subjects(&self) -> Vec<String> {
        self.read().subjects.keys().cloned().collect()
    }

    /// The schema ids of a subject's versions, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        self.read()
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// Deletes a subject (its schemas stay readable by id, as in Schema Registry).
    pub fn delete_subject(&self, subject: &str) -> bool {
        self.write().subjects.remove(subject).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigns_ids_and_versions() {
        let r = SchemaRegistry::new();
        let a = r.register("t-key", SchemaType::Avro, r#""int""#).unwrap();
        let b = r
            .register("t-value", SchemaType::Avro, r#"{"type": "string"}"#)
            .unwrap();
        assert_eq!((a, b), (1, 2));
        // the same schema again, in another spelling: same id, no new version
        assert_eq!(
            r.register("t-key", SchemaType::Avro, r#"{"type":"int"}"#)
                .unwrap(),
            1
        );
        assert_eq!(r.versions("t-key"), vec![1]);
        // the same schema under another subject keeps its id
        assert_eq!(
            r.register("u-value", SchemaType::Avro, r#""int""#).unwrap(),
            1
        );
        assert_eq!(r.latest("t-value").unwrap().id, 2);
        assert!(r.subject_exists("u-value"));
        assert!(!r.subject_exists("v-value"));
        assert_eq!(r.schema_by_id(2).unwrap().schema_type, SchemaType::Avro);
    }

    #[test]
    fn pinned_ids_and_bad_schemas() {
        let r = SchemaRegistry::new();
        assert_eq!(
            r.register_with_id("t-value", SchemaType::Avro, r#""long""#, 102)
                .unwrap(),
            102
        );
        assert_eq!(
            r.register("x-value", SchemaType::Avro, r#""int""#).unwrap(),
            103
        );
        assert!(r
            .register_with_id("y-value", SchemaType::Avro, r#""int""#, 102)
            .is_err());
        assert!(r.register("t-value", SchemaType::Avro, "{nope").is_err());
        assert!(r.register("t-value", SchemaType::Json, "{nope").is_err());
        assert!(r.delete_subject("t-value"));
        assert!(r.schema_by_id(102).is_some());
        assert_eq!(subject_name("t", true), "t-key");
    }
}
