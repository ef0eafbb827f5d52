use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::compute::{concat, filter, filter_record_batch};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

use crate::error::clean_datafusion_message;
use crate::SelectPlan;

/// One row that an expression failed on; ksqlDB logs these to the processing log.
#[derive(Debug, Clone)]
pub struct RowError {
    /// Row index in the input batch.
    pub row: usize,
    /// What went wrong.
    pub message: String,
}

/// The result of running a [`SelectPlan`] on a batch.
#[derive(Debug)]
pub struct Evaluated {
    /// Which input rows passed the filter (None: all).
    pub selection: Option<BooleanArray>,
    /// One array per output column, over the selected rows only.
    pub columns: Vec<ArrayRef>,
    /// Rows where an expression failed; their value is null, as in ksqlDB.
    pub errors: Vec<RowError>,
}

impl SelectPlan {
    /// Filters and projects `batch`, whose schema is `self.input.arrow`.
    pub fn evaluate(&self, batch: &RecordBatch) -> Evaluated {
        let mut errors = Vec::new();
        let (selection, batch) = match &self.filter {
            Some(f) => {
                let mask = eval_rows(f.as_ref(), batch, &mut errors);
                let mask = as_mask(&mask);
                let filtered = filter_record_batch(batch, &mask).unwrap_or_else(|_| batch.clone());
                (Some(mask), filtered)
            }
            None => (None, batch.clone()),
        };
        // Errors in the filter drop the row (its mask bit is null → false); report with input rows.
        let columns = self
            .columns
            .iter()
            .map(|c| eval_rows(c.expr.as_ref(), &batch, &mut errors))
            .collect();
        Evaluated {
            selection,
            columns,
            errors,
        }
    }
}

/// A filter result as a mask where null counts as false.
fn as_mask(a: &ArrayRef) -> BooleanArray {
    match a.as_any().downcast_ref::<BooleanArray>() {
        Some(b) if b.null_count() == 0 => b.clone(),
        Some(b) => b.iter().map(|v| Some(v.unwrap_or(false))).collect(),
        None => BooleanArray::from(vec![false; a.len()]),
    }
}

/// Evaluates `expr` on every row; when the batch fails as a whole, evaluates row by row so that
/// one bad row becomes a null (and an error) instead of failing its neighbours.
pub fn eval_rows(
    expr: &dyn PhysicalExpr,
    batch: &RecordBatch,
    errors: &mut Vec<RowError>,
) -> ArrayRef {
    let n = batch.num_rows();
    match expr.evaluate(batch).and_then(|v| v.into_array(n)) {
        Ok(a) => a,
        Err(_) => {
            let mut parts: Vec<ArrayRef> = Vec::with_capacity(n);
            let dt = expr
                .data_type(&batch.schema())
                .unwrap_or(datafusion::arrow::datatypes::DataType::Null);
            for row in 0..n {
                let one = batch.slice(row, 1);
                match expr.evaluate(&one).and_then(|v| v.into_array(1)) {
                    Ok(a) => parts.push(a),
                    Err(e) => {
                        errors.push(RowError {
                            row,
                            message: clean_datafusion_message(&e),
                        });
                        parts.push(datafusion::arrow::array::new_null_array(&dt, 1));
                    }
                }
            }
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            if refs.is_empty() {
                return datafusion::arrow::array::new_null_array(&dt, 0);
            }
            concat(&refs).unwrap_or_else(|_| datafusion::arrow::array::new_null_array(&dt, n))
        }
    }
}

/// Applies a selection mask to a side array (timestamps, partitions …) of the input batch.
pub fn select_rows(array: &ArrayRef, selection: Option<&BooleanArray>) -> ArrayRef {
    match selection {
        Some(m) => filter(array.as_ref(), m).unwrap_or_else(|_| array.clone()),
        None => array.clone(),
    }
}
