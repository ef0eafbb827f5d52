use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Body of `POST /ksql` and `POST /query` (ksqlDB's `KsqlRequest`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlRequest {
    /// One or more statements, each ended by `;`.
    pub ksql: String,
    /// Query properties such as `auto.offset.reset`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub streams_properties: BTreeMap<String, Value>,
    /// Request properties (ksqlDB internal knobs); accepted and ignored where unknown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_properties: BTreeMap<String, Value>,
    /// Variables for `${name}` substitution.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub session_variables: BTreeMap<String, Value>,
    /// Read-your-writes token sent by the CLI; Riffle executes statements synchronously.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_sequence_number: Option<i64>,
}

/// Body of `POST /query-stream` (ksqlDB's `QueryStreamArgs`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStreamArgs {
    /// The query text.
    pub sql: String,
    /// Query properties.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    /// Variables for `${name}` substitution.
    #[serde(default)]
    pub session_variables: BTreeMap<String, Value>,
    /// Request properties.
    #[serde(default)]
    pub request_properties: BTreeMap<String, Value>,
}

/// Body of `POST /close-query`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseQueryArgs {
    /// Id of the push query to close.
    pub query_id: String,
}

/// First line of `POST /inserts-stream`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InsertsStreamTarget {
    /// Stream to insert into.
    pub target: String,
    /// Properties (unused).
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}
