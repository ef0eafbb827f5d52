//! Request counting and `GET /metrics` in Prometheus' text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Counters kept by the server.
#[derive(Default)]
pub(crate) struct Metrics {
    /// Requests answered, by (method, route, status).
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl Metrics {
    fn count(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_insert(0) += 1;
        }
    }

    fn snapshot(&self) -> BTreeMap<(String, String, u16), u64> {
        self.requests.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// Middleware: counts every request by its route pattern (not its raw path, so that ids in
/// paths do not explode the label set) and logs it at debug level.
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let version = req.version();
    let mut resp = next.run(req).await;
    let (name, value) = crate::info::version_header();
    resp.headers_mut().insert(name, value);
    let status = resp.status().as_u16();
    tracing::debug!(%method, %route, ?version, status, "request");
    state.metrics().count(&method, &route, status);
    resp
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP riffle_http_requests_total HTTP requests answered, by method, route and status."
    );
    let _ = writeln!(out, "# TYPE riffle_http_requests_total counter");
    for ((method, route, status), n) in state.metrics().snapshot() {
        let _ = writeln!(
            out,
            "riffle_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
            escape(&method),
            escape(&route),
            status,
            n
        );
    }
    let _ = writeln!(
        out,
        "# HELP riffle_uptime_seconds Seconds since the server started."
    );
    let _ = writeln!(out, "# TYPE riffle_uptime_seconds gauge");
    let _ = writeln!(
        out,
        "riffle_uptime_seconds {:.3}",
        state.started().elapsed().as_secs_f64()
    );
    let catalog = state.engine().catalog();
    let _ = writeln!(
        out,
        "# HELP riffle_push_queries_active Push queries currently streaming."
    );
    let _ = writeln!(out, "# TYPE riffle_push_queries_active gauge");
    let _ = writeln!(
        out,
        "riffle_push_queries_active {}",
        state.engine().push_query_ids().len()
    );
    let _ = writeln!(
        out,
        "# HELP riffle_persistent_queries Persistent queries in the catalog."
    );
    let _ = writeln!(out, "# TYPE riffle_persistent_queries gauge");
    let _ = writeln!(out, "riffle_persistent_queries {}", catalog.queries.len());
    let _ = writeln!(
        out,
        "# HELP riffle_sources Streams and tables in the catalog."
    );
    let _ = writeln!(out, "# TYPE riffle_sources gauge");
    let _ = writeln!(out, "riffle_sources {}", catalog.sources.len());
    // Lag reads end and committed offsets: on Kafka, network calls that can wait (e.g. while
    // a consumer group rebalances); kept off the async workers.
    let engine = state.engine().clone();
    let queries = tokio::task::spawn_blocking(move || engine.query_metrics())
        .await
        .unwrap_or_default();
    write_query_metrics(&mut out, &queries);
    for m in state.engine().log().metrics() {
        let _ = writeln!(out, "# HELP {} {}", m.name, m.help);
        let _ = writeln!(out, "# TYPE {} counter", m.name);
        let _ = writeln!(out, "{} {}", m.name, m.value);
    }
    let mut resp = out.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// Reads one counter of a query's metrics.
type Counter = fn(&riffle_engine::QueryMetrics) -> u64;

/// Per persistent query: records in, out and failed, and consumer lag per input partition.
fn write_query_metrics(out: &mut String, queries: &[riffle_engine::QueryMetrics]) {
    let counters: [(&str, &str, Counter); 3] = [
        (
            "riffle_query_records_consumed_total",
            "Input records a persistent query has processed since the server started.",
            |q| q.consumed,
        ),
        (
            "riffle_query_records_produced_total",
            "Records a persistent query has written to its sink since the server started.",
            |q| q.produced,
        ),
        (
            "riffle_query_processing_errors_total",
            "Records a persistent query could not process (bad input, expression errors, late records).",
            |q| q.errors,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        for q in queries {
            let _ = writeln!(out, "{name}{{query=\"{}\"}} {}", escape(&q.id), value(q));
        }
    }
    // Gauges of partition counts; a query without a repartition topic has no second one.
    type Gauge = fn(&riffle_engine::QueryMetrics) -> Option<usize>;
    let gauges: [(&str, &str, Gauge); 2] = [
        (
            "riffle_query_partitions",
            "Input partitions (of its source) a persistent query processed on this server at its last step (servers of one service split them).",
            |q| Some(q.partitions.len()),
        ),
        (
            "riffle_query_repartition_partitions",
            "Partitions of its repartition topic an aggregation re-keyed by its grouping values aggregated on this server at its last step.",
            |q| q.repartition_topic.as_ref().map(|_| q.repartition_partitions.len()),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for q in queries {
            if let Some(v) = value(q) {
                let _ = writeln!(out, "{name}{{query=\"{}\"}} {v}", escape(&q.id));
            }
        }
    }
    let _ = writeln!(
        out,
        "# HELP riffle_query_consumer_lag Records in an input partition (of the source, or of the repartition topic) a persistent query has not processed yet."
    );
    let _ = writeln!(out, "# TYPE riffle_query_consumer_lag gauge");
    for q in queries {
        let repartition = q
            .repartition_topic
            .as_deref()
            .map(|t| (t, q.repartition_lag.as_slice()));
        for (topic, lags) in
            std::iter::once((q.topic.as_str(), q.lag.as_slice())).chain(repartition)
        {
            for (partition, lag) in lags {
                let _ = writeln!(
                    out,
                    "riffle_query_consumer_lag{{query=\"{}\",topic=\"{}\",partition=\"{partition}\"}} {lag}",
                    escape(&q.id),
                    escape(topic)
                );
            }
        }
    }
}

/// Escapes a Prometheus label value.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
