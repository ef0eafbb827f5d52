//! Schema Registry support of DDL statements: binding AVRO / PROTOBUF / JSON_SR formats to the
//! engine's registry, inferring the columns a `CREATE` leaves out from registered schemas
//! (`DefaultSchemaInjector`), and registering the schemas of new sources and sinks
//! (`SchemaRegisterInjector`).

use riffle_format::{key_schema_full_name, subject_name, Format, FormatKind, RegistryBinding};
use riffle_types::{Column, ColumnKind, LogicalSchema};

use crate::with_clause::With;
use crate::{Engine, EngineError, Result};

/// Which statement the formats belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Statement {
    /// `CREATE STREAM|TABLE`, whose columns may be left out for inference.
    CreateSource {
        /// The statement lists key columns.
        has_key_columns: bool,
        /// The statement lists value columns.
        has_value_columns: bool,
    },
    /// `CREATE … AS SELECT`.
    CreateAs,
}

fn schema_id(with: &With, property: &str) -> Result<Option<u32>> {
    match with.get(property) {
        None => Ok(None),
        Some(v) => v.trim().parse::<u32>().map(Some).map_err(|_| {
            EngineError::statement(format!(
                "Invalid value {v} for property {property}: must be a schema id"
            ))
        }),
    }
}

/// Applies the Schema Registry properties of the WITH clause (`KEY_SCHEMA_ID`,
/// `VALUE_SCHEMA_ID`, `*_SCHEMA_FULL_NAME`) and binds SR formats to the engine's registry
/// under the subjects of `topic`. Formats inherited from a source (CSAS) lose the source's
/// schema id and name first.
pub(crate) fn bind_formats(
    engine: &Engine,
    with: &With,
    topic: &str,
    source_name: &str,
    statement: Statement,
    key: &mut Format,
    value: &mut Format,
) -> Result<()> {
    for (format, is_key) in [(&mut *key, true), (&mut *value, false)] {
        let prefix = if is_key { "KEY" } else { "VALUE" };
        format.schema_id = None;
        format.schema_full_name = None;
        format.registry = None;
        if let Some(id) = schema_id(with, &format!("{prefix}_SCHEMA_ID"))? {
            if !format.is_schema_registry() {
                return Err(EngineError::statement(format!(
                    "{prefix}_FORMAT should support schema inference when {prefix}_SCHEMA_ID is \
                     provided. Current format is {}.",
                    format.name()
                )));
            }
            if let Statement::CreateSource {
                has_key_columns,
                has_value_columns,
            } = statement
            {
                if (is_key && has_key_columns) || (!is_key && has_value_columns) {
                    return Err(EngineError::statement(format!(
                        "Table elements and {prefix}_SCHEMA_ID cannot both exist for create \
                         statement."
                    )));
                }
            }
            format.schema_id = Some(id);
        }
        let mut names = vec![format!("{prefix}_SCHEMA_FULL_NAME")];
        if !is_key {
            names.push("VALUE_AVRO_SCHEMA_FULL_NAME".to_string());
        }
        if let Some(name) = names.iter().find_map(|n| with.get(n)) {
            let supported = matches!(format.kind, FormatKind::Avro | FormatKind::Protobuf);
            if !supported {
                return Err(EngineError::statement(format!(
                    "{} does not support the following configs: [fullSchemaName]",
                    format.name()
                )));
            }
            if name.trim().is_empty() {
                return Err(EngineError::statement(
                    "fullSchemaName cannot be empty. Format configuration: {fullSchemaName=}",
                ));
            }
            format.schema_full_name = Some(name.trim().to_string());
        } else if is_key && format.kind == FormatKind::Avro {
            format.schema_full_name = Some(key_schema_full_name(source_name));
        }
        if format.is_schema_registry() {
            format.registry = Some(RegistryBinding {
                registry: engine.schema_registry(),
                subject: subject_name(topic, is_key),
            });
        }
    }
    Ok(())
}

/// Adds the key and value columns a `CREATE` statement left out, inferred from the schemas
/// registered for its topic. Values are inferred when no value column is listed (an error when
/// the subject has no schema); keys when no key column is listed and the key subject exists.
pub(crate) fn infer_columns(
    schema: LogicalSchema,
    key: &Format,
    value: &Format,
) -> Result<LogicalSchema> {
    let has_keys = schema.key_columns().next().is_some();
    let has_values = schema.value_columns().next().is_some();
    let infer_keys = !has_keys
        && key.is_schema_registry()
        && key.registry.is_some()
        && (key.schema_id.is_some() || subject_exists(key));
    let infer_values = !has_values && value.is_schema_registry() && value.registry.is_some();
    if !infer_keys && !infer_values {
        return Ok(schema);
    }
    let keys: Vec<Column> = if infer_keys {
        key.infer_columns(true)?
    } else {
        schema.key_columns().cloned().collect()
    };
    let values: Vec<Column> = if infer_values {
        value.infer_columns(false)?
    } else {
        schema.value_columns().cloned().collect()
    };
    let headers = schema
        .columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Header(_)))
        .cloned();
    let mut columns: Vec<Column> = keys;
    for c in values.into_iter().chain(headers) {
        if columns.iter().any(|k| k.name == c.name) {
            return Err(EngineError::statement(format!(
                "Duplicate column names:\n\t{}",
                c.name
            )));
        }
        columns.push(c);
    }
    Ok(LogicalSchema::new(columns))
}

fn subject_exists(format: &Format) -> bool {
    format
        .registry
        .as_ref()
        .is_some_and(|b| b.registry.subject_exists(&b.subject))
}

/// Registers the schemas ksqlDB generates for a new source's key and value columns: for
/// `CREATE` only when the subject has none yet, for `CREATE … AS SELECT` always (a new version
/// when different). Formats pinned to a schema id register nothing; for sinks their schema must
/// carry the query's columns in order.
pub(crate) fn register_schemas(
    schema: &LogicalSchema,
    key: &Format,
    value: &Format,
    statement: Statement,
) -> Result<()> {
    let keys: Vec<Column> = schema.key_columns().cloned().collect();
    let values: Vec<Column> = schema.value_columns().cloned().collect();
    for (format, columns, is_key) in [(key, &keys, true), (value, &values, false)] {
        if !format.is_schema_registry() || format.registry.is_none() || columns.is_empty() {
            continue;
        }
        if format.schema_id.is_some() {
            if statement == Statement::CreateAs {
                check_pinned_schema(format, columns, is_key)?;
            }
            continue;
        }
        if statement != Statement::CreateAs && subject_exists(format) {
            continue;
        }
        format.register_schema(columns, is_key).map_err(|e| {
            EngineError::statement(format!("Could not register schema for topic: {e}"))
        })?;
    }
    Ok(())
}

/// The query's columns must be the leading columns of the pinned schema, in order and with
/// the same types.
fn check_pinned_schema(format: &Format, columns: &[Column], is_key: bool) -> Result<()> {
    let registered = format.infer_columns(is_key)?;
    let changed: Vec<&Column> = columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            registered
                .get(*i)
                .is_none_or(|r| r.name != c.name || r.ty != c.ty)
        })
        .map(|(_, c)| c)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let list = |cols: &mut dyn Iterator<Item = &Column>| {
        cols.map(|c| format!("`{}` {}", c.name, c.ty))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(EngineError::statement(format!(
        "The following {} columns are changed, missing or reordered: [{}]. Schema from schema \
         registry is [{}]",
        if is_key { "key" } else { "value" },
        list(&mut changed.into_iter()),
        list(&mut registered.iter())
    )))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use riffle_format::SchemaType;

    use crate::{EngineConfig, Properties};

    use super::*;

    fn engine() -> Engine {
        Engine::open(EngineConfig {
            data_dir: None,
            properties: Properties::new(),
            ..Default::default()
        })
        .unwrap()
    }

    fn run(engine: &Engine, sql: &str) -> std::result::Result<(), String> {
        engine
            .execute(sql, &Properties::new(), &HashMap::new())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn infers_columns_from_registered_schemas() {
        let e = engine();
        let r = e.schema_registry();
        r.register("in-key", SchemaType::Avro, r#""int""#).unwrap();
        r.register(
            "in-value",
            SchemaType::Avro,
            r#"{"type":"record","name":"r","fields":[{"name":"c1","type":"long"}]}"#,
        )
        .unwrap();
        run(
            &e,
            "CREATE STREAM S WITH (kafka_topic='in', format='AVRO');",
        )
        .unwrap();
        let s = e.catalog().sources["S"].clone();
        let names: Vec<&str> = s.schema.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["ROWKEY", "C1"]);
        run(
            &e,
            "CREATE STREAM P WITH (kafka_topic='in', value_format='AVRO', value_schema_id=2);",
        )
        .unwrap();
        assert_eq!(e.catalog().sources["P"].schema.columns[0].name, "c1");
        let err = run(
            &e,
            "CREATE STREAM Q (A INT) WITH (kafka_topic='in', value_format='AVRO', value_schema_id=2);",
        )
        .unwrap_err();
        assert!(err.contains("Table elements and VALUE_SCHEMA_ID"), "{err}");
        let err = run(
            &e,
            "CREATE STREAM X WITH (kafka_topic='none', value_format='AVRO');",
        )
        .unwrap_err();
        assert!(
            err.contains("does not exist in the Schema Registry"),
            "{err}"
        );
    }

    #[test]
    fn registers_schemas_of_new_sources_and_sinks() {
        let e = engine();
        run(
            &e,
            "CREATE STREAM S (K INT KEY, V STRING) WITH (kafka_topic='s', format='AVRO');",
        )
        .unwrap();
        let r = e.schema_registry();
        assert!(r.subject_exists("s-key"));
        assert!(r
            .latest("s-value")
            .unwrap()
            .text
            .contains("KsqlDataSourceSchema"));
        run(&e, "CREATE STREAM O AS SELECT * FROM S;").unwrap();
        // A single key column is unwrapped: its schema is the primitive type, as in ksqlDB.
        assert_eq!(r.latest("O-key").unwrap().text, "\"int\"");
        assert!(r.subject_exists("O-value"));
        let err = run(
            &e,
            "CREATE STREAM J (K INT KEY, V STRING) WITH (kafka_topic='j', format='JSON', \
             value_schema_full_name='x');",
        )
        .unwrap_err();
        assert!(
            err.contains("JSON does not support the following configs"),
            "{err}"
        );
    }
}
