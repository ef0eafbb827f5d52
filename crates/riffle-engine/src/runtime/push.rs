//! Push queries (`SELECT … EMIT CHANGES`): transient, read the source and stream rows to a client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use datafusion::arrow::array::Array;
use riffle_log::{Append, Record, Transaction};
use riffle_planner::{plan_select, SelectPlan};
use riffle_sql::{Relation, Statement};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::catalog::Source;
use crate::config::{from_earliest, Properties};
use crate::runtime::aggregate::Aggregator;
use crate::runtime::decode::{DecodedBatch, SourceDecoder};
use crate::{Engine, EngineError, Result};

/// What a push query sends to its client.
#[derive(Debug, Clone, PartialEq)]
pub enum PushMessage {
    /// One result row, columns in select order, as ksqlDB renders them in JSON.
    Row(Vec<Value>),
    /// A table row that was deleted (a tombstone record): its key and window columns, every
    /// value column null. ksqlDB marks these rows with `"tombstone": true`.
    Tombstone(Vec<Value>),
    /// The query failed.
    Error(String),
    /// The query ended: "Limit Reached" or "Query Completed".
    Done(String),
}

/// A started push query. Dropping `rows` ends it.
#[derive(Debug)]
pub struct PushQuery {
    /// Id for `/close-query`.
    pub id: String,
    /// Output column names.
    pub column_names: Vec<String>,
    /// Output column types in ksqlDB's spelling.
    pub column_types: Vec<String>,
    /// Header schema, e.g. ``"`K` STRING, `V` INTEGER"``.
    pub schema: String,
    /// The rows.
    pub rows: mpsc::Receiver<PushMessage>,
}

/// Handle kept by the engine to stop a push query.
pub(crate) struct PushControl {
    stop: Arc<AtomicBool>,
}

pub(crate) fn start(
    engine: &Engine,
    sql: &str,
    properties: &Properties,
    variables: &HashMap<String, String>,
) -> Result<PushQuery> {
    let text = if sql.contains("${") {
        riffle_sql::substitute_variables(sql, variables)?
    } else {
        sql.to_string()
    };
    let mut parsed = riffle_sql::parse_statements(&text)?;
    if parsed.len() != 1 {
        return Err(EngineError::statement(
            "Expected exactly one SELECT statement in the query request",
        ));
    }
    let Statement::Query(query) = parsed.remove(0).statement else {
        return Err(EngineError::statement(
            "The /query and /query-stream endpoints only run SELECT and PRINT statements; send other statements to /ksql",
        ));
    };
    let Relation::Source { name, alias } = &query.from else {
        let suffix = if query.emit.is_none() {
            " See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query."
        } else {
            ""
        };
        return Err(EngineError::statement(if query.emit.is_none() {
            format!("Pull queries don't support JOIN clauses.{suffix}")
        } else {
            "JOIN is not supported yet".to_string()
        }));
    };
    if query.emit.is_none() {
        let source = engine.catalog().source(name)?.clone();
        return crate::runtime::pull::run(engine, &query, &source, alias.clone(), properties);
    }
    let catalog = engine.catalog();
    let source = catalog.source(name)?.clone();
    let aggregating = riffle_planner::is_aggregation(&query);
    // Rows of a windowed source show their window as WINDOWSTART and WINDOWEND.
    let windowed = source.window.is_some() && !aggregating;
    let source_ref = riffle_planner::SourceRef {
        name: name.clone(),
        alias: alias.clone(),
        schema: if windowed {
            crate::runtime::pull::pull_schema(&source)
        } else {
            source.schema.clone()
        },
    };
    let op = if riffle_planner::is_aggregation(&query) {
        let plan =
            riffle_planner::plan_aggregate(&engine.inner.planner, &query, &source_ref, None)?;
        PushOp::Aggregate(Box::new(Aggregator::new(plan, &source, None)))
    } else {
        PushOp::Select(
            plan_select(&engine.inner.planner, &query, &source_ref, None)?,
            windowed.then(|| source.clone()),
        )
    };
    let plan = op.select_plan().clone();
    let id = {
        let mut state = engine.lock_state()?;
        state.next_push_id += 1;
        format!("transient_{}_{}", source.name, state.next_push_id)
    };
    let log = engine.log().clone();
    let partitions = log
        .topic(&source.topic)
        .map(|t| t.partitions)
        .ok_or_else(|| EngineError::NotFound(format!("Topic {} does not exist", source.topic)))?;
    let earliest = from_earliest(properties, &engine.config().properties);
    let mut positions = Vec::with_capacity(partitions as usize);
    for p in 0..partitions {
        positions.push(if earliest {
            0
        } else {
            log.end_offset(&source.topic, p)?
        });
    }
    let column_names: Vec<String> = plan.columns.iter().map(|c| c.name.clone()).collect();
    let column_types: Vec<String> = plan.columns.iter().map(|c| c.ty.to_string()).collect();
    let schema = column_names
        .iter()
        .zip(&column_types)
        .map(|(n, t)| format!("`{n}` {t}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (tx, rx) = mpsc::channel(1024);
    let stop = Arc::new(AtomicBool::new(false));
    engine
        .inner
        .push
        .lock()
        .map_err(|_| EngineError::Internal("push lock poisoned".into()))?
        .insert(id.clone(), PushControl { stop: stop.clone() });
    let decoder_row = if windowed {
        riffle_planner::RowSchema::new(&source.name, &source.schema)?
    } else {
        op.input().clone()
    };
    let decoder = SourceDecoder::new(source.clone(), decoder_row);
    let engine2 = engine.clone();
    let qid = id.clone();
    let topic = source.topic.clone();
    // Only a table's null records are deletions; a stream's are just rows with null values.
    let table = source.source_type == crate::catalog::SourceType::Table;
    std::thread::Builder::new()
        .name(format!("push-{id}"))
        .spawn(move || {
            let mut sent: u64 = 0;
            let limit = plan.limit;
            if limit == Some(0) {
                let _ = tx.blocking_send(PushMessage::Done("Limit Reached".into()));
            }
            'outer: loop {
                if limit == Some(0) {
                    break;
                }
                if stop.load(Ordering::SeqCst) || tx.is_closed() {
                    break;
                }
                let mut progressed = false;
                for (p, pos) in positions.iter_mut().enumerate() {
                    let records = match log.fetch(&topic, p as u32, *pos, 1024) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.blocking_send(PushMessage::Error(e.to_string()));
                            break 'outer;
                        }
                    };
                    let Some(last) = records.last() else { continue };
                    *pos = last.offset + 1;
                    progressed = true;
                    let mut records = records;
                    if table {
                        // A table record without a key cannot be materialized: ksqlDB drops it.
                        records.retain(|r| r.record.key.is_some());
                    }
                    let decoded = match decoder.decode(&records).and_then(|d| {
                        // As in persistent queries, a WHERE clause never passes null values.
                        if plan.filter.is_some() {
                            d.without_null_values()
                        } else {
                            Ok(d)
                        }
                    }) {
                        Ok(d) => d,
                        Err(e) => {
                            let _ = tx.blocking_send(PushMessage::Error(e.to_string()));
                            break 'outer;
                        }
                    };
                    let rows = match op.rows(&decoded, table) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.blocking_send(PushMessage::Error(e.to_string()));
                            break 'outer;
                        }
                    };
                    for (row, deleted) in rows {
                        let msg = if deleted {
                            PushMessage::Tombstone(row)
                        } else {
                            PushMessage::Row(row)
                        };
                        if tx.blocking_send(msg).is_err() {
                            break 'outer;
                        }
                        sent += 1;
                        if limit.is_some_and(|l| sent >= l) {
                            let _ = tx.blocking_send(PushMessage::Done("Limit Reached".into()));
                            break 'outer;
                        }
                    }
                }
                if !progressed {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            if let Ok(mut p) = engine2.inner.push.lock() {
                p.remove(&qid);
            }
        })
        .map_err(|e| EngineError::Internal(format!("cannot start push query thread: {e}")))?;
    Ok(PushQuery {
        id,
        column_names,
        column_types,
        schema,
        rows: rx,
    })
}

/// What a push query computes per batch of input.
#[allow(clippy::large_enum_variant)] // built once per query
enum PushOp {
    /// A filter and projection; the source when it is windowed.
    Select(SelectPlan, Option<Source>),
    Aggregate(Box<Aggregator>),
}

impl PushOp {
    fn select_plan(&self) -> &SelectPlan {
        match self {
            PushOp::Select(p, _) => p,
            PushOp::Aggregate(a) => &a.plan().post,
        }
    }

    fn input(&self) -> &riffle_planner::RowSchema {
        match self {
            PushOp::Select(p, _) => &p.input,
            PushOp::Aggregate(a) => &a.plan().input,
        }
    }

    /// The rows a decoded batch produces, as ksqlDB renders them in JSON, each with whether it
    /// is a deleted table row. `table`: the source is a table, so its null records are deletions.
    fn rows(&self, decoded: &DecodedBatch, table: bool) -> Result<Vec<(Vec<Value>, bool)>> {
        let (columns, deleted, tombstones) = match self {
            PushOp::Select(plan, source) => {
                let columns = match source {
                    None => plan.evaluate(&decoded.batch).columns,
                    Some(source) => {
                        let batch = crate::runtime::pull::with_window_columns(
                            &decoded.batch,
                            source,
                            &plan.input,
                            &decoded.windows,
                        )?;
                        plan.evaluate(&batch).columns
                    }
                };
                // Without a filter every input row yields one output row, so the decoded
                // batch's null-value flags line up with the output (a filter never passes
                // null values: they are removed before).
                let tombstones = if table && plan.filter.is_none() {
                    decoded.value_null.clone()
                } else {
                    Vec::new()
                };
                (columns, Vec::new(), tombstones)
            }
            PushOp::Aggregate(agg) => {
                let mut errors = Vec::new();
                match agg.process_rows(decoded, &mut errors)? {
                    Some(out) => (out.columns, out.value_null, Vec::new()),
                    None => return Ok(Vec::new()),
                }
            }
        };
        let n = columns.first().map(|c| c.len()).unwrap_or(0);
        Ok((0..n)
            .filter(|r| !deleted.get(*r).copied().unwrap_or(false))
            .map(|r| {
                let row = columns
                    .iter()
                    .map(|c| riffle_format::arrow_value_to_json(c.as_ref(), r))
                    .collect();
                (row, tombstones.get(r).copied().unwrap_or(false))
            })
            .collect())
    }
}

pub(crate) fn close(engine: &Engine, id: &str) -> bool {
    match engine.inner.push.lock() {
        Ok(mut p) => match p.remove(id) {
            Some(c) => {
                c.stop.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        },
        Err(_) => false,
    }
}

/// Logs record-level errors, and adds them to `txn` as processing-log records when the
/// `KSQL_PROCESSING_LOG` stream exists, so they commit atomically with the query's output.
pub(crate) fn log_processing_errors(
    engine: &Engine,
    query_id: &str,
    errors: &[String],
    txn: &mut Transaction,
) {
    if errors.is_empty() {
        return;
    }
    for e in errors {
        tracing::warn!(query = %query_id, error = %e, "record skipped");
    }
    let topic = engine.config().processing_log_topic();
    if engine.log().partition_count(&topic).is_none() {
        return;
    }
    let now = chrono::Utc::now().timestamp_millis();
    for e in errors {
        let value = serde_json::json!({
            "LOGGER": format!("processing.{query_id}"),
            "LEVEL": "ERROR",
            "TIME": now,
            "MESSAGE": e,
        });
        txn.appends.push(Append {
            topic: topic.clone(),
            partition: Some(0),
            record: Record {
                key: None,
                value: Some(Bytes::from(value.to_string())),
                timestamp: now,
                headers: vec![],
            },
        });
    }
}
