//! A persistent query: reads its source from committed offsets, writes results and the new
//! offsets in one atomic log commit, so a crash at any point neither loses nor duplicates output.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::arrow::array::{Array, Int64Array};
use riffle_log::{Append, Log, OffsetCommit, Transaction};
use riffle_planner::{select_rows, AggregatePlan, SelectPlan};

use crate::catalog::{Source, SourceType};
use crate::runtime::agg_changelog::Changelog;
use crate::runtime::aggregate::Aggregator;
use crate::runtime::decode::{select_vec, DecodedBatch, SourceDecoder};
use crate::runtime::encode::SinkEncoder;
use crate::{Engine, EngineError, Result};

mod positions;
mod repartition;
mod state;

/// Records read per partition per step: large enough to amortise per-batch costs.
const BATCH: usize = 2048;

/// Counters of a running query.
#[derive(Default)]
struct QueryStats {
    consumed: AtomicU64,
    produced: AtomicU64,
    errors: AtomicU64,
}

/// What a running persistent query has done, for the metrics endpoint.
#[derive(Debug, Clone)]
pub struct QueryMetrics {
    /// Query id.
    pub id: String,
    /// Input topic.
    pub topic: String,
    /// Records read since the query started in this process.
    pub consumed: u64,
    /// Records written to the sink since then.
    pub produced: u64,
    /// Records that failed (deserialization, expressions, late records) since then.
    pub errors: u64,
    /// Consumer lag per input partition: records not yet processed.
    pub lag: Vec<(u32, u64)>,
    /// Input partitions this server processed at the query's last step (all of them unless
    /// servers share the query).
    pub partitions: Vec<u32>,
    /// The repartition topic, when the query re-keys its input through one (an aggregation
    /// not grouped by the input's key, with servers sharing the query).
    pub repartition_topic: Option<String>,
    /// Consumer lag per repartition-topic partition aggregated on this server.
    pub repartition_lag: Vec<(u32, u64)>,
    /// Repartition-topic partitions this server aggregated at the query's last step.
    pub repartition_partitions: Vec<u32>,
}

impl PersistentQuery {
    /// The query's counters and current lag.
    pub(crate) fn metrics(&self, log: &dyn Log) -> QueryMetrics {
        let lag = |topic: &str, parts: Vec<u32>| -> Vec<(u32, u64)> {
            parts
                .into_iter()
                .map(|p| {
                    let end = log.end_offset(topic, p).unwrap_or(0);
                    let done = log
                        .committed_offset(&self.group, topic, p)
                        .ok()
                        .flatten()
                        .unwrap_or(0);
                    (p, end.saturating_sub(done))
                })
                .collect()
        };
        let owned = |m: &Mutex<Vec<u32>>| m.lock().map(|o| o.clone()).unwrap_or_default();
        let repartition_topic = self.repartition.as_ref().map(|r| r.topic.clone());
        let (partitions, repartition_partitions) = match &repartition_topic {
            Some(_) => (
                self.source_positions
                    .lock()
                    .map(|p| p.partitions().to_vec())
                    .unwrap_or_default(),
                owned(&self.owned),
            ),
            None => (owned(&self.owned), Vec::new()),
        };
        QueryMetrics {
            // Of the partitions aggregated here: on Kafka, asking the end of a partition of a
            // topic this server never read can wait for the whole request timeout.
            repartition_lag: repartition_topic
                .as_deref()
                .map(|t| lag(t, repartition_partitions.clone()))
                .unwrap_or_default(),
            repartition_topic,
            repartition_partitions,
            partitions,
            id: self.id.clone(),
            topic: self.source.topic.clone(),
            consumed: self.stats.consumed.load(Ordering::Relaxed),
            produced: self.stats.produced.load(Ordering::Relaxed),
            errors: self.stats.errors.load(Ordering::Relaxed),
            lag: lag(
                &self.source.topic,
                (0..log.partition_count(&self.source.topic).unwrap_or(0)).collect(),
            ),
        }
    }
}

/// Settings of a persistent query taken from its properties.
pub(crate) struct QueryOptions {
    /// `ksql.timestamp.throw.on.invalid`.
    pub strict_timestamps: bool,
    /// Aggregations emit only a key's last update per commit (`cache.max.bytes.buffering` > 0).
    pub coalesce: bool,
    /// The changelog topic of an aggregation's state, when it has one.
    pub changelog_topic: Option<String>,
    /// The repartition topic of an aggregation re-keyed by its grouping values, when it has
    /// one (see `crate::topics::internal_topics`).
    pub repartition_topic: Option<String>,
}

/// What a persistent query computes.
#[allow(clippy::large_enum_variant)] // built once per query
pub(crate) enum QueryPlan {
    /// Filter and projection, record by record.
    Select(SelectPlan),
    /// GROUP BY with aggregate functions (and windows).
    Aggregate(AggregatePlan),
}

#[allow(clippy::large_enum_variant)] // built once per query
enum Operator {
    Select {
        plan: SelectPlan,
        encoder: SinkEncoder,
        /// A table source: rows the filter drops, and deleted rows, become tombstones.
        table: bool,
    },
    Aggregate(Aggregator),
}

/// A running persistent query.
pub(crate) struct PersistentQuery {
    pub id: String,
    group: String,
    source: Source,
    sink: Source,
    operator: Operator,
    decoder: SourceDecoder,
    stopped: AtomicBool,
    /// Counters since the query started in this process.
    stats: QueryStats,
    /// Whether a stateful operator's state has been rebuilt (see `restore`).
    restored: AtomicBool,
    /// The input partitions this server processed at the last step, when servers share the
    /// query (see `owned_partitions`); with a repartition topic, that topic's partitions.
    owned: Mutex<Vec<u32>>,
    /// Stage 1 of an aggregation re-keyed through a repartition topic (see `repartition`).
    repartition: Option<repartition::Repartition>,
    /// With a repartition topic: stage 1's source partitions and positions (see
    /// `positions`).
    source_positions: Mutex<positions::Positions>,
    /// The operator's input partitions and positions (see `positions`).
    input_positions: Mutex<positions::Positions>,
    /// Changelog partitions whose state has been restored (per-partition changelogs).
    restored_parts: Mutex<std::collections::BTreeSet<u32>>,
    /// Whether the aggregation's state is split by input partition (see
    /// `per_partition_state`), decided once.
    per_partition: std::sync::OnceLock<bool>,
    /// One step at a time: steps read and commit offsets.
    step_lock: Mutex<()>,
}

impl PersistentQuery {
    pub(crate) fn new(
        id: String,
        group: String,
        source: Source,
        sink: Source,
        plan: QueryPlan,
        options: QueryOptions,
    ) -> Result<Self> {
        let QueryOptions {
            strict_timestamps,
            coalesce,
            changelog_topic,
            repartition_topic,
        } = options;
        let repartition = match (&plan, repartition_topic) {
            (QueryPlan::Aggregate(plan), Some(topic)) => {
                Some(repartition::Repartition::new(topic, plan)?)
            }
            _ => None,
        };
        let (decoder, operator) = match plan {
            QueryPlan::Select(plan) => (
                SourceDecoder::new(source.clone(), plan.input.clone())
                    .with_strict_timestamps(strict_timestamps),
                Operator::Select {
                    encoder: SinkEncoder::new(sink.clone(), &plan),
                    table: source.source_type == SourceType::Table,
                    plan,
                },
            ),
            QueryPlan::Aggregate(plan) => (
                SourceDecoder::new(source.clone(), plan.input.clone())
                    .with_strict_timestamps(strict_timestamps),
                {
                    let changelog = changelog_topic
                        .map(|t| Changelog::new(t, &plan))
                        .transpose()?;
                    Operator::Aggregate(
                        Aggregator::new(plan, &source, Some(&sink))
                            .with_coalescing(coalesce)
                            .with_changelog(changelog),
                    )
                },
            ),
        };
        Ok(PersistentQuery {
            id,
            group,
            source,
            sink,
            operator,
            decoder,
            stopped: AtomicBool::new(false),
            restored: AtomicBool::new(false),
            owned: Mutex::new(Vec::new()),
            repartition,
            source_positions: Mutex::new(Default::default()),
            input_positions: Mutex::new(Default::default()),
            restored_parts: Mutex::new(Default::default()),
            per_partition: std::sync::OnceLock::new(),
            stats: QueryStats::default(),
            step_lock: Mutex::new(()),
        })
    }

    /// Commits starting offsets for partitions that have none yet (a new query); a restarted
    /// query keeps the offsets it committed.
    pub(crate) fn init_offsets(&self, log: &dyn Log, earliest: bool) -> Result<()> {
        let partitions = self.partitions(log)?;
        let mut txn = Transaction::default();
        for p in 0..partitions {
            if log
                .committed_offset(&self.group, &self.source.topic, p)?
                .is_none()
            {
                let start = if earliest {
                    0
                } else {
                    log.end_offset(&self.source.topic, p)?
                };
                txn.offsets.push(OffsetCommit {
                    group: self.group.clone(),
                    topic: self.source.topic.clone(),
                    partition: p,
                    next_offset: start,
                });
                // Where the query started, so that stateful operators can rebuild their state
                // after a restart by replaying their input up to the committed offsets.
                txn.offsets.push(OffsetCommit {
                    group: self.start_group(),
                    topic: self.source.topic.clone(),
                    partition: p,
                    next_offset: start,
                });
            }
        }
        if let Some(rep) = &self.repartition {
            // The repartition topic is read from its start: it only holds this query's input.
            for p in 0..self.input_partitions(log)? {
                if log.committed_offset(&self.group, &rep.topic, p)?.is_none() {
                    txn.offsets.push(OffsetCommit {
                        group: self.group.clone(),
                        topic: rep.topic.clone(),
                        partition: p,
                        next_offset: 0,
                    });
                }
            }
        }
        if !txn.offsets.is_empty() {
            log.commit(txn)?;
        }
        Ok(())
    }

    fn start_group(&self) -> String {
        format!("{}-start", self.group)
    }

    /// The topic the query's operator reads: the repartition topic when there is one (stage
    /// 2), else the source's.
    fn input_topic(&self) -> &str {
        self.repartition
            .as_ref()
            .map_or(&self.source.topic, |r| &r.topic)
    }

    /// Partition count of [`Self::input_topic`].
    fn input_partitions(&self, log: &dyn Log) -> Result<u32> {
        match &self.repartition {
            None => self.partitions(log),
            Some(rep) => log.partition_count(&rep.topic).ok_or_else(|| {
                EngineError::NotFound(format!(
                    "Repartition topic '{}' of query {} no longer exists",
                    rep.topic, self.id
                ))
            }),
        }
    }

    /// Partition count of the source's topic.
    fn partitions(&self, log: &dyn Log) -> Result<u32> {
        log.partition_count(&self.source.topic).ok_or_else(|| {
            EngineError::NotFound(format!(
                "Topic '{}' of source {} no longer exists",
                self.source.topic, self.source.name
            ))
        })
    }

    /// Stops the query; a running task ends at its next step.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Processes what is available, one batch per partition; returns records consumed.
    pub(crate) fn step(&self, engine: &Engine) -> Result<usize> {
        if self.is_stopped() {
            return Ok(0);
        }
        let _guard = self
            .step_lock
            .lock()
            .map_err(|_| EngineError::Internal("query step lock poisoned".into()))?;
        let log = engine.log().as_ref();
        let moved = self.repartition_step(engine)?;
        let owned = self.owned_partitions(log)?;
        if owned.is_empty() {
            return Ok(moved);
        }
        self.restore(engine, &owned)?;
        let input = self.input_topic();
        let mut consumed = moved;
        let mut positions = self
            .input_positions
            .lock()
            .map_err(|_| EngineError::Internal("query positions lock poisoned".into()))?;
        positions.assign(&owned);
        for p in owned {
            let from = positions.start(log, &self.group, input, p)?;
            let records = log.fetch(input, p, from, BATCH)?;
            let Some(last) = records.last() else { continue };
            let next = last.offset + 1;
            consumed += records.len();
            let mut errors = Vec::new();
            let mut decoded = self.decoder.decode(&records)?;
            if let Operator::Select {
                plan, table: false, ..
            } = &self.operator
            {
                if plan.filter.is_some() {
                    decoded = decoded.without_null_values()?;
                }
            }
            errors.extend(decoded.errors.iter().cloned());
            let mut txn = Transaction::default();
            let out = self.process(&decoded, &mut errors).map_err(|e| match e {
                // Kafka Streams stops the task on a record it cannot serialize.
                EngineError::Format(riffle_format::FormatError::Serialization(m)) => {
                    EngineError::statement(format!(
                        "Exception caught in process. query={}, topic={}, \
                         partition={p}, offsets={from}..{next}: Unable to serialize \
                         record: {m}",
                        self.id, input
                    ))
                }
                other => other,
            })?;
            let produced = out.len() as u64;
            txn.appends = out
                .into_iter()
                .map(|record| Append {
                    topic: self.sink.topic.clone(),
                    partition: None,
                    record,
                })
                .collect();
            if let Operator::Aggregate(agg) = &self.operator {
                if let Some(topic) = agg.changelog_topic() {
                    let topic = topic.to_string();
                    let partition = Some(if self.per_partition_state(log)? { p } else { 0 });
                    txn.appends
                        .extend(agg.take_changelog()?.into_iter().map(|record| Append {
                            topic: topic.clone(),
                            partition,
                            record,
                        }));
                }
            }
            txn.offsets.push(OffsetCommit {
                group: self.group.clone(),
                topic: input.to_string(),
                partition: p,
                next_offset: next,
            });
            crate::runtime::push::log_processing_errors(engine, &self.id, &errors, &mut txn);
            if !self.still_owned(log, p)? {
                // A rebalance gave the partition to another server while this batch was
                // processed: drop it; the new owner starts from the last committed offset.
                tracing::info!(query = %self.id, partition = p, "partition moved to another server; batch dropped");
                self.invalidate_state()?;
                positions.forget();
                break;
            }
            if let Err(e) = log.commit(txn) {
                // Nothing of the batch is committed; it will be read again.
                self.invalidate_state()?;
                positions.forget();
                return Err(e.into());
            }
            positions.committed(p, next);
            if self.repartition.is_none() {
                // With a repartition topic, stage 1 counts the source records.
                self.stats
                    .consumed
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
            }
            self.stats.produced.fetch_add(produced, Ordering::Relaxed);
            self.stats
                .errors
                .fetch_add(errors.len() as u64, Ordering::Relaxed);
        }
        Ok(consumed)
    }
}

impl PersistentQuery {
    /// Runs the query's operator over one decoded batch.
    fn process(
        &self,
        decoded: &DecodedBatch,
        errors: &mut Vec<String>,
    ) -> Result<Vec<riffle_log::Record>> {
        if decoded.batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        let (plan, encoder, table) = match &self.operator {
            Operator::Aggregate(agg) => return agg.process(decoded, errors),
            Operator::Select {
                plan,
                encoder,
                table,
            } => (plan, encoder, *table),
        };
        let eval = if table {
            // Keep every row: a table row the filter drops is deleted downstream.
            let mut unfiltered = plan.clone();
            unfiltered.filter = None;
            unfiltered.evaluate(&decoded.batch)
        } else {
            plan.evaluate(&decoded.batch)
        };
        errors.extend(eval.errors.iter().map(|e| e.message.clone()));
        let sel = eval.selection.as_ref();
        let rowtime_col = decoded.batch.column(plan.input.rowtime_index()).clone();
        let rowtime = select_rows(&rowtime_col, sel);
        let rowtime = rowtime
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned()
            .unwrap_or_else(|| Int64Array::from(Vec::<i64>::new()));
        let mut value_null = select_vec(&decoded.value_null, sel);
        if table {
            if let Some(f) = &plan.filter {
                let mut row_errors = Vec::new();
                let mask =
                    riffle_planner::evaluate_rows(f.as_ref(), &decoded.batch, &mut row_errors);
                errors.extend(row_errors.into_iter().map(|e| e.message));
                let mask = mask
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::BooleanArray>()
                    .cloned();
                for (i, null) in value_null.iter_mut().enumerate() {
                    let pass = mask.as_ref().is_some_and(|m| m.is_valid(i) && m.value(i));
                    *null = *null || !pass;
                }
            }
        }
        let headers = select_vec(&decoded.headers, sel);
        let mut records = encoder.encode(&eval.columns, &rowtime, &value_null, &headers, errors)?;
        // A windowed source's rows keep their window in the sink's key.
        if let Some(kw) = self.sink.window.filter(|_| !decoded.windows.is_empty()) {
            let windows = select_vec(&decoded.windows, sel);
            if windows.len() == records.len() {
                for (record, (start, end)) in records.iter_mut().zip(windows) {
                    let key = record.key.as_deref().unwrap_or_default();
                    record.key = Some(kw.encode(key, start, end).into());
                }
            }
        }
        Ok(records)
    }
}

/// The background loop of a persistent query on the server.
pub(crate) async fn run(engine: Engine, query: Arc<PersistentQuery>) {
    let mut watch = engine.log().watch();
    loop {
        if query.is_stopped() {
            return;
        }
        let (e, q) = (engine.clone(), query.clone());
        let result = tokio::task::spawn_blocking(move || q.step(&e)).await;
        match result {
            Ok(Ok(0)) => {
                // Wait for new data, but re-check periodically (e.g. for stop()).
                let _ = tokio::time::timeout(Duration::from_millis(500), watch.changed()).await;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(query = %query.id, error = %e, "persistent query failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::error!(query = %query.id, error = %e, "persistent query task panicked");
                return;
            }
        }
    }
}
