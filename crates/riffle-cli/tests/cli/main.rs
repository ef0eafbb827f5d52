//! End-to-end tests of the `riffle` binary, each in its own temporary directory (ripgrep style:
//! one integration-test binary for the whole CLI).

mod headless;
mod shell;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use riffle_log::{EmbeddedLog, Log};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A plain HTTP/1.1 POST with `Connection: close`; returns (status, body).
fn post(port: u16, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn get(port: u16, path: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    Ok(resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

fn start_server(data: &Path, port: u16) -> Child {
    start_server_with(data, port, &[])
}

/// Starts `riffle server` with extra arguments and waits until it is healthy.
fn start_server_with(data: &Path, port: u16, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args([
            "server",
            "--listeners",
            &format!("http://127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("riffle server starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if get(port, "/healthcheck").map(|s| s == 200).unwrap_or(false) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not become healthy on port {port}");
}

fn ksql(port: u16, sql: &str) -> String {
    let body =
        serde_json::json!({"ksql": sql, "streamsProperties": {"auto.offset.reset": "earliest"}});
    let (status, text) = post(port, "/ksql", &body.to_string()).expect("POST /ksql");
    assert_eq!(status, 200, "{sql}: {text}");
    text
}

/// Every record of a topic in append order, read straight from the embedded log after the
/// server is gone.
fn read_topic(data: &Path, topic: &str) -> Vec<riffle_log::ConsumedRecord> {
    let log = EmbeddedLog::open(&data.join("log")).expect("log opens");
    let mut records = Vec::new();
    let parts = log.topic(topic).map(|t| t.partitions).unwrap_or(0);
    for p in 0..parts {
        let mut offset = 0;
        loop {
            let batch = log.fetch(topic, p, offset, 10_000).expect("fetch");
            let Some(last) = batch.last() else { break };
            offset = last.offset + 1;
            records.extend(batch);
        }
    }
    records.sort_by_key(|r| r.seq);
    records
}

/// Sink record ids.
fn sink_ids(data: &Path, topic: &str) -> Vec<i64> {
    read_topic(data, topic)
        .into_iter()
        .map(|r| {
            let v: serde_json::Value =
                serde_json::from_slice(r.record.value.as_deref().unwrap_or(b"null")).unwrap();
            v["ID"].as_i64().expect("ID in sink value")
        })
        .collect()
}

fn insert_batch(port: u16, from: i64, to: i64) {
    let sql: String = (from..to)
        .map(|i| {
            format!(
                "INSERT INTO ORDERS (ORDER_ID, ID, AMOUNT) VALUES ('o{i}', {i}, {});",
                i % 100
            )
        })
        .collect();
    ksql(port, &sql);
}

#[test]
fn kill_9_during_csas_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start_server(&data, port);
    ksql(port, "CREATE STREAM ORDERS (ORDER_ID STRING KEY, ID BIGINT, AMOUNT INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=3);");
    ksql(port, "CREATE STREAM BIG AS SELECT ORDER_ID, ID, AMOUNT * 10 AS AMOUNT10 FROM ORDERS WHERE AMOUNT >= 50;");
    let rounds = 3;
    let per_round = 1500;
    for round in 0..rounds {
        insert_batch(port, round * per_round, (round + 1) * per_round);
        // Kill while the query is still catching up, then come back on the same data.
        server.kill().expect("kill -9");
        server.wait().ok();
        server = start_server(&data, port);
    }
    // Let the restarted query finish, then stop and inspect the sink.
    let expected: Vec<i64> = (0..rounds * per_round).filter(|i| i % 100 >= 50).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        std::thread::sleep(Duration::from_millis(1000));
        let (_, body) = post(port, "/ksql", r#"{"ksql":"SHOW QUERIES;"}"#).unwrap();
        assert!(body.contains("CSAS_BIG"), "query survives restarts: {body}");
        server.kill().ok();
        server.wait().ok();
        let mut ids = sink_ids(&data, "BIG");
        if ids.len() >= expected.len() || Instant::now() > deadline {
            ids.sort();
            assert_eq!(ids, expected, "each expected record exactly once");
            break;
        }
        server = start_server(&data, port);
    }
}

#[test]
fn test_subcommand_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    std::fs::write(
        &file,
        r#"{"tests":[{"name":"passes","statements":["CREATE STREAM A (K STRING KEY, V INT) WITH (kafka_topic='a', value_format='JSON');","CREATE STREAM B AS SELECT K, V + 1 AS W FROM A;"],"inputs":[{"topic":"a","key":"x","value":{"V":1}}],"outputs":[{"topic":"B","key":"x","value":{"W":2}}]},
        {"name":"fails","statements":["CREATE STREAM A (K STRING KEY, V INT) WITH (kafka_topic='a', value_format='JSON');","CREATE STREAM B AS SELECT K, V FROM A;"],"inputs":[{"topic":"a","key":"x","value":{"V":1}}],"outputs":[{"topic":"B","key":"x","value":{"V":3}}]}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .arg("test")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.trim() == "1 passed, 1 failed, 0 skipped"),
        "{stdout}"
    );
}

/// The final value per windowed key of a windowed table's topic: (key, window start) → value.
fn final_windowed_table(
    data: &Path,
    topic: &str,
) -> std::collections::BTreeMap<(String, i64), serde_json::Value> {
    let mut table = std::collections::BTreeMap::new();
    for r in read_topic(data, topic) {
        let key = r.record.key.expect("windowed key");
        let (k, start) = key.split_at(key.len() - 8);
        let start = i64::from_be_bytes(start.try_into().unwrap());
        let k = String::from_utf8(k.to_vec()).unwrap();
        match r.record.value {
            Some(v) => {
                table.insert((k, start), serde_json::from_slice(&v).unwrap());
            }
            None => {
                table.remove(&(k, start));
            }
        }
    }
    table
}

#[test]
fn kill_9_during_windowed_aggregation_restores_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start_server(&data, port);
    ksql(port, "CREATE STREAM PAYMENTS (CARD STRING KEY, ID BIGINT, AMOUNT INT) WITH (KAFKA_TOPIC='payments', VALUE_FORMAT='JSON', PARTITIONS=2);");
    ksql(port, "CREATE TABLE VELOCITY AS SELECT CARD, COUNT(*) AS N, SUM(AMOUNT) AS TOTAL FROM PAYMENTS WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY CARD;");
    let rounds = 3;
    let per_round = 1000i64;
    let card = |i: i64| format!("c{}", i % 7);
    for round in 0..rounds {
        let sql: String = (round * per_round..(round + 1) * per_round)
            .map(|i| {
                format!(
                    "INSERT INTO PAYMENTS (ROWTIME, CARD, ID, AMOUNT) VALUES ({}, '{}', {i}, {});",
                    i * 37,
                    card(i),
                    i % 10
                )
            })
            .collect();
        ksql(port, &sql);
        server.kill().expect("kill -9");
        server.wait().ok();
        server = start_server(&data, port);
    }
    // What an uninterrupted run computes.
    let mut expected: std::collections::BTreeMap<(String, i64), (i64, i64)> = Default::default();
    for i in 0..rounds * per_round {
        let e = expected
            .entry((card(i), i * 37 / 10_000 * 10_000))
            .or_default();
        e.0 += 1;
        e.1 += i % 10;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        std::thread::sleep(Duration::from_millis(1000));
        server.kill().ok();
        server.wait().ok();
        let table = final_windowed_table(&data, "VELOCITY");
        let actual: std::collections::BTreeMap<(String, i64), (i64, i64)> = table
            .into_iter()
            .map(|(k, v)| (k, (v["N"].as_i64().unwrap(), v["TOTAL"].as_i64().unwrap())))
            .collect();
        if actual == expected || Instant::now() > deadline {
            assert_eq!(
                actual, expected,
                "the final table equals an uninterrupted run's"
            );
            break;
        }
        server = start_server(&data, port);
    }
}
