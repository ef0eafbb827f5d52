//! `POST /inserts-stream` (HTTP/2 only): an NDJSON request whose first line names the target
//! stream, followed by one JSON object per row; answered by a stream of acks
//! (`{"status":"ok","seq":N}`) or row errors, as rows are inserted.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Version};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use riffle_api::InsertsStreamTarget;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{codes, ApiError};
use crate::framing::{negotiate, DELIMITED, JSON};
use crate::state::AppState;

/// `POST /inserts-stream`.
pub(crate) async fn inserts_stream(State(state): State<AppState>, req: Request) -> Response {
    if req.version() != Version::HTTP_2 {
        return ApiError::generic(
            codes::HTTP2_ONLY,
            "This endpoint is only available when using HTTP2",
        )
        .into_response();
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json_array = negotiate(accept.as_deref(), &[DELIMITED, JSON], DELIMITED) == Some(JSON);
    let mut body = req.into_body().into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let first = match read_line(&mut body, &mut buf).await {
        Ok(Some(line)) => line,
        Ok(None) => return ApiError::bad_request("No target in arguments").into_response(),
        Err(e) => return e.into_response(),
    };
    let args: InsertsStreamTarget = match serde_json::from_slice(&first) {
        Ok(a) => a,
        Err(e) => {
            return ApiError::bad_request(format!("Invalid JSON in request: {e}")).into_response()
        }
    };
    let target = identifier(&args.target);
    let catalog = state.engine().catalog();
    let Some(source) = catalog.sources.get(&target) else {
        return ApiError::generic(
            codes::BAD_STATEMENT,
            format!("Cannot insert values into an unknown stream/table: {target}"),
        )
        .into_response();
    };
    if source.windowed {
        return ApiError::generic(
            codes::BAD_STATEMENT,
            "Cannot insert values into windowed stream/table",
        )
        .into_response();
    }
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(run(state, target, body, buf, json_array, tx));
    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<Bytes, Infallible>));
    let mut resp = Response::new(body);
    let content_type = if json_array { JSON } else { DELIMITED };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// ksqlDB's identifier rules for the target: unquoted names are upper-cased, back-quoted or
/// double-quoted ones keep their case.
fn identifier(text: &str) -> String {
    let t = text.trim();
    for q in ['`', '"'] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            let doubled: String = [q, q].iter().collect();
            return t[1..t.len() - 1].replace(&doubled, &q.to_string());
        }
    }
    t.to_uppercase()
}

/// Reads up to the next `\n` (exclusive) from `body`, buffering the rest in `buf`. Returns
/// `None` at the end of the body with nothing buffered.
async fn read_line<S, E>(body: &mut S, buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).take(pos).collect();
            return Ok(Some(line));
        }
        match body.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(e)) => {
                return Err(ApiError::bad_request(format!(
                    "Failed to read request: {e}"
                )))
            }
            None if buf.is_empty() => return Ok(None),
            None => return Ok(Some(std::mem::take(buf))),
        }
    }
}

/// What happened to one row.
enum Outcome {
    Ok,
    Failed(i64, String),
    /// Not JSON: ksqlDB reports it and ends the stream.
    Malformed,
}

/// Reads rows, inserts them batch by batch on a blocking thread, and sends an ack or error per
/// row. Ends when the request ends, on malformed JSON, or when the client goes away.
async fn run<S, E>(
    state: AppState,
    target: String,
    mut body: S,
    mut buf: Vec<u8>,
    json_array: bool,
    tx: mpsc::Sender<Bytes>,
) where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: std::fmt::Display,
{
    let shutdown = state.shutdown_signal();
    tokio::pin!(shutdown);
    let mut seq: u64 = 0;
    let mut first = true;
    let mut ended = false;
    if json_array && tx.send(Bytes::from_static(b"[")).await.is_err() {
        return;
    }
    while !ended {
        // Take every complete line available now; wait for more only when there is none.
        let mut lines = Vec::new();
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            lines.push(buf.drain(..=pos).take(pos).collect::<Vec<u8>>());
        }
        if lines.is_empty() {
            tokio::select! {
                _ = tx.closed() => return,
                // The server is going away: acknowledge what was received and end.
                _ = &mut shutdown => ended = true,
                chunk = body.next() => match chunk {
                    Some(Ok(c)) => buf.extend_from_slice(&c),
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "inserts-stream request ended abruptly");
                        return;
                    }
                    None => {
                        ended = true;
                        if !buf.iter().all(u8::is_ascii_whitespace) {
                            lines.push(std::mem::take(&mut buf));
                        }
                    }
                },
            }
            if lines.is_empty() {
                continue;
            }
        }
        let rows: Vec<Vec<u8>> = lines
            .into_iter()
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .collect();
        let engine = state.engine().clone();
        let target = target.clone();
        let outcomes = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let outcome = match serde_json::from_slice::<Value>(&row) {
                    Ok(v @ Value::Object(_)) => match engine.insert_json(&target, &v) {
                        Ok(()) => Outcome::Ok,
                        Err(e) => Outcome::Failed(e.error_code(), e.to_string()),
                    },
                    _ => Outcome::Malformed,
                };
                let stop = matches!(outcome, Outcome::Malformed);
                out.push(outcome);
                if stop {
                    break;
                }
            }
            out
        })
        .await;
        let outcomes = match outcomes {
            Ok(o) => o,
            Err(e) => vec![Outcome::Failed(codes::SERVER_ERROR, e.to_string())],
        };
        let mut chunk = String::new();
        let mut stop = false;
        for outcome in outcomes {
            let line = match outcome {
                Outcome::Ok => json!({"status": "ok", "seq": seq}),
                Outcome::Failed(code, message) => insert_error(seq, code, &message),
                Outcome::Malformed => {
                    stop = true;
                    insert_error(seq, codes::BAD_REQUEST, "Invalid JSON in inserts stream")
                }
            };
            seq += 1;
            push_item(&mut chunk, &line, json_array, &mut first);
        }
        if stop {
            ended = true;
        }
        if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
            return;
        }
    }
    if json_array {
        let _ = tx.send(Bytes::from_static(b"]")).await;
    }
}

fn push_item(chunk: &mut String, item: &Value, json_array: bool, first: &mut bool) {
    if json_array {
        if !*first {
            chunk.push(',');
        }
        chunk.push_str(&item.to_string());
    } else {
        chunk.push_str(&item.to_string());
        chunk.push('\n');
    }
    *first = false;
}

/// ksqlDB's `InsertError`: exactly five fields.
fn insert_error(seq: u64, code: i64, message: &str) -> Value {
    json!({
        "@type": "generic_error",
        "error_code": code,
        "message": message,
        "status": "error",
        "seq": seq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(identifier("pageviews"), "PAGEVIEWS");
        assert_eq!(identifier("`pageViews`"), "pageViews");
        assert_eq!(identifier("\"a\"\"b\""), "a\"b");
    }

    #[tokio::test]
    async fn reads_lines() {
        let chunks: Vec<Result<Bytes, Infallible>> = vec![
            Ok(Bytes::from_static(b"{\"tar")),
            Ok(Bytes::from_static(b"get\":\"S\"}\n{\"A\"")),
        ];
        let mut s = futures::stream::iter(chunks);
        let mut buf = Vec::new();
        let line = read_line(&mut s, &mut buf).await.ok().flatten();
        assert_eq!(line.as_deref(), Some(&b"{\"target\":\"S\"}"[..]));
        assert_eq!(buf, b"{\"A\"");
    }
}
