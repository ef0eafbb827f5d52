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
