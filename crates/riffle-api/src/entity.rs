use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One element of a `POST /ksql` response array, tagged by `@type` as ksqlDB's `KsqlEntity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "@type")]
pub enum KsqlEntity {
    /// Result of DDL/DML: CREATE, DROP, TERMINATE, INSERT, SET …
    #[serde(rename = "currentStatus")]
    CurrentStatus(CurrentStatus),
    /// `SHOW STREAMS`.
    #[serde(rename = "streams")]
    Streams(StreamsList),
    /// `SHOW TABLES`.
    #[serde(rename = "tables")]
    Tables(TablesList),
    /// `SHOW QUERIES`.
    #[serde(rename = "queries")]
    Queries(QueriesList),
    /// `DESCRIBE x`.
    #[serde(rename = "sourceDescription")]
    SourceDescription(SourceDescriptionEntity),
    /// `DESCRIBE STREAMS|TABLES [EXTENDED]`, `SHOW STREAMS EXTENDED`.
    #[serde(rename = "source_descriptions")]
    SourceDescriptions(SourceDescriptionList),
    /// `SHOW TOPICS`.
    #[serde(rename = "kafka_topics")]
    KafkaTopics(KafkaTopicsList),
    /// `SHOW PROPERTIES`.
    #[serde(rename = "properties")]
    Properties(PropertiesList),
    /// `EXPLAIN`.
    #[serde(rename = "queryDescription")]
    QueryDescription(QueryDescriptionEntity),
    /// `SHOW FUNCTIONS`.
    #[serde(rename = "function_names")]
    FunctionNames(FunctionNameList),
    /// `SHOW VARIABLES`.
    #[serde(rename = "variables")]
    Variables(VariablesList),
    /// A statement that did nothing but warn (e.g. `DEFINE`).
    #[serde(rename = "warning_entity")]
    Warning(WarningEntity),
}

/// A warning attached to an entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KsqlWarning {
    /// What the user should know.
    pub message: String,
}

/// Status of an executed command.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommandStatus {
    /// `SUCCESS`, `ERROR`, `QUEUED`, …
    pub status: String,
    /// Human message, e.g. "Stream created".
    pub message: String,
    /// Id of the persistent query the statement started, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
}

/// `currentStatus` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CurrentStatus {
    /// The statement as sent.
    pub statement_text: String,
    /// e.g. ``stream/`S1`/create``.
    pub command_id: String,
    /// Outcome.
    pub command_status: CommandStatus,
    /// Position in the command log.
    pub command_sequence_number: i64,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// One stream or table in a listing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// `STREAM` or `TABLE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Source name.
    pub name: String,
    /// Backing topic.
    pub topic: String,
    /// Key format name.
    pub key_format: String,
    /// Value format name.
    pub value_format: String,
    /// Whether keys are windowed.
    pub is_windowed: bool,
}

/// `streams` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StreamsList {
    /// The statement as sent.
    pub statement_text: String,
    /// The streams.
    pub streams: Vec<SourceInfo>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// `tables` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TablesList {
    /// The statement as sent.
    pub statement_text: String,
    /// The tables.
    pub tables: Vec<SourceInfo>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// One persistent query in `SHOW QUERIES`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunningQuery {
    /// The statement that started it.
    pub query_string: String,
    /// Sink source names.
    pub sinks: Vec<String>,
    /// Sink topics.
    pub sink_kafka_topics: Vec<String>,
    /// Query id, e.g. `CSAS_S1_0`.
    pub id: String,
    /// Count of hosts per state, e.g. `{"RUNNING": 1}`.
    pub status_count: Value,
    /// `PERSISTENT` or `PUSH`.
    pub query_type: String,
    /// `RUNNING`, `ERROR`, …
    pub state: String,
}

/// `queries` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueriesList {
    /// The statement as sent.
    pub statement_text: String,
    /// The queries.
    pub queries: Vec<RunningQuery>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// One column in a source description.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldInfo {
    /// Column name.
    pub name: String,
    /// Column type.
    pub schema: FieldSchema,
    /// `KEY`, `HEADER` or absent for value columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

/// A column type as ksqlDB's `SchemaInfo`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FieldSchema {
    /// `INTEGER`, `STRING`, `ARRAY`, `MAP`, `STRUCT`, `DECIMAL`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// STRUCT fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldInfo>>,
    /// ARRAY element or MAP value type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_schema: Option<Box<FieldSchema>>,
    /// DECIMAL precision/scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// ksqlDB's `SourceDescription`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceDescription {
    /// Source name.
    pub name: String,
    /// Whether keys are windowed.
    pub windowed: bool,
    /// Queries reading from it.
    pub read_queries: Vec<Value>,
    /// Queries writing to it.
    pub write_queries: Vec<Value>,
    /// Columns.
    pub fields: Vec<FieldInfo>,
    /// `STREAM` or `TABLE`.
    pub r#type: String,
    /// Timestamp column, or empty.
    pub timestamp: String,
    /// Statistics text (EXTENDED).
    pub statistics: String,
    /// Error statistics text (EXTENDED).
    pub error_stats: String,
    /// Whether EXTENDED was asked.
    pub extended: bool,
    /// Key format.
    pub key_format: String,
    /// Value format.
    pub value_format: String,
    /// Backing topic.
    pub topic: String,
    /// Partition count.
    pub partitions: i64,
    /// Replication factor.
    pub replication: i64,
    /// The statement that created it.
    pub statement: String,
    /// Query offset summaries (unused).
    pub query_offset_summaries: Vec<Value>,
    /// Source constraints (unused).
    pub source_constraints: Vec<Value>,
}

/// `sourceDescription` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceDescriptionEntity {
    /// The statement as sent.
    pub statement_text: String,
    /// The description.
    pub source_description: SourceDescription,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// `source_descriptions` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourceDescriptionList {
    /// The statement as sent.
    pub statement_text: String,
    /// The descriptions.
    pub source_descriptions: Vec<SourceDescription>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// One topic in `SHOW TOPICS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopicInfo {
    /// Topic name.
    pub name: String,
    /// Replicas per partition (one entry per partition).
    pub replica_info: Vec<i64>,
}

/// `kafka_topics` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopicsList {
    /// The statement as sent.
    pub statement_text: String,
    /// The topics.
    pub topics: Vec<KafkaTopicInfo>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// One property in `SHOW PROPERTIES`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Property {
    /// Property name.
    pub name: String,
    /// Where it applies (`KSQL`, `STREAMS`, …).
    pub scope: String,
    /// Value as text.
    pub value: String,
}

/// `properties` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertiesList {
    /// The statement as sent.
    pub statement_text: String,
    /// All properties.
    pub properties: Vec<Property>,
    /// Names overridden by the session.
    pub overwritten_properties: Vec<String>,
    /// Names at their default.
    pub default_properties: Vec<String>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// `queryDescription` entity (EXPLAIN).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueryDescriptionEntity {
    /// The statement as sent.
    pub statement_text: String,
    /// The description.
    pub query_description: QueryDescription,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// ksqlDB's `QueryDescription`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueryDescription {
    /// Query id (empty for an explained statement that does not run).
    pub id: String,
    /// Query text.
    pub statement_text: String,
    /// Output columns.
    pub fields: Vec<FieldInfo>,
    /// Sources read.
    pub sources: Vec<String>,
    /// Sinks written.
    pub sinks: Vec<String>,
    /// Operator topology, as text.
    pub topology: String,
    /// Execution plan, as text.
    pub execution_plan: String,
    /// Query state.
    pub state: String,
}

/// One function name in `SHOW FUNCTIONS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimpleFunctionInfo {
    /// Function name.
    pub name: String,
    /// `SCALAR`, `AGGREGATE` or `TABLE`.
    pub r#type: String,
    /// Category.
    pub category: String,
}

/// `function_names` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FunctionNameList {
    /// The statement as sent.
    pub statement_text: String,
    /// The functions.
    pub functions: Vec<SimpleFunctionInfo>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// One variable in `SHOW VARIABLES`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VariableInfo {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// `variables` entity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VariablesList {
    /// The statement as sent.
    pub statement_text: String,
    /// The variables.
    pub variables: Vec<VariableInfo>,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// `warning_entity`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WarningEntity {
    /// The statement as sent.
    pub statement_text: String,
    /// The warning.
    pub message: String,
    /// Warnings.
    pub warnings: Vec<KsqlWarning>,
}

/// The error envelope of every failed request (ksqlDB's `KsqlErrorMessage` /
/// `KsqlStatementErrorMessage`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    /// `generic_error` or `statement_error`.
    #[serde(rename = "@type")]
    pub kind: String,
    /// HTTP status × 100 + detail, e.g. 40001.
    #[serde(rename = "error_code")]
    pub error_code: i64,
    /// What was wrong and how to fix it.
    pub message: String,
    /// The failing statement, for statement errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_text: Option<String>,
    /// Entities produced by earlier statements of the same request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<KsqlEntity>>,
    /// Kept empty: ksql-python reads it on errors.
    #[serde(default)]
    pub stack_trace: Vec<String>,
}
