//! Counters of the Kafka backend, reported through [`Log::metrics`](riffle_log::Log::metrics).

use std::sync::atomic::{AtomicU64, Ordering};

/// What [`riffle_log::Log::metrics`] reports.
#[derive(Default)]
pub(crate) struct Stats {
    /// Records the broker did not accept (plain or transactional producer).
    pub produce_errors: AtomicU64,
    /// Transactions committed (exactly-once commits).
    pub transactions_committed: AtomicU64,
    /// Transactions aborted after a failure; nothing of them became visible.
    pub transactions_aborted: AtomicU64,
    /// At-least-once commits whose offsets were committed after their appends.
    pub offset_commits: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Stats {
    /// The counters as [`riffle_log::LogMetric`]s.
    pub(crate) fn metrics(&self) -> Vec<riffle_log::LogMetric> {
        let s = self;
        let metric = |name, help, counter: &AtomicU64| riffle_log::LogMetric {
            name,
            help,
            value: counter.load(Ordering::Relaxed),
        };
        vec![
                metric(
                    "riffle_kafka_produce_errors_total",
                    "Records the Kafka broker did not accept.",
                    &s.produce_errors,
                ),
                metric(
                    "riffle_kafka_transactions_committed_total",
                    "Kafka transactions committed (processing.guarantee=exactly_once_v2).",
                    &s.transactions_committed,
                ),
                metric(
                    "riffle_kafka_transactions_aborted_total",
                    "Kafka transactions aborted after a failure; none of their records or offsets became visible.",
                    &s.transactions_aborted,
                ),
                metric(
                    "riffle_kafka_offset_commits_total",
                    "Offset commits after acknowledged appends (processing.guarantee=at_least_once).",
                    &s.offset_commits,
                ),
            ]
    }
}
