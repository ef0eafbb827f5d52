//! End-to-end behaviour of the engine on the in-memory and embedded logs.

use std::collections::HashMap;

use riffle_engine::{Engine, EngineConfig, Properties};

fn props() -> Properties {
    let mut p = Properties::new();
    p.insert("auto.offset.reset".into(), "earliest".into());
    p
}

fn exec(engine: &Engine, sql: &str) {
    if let Err(e) = engine.execute(sql, &props(), &HashMap::new()) {
        panic!("{sql}: {e}");
    }
}

fn values(engine: &Engine, topic: &str) -> Vec<(Option<String>, Option<String>)> {
    let log = engine.log();
    let mut out = Vec::new();
    let parts = log.topic(topic).map(|t| t.partitions).unwrap_or(0);
    let mut recs = Vec::new();
    for p in 0..parts {
        recs.extend(log.fetch(topic, p, 0, 100_000).unwrap());
    }
    recs.sort_by_key(|r| r.seq);
    for r in recs {
        out.push((
            r.record
                .key
                .map(|k| String::from_utf8_lossy(&k).to_string()),
            r.record
                .value
                .map(|v| String::from_utf8_lossy(&v).to_string()),
        ));
    }
    out
}

#[test]
fn csas_filters_and_projects() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    exec(&engine, "CREATE STREAM S (K STRING KEY, ID BIGINT, NAME STRING) WITH (kafka_topic='s', value_format='JSON');");
    exec(
        &engine,
        "INSERT INTO S (K, ID, NAME) VALUES ('a', 1, 'one');",
    );
    exec(
        &engine,
        "INSERT INTO S (K, ID, NAME) VALUES ('b', 200, 'two hundred');",
    );
    exec(
        &engine,
        "CREATE STREAM OUT AS SELECT K, ID * 2 AS DOUBLED, UCASE(NAME) AS N FROM S WHERE ID > 100;",
    );
    engine.run_until_idle().unwrap();
    let out = values(&engine, "OUT");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].0.as_deref(), Some("b"));
    let v: serde_json::Value = serde_json::from_str(out[0].1.as_deref().unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"DOUBLED": 400, "N": "TWO HUNDRED"}));
}

#[test]
fn restart_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    };
    {
        let engine = Engine::open(config.clone()).unwrap();
        exec(&engine, "CREATE STREAM S (K STRING KEY, ID BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);");
        exec(&engine, "CREATE STREAM OUT AS SELECT K, ID FROM S;");
        for i in 0..10 {
            exec(
                &engine,
                &format!("INSERT INTO S (K, ID) VALUES ('k{i}', {i});"),
            );
        }
        engine.run_until_idle().unwrap();
    }
    let engine = Engine::open(config).unwrap();
    assert!(engine.catalog().queries.contains_key("CSAS_OUT_0"));
    for i in 10..15 {
        exec(
            &engine,
            &format!("INSERT INTO S (K, ID) VALUES ('k{i}', {i});"),
        );
    }
    engine.run_until_idle().unwrap();
    assert_eq!(values(&engine, "OUT").len(), 15);
}

#[test]
fn errors_are_clear() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    let err = engine
        .execute("CREATE STREM X;", &props(), &HashMap::new())
        .unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    let err = engine
        .execute(
            "CREATE STREAM O AS SELECT * FROM NOPE;",
            &props(),
            &HashMap::new(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("NOPE does not exist"), "{err}");
}

#[test]
fn type_errors_name_the_problem() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    exec(
        &engine,
        "CREATE STREAM S (K STRING KEY, ID INT) WITH (kafka_topic='s', value_format='JSON');",
    );
    let err = engine
        .execute(
            "CREATE STREAM O AS SELECT K, ID FROM S WHERE ID > 'x';",
            &props(),
            &HashMap::new(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Cannot compare ID (INTEGER) to 'x' (STRING) with GREATER_THAN"),
        "{err}"
    );
    let err = engine
        .execute(
            "CREATE STREAM O AS SELECT K, NOPE FROM S;",
            &props(),
            &HashMap::new(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("SELECT column 'NOPE' cannot be resolved"),
        "{err}"
    );
}

#[test]
fn malformed_records_go_to_the_processing_log_and_the_query_continues() {
    let config = EngineConfig {
        processing_log_stream: true,
        ..EngineConfig::default()
    };
    let engine = Engine::open(config).unwrap();
    exec(
        &engine,
        "CREATE STREAM S (K STRING KEY, ID INT) WITH (kafka_topic='s', value_format='JSON');",
    );
    exec(&engine, "CREATE STREAM O AS SELECT K, ID FROM S;");
    let log = engine.log();
    let record = |v: &str| riffle_log::Record {
        key: Some(bytes::Bytes::from_static(b"k")),
        value: Some(bytes::Bytes::from(v.to_string())),
        timestamp: 1,
        headers: vec![],
    };
    log.produce("s", None, record("{\"ID\": 1}")).unwrap();
    log.produce("s", None, record("{not json")).unwrap();
    log.produce("s", None, record("{\"ID\": \"not a number\"}"))
        .unwrap();
    log.produce("s", None, record("{\"ID\": 2}")).unwrap();
    engine.run_until_idle().unwrap();
    let out = values(&engine, "O");
    assert_eq!(out.len(), 2, "good records pass: {out:?}");
    let topic = engine.config().processing_log_topic();
    let errors = values(&engine, &topic);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|(_, v)| v.as_deref().unwrap_or("").contains("Failed to deserialize")),
        "{errors:?}"
    );
}

#[test]
fn aggregation_updates_are_coalesced_per_commit_unless_the_cache_is_off() {
    for (cache, expected) in [("10485760", 2), ("0", 4)] {
        let engine = Engine::open(EngineConfig::default()).unwrap();
        let mut p = props();
        p.insert("cache.max.bytes.buffering".into(), cache.into());
        let run = |sql: &str| {
            if let Err(e) = engine.execute(sql, &p, &HashMap::new()) {
                panic!("{sql}: {e}");
            }
        };
        run("CREATE STREAM CLICKS (USER_ID STRING KEY, PAGE STRING) WITH (kafka_topic='clicks', value_format='JSON');");
        for (user, page) in [("u1", "/"), ("u1", "/a"), ("u2", "/"), ("u1", "/b")] {
            run(&format!(
                "INSERT INTO CLICKS (USER_ID, PAGE) VALUES ('{user}', '{page}');"
            ));
        }
        // All four records are read in one step.
        run("CREATE TABLE PER_USER AS SELECT USER_ID, COUNT(*) AS N FROM CLICKS GROUP BY USER_ID;");
        engine.run_until_idle().unwrap();
        let out = values(&engine, "PER_USER");
        assert_eq!(out.len(), expected, "cache {cache}: {out:?}");
        let last_u1 = out.iter().rev().find(|(k, _)| k.as_deref() == Some("u1"));
        assert_eq!(last_u1.and_then(|(_, v)| v.as_deref()), Some(r#"{"N":3}"#));
    }
}

/// Records of a topic as (key, value) text.
type Rows = Vec<(Option<String>, Option<String>)>;

/// Runs a session-window aggregation over two batches of input, restarting the engine between
/// them when `restart`; returns the sink's records and the changelog's record count.
fn session_totals(restart: bool) -> (Rows, u64) {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let mut p = props();
    p.insert("cache.max.bytes.buffering".into(), "0".into());
    let run = |engine: &Engine, sql: &str| {
        if let Err(e) = engine.execute(sql, &p, &HashMap::new()) {
            panic!("{sql}: {e}");
        }
    };
    let insert = |engine: &Engine, rows: &[(&str, i64, i64)]| {
        for (user, ts, amount) in rows {
            run(
                engine,
                &format!("INSERT INTO SPEND (ROWTIME, USER_ID, AMOUNT) VALUES ({ts}, '{user}', {amount});"),
            );
        }
        engine.run_until_idle().unwrap();
    };
    let mut engine = Engine::open(config.clone()).unwrap();
    run(&engine, "CREATE STREAM SPEND (USER_ID STRING KEY, AMOUNT BIGINT) WITH (kafka_topic='spend', value_format='JSON');");
    run(&engine, "CREATE TABLE SESSIONS AS SELECT USER_ID, COUNT(*) AS N, SUM(AMOUNT) AS TOTAL, COLLECT_LIST(AMOUNT) AS AMOUNTS FROM SPEND WINDOW SESSION (10 SECONDS) GROUP BY USER_ID HAVING COUNT(*) > 1;");
    insert(
        &engine,
        &[("a", 1_000, 5), ("b", 2_000, 7), ("a", 4_000, 1)],
    );
    if restart {
        drop(engine);
        engine = Engine::open(config.clone()).unwrap();
    }
    insert(
        &engine,
        &[("a", 9_000, 2), ("b", 30_000, 3), ("b", 35_000, 4)],
    );
    let changelog: u64 = engine
        .log()
        .topics()
        .into_iter()
        .filter(|t| {
            t.name
                .ends_with("-Aggregate-Aggregate-Materialize-changelog")
        })
        .map(|t| engine.log().end_offset(&t.name, 0).unwrap())
        .sum();
    (values(&engine, "SESSIONS"), changelog)
}

#[test]
fn aggregation_state_is_restored_from_its_changelog() {
    let (uninterrupted, _) = session_totals(false);
    let (restarted, changelog) = session_totals(true);
    assert!(changelog > 0, "the state was written to the changelog");
    assert_eq!(restarted, uninterrupted);
}

#[test]
fn query_metrics_count_records_and_lag() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    exec(&engine, "CREATE STREAM M (K STRING KEY, V INT) WITH (kafka_topic='m', value_format='JSON', partitions=2);");
    exec(
        &engine,
        "CREATE STREAM BIG_M AS SELECT K, V FROM M WHERE V > 1;",
    );
    for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
        exec(
            &engine,
            &format!("INSERT INTO M (K, V) VALUES ('{k}', {v});"),
        );
    }
    let before = engine.query_metrics();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].lag.iter().map(|(_, l)| l).sum::<u64>(), 3);
    engine.run_until_idle().unwrap();
    let after = &engine.query_metrics()[0];
    assert_eq!(after.id, "CSAS_BIG_M_0");
    assert_eq!((after.consumed, after.produced, after.errors), (3, 2, 0));
    assert!(after.lag.iter().all(|(_, l)| *l == 0), "{:?}", after.lag);
}

/// Two engines on one log with one service id (as two servers of one service on Kafka); the
/// first has made stream `S` and the persistent query `T` over it.
fn two_servers_with_a_query() -> (Engine, Engine) {
    let log: std::sync::Arc<dyn riffle_log::Log> =
        std::sync::Arc::new(riffle_log::MemoryLog::new());
    let a =
        Engine::with_log(log.clone(), EngineConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let b = Engine::with_log(log, EngineConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    exec(
        &a,
        "CREATE STREAM S (K STRING KEY, V INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);",
    );
    exec(&a, "CREATE STREAM T AS SELECT K, V * 2 AS W FROM S;");
    (a, b)
}

/// Two engines on one log with one service id: statements made on one reach the other
/// through the command topic, as two servers of one service on Kafka.
#[test]
fn a_second_engine_follows_the_command_topic() {
    let (a, b) = two_servers_with_a_query();
    assert!(!b.catalog().sources.contains_key("T"));
    assert_eq!(b.follow_commands().unwrap_or_else(|e| panic!("{e}")), 2);
    assert!(b.catalog().sources.contains_key("T"));
    assert_eq!(b.catalog().queries.len(), 1);
    // Its own statements are not applied twice, and a has nothing new after them.
    exec(&b, "CREATE STREAM U AS SELECT K, V FROM S;");
    assert_eq!(b.follow_commands().unwrap_or_else(|e| panic!("{e}")), 0);
    assert_eq!(a.follow_commands().unwrap_or_else(|e| panic!("{e}")), 1);
    assert_eq!(a.catalog().queries.len(), 2);
    assert_eq!(a.follow_commands().unwrap_or_else(|e| panic!("{e}")), 0);
}

/// A statement sent to a second server right after one sent to the first (a load balancer
/// in front of the service) finds the first one's sources: a server applies the command
/// topic before it runs a statement that changes the catalog, so both servers apply the
/// statements in one order and give the queries the same ids.
#[test]
fn a_statement_on_another_server_sees_the_statements_before_it() {
    let (a, b) = two_servers_with_a_query();
    exec(&b, "CREATE STREAM U AS SELECT K, W FROM T;");
    exec(&a, "CREATE STREAM X AS SELECT K, W + 1 AS Z FROM U;");
    b.follow_commands().unwrap_or_else(|e| panic!("{e}"));
    let ids = |e: &Engine| -> Vec<String> { e.catalog().queries.keys().cloned().collect() };
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(ids(&a).len(), 3, "{:?}", ids(&a));
}

/// A log shared by "servers" that split every consumer group's partitions: this one gets the
/// partitions `p` with `p % 2 == half`, as Kafka's range assignor would give two members.
struct HalfLog {
    inner: std::sync::Arc<dyn riffle_log::Log>,
    half: u32,
}

impl riffle_log::Log for HalfLog {
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: std::collections::BTreeMap<String, String>,
    ) -> riffle_log::Result<bool> {
        self.inner.create_topic(name, partitions, config)
    }
    fn delete_topic(&self, name: &str) -> riffle_log::Result<()> {
        self.inner.delete_topic(name)
    }
    fn topic(&self, name: &str) -> Option<riffle_log::TopicInfo> {
        self.inner.topic(name)
    }
    fn topics(&self) -> Vec<riffle_log::TopicInfo> {
        self.inner.topics()
    }
    fn produce(
        &self,
        topic: &str,
        partition: Option<u32>,
        record: riffle_log::Record,
    ) -> riffle_log::Result<(u32, u64)> {
        self.inner.produce(topic, partition, record)
    }
    fn commit(&self, txn: riffle_log::Transaction) -> riffle_log::Result<Vec<(u32, u64)>> {
        self.inner.commit(txn)
    }
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max: usize,
    ) -> riffle_log::Result<Vec<riffle_log::ConsumedRecord>> {
        self.inner.fetch(topic, partition, offset, max)
    }
    fn end_offset(&self, topic: &str, partition: u32) -> riffle_log::Result<u64> {
        self.inner.end_offset(topic, partition)
    }
    fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> riffle_log::Result<Option<u64>> {
        self.inner.committed_offset(group, topic, partition)
    }
    fn delete_group(&self, group: &str) -> riffle_log::Result<()> {
        self.inner.delete_group(group)
    }
    fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.watch()
    }
    fn shares_partitions(&self) -> bool {
        true
    }
    fn assigned_partitions(
        &self,
        _group: &str,
        topic: &str,
    ) -> riffle_log::Result<Option<Vec<u32>>> {
        let n = self.inner.partition_count(topic).unwrap_or(0);
        Ok(Some((0..n).filter(|p| p % 2 == self.half).collect()))
    }
}

/// An aggregation not grouped by the input's key, on two servers sharing its partitions: the
/// input is re-keyed through a repartition topic, both servers do part of each stage, and the
/// totals are exact. On a log that does not share, there is no repartition topic.
#[test]
fn a_non_key_aggregation_is_repartitioned_when_servers_share_partitions() {
    use riffle_log::Log;
    let memory: std::sync::Arc<dyn Log> = std::sync::Arc::new(riffle_log::MemoryLog::new());
    let engine = |half| {
        let log = std::sync::Arc::new(HalfLog {
            inner: memory.clone(),
            half,
        });
        Engine::with_log(log, EngineConfig::default()).unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (engine(0), engine(1));
    exec(&a, "CREATE STREAM ORDERS (ID BIGINT KEY, CUSTOMER STRING, AMOUNT INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=4);");
    exec(&a, "CREATE TABLE TOTALS AS SELECT CUSTOMER, COUNT(*) AS N, SUM(AMOUNT) AS TOTAL FROM ORDERS GROUP BY CUSTOMER;");
    assert_eq!(b.follow_commands().unwrap_or_else(|e| panic!("{e}")), 2);
    let repartition = "_confluent-ksql-default_query_CTAS_TOTALS_0-Aggregate-GroupBy-repartition";
    let info = memory
        .topic(repartition)
        .unwrap_or_else(|| panic!("{:?}", memory.topics()));
    assert_eq!(info.partitions, 4);
    assert_eq!(
        info.config.get("cleanup.policy").map(String::as_str),
        Some("delete")
    );
    let mut want: HashMap<String, (i64, i64)> = HashMap::new();
    for i in 0..400i64 {
        let customer = format!("c{}", i % 13);
        let value = format!(r#"{{"CUSTOMER":"{customer}","AMOUNT":{}}}"#, i % 10);
        let record = riffle_log::Record::new(
            Some(i.to_be_bytes().to_vec().into()),
            Some(value.into_bytes().into()),
            1_000 + i,
        );
        memory
            .produce("orders", None, record)
            .unwrap_or_else(|e| panic!("{e}"));
        let w = want.entry(customer).or_default();
        *w = (w.0 + 1, w.1 + i % 10);
    }
    while a.run_until_idle().unwrap_or_else(|e| panic!("{e}"))
        + b.run_until_idle().unwrap_or_else(|e| panic!("{e}"))
        > 0
    {}
    // Every customer's records are in one repartition partition, unchanged.
    let mut home: HashMap<String, u32> = HashMap::new();
    let mut moved = 0;
    for p in 0..4 {
        for r in memory.fetch(repartition, p, 0, 10_000).unwrap_or_default() {
            let v: serde_json::Value =
                serde_json::from_slice(r.record.value.as_deref().unwrap_or_default())
                    .unwrap_or_default();
            let c = v["CUSTOMER"].as_str().unwrap_or_default().to_string();
            assert_eq!(
                *home.entry(c.clone()).or_insert(p),
                p,
                "{c} in two partitions"
            );
            assert_eq!(r.record.key.as_deref().map(<[u8]>::len), Some(8));
            moved += 1;
        }
    }
    assert_eq!(moved, 400);
    assert!(
        home.values()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1
    );
    // Both servers did part of each stage.
    for (server, half) in [(&a, 0u32), (&b, 1)] {
        let m = &server.query_metrics()[0];
        let mine: Vec<u32> = (0..4).filter(|p| p % 2 == half).collect();
        assert_eq!(m.partitions, mine);
        assert_eq!(m.repartition_partitions, mine);
        assert!(
            m.consumed > 0 && m.produced > 0,
            "{half}: {} {}",
            m.consumed,
            m.produced
        );
        assert!(m.lag.iter().chain(&m.repartition_lag).all(|(_, l)| *l == 0));
    }
    let consumed: u64 = [&a, &b].iter().map(|s| s.query_metrics()[0].consumed).sum();
    assert_eq!(consumed, 400);
    let mut last: HashMap<String, (i64, i64)> = HashMap::new();
    for (k, v) in values(&a, "TOTALS") {
        let v: serde_json::Value = serde_json::from_str(&v.unwrap_or_default()).unwrap_or_default();
        let n = (
            v["N"].as_i64().unwrap_or(-1),
            v["TOTAL"].as_i64().unwrap_or(-1),
        );
        last.insert(k.unwrap_or_default(), n);
    }
    assert_eq!(last, want);

    // One server on a log that does not share: no repartition topic.
    let alone = Engine::open(EngineConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    exec(&alone, "CREATE STREAM ORDERS (ID BIGINT KEY, CUSTOMER STRING, AMOUNT INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=4);");
    exec(
        &alone,
        "CREATE TABLE TOTALS AS SELECT CUSTOMER, COUNT(*) AS N FROM ORDERS GROUP BY CUSTOMER;",
    );
    let topics = alone.log().topics();
    assert!(
        !topics.iter().any(|t| t.name.ends_with("-repartition")),
        "{topics:?}"
    );
}
