//! riffle-log's shared backend checks (`riffle_log::conformance`) run against
//! KafkaLog, each on a fresh Tansu broker. Checks that rely on guarantees
//! Kafka does not give are listed in `KAFKA_DIFFERS` with the reason; the
//! test fails if one of them starts passing (update the list) or if any other
//! check fails. Run with `RIFFLE_KAFKA_TESTS=1`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::common::Broker;
use riffle_kafka::KafkaLog;

/// Checks that fail on Kafka by design, with why.
const KAFKA_DIFFERS: &[(&str, &str)] = &[
    (
        "atomic_commit",
        "Kafka: a transaction's commit marker takes an offset, so offsets are not dense",
    ),
    (
        "failed_commit_changes_nothing",
        "Kafka: seq is the partition offset (no topic-wide order); the rest passes",
    ),
    ("seq_is_topic_wide", "Kafka: no topic-wide append order"),
    (
        "topics_metadata",
        "Tansu: DescribeConfigs reports a config set at creation as a default",
    ),
    (
        "record_contents",
        "librdkafka: a record produced with timestamp 0 gets the current time",
    ),
    (
        "concurrent_producers",
        "Kafka: commit markers make offsets sparse and seq per partition",
    ),
];

#[test]
fn shared_log_checks() {
    if Broker::start("shared_log_checks (probe)").is_none() {
        return;
    }
    let mut failed = Vec::new();
    let mut passed = Vec::new();
    for (name, check) in riffle_log::conformance::checks::<KafkaLog>() {
        let broker = Broker::start(name).expect("broker");
        let log = broker.log();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&log)));
        drop(log);
        match outcome {
            Ok(()) => passed.push(name),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                eprintln!("[conformance] {name} FAILED: {msg}");
                failed.push(name);
            }
        }
    }
    let broker = Broker::start("concurrent_producers").expect("broker");
    let conc = catch_unwind(AssertUnwindSafe(|| {
        riffle_log::conformance::concurrent_producers(Arc::new(broker.log()))
    }));
    match conc {
        Ok(()) => passed.push("concurrent_producers"),
        Err(_) => failed.push("concurrent_producers"),
    }
    eprintln!("[conformance] passed: {passed:?}");
    eprintln!("[conformance] failed: {failed:?}");
    let expected: Vec<&str> = KAFKA_DIFFERS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        failed, expected,
        "conformance failures differ from KAFKA_DIFFERS"
    );
}
