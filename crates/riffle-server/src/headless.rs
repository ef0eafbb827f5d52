//! Headless mode (`riffle server --queries-file`): the server runs the statements of its
//! queries file and nothing else.
//!
//! ksqlDB disables its REST endpoint entirely in headless mode. Riffle keeps the read-only
//! routes (`/info`, `/healthcheck`, `/chc/*`, `/status`, `/metrics`, …) so that health checks
//! and monitoring keep working, and refuses every request that would run SQL or write data
//! (all `POST` routes) with a 403 envelope explaining why.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// ksqlDB's "forbidden" error code (`Errors.ERROR_CODE_FORBIDDEN`).
const FORBIDDEN: i64 = 40300;

/// The message of a refused request; names the queries file the server runs.
pub(crate) fn refusal(queries_file: &str) -> String {
    format!(
        "The server is running in headless mode with the queries file {queries_file}: \
         interactive use is disabled, so it accepts no statements, queries or inserts \
         over the REST API. Change the queries file and restart the server instead."
    )
}

/// Middleware refusing every `POST` (statements, queries, inserts, close-query, terminate).
pub(crate) async fn refuse_statements(
    State(queries_file): State<Arc<str>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() == Method::POST {
        return ApiError::generic(FORBIDDEN, refusal(&queries_file)).into_response();
    }
    next.run(req).await
}
