//! The ksqlDB type system (BOOLEAN … STRUCT), logical schemas of sources, and their mapping to Arrow.
//!
//! Every other crate speaks these types: the parser produces them, formats decode bytes into the Arrow
//! types they map to, and `DESCRIBE` prints them back in ksqlDB's spelling.

mod schema;
mod sql_type;

pub use schema::{Column, ColumnKind, LogicalSchema};
pub use sql_type::{SqlType, StructField};

/// Errors of the type system: a type that Riffle cannot represent.
#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    /// An Arrow type produced by an expression has no ksqlDB counterpart.
    #[error("type {0} is not supported by ksqlDB; cast it to a supported type")]
    UnsupportedArrow(String),
    /// A DECIMAL whose precision or scale is out of range.
    #[error("DECIMAL precision must be between 1 and 38 and scale between 0 and precision, got DECIMAL({0}, {1})")]
    BadDecimal(u8, i8),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, TypeError>;
