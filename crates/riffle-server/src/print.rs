//! `PRINT topic`: streams a topic's raw records, read straight from the log.
//!
//! On `/query` (legacy) the output is ksqlDB's `TopicStreamWriter` text: `Key format:` and
//! `Value format:` lines whenever the guessed formats change, one line per record, and a bare
//! newline as keep-alive while the topic is idle. On `/query-stream` it is ksqlDB's
//! `PrintPublisher` output: record lines only.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use riffle_log::{ConsumedRecord, Log};
use tokio::sync::mpsc;

use crate::error::{codes, ApiError};
use crate::framing::DELIMITED;
use crate::print_format::{FormatsTracker, RecordFormatter};
use crate::query::streaming_response;
use crate::sql_text::{parse_print, PrintTopic, Statement};
use crate::state::{AppState, Lifecycle};

/// Records fetched per partition per poll.
const FETCH_MAX: usize = 500;
/// Idle time after which the legacy output writes a keep-alive newline.
const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// Which endpoint's output format to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrintMode {
    /// `POST /query`: format lines, record lines, keep-alive newlines.
    Legacy,
    /// `POST /query-stream`: record lines only.
    Delimited,
}

/// Starts a PRINT and returns the streaming response (or the error, before any byte is sent).
pub(crate) async fn start(
    state: AppState,
    stmt: &Statement,
    mode: PrintMode,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let print = match parse_print(stmt) {
        Ok(p) => p,
        Err(msg) => {
            return ApiError::statement(codes::BAD_STATEMENT, msg, &stmt.text, Vec::new())
                .into_response()
        }
    };
    let log = state.engine().log().clone();
    let lookup = {
        let log = log.clone();
        let print = print.clone();
        tokio::task::spawn_blocking(move || start_positions(log.as_ref(), &print)).await
    };
    let positions = match lookup {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return ApiError::internal(format!("PRINT failed: {e}")).into_response(),
    };
    tracing::info!(topic = %print.topic, "Printing topic");
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(run(state, log, print, positions, mode, tx));
    let content_type = match mode {
        PrintMode::Legacy => "application/json",
        PrintMode::Delimited => DELIMITED,
    };
    streaming_response(content_type, rx)
}

/// The offset to start from in each partition, or ksqlDB's error for an unknown topic.
fn start_positions(log: &dyn Log, print: &PrintTopic) -> Result<Vec<u64>, ApiError> {
    let Some(info) = log.topic(&print.topic) else {
        let alternatives: Vec<String> = log
            .topics()
            .into_iter()
            .filter(|t| t.name.eq_ignore_ascii_case(&print.topic))
            .map(|t| format!("\tprint {};", t.name))
            .collect();
        let suggestion = if alternatives.is_empty() {
            String::new()
        } else {
            format!("\nDid you mean:\n{}", alternatives.join("\n"))
        };
        return Err(ApiError::bad_request(format!(
            "Could not find topic '{}', or the KSQL user does not have permissions to list \
             the topic. Topic names are case-sensitive.{suggestion}",
            print.topic
        )));
    };
    (0..info.partitions)
        .map(|p| {
            if print.from_beginning {
                Ok(0)
            } else {
                log.end_offset(&print.topic, p)
                    .map_err(|e| ApiError::internal(e.to_string()))
            }
        })
        .collect()
}

/// Reads the next records of every partition, in append order.
fn poll(log: &dyn Log, topic: &str, positions: &mut [u64]) -> Result<Vec<ConsumedRecord>, String> {
    let mut batch = Vec::new();
    for (partition, pos) in positions.iter_mut().enumerate() {
        let partition = u32::try_from(partition).map_err(|e| e.to_string())?;
        let records = log
            .fetch(topic, partition, *pos, FETCH_MAX)
            .map_err(|e| e.to_string())?;
        if let Some(last) = records.last() {
            *pos = last.offset + 1;
        }
        batch.extend(records);
    }
    batch.sort_by_key(|r| r.seq);
    Ok(batch)
}

/// The PRINT loop: poll, format, apply INTERVAL and LIMIT, send; sleep on the log's watch when
/// idle. Ends at LIMIT, on error, at server shutdown, or when the client goes away.
async fn run(
    state: AppState,
    log: Arc<dyn Log>,
    print: PrintTopic,
    mut positions: Vec<u64>,
    mode: PrintMode,
    tx: mpsc::Sender<Bytes>,
) {
    let mut formatter = RecordFormatter::default();
    let mut tracker = FormatsTracker::default();
    let mut polled: u64 = 0;
    let mut written: u64 = 0;
    let mut watch = log.watch();
    let shutdown = state.shutdown_signal();
    tokio::pin!(shutdown);
    let limit_reached = |written: u64| print.limit.is_some_and(|l| written >= l);
    while !limit_reached(written) {
        if state.lifecycle() == Lifecycle::Terminating {
            return;
        }
        watch.borrow_and_update();
        let fetched = {
            let log = log.clone();
            let topic = print.topic.clone();
            let mut pos = positions.clone();
            tokio::task::spawn_blocking(move || {
                poll(log.as_ref(), &topic, &mut pos).map(|b| (b, pos))
            })
            .await
        };
        let batch = match fetched {
            Ok(Ok((batch, pos))) => {
                positions = pos;
                batch
            }
            Ok(Err(msg)) => {
                let _ = tx.send(error_line(mode, &msg)).await;
                return;
            }
            Err(e) => {
                let _ = tx.send(error_line(mode, &e.to_string())).await;
                return;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = tx.closed() => return,
                _ = &mut shutdown => return,
                changed = watch.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(KEEP_ALIVE).await;
                    }
                }
                _ = tokio::time::sleep(KEEP_ALIVE) => {
                    if mode == PrintMode::Legacy && tx.send(Bytes::from_static(b"\n")).await.is_err() {
                        return;
                    }
                }
            }
            continue;
        }
        let lines = formatter.format(&batch);
        let mut out = String::new();
        if mode == PrintMode::Legacy {
            out.push_str(&tracker.update(&formatter));
        }
        for line in lines {
            if polled.is_multiple_of(print.interval) {
                written += 1;
                out.push_str(&line);
                out.push('\n');
            }
            polled += 1;
            if limit_reached(written) {
                break;
            }
        }
        if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
            return;
        }
    }
}

/// An error in the middle of the stream: plain text on the legacy endpoint, an error envelope
/// line on `/query-stream`.
fn error_line(mode: PrintMode, msg: &str) -> Bytes {
    tracing::warn!(error = %msg, "PRINT failed");
    match mode {
        PrintMode::Legacy => Bytes::from(format!("{msg}\n")),
        PrintMode::Delimited => Bytes::from(format!(
            "{}\n",
            ApiError::generic(codes::SERVER_ERROR, msg).to_json_string()
        )),
    }
}
