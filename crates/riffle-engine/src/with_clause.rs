//! The WITH clause of CREATE statements: properties, key and value formats (with their
//! defaults), column checks against the formats, and the event-time column.

use std::collections::BTreeMap;

use riffle_format::Format;
use riffle_sql::Properties as WithProps;
use riffle_types::{Column, LogicalSchema, SqlType};

use crate::catalog::TimestampColumn;
use crate::executor::Session;
use crate::{Engine, EngineError, Result};

/// WITH-clause properties by upper-cased name, values as text.
pub(crate) struct With(BTreeMap<String, String>);

impl With {
    pub(crate) fn new(props: &WithProps) -> With {
        With(
            props
                .iter()
                .map(|(k, v)| (k.to_ascii_uppercase(), property_text(v)))
                .collect(),
        )
    }
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(|s| s.as_str())
    }
    pub(crate) fn partitions(&self) -> Result<Option<u32>> {
        match self.get("PARTITIONS") {
            None => Ok(None),
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| {
                    EngineError::statement(format!(
                        "Invalid value {p} for property PARTITIONS: must be a positive integer"
                    ))
                }),
        }
    }
}

fn property_text(v: &riffle_sql::PropertyValue) -> String {
    match v {
        riffle_sql::PropertyValue::String(s) => s.clone(),
        riffle_sql::PropertyValue::Number(n) => n.clone(),
        riffle_sql::PropertyValue::Boolean(b) => b.to_string(),
    }
}

/// Formats a statement falls back on when its WITH clause names none.
#[derive(Clone, Copy)]
pub(crate) enum FormatDefaults<'a> {
    /// A CREATE STREAM/TABLE: the `ksql.persistence.default.format.*` properties (key: KAFKA).
    Config {
        key: Option<&'a str>,
        value: Option<&'a str>,
    },
    /// A CREATE … AS SELECT: the source's formats.
    Source(&'a Format, &'a Format),
}

impl<'a> FormatDefaults<'a> {
    /// The session's (then the server's) default formats.
    pub(crate) fn config(engine: &'a Engine, session: &'a Session) -> FormatDefaults<'a> {
        let get = |k: &str| property(engine, session, k);
        FormatDefaults::Config {
            key: get("ksql.persistence.default.format.key"),
            value: get("ksql.persistence.default.format.value"),
        }
    }
}

/// A property from the request (or session), else from the server's configuration.
pub(crate) fn property<'a>(engine: &'a Engine, session: &'a Session, key: &str) -> Option<&'a str> {
    session
        .properties
        .get(key)
        .or_else(|| engine.config().properties.get(key))
        .map(String::as_str)
}

/// How SELECTs of persistent queries are planned under the session's properties.
pub(crate) fn select_options(engine: &Engine, session: &Session) -> riffle_planner::SelectOptions {
    riffle_planner::SelectOptions {
        drop_missing_keys: property(engine, session, "ksql.new.query.planner.enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    }
}

/// Key and value formats from WITH properties, falling back to `defaults`.
pub(crate) fn formats(with: &With, defaults: FormatDefaults) -> Result<(Format, Format)> {
    let both = with.get("FORMAT");
    for single in ["KEY_FORMAT", "VALUE_FORMAT"] {
        if both.is_some() && with.get(single).is_some() {
            return Err(EngineError::statement(format!(
                "Cannot supply both '{single}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
            )));
        }
    }
    let key = match with.get("KEY_FORMAT").or(both) {
        Some(n) => Format::from_name(n)?,
        None => match defaults {
            FormatDefaults::Source(k, _) => k.clone(),
            FormatDefaults::Config { key, .. } => Format::from_name(key.unwrap_or("KAFKA"))?,
        },
    };
    let value = match with.get("VALUE_FORMAT").or(both) {
        Some(n) => Format::from_name(n)?,
        None => match defaults {
            FormatDefaults::Source(_, v) => Format { wrap_single_value: None, ..v.clone() },
            FormatDefaults::Config { value: Some(v), .. } => Format::from_name(v)?,
            FormatDefaults::Config { value: None, .. } => return Err(EngineError::statement(
                "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.",
            )),
        },
    };
    let key = match with.get("KEY_DELIMITER") {
        Some(d) => key.with_key_delimiter(d).map_err(prepare_error)?,
        None => key,
    };
    let mut value = match with.get("VALUE_DELIMITER") {
        Some(d) => value.with_delimiter(d).map_err(prepare_error)?,
        None => value,
    };
    if let Some(w) = with.get("WRAP_SINGLE_VALUE") {
        value.wrap_single_value = Some(w.eq_ignore_ascii_case("true"));
    }
    Ok((key, value))
}

/// ksqlDB validates delimiter values while it builds the statement, so their errors carry the
/// prefix of that phase.
fn prepare_error(e: riffle_format::FormatError) -> EngineError {
    match e {
        riffle_format::FormatError::InvalidDelimiter { .. } => {
            EngineError::statement(format!("Failed to prepare statement: {e}"))
        }
        other => other.into(),
    }
}

pub(crate) fn check_columns(
    schema: &LogicalSchema,
    key: &Format,
    value: &Format,
    with: &With,
) -> Result<()> {
    let keys: Vec<Column> = schema.key_columns().cloned().collect();
    let values: Vec<Column> = schema.value_columns().cloned().collect();
    key.validate(&keys, true)?;
    value.validate(&values, false)?;
    if with.get("WRAP_SINGLE_VALUE").is_some() && values.len() != 1 {
        return Err(EngineError::statement(
            "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
        ));
    }
    Ok(())
}

pub(crate) fn timestamp_of(with: &With, schema: &LogicalSchema) -> Result<Option<TimestampColumn>> {
    let Some(col) = with.get("TIMESTAMP") else {
        return Ok(None);
    };
    let name = col.trim_matches('`').to_string();
    let name = if col.starts_with('`') {
        name
    } else {
        name.to_ascii_uppercase()
    };
    let Some(column) = schema.column(&name) else {
        return Err(EngineError::statement(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
        )));
    };
    let format = with.get("TIMESTAMP_FORMAT").map(str::to_string);
    let usable = match column.ty {
        SqlType::Bigint | SqlType::Timestamp => true,
        SqlType::String => format.is_some(),
        _ => false,
    };
    if !usable {
        return Err(EngineError::statement(format!(
            "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."
        )));
    }
    Ok(Some(TimestampColumn {
        column: name,
        format,
    }))
}
