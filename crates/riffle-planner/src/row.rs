use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DFSchema, DFSchemaRef};
use riffle_types::LogicalSchema;

use crate::Result;

/// Pseudo column: the record's timestamp in epoch milliseconds (BIGINT).
pub const ROWTIME: &str = "ROWTIME";
/// Pseudo column: the partition the record was read from (INT).
pub const ROWPARTITION: &str = "ROWPARTITION";
/// Pseudo column: the offset of the record in its partition (BIGINT).
pub const ROWOFFSET: &str = "ROWOFFSET";

/// The columns a query sees for each input row: the source's columns in order, then the pseudo
/// columns ROWTIME, ROWPARTITION and ROWOFFSET. Record batches fed to a plan have exactly this shape.
#[derive(Debug, Clone)]
pub struct RowSchema {
    /// Source columns (keys, values, headers).
    pub source: LogicalSchema,
    /// Arrow schema of the batch.
    pub arrow: SchemaRef,
    /// The same, qualified by the source alias for name resolution.
    pub df: DFSchemaRef,
    /// Name (or alias) the source is referred to by.
    pub qualifier: String,
}

impl RowSchema {
    /// Builds the row schema of `source` referred to as `qualifier`.
    pub fn new(qualifier: &str, source: &LogicalSchema) -> Result<RowSchema> {
        let mut fields: Vec<Field> = source
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.to_arrow(), true))
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, true));
        fields.push(Field::new(ROWPARTITION, DataType::Int32, true));
        fields.push(Field::new(ROWOFFSET, DataType::Int64, true));
        let arrow: SchemaRef = Arc::new(Schema::new(fields));
        // `bare` keeps the qualifier as written; parsing it would lower-case it.
        let df = Arc::new(DFSchema::try_from_qualified_schema(
            datafusion::common::TableReference::bare(qualifier),
            &arrow,
        )?);
        Ok(RowSchema {
            source: source.clone(),
            arrow,
            df,
            qualifier: qualifier.to_string(),
        })
    }

    /// Index of the ROWTIME column in batches of this schema.
    pub fn rowtime_index(&self) -> usize {
        self.source.columns.len()
    }
}
