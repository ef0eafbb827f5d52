//! Records of a source topic → Arrow batches in the shape of the source's [`RowSchema`].

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, ArrayRef, BinaryArray, BooleanArray, Int32Array, Int64Array, ListArray,
    StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::arrow::record_batch::RecordBatch;
use riffle_log::{ConsumedRecord, Header};
use riffle_planner::RowSchema;
use riffle_types::{Column, ColumnKind};

use crate::catalog::Source;
use crate::runtime::timestamp::extract_timestamps;
use crate::Result;

/// A decoded batch plus what the plan does not see but the sink needs.
pub(crate) struct DecodedBatch {
    /// Rows in the source's row schema (bad rows removed).
    pub batch: RecordBatch,
    /// Per kept row: whether the record value was null (passed through as null).
    pub value_null: Vec<bool>,
    /// Per kept row: the record's headers, copied to outputs.
    pub headers: Vec<Vec<Header>>,
    /// Messages for records that could not be decoded (for the processing log).
    pub errors: Vec<String>,
    /// Per kept row of a windowed source: the key's window (start, end); empty otherwise.
    pub windows: Vec<(i64, i64)>,
    /// Per kept row: its index in the records decoded.
    pub rows: Vec<usize>,
}

impl DecodedBatch {
    /// Removes records whose value is null (tombstones). ksqlDB's stream filters never pass
    /// them, whatever the predicate, while projections pass them through as null.
    pub(crate) fn without_null_values(self) -> Result<DecodedBatch> {
        if !self.value_null.iter().any(|n| *n) {
            return Ok(self);
        }
        let keep = BooleanArray::from(self.value_null.iter().map(|n| !n).collect::<Vec<_>>());
        let batch = datafusion::arrow::compute::filter_record_batch(&self.batch, &keep)?;
        let headers = select_vec(&self.headers, Some(&keep));
        let windows = if self.windows.is_empty() {
            Vec::new()
        } else {
            select_vec(&self.windows, Some(&keep))
        };
        Ok(DecodedBatch {
            batch,
            value_null: vec![false; headers.len()],
            headers,
            errors: self.errors,
            windows,
            rows: select_vec(&self.rows, Some(&keep)),
        })
    }
}

/// Decodes records of one source.
pub(crate) struct SourceDecoder {
    source: Source,
    row: RowSchema,
    key_cols: Vec<Column>,
    value_cols: Vec<Column>,
    /// `ksql.timestamp.throw.on.invalid`: an unusable event time fails the batch instead of
    /// skipping the record.
    strict_timestamps: bool,
}

impl SourceDecoder {
    pub(crate) fn new(source: Source, row: RowSchema) -> Self {
        let key_cols = source.schema.key_columns().cloned().collect();
        let value_cols = source.schema.value_columns().cloned().collect();
        SourceDecoder {
            source,
            row,
            key_cols,
            value_cols,
            strict_timestamps: false,
        }
    }

    /// Fails decoding on records whose event time cannot be extracted (see
    /// `ksql.timestamp.throw.on.invalid`).
    pub(crate) fn with_strict_timestamps(mut self, strict: bool) -> Self {
        self.strict_timestamps = strict;
        self
    }

    pub(crate) fn decode(&self, records: &[ConsumedRecord]) -> Result<DecodedBatch> {
        let n = records.len();
        // A windowed source's keys end with their window, which the key format does not see.
        let mut windows: Vec<(i64, i64)> = Vec::new();
        let keys: Vec<Option<&[u8]>> = match self.source.window {
            None => records.iter().map(|r| r.record.key.as_deref()).collect(),
            Some(kw) => records
                .iter()
                .map(|r| {
                    let key = r.record.key.as_deref()?;
                    match kw.decode(key) {
                        Some((k, start, end)) => {
                            windows.push((start, end));
                            Some(k)
                        }
                        None => {
                            windows.push((0, 0));
                            Some(key)
                        }
                    }
                })
                .collect(),
        };
        if self.source.window.is_some() && windows.len() < n {
            // Null keys carry no window.
            windows = records
                .iter()
                .map(|r| {
                    r.record
                        .key
                        .as_deref()
                        .and_then(|k| self.source.window.and_then(|kw| kw.decode(k)))
                        .map(|(_, s, e)| (s, e))
                        .unwrap_or((0, 0))
                })
                .collect();
        }
        let values: Vec<Option<&[u8]>> =
            records.iter().map(|r| r.record.value.as_deref()).collect();
        let k = self.source.key_format.decode(&self.key_cols, &keys, true);
        let v = self
            .source
            .value_format
            .decode(&self.value_cols, &values, false);
        let mut keep = vec![true; n];
        let mut errors = Vec::new();
        for (row, msg) in k.errors.iter().chain(v.errors.iter()) {
            if *row < n && keep[*row] {
                keep[*row] = false;
                let r = &records[*row];
                errors.push(format!(
                    "Failed to deserialize record from topic '{}' partition {} offset {}: {msg}",
                    self.source.topic, r.partition, r.offset
                ));
            }
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.row.arrow.fields().len());
        let (mut ki, mut vi) = (0, 0);
        for col in &self.source.schema.columns {
            let arr = match &col.kind {
                ColumnKind::Key => {
                    ki += 1;
                    k.arrays.get(ki - 1).cloned()
                }
                ColumnKind::Value => {
                    vi += 1;
                    v.arrays.get(vi - 1).cloned()
                }
                ColumnKind::Header(None) => Some(all_headers(records)),
                ColumnKind::Header(Some(name)) => Some(one_header(records, name)),
            };
            columns.push(arr.unwrap_or_else(|| new_null_array(&col.ty.to_arrow(), n)));
        }
        let mut rowtime: Vec<Option<i64>> =
            records.iter().map(|r| Some(r.record.timestamp)).collect();
        if let Some(ts) = &self.source.timestamp {
            if let Some(idx) = self
                .source
                .schema
                .columns
                .iter()
                .position(|c| c.name == ts.column)
            {
                let (times, bad) = extract_timestamps(&columns[idx], ts.format.as_deref());
                for (row, msg) in bad {
                    if self.strict_timestamps {
                        let r = &records[row];
                        return Err(crate::EngineError::statement(format!(
                            "Fatal user code error in TimestampExtractor callback for record \
                             from topic '{}' partition {} offset {}: {msg}",
                            self.source.topic, r.partition, r.offset
                        )));
                    }
                    if keep[row] {
                        keep[row] = false;
                        errors.push(msg);
                    }
                }
                rowtime = times;
            }
        }
        columns.push(Arc::new(Int64Array::from(rowtime)));
        columns.push(Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.partition as i32),
        )));
        columns.push(Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.offset as i64),
        )));
        let batch = RecordBatch::try_new(self.row.arrow.clone(), columns)?;
        let all_kept = keep.iter().all(|k| *k);
        let value_null: Vec<bool> = records
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| r.record.value.is_none())
            .collect();
        let headers: Vec<Vec<Header>> = records
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| r.record.headers.clone())
            .collect();
        let batch = if all_kept {
            batch
        } else {
            let mask = BooleanArray::from(keep.clone());
            datafusion::arrow::compute::filter_record_batch(&batch, &mask)?
        };
        let windows: Vec<(i64, i64)> = windows
            .into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(w, _)| w)
            .collect();
        let rows: Vec<usize> = (0..n).filter(|i| keep[*i]).collect();
        Ok(DecodedBatch {
            windows,
            rows,
            batch,
            value_null,
            headers,
            errors,
        })
    }
}

/// The `HEADERS` column: `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
fn all_headers(records: &[ConsumedRecord]) -> ArrayRef {
    let mut offsets = vec![0i32];
    let mut keys: Vec<&str> = Vec::new();
    let mut values: Vec<Option<&[u8]>> = Vec::new();
    for r in records {
        for h in &r.record.headers {
            keys.push(&h.key);
            values.push(h.value.as_deref());
        }
        offsets.push(keys.len() as i32);
    }
    let fields = Fields::from(vec![
        Field::new("KEY", DataType::Utf8, true),
        Field::new("VALUE", DataType::Binary, true),
    ]);
    let entries = StructArray::new(
        fields.clone(),
        vec![
            Arc::new(StringArray::from(keys)) as ArrayRef,
            Arc::new(BinaryArray::from(values)) as ArrayRef,
        ],
        None,
    );
    Arc::new(ListArray::new(
        Arc::new(Field::new("item", DataType::Struct(fields), true)),
        OffsetBuffer::new(offsets.into()),
        Arc::new(entries),
        None,
    ))
}

/// A `HEADER('name')` column: the last header with that name, as BYTES.
fn one_header(records: &[ConsumedRecord], name: &str) -> ArrayRef {
    let values: Vec<Option<&[u8]>> = records
        .iter()
        .map(|r| {
            r.record
                .headers
                .iter()
                .rev()
                .find(|h| h.key == name)
                .and_then(|h| h.value.as_deref())
        })
        .collect();
    Arc::new(BinaryArray::from(values))
}

/// Keeps the rows of `values` selected by `mask`.
pub(crate) fn select_vec<T: Clone>(values: &[T], mask: Option<&BooleanArray>) -> Vec<T> {
    match mask {
        None => values.to_vec(),
        Some(m) => values
            .iter()
            .enumerate()
            .filter(|(i, _)| m.value(*i))
            .map(|(_, v)| v.clone())
            .collect(),
    }
}
