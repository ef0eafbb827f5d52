//! Kafka backend of Riffle's topic log: [`KafkaLog`] implements
//! [`riffle_log::Log`] on rdkafka (with its bundled librdkafka).
//!
//! * Topics are created and deleted with the admin client; metadata comes from
//!   a consumer (which never auto-creates topics).
//! * [`Log::produce`] uses an idempotent producer (`acks=all`, lz4). The
//!   partition is chosen here, with [`riffle_log::partition_for_key`] (Kafka's
//!   murmur2) for keyed records and per-topic round-robin for null keys, so
//!   records land where the embedded log would put them.
//! * [`Log::fetch`] reads with one assigned consumer per partition
//!   (`read_committed`, no group membership).
//! * [`Log::commit`] is one Kafka transaction: the appends plus
//!   `send_offsets_to_transaction` for the offsets (see `txn.rs`).
//! * [`Log::watch`] is bumped by our own writes and by a background thread that
//!   polls the end offsets of every partition read so far (see `watch.rs`).
//!
//! Every method blocks the calling thread until the broker answers; async
//! callers should use `spawn_blocking`.

#![warn(missing_docs)]

mod error;
mod member;
mod options;
mod reader;
mod stats;
mod txn;
mod watch;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use futures::executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header as RdHeader, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use riffle_log::{
    partition_for_key, ConsumedRecord, Log, LogError, Record, Result, TopicInfo, Transaction,
};

pub use error::KafkaLogError;
pub use options::KafkaOptions;

use error::rd;
use reader::Reader;
pub(crate) use stats::Stats;

/// Topics that belong to the broker, not to users; hidden from [`Log::topics`].
const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

/// A reader shared between fetch calls on the same partition.
type SharedReader = Arc<Mutex<Reader>>;

/// How long `/healthcheck` waits for the cluster's metadata before calling Kafka unhealthy
/// (docker-compose probes every 10 s with a 5 s timeout).
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A [`Log`] backed by a Kafka cluster.
pub struct KafkaLog {
    inner: Arc<Inner>,
}

/// The clients and caches shared with the watcher thread.
pub(crate) struct Inner {
    opts: KafkaOptions,
    admin: AdminClient<DefaultClientContext>,
    producer: FutureProducer,
    /// Metadata and watermark queries.
    meta: BaseConsumer,
    /// The transactional producer, created on the first commit.
    txn: Mutex<Option<FutureProducer>>,
    /// One consumer per group id, for committed offsets and group metadata.
    groups: Mutex<HashMap<String, Arc<BaseConsumer>>>,
    /// The consumers that joined a group (with `group_membership`), by group id, with the
    /// topics each is subscribed to.
    members: Mutex<HashMap<String, member::Member>>,
    /// One reader per partition read so far.
    readers: Mutex<HashMap<(String, u32), SharedReader>>,
    /// Partitions fetched from or asked for their end so far: the watcher
    /// polls their end offsets.
    watched: Mutex<BTreeSet<(String, u32)>>,
    /// Partition counts of known topics.
    partitions: RwLock<HashMap<String, u32>>,
    /// Next round-robin partition per topic for null-keyed records.
    round_robin: Mutex<HashMap<String, u32>>,
    /// The change counter behind [`Log::watch`].
    changes: tokio::sync::watch::Sender<u64>,
    /// Counters for [`Log::metrics`].
    pub(crate) stats: Stats,
    /// The cluster's id, learned by [`KafkaLog::ping`].
    cluster_id: std::sync::OnceLock<String>,
}

impl KafkaLog {
    /// Connects to the cluster in `opts` (clients connect lazily; this fails
    /// only on an invalid configuration) and starts the end-offset watcher.
    pub fn connect(opts: KafkaOptions) -> Result<KafkaLog> {
        let admin = opts
            .admin_config()
            .create()
            .map_err(KafkaLogError::Config)?;
        let producer = opts
            .producer_config()
            .create()
            .map_err(KafkaLogError::Config)?;
        let meta = opts
            .consumer_config(None)
            .create()
            .map_err(KafkaLogError::Config)?;
        let (changes, _) = tokio::sync::watch::channel(0);
        let inner = Arc::new(Inner {
            opts,
            admin,
            producer,
            meta,
            txn: Mutex::new(None),
            groups: Mutex::new(HashMap::new()),
            members: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
            watched: Mutex::new(BTreeSet::new()),
            partitions: RwLock::new(HashMap::new()),
            round_robin: Mutex::new(HashMap::new()),
            changes,
            stats: Stats::default(),
            cluster_id: std::sync::OnceLock::new(),
        });
        watch::spawn(Arc::downgrade(&inner));
        Ok(KafkaLog { inner })
    }

    /// Asks the cluster for its metadata, to tell early (within `timeout`) whether the
    /// bootstrap servers answer at all.
    /// Also learns the cluster id, once, for `/info`.
    pub fn ping(&self, timeout: std::time::Duration) -> Result<()> {
        self.inner
            .meta
            .fetch_metadata(None, timeout)
            .map_err(rd("metadata request"))?;
        if self.inner.cluster_id.get().is_none() {
            if let Some(id) = self.inner.meta.client().fetch_cluster_id(timeout) {
                let _ = self.inner.cluster_id.set(id);
            }
        }
        Ok(())
    }
}

impl Inner {
    fn admin_opts(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.opts.timeout))
            .operation_timeout(Some(self.opts.timeout))
    }

    /// Bumps the change counter.
    pub(crate) fn bump(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Partition count of `topic`, from the cache or the broker.
    pub(crate) fn partition_count(&self, topic: &str) -> Result<u32> {
        if let Some(n) = self.partitions.read()?.get(topic) {
            return Ok(*n);
        }
        let info = self
            .topic_meta(Some(topic))?
            .into_iter()
            .next()
            .ok_or_else(|| LogError::UnknownTopic(topic.to_string()))?;
        Ok(info.1)
    }

    /// `(name, partitions, replicas)` of one topic or all, from the broker.
    /// Refreshes the partition-count cache.
    fn topic_meta(&self, topic: Option<&str>) -> Result<Vec<(String, u32, u16)>> {
        // Always ask for every topic: Tansu answers a metadata request for one
        // unknown topic with a null topic name, on which librdkafka 2.12
        // crashes (strcmp(NULL) in its metadata cache).
        let md = self
            .meta
            .fetch_metadata(None, self.opts.timeout)
            .map_err(rd("fetch metadata"))?;
        let mut out = Vec::new();
        let mut cache = self.partitions.write()?;
        for t in md.topics() {
            if t.error().is_some()
                || t.partitions().is_empty()
                || topic.is_some_and(|name| name != t.name())
            {
                continue;
            }
            let n = t.partitions().len() as u32;
            let replicas = t.partitions()[0].replicas().len() as u16;
            cache.insert(t.name().to_string(), n);
            out.push((t.name().to_string(), n, replicas));
        }
        Ok(out)
    }

    /// Fails unless `partition` exists in `topic`.
    pub(crate) fn check_partition(&self, topic: &str, partition: u32) -> Result<u32> {
        let partitions = self.partition_count(topic)?;
        if partition >= partitions {
            return Err(LogError::BadPartition {
                topic: topic.to_string(),
                partition,
                partitions,
            });
        }
        Ok(partitions)
    }

    /// The partition a record goes to, as [`Log::produce`] documents.
    pub(crate) fn pick_partition(
        &self,
        topic: &str,
        partition: Option<u32>,
        record: &Record,
    ) -> Result<u32> {
        if let Some(p) = partition {
            self.check_partition(topic, p)?;
            return Ok(p);
        }
        let partitions = self.partition_count(topic)?;
        if let Some(key) = &record.key {
            return Ok(partition_for_key(key, partitions));
        }
        let mut rr = self.round_robin.lock()?;
        let next = rr.entry(topic.to_string()).or_insert(0);
        let p = *next % partitions;
        *next = (p + 1) % partitions;
        Ok(p)
    }

    /// The (never subscribed) consumer carrying `group.id = group`.
    pub(crate) fn group_consumer(&self, group: &str) -> Result<Arc<BaseConsumer>> {
        let mut groups = self.groups.lock()?;
        if let Some(c) = groups.get(group) {
            return Ok(c.clone());
        }
        let c: BaseConsumer = self
            .opts
            .consumer_config(Some(group))
            .create()
            .map_err(KafkaLogError::Config)?;
        let c = Arc::new(c);
        groups.insert(group.to_string(), c.clone());
        Ok(c)
    }

    /// The reader of one partition, created on first use.
    fn reader(&self, topic: &str, partition: u32) -> Result<SharedReader> {
        let mut readers = self.readers.lock()?;
        let key = (topic.to_string(), partition);
        if let Some(r) = readers.get(&key) {
            return Ok(r.clone());
        }
        let consumer = self
            .opts
            .consumer_config(None)
            .create_with_context(reader::ReaderContext)
            .map_err(KafkaLogError::Config)?;
        let r = Arc::new(Mutex::new(Reader::new(consumer, topic, partition)));
        readers.insert(key, r.clone());
        Ok(r)
    }

    /// The `read_committed` end offset of a partition (the last stable offset
    /// when the broker answers ListOffsets with the isolation level).
    pub(crate) fn end(&self, topic: &str, partition: u32) -> Result<u64> {
        let (_, high) = self
            .meta
            .fetch_watermarks(topic, partition as i32, self.opts.timeout)
            .map_err(rd(format!(
                "read end offset of '{topic}' partition {partition}"
            )))?;
        Ok(high.max(0) as u64)
    }

    /// Non-default configuration of `topics`, by topic; empty where the broker
    /// does not answer DescribeConfigs.
    fn configs(&self, topics: &[String]) -> HashMap<String, BTreeMap<String, String>> {
        let specs: Vec<ResourceSpecifier<'_>> =
            topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let mut out = HashMap::new();
        let Ok(results) = block_on(self.admin.describe_configs(&specs, &self.admin_opts())) else {
            return out;
        };
        for (name, res) in topics.iter().zip(results) {
            if let Ok(res) = res {
                let config = res
                    .entries
                    .into_iter()
                    // Tansu flags an entry set at creation as a default
                    // (source Default), so on Tansu this is empty.
                    .filter(|e| !e.is_default)
                    .filter_map(|e| Some((e.name, e.value?)))
                    .collect();
                out.insert(name.clone(), config);
            }
        }
        out
    }
}

/// The rdkafka record for `record` into `topic`/`partition`.
pub(crate) fn future_record<'a>(
    topic: &'a str,
    partition: u32,
    record: &'a Record,
) -> FutureRecord<'a, [u8], [u8]> {
    let mut r = FutureRecord::to(topic)
        .partition(partition as i32)
        .timestamp(record.timestamp);
    if let Some(k) = &record.key {
        r = r.key(k.as_ref());
    }
    if let Some(v) = &record.value {
        r = r.payload(v.as_ref());
    }
    if !record.headers.is_empty() {
        let mut hs = OwnedHeaders::new_with_capacity(record.headers.len());
        for h in &record.headers {
            hs = hs.insert(RdHeader {
                key: &h.key,
                value: h.value.as_deref(),
            });
        }
        r = r.headers(hs);
    }
    r
}

impl Log for KafkaLog {
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: BTreeMap<String, String>,
    ) -> Result<bool> {
        // Kafka's broker rejects these names; Tansu accepts them.
        riffle_log::validate_topic_name(name)?;
        if partitions == 0 || partitions > riffle_log::MAX_PARTITIONS {
            return Err(LogError::InvalidPartitionCount {
                topic: name.to_string(),
                partitions,
            });
        }
        let i = &self.inner;
        let mut topic = NewTopic::new(
            name,
            partitions as i32,
            TopicReplication::Fixed(i.opts.replication_factor),
        );
        for (k, v) in &config {
            topic = topic.set(k, v);
        }
        let op = format!("create topic '{name}'");
        let results =
            block_on(i.admin.create_topics([&topic], &i.admin_opts())).map_err(rd(&op))?;
        match results.into_iter().next() {
            Some(Ok(_)) | None => {
                i.partitions.write()?.insert(name.to_string(), partitions);
                Ok(true)
            }
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
            Some(Err((_, RDKafkaErrorCode::InvalidTopic))) => Err(LogError::InvalidTopicName {
                name: name.to_string(),
                reason: "the broker rejected it",
            }),
            Some(Err((_, code))) => Err(KafkaLogError::Broker { op, code }.into()),
        }
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let i = &self.inner;
        let op = format!("delete topic '{name}'");
        // Drop the readers first: a librdkafka consumer assigned to a deleted
        // topic re-reads its metadata, and Tansu's answer for a missing topic
        // (a null topic name) crashes librdkafka 2.12 (strcmp(NULL)).
        i.readers.lock()?.retain(|(t, _), _| t != name);
        i.watched.lock()?.retain(|(t, _)| t != name);
        let results = block_on(i.admin.delete_topics(&[name], &i.admin_opts())).map_err(rd(&op))?;
        i.partitions.write()?.remove(name);
        match results.into_iter().next() {
            Some(Ok(_)) | None => Ok(()),
            Some(Err((_, RDKafkaErrorCode::UnknownTopicOrPartition))) => {
                Err(LogError::UnknownTopic(name.to_string()))
            }
            Some(Err((_, code))) => Err(KafkaLogError::Broker { op, code }.into()),
        }
    }

    fn topic(&self, name: &str) -> Option<TopicInfo> {
        let i = &self.inner;
        let (name, partitions, replicas) = i.topic_meta(Some(name)).ok()?.into_iter().next()?;
        let config = i
            .configs(std::slice::from_ref(&name))
            .remove(&name)
            .unwrap_or_default();
        Some(TopicInfo {
            name,
            partitions,
            replicas,
            config,
        })
    }

    fn topics(&self) -> Vec<TopicInfo> {
        let i = &self.inner;
        let mut metas = i.topic_meta(None).unwrap_or_default();
        metas.retain(|(n, _, _)| !INTERNAL_TOPICS.contains(&n.as_str()));
        metas.sort();
        let names: Vec<String> = metas.iter().map(|m| m.0.clone()).collect();
        let mut configs = i.configs(&names);
        metas
            .into_iter()
            .map(|(name, partitions, replicas)| TopicInfo {
                config: configs.remove(&name).unwrap_or_default(),
                name,
                partitions,
                replicas,
            })
            .collect()
    }

    fn produce(&self, topic: &str, partition: Option<u32>, record: Record) -> Result<(u32, u64)> {
        let i = &self.inner;
        let p = i.pick_partition(topic, partition, &record)?;
        let op = format!("produce to '{topic}' partition {p}");
        let fut = i
            .producer
            .send_result(future_record(topic, p, &record))
            .map_err(|(e, _)| rd(&op)(e))?;
        match block_on(fut) {
            Ok(Ok(d)) => {
                i.bump();
                Ok((d.partition as u32, d.offset as u64))
            }
            Ok(Err((e, _))) => {
                Stats::inc(&i.stats.produce_errors);
                Err(rd(&op)(e))
            }
            Err(_) => Err(rd(&op)(rdkafka::error::KafkaError::Canceled)),
        }
    }

    fn partition_count(&self, topic: &str) -> Option<u32> {
        self.inner.partition_count(topic).ok()
    }

    fn shares_partitions(&self) -> bool {
        self.inner.opts.group_membership
    }

    fn assigned_partitions(&self, group: &str, topic: &str) -> Result<Option<Vec<u32>>> {
        if !self.inner.opts.group_membership {
            return Ok(None);
        }
        self.inner.assigned(group, topic).map(Some)
    }

    fn metrics(&self) -> Vec<riffle_log::LogMetric> {
        self.inner.stats.metrics()
    }

    fn cluster_id(&self) -> Option<String> {
        self.inner.cluster_id.get().cloned()
    }

    fn reachable(&self) -> Result<()> {
        self.ping(HEALTH_TIMEOUT)
    }

    fn commit(&self, txn: Transaction) -> Result<Vec<(u32, u64)>> {
        self.inner.commit(txn)
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        let i = &self.inner;
        i.check_partition(topic, partition)?;
        // Kafka offsets are i64; nothing lies beyond.
        if max_records == 0 || offset > i64::MAX as u64 {
            return Ok(Vec::new());
        }
        i.watch_partition(topic, partition)?;
        let end = i.end(topic, partition)?;
        let reader = i.reader(topic, partition)?;
        let mut reader = reader.lock()?;
        reader.read(
            offset,
            max_records,
            (i.opts.fetch_timeout, i.opts.timeout),
            end,
        )
    }

    fn end_offset(&self, topic: &str, partition: u32) -> Result<u64> {
        self.inner.check_partition(topic, partition)?;
        self.inner.watch_partition(topic, partition)?;
        let listed = self.inner.end(topic, partition)?;
        Ok(listed.max(self.inner.fetched_end(topic, partition).unwrap_or(0)))
    }

    fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Result<Option<u64>> {
        let i = &self.inner;
        i.check_partition(topic, partition)?;
        let consumer = i.group_consumer(group)?;
        let op = format!("read offsets of group '{group}'");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition as i32);
        let tpl = consumer
            .committed_offsets(tpl, i.opts.timeout)
            .map_err(rd(&op))?;
        Ok(tpl
            .find_partition(topic, partition as i32)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(o as u64),
                _ => None,
            }))
    }

    fn delete_group(&self, group: &str) -> Result<()> {
        let i = &self.inner;
        i.groups.lock()?.remove(group);
        // Dropping the member leaves the group.
        i.members.lock()?.remove(group);
        let op = format!("delete group '{group}'");
        let results =
            block_on(i.admin.delete_groups(&[group], &i.admin_opts())).map_err(rd(&op))?;
        match results.into_iter().next() {
            Some(Ok(_))
            | None
            | Some(Err((_, RDKafkaErrorCode::GroupIdNotFound)))
            | Some(Err((_, RDKafkaErrorCode::NotCoordinator))) => Ok(()),
            Some(Err((_, code))) => Err(KafkaLogError::Broker { op, code }.into()),
        }
    }

    fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }
}

impl Inner {
    /// The partitions the watcher polls: every partition read so far.
    pub(crate) fn watched(&self) -> Vec<(String, u32)> {
        self.watched
            .lock()
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds a partition to the ones the watcher polls.
    fn watch_partition(&self, topic: &str, partition: u32) -> Result<()> {
        let mut w = self.watched.lock()?;
        if !w.contains(&(topic.to_string(), partition)) {
            w.insert((topic.to_string(), partition));
        }
        Ok(())
    }

    /// The end offset a reader of the partition last saw in a fetch response
    /// (see `Reader::read` for why ListOffsets alone is not trusted).
    fn fetched_end(&self, topic: &str, partition: u32) -> Option<u64> {
        let reader = self
            .readers
            .lock()
            .ok()?
            .get(&(topic.to_string(), partition))?
            .clone();
        let reader = reader.try_lock().ok()?;
        reader.fetched_end().map(|e| e as u64)
    }

    /// End offsets of `parts` in one ListOffsets round (per broker), raised to
    /// what our readers' fetch responses reported.
    pub(crate) fn ends(&self, parts: &[(String, u32)]) -> Result<Vec<i64>> {
        let mut tpl = TopicPartitionList::new();
        for (t, p) in parts {
            tpl.add_partition_offset(t, *p as i32, Offset::End)
                .map_err(rd("poll end offsets"))?;
        }
        let res = self
            .meta
            .offsets_for_times(tpl, self.opts.timeout)
            .map_err(rd("poll end offsets"))?;
        Ok(parts
            .iter()
            .map(|(t, p)| {
                let listed = res
                    .find_partition(t, *p as i32)
                    .and_then(|e| e.offset().to_raw())
                    .unwrap_or(-1);
                let fetched = self.fetched_end(t, *p).map_or(-1, |e| e as i64);
                listed.max(fetched)
            })
            .collect())
    }
}
