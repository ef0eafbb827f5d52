use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::{Result, TypeError};

/// A ksqlDB SQL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// BOOLEAN
    Boolean,
    /// INT (32-bit)
    Int,
    /// BIGINT (64-bit)
    Bigint,
    /// DOUBLE
    Double,
    /// DECIMAL(precision, scale)
    Decimal {
        /// Total digits, 1..=38.
        precision: u8,
        /// Digits after the point.
        scale: i8,
    },
    /// STRING (VARCHAR)
    String,
    /// BYTES
    Bytes,
    /// DATE: days since the epoch.
    Date,
    /// TIME: milliseconds since midnight.
    Time,
    /// TIMESTAMP: milliseconds since the epoch, no zone.
    Timestamp,
    /// ARRAY<T>
    Array(Box<SqlType>),
    /// MAP<K, V>
    Map(Box<SqlType>, Box<SqlType>),
    /// STRUCT<name type, ...>
    Struct(Vec<StructField>),
}

/// One field of a STRUCT type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructField {
    /// Field name, case kept as declared (unquoted names are upper-cased by the parser).
    pub name: String,
    /// Field type.
    pub ty: SqlType,
}

impl SqlType {
    /// Builds a DECIMAL type, checking its bounds.
    pub fn decimal(precision: u8, scale: i8) -> Result<SqlType> {
        if precision == 0 || precision > 38 || scale < 0 || scale as u8 > precision {
            return Err(TypeError::BadDecimal(precision, scale));
        }
        Ok(SqlType::Decimal { precision, scale })
    }

    /// The Arrow type that holds values of this type in record batches.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::Bigint => DataType::Int64,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
            SqlType::String => DataType::Utf8,
            SqlType::Bytes => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            SqlType::Array(item) => {
                DataType::List(Arc::new(Field::new("item", item.to_arrow(), true)))
            }
            SqlType::Map(k, v) => {
                let entries = Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", k.to_arrow(), false),
                        Field::new("value", v.to_arrow(), true),
                    ])),
                    false,
                );
                DataType::Map(Arc::new(entries), false)
            }
            SqlType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|f| Field::new(&f.name, f.ty.to_arrow(), true))
                    .collect::<Vec<_>>()
                    .into(),
            ),
        }
    }

    /// The ksqlDB type of an Arrow type; narrower integers widen, as ksqlDB has only INT and BIGINT.
    pub fn from_arrow(dt: &DataType) -> Result<SqlType> {
        Ok(match dt {
            DataType::Boolean => SqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 => SqlType::Int,
            DataType::UInt8 | DataType::UInt16 => SqlType::Int,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => SqlType::Bigint,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => SqlType::Double,
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => SqlType::Decimal {
                precision: *p,
                scale: *s,
            },
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => SqlType::Bytes,
            DataType::FixedSizeBinary(_) => SqlType::Bytes,
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::Timestamp(_, _) => SqlType::Timestamp,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                SqlType::Array(Box::new(SqlType::from_arrow(f.data_type())?))
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                    Box::new(SqlType::from_arrow(kv[0].data_type())?),
                    Box::new(SqlType::from_arrow(kv[1].data_type())?),
                ),
                other => return Err(TypeError::UnsupportedArrow(other.to_string())),
            },
            DataType::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| {
                        Ok(StructField {
                            name: f.name().clone(),
                            ty: SqlType::from_arrow(f.data_type())?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            // Untyped NULL literals: ksqlDB gives them the widest scalar it has.
            DataType::Null => SqlType::String,
            other => return Err(TypeError::UnsupportedArrow(other.to_string())),
        })
    }

    /// True for INT, BIGINT, DOUBLE and DECIMAL.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal { .. }
        )
    }
}

/// Quotes an identifier with backticks as ksqlDB prints it.
pub(crate) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl fmt::Display for SqlType {
    /// ksqlDB's spelling, as DESCRIBE and schema strings print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::Bigint => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(t) => write!(f, "ARRAY<{t}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, fld) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", quote(&fld.name), fld.ty)?;
                }
                f.write_str(">")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_arrow() {
        let t = SqlType::Struct(vec![
            StructField {
                name: "A".into(),
                ty: SqlType::Array(Box::new(SqlType::Int)),
            },
            StructField {
                name: "m".into(),
                ty: SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            },
            StructField {
                name: "D".into(),
                ty: SqlType::decimal(4, 2).unwrap(),
            },
        ]);
        assert_eq!(SqlType::from_arrow(&t.to_arrow()).unwrap(), t);
        assert_eq!(
            t.to_string(),
            "STRUCT<`A` ARRAY<INTEGER>, `m` MAP<STRING, DOUBLE>, `D` DECIMAL(4, 2)>"
        );
    }
}
