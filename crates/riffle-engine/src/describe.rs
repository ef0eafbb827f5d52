//! SHOW, LIST, DESCRIBE and EXPLAIN.

use riffle_api::{
    FieldInfo, FieldSchema, FunctionNameList, KafkaTopicInfo, KafkaTopicsList, KsqlEntity,
    PropertiesList, Property, QueriesList, QueryDescription, QueryDescriptionEntity, RunningQuery,
    SimpleFunctionInfo, SourceDescription, SourceDescriptionEntity, SourceDescriptionList,
    SourceInfo, StreamsList, TablesList, VariableInfo, VariablesList,
};
use riffle_sql::ExplainTarget;
use riffle_types::{ColumnKind, LogicalSchema, SqlType};

use crate::catalog::{QueryInfo, QueryState, Source, SourceType};
use crate::executor::Session;
use crate::{Engine, EngineError, Result};

fn source_info(s: &Source) -> SourceInfo {
    SourceInfo {
        kind: s.source_type.name().into(),
        name: s.name.clone(),
        topic: s.topic.clone(),
        key_format: s.key_format.name().into(),
        value_format: s.value_format.name().into(),
        is_windowed: s.windowed,
    }
}

pub(crate) fn list_sources(
    engine: &Engine,
    kind: SourceType,
    extended: bool,
    text: &str,
) -> Result<KsqlEntity> {
    if extended {
        return describe_all(engine, kind, true, text);
    }
    let catalog = engine.catalog();
    let list: Vec<SourceInfo> = catalog
        .sources
        .values()
        .filter(|s| s.source_type == kind)
        .map(source_info)
        .collect();
    Ok(match kind {
        SourceType::Stream => KsqlEntity::Streams(StreamsList {
            statement_text: text.into(),
            streams: list,
            warnings: vec![],
        }),
        SourceType::Table => KsqlEntity::Tables(TablesList {
            statement_text: text.into(),
            tables: list,
            warnings: vec![],
        }),
    })
}

fn running_query(q: &QueryInfo) -> RunningQuery {
    let state = match q.state {
        QueryState::Running => "RUNNING",
        QueryState::Error => "ERROR",
    };
    RunningQuery {
        query_string: q.statement.clone(),
        sinks: vec![q.sink.clone()],
        sink_kafka_topics: vec![q.sink_topic.clone()],
        id: q.id.clone(),
        status_count: serde_json::json!({ state: 1 }),
        query_type: "PERSISTENT".into(),
        state: state.into(),
    }
}

pub(crate) fn list_queries(engine: &Engine, _extended: bool, text: &str) -> Result<KsqlEntity> {
    let catalog = engine.catalog();
    Ok(KsqlEntity::Queries(QueriesList {
        statement_text: text.into(),
        queries: catalog.queries.values().map(running_query).collect(),
        warnings: vec![],
    }))
}

pub(crate) fn list_topics(
    engine: &Engine,
    all: bool,
    _extended: bool,
    text: &str,
) -> Result<KsqlEntity> {
    let topics = engine
        .log()
        .topics()
        .into_iter()
        .filter(|t| all || !t.name.starts_with('_'))
        .map(|t| KafkaTopicInfo {
            name: t.name,
            replica_info: vec![i64::from(t.replicas.max(1)); t.partitions as usize],
        })
        .collect();
    Ok(KsqlEntity::KafkaTopics(KafkaTopicsList {
        statement_text: text.into(),
        topics,
        warnings: vec![],
    }))
}

pub(crate) fn list_properties(
    engine: &Engine,
    session: &Session,
    text: &str,
) -> Result<KsqlEntity> {
    let mut props: Vec<Property> = Vec::new();
    let defaults = [
        ("ksql.service.id", engine.config().service_id.clone()),
        ("auto.offset.reset", "latest".to_string()),
        ("cache.max.bytes.buffering", "10485760".to_string()),
        ("processing.guarantee", "exactly_once_v2".to_string()),
    ];
    let mut overwritten = Vec::new();
    let mut default_names = Vec::new();
    for (k, v) in defaults {
        let value = session
            .properties
            .get(k)
            .or_else(|| engine.config().properties.get(k))
            .cloned();
        match value {
            Some(v) => {
                overwritten.push(k.to_string());
                props.push(Property {
                    name: k.into(),
                    scope: "KSQL".into(),
                    value: v,
                });
            }
            None => {
                default_names.push(k.to_string());
                props.push(Property {
                    name: k.into(),
                    scope: "KSQL".into(),
                    value: v,
                });
            }
        }
    }
    for (k, v) in engine
        .config()
        .properties
        .iter()
        .chain(session.properties.iter())
    {
        if !props.iter().any(|p| &p.name == k) {
            overwritten.push(k.clone());
            props.push(Property {
                name: k.clone(),
                scope: "KSQL".into(),
                value: v.clone(),
            });
        }
    }
    Ok(KsqlEntity::Properties(PropertiesList {
        statement_text: text.into(),
        properties: props,
        overwritten_properties: overwritten,
        default_properties: default_names,
        warnings: vec![],
    }))
}

pub(crate) fn list_functions(text: &str) -> Result<KsqlEntity> {
    let names = [
        "ABS",
        "CEIL",
        "CONCAT",
        "COALESCE",
        "FLOOR",
        "IFNULL",
        "INSTR",
        "LCASE",
        "LEN",
        "LPAD",
        "NULLIF",
        "REPLACE",
        "ROUND",
        "RPAD",
        "SQRT",
        "SUBSTRING",
        "TRIM",
        "UCASE",
    ];
    Ok(KsqlEntity::FunctionNames(FunctionNameList {
        statement_text: text.into(),
        functions: names
            .iter()
            .map(|n| SimpleFunctionInfo {
                name: n.to_string(),
                r#type: "SCALAR".into(),
                category: String::new(),
            })
            .collect(),
        warnings: vec![],
    }))
}

pub(crate) fn list_variables(session: &Session, text: &str) -> KsqlEntity {
    let mut vars: Vec<VariableInfo> = session
        .variables
        .iter()
        .map(|(k, v)| VariableInfo {
            name: k.clone(),
            value: v.clone(),
        })
        .collect();
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    KsqlEntity::Variables(VariablesList {
        statement_text: text.into(),
        variables: vars,
        warnings: vec![],
    })
}

/// ksqlDB's schema JSON for one type.
pub(crate) fn field_schema(ty: &SqlType) -> FieldSchema {
    let kind = match ty {
        SqlType::Int => "INTEGER".to_string(),
        SqlType::Array(_) => "ARRAY".into(),
        SqlType::Map(..) => "MAP".into(),
        SqlType::Struct(_) => "STRUCT".into(),
        SqlType::Decimal { .. } => "DECIMAL".into(),
        other => other.to_string(),
    };
    FieldSchema {
        kind,
        fields: match ty {
            SqlType::Struct(fields) => Some(
                fields
                    .iter()
                    .map(|f| FieldInfo {
                        name: f.name.clone(),
                        schema: field_schema(&f.ty),
                        r#type: None,
                    })
                    .collect(),
            ),
            _ => None,
        },
        member_schema: match ty {
            SqlType::Array(t) | SqlType::Map(_, t) => Some(Box::new(field_schema(t))),
            _ => None,
        },
        parameters: match ty {
            SqlType::Decimal { precision, scale } => {
                Some(serde_json::json!({"precision": precision, "scale": scale}))
            }
            _ => None,
        },
    }
}

/// Column descriptions of a schema, as DESCRIBE lists them.
pub(crate) fn fields_of(schema: &LogicalSchema) -> Vec<FieldInfo> {
    schema
        .columns
        .iter()
        .map(|c| FieldInfo {
            name: c.name.clone(),
            schema: field_schema(&c.ty),
            r#type: match c.kind {
                ColumnKind::Key => Some("KEY".into()),
                ColumnKind::Header(_) => Some("HEADER".into()),
                ColumnKind::Value => None,
            },
        })
        .collect()
}

fn description(engine: &Engine, s: &Source, extended: bool) -> SourceDescription {
    let catalog = engine.catalog();
    let summarize = |q: &QueryInfo| {
        serde_json::json!({
            "queryString": q.statement, "sinks": [q.sink], "sinkKafkaTopics": [q.sink_topic],
            "id": q.id, "statusCount": {"RUNNING": 1}, "queryType": "PERSISTENT", "state": "RUNNING"
        })
    };
    let topic = engine.log().topic(&s.topic);
    SourceDescription {
        name: s.name.clone(),
        windowed: s.windowed,
        read_queries: catalog
            .readers_of(&s.name)
            .into_iter()
            .map(summarize)
            .collect(),
        write_queries: catalog
            .writers_of(&s.name)
            .into_iter()
            .map(summarize)
            .collect(),
        fields: fields_of(&s.schema),
        r#type: s.source_type.name().into(),
        timestamp: s
            .timestamp
            .as_ref()
            .map(|t| t.column.clone())
            .unwrap_or_default(),
        statistics: String::new(),
        error_stats: String::new(),
        extended,
        key_format: s.key_format.name().into(),
        value_format: s.value_format.name().into(),
        topic: s.topic.clone(),
        partitions: topic.as_ref().map(|t| i64::from(t.partitions)).unwrap_or(0),
        replication: topic.as_ref().map(|t| i64::from(t.replicas)).unwrap_or(1),
        statement: s.statement.clone(),
        query_offset_summaries: vec![],
        source_constraints: vec![],
    }
}

pub(crate) fn describe_source(
    engine: &Engine,
    name: &str,
    extended: bool,
    text: &str,
) -> Result<KsqlEntity> {
    let catalog = engine.catalog();
    let s = catalog.sources.get(name).ok_or_else(|| {
        EngineError::NotFound(format!(
            "Could not find STREAM/TABLE '{name}' in the Metastore"
        ))
    })?;
    Ok(KsqlEntity::SourceDescription(SourceDescriptionEntity {
        statement_text: text.into(),
        source_description: description(engine, s, extended),
        warnings: vec![],
    }))
}

pub(crate) fn describe_all(
    engine: &Engine,
    kind: SourceType,
    extended: bool,
    text: &str,
) -> Result<KsqlEntity> {
    let catalog = engine.catalog();
    Ok(KsqlEntity::SourceDescriptions(SourceDescriptionList {
        statement_text: text.into(),
        source_descriptions: catalog
            .sources
            .values()
            .filter(|s| s.source_type == kind)
            .map(|s| description(engine, s, extended))
            .collect(),
        warnings: vec![],
    }))
}

pub(crate) fn explain(engine: &Engine, target: &ExplainTarget, text: &str) -> Result<KsqlEntity> {
    let catalog = engine.catalog();
    let description = match target {
        ExplainTarget::QueryId(id) => {
            let id = id.to_ascii_uppercase();
            let q = catalog
                .queries
                .get(&id)
                .ok_or_else(|| EngineError::NotFound(format!("Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries.")))?;
            let sink = catalog.sources.get(&q.sink);
            QueryDescription {
                id: q.id.clone(),
                statement_text: q.statement.clone(),
                fields: sink.map(|s| fields_of(&s.schema)).unwrap_or_default(),
                sources: q.sources.clone(),
                sinks: vec![q.sink.clone()],
                topology: topology(q),
                execution_plan: topology(q),
                state: "RUNNING".into(),
            }
        }
        ExplainTarget::Statement(stmt) => QueryDescription {
            id: String::new(),
            statement_text: stmt.text.clone(),
            fields: vec![],
            sources: vec![],
            sinks: vec![],
            topology: String::new(),
            execution_plan: format!("{:#?}", stmt.statement),
            state: String::new(),
        },
    };
    Ok(KsqlEntity::QueryDescription(QueryDescriptionEntity {
        statement_text: text.into(),
        query_description: description,
        warnings: vec![],
    }))
}

fn topology(q: &QueryInfo) -> String {
    format!(
        " > [ SINK ] | Schema: {} | Logger: {}\n\t\t > [ PROJECT ]\n\t\t\t\t > [ FILTER ]\n\t\t\t\t\t\t > [ SOURCE ] | Schema: {}\n",
        q.sink, q.id, q.sources.join(", ")
    )
}
