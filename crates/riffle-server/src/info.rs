//! Server information and probes: `/info`, `/healthcheck`, `/chc/*`, `/clusterStatus`,
//! `/is_valid_property/{p}` and `/v1/metadata…`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The ksqlDB version Riffle reports. Clients check it (the migrations tool requires a
/// standalone ksqlDB version of at least 0.10), so it is ksqlDB's last release line rather than
/// Riffle's own version, which goes in the `X-Riffle-Version` response header.
pub const KSQL_COMPATIBLE_VERSION: &str = "0.29.0";

/// Riffle's own version.
pub const RIFFLE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Kafka cluster id reported for the embedded log.
const EMBEDDED_CLUSTER_ID: &str = "riffle-embedded";

/// The cluster id of the log: Kafka's, or [`EMBEDDED_CLUSTER_ID`].
fn kafka_cluster_id(state: &AppState) -> String {
    state
        .engine()
        .log()
        .cluster_id()
        .unwrap_or_else(|| EMBEDDED_CLUSTER_ID.to_string())
}

/// `GET /info`.
pub(crate) async fn info(State(state): State<AppState>) -> Response {
    Json(json!({
        "KsqlServerInfo": {
            "version": KSQL_COMPATIBLE_VERSION,
            "kafkaClusterId": kafka_cluster_id(&state),
            "ksqlServiceId": state.engine().config().service_id,
            "serverStatus": "RUNNING",
        }
    }))
    .into_response()
}

/// `GET /healthcheck`: always HTTP 200; the body says whether the server is healthy: its
/// engine state (`metastore`) and its log (`kafka`: on the Kafka backend, whether the cluster
/// answers a metadata request now).
pub(crate) async fn healthcheck(State(state): State<AppState>) -> Response {
    // The catalog lives in-process: if we can answer, it is up. Taking a catalog snapshot
    // checks that the engine's state is reachable.
    let _ = state.engine().catalog();
    let metastore = true;
    let log = state.engine().log().clone();
    let kafka = match tokio::task::spawn_blocking(move || log.reachable()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "healthcheck: the log does not answer");
            false
        }
        Err(_) => false,
    };
    Json(json!({
        "isHealthy": metastore && kafka,
        "details": {
            "metastore": {"isHealthy": metastore},
            "kafka": {"isHealthy": kafka},
            "commandRunner": {"isHealthy": true},
        },
        "serverState": "READY",
    }))
    .into_response()
}

/// `GET /chc/live`, `GET /chc/ready`: `{}` whatever the server state.
pub(crate) async fn chc() -> Response {
    Json(json!({})).into_response()
}

/// `GET /clusterStatus`: this single server, alive.
pub(crate) async fn cluster_status(headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:8088")
        .to_string();
    let now = chrono::Utc::now().timestamp_millis();
    Json(json!({
        "clusterStatus": {
            host: {
                "hostAlive": true,
                "lastStatusUpdateMs": now,
                "activeStandbyPerQuery": {},
                "hostStoreLags": {"stateStoreLags": {}, "updateTimeMs": now},
            }
        }
    }))
    .into_response()
}

/// Kafka Streams, consumer and producer settings that ksqlDB accepts as query properties.
const KNOWN_PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "cache.max.bytes.buffering",
    "statestore.cache.max.bytes",
    "commit.interval.ms",
    "processing.guarantee",
    "num.stream.threads",
    "buffered.records.per.partition",
    "max.task.idle.ms",
    "default.timestamp.extractor",
    "default.deserialization.exception.handler",
    "default.production.exception.handler",
    "num.standby.replicas",
    "replication.factor",
    "state.dir",
    "topology.optimization",
    "application.id",
    "bootstrap.servers",
    "client.id",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "max.poll.records",
    "max.poll.interval.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "isolation.level",
    "enable.auto.commit",
    "acks",
    "batch.size",
    "linger.ms",
    "compression.type",
    "retries",
    "request.timeout.ms",
    "delivery.timeout.ms",
    "max.request.size",
    "buffer.memory",
    "enable.idempotence",
];

/// `GET /is_valid_property/{property}`.
pub(crate) async fn is_valid_property(Path(property): Path<String>) -> Response {
    let stripped = [
        "ksql.streams.",
        "ksql.streams.consumer.",
        "ksql.streams.producer.",
    ]
    .iter()
    .find_map(|p| property.strip_prefix(p))
    .or_else(|| property.strip_prefix("consumer."))
    .or_else(|| property.strip_prefix("producer."))
    .unwrap_or(&property);
    if property.starts_with("ksql.") || KNOWN_PROPERTIES.contains(&stripped) {
        Json(true).into_response()
    } else {
        ApiError::bad_request(format!(
            "Not recognizable as ksql, streams, consumer, or producer property: '{property}'"
        ))
        .into_response()
    }
}

fn cluster_id(state: &AppState) -> Value {
    json!({
        "scope": {
            "path": [],
            "clusters": {
                "kafka-cluster": kafka_cluster_id(state),
                "ksql-cluster": state.engine().config().service_id,
            }
        },
        "id": "",
    })
}

/// `GET /v1/metadata`.
pub(crate) async fn metadata(State(state): State<AppState>) -> Response {
    Json(json!({
        "version": KSQL_COMPATIBLE_VERSION,
        "clusterId": cluster_id(&state),
    }))
    .into_response()
}

/// `GET /v1/metadata/id`.
pub(crate) async fn metadata_id(State(state): State<AppState>) -> Response {
    Json(cluster_id(&state)).into_response()
}

/// Fallback for unknown routes: a 404 with the error envelope.
pub(crate) async fn not_found() -> Response {
    ApiError::generic(crate::error::codes::NOT_FOUND, "Resource not found").into_response()
}

/// The `X-Riffle-Version` header sent with every response.
pub(crate) fn version_header() -> (header::HeaderName, HeaderValue) {
    (
        header::HeaderName::from_static("x-riffle-version"),
        HeaderValue::from_static(RIFFLE_VERSION),
    )
}
