//! Output of an aggregation: aggregate rows → HAVING and projection → sink records.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::common::ScalarValue;
use riffle_log::Record;

use super::{AggOutput, AggState, Aggregator, Emitted};
use crate::{EngineError, Result};

impl Aggregator {
    /// Builds aggregate rows and applies HAVING and the projection.
    pub(super) fn evaluate(
        &self,
        state: &mut AggState,
        rows: Vec<Emitted>,
        errors: &mut Vec<String>,
    ) -> Result<Option<AggOutput>> {
        let rows = if self.coalesce { coalesced(rows) } else { rows };
        if rows.is_empty() {
            return Ok(None);
        }
        let schema = self.plan.post.input.arrow.clone();
        let n = rows.len();
        let groups = self.plan.group_by.len();
        let calls = self.plan.aggregates.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let values: Vec<ScalarValue> = rows
                .iter()
                .map(|r| {
                    let windowed = self.plan.window.is_some();
                    if i < groups {
                        r.key[i].clone()
                    } else if i < groups + calls {
                        match &r.results {
                            Some(v) => v[i - groups].clone(),
                            None => ScalarValue::try_from(field.data_type())
                                .unwrap_or(ScalarValue::Null),
                        }
                    } else if windowed && i == groups + calls {
                        ScalarValue::Int64(Some(r.start))
                    } else if windowed && i == groups + calls + 1 {
                        ScalarValue::Int64(Some(r.end))
                    } else if field.name() == riffle_planner::ROWTIME {
                        ScalarValue::Int64(Some(r.timestamp))
                    } else {
                        ScalarValue::try_from(field.data_type()).unwrap_or(ScalarValue::Null)
                    }
                })
                .collect();
            let array = ScalarValue::iter_to_array(values)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            let array = if array.data_type() == field.data_type() {
                array
            } else {
                cast(&array, field.data_type())?
            };
            columns.push(array);
        }
        let batch = RecordBatch::try_new(schema, columns)?;
        let mut row_errors = Vec::new();
        let having: Vec<bool> = match &self.plan.having {
            Some(h) => {
                let a = riffle_planner::evaluate_rows(h.as_ref(), &batch, &mut row_errors);
                let b = a.as_any().downcast_ref::<BooleanArray>().cloned();
                (0..n)
                    .map(|i| b.as_ref().is_some_and(|b| b.is_valid(i) && b.value(i)))
                    .collect()
            }
            None => vec![true; n],
        };
        let eval = self.plan.post.evaluate(&batch);
        errors.extend(row_errors.into_iter().map(|e| e.message));
        errors.extend(eval.errors.iter().map(|e| e.message.clone()));
        // As Kafka Streams' table filter: a row failing HAVING deletes the group's row only if
        // the previous one was visible; otherwise nothing is sent.
        let mut keep = Vec::with_capacity(n);
        let mut value_null = Vec::with_capacity(n);
        for (r, pass) in rows.iter().zip(&having) {
            let gk = (r.key.clone(), r.start);
            let pass = *pass && r.results.is_some();
            let was_visible = if pass {
                !state.visible.insert(gk)
            } else {
                state.visible.remove(&gk)
            };
            keep.push(pass || was_visible);
            value_null.push(!pass);
        }
        let mask = BooleanArray::from(keep.clone());
        let columns: Vec<ArrayRef> = eval
            .columns
            .iter()
            .map(|c| datafusion::arrow::compute::filter(c.as_ref(), &mask))
            .collect::<std::result::Result<_, _>>()?;
        let rows: Vec<Emitted> = rows
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| r)
            .collect();
        let value_null: Vec<bool> = value_null
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v)
            .collect();
        Ok(Some(AggOutput {
            columns,
            value_null,
            rows,
        }))
    }

    /// Encodes output rows as sink records (windowed keys carry their window).
    pub(super) fn encode(
        &self,
        output: AggOutput,
        errors: &mut Vec<String>,
    ) -> Result<Vec<Record>> {
        let Some(encoder) = &self.encoder else {
            return Ok(Vec::new());
        };
        let AggOutput {
            columns,
            value_null,
            rows,
        } = output;
        let n = rows.len();
        let rowtime = Int64Array::from_iter_values(rows.iter().map(|r| r.timestamp));
        let headers = vec![Vec::new(); n];
        let mut records = encoder.encode(&columns, &rowtime, &value_null, &headers, errors)?;
        if let Some(kw) = self.key_window {
            if records.len() == n {
                for (record, row) in records.iter_mut().zip(&rows) {
                    let key = record.key.as_deref().unwrap_or_default();
                    record.key = Some(kw.encode(key, row.start, row.end).into());
                }
            }
        }
        Ok(records)
    }
}

/// The last update of each group and window, in the order of those last updates.
fn coalesced(rows: Vec<Emitted>) -> Vec<Emitted> {
    let mut last: HashMap<(Vec<ScalarValue>, i64), usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        last.insert((r.key.clone(), r.start), i);
    }
    rows.into_iter()
        .enumerate()
        .filter(|(i, r)| last.get(&(r.key.clone(), r.start)) == Some(i))
        .map(|(_, r)| r)
        .collect()
}
