//! The JSON shape of ksqlDB's QTT and REST-QTT test files, as far as the runner reads it.
//!
//! Fields the runner does not use are ignored (serde's default), so comments, notes and
//! issue links in test files do not matter. Fields it must honour but cannot support yet are
//! kept (as raw JSON where their shape varies) so the runner can skip such cases honestly.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One test case of a test file, before `format`/`config` expansion.
#[derive(Debug, Clone, Deserialize)]
pub struct TestCase {
    /// The test's name; unique within its file.
    pub name: String,
    /// Statements, executed in order. May contain `{FORMAT}`.
    #[serde(default)]
    pub statements: Vec<String>,
    /// Records produced to topics after the statements ran.
    #[serde(default)]
    pub inputs: Vec<RecordSpec>,
    /// Records expected in topics afterwards, per topic in order.
    #[serde(default)]
    pub outputs: Vec<RecordSpec>,
    /// Topics to create before the statements run.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// Properties of the case (server config and request overrides).
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Formats to expand the case over, substituting `{FORMAT}` in statements.
    #[serde(default)]
    pub format: Vec<String>,
    /// Config values to expand the case over, substituting `{CONFIG}` in properties.
    #[serde(default)]
    pub config: Vec<String>,
    /// QTT: the statements (or the processing) must fail with this error.
    #[serde(default, rename = "expectedException")]
    pub expected_exception: Option<ExpectedError>,
    /// REST QTT: a request must fail with this error.
    #[serde(default, rename = "expectedError")]
    pub expected_error: Option<ExpectedError>,
    /// Conditions on the catalog and topics after the run.
    #[serde(default)]
    pub post: Option<PostConditions>,
    /// `false` disables the case.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// ksqlDB versions the case applies to.
    #[serde(default)]
    pub versions: Option<Versions>,
    /// REST QTT: the expected response of each statement, `{"admin": …}` or `{"query": […]}`.
    #[serde(default)]
    pub responses: Option<Vec<Map<String, Value>>>,
    /// REST QTT: when to produce the inputs.
    #[serde(default, rename = "inputConditions")]
    pub input_conditions: Option<InputConditions>,
    /// REST QTT: how to compare query rows.
    #[serde(default, rename = "outputConditions")]
    pub output_conditions: Option<OutputConditions>,
    /// REST QTT: also run pull queries with the protobuf response format.
    #[serde(default, rename = "testPullWithProtoFormat")]
    pub test_pull_with_proto_format: bool,
}

/// An input or expected output record.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordSpec {
    /// Topic name.
    pub topic: String,
    /// Key in its JSON form; absent and `null` both mean a null key.
    #[serde(default)]
    pub key: Option<Value>,
    /// Value in its JSON form; `null` is a tombstone.
    pub value: Value,
    /// Record timestamp; inputs default to 0, outputs are not checked when absent.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// Record headers.
    #[serde(default)]
    pub headers: Option<Vec<HeaderSpec>>,
    /// Window bounds of a windowed key (`{"start", "end", "type"}`); only its presence is used.
    #[serde(default)]
    pub window: Option<Value>,
    /// Partition to produce to (inputs only).
    #[serde(default)]
    pub partition: Option<u32>,
}

/// A record header: `{"KEY": "name", "VALUE": "<base64>"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct HeaderSpec {
    /// Header name.
    #[serde(rename = "KEY")]
    pub key: String,
    /// Base64 of the header value; `null` is a null value.
    #[serde(rename = "VALUE", default)]
    pub value: Option<String>,
}

/// A topic to create before the statements run.
#[derive(Debug, Clone, Deserialize)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count (default 1).
    #[serde(default)]
    pub partitions: Option<u32>,
    /// Key schema to register in the schema registry.
    #[serde(default, rename = "keySchema")]
    pub key_schema: Option<Value>,
    /// Value schema to register in the schema registry.
    #[serde(default, rename = "valueSchema")]
    pub value_schema: Option<Value>,
    /// Schema id of the key schema.
    #[serde(default, rename = "keySchemaId")]
    pub key_schema_id: Option<Value>,
    /// Schema id of the value schema.
    #[serde(default, rename = "valueSchemaId")]
    pub value_schema_id: Option<Value>,
    /// Schema references of the value schema.
    #[serde(default, rename = "valueSchemaReferences")]
    pub value_schema_references: Option<Value>,
    /// Format of the key schema (`AVRO`, `JSON`, `JSON_SR`, `PROTOBUF`); Avro when absent.
    #[serde(default, rename = "keyFormat")]
    pub key_format: Option<String>,
    /// Format of the value schema; Avro when absent.
    #[serde(default, rename = "valueFormat")]
    pub value_format: Option<String>,
}

/// An expected failure. Its `type` (a Java class) and REST `status` are not checked.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedError {
    /// Text the error message must contain.
    #[serde(default)]
    pub message: Option<String>,
}

/// `post`: conditions after the run.
#[derive(Debug, Clone, Deserialize)]
pub struct PostConditions {
    /// Sources that must exist.
    #[serde(default)]
    pub sources: Vec<PostSource>,
    /// Topics that must (or must not) exist.
    #[serde(default)]
    pub topics: Option<PostTopics>,
}

/// A source that must exist after the run.
#[derive(Debug, Clone, Deserialize)]
pub struct PostSource {
    /// Source name.
    pub name: String,
    /// `stream` or `table`, any case.
    #[serde(rename = "type")]
    pub kind: String,
    /// Schema text, e.g. ``ID INT KEY, V STRING``.
    #[serde(default)]
    pub schema: Option<String>,
    /// Key format: `{"format": "KAFKA", "windowType": …, "windowSize": …}`.
    #[serde(default, rename = "keyFormat")]
    pub key_format: Option<Value>,
    /// Value format name.
    #[serde(default, rename = "valueFormat")]
    pub value_format: Option<Value>,
}

/// `post.topics`.
#[derive(Debug, Clone, Deserialize)]
pub struct PostTopics {
    /// Regex no topic name may match.
    #[serde(default)]
    pub blacklist: Option<String>,
    /// Topics that must exist.
    #[serde(default)]
    pub topics: Vec<PostTopic>,
}

/// A topic that must exist after the run.
#[derive(Debug, Clone, Deserialize)]
pub struct PostTopic {
    /// Topic name.
    pub name: String,
    /// Key format: `{"format": …}`.
    #[serde(default, rename = "keyFormat")]
    pub key_format: Option<Value>,
    /// Value format: `{"format": …}`.
    #[serde(default, rename = "valueFormat")]
    pub value_format: Option<Value>,
    /// Partition count.
    #[serde(default)]
    pub partitions: Option<u32>,
}

/// Version bounds of a case. Riffle targets the newest ksqlDB, so only `max` matters.
#[derive(Debug, Clone, Deserialize)]
pub struct Versions {
    /// Last ksqlDB version the case applies to.
    #[serde(default)]
    pub max: Option<String>,
}

/// REST QTT `inputConditions`.
#[derive(Debug, Clone, Deserialize)]
pub struct InputConditions {
    /// Produce the inputs only once the (single) push query runs.
    #[serde(default, rename = "waitForActivePushQuery")]
    pub wait_for_active_push_query: bool,
}

/// REST QTT `outputConditions`.
#[derive(Debug, Clone, Deserialize)]
pub struct OutputConditions {
    /// Compare query rows in order (default: as a multiset).
    #[serde(default, rename = "verifyOrder")]
    pub verify_order: bool,
}

/// A format name from a post condition: either a string or `{"format": "NAME", …}`.
pub fn format_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("format").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// The text of a property value: strings as they are, anything else as JSON.
pub fn property_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
