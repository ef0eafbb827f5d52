//! Registering a case's schemas before its statements run, as ksqlDB's test runner does: the
//! `keySchema`/`valueSchema` of its `topics`, plus, for topics only named by a `CREATE
//! STREAM|TABLE` with columns and a Schema Registry value format, the value schema of those
//! columns. Topics are registered in the iteration order of the Java `HashMap` that ksqlDB's
//! runner collects them in, keys before values, so that schema ids (which test cases pin with
//! `KEY_SCHEMA_ID`/`VALUE_SCHEMA_ID`) come out the same.

use riffle_engine::Engine;
use riffle_format::{subject_name, Format, SchemaType};
use riffle_sql::{PropertyValue, Statement};
use riffle_types::ColumnKind;
use serde_json::Value;

use crate::harness::{fail, Verdict};
use crate::model::{TestCase, TopicSpec};

/// A schema to register: its type, text and pinned id.
struct Pending {
    kind: SchemaType,
    text: String,
    id: Option<u32>,
}

/// A topic with the schemas to register for it.
struct TopicSchemas {
    name: String,
    /// Derived from a statement: a schema that does not register is left out, as ksqlDB's
    /// runner ignores statements it cannot turn into topics.
    derived: bool,
    key: Option<Pending>,
    value: Option<Pending>,
}

/// Registers every schema of `case` in the engine's registry.
pub fn register_topic_schemas(engine: &Engine, case: &TestCase) -> Result<(), Verdict> {
    let mut topics: Vec<TopicSchemas> = Vec::new();
    for t in &case.topics {
        let entry = from_topic(t)?;
        match topics.iter_mut().find(|x| x.name == t.name) {
            Some(existing) => *existing = entry,
            None => topics.push(entry),
        }
    }
    for stmt in &case.statements {
        if let Some(entry) = from_statement(stmt) {
            if !topics.iter().any(|x| x.name == entry.name) {
                topics.push(entry);
            }
        }
    }
    let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    let registry = engine.schema_registry();
    for i in java_hash_map_order(&names) {
        let t = &topics[i];
        for (pending, is_key) in [(&t.key, true), (&t.value, false)] {
            let Some(p) = pending else { continue };
            let subject = subject_name(&t.name, is_key);
            let registered = match p.id {
                Some(id) => registry.register_with_id(&subject, p.kind, &p.text, id),
                None => registry.register(&subject, p.kind, &p.text),
            };
            if registered.is_err() && t.derived {
                continue;
            }
            registered.or_else(|e| {
                fail(format!(
                    "topic '{}': cannot register the {} schema: {e}",
                    t.name,
                    if is_key { "key" } else { "value" }
                ))
            })?;
        }
    }
    Ok(())
}

fn from_topic(t: &TopicSpec) -> Result<TopicSchemas, Verdict> {
    let pending = |schema: &Option<Value>, format: &Option<String>, id: &Option<Value>| {
        let Some(schema) = schema.as_ref().filter(|s| !s.is_null()) else {
            return Ok(None);
        };
        let kind = match format.as_deref() {
            None => SchemaType::Avro,
            Some(f) => SchemaType::from_name(f).ok_or_else(|| {
                Verdict::Failed(format!(
                    "topic '{}': a schema cannot be registered for format {f}",
                    t.name
                ))
            })?,
        };
        // Protobuf schemas are `.proto` text; the others are JSON documents.
        let text = match (kind, schema) {
            (SchemaType::Protobuf, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        let id = id
            .as_ref()
            .and_then(|v| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .and_then(|id| u32::try_from(id).ok());
        Ok(Some(Pending { kind, text, id }))
    };
    Ok(TopicSchemas {
        name: t.name.clone(),
        derived: false,
        key: pending(&t.key_schema, &t.key_format, &t.key_schema_id)?,
        value: pending(&t.value_schema, &t.value_format, &t.value_schema_id)?,
    })
}

/// The topic of a `CREATE STREAM|TABLE` and the value schema of its columns, when its value
/// format uses the schema registry (`TestCaseBuilderUtil.createTopicFromStatement`).
fn from_statement(sql: &str) -> Option<TopicSchemas> {
    let parsed = riffle_sql::parse_statements(sql).ok()?;
    let [one] = parsed.as_slice() else {
        return None;
    };
    let Statement::CreateSource(c) = &one.statement else {
        return None;
    };
    let text = |name: &str| match c.properties.get(name)? {
        PropertyValue::String(s) | PropertyValue::Number(s) => Some(s.clone()),
        PropertyValue::Boolean(b) => Some(b.to_string()),
    };
    let topic = text("KAFKA_TOPIC")?;
    let mut format = Format::from_name(&text("VALUE_FORMAT").or_else(|| text("FORMAT"))?).ok()?;
    if !format.is_schema_registry() {
        return None;
    }
    format.schema_full_name =
        text("VALUE_AVRO_SCHEMA_FULL_NAME").or_else(|| text("VALUE_SCHEMA_FULL_NAME"));
    let columns = c
        .columns
        .iter()
        .filter(|d| d.kind == ColumnKind::Value)
        .map(|d| d.to_column())
        .collect::<Option<Vec<_>>>()?;
    if columns.is_empty() {
        return None;
    }
    let schema = format.physical_schema(&columns, false).ok()?;
    let kind = SchemaType::from_name(format.name())?;
    Some(TopicSchemas {
        name: topic,
        derived: true,
        key: None,
        value: Some(Pending {
            kind,
            text: schema,
            id: None,
        }),
    })
}

/// `String.hashCode()`.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Indices of `keys` in the order a `java.util.HashMap` filled with them (in this order, all
/// distinct) iterates: by bucket of the final table, then by insertion.
fn java_hash_map_order(keys: &[&str]) -> Vec<usize> {
    let mut capacity: usize = 16;
    while keys.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = java_string_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (bucket(keys[i]), i));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hashes() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("input"), 100358090);
        assert_eq!(java_string_hash("OUTPUT"), -1952183039);
    }

    #[test]
    fn hash_map_order_puts_lower_buckets_first() {
        // "input" lands in bucket 1 of 16 and "OUTPUT" in bucket 5
        assert_eq!(java_hash_map_order(&["input", "OUTPUT"]), vec![0, 1]);
        assert_eq!(java_hash_map_order(&["OUTPUT", "input"]), vec![1, 0]);
    }

    #[test]
    fn statements_name_topics_with_schemas() {
        let t = from_statement(
            "CREATE STREAM S (K INT KEY, V STRING) WITH (kafka_topic='s', value_format='AVRO');",
        )
        .unwrap();
        assert_eq!(t.name, "s");
        assert!(t.value.unwrap().text.contains("KsqlDataSourceSchema"));
        assert!(from_statement(
            "CREATE STREAM S (V STRING) WITH (kafka_topic='s', value_format='JSON');"
        )
        .is_none());
        assert!(
            from_statement("CREATE STREAM S WITH (kafka_topic='s', value_format='AVRO');")
                .is_none()
        );
    }
}
