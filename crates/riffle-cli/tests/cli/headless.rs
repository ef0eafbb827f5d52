//! Headless mode: `riffle server --queries-file`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use riffle_log::{EmbeddedLog, Log, Record};

use super::{free_port, get, post, sink_ids, start_server_with};

const APP: &str = "\
-- The application: filter orders.
SET 'auto.offset.reset' = 'earliest';
DEFINE input = 'orders_in';
CREATE STREAM ORDERS (ORDER_ID STRING KEY, ID BIGINT, AMOUNT INT)
  WITH (KAFKA_TOPIC='${input}', VALUE_FORMAT='JSON', PARTITIONS=2);
CREATE STREAM BIG AS SELECT ORDER_ID, ID, AMOUNT FROM ORDERS WHERE AMOUNT >= 50;
CREATE TABLE PER_AMOUNT AS SELECT AMOUNT, COUNT(*) AS N FROM ORDERS GROUP BY AMOUNT;
";

/// Writes orders `from..to` straight into the input topic (the server is stopped: headless
/// servers accept no inserts).
fn write_orders(data: &Path, from: i64, to: i64) {
    let log = EmbeddedLog::open(&data.join("log")).expect("log opens");
    for i in from..to {
        let value = serde_json::json!({"ID": i, "AMOUNT": i % 100}).to_string();
        log.produce(
            "orders_in",
            Some((i % 2) as u32),
            Record {
                key: Some(Bytes::from(format!("o{i}"))),
                value: Some(Bytes::from(value)),
                timestamp: 1_700_000_000_000 + i,
                headers: vec![],
            },
        )
        .expect("produce");
    }
}

/// Runs the headless server until the sink holds `expected` records, then stops it.
fn run_until(data: &Path, app: &Path, port: u16, expected: usize) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut server = start_server_with(data, port, &["--queries-file", app.to_str().unwrap()]);
        std::thread::sleep(Duration::from_millis(1500));
        server.kill().ok();
        server.wait().ok();
        let ids = sink_ids(data, "BIG");
        if ids.len() >= expected || Instant::now() > deadline {
            return ids;
        }
    }
}

#[test]
fn headless_mode_runs_the_queries_file_and_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = dir.path().join("app.sql");
    std::fs::write(&app, APP).unwrap();
    let port = free_port();

    // The REST API refuses statements but serves info, health and metrics.
    let mut server = start_server_with(&data, port, &["--queries-file", app.to_str().unwrap()]);
    let (status, body) = post(port, "/ksql", r#"{"ksql":"SHOW STREAMS;"}"#).unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("running in headless mode"), "{body}");
    let (status, _) = post(
        port,
        "/query-stream",
        r#"{"sql":"SELECT * FROM BIG EMIT CHANGES;"}"#,
    )
    .unwrap();
    assert_eq!(status, 403);
    for path in ["/info", "/healthcheck", "/metrics"] {
        assert_eq!(get(port, path).unwrap(), 200, "{path}");
    }
    // The shell shows the refusal on one line.
    let show = dir.path().join("show.sql");
    std::fs::write(&show, "SHOW STREAMS;\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args(["shell", &format!("http://127.0.0.1:{port}"), "-f"])
        .arg(&show)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("The server is running in headless mode") && stderr.lines().count() == 1,
        "{stderr}"
    );
    server.kill().ok();
    server.wait().ok();

    // Records written to the input topic are processed; a restart neither reprocesses nor
    // loses any (same query id, so same consumer group and committed offsets).
    write_orders(&data, 0, 200);
    let ids = run_until(&data, &app, port, 100);
    let expected: Vec<i64> = (0..200).filter(|i| i % 100 >= 50).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    write_orders(&data, 200, 400);
    let mut ids = run_until(&data, &app, port, 200);
    ids.sort();
    let expected: Vec<i64> = (0..400).filter(|i| i % 100 >= 50).collect();
    assert_eq!(ids, expected, "each record exactly once across restarts");
    // The CTAS saw every order exactly once too: four orders per amount, after restarts.
    let counts = final_counts(&data, "PER_AMOUNT");
    assert_eq!(counts.len(), 100, "{counts:?}");
    assert!(counts.values().all(|n| *n == 4), "{counts:?}");
}

/// The last `N` per key of a table's topic (INTEGER keys in the KAFKA format).
fn final_counts(data: &Path, topic: &str) -> std::collections::BTreeMap<i32, i64> {
    let mut table = std::collections::BTreeMap::new();
    for r in super::read_topic(data, topic) {
        let key = r.record.key.expect("key");
        let key = i32::from_be_bytes(key.as_ref().try_into().expect("4-byte INTEGER key"));
        match r.record.value {
            Some(v) => {
                let v: serde_json::Value = serde_json::from_slice(&v).unwrap();
                table.insert(key, v["N"].as_i64().unwrap());
            }
            None => {
                table.remove(&key);
            }
        }
    }
    table
}

#[test]
fn headless_mode_rejects_forbidden_statements_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = dir.path().join("bad.sql");
    std::fs::write(&app, format!("{APP}SELECT * FROM BIG EMIT CHANGES;\n")).unwrap();
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args([
            "server",
            "--listeners",
            &format!("http://127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .arg("--queries-file")
        .arg(&app)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "riffle server: Invalid queries file {}: statement 6 is not allowed in headless mode: SELECT * FROM BIG EMIT CHANGES;\n\
             Only these statements are supported in a queries file: SET, UNSET, DEFINE, UNDEFINE, CREATE STREAM, CREATE TABLE, \
             CREATE TYPE, CREATE STREAM AS SELECT, CREATE TABLE AS SELECT, INSERT INTO ... SELECT.",
            app.display()
        )),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing started");

    // The same through ksql.queries.file in the config file, with a CTAS (allowed).
    let config = dir.path().join("server.properties");
    let ctas = dir.path().join("ctas.sql");
    std::fs::write(
        &ctas,
        format!("{APP}CREATE TABLE TOTALS AS SELECT ORDER_ID, COUNT(*) AS N FROM ORDERS GROUP BY ORDER_ID;\n"),
    )
    .unwrap();
    std::fs::write(&config, format!("ksql.queries.file={}\n", ctas.display())).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_riffle"))
        .args([
            "server",
            "--listeners",
            &format!("http://127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("not allowed in headless mode"), "{stderr}");
            break;
        }
        if get(port, "/healthcheck").map(|s| s == 200).unwrap_or(false) {
            let (status, _) = post(port, "/ksql", r#"{"ksql":"SHOW TABLES;"}"#).unwrap();
            assert_eq!(status, 403, "config-file headless mode refuses statements");
            child.kill().ok();
            child.wait().ok();
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server neither started nor failed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
