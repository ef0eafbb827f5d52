//! The Riffle engine: executes ksqlDB statements against a log.
//!
//! [`Engine::execute`] runs statement text and answers with ksqlDB REST entities. Persistent
//! queries (CSAS, INSERT INTO … SELECT) run either in the background on a tokio runtime
//! ([`Engine::start`], the server) or step by step when asked ([`Engine::run_until_idle`], the
//! test runner, which needs deterministic processing order). DDL and persistent queries are
//! recorded in a command topic and replayed when the engine opens again, so the catalog and the
//! queries survive restarts; queries resume from their committed offsets.

mod catalog;
mod command_log;
mod config;
mod ddl;
mod describe;
mod engine;
mod error;
mod executor;
mod implicit_cast;
mod insert;
mod query_plan;
mod runtime;
mod schemas;
mod topics;
pub mod window;
mod with_clause;

pub use catalog::{Catalog, QueryInfo, QueryState, Source, SourceType, TimestampColumn};
pub use config::{EngineConfig, Properties};
pub use engine::{Engine, StatementFailure};
pub use error::{EngineError, Result};
pub use runtime::persistent::QueryMetrics;
pub use runtime::push::{PushMessage, PushQuery};
