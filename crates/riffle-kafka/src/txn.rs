//! [`Log::commit`](riffle_log::Log::commit) as one Kafka transaction.
//!
//! Appends are produced by a transactional producer and the offset commits are
//! attached with `send_offsets_to_transaction`, so the output records and the
//! consumer-group offsets become visible together (to `read_committed`
//! consumers) or not at all.

use std::collections::BTreeMap;

use futures::executor::block_on;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};
use riffle_log::{LogError, Result, Transaction};
use tracing::warn;

use crate::error::{rd, KafkaLogError};
use crate::{future_record, Inner, Stats};

/// What [`Inner::prepare`] resolved for a commit.
struct Prepared {
    /// Target partition of each append, in order.
    targets: Vec<u32>,
    /// Offsets to commit, per consumer group.
    offsets: Vec<(String, TopicPartitionList)>,
}

impl Inner {
    /// The transactional producer, created and initialised on first use.
    fn txn_producer<'a>(&self, slot: &'a mut Option<FutureProducer>) -> Result<&'a FutureProducer> {
        if slot.is_none() {
            let p: FutureProducer = self
                .opts
                .transactional_config()
                .create()
                .map_err(KafkaLogError::Config)?;
            p.init_transactions(self.opts.timeout)
                .map_err(rd("init transactions"))?;
            *slot = Some(p);
        }
        slot.as_ref()
            .ok_or_else(|| LogError::Internal("transactional producer missing".into()))
    }

    /// Checks `txn` against the topics and resolves what it needs: the target
    /// partition of every append and the offsets per group. Runs before
    /// anything is produced, so that a bad topic never leaves a transaction
    /// open, and picks partitions only then, so that a rejected commit does
    /// not move the round-robin counters.
    fn prepare(&self, txn: &Transaction) -> Result<Prepared> {
        for a in &txn.appends {
            match a.partition {
                Some(p) => self.check_partition(&a.topic, p).map(|_| ())?,
                None => self.partition_count(&a.topic).map(|_| ())?,
            }
        }
        let mut by_group: BTreeMap<String, TopicPartitionList> = BTreeMap::new();
        for o in &txn.offsets {
            self.check_partition(&o.topic, o.partition)?;
            by_group
                .entry(o.group.clone())
                .or_default()
                .add_partition_offset(
                    &o.topic,
                    o.partition as i32,
                    Offset::Offset(o.next_offset as i64),
                )
                .map_err(rd("build offset list"))?;
        }
        let mut targets = Vec::with_capacity(txn.appends.len());
        for a in &txn.appends {
            targets.push(self.pick_partition(&a.topic, a.partition, &a.record)?);
        }
        Ok(Prepared {
            targets,
            offsets: by_group.into_iter().collect(),
        })
    }

    /// Applies `txn`: one Kafka transaction when the options ask for
    /// exactly-once, else the at-least-once path; see [`riffle_log::Log::commit`].
    pub(crate) fn commit(&self, txn: Transaction) -> Result<Vec<(u32, u64)>> {
        if txn.appends.is_empty() && txn.offsets.is_empty() {
            return Ok(Vec::new());
        }
        let prepared = self.prepare(&txn)?;
        if self.opts.exactly_once && !txn.appends.is_empty() {
            self.commit_transaction(&txn, prepared)
        } else {
            // Offsets alone (a batch without output, e.g. a filter that dropped it all) need
            // no transaction even for exactly-once: there is nothing to make atomic with
            // them, the previous transaction has completed (commits are synchronous), and the
            // group member's generation fences a server that lost the partition, as it does
            // for transactional offsets (KIP-447). It saves the coordinator round trips of a
            // transaction per empty batch.
            self.commit_at_least_once(&txn, prepared)
        }
    }

    /// `processing.guarantee=at_least_once`: the appends through the plain
    /// idempotent producer, then, once every one is acknowledged, the offsets
    /// with an ordinary synchronous offset commit. A crash between the two
    /// re-processes the batch (duplicates, never loss); in exchange no
    /// transaction markers are written and no coordinator round trips made.
    fn commit_at_least_once(
        &self,
        txn: &Transaction,
        prepared: Prepared,
    ) -> Result<Vec<(u32, u64)>> {
        let mut pending = Vec::with_capacity(txn.appends.len());
        for (a, &p) in txn.appends.iter().zip(&prepared.targets) {
            let op = format!("produce to '{}' partition {p}", a.topic);
            let fut = self
                .producer
                .send_result(future_record(&a.topic, p, &a.record))
                .map_err(|(e, _)| rd(&op)(e))?;
            pending.push((op, fut));
        }
        let mut placed = Vec::with_capacity(pending.len());
        for (op, fut) in pending {
            match block_on(fut) {
                Ok(Ok(d)) => placed.push((d.partition as u32, d.offset as u64)),
                Ok(Err((e, _))) => {
                    Stats::inc(&self.stats.produce_errors);
                    return Err(rd(&op)(e));
                }
                Err(_) => return Err(rd(&op)(rdkafka::error::KafkaError::Canceled)),
            }
        }
        for (group, tpl) in &prepared.offsets {
            let consumer = self.group_consumer(group)?;
            consumer
                .commit(tpl, CommitMode::Sync)
                .map_err(rd(format!("commit offsets of group '{group}'")))?;
        }
        Stats::inc(&self.stats.offset_commits);
        self.bump();
        Ok(placed)
    }

    /// `processing.guarantee=exactly_once_v2`: everything in one transaction.
    fn commit_transaction(&self, txn: &Transaction, prepared: Prepared) -> Result<Vec<(u32, u64)>> {
        let Prepared { targets, offsets } = prepared;
        let mut groups = Vec::with_capacity(offsets.len());
        for (group, tpl) in offsets {
            let consumer = self.group_consumer(&group)?;
            let meta = consumer.group_metadata().ok_or_else(|| {
                LogError::Backend(format!("no consumer group metadata for group '{group}'"))
            })?;
            groups.push((tpl, meta));
        }

        let mut slot = self.txn.lock()?;
        let producer = self.txn_producer(&mut slot)?;
        producer
            .begin_transaction()
            .map_err(rd("begin transaction"))?;
        let outcome = (|| {
            let mut pending = Vec::with_capacity(txn.appends.len());
            for (a, &p) in txn.appends.iter().zip(&targets) {
                let fut = producer
                    .send_result(future_record(&a.topic, p, &a.record))
                    .map_err(|(e, _)| e)?;
                pending.push(fut);
            }
            // Wait for the acks before committing: rust-rdkafka's
            // commit_transaction first flushes, and its flush, when anything
            // is still queued, polls the event queue for up to 100 ms that
            // the producer's own polling thread empties first, so every
            // commit took >= 100 ms.
            let mut placed = Vec::with_capacity(pending.len());
            for fut in pending {
                match block_on(fut) {
                    Ok(Ok(d)) => placed.push((d.partition as u32, d.offset as u64)),
                    Ok(Err((e, _))) => {
                        Stats::inc(&self.stats.produce_errors);
                        return Err(e);
                    }
                    Err(_) => return Err(rdkafka::error::KafkaError::Canceled),
                }
            }
            for (tpl, meta) in &groups {
                producer.send_offsets_to_transaction(tpl, meta, self.opts.timeout)?;
            }
            producer.commit_transaction(self.opts.timeout)?;
            Ok(placed)
        })();
        match outcome {
            Ok(placed) => {
                Stats::inc(&self.stats.transactions_committed);
                self.bump();
                Ok(placed)
            }
            Err(e) => {
                Stats::inc(&self.stats.transactions_aborted);
                if let Err(abort) = producer.abort_transaction(self.opts.timeout) {
                    // The producer is unusable (fenced or fatal): start afresh.
                    warn!(error = %abort, "aborting a Kafka transaction failed; recreating the producer");
                    *slot = None;
                }
                Err(KafkaLogError::Transaction { source: e }.into())
            }
        }
    }
}
