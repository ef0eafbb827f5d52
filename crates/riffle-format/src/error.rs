//! The error type of this crate.

/// Errors raised when a format is named, configured, validated against a schema, or used to
/// (de)serialize records. Messages are user-facing and follow ksqlDB's wording where it has one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// A format name that is not known (`value_format='FOO'`).
    #[error("Unknown format: {name} (supported formats: {supported})")]
    UnknownFormat {
        /// The name as given, upper-cased.
        name: String,
        /// The supported names, comma separated.
        supported: String,
    },
    /// A format Riffle knows by name but cannot (de)serialize yet, e.g. AVRO.
    #[error("{0}")]
    Unsupported(String),
    /// An invalid `VALUE_DELIMITER` / `KEY_DELIMITER`.
    #[error("Configuration {property} is invalid: {reason}\nExample valid value: ';'")]
    InvalidDelimiter {
        /// `VALUE_DELIMITER` or `KEY_DELIMITER`.
        property: &'static str,
        /// Why the value is invalid.
        reason: String,
    },
    /// A property the format does not accept, e.g. a delimiter on JSON.
    #[error("{format} does not support the following configs: [{property}]")]
    UnsupportedProperty {
        /// The format name.
        format: &'static str,
        /// The property name as ksqlDB spells it (`delimiter`).
        property: &'static str,
    },
    /// The format cannot carry the given columns (type not supported, too many columns, ...).
    #[error("{0}")]
    Schema(String),
    /// A record could not be serialized.
    #[error("{0}")]
    Serialization(String),
    /// A record could not be deserialized (used by [`crate::Format::bytes_to_json`]).
    #[error("{0}")]
    Deserialization(String),
}
