use std::collections::BTreeMap;
use std::path::PathBuf;

/// Query and session properties (`auto.offset.reset`, …), by name.
pub type Properties = BTreeMap<String, String>;

/// How an engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where the embedded log lives; `None` keeps everything in memory (tests).
    pub data_dir: Option<PathBuf>,
    /// `ksql.service.id`: prefixes internal topic and consumer group names.
    pub service_id: String,
    /// Server-level properties (defaults for every statement).
    pub properties: Properties,
    /// Whether the `KSQL_PROCESSING_LOG` stream is created at start.
    pub processing_log_stream: bool,
    /// Headless mode (`--queries-file`): as in ksqlDB, the command topic is neither replayed
    /// nor written; the queries file is run again at every start instead, and its persistent
    /// queries get the same ids (hence consumer groups and committed offsets) each time.
    pub headless: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            data_dir: None,
            service_id: "default_".into(),
            properties: Properties::new(),
            processing_log_stream: false,
            headless: false,
        }
    }
}

impl EngineConfig {
    /// The command topic name, as ksqlDB names it.
    pub fn command_topic(&self) -> String {
        format!("_confluent-ksql-{}_command_topic", self.service_id)
    }

    /// The processing log topic name.
    pub fn processing_log_topic(&self) -> String {
        format!("{}ksql_processing_log", self.service_id)
    }

    /// The consumer group of a persistent query.
    pub fn query_group(&self, query_id: &str) -> String {
        format!("_confluent-ksql-{}query_{}", self.service_id, query_id)
    }
}

/// Reads `auto.offset.reset` from request then server properties: true when reading from the
/// earliest offset. ksqlDB's default is `latest`.
pub(crate) fn from_earliest(request: &Properties, server: &Properties) -> bool {
    let key = |p: &Properties| {
        p.get("auto.offset.reset")
            .or_else(|| p.get("ksql.streams.auto.offset.reset"))
            .cloned()
    };
    key(request)
        .or_else(|| key(server))
        .map(|v| v.eq_ignore_ascii_case("earliest"))
        .unwrap_or(false)
}
