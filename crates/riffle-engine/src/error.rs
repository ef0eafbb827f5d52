/// Why a statement or query failed. Each carries the user-facing message and maps to one of
/// ksqlDB's REST error codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL text could not be parsed.
    #[error("{0}")]
    Parse(#[from] riffle_sql::ParseError),
    /// The statement is semantically invalid.
    #[error("{0}")]
    Plan(#[from] riffle_planner::PlanError),
    /// A statement-level error with ksqlDB's wording.
    #[error("{0}")]
    Statement(String),
    /// A named stream, table, query or topic does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Storage failed.
    #[error("{0}")]
    Log(#[from] riffle_log::LogError),
    /// A record or format configuration problem.
    #[error("{0}")]
    Format(#[from] riffle_format::FormatError),
    /// Internal invariant broken; reported, never panicked on.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// The ksqlDB REST error code for this error (HTTP status × 100 + detail).
    pub fn error_code(&self) -> i64 {
        match self {
            EngineError::Log(_) | EngineError::Internal(_) => 50000,
            EngineError::NotFound(_) => 40001,
            _ => 40001,
        }
    }

    /// Shorthand for a statement error.
    pub fn statement(msg: impl Into<String>) -> Self {
        EngineError::Statement(msg.into())
    }
}

impl From<datafusion::error::DataFusionError> for EngineError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        EngineError::Plan(riffle_planner::PlanError::from(e))
    }
}

impl From<datafusion::arrow::error::ArrowError> for EngineError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, EngineError>;
