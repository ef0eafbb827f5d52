//! The current state of a table as pull queries see it: the last record per key of its topic,
//! kept in memory per topic and brought up to date incrementally (only records appended since
//! the previous pull query are read), ordered by key bytes as ksqlDB's state stores iterate.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use riffle_log::{ConsumedRecord, Log};

use crate::Result;

/// A table's latest records by serialized key.
#[derive(Default)]
struct TableView {
    /// Next offset to read, per partition.
    positions: Vec<u64>,
    latest: BTreeMap<Bytes, ConsumedRecord>,
}

/// Table views by topic.
#[derive(Default)]
pub(crate) struct TableViews {
    views: Mutex<HashMap<String, TableView>>,
}

impl TableViews {
    /// Brings the view of `topic` up to date and returns the records `select` picks from it.
    pub(crate) fn read<T>(
        &self,
        log: &dyn Log,
        topic: &str,
        partitions: u32,
        select: impl FnOnce(&BTreeMap<Bytes, ConsumedRecord>) -> T,
    ) -> Result<T> {
        let mut views = self
            .views
            .lock()
            .map_err(|_| crate::EngineError::Internal("table view lock poisoned".into()))?;
        let view = views.entry(topic.to_string()).or_default();
        let parts = partitions as usize;
        let recreated = view.positions.len() != parts
            || (0..parts).any(|p| {
                log.end_offset(topic, p as u32)
                    .map(|end| end < view.positions[p])
                    .unwrap_or(true)
            });
        if recreated {
            // A topic deleted and created again starts from scratch.
            *view = TableView {
                positions: vec![0; parts],
                latest: BTreeMap::new(),
            };
        }
        let mut fresh: Vec<ConsumedRecord> = Vec::new();
        for p in 0..parts {
            let (records, next) =
                crate::runtime::read_partition(log, topic, p as u32, view.positions[p])?;
            view.positions[p] = next;
            fresh.extend(records);
        }
        fresh.sort_by_key(|r| r.seq);
        for r in fresh {
            let key = r.record.key.clone().unwrap_or_default();
            if r.record.value.is_some() {
                view.latest.insert(key, r);
            } else {
                view.latest.remove(&key);
            }
        }
        Ok(select(&view.latest))
    }
}
