//! Kafka mode of the runner (`riffle test --kafka`): every case runs on its own fresh
//! Kafka-compatible broker (Tansu, started by `scripts/kafka-broker.sh`) through
//! [`riffle_kafka::KafkaLog`], instead of an in-memory log.
//!
//! A case whose input data cannot give the same results on Kafka is skipped with the reason
//! ([`check_kafka_supported`]); nothing else about a case or its comparisons changes.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use riffle_engine::{Engine, EngineConfig};
use riffle_kafka::{KafkaLog, KafkaOptions};

use crate::harness::{skip, Verdict};
use crate::model::TestCase;

/// Environment variable naming the broker script, overriding the search for
/// [`SCRIPT`].
pub const SCRIPT_ENV: &str = "RIFFLE_KAFKA_BROKER_SCRIPT";

/// The broker script, relative to the repository root.
const SCRIPT: &str = "scripts/kafka-broker.sh";

/// How often a broker start is retried on a new port (another process may take the free port
/// between our probe and the broker's bind).
const START_ATTEMPTS: usize = 3;

/// The broker script: `$RIFFLE_KAFKA_BROKER_SCRIPT`, or `scripts/kafka-broker.sh` in the
/// current directory or one of its parents. The error says where it was looked for.
pub fn broker_script() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(SCRIPT_ENV) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "--kafka: {SCRIPT_ENV}={} is not a file (it must name scripts/kafka-broker.sh)",
                p.display()
            ))
        };
    }
    let cwd = std::env::current_dir()
        .map_err(|e| format!("--kafka: cannot read the current directory: {e}"))?;
    cwd.ancestors()
        .map(|dir| dir.join(SCRIPT))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "--kafka: broker script {SCRIPT} not found in {} or its parents; run from the \
                 Riffle repository or set {SCRIPT_ENV}",
                cwd.display()
            )
        })
}

/// The brokers of running cases by the thread that started them, so that the runner can kill
/// the broker of a case that timed out: its thread cannot be stopped, but without a broker it
/// fails fast instead of spinning on for the rest of the run.
static BROKERS: Mutex<Vec<(ThreadId, u32)>> = Mutex::new(Vec::new());

/// Kills the brokers started by `thread` (a case thread that timed out).
pub fn kill_brokers_of(thread: ThreadId) {
    let pids: Vec<u32> = match BROKERS.lock() {
        Ok(b) => b
            .iter()
            .filter(|(t, _)| *t == thread)
            .map(|&(_, p)| p)
            .collect(),
        Err(_) => return,
    };
    for pid in pids {
        kill(pid);
    }
}

/// A running broker, killed when dropped (also when the case panics).
#[derive(Debug)]
pub struct Broker {
    pid: u32,
    port: u16,
}

impl Broker {
    /// Starts a broker on a free loopback port. The script also gets our pid, so its watchdog
    /// kills the broker if this process dies without dropping the guard.
    pub fn start() -> Result<Broker, String> {
        let script = broker_script()?;
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            match start_on(&script, port) {
                Ok(pid) => {
                    if let Ok(mut b) = BROKERS.lock() {
                        b.push((thread::current().id(), pid));
                    }
                    return Ok(Broker { pid, port });
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Ok(mut b) = BROKERS.lock() {
            b.retain(|&(_, p)| p != self.pid);
        }
        kill(self.pid);
    }
}

/// Stops a broker with SIGKILL: its storage is memory and thrown away, and a graceful stop
/// (SIGTERM) takes Tansu over a second. Waits (up to 2 s) for it to go, so that brokers do not
/// pile up over a long run.
fn kill(pid: u32) {
    let pid = pid.to_string();
    let signal = |args: &[&str]| {
        Command::new("kill")
            .args(args)
            .arg(&pid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    signal(&["-9"]);
    for _ in 0..200 {
        if gone(&pid) || !signal(&["-0"]) {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a process has exited: it has no `/proc` entry or is a zombie (the broker is not our
/// child, and its new parent may reap it only seconds later; `kill -0` succeeds on zombies).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => Path::new("/proc/self").exists(),
    }
}

/// Threads dropping the engines and brokers of finished cases.
static RETIRING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Drops `engine` and then `broker` on another thread, once `released` says the case's own
/// reference to the engine is gone. If no thread can be started, both are dropped now.
pub fn retire(engine: Engine, broker: Broker, released: Receiver<()>) {
    let work = move || {
        // Err (the sender dropped) is the signal.
        let _ = released.recv();
        drop(engine);
        drop(broker);
    };
    if let Ok(handle) = thread::Builder::new()
        .name("riffle-kafka-retire".into())
        .spawn(work)
    {
        if let Ok(mut r) = RETIRING.lock() {
            r.retain(|h| !h.is_finished());
            r.push(handle);
        }
    }
}

/// Waits until the engines and brokers of every finished case are gone.
pub fn wait_retired() {
    let handles = match RETIRING.lock() {
        Ok(mut r) => std::mem::take(&mut *r),
        Err(_) => return,
    };
    for h in handles {
        let _ = h.join();
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

/// Runs the script for `port`; returns the broker's pid.
fn start_on(script: &Path, port: u16) -> Result<u32, String> {
    let out = Command::new(script)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.trim().parse::<u32>() {
        Ok(pid) if out.status.success() => Ok(pid),
        _ => Err(format!(
            "{} {port} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Opens an engine on a fresh broker; the broker is returned too, to be dropped after the
/// engine.
pub fn open_engine(config: EngineConfig) -> Result<(Engine, Broker), String> {
    let broker = Broker::start()?;
    let mut options = KafkaOptions::new(broker.bootstrap_servers());
    // Short timeouts: the broker is on loopback, and a hanging request should fail the case
    // well before the runner's timeout.
    options.timeout = Duration::from_secs(5);
    options.fetch_timeout = Duration::from_secs(1);
    options.transactional_id = format!("riffle-test-{}", broker.port);
    let log = KafkaLog::connect(options)
        .map_err(|e| format!("cannot connect to the broker on port {}: {e}", broker.port))?;
    let engine = Engine::with_log(Arc::new(log), config)
        .map_err(|e| format!("cannot open engine on Kafka: {e}"))?;
    Ok((engine, broker))
}

/// Skips a case whose input data cannot give the expected results on Kafka.
///
/// librdkafka replaces a produce timestamp of 0 with the wall clock (`rd_kafka_msg_new0`), and
/// an input without a timestamp is produced at 0, as in ksqlDB's test driver. Such a case is
/// skipped when it observes record time: an expected output states timestamp 0 (it comes from
/// an input at 0) or a window (window bounds come from record time), or other inputs have
/// real timestamps (the wall clock would reorder event time).
pub fn check_kafka_supported(case: &TestCase) -> Result<(), Verdict> {
    let at_zero: Vec<usize> = case
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| i.timestamp.unwrap_or(0) == 0)
        .map(|(n, _)| n)
        .collect();
    let Some(&first) = at_zero.first() else {
        return Ok(());
    };
    let why = if case.outputs.iter().any(|o| o.timestamp == Some(0)) {
        "an expected output has timestamp 0"
    } else if case.outputs.iter().any(|o| o.window.is_some()) {
        "expected outputs have windows, which depend on record time"
    } else if at_zero.len() < case.inputs.len() {
        "other inputs have real timestamps, so event-time order would change"
    } else {
        return Ok(());
    };
    let given = match case.inputs[first].timestamp {
        Some(_) => "timestamp 0",
        None => "no timestamp (produced at 0)",
    };
    skip(format!(
        "input {first} has {given}: librdkafka replaces a produce timestamp of 0 with the wall \
         clock, and {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn case(inputs: Value, outputs: Value) -> TestCase {
        serde_json::from_value(json!({"name": "t", "inputs": inputs, "outputs": outputs}))
            .expect("case")
    }

    fn reason(c: &TestCase) -> Option<String> {
        match check_kafka_supported(c) {
            Ok(()) => None,
            Err(Verdict::Skipped(r)) => Some(r),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn timestamp_zero_skips_only_when_time_is_observed() {
        let untimed = json!([{"topic": "o", "value": 1}]);
        // Record time is not observed: runs.
        assert_eq!(
            reason(&case(json!([{"topic": "i", "value": 1}]), untimed.clone())),
            None
        );
        // Real timestamps: runs.
        let timed = json!([{"topic": "i", "value": 1, "timestamp": 5}]);
        assert_eq!(
            reason(&case(
                timed,
                json!([{"topic": "o", "value": 1, "timestamp": 0}])
            )),
            None
        );
        let r = reason(&case(
            json!([{"topic": "i", "value": 1, "timestamp": 0}]),
            json!([{"topic": "o", "value": 1, "timestamp": 0}]),
        ))
        .expect("skipped");
        assert!(r.starts_with("input 0 has timestamp 0: librdkafka"), "{r}");
        let r = reason(&case(
            json!([{"topic": "i", "value": 1}]),
            json!([{"topic": "o", "value": 1, "window": {"start": 0, "end": 10}}]),
        ))
        .expect("skipped");
        assert!(
            r.contains("no timestamp (produced at 0)") && r.contains("windows"),
            "{r}"
        );
        let r = reason(&case(
            json!([{"topic": "i", "value": 1, "timestamp": 10}, {"topic": "i", "value": 2}]),
            untimed,
        ))
        .expect("skipped");
        assert!(
            r.starts_with("input 1 has") && r.contains("event-time order"),
            "{r}"
        );
    }

    #[test]
    fn free_ports_are_free() {
        let p = free_port().expect("port");
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok());
    }
}
