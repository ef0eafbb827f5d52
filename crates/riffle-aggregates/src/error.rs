//! Errors of aggregate resolution and evaluation.

use thiserror::Error;

/// What went wrong resolving or running an aggregate function.
#[derive(Debug, Error)]
pub enum AggregateError {
    /// No aggregate of that name.
    #[error("Unknown aggregate function: {0}")]
    UnknownFunction(String),
    /// The function exists but not for these argument types (message in ksqlDB's words).
    #[error("{0}")]
    BadArguments(String),
    /// Evaluating the function on user data failed, as ksqlDB's `KsqlFunctionException` (e.g. a
    /// DECIMAL SUM overflowing its precision); the message is ksqlDB's.
    #[error("{0}")]
    Runtime(String),
    /// A value of an unexpected type reached the function (an engine bug, never user input).
    #[error("aggregate {function}: {message}")]
    Internal {
        /// Function name.
        function: String,
        /// What was wrong.
        message: String,
    },
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, AggregateError>;
