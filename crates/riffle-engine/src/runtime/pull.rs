//! Pull queries (`SELECT` without `EMIT CHANGES`): one answer computed from what has been
//! processed so far, then the query ends.
//!
//! A table's current state is its topic read as a changelog: the last record per key, with
//! tombstones deleting. Materialized tables (CTAS sinks, `CREATE SOURCE TABLE`) are answered
//! from it; a stream is answered by a bounded scan of its topic. The WHERE clause and the
//! projection run as the same DataFusion expressions as everywhere else.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use riffle_log::ConsumedRecord;
use riffle_planner::{plan_select, RowSchema, SourceRef, WINDOWEND, WINDOWSTART};
use riffle_sql::Query;
use riffle_types::{Column, ColumnKind, LogicalSchema, SqlType};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::catalog::{Source, SourceType};
use crate::runtime::decode::SourceDecoder;
use crate::runtime::push::{PushMessage, PushQuery};
use crate::{Engine, EngineError, Result};

/// Runs a pull query and returns its rows as an already finished [`PushQuery`].
pub(crate) fn run(
    engine: &Engine,
    query: &Query,
    source: &Source,
    alias: Option<String>,
    properties: &crate::Properties,
) -> Result<PushQuery> {
    check_supported(engine, query, source)?;
    if source.source_type == SourceType::Table {
        let flag = |name: &str| {
            properties
                .get(name)
                .or_else(|| engine.config().properties.get(name))
                .map(|v| !v.eq_ignore_ascii_case("false"))
                .unwrap_or(true)
        };
        let settings = crate::runtime::pull_where::ScanSettings {
            table_scan: flag("ksql.query.pull.table.scan.enabled"),
            range_scan: flag("ksql.query.pull.range.scan.enabled"),
        };
        crate::runtime::pull_where::validate(
            query.where_clause.as_ref(),
            &pull_schema(source),
            &settings,
        )?;
    }
    let records = read_current(engine, source, query)?;
    let schema = pull_schema(source);
    let source_ref = SourceRef {
        name: source.name.clone(),
        alias,
        schema: schema.clone(),
    };
    let plan = plan_select(&engine.inner.planner, query, &source_ref, None).map_err(|e| {
        let message = e.to_string();
        match &query.where_clause {
            // ksqlDB quotes the WHERE clause of a pull query in its type errors.
            Some(w) if message.starts_with("Error in WHERE expression") => {
                let w = ksql_null_literals(w);
                let text = match &w {
                    datafusion::sql::sqlparser::ast::Expr::BinaryOp { .. } => format!("({w})"),
                    other => other.to_string(),
                };
                EngineError::statement(format!("{message}\nStatement: {text}"))
            }
            _ => EngineError::from(e),
        }
    })?;
    let decoder = SourceDecoder::new(
        source.clone(),
        RowSchema::new(&source.name, &source.schema)?,
    );
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let limit = plan.limit.map(|l| l as usize);
    for chunk in records.chunks(4096) {
        if limit.is_some_and(|l| rows.len() >= l) {
            break;
        }
        let decoded = decoder.decode(chunk)?;
        let batch = with_window_columns(&decoded.batch, source, &plan.input, &decoded.windows)?;
        let eval = plan.evaluate(&batch);
        let n = eval.columns.first().map(|c| c.len()).unwrap_or(0);
        for r in 0..n {
            if limit.is_some_and(|l| rows.len() >= l) {
                break;
            }
            rows.push(
                eval.columns
                    .iter()
                    .map(|c| riffle_format::arrow_value_to_json(c.as_ref(), r))
                    .collect(),
            );
        }
    }
    // Tables mark their key columns in the header; streams do not.
    let keys: Vec<&str> = if source.source_type == SourceType::Table {
        schema.key_columns().map(|c| c.name.as_str()).collect()
    } else {
        Vec::new()
    };
    let column_names: Vec<String> = plan.columns.iter().map(|c| c.name.clone()).collect();
    let column_types: Vec<String> = plan.columns.iter().map(|c| c.ty.to_string()).collect();
    let header = plan
        .columns
        .iter()
        .map(|c| {
            let is_key = keys.contains(&c.name.as_str())
                && c.expr
                    .downcast_ref::<ColumnExpr>()
                    .is_some_and(|col| col.name() == c.name);
            format!("`{}` {}{}", c.name, c.ty, if is_key { " KEY" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(", ");
    let count = rows.len();
    let (tx, rx) = mpsc::channel(rows.len() + 2);
    for row in rows {
        // The channel is sized for every row, so this cannot fail.
        let _ = tx.try_send(PushMessage::Row(row));
    }
    if source.source_type == SourceType::Stream {
        let end = if limit.is_some_and(|l| count >= l) {
            "Limit Reached"
        } else {
            "Query Completed"
        };
        let _ = tx.try_send(PushMessage::Done(end.into()));
    }
    let id = {
        let mut state = engine.lock_state()?;
        state.next_push_id += 1;
        format!("query_{}", state.next_push_id)
    };
    Ok(PushQuery {
        id,
        column_names,
        column_types,
        schema: header,
        rows: rx,
    })
}

/// ksqlDB's restrictions on pull queries.
fn check_supported(engine: &Engine, query: &Query, source: &Source) -> Result<()> {
    const MORE: &str = "See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";
    if query.limit.is_some_and(|l| l < 0) {
        return Err(EngineError::statement(
            "Pull queries don't support negative integers in the LIMIT clause. See https://cnfl.io/queries for more info.",
        ));
    }
    if query.window.is_some() {
        return Err(EngineError::statement(format!(
            "Pull queries don't support WINDOW clauses. {MORE}"
        )));
    }
    if !query.group_by.is_empty() {
        return Err(EngineError::statement(format!(
            "Pull queries don't support GROUP BY clauses. {MORE}"
        )));
    }
    for (clause, exprs) in [
        (
            "SELECT",
            query
                .select
                .iter()
                .filter_map(|i| match i {
                    riffle_sql::SelectItem::Expr { expr, .. } => Some(expr.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        (
            "WHERE",
            query.where_clause.iter().map(|w| w.to_string()).collect(),
        ),
    ] {
        for pseudo in [riffle_planner::ROWPARTITION, riffle_planner::ROWOFFSET] {
            if exprs.iter().any(|e| mentions(e, pseudo)) {
                return Err(EngineError::statement(format!(
                    "Pull queries don't support the following columns in {clause} clauses: `{pseudo}`"
                )));
            }
        }
    }
    if source.source_type == SourceType::Table
        && !source.read_only
        && engine.catalog().writers_of(&source.name).is_empty()
    {
        return Err(EngineError::statement(format!(
            "The `{0}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{0} AS SELECT * FROM {0}'. See https://cnfl.io/queries for more info.",
            source.name
        )));
    }
    Ok(())
}

/// The columns a pull query sees: a windowed table's key is followed by its window bounds.
pub(crate) fn pull_schema(source: &Source) -> LogicalSchema {
    if source.window.is_none() {
        return source.schema.clone();
    }
    let mut columns: Vec<Column> = source.schema.key_columns().cloned().collect();
    for name in [WINDOWSTART, WINDOWEND] {
        columns.push(Column {
            name: name.to_string(),
            ty: SqlType::Bigint,
            kind: ColumnKind::Key,
        });
    }
    columns.extend(
        source
            .schema
            .columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Key)
            .cloned(),
    );
    LogicalSchema::new(columns)
}

/// Every record of the source's topic; for a table only the latest per key in key order (as
/// ksqlDB's state store iterates it, which decides the rows a LIMIT keeps), and only the keys
/// `WHERE` pins when it pins them.
fn read_current(engine: &Engine, source: &Source, query: &Query) -> Result<Vec<ConsumedRecord>> {
    let log = engine.log();
    let Some(partitions) = log.partition_count(&source.topic) else {
        return Err(EngineError::NotFound(format!(
            "Topic {} does not exist",
            source.topic
        )));
    };
    if source.source_type == SourceType::Stream {
        let mut all = Vec::new();
        for p in 0..partitions {
            all.extend(crate::runtime::read_partition(log.as_ref(), &source.topic, p, 0)?.0);
        }
        all.sort_by_key(|r| r.seq);
        return Ok(all);
    }
    let keys = crate::runtime::pull_keys::pinned_keys(query.where_clause.as_ref(), source);
    let window_len = match source.window {
        None => 0,
        Some(crate::window::KeyWindow::Time { .. }) => 8,
        Some(crate::window::KeyWindow::Session) => 16,
    };
    engine.inner.table_views.read(
        log.as_ref(),
        &source.topic,
        partitions,
        |latest| match keys {
            None => latest.values().cloned().collect(),
            Some(mut keys) => {
                keys.sort();
                keys.dedup();
                let mut out = Vec::new();
                for key in keys {
                    // Windowed keys are the key bytes followed by the window.
                    for (k, r) in latest.range(bytes::Bytes::from(key.clone())..) {
                        if !k.starts_with(&key) {
                            break;
                        }
                        if k.len() == key.len() + window_len {
                            out.push(r.clone());
                        }
                    }
                }
                out.sort_by(|a, b| a.record.key.cmp(&b.record.key));
                out
            }
        },
    )
}

/// Rebuilds a decoded batch in the pull schema's column order, inserting the window bounds.
pub(crate) fn with_window_columns(
    batch: &RecordBatch,
    source: &Source,
    pull: &RowSchema,
    windows: &[(i64, i64)],
) -> Result<RecordBatch> {
    if source.window.is_none() {
        return Ok(batch.clone());
    }
    let decoded_schema = RowSchema::new(&source.name, &source.schema)?;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(pull.arrow.fields().len());
    for field in pull.arrow.fields() {
        let array: ArrayRef = match field.name().as_str() {
            WINDOWSTART => Arc::new(Int64Array::from_iter_values(windows.iter().map(|w| w.0))),
            WINDOWEND => Arc::new(Int64Array::from_iter_values(windows.iter().map(|w| w.1))),
            name => {
                let i = decoded_schema.arrow.index_of(name)?;
                batch.column(i).clone()
            }
        };
        columns.push(array);
    }
    let n = columns.first().map(|c| c.len()).unwrap_or(0);
    debug_assert!(columns.iter().all(|c| c.len() == n));
    Ok(RecordBatch::try_new(pull.arrow.clone(), columns)?)
}

/// Whether expression text mentions the identifier `name` (any case, as a whole word).
fn mentions(text: &str, name: &str) -> bool {
    text.to_ascii_uppercase()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == name)
}

/// `e` with its NULL literals spelled `null`, as ksqlDB prints them when it quotes a statement.
fn ksql_null_literals(
    e: &datafusion::sql::sqlparser::ast::Expr,
) -> datafusion::sql::sqlparser::ast::Expr {
    use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Ident, Value};
    let mut e = e.clone();
    let _ = visit_expressions_mut(&mut e, |x| {
        if matches!(x, Expr::Value(v) if v.value == Value::Null) {
            *x = Expr::Identifier(Ident::new("null"));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    e
}
