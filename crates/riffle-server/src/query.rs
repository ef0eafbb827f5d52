//! Streaming queries: `POST /query-stream`, `POST /query` (legacy) and `POST /close-query`.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use riffle_api::{CloseQueryArgs, KsqlRequest, QueryStreamArgs};
use riffle_engine::{Engine, Properties, PushMessage, PushQuery};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{codes, ApiError};
use crate::framing::{
    negotiate, Framing, QueryHeader, Writer, DELIMITED, JSON, KSQL_V1_JSON, KSQL_V1_PROTOBUF,
};
use crate::print::{self, PrintMode};
use crate::sql_text::{split, Statement};
use crate::state::{string_properties, variables, AppState};

/// Rows coalesced into one chunk when they arrive faster than the client reads.
const MAX_ROWS_PER_CHUNK: usize = 256;

/// `POST /query-stream`: the HTTP/2-era query API (works over HTTP/1.1 chunked too).
pub(crate) async fn query_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args: QueryStreamArgs = match parse_body(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let offered = [DELIMITED, JSON, KSQL_V1_JSON, KSQL_V1_PROTOBUF];
    let Some(media) = negotiate(accept, &offered, DELIMITED) else {
        return not_acceptable(accept);
    };
    if media == KSQL_V1_PROTOBUF {
        return ApiError::generic(
            codes::NOT_ACCEPTABLE,
            "The application/vnd.ksql.v1+protobuf response format is not supported yet; \
             use application/vnd.ksql.v1+json",
        )
        .into_response();
    }
    let stmt = match single_statement(&args.sql) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if stmt.is_print() {
        if media != DELIMITED {
            return ApiError::generic(
                codes::NOT_ACCEPTABLE,
                format!("PRINT is only available with Accept: {DELIMITED}"),
            )
            .into_response();
        }
        return print::start(state, &stmt, PrintMode::Delimited).await;
    }
    let framing = match media {
        DELIMITED => Framing::Delimited,
        JSON => Framing::JsonArray,
        _ => Framing::StreamedRows {
            pull: stmt.is_pull_query(),
        },
    };
    start_query(
        state,
        args.sql,
        string_properties(&args.properties),
        variables(&args.session_variables),
        framing,
        media,
    )
    .await
}

/// `POST /query`: the legacy endpoint. SELECTs answer with StreamedRow framing (ksqlDB's
/// `ksql.endpoint.migrate.query=true` behaviour); PRINT answers with plain text lines.
pub(crate) async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: KsqlRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let stmt = match single_statement(&req.ksql) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if stmt.is_print() {
        return print::start(state, &stmt, PrintMode::Legacy).await;
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Some(media) = negotiate(accept, &[KSQL_V1_JSON, JSON, DELIMITED], KSQL_V1_JSON) else {
        return not_acceptable(accept);
    };
    let framing = if media == DELIMITED {
        Framing::Delimited
    } else {
        Framing::StreamedRows {
            pull: stmt.is_pull_query(),
        }
    };
    start_query(
        state,
        req.ksql,
        string_properties(&req.streams_properties),
        variables(&req.session_variables),
        framing,
        media,
    )
    .await
}

/// `POST /close-query`.
pub(crate) async fn close_query(State(state): State<AppState>, body: Bytes) -> Response {
    let args: CloseQueryArgs = match parse_body(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if state.engine().close_push_query(&args.query_id) {
        StatusCode::OK.into_response()
    } else {
        ApiError::bad_request(format!("No query with id {}", args.query_id)).into_response()
    }
}

/// Parses a JSON request body, with ksqlDB's error for malformed requests. The request
/// Content-Type is ignored, as ksqlDB does.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request: {e}")))
}

fn not_acceptable(accept: Option<&str>) -> Response {
    ApiError::generic(
        codes::NOT_ACCEPTABLE,
        format!(
            "Cannot produce a response of type '{}'",
            accept.unwrap_or_default()
        ),
    )
    .into_response()
}

/// The one statement of a query request.
fn single_statement(sql: &str) -> Result<Statement, ApiError> {
    let mut stmts = split(sql);
    if stmts.len() != 1 {
        return Err(ApiError::statement(
            codes::BAD_STATEMENT,
            format!(
                "Expected exactly one KSQL statement; found {} instead",
                stmts.len()
            ),
            sql,
            Vec::new(),
        ));
    }
    Ok(stmts.remove(0))
}

/// Starts a push or pull query in the engine and streams its rows with `framing`.
async fn start_query(
    state: AppState,
    sql: String,
    properties: Properties,
    vars: std::collections::HashMap<String, String>,
    framing: Framing,
    content_type: &'static str,
) -> Response {
    let engine = state.engine().clone();
    let text = sql.clone();
    let started =
        tokio::task::spawn_blocking(move || engine.push_query(&text, &properties, &vars)).await;
    let query = match started {
        Ok(Ok(q)) => q,
        Ok(Err(e)) => return ApiError::from_engine(&e, &sql).into_response(),
        Err(e) => return ApiError::internal(format!("query failed: {e}")).into_response(),
    };
    tracing::debug!(query_id = %query.id, "streaming query");
    let header = QueryHeader {
        query_id: query.id.clone(),
        column_names: query.column_names.clone(),
        column_types: query.column_types.clone(),
        schema: query.schema.clone(),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(pump(state, query, Writer::new(framing), header, tx));
    streaming_response(content_type, rx)
}

/// A chunked response whose body is whatever arrives on `rx`. When the client goes away the
/// body is dropped, `rx` with it, and the producer sees its channel closed.
pub(crate) fn streaming_response(
    content_type: &'static str,
    rx: mpsc::Receiver<Bytes>,
) -> Response {
    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<Bytes, Infallible>));
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Closes the engine's push query when the stream ends, however it ends.
struct CloseOnDrop {
    engine: Engine,
    id: String,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.engine.close_push_query(&self.id);
    }
}

/// Moves rows from the engine to the response until the query ends (LIMIT, completion, error,
/// `/close-query`), the client disconnects, or the server shuts down.
async fn pump(
    state: AppState,
    mut query: PushQuery,
    writer: Writer,
    header: QueryHeader,
    tx: mpsc::Sender<Bytes>,
) {
    let _close = CloseOnDrop {
        engine: state.engine().clone(),
        id: query.id.clone(),
    };
    let shutdown = state.shutdown_signal();
    tokio::pin!(shutdown);
    if tx.send(Bytes::from(writer.header(&header))).await.is_err() {
        return;
    }
    loop {
        let first = tokio::select! {
            biased;
            _ = tx.closed() => return,
            _ = &mut shutdown => {
                let _ = tx.send(Bytes::from(writer.finish(None))).await;
                return;
            }
            msg = query.rows.recv() => msg,
        };
        // Coalesce rows that are already waiting into one chunk.
        let mut chunk = String::new();
        let mut next = first;
        let mut rows = 0;
        let terminal = loop {
            match next {
                Some(PushMessage::Row(values)) => {
                    chunk.push_str(&writer.row(&values, false));
                    rows += 1;
                    if rows >= MAX_ROWS_PER_CHUNK {
                        break None;
                    }
                    match query.rows.try_recv() {
                        Ok(m) => next = Some(m),
                        Err(mpsc::error::TryRecvError::Empty) => break None,
                        Err(mpsc::error::TryRecvError::Disconnected) => break Some(None),
                    }
                }
                Some(PushMessage::Tombstone(values)) => {
                    chunk.push_str(&writer.row(&values, true));
                    rows += 1;
                    if rows >= MAX_ROWS_PER_CHUNK {
                        break None;
                    }
                    match query.rows.try_recv() {
                        Ok(m) => next = Some(m),
                        Err(mpsc::error::TryRecvError::Empty) => break None,
                        Err(mpsc::error::TryRecvError::Disconnected) => break Some(None),
                    }
                }
                other => break Some(other),
            }
        };
        if let Some(end) = terminal {
            match end {
                Some(PushMessage::Error(msg)) => {
                    tracing::warn!(query_id = %query.id, error = %msg, "query failed");
                    let err = ApiError::generic(codes::SERVER_ERROR, msg);
                    chunk.push_str(&writer.error(err.body()));
                }
                Some(PushMessage::Done(msg)) => chunk.push_str(&writer.finish(Some(&msg))),
                Some(PushMessage::Row(_) | PushMessage::Tombstone(_)) | None => {
                    chunk.push_str(&writer.finish(None))
                }
            }
            let _ = tx.send(Bytes::from(chunk)).await;
            return;
        }
        if tx.send(Bytes::from(chunk)).await.is_err() {
            return;
        }
    }
}
