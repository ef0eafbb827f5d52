//! Topic storage for Riffle, following Kafka's data model.
//!
//! A [`Log`] holds named topics, each split into a fixed number of
//! partitions. Every partition is an append-only sequence of [`Record`]s with
//! dense offsets starting at 0. Consumer groups remember the next offset they
//! will read per partition ([`OffsetCommit`]), and [`Log::commit`] appends
//! records and commits offsets atomically, which is what gives persistent
//! queries exactly-once semantics.
//!
//! Two backends are provided:
//!
//! * [`MemoryLog`]: everything in memory; free to create, meant for tests.
//! * [`EmbeddedLog`]: durable, stored in RocksDB in a local directory.
//!
//! A Kafka backend is expected to implement the same trait, so the trait stays
//! close to what Kafka offers (topics, partitions, offsets, groups,
//! transactions).

#![warn(missing_docs)]

use std::collections::BTreeMap;

use bytes::Bytes;

mod codec;
/// The behaviour every backend must share, for other crates' backends and this
/// crate's tests. Always compiled (it is small): a cargo feature enabled only by
/// a dev-dependency would make every crate above this one compile twice.
#[doc(hidden)]
pub mod conformance;
mod embedded;
mod error;
mod memory;
mod partitioner;
mod state;

pub use embedded::{EmbeddedLog, LogOptions};
pub use error::LogError;
pub use memory::MemoryLog;
pub use partitioner::{murmur2, partition_for_key};
pub use state::validate_topic_name;

/// The most partitions a topic may have. Every partition costs memory for its
/// end offset and a seek when an [`EmbeddedLog`] is opened.
pub const MAX_PARTITIONS: u32 = 100_000;

/// Result type of every fallible operation in this crate.
pub type Result<T> = std::result::Result<T, LogError>;

/// A Kafka record header: a string key with an optional binary value.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Header name. Kafka allows duplicates; order is preserved.
    pub key: String,
    /// Header value; `None` is a null value.
    pub value: Option<Bytes>,
}

/// One record as produced to a topic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// Record key; `None` is a null key (round-robin partitioning).
    pub key: Option<Bytes>,
    /// Record value; `None` is a null value (a tombstone in compacted topics).
    pub value: Option<Bytes>,
    /// Record timestamp in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Record headers, in order.
    pub headers: Vec<Header>,
}

impl Record {
    /// A record without headers.
    pub fn new(key: Option<Bytes>, value: Option<Bytes>, timestamp: i64) -> Self {
        Record {
            key,
            value,
            timestamp,
            headers: Vec::new(),
        }
    }
}

/// A record as read back from a partition, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedRecord {
    /// The partition the record is in.
    pub partition: u32,
    /// The record's offset within its partition.
    pub offset: u64,
    /// Topic-wide append sequence: a total order of all appends across the
    /// partitions of this topic (strictly increasing in append order, starting
    /// at 0 for a new topic).
    pub seq: u64,
    /// The record itself.
    pub record: Record,
}

/// Metadata of a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Number of partitions (at least 1).
    pub partitions: u32,
    /// Replication factor (always 1 for the local backends).
    pub replicas: u16,
    /// Topic configuration, e.g. `cleanup.policy=compact`. Stored as given.
    pub config: BTreeMap<String, String>,
}

/// A set of appends and offset commits applied atomically by [`Log::commit`].
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    /// Records to append, in order.
    pub appends: Vec<Append>,
    /// Consumer-group offsets to commit together with the appends.
    pub offsets: Vec<OffsetCommit>,
}

/// One record to append as part of a [`Transaction`].
#[derive(Debug, Clone)]
pub struct Append {
    /// Target topic; it must exist.
    pub topic: String,
    /// Target partition; `None` lets the partitioner pick (by key hash, or
    /// round-robin for null keys).
    pub partition: Option<u32>,
    /// The record to append.
    pub record: Record,
}

/// The position a consumer group has reached in one partition.
#[derive(Debug, Clone)]
pub struct OffsetCommit {
    /// Consumer group id.
    pub group: String,
    /// Topic name; it must exist.
    pub topic: String,
    /// Partition number.
    pub partition: u32,
    /// The next offset the group will read (Kafka's committed offset).
    pub next_offset: u64,
}

/// The storage behind topics.
///
/// Implementations are shared as `Arc<dyn Log>` across threads and tokio
/// tasks; every method takes `&self`. Methods block for at most one storage
/// write; they never wait for data to arrive (use [`Log::watch`] for that).
pub trait Log: Send + Sync + 'static {
    /// Creates a topic with `partitions` partitions (at least 1) and the given
    /// configuration. Returns `Ok(false)` if a topic with that name already
    /// exists (its partitions and configuration are left unchanged).
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: BTreeMap<String, String>,
    ) -> Result<bool>;

    /// Deletes a topic, its records and every consumer-group offset committed
    /// for it. Fails with [`LogError::UnknownTopic`] if it does not exist.
    fn delete_topic(&self, name: &str) -> Result<()>;

    /// Metadata of one topic, if it exists.
    fn topic(&self, name: &str) -> Option<TopicInfo>;

    /// Metadata of all topics, sorted by name.
    fn topics(&self) -> Vec<TopicInfo>;

    /// Appends one record; returns `(partition, offset)`.
    ///
    /// With `partition` `None`, a keyed record goes to
    /// [`partition_for_key`] and a null-keyed record round-robin (per topic,
    /// starting at partition 0).
    fn produce(&self, topic: &str, partition: Option<u32>, record: Record) -> Result<(u32, u64)>;

    /// Atomically appends all records and commits all offsets: either
    /// everything is durable or nothing is (exactly-once for persistent
    /// queries). Returns the `(partition, offset)` of each append in order.
    fn commit(&self, txn: Transaction) -> Result<Vec<(u32, u64)>>;

    /// Reads up to `max_records` records of one partition starting at
    /// `offset`. Returns an empty vector at or past the end of the partition.
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<ConsumedRecord>>;

    /// The next offset to be written in a partition (Kafka's log end offset).
    fn end_offset(&self, topic: &str, partition: u32) -> Result<u64>;

    /// The next offset `group` will read in a partition, if it ever committed
    /// one.
    fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Result<Option<u64>>;

    /// Forgets every offset committed by `group`. Deleting an unknown group
    /// is not an error.
    fn delete_group(&self, group: &str) -> Result<()>;

    /// A counter that changes after every successful append to any topic, so
    /// consumers can sleep until there is new data.
    fn watch(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Partition count of `topic`, `None` when it does not exist. For hot paths: backends
    /// where [`Log::topic`] is costly (Kafka: metadata plus topic configuration) answer from
    /// a cache.
    fn partition_count(&self, topic: &str) -> Option<u32> {
        self.topic(topic).map(|t| t.partitions)
    }

    /// The partitions of `topic` that this process should work on for consumer group `group`,
    /// when the backend shares work between processes (Kafka consumer-group membership: the
    /// first call joins the group, later calls report the current assignment, which is empty
    /// while the group rebalances). `None`: all partitions, no sharing (the local backends).
    fn assigned_partitions(&self, group: &str, topic: &str) -> Result<Option<Vec<u32>>> {
        let _ = (group, topic);
        Ok(None)
    }

    /// Whether several processes may split consumer groups' partitions between them (then
    /// [`Log::assigned_partitions`] answers `Some`). Known up front, without joining a group,
    /// so that a query's internal topics (e.g. a repartition topic) can be decided when it is
    /// created, and the same way on every process that re-creates it. The local backends do
    /// not share.
    fn shares_partitions(&self) -> bool {
        false
    }

    /// Counters the backend keeps about itself (e.g. Kafka transaction aborts), for the
    /// metrics endpoint. The local backends have none.
    fn metrics(&self) -> Vec<LogMetric> {
        Vec::new()
    }

    /// The Kafka cluster id, for `/info` (ksqlDB's `kafkaClusterId`); `None` for the local
    /// backends.
    fn cluster_id(&self) -> Option<String> {
        None
    }

    /// Whether the backend answers now, for `/healthcheck` (ksqlDB's `kafka` component):
    /// the local backends always do; Kafka asks the cluster for its metadata.
    fn reachable(&self) -> Result<()> {
        Ok(())
    }
}

/// One counter of a log backend, in Prometheus terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMetric {
    /// Metric name, e.g. `riffle_kafka_transactions_aborted_total`.
    pub name: &'static str,
    /// One-line description.
    pub help: &'static str,
    /// Current value (a counter since the process started).
    pub value: u64,
}
