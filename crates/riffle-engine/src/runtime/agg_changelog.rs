//! The changelog topic of an aggregation's state: one record per group (and window) changed in
//! a step, written in the same atomic commit as the query's output and input offsets, so that a
//! restarted query rebuilds exactly the state its committed output came from.
//!
//! Keys are the grouping values and the window start, values the aggregate functions'
//! intermediate states (typed by `AggregateFunction::state_type`), the group's timestamp and
//! window end, and two flags (visible downstream, pending for EMIT FINAL); both in the JSON
//! format, so that every ksql type a state can have round-trips. A removed group (a session
//! merged into another) is a tombstone.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::ScalarValue;
use riffle_format::Format;
use riffle_log::{ConsumedRecord, Record};
use riffle_planner::AggregatePlan;
use riffle_types::{Column, ColumnKind, SqlType};

use crate::{EngineError, Result};

/// What the changelog stores of one group.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub states: Vec<ScalarValue>,
    pub timestamp: i64,
    pub end: i64,
    pub visible: bool,
    pub pending: bool,
}

/// One changelog entry: a group's key values, window start, and snapshot (None: removed).
pub(crate) type Entry = (Vec<ScalarValue>, i64, Option<Snapshot>);

/// Encodes and decodes an aggregation's changelog records.
pub(crate) struct Changelog {
    /// The changelog topic.
    pub topic: String,
    key_cols: Vec<Column>,
    value_cols: Vec<Column>,
    format: Format,
}

const FLAGS: usize = 4;

fn column(name: String, ty: SqlType, kind: ColumnKind) -> Column {
    Column { name, ty, kind }
}

impl Changelog {
    /// The changelog of `plan`, in `topic`.
    pub(crate) fn new(topic: String, plan: &AggregatePlan) -> Result<Changelog> {
        let mut key_cols: Vec<Column> = plan
            .group_by
            .iter()
            .enumerate()
            .map(|(i, g)| column(format!("G{i}"), g.ty.clone(), ColumnKind::Key))
            .collect();
        key_cols.push(column("WSTART".into(), SqlType::Bigint, ColumnKind::Key));
        let mut value_cols: Vec<Column> = plan
            .aggregates
            .iter()
            .enumerate()
            .map(|(i, a)| column(format!("S{i}"), a.function.state_type(), ColumnKind::Value))
            .collect();
        for (name, ty) in [
            ("TS", SqlType::Bigint),
            ("WEND", SqlType::Bigint),
            ("VISIBLE", SqlType::Boolean),
            ("PENDING", SqlType::Boolean),
        ] {
            value_cols.push(column(name.into(), ty, ColumnKind::Value));
        }
        Ok(Changelog {
            topic,
            key_cols,
            value_cols,
            format: Format::from_name("JSON")?,
        })
    }

    /// Records for changed groups: `(key values, window start, snapshot or removal)`.
    pub(crate) fn encode(&self, entries: &[Entry]) -> Result<Vec<Record>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys: Vec<ArrayRef> = Vec::with_capacity(self.key_cols.len());
        let groups = self.key_cols.len() - 1;
        for i in 0..groups {
            keys.push(to_array(entries.iter().map(|(k, _, _)| k[i].clone()))?);
        }
        keys.push(to_array(
            entries.iter().map(|(_, w, _)| ScalarValue::Int64(Some(*w))),
        )?);
        let key_bytes = self.format.encode(&self.key_cols, &keys, true)?;
        // Values only for the entries that have one; tombstones get none.
        let live: Vec<&Snapshot> = entries.iter().filter_map(|(_, _, s)| s.as_ref()).collect();
        let mut value_bytes = Vec::new();
        if !live.is_empty() {
            let states = self.value_cols.len() - FLAGS;
            let mut values: Vec<ArrayRef> = Vec::with_capacity(self.value_cols.len());
            for i in 0..states {
                let ty = self.value_cols[i].ty.to_arrow();
                let array = to_array(live.iter().map(|s| s.states[i].clone()))?;
                values.push(if array.data_type() == &ty {
                    array
                } else {
                    datafusion::arrow::compute::cast(&array, &ty)?
                });
            }
            values.push(to_array(
                live.iter().map(|s| ScalarValue::Int64(Some(s.timestamp))),
            )?);
            values.push(to_array(
                live.iter().map(|s| ScalarValue::Int64(Some(s.end))),
            )?);
            values.push(to_array(
                live.iter().map(|s| ScalarValue::Boolean(Some(s.visible))),
            )?);
            values.push(to_array(
                live.iter().map(|s| ScalarValue::Boolean(Some(s.pending))),
            )?);
            value_bytes = self.format.encode(&self.value_cols, &values, false)?;
        }
        let mut values = value_bytes.into_iter();
        Ok(entries
            .iter()
            .zip(key_bytes)
            .map(|((_, _, snapshot), key)| Record {
                key: key.map(Into::into),
                value: snapshot
                    .as_ref()
                    .and_then(|_| values.next().flatten())
                    .map(Into::into),
                timestamp: snapshot.as_ref().map(|s| s.timestamp).unwrap_or(0),
                headers: Vec::new(),
            })
            .collect())
    }

    /// Decodes changelog records, in order.
    pub(crate) fn decode(&self, records: &[ConsumedRecord]) -> Result<Vec<Entry>> {
        let keys: Vec<Option<&[u8]>> = records.iter().map(|r| r.record.key.as_deref()).collect();
        let values: Vec<Option<&[u8]>> =
            records.iter().map(|r| r.record.value.as_deref()).collect();
        let k = self.format.decode(&self.key_cols, &keys, true);
        let v = self.format.decode(&self.value_cols, &values, false);
        if let Some((row, msg)) = k.errors.first().or(v.errors.first()) {
            return Err(EngineError::Internal(format!(
                "changelog {} record {row} cannot be read: {msg}",
                self.topic
            )));
        }
        let groups = self.key_cols.len() - 1;
        let states = self.value_cols.len() - FLAGS;
        let mut out = Vec::with_capacity(records.len());
        for (row, r) in records.iter().enumerate() {
            let key = (0..groups)
                .map(|i| scalar(&k.arrays[i], row))
                .collect::<Result<Vec<_>>>()?;
            let start = int(&scalar(&k.arrays[groups], row)?);
            let snapshot = match r.record.value {
                None => None,
                Some(_) => Some(Snapshot {
                    states: (0..states)
                        .map(|i| scalar(&v.arrays[i], row))
                        .collect::<Result<Vec<_>>>()?,
                    timestamp: int(&scalar(&v.arrays[states], row)?),
                    end: int(&scalar(&v.arrays[states + 1], row)?),
                    visible: flag(&scalar(&v.arrays[states + 2], row)?),
                    pending: flag(&scalar(&v.arrays[states + 3], row)?),
                }),
            };
            out.push((key, start, snapshot));
        }
        Ok(out)
    }
}

fn to_array(values: impl Iterator<Item = ScalarValue>) -> Result<ArrayRef> {
    ScalarValue::iter_to_array(values).map_err(|e| EngineError::Internal(e.to_string()))
}

fn scalar(array: &Arc<dyn datafusion::arrow::array::Array>, row: usize) -> Result<ScalarValue> {
    ScalarValue::try_from_array(array, row).map_err(|e| EngineError::Internal(e.to_string()))
}

fn int(v: &ScalarValue) -> i64 {
    match v {
        ScalarValue::Int64(Some(n)) => *n,
        _ => 0,
    }
}

fn flag(v: &ScalarValue) -> bool {
    matches!(v, ScalarValue::Boolean(Some(true)))
}
