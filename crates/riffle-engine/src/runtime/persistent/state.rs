//! Which input partitions a persistent query processes on this server, and rebuilding an
//! aggregation's state for them.
//!
//! With one server (or a log that does not share work) a query processes every partition and
//! rebuilds its state once, at its first step. When servers of one service share a query's
//! consumer group (Kafka), each processes the partitions assigned to it, with three cases for
//! aggregations:
//!
//! * grouped by the input's key (`co_partitioned`): every group lives in one input partition,
//!   so partitions are aggregated independently; the changelog has a partition per input
//!   partition, and a server restores the changelog partitions of the input partitions it
//!   gains, as Kafka Streams restores a task's state;
//! * grouped otherwise, over a stream: the query re-keys its input through a repartition topic
//!   (see `repartition`), whose partitions are then the input here, as in the first case;
//! * grouped otherwise, over a table, or with a one-partition changelog left by an older
//!   version: a group's rows may be in any partition, and the aggregation runs whole on the
//!   server assigned partition 0, which rebuilds the whole state from the (one-partition)
//!   changelog, or by replaying the input, when it becomes that server. (A table's rows would
//!   need their previous value repartitioned too, to retract it from its old group.)

use std::sync::atomic::Ordering;

use riffle_log::Log;

use super::{Operator, PersistentQuery, BATCH};
use crate::{Engine, EngineError, Result};

impl PersistentQuery {
    /// The input partitions this server processes now (see the module docs).
    pub(super) fn owned_partitions(&self, log: &dyn Log) -> Result<Vec<u32>> {
        let all: Vec<u32> = (0..self.input_partitions(log)?).collect();
        let Some(assigned) = log.assigned_partitions(&self.group, self.input_topic())? else {
            if let Ok(mut last) = self.owned.lock() {
                last.clone_from(&all);
            }
            return Ok(all);
        };
        let Operator::Aggregate(agg) = &self.operator else {
            if let Ok(mut last) = self.owned.lock() {
                last.clone_from(&assigned);
            }
            return Ok(assigned);
        };
        let per_partition = self.per_partition_state(log)?;
        let owned = if per_partition {
            assigned
        } else if assigned.contains(&0) {
            all
        } else {
            Vec::new()
        };
        let mut last = self
            .owned
            .lock()
            .map_err(|_| EngineError::Internal("query ownership lock poisoned".into()))?;
        if per_partition {
            // Partitions given away must be restored again if they come back.
            self.restored_parts
                .lock()
                .map_err(|_| EngineError::Internal("restored partitions lock poisoned".into()))?
                .retain(|p| owned.contains(p));
        } else if owned.iter().any(|p| !last.contains(p)) {
            tracing::info!(query = %self.id, "this server now runs the aggregation; rebuilding its state");
            agg.reset()?;
            self.restored.store(false, Ordering::SeqCst);
        }
        if *last != owned {
            tracing::info!(query = %self.id, partitions = ?owned, "input partitions processed here");
        }
        *last = owned.clone();
        Ok(owned)
    }

    /// Forgets an aggregation's in-memory state after a batch was processed but not committed
    /// (its partition moved, or the commit failed): the state already counts that batch, which
    /// will be processed again. The next step rebuilds the state from the committed changelog
    /// (or input), which matches the committed offsets.
    pub(super) fn invalidate_state(&self) -> Result<()> {
        let Operator::Aggregate(agg) = &self.operator else {
            return Ok(());
        };
        agg.reset()?;
        self.restored.store(false, Ordering::SeqCst);
        self.restored_parts
            .lock()
            .map_err(|_| EngineError::Internal("restored partitions lock poisoned".into()))?
            .clear();
        Ok(())
    }

    /// Whether this server still processes input partition `p` (asked again just before a
    /// commit: the assignment may have changed while the batch was processed).
    pub(super) fn still_owned(&self, log: &dyn Log, p: u32) -> Result<bool> {
        let Some(assigned) = log.assigned_partitions(&self.group, self.input_topic())? else {
            return Ok(true);
        };
        Ok(match &self.operator {
            Operator::Aggregate(_) if !self.per_partition_state(log)? => assigned.contains(&0),
            _ => assigned.contains(&p),
        })
    }

    /// Whether the aggregation's state is split by input partition: grouped by the input's key,
    /// with a changelog partition per input partition (older changelogs have one partition).
    pub(super) fn per_partition_state(&self, log: &dyn Log) -> Result<bool> {
        if let Some(known) = self.per_partition.get() {
            return Ok(*known);
        }
        let Operator::Aggregate(agg) = &self.operator else {
            return Ok(*self.per_partition.get_or_init(|| false));
        };
        let split = match agg.changelog_topic() {
            Some(topic) if agg.co_partitioned() || self.repartition.is_some() => {
                let parts = log.partition_count(topic).unwrap_or(1);
                parts > 1 && parts == self.input_partitions(log)?
            }
            _ => false,
        };
        Ok(*self.per_partition.get_or_init(|| split))
    }

    /// Rebuilds an aggregation's state for the `owned` input partitions: from the changelog
    /// (its partitions of `owned` not restored yet, or its one partition once), or, without a
    /// changelog, by replaying the input from where the query started up to its committed
    /// offsets, discarding the output (it was committed before).
    pub(super) fn restore(&self, engine: &Engine, owned: &[u32]) -> Result<()> {
        let Operator::Aggregate(agg) = &self.operator else {
            return Ok(());
        };
        let log = engine.log().as_ref();
        if let Some(topic) = agg.changelog_topic() {
            if self.per_partition_state(log)? {
                let mut done = self.restored_parts.lock().map_err(|_| {
                    EngineError::Internal("restored partitions lock poisoned".into())
                })?;
                let todo: Vec<u32> = owned
                    .iter()
                    .copied()
                    .filter(|p| !done.contains(p))
                    .collect();
                for p in todo {
                    let (records, _) = crate::runtime::read_partition(log, topic, p, 0)?;
                    agg.restore_from(&records)?;
                    tracing::info!(query = %self.id, partition = p, records = records.len(), "restored aggregation state from its changelog");
                    done.insert(p);
                }
                return Ok(());
            }
            if self.restored.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
            if log.partition_count(topic).is_some() {
                let (records, _) = crate::runtime::read_partition(log, topic, 0, 0)?;
                agg.restore_from(&records)?;
                if !records.is_empty() {
                    tracing::info!(query = %self.id, records = records.len(), "restored aggregation state from its changelog");
                }
                return Ok(());
            }
        } else if self.restored.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut replayed = 0usize;
        for p in 0..self.partitions(log)? {
            let start = log
                .committed_offset(&self.start_group(), &self.source.topic, p)?
                .unwrap_or(0);
            let end = log
                .committed_offset(&self.group, &self.source.topic, p)?
                .unwrap_or(0);
            let mut from = start;
            while from < end {
                let max = usize::try_from(end - from).unwrap_or(BATCH).min(BATCH);
                let records = log.fetch(&self.source.topic, p, from, max)?;
                let Some(last) = records.last() else { break };
                from = last.offset + 1;
                replayed += records.len();
                let decoded = self.decoder.decode(&records)?;
                let mut ignored = Vec::new();
                agg.process(&decoded, &mut ignored)?;
            }
        }
        if replayed > 0 {
            tracing::info!(query = %self.id, records = replayed, "restored aggregation state");
        }
        Ok(())
    }
}
