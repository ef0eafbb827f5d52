//! Results of a plan → records for the sink topic.

use bytes::Bytes;
use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use riffle_log::{Header, Record};
use riffle_planner::SelectPlan;
use riffle_types::Column;

use crate::catalog::Source;
use crate::runtime::timestamp::extract_timestamps;
use crate::Result;

/// Encodes output rows of one batch for `sink`.
pub(crate) struct SinkEncoder {
    sink: Source,
    key_cols: Vec<Column>,
    value_cols: Vec<Column>,
    /// Index into the plan's output columns of each key and value column.
    key_idx: Vec<usize>,
    value_idx: Vec<usize>,
    timestamp_idx: Option<usize>,
    /// A key of several columns computed by PARTITION BY, in JSON: when every column is null
    /// ksqlDB still writes the key, as an object of nulls, where a null key read from the
    /// source stays a null key.
    null_struct_key: Option<Vec<u8>>,
}

impl SinkEncoder {
    pub(crate) fn new(sink: Source, plan: &SelectPlan) -> Self {
        let pos = |name: &str| plan.columns.iter().position(|c| c.name == name);
        let key_cols: Vec<Column> = sink.schema.key_columns().cloned().collect();
        let value_cols: Vec<Column> = sink.schema.value_columns().cloned().collect();
        let key_idx = key_cols.iter().filter_map(|c| pos(&c.name)).collect();
        let value_idx = value_cols.iter().filter_map(|c| pos(&c.name)).collect();
        let timestamp_idx = sink.timestamp.as_ref().and_then(|t| pos(&t.column));
        let null_struct_key = (plan.repartitioned
            && key_cols.len() > 1
            && sink.key_format.kind == riffle_format::FormatKind::Json)
            .then(|| {
                let nulls: serde_json::Map<String, serde_json::Value> = key_cols
                    .iter()
                    .map(|c| (c.name.clone(), serde_json::Value::Null))
                    .collect();
                serde_json::Value::Object(nulls).to_string().into_bytes()
            });
        SinkEncoder {
            sink,
            key_cols,
            value_cols,
            key_idx,
            value_idx,
            timestamp_idx,
            null_struct_key,
        }
    }

    /// Builds records from the plan's output `columns` (selected rows), with the input rows'
    /// timestamps, null-value flags and headers. Rows that fail to serialize are reported.
    pub(crate) fn encode(
        &self,
        columns: &[ArrayRef],
        rowtime: &Int64Array,
        value_null: &[bool],
        headers: &[Vec<Header>],
        errors: &mut Vec<String>,
    ) -> Result<Vec<Record>> {
        let n = rowtime.len();
        let keys: Vec<ArrayRef> = self.key_idx.iter().map(|i| columns[*i].clone()).collect();
        let values: Vec<ArrayRef> = self.value_idx.iter().map(|i| columns[*i].clone()).collect();
        let mut key_bytes = if self.key_cols.is_empty() {
            vec![None; n]
        } else {
            self.sink.key_format.encode(&self.key_cols, &keys, true)?
        };
        if let Some(nulls) = &self.null_struct_key {
            for (row, k) in key_bytes.iter_mut().enumerate() {
                if k.is_none() && keys.iter().all(|a| a.is_null(row)) {
                    *k = Some(nulls.clone());
                }
            }
        }
        let value_bytes = self
            .sink
            .value_format
            .encode(&self.value_cols, &values, false)?;
        let times: Vec<Option<i64>> = match self.timestamp_idx {
            Some(i) => {
                let fmt = self
                    .sink
                    .timestamp
                    .as_ref()
                    .and_then(|t| t.format.as_deref());
                let (mut t, bad) = extract_timestamps(&columns[i], fmt);
                // Rows without a valid (non-negative) event time are dropped, as on input.
                for (row, m) in bad {
                    if let Some(slot) = t.get_mut(row) {
                        *slot = None;
                    }
                    errors.push(m);
                }
                t
            }
            None => (0..n)
                .map(|i| rowtime.is_valid(i).then(|| rowtime.value(i)))
                .collect(),
        };
        let mut out = Vec::with_capacity(n);
        for (row, ts) in times.iter().enumerate().take(n) {
            let Some(ts) = *ts else { continue };
            let value = if value_null.get(row).copied().unwrap_or(false) {
                None
            } else {
                value_bytes.get(row).cloned().flatten().map(Bytes::from)
            };
            out.push(Record {
                key: key_bytes.get(row).cloned().flatten().map(Bytes::from),
                value,
                timestamp: ts,
                headers: headers.get(row).cloned().unwrap_or_default(),
            });
        }
        Ok(out)
    }
}
