//! Stage 1 of an aggregation repartitioned by its grouping key (servers share the query and it
//! is not grouped by the input's key; see `crate::topics::internal_topics`).
//!
//! Every server reads its assigned partitions of the source and appends each record, unchanged
//! (key, value, timestamp and headers), to the repartition topic, in the partition of the
//! record's group: the murmur2 partition ([`riffle_log::partition_for_key`]) of the grouping
//! values encoded as a JSON key. Stage 2 is the ordinary aggregation reading the repartition
//! topic instead of the source, with the same decoder: every group now lives in one partition,
//! so the per-partition state path applies (a changelog partition per repartition partition).
//!
//! The appends and the source offsets go in one [`Log::commit`], as a stateless query's output
//! does: one transaction under `exactly_once_v2`, offsets after the appends' acknowledgements
//! under `at_least_once`.
//!
//! Every record is forwarded, also those stage 2 will reject (undecodable, a null grouping
//! value, a tombstone, or filtered out by WHERE): stage 2 reports them to the processing log
//! once, as it does without repartitioning. Records that cannot be decoded here keep their
//! source partition. What stage 2 sees as ROWPARTITION and ROWOFFSET are the repartition
//! topic's, as in ksqlDB.

use std::sync::atomic::Ordering;

use riffle_format::Format;
use riffle_log::{partition_for_key, Append, OffsetCommit, Transaction};
use riffle_planner::AggregatePlan;
use riffle_types::{Column, ColumnKind};

use super::{Operator, PersistentQuery, BATCH};
use crate::runtime::decode::DecodedBatch;
use crate::{Engine, EngineError, Result};

/// Where a repartitioned aggregation's input goes, and how its partition is chosen.
pub(crate) struct Repartition {
    /// The repartition topic.
    pub topic: String,
    /// The grouping values as key columns `G0..Gn`, in their declared types.
    key_cols: Vec<Column>,
    format: Format,
}

impl Repartition {
    /// The repartition of `plan`'s input through `topic`.
    pub(crate) fn new(topic: String, plan: &AggregatePlan) -> Result<Repartition> {
        let key_cols = plan
            .group_by
            .iter()
            .enumerate()
            .map(|(i, g)| Column {
                name: format!("G{i}"),
                ty: g.ty.clone(),
                kind: ColumnKind::Key,
            })
            .collect();
        Ok(Repartition {
            topic,
            key_cols,
            format: Format::from_name("JSON")?,
        })
    }

    /// The repartition-topic partition of each of the `records` records `decoded` came from:
    /// by grouping values for decoded rows, `fallback` for records that could not be decoded.
    pub(crate) fn targets(
        &self,
        plan: &AggregatePlan,
        decoded: &DecodedBatch,
        records: usize,
        fallback: u32,
        partitions: u32,
    ) -> Result<Vec<u32>> {
        let mut targets = vec![fallback; records];
        if decoded.batch.num_rows() == 0 {
            return Ok(targets);
        }
        // Errors are stage 2's to report, on the same rows.
        let mut ignored = Vec::new();
        let groups = crate::runtime::aggregate::group_columns(plan, &decoded.batch, &mut ignored)?;
        let keys =
            self.format
                .encode_rows(&self.key_cols, &groups, decoded.batch.num_rows(), true)?;
        for (row, key) in decoded.rows.iter().zip(keys) {
            if let Some(t) = targets.get_mut(*row) {
                *t = partition_of(key.as_deref(), partitions);
            }
        }
        Ok(targets)
    }
}

/// The partition of a group whose encoded grouping values are `key` (`None`: all null).
pub(crate) fn partition_of(key: Option<&[u8]>, partitions: u32) -> u32 {
    partition_for_key(key.unwrap_or_default(), partitions)
}

impl PersistentQuery {
    /// Stage 1: moves a batch of each source partition assigned here to the repartition topic.
    /// Returns the source records moved.
    pub(super) fn repartition_step(&self, engine: &Engine) -> Result<usize> {
        let (Some(rep), Operator::Aggregate(agg)) = (&self.repartition, &self.operator) else {
            return Ok(0);
        };
        let log = engine.log().as_ref();
        let source = &self.source.topic;
        let assigned = match log.assigned_partitions(&self.group, source)? {
            Some(assigned) => assigned,
            None => (0..self.partitions(log)?).collect(),
        };
        let mut positions = self
            .source_positions
            .lock()
            .map_err(|_| EngineError::Internal("query positions lock poisoned".into()))?;
        if positions.assign(&assigned) {
            tracing::info!(query = %self.id, partitions = ?assigned, "source partitions repartitioned here");
        }
        let partitions = self.input_partitions(log)?;
        let mut moved = 0;
        for p in assigned {
            let from = positions.start(log, &self.group, source, p)?;
            let records = log.fetch(source, p, from, BATCH)?;
            let Some(last) = records.last() else { continue };
            let next = last.offset + 1;
            let decoded = self.decoder.decode(&records)?;
            let targets = rep.targets(
                agg.plan(),
                &decoded,
                records.len(),
                p % partitions,
                partitions,
            )?;
            let n = records.len();
            let txn = Transaction {
                appends: records
                    .into_iter()
                    .zip(targets)
                    .map(|(r, partition)| Append {
                        topic: rep.topic.clone(),
                        partition: Some(partition),
                        record: r.record,
                    })
                    .collect(),
                offsets: vec![OffsetCommit {
                    group: self.group.clone(),
                    topic: source.clone(),
                    partition: p,
                    next_offset: next,
                }],
            };
            let still = log
                .assigned_partitions(&self.group, source)?
                .is_none_or(|a| a.contains(&p));
            if !still {
                // Given to another server meanwhile: it starts from the committed offset.
                tracing::info!(query = %self.id, partition = p, "source partition moved to another server; batch dropped");
                break;
            }
            if let Err(e) = log.commit(txn) {
                positions.forget();
                return Err(e.into());
            }
            positions.committed(p, next);
            tracing::debug!(query = %self.id, partition = p, from, next, "source records repartitioned");
            moved += n;
            self.stats.consumed.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn a_group_always_goes_to_one_partition_chosen_by_murmur2() {
        let key = br#""c7""#;
        let p = partition_of(Some(key), 4);
        assert!(p < 4);
        assert_eq!(p, partition_of(Some(key), 4));
        assert_eq!(p, riffle_log::partition_for_key(key, 4));
        assert_eq!(partition_of(None, 4), riffle_log::partition_for_key(b"", 4));
        assert_eq!(partition_of(Some(key), 1), 0);
        // Different groups spread over the partitions.
        let used: std::collections::BTreeSet<u32> = (0..50)
            .map(|i| partition_of(Some(format!("\"c{i}\"").as_bytes()), 4))
            .collect();
        assert_eq!(used.len(), 4, "{used:?}");
    }
}
