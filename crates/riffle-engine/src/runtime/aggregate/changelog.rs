//! The aggregation state's changelog: what a step writes, and the restore at start.

use datafusion::common::ScalarValue;
use riffle_log::Record;
use riffle_sql::WindowExpr;

use super::{pending_id, AggState, Aggregator, Group, GroupKey};
use crate::runtime::agg_changelog::{Changelog, Entry, Snapshot};
use crate::{EngineError, Result};

impl Aggregator {
    /// Writes the state to `changelog` (in each step's commit) and restores it from there.
    pub(crate) fn with_changelog(mut self, changelog: Option<Changelog>) -> Self {
        self.changelog = changelog;
        self
    }

    /// Forgets every group, before the state is rebuilt from the changelog.
    pub(crate) fn reset(&self) -> Result<()> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| EngineError::Internal("aggregate state lock poisoned".into()))?;
        *state = AggState {
            stream_time: i64::MIN,
            ..Default::default()
        };
        Ok(())
    }

    /// The changelog topic, when the state has one.
    pub(crate) fn changelog_topic(&self) -> Option<&str> {
        self.changelog.as_ref().map(|c| c.topic.as_str())
    }

    /// Changelog records for the groups changed since the last call.
    pub(crate) fn take_changelog(&self) -> Result<Vec<Record>> {
        let Some(changelog) = &self.changelog else {
            return Ok(Vec::new());
        };
        let mut state = self
            .state
            .lock()
            .map_err(|_| EngineError::Internal("aggregate state lock poisoned".into()))?;
        let dirty: Vec<GroupKey> = state.dirty.drain().collect();
        let entries: Vec<Entry> = dirty
            .into_iter()
            .map(|gk| {
                let snapshot = state.groups.get(&gk).map(|g| Snapshot {
                    states: g.states.clone(),
                    timestamp: g.timestamp,
                    end: g.end,
                    visible: state.visible.contains(&gk),
                    pending: state.pending_keys.contains_key(&pending_id(&gk)),
                });
                (gk.0, gk.1, snapshot)
            })
            .collect();
        changelog.encode(&entries)
    }

    /// Rebuilds the state from changelog records (in log order).
    pub(crate) fn restore_from(&self, records: &[riffle_log::ConsumedRecord]) -> Result<()> {
        let Some(changelog) = &self.changelog else {
            return Ok(());
        };
        let mut state = self
            .state
            .lock()
            .map_err(|_| EngineError::Internal("aggregate state lock poisoned".into()))?;
        for chunk in records.chunks(4096) {
            for (key, start, snapshot) in changelog.decode(chunk)? {
                let gk = (key, start);
                let id = pending_id(&gk);
                state.visible.remove(&gk);
                state.pending_keys.remove(&id);
                match snapshot {
                    None => {
                        state.groups.remove(&gk);
                    }
                    Some(s) => {
                        state.stream_time = state.stream_time.max(s.timestamp);
                        if s.visible {
                            state.visible.insert(gk.clone());
                        }
                        if s.pending {
                            state.pending.insert((s.end, id.clone()));
                            state.pending_keys.insert(id, gk.clone());
                        }
                        state.groups.insert(
                            gk,
                            Group {
                                states: s.states,
                                timestamp: s.timestamp,
                                end: s.end,
                            },
                        );
                    }
                }
            }
        }
        // Pending entries whose group is gone or no longer pending are dropped lazily by
        // `flush_closed`; session lists are derived from the groups.
        let sessions: Vec<(Vec<ScalarValue>, (i64, i64))> = state
            .groups
            .iter()
            .map(|((k, start), g)| (k.clone(), (*start, g.end)))
            .collect();
        if matches!(self.plan.window, Some(WindowExpr::Session { .. })) {
            for (k, span) in sessions {
                state.sessions.entry(k).or_default().push(span);
            }
        }
        Ok(())
    }
}
