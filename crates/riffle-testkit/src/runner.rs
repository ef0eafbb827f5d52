//! Running cases in parallel, each in its own thread so that a panic becomes a failed case and
//! a hanging case times out instead of stopping the run.
//!
//! A timed-out case's thread cannot be killed; it is left behind (detached) and the run goes on.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Mutex, Once};
use std::thread::{self, ThreadId};
use std::time::Duration;

use crate::expand::{ExpandedCase, Kind, Planned};
use crate::harness::Verdict;
use crate::{CaseResult, Status};

/// Prefix of the names of threads that run cases.
const CASE_THREAD: &str = "riffle-case";

/// Stack of a case thread: planning deep expressions in a debug build needs more than the
/// default 2 MiB, and a stack overflow would abort the whole run.
const CASE_STACK: usize = 64 * 1024 * 1024;

/// How cases are run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Cases run at the same time.
    pub threads: usize,
    /// Longest a case may run before it fails with "timeout".
    pub timeout: Duration,
    /// Run each case on its own fresh Kafka-compatible broker (`scripts/kafka-broker.sh`)
    /// instead of an in-memory log.
    pub kafka: bool,
}

impl Default for RunOptions {
    /// 2–4 threads (by available cores; `RIFFLE_TEST_THREADS` overrides) and a 20 s timeout
    /// (`RIFFLE_TEST_TIMEOUT_SECS` overrides).
    fn default() -> Self {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&v| v > 0)
        };
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        RunOptions {
            threads: env("RIFFLE_TEST_THREADS").map_or(cores.clamp(2, 4), |n| n as usize),
            timeout: Duration::from_secs(env("RIFFLE_TEST_TIMEOUT_SECS").unwrap_or(20)),
            kafka: false,
        }
    }
}

/// Runs every planned case; `on_result` gets each result with the index of its case, on the
/// calling thread, in completion order.
pub fn run_all(
    planned: Vec<Planned>,
    options: RunOptions,
    mut on_result: impl FnMut(usize, CaseResult),
) {
    install_panic_hook();
    let mut queue = VecDeque::new();
    for (i, p) in planned.into_iter().enumerate() {
        match p {
            Planned::Done(r) => on_result(i, r),
            Planned::Run(c) => queue.push_back((i, c)),
        }
    }
    if queue.is_empty() {
        return;
    }
    let workers = options.threads.clamp(1, queue.len());
    let queue = Mutex::new(queue);
    let (tx, rx) = mpsc::channel::<(usize, CaseResult)>();
    thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let queue = &queue;
            scope.spawn(move || loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some((i, case)) = next else { break };
                let result = run_isolated(*case, options);
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            on_result(i, r);
        }
    });
    if options.kafka {
        crate::kafka::wait_retired();
    }
}

/// Runs one case on its own thread with a timeout, turning panics into failures.
pub fn run_isolated(case: ExpandedCase, options: RunOptions) -> CaseResult {
    let id = case.id.clone();
    let (result, thread) = isolated(id, options.timeout, move || execute(&case, options.kafka));
    if result.status == Status::Failed && result.reason.starts_with(TIMEOUT) {
        if let Some(thread) = thread {
            crate::kafka::kill_brokers_of(thread);
        }
    }
    result
}

/// Start of the reason of a case that timed out.
const TIMEOUT: &str = "timeout:";

/// Runs `work` for case `id` on its own thread with a timeout, turning panics into failures.
/// Also returns the id of the thread, if it started.
fn isolated(
    id: String,
    timeout: Duration,
    work: impl FnOnce() -> Verdict + Send + 'static,
) -> (CaseResult, Option<ThreadId>) {
    install_panic_hook();
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("{CASE_THREAD}-{}", clip_name(&id)))
        .stack_size(CASE_STACK)
        .spawn(move || {
            let verdict = panic::catch_unwind(AssertUnwindSafe(work))
                .unwrap_or_else(|payload| Verdict::Failed(panic_reason(payload.as_ref())));
            let _ = tx.send(verdict);
        });
    let thread = match spawned {
        Ok(handle) => handle.thread().id(),
        Err(e) => {
            let reason = format!("cannot start case thread: {e}");
            return (CaseResult::new(id, Status::Failed, reason), None);
        }
    };
    let verdict = match rx.recv_timeout(timeout) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => Verdict::Failed(format!(
            "{TIMEOUT} still running after {} s",
            timeout.as_secs()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Verdict::Failed("case thread ended without a result".into())
        }
    };
    let result = match verdict {
        Verdict::Passed => CaseResult::new(id, Status::Passed, ""),
        Verdict::Failed(r) => CaseResult::new(id, Status::Failed, r),
        Verdict::Skipped(r) => CaseResult::new(id, Status::Skipped, r),
    };
    (result, Some(thread))
}

/// Runs a case on the current thread.
fn execute(case: &ExpandedCase, kafka: bool) -> Verdict {
    match case.kind {
        Kind::Qtt => crate::qtt::run(&case.case, kafka),
        Kind::Rest => crate::rest::run(&case.case, kafka),
    }
}

fn clip_name(id: &str) -> String {
    id.chars().take(40).collect()
}

thread_local! {
    /// The message and location of the last panic on this case thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps panics of case threads off stderr (they become failed cases with the message and
/// location as reason); other threads' panics are reported as before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let on_case_thread = thread::current()
                .name()
                .is_some_and(|n| n.starts_with(CASE_THREAD));
            if !on_case_thread {
                previous(info);
                return;
            }
            let message = payload_text(info.payload());
            let text = match info.location() {
                Some(l) => format!("{message} at {}:{}", l.file(), l.line()),
                None => message,
            };
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        }));
    });
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

fn panic_reason(payload: &(dyn Any + Send)) -> String {
    let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
    format!(
        "panic: {}",
        recorded.unwrap_or_else(|| payload_text(payload))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_failures() {
        let (r, _) = isolated("s/f/p".into(), Duration::from_secs(5), || panic!("boom"));
        assert_eq!(r.status, Status::Failed);
        assert!(r.reason.starts_with("panic: boom at "), "{}", r.reason);
        assert!(r.reason.contains("runner.rs"), "{}", r.reason);
    }

    #[test]
    fn hanging_cases_time_out() {
        let (r, _) = isolated("s/f/t".into(), Duration::from_millis(50), || {
            thread::sleep(Duration::from_millis(500));
            Verdict::Passed
        });
        assert_eq!(r.status, Status::Failed);
        assert!(r.reason.starts_with("timeout"), "{}", r.reason);
    }

    #[test]
    fn verdicts_map_to_statuses() {
        let (r, _) = isolated("a".into(), Duration::from_secs(5), || Verdict::Passed);
        assert_eq!((r.status, r.reason.as_str()), (Status::Passed, ""));
        let (r, _) = isolated("b".into(), Duration::from_secs(5), || {
            Verdict::Skipped("later".into())
        });
        assert_eq!((r.status, r.reason.as_str()), (Status::Skipped, "later"));
    }
}
