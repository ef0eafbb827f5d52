//! CREATE, CREATE … AS SELECT, INSERT INTO … SELECT, TERMINATE and DROP.

use std::sync::Arc;

use riffle_api::KsqlEntity;
use riffle_format::Format;
use riffle_planner::{plan_select_with, SourceRef};
use riffle_sql::{CreateAsSelect, CreateSource, Properties as WithProps, Query, Relation};
use riffle_types::{Column, ColumnKind, LogicalSchema};

use crate::catalog::{QueryInfo, QueryState, Source, SourceType};
use crate::executor::{current_status, record_command, Session};
use crate::runtime::persistent::{PersistentQuery, QueryPlan};
use crate::topics::ensure_topic;
use crate::with_clause::{
    check_columns, formats, property, select_options, timestamp_of, FormatDefaults, With,
};
use crate::{Engine, EngineError, Result};

/// Turns parsed column definitions into columns, checking ksqlDB's rules on names and keys.
fn resolve_columns(
    engine: &Engine,
    kind: SourceType,
    defs: &[riffle_sql::ColumnDef],
) -> Result<Vec<Column>> {
    const BOTH: &str = "Tables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.";
    let types = engine.catalog().types;
    let mut out: Vec<Column> = Vec::with_capacity(defs.len());
    for d in defs {
        if matches!(
            d.name.as_str(),
            "ROWTIME" | "ROWPARTITION" | "ROWOFFSET" | "WINDOWSTART" | "WINDOWEND"
        ) {
            return Err(EngineError::statement(format!(
                "'{}' is a reserved column name. You cannot use it as a name for a column.",
                d.name
            )));
        }
        if d.kind == ColumnKind::Key {
            // ksqlDB points at the column definition: "Line: 1, Col: 21: ...".
            let at = d
                .location
                .map(|(line, col)| format!("Line: {line}, Col: {col}: "))
                .unwrap_or_default();
            if kind == SourceType::Stream && d.primary_key {
                return Err(EngineError::statement(format!(
                    "{at}Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\n{BOTH}",
                    d.name
                )));
            }
            if kind == SourceType::Table && !d.primary_key {
                return Err(EngineError::statement(format!(
                    "{at}Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\n{BOTH}",
                    d.name
                )));
            }
        }
        if out.iter().any(|c| c.name == d.name) {
            return Err(EngineError::statement(format!(
                "Duplicate column names:\n\t{}",
                d.name
            )));
        }
        let col = match d.to_column() {
            Some(c) => c,
            None => Column {
                name: d.name.clone(),
                ty: d
                    .ty
                    .resolve(&|n: &str| types.get(n).cloned())
                    .map_err(|n| EngineError::statement(format!("Can't find type {n}")))?,
                kind: d.kind.clone(),
            },
        };
        out.push(col);
    }
    Ok(out)
}

fn already_exists(kind: SourceType, existing: &Source, name: &str) -> EngineError {
    EngineError::statement(format!(
        "Cannot add {} '{name}': A {} with the same name already exists",
        kind.lower(),
        existing.source_type.lower()
    ))
}

/// `CREATE [OR REPLACE] STREAM|TABLE name (columns) WITH (...)`.
pub(crate) fn create_source(
    engine: &Engine,
    c: &CreateSource,
    text: &str,
    session: &Session,
) -> Result<KsqlEntity> {
    let kind: SourceType = c.kind.into();
    let with = With::new(&c.properties);
    let existing = engine.catalog().sources.get(&c.name).cloned();
    // Source (read-only) streams and tables can never be replaced, nor replace another source.
    if c.or_replace && (c.is_source || existing.as_ref().is_some_and(|e| e.read_only)) {
        return Err(EngineError::statement(format!(
            "Cannot add {} '{}': CREATE OR REPLACE is not supported on source {}s.",
            kind.lower(),
            c.name,
            kind.lower()
        )));
    }
    if let Some(existing) = existing {
        if c.if_not_exists {
            return Ok(current_status(
                text,
                format!("{}/`{}`/create", kind.lower(), c.name),
                format!(
                    "Cannot add {} {}: A {} with the same name already exists.",
                    kind.lower(),
                    c.name,
                    existing.source_type.lower()
                ),
                None,
                engine.lock_state()?.commands.next_seq,
            ));
        }
        if !c.or_replace {
            return Err(already_exists(kind, &existing, &c.name));
        }
    }
    let topic = with.get("KAFKA_TOPIC").map(str::to_string).ok_or_else(|| {
        EngineError::statement(
            "Missing required property \"KAFKA_TOPIC\" which has no default value.",
        )
    })?;
    let schema = LogicalSchema::new(resolve_columns(engine, kind, &c.columns)?);
    let (mut key_format, mut value_format) =
        formats(&with, FormatDefaults::config(engine, session))?;
    let statement = crate::schemas::Statement::CreateSource {
        has_key_columns: schema.key_columns().next().is_some(),
        has_value_columns: schema.value_columns().next().is_some(),
    };
    crate::schemas::bind_formats(
        engine,
        &with,
        &topic,
        &c.name,
        statement,
        &mut key_format,
        &mut value_format,
    )?;
    let schema = crate::schemas::infer_columns(schema, &key_format, &value_format)?;
    if kind == SourceType::Table && schema.key_columns().next().is_none() {
        return Err(EngineError::statement(
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
        ));
    }
    check_columns(&schema, &key_format, &value_format, &with)?;
    crate::schemas::register_schemas(&schema, &key_format, &value_format, statement)?;
    let timestamp = timestamp_of(&with, &schema)?;
    let window = crate::window::declared(with.get("WINDOW_TYPE"), with.get("WINDOW_SIZE"))
        .map_err(EngineError::statement)?;
    ensure_topic(engine, &topic, with.partitions()?)?;
    let seq = record_command(engine, text, session)?;
    let source = Source {
        name: c.name.clone(),
        source_type: kind,
        schema,
        topic,
        key_format,
        value_format,
        timestamp,
        statement: text.to_string(),
        read_only: c.is_source,
        windowed: window.is_some(),
        window,
    };
    engine
        .lock_state()?
        .catalog
        .sources
        .insert(c.name.clone(), source);
    let created = match kind {
        SourceType::Stream => "Stream created",
        SourceType::Table => "Table created",
    };
    Ok(current_status(
        text,
        format!("{}/`{}`/create", kind.lower(), c.name),
        created.into(),
        None,
        seq,
    ))
}

/// The single source a stateless query reads.
fn single_source(engine: &Engine, query: &Query) -> Result<(Source, SourceRef)> {
    match &query.from {
        Relation::Source { name, alias } => {
            let catalog = engine.catalog();
            let src = catalog
                .sources
                .get(name)
                .cloned()
                .ok_or_else(|| EngineError::NotFound(format!("{name} does not exist.")))?;
            let r = SourceRef {
                name: name.clone(),
                alias: alias.clone(),
                schema: src.schema.clone(),
            };
            Ok((src, r))
        }
        Relation::Join { .. } => Err(EngineError::statement("JOIN is not supported yet")),
    }
}

/// `CREATE STREAM name [WITH (...)] AS SELECT ...`.
pub(crate) fn create_as_select(
    engine: &Engine,
    c: &CreateAsSelect,
    text: &str,
    session: &Session,
) -> Result<KsqlEntity> {
    let kind: SourceType = c.kind.into();
    if let Some(existing) = engine.catalog().sources.get(&c.name) {
        if c.if_not_exists {
            return Ok(current_status(
                text,
                format!("{}/`{}`/create", kind.lower(), c.name),
                String::new(),
                None,
                engine.lock_state()?.commands.next_seq,
            ));
        }
        return Err(already_exists(kind, existing, &c.name));
    }
    if c.query.limit.is_some() {
        return Err(EngineError::statement(format!(
            "CREATE {} AS SELECT statements don't support LIMIT clause.",
            kind.name()
        )));
    }
    let (source, source_ref) = single_source(engine, &c.query)?;
    if source.window.is_some() && source.source_type == SourceType::Table {
        return Err(EngineError::statement(
            "KSQL does not support persistent queries on windowed tables.",
        ));
    }
    let (plan, query_plan, window) =
        crate::query_plan::plan_query(engine, c, kind, &source, &source_ref, session)?;
    let with = With::new(&c.properties);
    let (mut key_format, mut value_format) = formats(
        &with,
        FormatDefaults::Source(&source.key_format, &source.value_format),
    )?;
    if plan.output.key_columns().next().is_none() {
        // ksqlDB writes key-less results with the NONE key format.
        key_format = Format::from_name("NONE")?;
    }
    let topic = with
        .get("KAFKA_TOPIC")
        .map(str::to_string)
        .unwrap_or_else(|| c.name.clone());
    crate::schemas::bind_formats(
        engine,
        &with,
        &topic,
        &c.name,
        crate::schemas::Statement::CreateAs,
        &mut key_format,
        &mut value_format,
    )?;
    check_columns(&plan.output, &key_format, &value_format, &with)?;
    crate::schemas::register_schemas(
        &plan.output,
        &key_format,
        &value_format,
        crate::schemas::Statement::CreateAs,
    )?;
    let source_partitions = engine.log().topic(&source.topic).map(|t| t.partitions);
    let partitions = with.partitions()?.or(source_partitions);
    ensure_topic(engine, &topic, partitions)?;
    let timestamp = timestamp_of(&with, &plan.output)?;
    let seq = record_command(engine, text, session)?;
    let sink = Source {
        name: c.name.clone(),
        source_type: kind,
        schema: plan.output.clone(),
        topic: topic.clone(),
        key_format,
        value_format,
        timestamp,
        statement: text.to_string(),
        read_only: false,
        windowed: window.is_some(),
        window,
    };
    let prefix = match kind {
        SourceType::Stream => "CSAS",
        SourceType::Table => "CTAS",
    };
    let query_id = next_query_id(engine, &format!("{prefix}_{}", c.name))?;
    engine
        .lock_state()?
        .catalog
        .sources
        .insert(c.name.clone(), sink.clone());
    start_query(engine, &query_id, text, source, sink, query_plan, session)?;
    Ok(current_status(
        text,
        format!("{}/`{}`/create", kind.lower(), c.name),
        format!("Created query with ID {query_id}"),
        Some(query_id),
        seq,
    ))
}

/// `INSERT INTO target SELECT ...`.
pub(crate) fn insert_select(
    engine: &Engine,
    target: &str,
    _properties: &WithProps,
    query: &Query,
    text: &str,
    session: &Session,
) -> Result<KsqlEntity> {
    let catalog = engine.catalog();
    let sink = catalog
        .sources
        .get(target)
        .cloned()
        .ok_or_else(|| EngineError::NotFound(format!("{target} does not exist.")))?;
    if sink.source_type == SourceType::Table {
        return Err(EngineError::statement(format!(
            "INSERT INTO can only be used to insert into a stream. {target} is a table."
        )));
    }
    if sink.read_only {
        return Err(EngineError::statement(format!(
            "Cannot insert into read-only stream: {target}"
        )));
    }
    if sink
        .schema
        .columns
        .iter()
        .any(|c| matches!(c.kind, ColumnKind::Header(_)))
    {
        return Err(EngineError::statement(format!(
            "Cannot insert into {target} because it has header columns"
        )));
    }
    let (source, source_ref) = single_source(engine, query)?;
    let query = &crate::implicit_cast::cast_literals_to_sink(query, &sink.schema);
    let plan = plan_select_with(
        &engine.inner.planner,
        query,
        &source_ref,
        Some(target),
        select_options(engine, session),
    )?;
    if !same_columns(&plan.output, &sink.schema) {
        return Err(EngineError::statement(format!(
            "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
            plan.output, sink.schema
        )));
    }
    let seq = record_command(engine, text, session)?;
    let query_id = next_query_id(engine, "INSERTQUERY")?;
    start_query(
        engine,
        &query_id,
        text,
        source,
        sink.clone(),
        QueryPlan::Select(plan),
        session,
    )?;
    Ok(current_status(
        text,
        format!("stream/`{target}`/create"),
        format!("Created query with ID {query_id}"),
        Some(query_id),
        seq,
    ))
}

fn same_columns(a: &LogicalSchema, b: &LogicalSchema) -> bool {
    let key = |s: &LogicalSchema| -> Vec<(String, String, bool)> {
        s.columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.to_string(), c.kind == ColumnKind::Key))
            .collect()
    };
    key(a) == key(b)
}

fn next_query_id(engine: &Engine, prefix: &str) -> Result<String> {
    let mut state = engine.lock_state()?;
    let n = state.query_counter;
    state.query_counter += 1;
    Ok(format!("{prefix}_{n}"))
}

fn start_query(
    engine: &Engine,
    query_id: &str,
    text: &str,
    source: Source,
    sink: Source,
    plan: QueryPlan,
    session: &Session,
) -> Result<()> {
    let group = engine.config().query_group(query_id);
    // Changelog and repartition topics (see `internal_topics`).
    let internal = crate::topics::internal_topics(engine, &group, &plan, &source, &sink)?;
    let earliest = crate::config::from_earliest(&session.properties, &engine.config().properties);
    let query = Arc::new(PersistentQuery::new(
        query_id.to_string(),
        group,
        source.clone(),
        sink.clone(),
        plan,
        crate::runtime::persistent::QueryOptions {
            strict_timestamps: property(engine, session, "ksql.timestamp.throw.on.invalid")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            coalesce: cache_bytes(engine, session) > 0,
            changelog_topic: internal.changelog,
            repartition_topic: internal.repartition,
        },
    )?);
    query.init_offsets(engine.log().as_ref(), earliest)?;
    {
        let mut state = engine.lock_state()?;
        state.catalog.queries.insert(
            query_id.to_string(),
            QueryInfo {
                id: query_id.to_string(),
                statement: text.to_string(),
                sources: vec![source.name.clone()],
                sink: sink.name.clone(),
                sink_topic: sink.topic.clone(),
                state: QueryState::Running,
            },
        );
        state.running.insert(query_id.to_string(), query.clone());
    }
    engine.spawn_query(query);
    Ok(())
}

/// `cache.max.bytes.buffering` (ksqlDB's default, 10 MiB, when unset): with 0, aggregations
/// emit every update; otherwise updates to a key within one commit are coalesced.
fn cache_bytes(engine: &Engine, session: &Session) -> u64 {
    property(engine, session, "cache.max.bytes.buffering")
        .or_else(|| property(engine, session, "ksql.streams.cache.max.bytes.buffering"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(10 * 1024 * 1024)
}

/// `TERMINATE id` / `TERMINATE ALL`.
pub(crate) fn terminate(
    engine: &Engine,
    target: &riffle_sql::TerminateTarget,
    text: &str,
    session: &Session,
) -> Result<KsqlEntity> {
    let ids: Vec<String> = match target {
        riffle_sql::TerminateTarget::All => engine.catalog().queries.keys().cloned().collect(),
        riffle_sql::TerminateTarget::Query(id) => {
            let id = id.to_ascii_uppercase();
            if !engine.catalog().queries.contains_key(&id) {
                if engine.close_push_query(&id) {
                    return Ok(current_status(
                        text,
                        format!("terminate/{id}/execute"),
                        "Query terminated.".into(),
                        None,
                        0,
                    ));
                }
                return Err(EngineError::NotFound(format!("Unknown queryId: {id}")));
            }
            vec![id]
        }
    };
    let seq = record_command(engine, text, session)?;
    let mut state = engine.lock_state()?;
    for id in &ids {
        state.catalog.queries.remove(id);
        if let Some(q) = state.running.remove(id) {
            q.stop();
        }
    }
    Ok(current_status(
        text,
        "terminate/CLUSTER/execute".into(),
        "Query terminated.".into(),
        None,
        seq,
    ))
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
pub(crate) fn drop_source(
    engine: &Engine,
    kind: SourceType,
    name: &str,
    if_exists: bool,
    delete_topic: bool,
    text: &str,
    session: &Session,
) -> Result<KsqlEntity> {
    let catalog = engine.catalog();
    let Some(source) = catalog.sources.get(name) else {
        if if_exists {
            return Ok(current_status(
                text,
                format!("{}/`{name}`/drop", kind.lower()),
                format!("Source `{name}` does not exist."),
                None,
                engine.lock_state()?.commands.next_seq,
            ));
        }
        return Err(EngineError::NotFound(format!(
            "{} {name} does not exist.",
            title(kind)
        )));
    };
    if source.source_type != kind {
        return Err(EngineError::statement(format!(
            "Incompatible data source type is {}, but statement was DROP {}",
            source.source_type.name(),
            kind.name()
        )));
    }
    if delete_topic && source.read_only {
        return Err(EngineError::statement(format!(
            "Cannot delete topic for read-only source: {name}"
        )));
    }
    let readers: Vec<String> = catalog
        .readers_of(name)
        .iter()
        .map(|q| q.id.clone())
        .collect();
    let writers: Vec<String> = catalog
        .writers_of(name)
        .iter()
        .map(|q| q.id.clone())
        .collect();
    if !readers.is_empty() || !writers.is_empty() {
        let mut msg = format!("Cannot drop {name}.");
        if !readers.is_empty() {
            msg.push_str(&format!(
                "\nThe following queries read from this source: [{}].",
                readers.join(", ")
            ));
        }
        if !writers.is_empty() {
            msg.push_str(&format!(
                "\nThe following queries write into this source: [{}].",
                writers.join(", ")
            ));
        }
        msg.push_str(&format!(
            "\nYou need to terminate them before dropping {name}."
        ));
        return Err(EngineError::statement(msg));
    }
    let seq = record_command(engine, text, session)?;
    engine.lock_state()?.catalog.sources.remove(name);
    if delete_topic && !session.replaying {
        engine.log().delete_topic(&source.topic)?;
    }
    Ok(current_status(
        text,
        format!("{}/`{name}`/drop", kind.lower()),
        format!("Source `{name}` (topic: {}) was dropped.", source.topic),
        None,
        seq,
    ))
}

fn title(kind: SourceType) -> &'static str {
    match kind {
        SourceType::Stream => "Stream",
        SourceType::Table => "Table",
    }
}
