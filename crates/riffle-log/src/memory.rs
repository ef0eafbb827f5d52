//! [`MemoryLog`]: an in-memory [`Log`] for tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use tokio::sync::watch;

use crate::state::{new_topic_info, read_or_log, AppendRef, Notifier, TopicState, Topics};
use crate::{ConsumedRecord, Log, LogError, Record, Result, TopicInfo, Transaction};

/// A stored record with its topic-wide sequence number.
#[derive(Debug)]
struct Stored {
    seq: u64,
    record: Record,
}

/// Records of one topic: one vector per partition, indexed by offset.
type Partitions = Vec<Vec<Stored>>;

#[derive(Debug, Default)]
struct Inner {
    topics: Topics<Partitions>,
    /// group → (topic, partition) → next offset.
    offsets: HashMap<String, HashMap<(String, u32), u64>>,
    /// Last topic id handed out.
    last_id: u32,
}

/// An in-memory [`Log`] with the same semantics as
/// [`EmbeddedLog`](crate::EmbeddedLog), for tests. Nothing is persisted.
///
/// Creating one costs a couple of small allocations, so every test can have
/// its own.
#[derive(Debug)]
pub struct MemoryLog {
    inner: RwLock<Inner>,
    notify: Notifier,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        MemoryLog {
            inner: RwLock::new(Inner::default()),
            notify: Notifier::new(),
        }
    }
}

impl Default for MemoryLog {
    fn default() -> Self {
        MemoryLog::new()
    }
}

impl Log for MemoryLog {
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: BTreeMap<String, String>,
    ) -> Result<bool> {
        let info = new_topic_info(name, partitions, config)?;
        let mut inner = self.inner.write()?;
        if inner.topics.contains(name) {
            return Ok(false);
        }
        inner.last_id = inner
            .last_id
            .checked_add(1)
            .ok_or_else(|| LogError::Internal("topic ids exhausted".to_string()))?;
        let data = (0..partitions).map(|_| Vec::new()).collect();
        let id = inner.last_id;
        inner.topics.insert(TopicState::new(info, id, data));
        Ok(true)
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let mut inner = self.inner.write()?;
        inner
            .topics
            .remove(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))?;
        for group in inner.offsets.values_mut() {
            group.retain(|(topic, _), _| topic != name);
        }
        inner.offsets.retain(|_, group| !group.is_empty());
        Ok(())
    }

    fn topic(&self, name: &str) -> Option<TopicInfo> {
        read_or_log(&self.inner)?.topics.info(name)
    }

    fn topics(&self) -> Vec<TopicInfo> {
        read_or_log(&self.inner).map_or_else(Vec::new, |inner| inner.topics.infos())
    }

    fn produce(&self, topic: &str, partition: Option<u32>, record: Record) -> Result<(u32, u64)> {
        let mut inner = self.inner.write()?;
        let append = AppendRef {
            topic,
            partition,
            key: record.key.as_deref(),
        };
        let plan = inner.topics.plan(std::iter::once(append))?;
        let slot = *plan
            .slots
            .first()
            .ok_or_else(|| LogError::Internal("no slot planned for record".to_string()))?;
        push(
            inner.topics.get_mut(topic)?,
            slot.partition,
            slot.seq,
            record,
        )?;
        inner.topics.apply(plan);
        drop(inner);
        self.notify.bump();
        Ok((slot.partition, slot.offset))
    }

    fn commit(&self, txn: Transaction) -> Result<Vec<(u32, u64)>> {
        let mut inner = self.inner.write()?;
        // Validate everything before changing anything: all or nothing.
        let plan = inner.topics.plan(txn.appends.iter().map(|a| AppendRef {
            topic: &a.topic,
            partition: a.partition,
            key: a.record.key.as_deref(),
        }))?;
        inner.topics.check_offsets(&txn.offsets)?;

        let appended = !txn.appends.is_empty();
        let positions = {
            let inner = &mut *inner;
            let mut current: Option<&mut TopicState<Partitions>> = None;
            for (append, slot) in txn.appends.into_iter().zip(&plan.slots) {
                let topic = match current.take() {
                    Some(t) if t.info.name == append.topic => t,
                    _ => inner.topics.get_mut(&append.topic)?,
                };
                push(topic, slot.partition, slot.seq, append.record)?;
                current = Some(topic);
            }
            let positions = inner.topics.apply(plan);
            for c in txn.offsets {
                inner
                    .offsets
                    .entry(c.group)
                    .or_default()
                    .insert((c.topic, c.partition), c.next_offset);
            }
            positions
        };
        drop(inner);
        if appended {
            self.notify.bump();
        }
        Ok(positions)
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_records: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        let inner = self.inner.read()?;
        let t = inner.topics.partition(topic, partition)?;
        let records = t
            .data
            .get(partition as usize)
            .map_or(&[][..], Vec::as_slice);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let Some(tail) = records.get(start..) else {
            return Ok(Vec::new());
        };
        Ok(tail
            .iter()
            .take(max_records)
            .zip(offset..)
            .map(|(s, offset)| ConsumedRecord {
                partition,
                offset,
                seq: s.seq,
                record: s.record.clone(),
            })
            .collect())
    }

    fn end_offset(&self, topic: &str, partition: u32) -> Result<u64> {
        self.inner.read()?.topics.get(topic)?.end_offset(partition)
    }

    fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Result<Option<u64>> {
        let inner = self.inner.read()?;
        inner.topics.partition(topic, partition)?;
        Ok(inner
            .offsets
            .get(group)
            .and_then(|g| g.get(&(topic.to_string(), partition)))
            .copied())
    }

    fn delete_group(&self, group: &str) -> Result<()> {
        self.inner.write()?.offsets.remove(group);
        Ok(())
    }

    fn watch(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }
}

/// Appends a record to a partition's vector.
fn push(
    topic: &mut TopicState<Partitions>,
    partition: u32,
    seq: u64,
    record: Record,
) -> Result<()> {
    let records = topic.data.get_mut(partition as usize).ok_or_else(|| {
        LogError::Internal(format!(
            "no storage for partition {partition} of topic '{}'",
            topic.info.name
        ))
    })?;
    records.push(Stored { seq, record });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;

    #[test]
    fn conformance_suite() {
        conformance::run_all(&MemoryLog::new);
    }

    #[test]
    fn new_is_cheap_and_independent() {
        let a = MemoryLog::new();
        let b = MemoryLog::default();
        a.create_topic("t", 1, BTreeMap::new()).unwrap();
        assert!(b.topic("t").is_none());
    }
}
