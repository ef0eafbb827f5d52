//! A persistent query: reads its source from committed offsets, writes results and the new
//! offsets in one atomic log commit, so a crash at any point neither loses nor duplicates output.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::arrow::array::{Array, Int64Array};
use riffle_log::{Append, Log, OffsetCommit, Transaction};
use riffle_planner::{select_rows, SelectPlan};

use crate::catalog::Source;
use crate::runtime::decode::{select_vec, SourceDecoder};
use crate::runtime::encode::SinkEncoder;
use crate::{Engine, EngineError, Result};

/// Records read per partition per step: large enough to amortise per-batch costs.
const BATCH: usize = 2048;

/// A running persistent query.
pub(crate) struct PersistentQuery {
    pub id: String,
    group: String,
    source: Source,
    sink: Source,
    plan: SelectPlan,
    decoder: SourceDecoder,
    encoder: SinkEncoder,
    stopped: AtomicBool,
    /// One step at a time: steps read and commit offsets.
    step_lock: Mutex<()>,
}

impl PersistentQuery {
    pub(crate) fn new(
        id: String,
        group: String,
        source: Source,
        sink: Source,
        plan: SelectPlan,
        strict_timestamps: bool,
    ) -> Result<Self> {
        let decoder = SourceDecoder::new(source.clone(), plan.input.clone())
            .with_strict_timestamps(strict_timestamps);
        let encoder = SinkEncoder::new(sink.clone(), &plan);
        Ok(PersistentQuery {
            id,
            group,
            source,
            sink,
            plan,
            decoder,
            encoder,
            stopped: AtomicBool::new(false),
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
            }
        }
        if !txn.offsets.is_empty() {
            log.commit(txn)?;
        }
        Ok(())
    }

    fn partitions(&self, log: &dyn Log) -> Result<u32> {
        log.topic(&self.source.topic)
            .map(|t| t.partitions)
            .ok_or_else(|| {
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
        let mut consumed = 0;
        for p in 0..self.partitions(log)? {
            let from = log
                .committed_offset(&self.group, &self.source.topic, p)?
                .unwrap_or(0);
            let records = log.fetch(&self.source.topic, p, from, BATCH)?;
            let Some(last) = records.last() else { continue };
            let next = last.offset + 1;
            consumed += records.len();
            let mut errors = Vec::new();
            let mut decoded = self.decoder.decode(&records)?;
            if self.plan.filter.is_some() {
                decoded = decoded.without_null_values()?;
            }
            errors.extend(decoded.errors);
            let mut txn = Transaction::default();
            if decoded.batch.num_rows() > 0 {
                let eval = self.plan.evaluate(&decoded.batch);
                errors.extend(eval.errors.iter().map(|e| e.message.clone()));
                let sel = eval.selection.as_ref();
                let rowtime_col = decoded
                    .batch
                    .column(self.plan.input.rowtime_index())
                    .clone();
                let rowtime = select_rows(&rowtime_col, sel);
                let rowtime = rowtime
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .cloned()
                    .unwrap_or_else(|| Int64Array::from(Vec::<i64>::new()));
                let value_null = select_vec(&decoded.value_null, sel);
                let headers = select_vec(&decoded.headers, sel);
                let out = self
                    .encoder
                    .encode(&eval.columns, &rowtime, &value_null, &headers, &mut errors)
                    .map_err(|e| match e {
                        // Kafka Streams stops the task on a record it cannot serialize.
                        EngineError::Format(riffle_format::FormatError::Serialization(m)) => {
                            EngineError::statement(format!(
                                "Exception caught in process. query={}, topic={}, \
                                 partition={p}, offsets={from}..{next}: Unable to serialize \
                                 record: {m}",
                                self.id, self.source.topic
                            ))
                        }
                        other => other,
                    })?;
                txn.appends = out
                    .into_iter()
                    .map(|record| Append {
                        topic: self.sink.topic.clone(),
                        partition: None,
                        record,
                    })
                    .collect();
            }
            txn.offsets.push(OffsetCommit {
                group: self.group.clone(),
                topic: self.source.topic.clone(),
                partition: p,
                next_offset: next,
            });
            crate::runtime::push::log_processing_errors(engine, &self.id, &errors, &mut txn);
            log.commit(txn)?;
        }
        Ok(consumed)
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
