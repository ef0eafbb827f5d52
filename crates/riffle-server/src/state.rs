//! State shared by every request handler.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use riffle_api::{CommandStatus, KsqlEntity};
use riffle_engine::Engine;
use serde_json::Value;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// The server's lifecycle, as ksqlDB's `ServerState` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Serving requests.
    Ready = 0,
    /// Shutting down: every route but the probes answers 503.
    Terminating = 1,
}

/// Handle to the shared state; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    started: Instant,
    metrics: Metrics,
    lifecycle: AtomicU8,
    shutdown: watch::Sender<bool>,
    commands: Mutex<BTreeMap<String, CommandStatus>>,
}

impl AppState {
    /// Fresh state over `engine`.
    pub(crate) fn new(engine: Engine) -> Self {
        let (shutdown, _) = watch::channel(false);
        AppState {
            inner: Arc::new(Shared {
                engine,
                started: Instant::now(),
                metrics: Metrics::default(),
                lifecycle: AtomicU8::new(Lifecycle::Ready as u8),
                shutdown,
                commands: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Request counters.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// When the server started.
    pub(crate) fn started(&self) -> Instant {
        self.inner.started
    }

    /// Current lifecycle state.
    pub(crate) fn lifecycle(&self) -> Lifecycle {
        match self.inner.lifecycle.load(Ordering::SeqCst) {
            0 => Lifecycle::Ready,
            _ => Lifecycle::Terminating,
        }
    }

    /// Enters `Terminating` and tells every open stream to finish.
    pub(crate) fn begin_shutdown(&self) {
        self.inner
            .lifecycle
            .store(Lifecycle::Terminating as u8, Ordering::SeqCst);
        self.inner.shutdown.send_replace(true);
    }

    /// Completes once shutdown has begun; never completes otherwise.
    pub(crate) fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.shutdown.subscribe();
        async move {
            if rx.wait_for(|down| *down).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Remembers the command statuses of executed statements, for `GET /status`.
    pub(crate) fn record_commands(&self, entities: &[KsqlEntity]) {
        let Ok(mut commands) = self.inner.commands.lock() else {
            return;
        };
        for entity in entities {
            if let KsqlEntity::CurrentStatus(status) = entity {
                commands.insert(status.command_id.clone(), status.command_status.clone());
            }
        }
    }

    /// Status of every known command: those executed through this server, plus a `create`
    /// command for every source in the catalog (e.g. replayed at start).
    pub(crate) fn command_statuses(&self) -> BTreeMap<String, CommandStatus> {
        let mut all = self
            .inner
            .commands
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        for source in self.engine().catalog().sources.values() {
            let id = format!("{}/`{}`/create", source.source_type.lower(), source.name);
            all.entry(id).or_insert_with(|| CommandStatus {
                status: "SUCCESS".into(),
                message: format!(
                    "{} created",
                    match source.source_type.name() {
                        "TABLE" => "Table",
                        _ => "Stream",
                    }
                ),
                query_id: None,
            });
        }
        all
    }
}

/// Converts request properties (JSON values) to the engine's string properties. Strings are
/// taken as they are, other values by their JSON text; nulls are dropped.
pub(crate) fn string_properties(props: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| match v {
            Value::Null => None,
            Value::String(s) => Some((k.clone(), s.clone())),
            other => Some((k.clone(), other.to_string())),
        })
        .collect()
}

/// Converts `sessionVariables` to the engine's variable map.
pub(crate) fn variables(vars: &BTreeMap<String, Value>) -> HashMap<String, String> {
    string_properties(vars).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_become_strings() {
        let mut p = BTreeMap::new();
        p.insert("auto.offset.reset".to_string(), json!("earliest"));
        p.insert("n".to_string(), json!(3));
        p.insert("b".to_string(), json!(true));
        p.insert("z".to_string(), Value::Null);
        let s = string_properties(&p);
        assert_eq!(s["auto.offset.reset"], "earliest");
        assert_eq!(s["n"], "3");
        assert_eq!(s["b"], "true");
        assert!(!s.contains_key("z"));
    }
}
