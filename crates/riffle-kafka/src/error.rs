//! Errors of the Kafka backend, and their mapping onto [`LogError`].

use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use riffle_log::LogError;

/// What can go wrong while talking to the Kafka cluster.
#[derive(Debug, thiserror::Error)]
pub enum KafkaLogError {
    /// A client (producer, consumer or admin client) call failed.
    #[error(
        "Kafka {op} failed: {source}; check that bootstrap.servers points at a running \
         broker and that it accepts this request"
    )]
    Client {
        /// The operation, e.g. `create topic 'x'`.
        op: String,
        /// The librdkafka error.
        #[source]
        source: RdError,
    },

    /// The broker answered one item of a request with an error code.
    #[error("Kafka {op} failed: the broker answered {code:?} ({code})")]
    Broker {
        /// The operation, e.g. `delete group 'g'`.
        op: String,
        /// The broker's error code.
        code: RDKafkaErrorCode,
    },

    /// A transaction could not be committed; it was aborted, so none of its
    /// records or offsets are visible to `read_committed` consumers.
    #[error(
        "Kafka transaction failed and was aborted: {source}; nothing of it was committed, \
         retry the step"
    )]
    Transaction {
        /// The librdkafka error.
        #[source]
        source: RdError,
    },

    /// A read found no record within its patience although the partition's end showed
    /// records beyond where it read.
    #[error(
        "Kafka fetch from '{topic}' partition {partition} at offset {offset} stalled: the \
         partition ends at {end}, but no record arrived within {waited:?}; check that the \
         broker is reachable and not overloaded"
    )]
    Stalled {
        /// The topic read.
        topic: String,
        /// The partition read.
        partition: u32,
        /// Where the read started.
        offset: u64,
        /// The end offset the broker reported.
        end: u64,
        /// How long the read waited.
        waited: std::time::Duration,
    },

    /// A server property has a value the Kafka backend does not accept.
    #[error("invalid value '{value}' for {key}: {expected}")]
    Property {
        /// The property name as given.
        key: String,
        /// The value as given.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },

    /// A client could not be created from the configuration.
    #[error("invalid Kafka client configuration: {0}; fix the property or remove it")]
    Config(#[source] RdError),
}

impl KafkaLogError {
    /// A [`KafkaLogError::Client`] for `op`.
    pub(crate) fn client(op: impl Into<String>, source: RdError) -> Self {
        KafkaLogError::Client {
            op: op.into(),
            source,
        }
    }
}

impl From<KafkaLogError> for LogError {
    fn from(e: KafkaLogError) -> Self {
        LogError::Backend(e.to_string())
    }
}

/// Shorthand: wraps an rdkafka error as a [`LogError`] for operation `op`.
pub(crate) fn rd(op: impl Into<String>) -> impl FnOnce(RdError) -> LogError {
    let op = op.into();
    move |e| KafkaLogError::client(op, e).into()
}
