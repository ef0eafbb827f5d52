use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use riffle_api::KsqlEntity;
use riffle_log::{EmbeddedLog, Log, MemoryLog};
use riffle_planner::ExprPlanner;

use crate::catalog::Catalog;
use crate::command_log::CommandLog;
use crate::config::{EngineConfig, Properties};
use crate::runtime::persistent::PersistentQuery;
use crate::runtime::push::{PushControl, PushQuery};
use crate::{EngineError, Result};

/// A Riffle engine over one log. Cheap to clone; all clones share state.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) log: Arc<dyn Log>,
    pub(crate) config: EngineConfig,
    pub(crate) planner: ExprPlanner,
    pub(crate) state: Mutex<State>,
    /// Held while a statement that changes the catalog runs, and while commands of other
    /// servers are applied: a server first applies every command already in the command
    /// topic, then runs its own statement and appends it, so servers of one service apply
    /// statements in the same order (and give their queries the same ids).
    pub(crate) statements: Mutex<()>,
    pub(crate) push: Mutex<HashMap<String, PushControl>>,
    pub(crate) runtime: Mutex<Option<tokio::runtime::Handle>>,
    /// The embedded schema registry of the AVRO, PROTOBUF and JSON_SR formats.
    pub(crate) schema_registry: Arc<riffle_format::SchemaRegistry>,
    /// Tables' current state for pull queries, kept up to date incrementally.
    pub(crate) table_views: crate::runtime::table_view::TableViews,
}

/// Everything that changes with statements; one lock so statements apply atomically.
pub(crate) struct State {
    pub(crate) catalog: Catalog,
    pub(crate) running: BTreeMap<String, Arc<PersistentQuery>>,
    pub(crate) commands: CommandLog,
    pub(crate) next_push_id: u64,
    pub(crate) query_counter: u64,
}

impl Engine {
    /// Opens an engine: the embedded log in `config.data_dir` (or in memory when unset), then
    /// replays the command topic to rebuild the catalog and restart persistent queries.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let log: Arc<dyn Log> = match &config.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    EngineError::statement(format!(
                        "Cannot create data directory {}: {e}",
                        dir.display()
                    ))
                })?;
                Arc::new(EmbeddedLog::open(&dir.join("log"))?)
            }
            None => Arc::new(MemoryLog::new()),
        };
        Self::with_log(log, config)
    }

    /// Opens an engine over an existing log.
    pub fn with_log(log: Arc<dyn Log>, config: EngineConfig) -> Result<Engine> {
        let commands = CommandLog::open(log.as_ref(), &config.command_topic())?;
        let engine = Engine {
            inner: Arc::new(Inner {
                log,
                planner: ExprPlanner::shared(),
                state: Mutex::new(State {
                    catalog: Catalog::default(),
                    running: BTreeMap::new(),
                    commands,
                    next_push_id: 0,
                    query_counter: 0,
                }),
                statements: Mutex::new(()),
                push: Mutex::new(HashMap::new()),
                table_views: Default::default(),
                runtime: Mutex::new(None),
                schema_registry: Arc::new(riffle_format::SchemaRegistry::new()),
                config,
            }),
        };
        engine.replay()?;
        if engine.inner.config.processing_log_stream {
            engine.ensure_processing_log()?;
        }
        Ok(engine)
    }

    /// The log this engine reads and writes.
    pub fn log(&self) -> &Arc<dyn Log> {
        &self.inner.log
    }

    /// The schema registry that sources with AVRO, PROTOBUF and JSON_SR formats use.
    pub fn schema_registry(&self) -> Arc<riffle_format::SchemaRegistry> {
        self.inner.schema_registry.clone()
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// A snapshot of the catalog.
    pub fn catalog(&self) -> Catalog {
        self.lock_state()
            .map(|s| s.catalog.clone())
            .unwrap_or_default()
    }

    pub(crate) fn lock_state(&self) -> Result<MutexGuard<'_, State>> {
        self.inner
            .state
            .lock()
            .map_err(|_| EngineError::Internal("engine state lock poisoned".into()))
    }

    /// Executes every statement in `sql` in order, with `properties` (as sent in
    /// `streamsProperties`) and `variables` for `${name}` substitution. Stops at the first
    /// failing statement: the error carries the entities of the statements before it.
    pub fn execute(
        &self,
        sql: &str,
        properties: &Properties,
        variables: &HashMap<String, String>,
    ) -> std::result::Result<Vec<KsqlEntity>, StatementFailure> {
        crate::executor::execute_text(self, sql, properties, variables)
    }

    /// Runs persistent queries on the calling thread until none has anything left to read.
    /// Returns the number of records processed. For tests; servers use [`Engine::start`].
    pub fn run_until_idle(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let queries: Vec<Arc<PersistentQuery>> =
                self.lock_state()?.running.values().cloned().collect();
            let mut progressed = 0;
            for q in queries {
                progressed += q.step(self)?;
            }
            if progressed == 0 {
                return Ok(total);
            }
            total += progressed;
        }
    }

    /// Starts every persistent query (now and later ones) as a background task on `handle`.
    pub fn start(&self, handle: tokio::runtime::Handle) -> Result<()> {
        let queries: Vec<Arc<PersistentQuery>> =
            self.lock_state()?.running.values().cloned().collect();
        *self
            .inner
            .runtime
            .lock()
            .map_err(|_| EngineError::Internal("runtime lock poisoned".into()))? =
            Some(handle.clone());
        for q in queries {
            self.spawn_query(q);
        }
        if !self.config().headless {
            handle.spawn(follow_commands(self.clone()));
        }
        Ok(())
    }

    pub(crate) fn spawn_query(&self, q: Arc<PersistentQuery>) {
        let handle = self.inner.runtime.lock().ok().and_then(|h| h.clone());
        if let Some(handle) = handle {
            let engine = self.clone();
            handle.spawn(crate::runtime::persistent::run(engine, q));
        }
    }

    /// Starts a push query (`SELECT … EMIT CHANGES`). Rows arrive on the returned handle.
    pub fn push_query(
        &self,
        sql: &str,
        properties: &Properties,
        variables: &HashMap<String, String>,
    ) -> Result<PushQuery> {
        crate::runtime::push::start(self, sql, properties, variables)
    }

    /// Counters and consumer lag of every running persistent query.
    pub fn query_metrics(&self) -> Vec<crate::QueryMetrics> {
        let running: Vec<Arc<PersistentQuery>> = match self.lock_state() {
            Ok(state) => state.running.values().cloned().collect(),
            Err(_) => return Vec::new(),
        };
        running
            .iter()
            .map(|q| q.metrics(self.log().as_ref()))
            .collect()
    }

    /// Stops a push query by id; false when there is no such query.
    pub fn close_push_query(&self, id: &str) -> bool {
        crate::runtime::push::close(self, id)
    }

    /// Ids of the running push queries.
    pub fn push_query_ids(&self) -> Vec<String> {
        self.inner
            .push
            .lock()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Inserts one row given as a JSON object (column name → value) into a stream, as
    /// `/inserts-stream` and `INSERT INTO … VALUES` do.
    pub fn insert_json(&self, target: &str, row: &serde_json::Value) -> Result<()> {
        crate::insert::insert_json(self, target, row)
    }
}

/// Picks up, every second, statements that other servers of the service recorded in the
/// shared command topic (see [`Engine::follow_commands`]).
async fn follow_commands(engine: Engine) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let e = engine.clone();
        match tokio::task::spawn_blocking(move || e.follow_commands()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "reading the command topic failed"),
            Err(e) => {
                tracing::error!(error = %e, "the command topic follower panicked");
                return;
            }
        }
    }
}

/// A failed statement in a request: what failed, why, and what ran before it.
#[derive(Debug)]
pub struct StatementFailure {
    /// The failing statement's text.
    pub statement_text: String,
    /// The cause.
    pub error: EngineError,
    /// Entities of the statements that succeeded before it.
    pub entities: Vec<KsqlEntity>,
}

impl std::fmt::Display for StatementFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}
