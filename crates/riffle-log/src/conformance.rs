//! Behaviour every [`Log`] backend must share; run against each backend from
//! its own test module.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::{partition_for_key, Append, Header, Log, LogError, OffsetCommit, Record, Transaction};

/// A named check run on a fresh log.
pub type Check<L> = (&'static str, fn(&L));

/// Runs every check, each on a fresh log from `make`.
#[allow(dead_code)]
pub(crate) fn run_all<L: Log>(make: &dyn Fn() -> L) {
    for (name, check) in checks::<L>() {
        tracing::debug!(check = name, "running conformance check");
        check(&make());
    }
    concurrent_producers(Arc::new(make()));
}

/// Every check but the concurrency one ([`concurrent_producers`]), by name;
/// each expects a fresh log.
pub fn checks<L: Log>() -> Vec<Check<L>> {
    vec![
        ("dense_offsets", dense_offsets),
        ("keyed_partitioning", keyed_partitioning),
        ("round_robin", round_robin),
        ("errors", errors),
        ("atomic_commit", atomic_commit),
        (
            "failed_commit_changes_nothing",
            failed_commit_changes_nothing,
        ),
        ("seq_is_topic_wide", seq_is_topic_wide),
        ("topics_metadata", topics_metadata),
        ("delete_topic", delete_topic),
        ("delete_group", delete_group),
        ("watch_bumps", watch_bumps),
        ("fetch_bounds", fetch_bounds),
        ("record_contents", record_contents),
    ]
}

fn no_config() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn rec(value: &str) -> Record {
    Record::new(None, Some(Bytes::copy_from_slice(value.as_bytes())), 1000)
}

fn keyed(key: &str, value: &str) -> Record {
    Record::new(
        Some(Bytes::copy_from_slice(key.as_bytes())),
        Some(Bytes::copy_from_slice(value.as_bytes())),
        1000,
    )
}

fn append(topic: &str, partition: Option<u32>, record: Record) -> Append {
    Append {
        topic: topic.to_string(),
        partition,
        record,
    }
}

fn offset(group: &str, topic: &str, partition: u32, next_offset: u64) -> OffsetCommit {
    OffsetCommit {
        group: group.to_string(),
        topic: topic.to_string(),
        partition,
        next_offset,
    }
}

fn dense_offsets(log: &impl Log) {
    assert!(log.create_topic("t", 2, no_config()).unwrap());
    for i in 0..10u64 {
        assert_eq!(log.produce("t", Some(0), rec("x")).unwrap(), (0, i));
    }
    assert_eq!(log.produce("t", Some(1), rec("y")).unwrap(), (1, 0));
    assert_eq!(log.end_offset("t", 0).unwrap(), 10);
    assert_eq!(log.end_offset("t", 1).unwrap(), 1);
    let got = log.fetch("t", 0, 0, 100).unwrap();
    let offsets: Vec<u64> = got.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..10).collect::<Vec<_>>());
    assert!(got.iter().all(|r| r.partition == 0));
}

fn keyed_partitioning(log: &impl Log) {
    log.create_topic("t", 7, no_config()).unwrap();
    for key in ["a", "foobar", "21", "customer-42", ""] {
        let (p, _) = log.produce("t", None, keyed(key, "v")).unwrap();
        assert_eq!(p, partition_for_key(key.as_bytes(), 7), "key {key:?}");
    }
    // An explicit partition wins over the key.
    assert_eq!(log.produce("t", Some(3), keyed("a", "v")).unwrap().0, 3);
}

fn round_robin(log: &impl Log) {
    log.create_topic("t", 3, no_config()).unwrap();
    log.create_topic("u", 2, no_config()).unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(log.produce("t", None, rec("v")).unwrap().0);
    }
    // Per-topic counters: "u" starts at 0 regardless of "t".
    assert_eq!(log.produce("u", None, rec("v")).unwrap().0, 0);
    let txn = Transaction {
        appends: (0..3).map(|_| append("t", None, rec("v"))).collect(),
        offsets: vec![],
    };
    got.extend(log.commit(txn).unwrap().into_iter().map(|(p, _)| p));
    assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
}

fn errors(log: &impl Log) {
    log.create_topic("t", 2, no_config()).unwrap();
    let unknown =
        |r: Result<_, LogError>| matches!(r, Err(LogError::UnknownTopic(n)) if n == "nope");
    assert!(unknown(log.produce("nope", None, rec("v")).map(|_| ())));
    assert!(unknown(log.fetch("nope", 0, 0, 1).map(|_| ())));
    assert!(unknown(log.end_offset("nope", 0).map(|_| ())));
    assert!(unknown(log.committed_offset("g", "nope", 0).map(|_| ())));
    assert!(unknown(log.delete_topic("nope")));
    let txn = Transaction {
        appends: vec![],
        offsets: vec![offset("g", "nope", 0, 1)],
    };
    assert!(unknown(log.commit(txn).map(|_| ())));

    let bad = |r: Result<_, LogError>| matches!(r, Err(LogError::BadPartition { partition: 2, partitions: 2, ref topic }) if topic == "t");
    assert!(bad(log.produce("t", Some(2), rec("v")).map(|_| ())));
    assert!(bad(log.fetch("t", 2, 0, 1).map(|_| ())));
    assert!(bad(log.end_offset("t", 2).map(|_| ())));
    assert!(bad(log.committed_offset("g", "t", 2).map(|_| ())));
    let msg = log.end_offset("t", 2).unwrap_err().to_string();
    assert!(
        msg.contains("partition 2") && msg.contains("0 to 1"),
        "{msg}"
    );

    assert!(matches!(
        log.create_topic("bad name", 1, no_config()),
        Err(LogError::InvalidTopicName { .. })
    ));
    assert!(matches!(
        log.create_topic("zero", 0, no_config()),
        Err(LogError::InvalidPartitionCount { .. })
    ));
    assert!(log.topic("zero").is_none());
}

fn atomic_commit(log: &impl Log) {
    log.create_topic("in", 1, no_config()).unwrap();
    log.create_topic("out", 2, no_config()).unwrap();
    assert_eq!(log.committed_offset("q1", "in", 0).unwrap(), None);
    let txn = Transaction {
        appends: vec![
            append("out", Some(1), rec("a")),
            append("out", None, keyed("k", "b")),
            append("in", None, rec("c")),
        ],
        offsets: vec![offset("q1", "in", 0, 5)],
    };
    let positions = log.commit(txn).unwrap();
    let kp = partition_for_key(b"k", 2);
    assert_eq!(positions, vec![(1, 0), (kp, u64::from(kp == 1)), (0, 0)]);
    assert_eq!(log.committed_offset("q1", "in", 0).unwrap(), Some(5));
    assert_eq!(log.end_offset("out", 1).unwrap(), 1 + u64::from(kp == 1));
    assert_eq!(log.fetch("in", 0, 0, 10).unwrap().len(), 1);
    // Offsets-only commits work and overwrite.
    let txn = Transaction {
        appends: vec![],
        offsets: vec![offset("q1", "in", 0, 7), offset("q2", "in", 0, 1)],
    };
    assert!(log.commit(txn).unwrap().is_empty());
    assert_eq!(log.committed_offset("q1", "in", 0).unwrap(), Some(7));
    assert_eq!(log.committed_offset("q2", "in", 0).unwrap(), Some(1));
    assert!(log.commit(Transaction::default()).unwrap().is_empty());
}

fn failed_commit_changes_nothing(log: &impl Log) {
    log.create_topic("t", 2, no_config()).unwrap();
    log.produce("t", None, rec("v")).unwrap();
    for txn in [
        Transaction {
            appends: vec![append("t", None, rec("a")), append("t", Some(9), rec("b"))],
            offsets: vec![offset("g", "t", 0, 1)],
        },
        Transaction {
            appends: vec![append("t", None, rec("a"))],
            offsets: vec![offset("g", "missing", 0, 1)],
        },
        Transaction {
            appends: vec![append("t", None, rec("a"))],
            offsets: vec![offset("g", "t", 5, 1)],
        },
    ] {
        assert!(log.commit(txn).is_err());
    }
    assert_eq!(log.end_offset("t", 0).unwrap(), 1);
    assert_eq!(log.end_offset("t", 1).unwrap(), 0);
    assert_eq!(log.committed_offset("g", "t", 0).unwrap(), None);
    // The round-robin counter did not move either, and seq continues densely.
    assert_eq!(log.produce("t", None, rec("v")).unwrap(), (1, 0));
    assert_eq!(log.fetch("t", 1, 0, 1).unwrap()[0].seq, 1);
}

fn seq_is_topic_wide(log: &impl Log) {
    log.create_topic("t", 3, no_config()).unwrap();
    log.create_topic("other", 1, no_config()).unwrap();
    let parts = [2, 0, 1, 1, 0, 2, 2];
    for (i, p) in parts.iter().enumerate() {
        log.produce("t", Some(*p), rec(&i.to_string())).unwrap();
        log.produce("other", None, rec("noise")).unwrap();
    }
    let mut all: Vec<_> = (0..3)
        .flat_map(|p| log.fetch("t", p, 0, 100).unwrap())
        .collect();
    all.sort_by_key(|r| r.seq);
    let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (0..7).collect::<Vec<_>>());
    let order: Vec<u32> = all.iter().map(|r| r.partition).collect();
    assert_eq!(order, parts);
    let values: Vec<_> = all
        .iter()
        .map(|r| r.record.value.clone().unwrap())
        .collect();
    let want: Vec<_> = (0..7).map(|i| Bytes::from(i.to_string())).collect();
    assert_eq!(values, want);
}

fn topics_metadata(log: &impl Log) {
    let config: BTreeMap<_, _> = [("cleanup.policy".to_string(), "compact".to_string())].into();
    assert!(log.create_topic("b", 2, config.clone()).unwrap());
    assert!(log.create_topic("a", 1, no_config()).unwrap());
    assert!(!log.create_topic("b", 5, no_config()).unwrap());
    let b = log.topic("b").unwrap();
    assert_eq!((b.partitions, b.replicas, &b.config), (2, 1, &config));
    let names: Vec<String> = log.topics().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert!(log.topic("c").is_none());
}

fn delete_topic(log: &impl Log) {
    log.create_topic("t", 2, no_config()).unwrap();
    log.create_topic("keep", 1, no_config()).unwrap();
    for _ in 0..5 {
        log.produce("t", None, rec("v")).unwrap();
    }
    log.produce("keep", None, rec("k")).unwrap();
    let txn = Transaction {
        appends: vec![],
        offsets: vec![offset("g", "t", 0, 3), offset("g", "keep", 0, 1)],
    };
    log.commit(txn).unwrap();
    log.delete_topic("t").unwrap();
    assert!(log.topic("t").is_none());
    assert!(matches!(
        log.end_offset("t", 0),
        Err(LogError::UnknownTopic(_))
    ));
    // Re-created: empty, offsets forgotten, other topics untouched.
    assert!(log.create_topic("t", 1, no_config()).unwrap());
    assert_eq!(log.end_offset("t", 0).unwrap(), 0);
    assert!(log.fetch("t", 0, 0, 10).unwrap().is_empty());
    assert_eq!(log.committed_offset("g", "t", 0).unwrap(), None);
    assert_eq!(log.committed_offset("g", "keep", 0).unwrap(), Some(1));
    assert_eq!(log.produce("t", None, rec("v")).unwrap(), (0, 0));
    assert_eq!(log.fetch("t", 0, 0, 10).unwrap()[0].seq, 0);
    assert_eq!(log.fetch("keep", 0, 0, 10).unwrap().len(), 1);
}

fn delete_group(log: &impl Log) {
    log.create_topic("t", 2, no_config()).unwrap();
    let txn = Transaction {
        appends: vec![],
        offsets: vec![
            offset("g", "t", 0, 1),
            offset("g", "t", 1, 2),
            offset("g2", "t", 0, 3),
        ],
    };
    log.commit(txn).unwrap();
    log.delete_group("g").unwrap();
    log.delete_group("never-existed").unwrap();
    assert_eq!(log.committed_offset("g", "t", 0).unwrap(), None);
    assert_eq!(log.committed_offset("g", "t", 1).unwrap(), None);
    assert_eq!(log.committed_offset("g2", "t", 0).unwrap(), Some(3));
}

fn watch_bumps(log: &impl Log) {
    log.create_topic("t", 1, no_config()).unwrap();
    let mut rx = log.watch();
    let start = *rx.borrow_and_update();
    assert!(!rx.has_changed().unwrap());
    log.produce("t", None, rec("v")).unwrap();
    assert!(rx.has_changed().unwrap());
    let after_produce = *rx.borrow_and_update();
    assert_ne!(after_produce, start);
    // Failed appends don't wake consumers.
    assert!(log.produce("t", Some(4), rec("v")).is_err());
    assert!(!rx.has_changed().unwrap());
    let txn = Transaction {
        appends: vec![append("t", None, rec("v"))],
        offsets: vec![],
    };
    log.commit(txn).unwrap();
    assert!(rx.has_changed().unwrap());
    assert_ne!(*rx.borrow_and_update(), after_produce);
}

fn fetch_bounds(log: &impl Log) {
    log.create_topic("t", 2, no_config()).unwrap();
    log.create_topic("u", 1, no_config()).unwrap();
    for i in 0..10 {
        log.produce("t", Some(0), rec(&format!("p0-{i}"))).unwrap();
        log.produce("t", Some(1), rec(&format!("p1-{i}"))).unwrap();
        log.produce("u", Some(0), rec("u")).unwrap();
    }
    let page = log.fetch("t", 0, 3, 4).unwrap();
    assert_eq!(
        page.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [3, 4, 5, 6]
    );
    assert_eq!(page[0].record.value.as_deref(), Some(&b"p0-3"[..]));
    // Stops at the partition boundary.
    let tail = log.fetch("t", 0, 8, 100).unwrap();
    assert_eq!(tail.len(), 2);
    assert!(tail.iter().all(|r| r.partition == 0));
    assert!(log.fetch("t", 0, 10, 100).unwrap().is_empty());
    assert!(log.fetch("t", 0, u64::MAX, 100).unwrap().is_empty());
    assert!(log.fetch("t", 0, 0, 0).unwrap().is_empty());
    assert_eq!(log.fetch("t", 1, 9, 100).unwrap().len(), 1);
}

fn record_contents(log: &impl Log) {
    log.create_topic("t", 1, no_config()).unwrap();
    let full = Record {
        key: Some(Bytes::from_static(b"\x00key")),
        value: None,
        timestamp: -1,
        headers: vec![
            Header {
                key: "h".into(),
                value: Some(Bytes::from_static(b"1")),
            },
            Header {
                key: "h".into(),
                value: None,
            },
        ],
    };
    let empty = Record::new(Some(Bytes::new()), Some(Bytes::new()), i64::MAX);
    log.produce("t", None, full.clone()).unwrap();
    log.produce("t", None, empty.clone()).unwrap();
    log.produce("t", None, Record::default()).unwrap();
    let got: Vec<Record> = log
        .fetch("t", 0, 0, 10)
        .unwrap()
        .into_iter()
        .map(|r| r.record)
        .collect();
    assert_eq!(got, vec![full, empty, Record::default()]);
}

/// Several threads producing at once to a fresh log.
pub fn concurrent_producers<L: Log>(log: Arc<L>) {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 250;
    log.create_topic("t", 2, no_config()).unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut positions = Vec::new();
                for i in 0..PER_THREAD {
                    let value = format!("{t}-{i}");
                    if i % 10 == 0 {
                        let txn = Transaction {
                            appends: vec![
                                append("t", Some(0), rec(&value)),
                                append("t", Some(1), rec(&value)),
                            ],
                            offsets: vec![],
                        };
                        positions.extend(log.commit(txn).unwrap());
                    } else {
                        positions.push(log.produce("t", Some(0), rec(&value)).unwrap());
                    }
                }
                positions
            })
        })
        .collect();
    let mut p0: Vec<u64> = Vec::new();
    let mut p1: Vec<u64> = Vec::new();
    for h in handles {
        for (p, o) in h.join().unwrap() {
            if p == 0 {
                p0.push(o)
            } else {
                p1.push(o)
            }
        }
    }
    p0.sort_unstable();
    p1.sort_unstable();
    let n1 = THREADS * PER_THREAD / 10;
    assert_eq!(p0, (0..THREADS * PER_THREAD).collect::<Vec<_>>());
    assert_eq!(p1, (0..n1).collect::<Vec<_>>());
    assert_eq!(log.end_offset("t", 0).unwrap(), THREADS * PER_THREAD);
    // Every stored record is the one its position was reported for, and seq
    // is dense across both partitions.
    let all0 = log.fetch("t", 0, 0, usize::MAX).unwrap();
    let all1 = log.fetch("t", 1, 0, usize::MAX).unwrap();
    let mut seqs: Vec<u64> = all0.iter().chain(&all1).map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..THREADS * PER_THREAD + n1).collect::<Vec<_>>());
}
