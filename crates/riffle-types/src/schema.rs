use std::fmt;

use datafusion::arrow::datatypes::{Field, Schema};

use crate::sql_type::quote;
use crate::SqlType;

/// Where a column's value lives in a Kafka record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Part of the record key (`KEY` on streams, `PRIMARY KEY` on tables).
    Key,
    /// Part of the record value.
    Value,
    /// `HEADERS` (all headers, `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`) when `None`,
    /// or `HEADER('name')` (the last header with that name, `BYTES`) when `Some`.
    Header(Option<String>),
}

/// One column of a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// Column name; unquoted identifiers are already upper-cased.
    pub name: String,
    /// Column type.
    pub ty: SqlType,
    /// Key, value or header.
    pub kind: ColumnKind,
}

/// The columns of a stream or table, keys first as ksqlDB orders them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogicalSchema {
    /// All columns in declaration order.
    pub columns: Vec<Column>,
}

impl LogicalSchema {
    /// Builds a schema from columns.
    pub fn new(columns: Vec<Column>) -> Self {
        LogicalSchema { columns }
    }

    /// The key columns.
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Key)
    }

    /// The value columns.
    pub fn value_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Value)
    }

    /// The header columns.
    pub fn header_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| matches!(c.kind, ColumnKind::Header(_)))
    }

    /// Looks a column up by exact name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The Arrow schema of all columns, in order.
    pub fn to_arrow(&self) -> Schema {
        Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.ty.to_arrow(), true))
                .collect::<Vec<_>>(),
        )
    }
}

impl fmt::Display for LogicalSchema {
    /// ksqlDB's schema string: ``"`K` STRING KEY, `V` INTEGER"``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}", quote(&c.name), c.ty)?;
            match &c.kind {
                ColumnKind::Key => f.write_str(" KEY")?,
                ColumnKind::Value => {}
                ColumnKind::Header(None) => f.write_str(" HEADERS")?,
                ColumnKind::Header(Some(k)) => write!(f, " HEADER('{k}')")?,
            }
        }
        Ok(())
    }
}
