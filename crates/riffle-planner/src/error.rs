/// Why a statement could not be planned; messages follow ksqlDB's wording where users rely on it.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A semantic error in the statement (unknown column, bad types, missing key …).
    #[error("{0}")]
    Invalid(String),
    /// A feature ksqlDB has that Riffle does not support yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),
    /// An error from DataFusion while planning an expression.
    #[error("{0}")]
    DataFusion(String),
}

impl From<datafusion::error::DataFusionError> for PlanError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        PlanError::DataFusion(clean_datafusion_message(&e))
    }
}

impl From<riffle_types::TypeError> for PlanError {
    fn from(e: riffle_types::TypeError) -> Self {
        PlanError::Invalid(e.to_string())
    }
}

/// Strips DataFusion's "Error during planning:" style prefixes and backtraces so users see the cause.
pub(crate) fn clean_datafusion_message(e: &datafusion::error::DataFusionError) -> String {
    let text = e.strip_backtrace();
    let mut s = text.as_str();
    for prefix in [
        "Error during planning: ",
        "Schema error: ",
        "Execution error: ",
        "This feature is not implemented: ",
        "Optimizer rule 'type_coercion' failed\ncaused by\n",
        "type_coercion\ncaused by\n",
        "Arrow error: ",
        "Invalid argument error: ",
        "Compute error: ",
    ] {
        while let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
        }
    }
    s.trim().to_string()
}
