//! Tests of [`EmbeddedLog`]: the shared conformance suite plus persistence.

use super::*;
use crate::{conformance, Append, OffsetCommit};
use bytes::Bytes;

#[test]
fn conformance_suite() {
    let dirs = std::sync::Mutex::new(Vec::new());
    conformance::run_all(&|| {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        dirs.lock().unwrap().push(dir);
        log
    });
}

fn rec(v: &str) -> Record {
    Record::new(None, Some(Bytes::copy_from_slice(v.as_bytes())), 7)
}

#[test]
fn reopen_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let config: BTreeMap<_, _> = [("cleanup.policy".into(), "compact".into())].into();
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("a", 3, config.clone()).unwrap();
        log.create_topic("b", 1, BTreeMap::new()).unwrap();
        log.create_topic("empty", 2, BTreeMap::new()).unwrap();
        for i in 0..5 {
            log.produce("a", Some(i % 2), rec("x")).unwrap();
        }
        log.produce("b", None, rec("y")).unwrap();
        let txn = Transaction {
            appends: vec![Append {
                topic: "a".into(),
                partition: Some(2),
                record: rec("z"),
            }],
            offsets: vec![OffsetCommit {
                group: "g".into(),
                topic: "b".into(),
                partition: 0,
                next_offset: 1,
            }],
        };
        log.commit(txn).unwrap();
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    let names: Vec<_> = log.topics().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["a", "b", "empty"]);
    assert_eq!(log.topic("a").unwrap().config, config);
    assert_eq!(log.end_offset("a", 0).unwrap(), 3);
    assert_eq!(log.end_offset("a", 1).unwrap(), 2);
    assert_eq!(log.end_offset("a", 2).unwrap(), 1);
    assert_eq!(log.end_offset("empty", 1).unwrap(), 0);
    assert_eq!(log.committed_offset("g", "b", 0).unwrap(), Some(1));
    // Offsets and the topic-wide sequence continue where they stopped.
    assert_eq!(log.produce("a", Some(2), rec("w")).unwrap(), (2, 1));
    let last = log.fetch("a", 2, 1, 1).unwrap();
    assert_eq!(last[0].seq, 6);
    assert_eq!(log.fetch("a", 0, 0, 10).unwrap().len(), 3);
    // Round-robin restarts at partition 0 (deterministic).
    assert_eq!(log.produce("empty", None, rec("v")).unwrap(), (0, 0));
}

#[test]
fn deleted_topics_stay_deleted_and_ids_are_not_reused() {
    let dir = tempfile::tempdir().unwrap();
    let old_id;
    {
        let log = EmbeddedLog::open(dir.path()).unwrap();
        log.create_topic("t", 1, BTreeMap::new()).unwrap();
        log.produce("t", None, rec("old")).unwrap();
        old_id = log.state.read().unwrap().get("t").unwrap().id;
        log.delete_topic("t").unwrap();
    }
    let log = EmbeddedLog::open(dir.path()).unwrap();
    assert!(log.topic("t").is_none());
    log.create_topic("t", 1, BTreeMap::new()).unwrap();
    assert!(log.state.read().unwrap().get("t").unwrap().id > old_id);
    assert!(log.fetch("t", 0, 0, 10).unwrap().is_empty());
    assert_eq!(log.end_offset("t", 0).unwrap(), 0);
}

#[test]
fn second_open_of_same_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _log = EmbeddedLog::open(dir.path()).unwrap();
    let err = EmbeddedLog::open(dir.path()).unwrap_err();
    assert!(matches!(err, LogError::Open { .. }), "{err}");
    assert!(err.to_string().contains("no other Riffle process"), "{err}");
}

#[test]
fn sync_option_works() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(dir.path(), LogOptions { sync: true }).unwrap();
    log.create_topic("t", 1, BTreeMap::new()).unwrap();
    assert_eq!(log.produce("t", None, rec("v")).unwrap(), (0, 0));
    log.sync().unwrap();
    assert_eq!(log.path(), dir.path());
}

/// Throughput check: `cargo test --release -p riffle-log -- --ignored --nocapture`.
#[test]
#[ignore]
fn commit_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    log.create_topic("t", 4, BTreeMap::new()).unwrap();
    let value = Bytes::from(vec![b'x'; 100]);
    let batches = 1000;
    let start = std::time::Instant::now();
    for b in 0..batches {
        let appends = (0..1000u32)
            .map(|i| Append {
                topic: "t".into(),
                partition: None,
                record: Record::new(
                    Some(Bytes::copy_from_slice(&(b * 1000 + i).to_be_bytes())),
                    Some(value.clone()),
                    0,
                ),
            })
            .collect();
        log.commit(Transaction {
            appends,
            offsets: vec![],
        })
        .unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = f64::from(batches) * 1000.0;
    eprintln!(
        "appended {n} records in {secs:.2}s: {:.0} records/s",
        n / secs
    );
    let start = std::time::Instant::now();
    let mut read = 0;
    for p in 0..4 {
        let mut offset = 0;
        loop {
            let page = log.fetch("t", p, offset, 1000).unwrap();
            let Some(last) = page.last() else { break };
            offset = last.offset + 1;
            read += page.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "fetched {read} records in {secs:.2}s: {:.0} records/s",
        read as f64 / secs
    );
}
