//! The aggregation operator of a persistent query: per group (and window) state updated one
//! record at a time, as ksqlDB does, with an aggregate row emitted for every update.
//!
//! Per-record updates are hand-written rather than DataFusion's batch `Accumulator`s because
//! ksqlDB emits every intermediate result (with `cache.max.bytes.buffering=0`), retracts a
//! table row's old value before adding its new one, and merges session windows; none of which
//! batch accumulators do. The expensive parts (WHERE, grouping expressions, aggregate arguments,
//! HAVING and the projection) still run as DataFusion physical expressions over whole batches.

mod changelog;
mod output;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::common::ScalarValue;
use riffle_log::Record;
use riffle_planner::AggregatePlan;
use riffle_sql::WindowExpr;

use crate::catalog::Source;
use crate::runtime::agg_changelog::Changelog;
use crate::runtime::decode::DecodedBatch;
use crate::runtime::encode::SinkEncoder;
use crate::window::{grace_ms, time_windows, KeyWindow};
use crate::{EngineError, Result};

/// A session window's (start, end).
type Span = (i64, i64);

/// Group key plus window start (`i64::MIN` when not windowed).
type GroupKey = (Vec<ScalarValue>, i64);

/// The state of one group in one window.
#[derive(Debug, Clone)]
struct Group {
    states: Vec<ScalarValue>,
    /// Largest timestamp of the records aggregated (the output's timestamp, as Kafka Streams).
    timestamp: i64,
    /// Window end (`i64::MAX` when not windowed).
    end: i64,
}

/// What a table source's key contributed last time, so that it can be retracted.
#[derive(Debug, Clone)]
struct Contribution {
    group: Vec<ScalarValue>,
    args: Vec<Vec<ScalarValue>>,
}

/// Output rows of one batch: the projection's columns, and per row whether it deletes.
pub(crate) struct AggOutput {
    /// One array per output column of the plan's projection.
    pub columns: Vec<ArrayRef>,
    /// Per row: a deletion (the group's row no longer passes HAVING, or a session merged away).
    pub value_null: Vec<bool>,
    rows: Vec<Emitted>,
}

/// One update to emit: a group's new value, or its removal (a tombstone).
struct Emitted {
    key: Vec<ScalarValue>,
    results: Option<Vec<ScalarValue>>,
    start: i64,
    end: i64,
    timestamp: i64,
}

#[derive(Default)]
struct AggState {
    groups: HashMap<GroupKey, Group>,
    /// Session windows per group key: (start, end) of each live session.
    sessions: HashMap<Vec<ScalarValue>, Vec<(i64, i64)>>,
    /// Largest timestamp seen (stream time), which closes windows.
    stream_time: i64,
    /// For table sources: each source key's last contribution.
    contributions: HashMap<Vec<ScalarValue>, Contribution>,
    /// EMIT FINAL: windows updated but not yet emitted, by (end, key).
    pending: BTreeSet<(i64, Vec<u8>)>,
    pending_keys: HashMap<Vec<u8>, GroupKey>,
    /// Groups whose last emitted row passed HAVING (and so exists downstream).
    visible: HashSet<GroupKey>,
    /// Groups changed since the last changelog write (only tracked with a changelog).
    dirty: HashSet<GroupKey>,
}

/// A running aggregation.
pub(crate) struct Aggregator {
    plan: AggregatePlan,
    table_source: bool,
    source_keys: Vec<usize>,
    /// None for push queries, which send rows rather than records.
    encoder: Option<SinkEncoder>,
    key_window: Option<KeyWindow>,
    coalesce: bool,
    /// Where the state is written for restarts (stream sources; table sources replay instead).
    changelog: Option<Changelog>,
    /// The groups are the input's key columns: all rows of a group are in one input
    /// partition, so partitions can be processed independently (by different servers).
    co_partitioned: bool,
    state: Mutex<AggState>,
}

impl Aggregator {
    pub(crate) fn new(plan: AggregatePlan, source: &Source, sink: Option<&Source>) -> Self {
        let source_keys = key_columns(source);
        let encoder = sink.map(|sink| SinkEncoder::new(sink.clone(), &plan.post));
        let co_partitioned = groups_are_columns(&plan, &source_keys);
        Aggregator {
            key_window: plan.window.as_ref().map(KeyWindow::of),
            table_source: source.source_type == crate::SourceType::Table,
            source_keys,
            co_partitioned,
            encoder,
            coalesce: false,
            changelog: None,
            plan,
            state: Mutex::new(AggState {
                stream_time: i64::MIN,
                ..Default::default()
            }),
        }
    }

    /// Whether every group's rows are in one input partition (see the field).
    pub(crate) fn co_partitioned(&self) -> bool {
        self.co_partitioned
    }

    /// Emits only the last update of each group (and window) per batch, as ksqlDB's record
    /// cache does between commits when `cache.max.bytes.buffering` is not 0.
    pub(crate) fn with_coalescing(mut self, coalesce: bool) -> Self {
        self.coalesce = coalesce;
        self
    }

    /// The plan being run.
    pub(crate) fn plan(&self) -> &AggregatePlan {
        &self.plan
    }

    /// Aggregates a decoded batch; returns the sink records and adds per-record errors.
    pub(crate) fn process(
        &self,
        decoded: &DecodedBatch,
        errors: &mut Vec<String>,
    ) -> Result<Vec<Record>> {
        match self.process_rows(decoded, errors)? {
            Some(output) => self.encode(output, errors),
            None => Ok(Vec::new()),
        }
    }

    /// Aggregates a decoded batch into output rows (after HAVING and the projection).
    pub(crate) fn process_rows(
        &self,
        decoded: &DecodedBatch,
        errors: &mut Vec<String>,
    ) -> Result<Option<AggOutput>> {
        if decoded.batch.num_rows() == 0 {
            return Ok(None);
        }
        let mut state = self
            .state
            .lock()
            .map_err(|_| EngineError::Internal("aggregate state lock poisoned".into()))?;
        let emitted = self.update(&mut state, decoded, errors)?;
        self.evaluate(&mut state, emitted, errors)
    }

    /// Applies every record of the batch to the state; returns the updates to emit.
    fn update(
        &self,
        state: &mut AggState,
        decoded: &DecodedBatch,
        errors: &mut Vec<String>,
    ) -> Result<Vec<Emitted>> {
        let batch = &decoded.batch;
        let n = batch.num_rows();
        let mut row_errors = Vec::new();
        let mask: Option<BooleanArray> = match &self.plan.filter {
            Some(f) => {
                let a = riffle_planner::evaluate_rows(f.as_ref(), batch, &mut row_errors);
                a.as_any().downcast_ref::<BooleanArray>().cloned()
            }
            None => None,
        };
        let groups = group_columns(&self.plan, batch, &mut row_errors)?;
        let args: Vec<Vec<ArrayRef>> = self
            .plan
            .aggregates
            .iter()
            .map(|a| {
                a.args
                    .iter()
                    .map(|e| riffle_planner::evaluate_rows(e.as_ref(), batch, &mut row_errors))
                    .collect()
            })
            .collect();
        errors.extend(row_errors.into_iter().map(|e| e.message));
        let rowtime = batch
            .column(self.plan.input.rowtime_index())
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned()
            .ok_or_else(|| EngineError::Internal("ROWTIME is not BIGINT".into()))?;
        let mut out = Vec::new();
        for row in 0..n {
            let ts = rowtime.value(row);
            let passes = mask
                .as_ref()
                .is_none_or(|m| m.is_valid(row) && m.value(row));
            let tombstone = decoded.value_null.get(row).copied().unwrap_or(false);
            let key = scalars(&groups, row)?;
            let call_args: Vec<Vec<ScalarValue>> = args
                .iter()
                .map(|a| scalars(a, row))
                .collect::<Result<_>>()?;
            if self.table_source {
                let source_key = scalars(
                    &self
                        .source_keys
                        .iter()
                        .map(|i| batch.column(*i).clone())
                        .collect::<Vec<_>>(),
                    row,
                )?;
                let old = state.contributions.remove(&source_key);
                let adds = !tombstone && passes;
                if adds && key.iter().any(ScalarValue::is_null) {
                    errors.push(null_key_error());
                }
                let adds = adds && !key.iter().any(ScalarValue::is_null);
                match old {
                    // A row that stays in its group updates it once (old out, new in), as
                    // Kafka Streams does when the grouping key is unchanged.
                    Some(old) if adds && old.group == key => {
                        self.replace(state, old, &key, &call_args, ts, &mut out)?;
                        state.contributions.insert(
                            source_key,
                            Contribution {
                                group: key,
                                args: call_args,
                            },
                        );
                        continue;
                    }
                    Some(old) => self.retract(state, old, ts, &mut out)?,
                    None => {}
                }
                if !adds {
                    continue;
                }
                state.contributions.insert(
                    source_key,
                    Contribution {
                        group: key.clone(),
                        args: call_args.clone(),
                    },
                );
            } else if tombstone || !passes {
                continue;
            } else if key.iter().any(ScalarValue::is_null) {
                errors.push(null_key_error());
                continue;
            }
            state.stream_time = state.stream_time.max(ts);
            self.add(state, key, &call_args, ts, &mut out, errors)?;
            if self.plan.emit_final {
                self.flush_closed(state, &mut out)?;
            }
        }
        Ok(out)
    }

    fn add(
        &self,
        state: &mut AggState,
        key: Vec<ScalarValue>,
        args: &[Vec<ScalarValue>],
        ts: i64,
        out: &mut Vec<Emitted>,
        errors: &mut Vec<String>,
    ) -> Result<()> {
        let windows: Vec<(i64, i64)> = match &self.plan.window {
            None => vec![(i64::MIN, i64::MAX)],
            Some(w @ WindowExpr::Session { gap, .. }) => {
                return self.add_session(state, key, args, ts, crate::window::millis(*gap), w, out)
            }
            Some(w) => time_windows(w, ts),
        };
        let grace = self.plan.window.as_ref().map(grace_ms).unwrap_or(0);
        for (start, end) in windows {
            if self.plan.window.is_some() && end.saturating_add(grace) <= state.stream_time {
                errors.push(format!(
                    "Record with timestamp {ts} is later than the window [{start}, {end}) plus its grace period; dropped."
                ));
                continue;
            }
            let gk = (key.clone(), start);
            let group = state.groups.entry(gk.clone()).or_insert_with(|| Group {
                states: self.initial(),
                timestamp: ts,
                end,
            });
            for (i, (call, a)) in self.plan.aggregates.iter().zip(args).enumerate() {
                call.function
                    .add(&mut group.states[i], a)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
            }
            group.timestamp = group.timestamp.max(ts);
            let group = group.clone();
            self.emit(state, gk, &group, out)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn add_session(
        &self,
        state: &mut AggState,
        key: Vec<ScalarValue>,
        args: &[Vec<ScalarValue>],
        ts: i64,
        gap: i64,
        window: &WindowExpr,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        let grace = grace_ms(window);
        let sessions = state.sessions.entry(key.clone()).or_default();
        let (merging, keep): (Vec<Span>, Vec<Span>) = sessions
            .iter()
            .partition(|(s, e)| *e >= ts.saturating_sub(gap) && *s <= ts.saturating_add(gap));
        let start = merging.iter().map(|(s, _)| *s).min().unwrap_or(ts).min(ts);
        let end = merging.iter().map(|(_, e)| *e).max().unwrap_or(ts).max(ts);
        // Kafka Streams closes a session once stream time passes its end plus gap and grace.
        if end.saturating_add(gap).saturating_add(grace) < state.stream_time {
            return Ok(());
        }
        *sessions = keep;
        sessions.push((start, end));
        let mut merged = self.initial();
        let mut timestamp = ts;
        for (s, e) in &merging {
            if self.changelog.is_some() {
                state.dirty.insert((key.clone(), *s));
            }
            if let Some(old) = state.groups.remove(&(key.clone(), *s)) {
                for (i, call) in self.plan.aggregates.iter().enumerate() {
                    merged[i] = call
                        .function
                        .merge(&merged[i], &old.states[i])
                        .map_err(|e| EngineError::Internal(e.to_string()))?;
                }
                timestamp = timestamp.max(old.timestamp);
                out.push(Emitted {
                    key: key.clone(),
                    results: None,
                    start: *s,
                    end: *e,
                    timestamp: old.timestamp,
                });
            }
        }
        for (i, call) in self.plan.aggregates.iter().enumerate() {
            call.function
                .add(&mut merged[i], &args[i])
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        }
        let group = Group {
            states: merged,
            timestamp,
            end,
        };
        state.groups.insert((key.clone(), start), group.clone());
        self.emit(state, (key, start), &group, out)
    }

    /// Retracts a table row's previous contribution and emits the group's new value.
    fn retract(
        &self,
        state: &mut AggState,
        old: Contribution,
        ts: i64,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        self.rework(state, old.group, &old.args, None, ts, out)
    }

    /// Replaces a table row's contribution within its group, emitting the group once.
    fn replace(
        &self,
        state: &mut AggState,
        old: Contribution,
        key: &[ScalarValue],
        args: &[Vec<ScalarValue>],
        ts: i64,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        self.rework(state, key.to_vec(), &old.args, Some(args), ts, out)
    }

    /// Undoes `old` args in a group (of an unwindowed table aggregation), adds `new` ones if
    /// given, and emits the group.
    fn rework(
        &self,
        state: &mut AggState,
        key: Vec<ScalarValue>,
        old: &[Vec<ScalarValue>],
        new: Option<&[Vec<ScalarValue>]>,
        ts: i64,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        let gk = (key, i64::MIN);
        let Some(group) = state.groups.get_mut(&gk) else {
            return Ok(());
        };
        for (i, call) in self.plan.aggregates.iter().enumerate() {
            call.function
                .undo(&mut group.states[i], &old[i])
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            if let Some(new) = new {
                call.function
                    .add(&mut group.states[i], &new[i])
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
            }
        }
        group.timestamp = group.timestamp.max(ts);
        let group = group.clone();
        self.emit(state, gk, &group, out)
    }

    fn initial(&self) -> Vec<ScalarValue> {
        self.plan
            .aggregates
            .iter()
            .map(|a| a.function.initial())
            .collect()
    }

    fn emit(
        &self,
        state: &mut AggState,
        gk: GroupKey,
        group: &Group,
        out: &mut Vec<Emitted>,
    ) -> Result<()> {
        if self.changelog.is_some() {
            state.dirty.insert(gk.clone());
        }
        if self.plan.emit_final {
            let id = pending_id(&gk);
            state.pending.insert((group.end, id.clone()));
            state.pending_keys.insert(id, gk);
            return Ok(());
        }
        out.push(self.emitted(&gk, group)?);
        Ok(())
    }

    fn emitted(&self, gk: &GroupKey, group: &Group) -> Result<Emitted> {
        let results = self
            .plan
            .aggregates
            .iter()
            .zip(&group.states)
            .map(|(call, s)| {
                call.function
                    .result(s)
                    .map_err(|e| EngineError::Internal(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Emitted {
            key: gk.0.clone(),
            results: Some(results),
            start: gk.1,
            end: group.end,
            timestamp: group.timestamp,
        })
    }

    /// EMIT FINAL: emits the windows that stream time has closed (end plus grace passed).
    fn flush_closed(&self, state: &mut AggState, out: &mut Vec<Emitted>) -> Result<()> {
        let grace = self.plan.window.as_ref().map(grace_ms).unwrap_or(0);
        while let Some((end, id)) = state.pending.first().cloned() {
            if end.saturating_add(grace) > state.stream_time {
                break;
            }
            state.pending.pop_first();
            if let Some(gk) = state.pending_keys.remove(&id) {
                if let Some(group) = state.groups.get(&gk).cloned() {
                    out.push(self.emitted(&gk, &group)?);
                }
            }
        }
        Ok(())
    }
}

/// The EMIT FINAL bookkeeping id of a group.
fn pending_id(gk: &GroupKey) -> Vec<u8> {
    format!("{gk:?}").into_bytes()
}

fn null_key_error() -> String {
    "Group-by column resolved to null. The source row will be excluded from the table.".into()
}

fn scalars(arrays: &[ArrayRef], row: usize) -> Result<Vec<ScalarValue>> {
    arrays
        .iter()
        .map(|a| {
            ScalarValue::try_from_array(a, row).map_err(|e| EngineError::Internal(e.to_string()))
        })
        .collect()
}

/// Whether `plan` groups by exactly the key columns of `source`: then all rows of a group are
/// in one input partition (see [`Aggregator::co_partitioned`]).
pub(crate) fn groups_by_source_key(plan: &AggregatePlan, source: &Source) -> bool {
    groups_are_columns(plan, &key_columns(source))
}

/// Indexes of `source`'s key columns in its rows.
fn key_columns(source: &Source) -> Vec<usize> {
    source
        .schema
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == riffle_types::ColumnKind::Key)
        .map(|(i, _)| i)
        .collect()
}

/// Whether the GROUP BY expressions are exactly the input columns `keys` (in any order).
fn groups_are_columns(plan: &AggregatePlan, keys: &[usize]) -> bool {
    use datafusion::physical_expr::expressions::Column;
    let mut columns: Vec<usize> = plan
        .group_by
        .iter()
        .filter_map(|g| g.expr.downcast_ref::<Column>().map(Column::index))
        .collect();
    columns.sort_unstable();
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    !keys.is_empty() && columns.len() == plan.group_by.len() && columns == keys
}

/// The GROUP BY values of every row of `batch`, one array per grouping expression, in the
/// declared types: keys are compared as ScalarValues, also against keys restored from the
/// changelog, so e.g. Utf8View is normalised to Utf8. Rows whose expressions fail are
/// reported in `errors` (and get nulls).
pub(crate) fn group_columns(
    plan: &AggregatePlan,
    batch: &datafusion::arrow::record_batch::RecordBatch,
    errors: &mut Vec<riffle_planner::RowError>,
) -> Result<Vec<ArrayRef>> {
    plan.group_by
        .iter()
        .map(|g| {
            let a = riffle_planner::evaluate_rows(g.expr.as_ref(), batch, errors);
            let ty = g.ty.to_arrow();
            Ok(if a.data_type() == &ty {
                a
            } else {
                cast(&a, &ty)?
            })
        })
        .collect()
}
