//! Errors returned by [`Log`](crate::Log) implementations.

use std::path::PathBuf;

/// Everything that can go wrong while storing or reading topics.
///
/// The messages are meant to be shown to users as-is: each says what was
/// wrong and, where there is one, how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The topic does not exist. Topics are never created implicitly.
    #[error("topic '{0}' does not exist; create it before producing to or reading from it")]
    UnknownTopic(String),

    /// A partition number outside `0..partitions` was given.
    #[error(
        "partition {partition} does not exist in topic '{topic}', which has {partitions} \
         partition(s) numbered 0 to {}; use a partition in that range",
        partitions.saturating_sub(1)
    )]
    BadPartition {
        /// The topic that was addressed.
        topic: String,
        /// The partition that was asked for.
        partition: u32,
        /// How many partitions the topic has.
        partitions: u32,
    },

    /// The topic already exists with a configuration that conflicts with the
    /// one requested. [`Log::create_topic`](crate::Log::create_topic) itself
    /// reports an existing topic as `Ok(false)`; this variant is for callers
    /// (and backends) that need to insist on a particular shape.
    #[error(
        "topic '{name}' already exists with {existing} partition(s), but {requested} were \
         requested; use the existing partition count or a different topic name"
    )]
    TopicExists {
        /// The topic name.
        name: String,
        /// The partition count of the existing topic.
        existing: u32,
        /// The partition count that was requested.
        requested: u32,
    },

    /// The topic name breaks Kafka's naming rules.
    #[error(
        "'{name}' is not a valid topic name: {reason}; topic names are 1 to 249 characters \
         from letters, digits, '.', '_' and '-'"
    )]
    InvalidTopicName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A topic was requested with 0 or too many partitions.
    #[error(
        "topic '{topic}' cannot be created with {partitions} partitions; use between 1 and \
         {max} partitions",
        max = crate::MAX_PARTITIONS
    )]
    InvalidPartitionCount {
        /// The topic name.
        topic: String,
        /// The partition count that was requested.
        partitions: u32,
    },

    /// The on-disk log could not be opened.
    #[error(
        "could not open the topic log in '{}': {reason}; check that the directory exists \
         and is writable and that no other Riffle process is using it",
        path.display()
    )]
    Open {
        /// The data directory.
        path: PathBuf,
        /// The underlying error.
        reason: String,
    },

    /// A key, value or header is too large to store.
    #[error(
        "a record field of {size} bytes is too large to store (the limit is 4 GiB); split \
         the data into smaller records"
    )]
    RecordTooLarge {
        /// Size of the offending field in bytes.
        size: usize,
    },

    /// The storage engine failed to read or write.
    #[error(
        "topic storage failed: {0}; check that the data directory is writable and the disk \
         is not full"
    )]
    Storage(String),

    /// Stored data could not be decoded.
    #[error(
        "topic storage is corrupt: {0}; restore the data directory from a backup or delete it \
         to start empty"
    )]
    Corrupt(String),

    /// A remote backend (a Kafka cluster) failed. The message says what failed
    /// and what to check.
    #[error("{0}")]
    Backend(String),

    /// An internal invariant broke (for example, a thread panicked while
    /// holding a lock). The process should be restarted.
    #[error("internal error in topic storage: {0}; restart the server")]
    Internal(String),
}

impl From<rocksdb::Error> for LogError {
    fn from(e: rocksdb::Error) -> Self {
        LogError::Storage(e.into_string())
    }
}

impl<T> From<std::sync::PoisonError<T>> for LogError {
    fn from(_: std::sync::PoisonError<T>) -> Self {
        LogError::Internal("a thread panicked while holding the topic storage lock".to_string())
    }
}
