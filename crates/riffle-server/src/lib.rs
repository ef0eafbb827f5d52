//! Riffle's HTTP server: ksqlDB's REST API over a Riffle [`Engine`].
//!
//! One port serves HTTP/1.1 and HTTP/2 cleartext (prior knowledge, as ksqlDB's Java and Go
//! clients use it). Routes, bodies, media types and error envelopes follow ksqlDB's REST
//! contract so that ksqlDB's CLI, Java client, Python and Go clients work unchanged:
//!
//! | route | module |
//! | --- | --- |
//! | `POST /ksql`, `POST /ksql/terminate`, `GET /status[/{type}/{entity}/{action}]` | `ksql` |
//! | `POST /query`, `POST /query-stream`, `POST /close-query` | `query` (PRINT in `print`) |
//! | `POST /inserts-stream` (HTTP/2 only) | `inserts` |
//! | `GET /info`, `/healthcheck`, `/chc/live`, `/chc/ready`, `/clusterStatus`, `/is_valid_property/{p}`, `/v1/metadata[/id]` | `info` |
//! | `GET /` (browsers; others are redirected to `/info`), `GET /ui/{file}`: the web UI | `web` |
//! | `GET /metrics` (Prometheus text) | `metrics` |

#![warn(missing_docs)]

mod error;
mod framing;
mod headless;
mod info;
mod inserts;
mod ksql;
mod metrics;
mod print;
mod print_format;
mod query;
mod sql_text;
mod state;
mod web;

use std::future::Future;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use riffle_engine::Engine;
use tokio::net::TcpListener;

pub use error::ServerError;
pub use info::{KSQL_COMPATIBLE_VERSION, RIFFLE_VERSION};

use crate::error::{codes, ApiError};
use crate::state::{AppState, Lifecycle};

/// Largest accepted request body for the non-streaming endpoints (statement scripts can be big).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The ksqlDB REST API over `engine`, as an axum router.
///
/// The caller owns the engine's lifecycle: call [`Engine::start`] so that persistent queries
/// run. Open streams end only when clients leave or queries finish; use [`serve`] for graceful
/// shutdown.
pub fn router(engine: Engine) -> Router {
    build_router(AppState::new(engine))
}

fn build_router(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::root))
        .route("/ui/{file}", get(web::asset))
        .route("/ksql", post(ksql::ksql))
        .route("/ksql/terminate", post(ksql::terminate))
        .route("/query", post(query::query))
        .route("/query-stream", post(query::query_stream))
        .route("/close-query", post(query::close_query))
        .route("/inserts-stream", post(inserts::inserts_stream))
        .route("/info", get(info::info))
        .route("/healthcheck", get(info::healthcheck))
        .route("/chc/live", get(info::chc))
        .route("/chc/ready", get(info::chc))
        .route("/clusterStatus", get(info::cluster_status))
        .route("/status", get(ksql::all_statuses))
        .route("/status/{type}/{entity}/{action}", get(ksql::status))
        .route(
            "/is_valid_property/{property}",
            get(info::is_valid_property),
        )
        .route("/v1/metadata", get(info::metadata))
        .route("/v1/metadata/id", get(info::metadata_id))
        .route("/metrics", get(metrics::metrics))
        .fallback(info::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), lifecycle))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

/// While the server shuts down, every route but the `/chc` probes answers 503, as ksqlDB's
/// `ServerStateHandler` does.
async fn lifecycle(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.lifecycle() == Lifecycle::Terminating && !req.uri().path().starts_with("/chc/") {
        return ApiError::generic(codes::SERVER_SHUTTING_DOWN, "The server is shutting down")
            .into_response();
    }
    next.run(req).await
}

/// Serves the REST API for `engine` on `listener` (HTTP/1.1 and h2c) until `shutdown`
/// completes. Then open query streams are ended (push queries with their final message), new
/// requests get 503, and the function returns once every connection has closed.
///
/// As with [`router`], call [`Engine::start`] before serving so that persistent queries run.
pub async fn serve(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_with(engine, listener, shutdown, ServeOptions::default()).await
}

/// How [`serve_with`] serves.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Headless mode: the queries file the engine was started with. Every request that would
    /// run statements, queries or inserts is then refused; `/info`, `/healthcheck` and
    /// `/metrics` keep working.
    pub headless_queries_file: Option<String>,
}

/// [`serve`] with options (headless mode).
pub async fn serve_with(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Result<(), ServerError> {
    let state = AppState::new(engine);
    let mut app = build_router(state.clone());
    if let Some(file) = options.headless_queries_file {
        let file: std::sync::Arc<str> = file.into();
        app = app.layer(from_fn_with_state(file, headless::refuse_statements));
    }
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: closing open streams");
        state.begin_shutdown();
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .await?;
    Ok(())
}
