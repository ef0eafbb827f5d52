//! Shared helpers of the Kafka tests: a Tansu broker per test, records.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use riffle_kafka::{KafkaLog, KafkaOptions};
use riffle_log::{Log, Record};

/// The broker under test is Tansu; where it differs from Apache Kafka the tests
/// check Tansu's behaviour and say so.
pub const TANSU: bool = true;

/// A broker process started for one test; killed on drop.
pub struct Broker {
    pid: String,
    /// The broker's port on 127.0.0.1.
    pub port: u16,
}

impl Broker {
    /// Starts a broker, or `None` when Kafka tests are not enabled.
    pub fn start(test: &str) -> Option<Broker> {
        if std::env::var("RIFFLE_KAFKA_TESTS").as_deref() != Ok("1") {
            eprintln!("skipping {test}: set RIFFLE_KAFKA_TESTS=1 to run it against Tansu");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/kafka-broker.sh");
        let t = Instant::now();
        let out = Command::new(script)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .output()
            .expect("run scripts/kafka-broker.sh");
        assert!(
            out.status.success(),
            "broker did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        eprintln!("[timing] broker start: {:?}", t.elapsed());
        Some(Broker { pid, port })
    }

    /// A KafkaLog connected to this broker.
    pub fn log(&self) -> KafkaLog {
        let mut opts = KafkaOptions::new(format!("127.0.0.1:{}", self.port));
        opts.transactional_id = format!("riffle-test-{}", self.port);
        if let Ok(extra) = std::env::var("RIFFLE_KAFKA_PRODUCER") {
            for kv in extra.split(',') {
                if let Some((k, v)) = kv.split_once('=') {
                    opts.producer.insert(k.into(), v.into());
                }
            }
        }
        KafkaLog::connect(opts).expect("connect")
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

/// A record with a string key and value.
pub fn rec(key: &str, value: &str, ts: i64) -> Record {
    Record::new(
        Some(Bytes::from(key.to_string())),
        Some(Bytes::from(value.to_string())),
        ts,
    )
}

/// Fetches everything from `offset` until `want` records arrived or 10 s passed.
pub fn fetch_n(
    log: &KafkaLog,
    topic: &str,
    p: u32,
    want: usize,
) -> Vec<riffle_log::ConsumedRecord> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out: Vec<riffle_log::ConsumedRecord> = Vec::new();
    let mut next = 0;
    while out.len() < want && Instant::now() < deadline {
        let got = log.fetch(topic, p, next, 100).expect("fetch");
        if let Some(last) = got.last() {
            next = last.offset + 1;
        }
        out.extend(got);
    }
    out
}
