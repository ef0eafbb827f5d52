//! Streams, tables and persistent queries known to the engine.

use std::collections::BTreeMap;

use riffle_format::Format;
use riffle_types::LogicalSchema;

/// STREAM or TABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    /// Append-only.
    Stream,
    /// Changelog keyed by its primary key.
    Table,
}

impl SourceType {
    /// `STREAM` / `TABLE`.
    pub fn name(self) -> &'static str {
        match self {
            SourceType::Stream => "STREAM",
            SourceType::Table => "TABLE",
        }
    }

    /// `stream` / `table`, as command ids spell it.
    pub fn lower(self) -> &'static str {
        match self {
            SourceType::Stream => "stream",
            SourceType::Table => "table",
        }
    }
}

impl From<riffle_sql::SourceKind> for SourceType {
    fn from(k: riffle_sql::SourceKind) -> Self {
        match k {
            riffle_sql::SourceKind::Stream => SourceType::Stream,
            riffle_sql::SourceKind::Table => SourceType::Table,
        }
    }
}

/// Where a source's ROWTIME comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct TimestampColumn {
    /// Column holding the event time.
    pub column: String,
    /// Java `DateTimeFormatter` pattern when the column is a STRING.
    pub format: Option<String>,
}

/// A stream or table in the catalog.
#[derive(Debug, Clone)]
pub struct Source {
    /// Name.
    pub name: String,
    /// Stream or table.
    pub source_type: SourceType,
    /// Columns.
    pub schema: LogicalSchema,
    /// Backing topic.
    pub topic: String,
    /// Key serialization.
    pub key_format: Format,
    /// Value serialization.
    pub value_format: Format,
    /// Event-time column, if not the record timestamp.
    pub timestamp: Option<TimestampColumn>,
    /// The statement that created it.
    pub statement: String,
    /// `CREATE SOURCE ...`: read-only.
    pub read_only: bool,
    /// Whether its keys are windowed.
    pub windowed: bool,
    /// How its keys carry their window, when windowed.
    pub window: Option<crate::window::KeyWindow>,
}

/// Lifecycle of a persistent query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryState {
    /// Processing records.
    Running,
    /// Stopped by an error.
    Error,
}

/// A persistent query (CSAS, CTAS, INSERT INTO … SELECT) as the catalog records it.
#[derive(Debug, Clone)]
pub struct QueryInfo {
    /// Id such as `CSAS_S1_0`.
    pub id: String,
    /// Statement text.
    pub statement: String,
    /// Sources it reads.
    pub sources: Vec<String>,
    /// Sink it writes.
    pub sink: String,
    /// Sink topic.
    pub sink_topic: String,
    /// State.
    pub state: QueryState,
}

/// The catalog: sources by name, queries by id.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// Streams and tables.
    pub sources: BTreeMap<String, Source>,
    /// Persistent queries.
    pub queries: BTreeMap<String, QueryInfo>,
    /// Custom types from CREATE TYPE.
    pub types: BTreeMap<String, riffle_types::SqlType>,
}

impl Catalog {
    /// Looks a source up, with ksqlDB's error when it is missing.
    pub fn source(&self, name: &str) -> crate::Result<&Source> {
        self.sources
            .get(name)
            .ok_or_else(|| crate::EngineError::NotFound(format!("{name} does not exist.")))
    }

    /// Queries that read `name`.
    pub fn readers_of(&self, name: &str) -> Vec<&QueryInfo> {
        self.queries
            .values()
            .filter(|q| q.sources.iter().any(|s| s == name))
            .collect()
    }

    /// Queries that write `name`.
    pub fn writers_of(&self, name: &str) -> Vec<&QueryInfo> {
        self.queries.values().filter(|q| q.sink == name).collect()
    }
}
