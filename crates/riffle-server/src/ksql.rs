//! Statement execution: `POST /ksql`, `POST /ksql/terminate`, `GET /status…`.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use riffle_api::{CommandStatus, CurrentStatus, KsqlEntity, KsqlRequest};
use riffle_engine::StatementFailure;
use serde::Deserialize;
use serde_json::json;

use crate::error::{codes, ApiError};
use crate::query::parse_body;
use crate::sql_text::split;
use crate::state::{string_properties, variables, AppState};

/// ksqlDB's answer to a SELECT or PRINT sent to `/ksql` (`Errors.queryEndpoint`).
pub(crate) const QUERY_ENDPOINT_MESSAGE: &str =
    "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT";

/// `POST /ksql`: executes every statement in order and answers with their entities, or with the
/// first failure (which carries the entities of the statements before it).
pub(crate) async fn ksql(State(state): State<AppState>, body: Bytes) -> Response {
    let req: KsqlRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    // ksqlDB validates the whole request before running any of it, so a query anywhere in the
    // request fails it with nothing executed.
    if let Some(query) = split(&req.ksql)
        .into_iter()
        .find(|s| s.is_select() || s.is_print())
    {
        return ApiError::statement(
            codes::QUERY_ENDPOINT,
            QUERY_ENDPOINT_MESSAGE,
            query.text,
            Vec::new(),
        )
        .into_response();
    }
    let properties = string_properties(&req.streams_properties);
    let vars = variables(&req.session_variables);
    match execute(&state, req.ksql, properties, vars).await {
        Ok(entities) => Json(entities).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs statement text on a blocking thread and records the command statuses it produced.
async fn execute(
    state: &AppState,
    sql: String,
    properties: BTreeMap<String, String>,
    vars: HashMap<String, String>,
) -> Result<Vec<KsqlEntity>, ApiError> {
    let engine = state.engine().clone();
    let result = tokio::task::spawn_blocking(move || engine.execute(&sql, &properties, &vars))
        .await
        .map_err(|e| ApiError::internal(format!("statement execution failed: {e}")))?;
    match result {
        Ok(entities) => {
            state.record_commands(&entities);
            Ok(entities)
        }
        Err(StatementFailure {
            statement_text,
            error,
            entities,
        }) => {
            state.record_commands(&entities);
            Err(ApiError::statement(
                error.error_code(),
                error.to_string(),
                statement_text,
                entities,
            ))
        }
    }
}

/// Body of `POST /ksql/terminate` (ksqlDB's `ClusterTerminateRequest`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TerminateRequest {
    /// Regular-expression-like patterns (`.*` wildcards) of topics to delete with their sources.
    #[serde(default)]
    delete_topic_list: Vec<String>,
}

/// `POST /ksql/terminate`: terminates every persistent query and drops every source, deleting
/// the topics named in `deleteTopicList`. Unlike ksqlDB, the server keeps running afterwards.
pub(crate) async fn terminate(State(state): State<AppState>, body: Bytes) -> Response {
    let req: TerminateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TerminateRequest::default()
    } else {
        match parse_body(&body) {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        }
    };
    let none = BTreeMap::new();
    let no_vars = HashMap::new();
    if !state.engine().catalog().queries.is_empty() {
        if let Err(e) = execute(
            &state,
            "TERMINATE ALL;".into(),
            none.clone(),
            no_vars.clone(),
        )
        .await
        {
            return e.into_response();
        }
    }
    for source in state.engine().catalog().sources.values() {
        let delete = req
            .delete_topic_list
            .iter()
            .any(|p| topic_matches(p, &source.topic));
        let sql = format!(
            "DROP {} IF EXISTS `{}`{};",
            source.source_type.name(),
            source.name.replace('`', "``"),
            if delete { " DELETE TOPIC" } else { "" }
        );
        if let Err(e) = execute(&state, sql, none.clone(), no_vars.clone()).await {
            return e.into_response();
        }
    }
    tracing::warn!("cluster terminated through /ksql/terminate");
    let status = KsqlEntity::CurrentStatus(CurrentStatus {
        statement_text: "TERMINATE CLUSTER;".into(),
        command_id: "cluster/TerminateCluster/terminate".into(),
        command_status: CommandStatus {
            status: "SUCCESS".into(),
            message: "Cluster terminated: all queries terminated and all sources dropped".into(),
            query_id: None,
        },
        command_sequence_number: 0,
        warnings: Vec::new(),
    });
    Json(vec![status]).into_response()
}

/// Matches a `deleteTopicList` entry: a topic name where `*` is a wildcard (ksqlDB accepts
/// regular expressions; `.*` and `*` both mean "anything" here).
fn topic_matches(pattern: &str, topic: &str) -> bool {
    let pattern = pattern.replace(".*", "*");
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == topic;
    }
    let mut rest = topic;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    true
}

/// `GET /status`.
pub(crate) async fn all_statuses(State(state): State<AppState>) -> Response {
    let statuses: BTreeMap<String, String> = state
        .command_statuses()
        .into_iter()
        .map(|(id, s)| (id, s.status))
        .collect();
    Json(json!({ "commandStatuses": statuses })).into_response()
}

/// `GET /status/{type}/{entity}/{action}`.
pub(crate) async fn status(
    State(state): State<AppState>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Response {
    let all = state.command_statuses();
    let candidates = [
        format!("{kind}/{entity}/{action}"),
        format!("{kind}/`{entity}`/{action}"),
    ];
    match candidates.iter().find_map(|id| all.get(id)) {
        Some(status) => Json(status.clone()).into_response(),
        None => ApiError::generic(codes::NOT_FOUND, "Command not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_topic_patterns() {
        assert!(topic_matches("foo", "foo"));
        assert!(!topic_matches("foo", "foobar"));
        assert!(topic_matches("foo.*", "foobar"));
        assert!(topic_matches("*", "anything"));
        assert!(topic_matches("a*c", "abbc"));
        assert!(!topic_matches("a*c", "abbd"));
    }
}
