//! Which columns a format can carry, with ksqlDB's error messages, and the type spellings those
//! messages use.

use riffle_types::{Column, SqlType};

use crate::{Format, FormatError, FormatKind};

/// `SqlBaseType` names, as ksqlDB's format errors print types (`INTEGER`, `DECIMAL`, `ARRAY`).
pub(crate) fn base_type_name(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::Bigint => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(_, _) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    }
}

/// A Connect schema as ksqlDB's `SqlSchemaFormatter` (no quoting) prints it in JSON coercion
/// errors: `INT`, `VARCHAR`, `DECIMAL(4, 2)`, `ARRAY<INT>`, `STRUCT<A INT>`.
pub(crate) fn connect_type_name(ty: &SqlType) -> String {
    match ty {
        SqlType::Int => "INT".to_string(),
        SqlType::String => "VARCHAR".to_string(),
        SqlType::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        SqlType::Array(t) => format!("ARRAY<{}>", connect_type_name(t)),
        SqlType::Map(k, v) => format!("MAP<{}, {}>", connect_type_name(k), connect_type_name(v)),
        SqlType::Struct(fields) if fields.is_empty() => "STRUCT< >".to_string(),
        SqlType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|f| format!("{} {}", f.name, connect_type_name(&f.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => base_type_name(other).to_string(),
    }
}

/// ``[`A` INTEGER KEY, `B` STRING]`` as ksqlDB lists columns in errors.
pub(crate) fn column_list(columns: &[Column], is_key: bool) -> String {
    let items: Vec<String> = columns
        .iter()
        .map(|c| {
            let name = format!("`{}`", c.name.replace('`', "``"));
            if is_key {
                format!("{name} {} KEY", c.ty)
            } else {
                format!("{name} {}", c.ty)
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn contains_map(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(_, _) => true,
        SqlType::Array(t) => contains_map(t),
        SqlType::Struct(fs) => fs.iter().any(|f| contains_map(&f.ty)),
        _ => false,
    }
}

fn has_non_string_map_key(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(k, v) => **k != SqlType::String || has_non_string_map_key(v),
        SqlType::Array(t) => has_non_string_map_key(t),
        SqlType::Struct(fs) => fs.iter().any(|f| has_non_string_map_key(&f.ty)),
        _ => false,
    }
}

pub(crate) fn validate(
    format: &Format,
    columns: &[Column],
    is_key: bool,
) -> Result<(), FormatError> {
    if is_key {
        if let Some(c) = columns.iter().find(|c| contains_map(&c.ty)) {
            return Err(FormatError::Schema(format!(
                "Map keys, including types that contain maps, are not supported as they may lead \
                 to unexpected behavior due to inconsistent serialization. Key column name: `{}`. \
                 Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                c.name, c.ty
            )));
        }
    } else {
        validate_wrapping(format, columns)?;
    }
    let reason = match format.kind {
        FormatKind::Avro => {
            return crate::sr::avro_schema::validate_columns(columns);
        }
        FormatKind::JsonSr if columns.iter().any(|c| has_non_string_map_key(&c.ty)) => {
            return Err(FormatError::Schema(
                "JSON only supports MAP types with STRING keys".to_string(),
            ))
        }
        FormatKind::Protobuf if columns.iter().any(|c| has_non_string_map_key(&c.ty)) => {
            return Err(FormatError::Schema(
                "PROTOBUF format only supports MAP types with STRING keys".to_string(),
            ))
        }
        FormatKind::JsonSr | FormatKind::Protobuf => None,
        FormatKind::None if !columns.is_empty() => Some(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: {}",
            column_list(columns, is_key)
        )),
        FormatKind::None => None,
        FormatKind::Kafka if columns.len() > 1 => Some(format!(
            "The 'KAFKA' format only supports a single field. Got: {}",
            column_list(columns, is_key)
        )),
        FormatKind::Kafka => columns
            .iter()
            .find(|c| {
                !matches!(
                    c.ty,
                    SqlType::Int
                        | SqlType::Bigint
                        | SqlType::Double
                        | SqlType::String
                        | SqlType::Bytes
                )
            })
            .map(|c| {
                format!(
                    "The 'KAFKA' format does not support type '{}'",
                    base_type_name(&c.ty)
                )
            }),
        FormatKind::Delimited => columns
            .iter()
            .find(|c| {
                matches!(
                    c.ty,
                    SqlType::Array(_) | SqlType::Map(_, _) | SqlType::Struct(_)
                )
            })
            .map(|c| {
                format!(
                    "The 'DELIMITED' format does not support type '{}', column: `{}`",
                    base_type_name(&c.ty),
                    c.name
                )
            }),
        FormatKind::Json => columns
            .iter()
            .any(|c| has_non_string_map_key(&c.ty))
            .then(|| "JSON only supports MAP types with STRING keys".to_string()),
    };
    match reason {
        None => Ok(()),
        Some(reason) => {
            let features = if is_key {
                if format.kind == FormatKind::Json && columns.len() == 1 {
                    "UNWRAP_SINGLES"
                } else {
                    ""
                }
            } else {
                match format.wrap_single_value {
                    Some(true) => "WRAP_SINGLES",
                    Some(false) => "UNWRAP_SINGLES",
                    None => "",
                }
            };
            Err(FormatError::Schema(format!(
                "{} format does not support schema.\nformat: {}\nschema: Persistence{{columns={}, \
                 features=[{features}]}}\nreason: {reason}",
                if is_key { "Key" } else { "Value" },
                format.name(),
                column_list(columns, is_key),
            )))
        }
    }
}

/// `WRAP_SINGLE_VALUE` checks, which ksqlDB makes before looking at column types.
fn validate_wrapping(format: &Format, columns: &[Column]) -> Result<(), FormatError> {
    let Some(wrap) = format.wrap_single_value else {
        return Ok(());
    };
    match format.kind {
        FormatKind::Delimited | FormatKind::Kafka if wrap => Err(FormatError::Schema(format!(
            "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
            format.name()
        ))),
        FormatKind::Protobuf if !wrap => Err(FormatError::Schema(format!(
            "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'false'.",
            format.name()
        ))),
        FormatKind::Json | FormatKind::Avro | FormatKind::JsonSr | FormatKind::Protobuf
            if columns.len() != 1 =>
        {
            Err(FormatError::Schema(
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas".to_string(),
            ))
        }
        _ => Ok(()),
    }
}
