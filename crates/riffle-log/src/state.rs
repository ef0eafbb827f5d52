//! Backend-independent bookkeeping shared by [`MemoryLog`](crate::MemoryLog)
//! and [`EmbeddedLog`](crate::EmbeddedLog): topic metadata, end offsets,
//! the topic-wide append sequence, partition choice and the change counter.
//!
//! Appends are assigned their positions in two steps so that a backend can
//! make them durable in between: [`Topics::plan`] computes partitions,
//! offsets and sequence numbers without changing anything, the backend
//! stores the records, and [`Topics::apply`] publishes the new end offsets.
//! Callers must serialize plan → store → apply (one writer at a time).

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard};

use tokio::sync::watch;

use crate::partitioner::partition_for_key;
use crate::{LogError, OffsetCommit, Result, TopicInfo};

/// Kafka's longest legal topic name.
const MAX_TOPIC_NAME_LEN: usize = 249;

/// Checks a topic name against Kafka's rules.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are reserved")
    } else if name.len() > MAX_TOPIC_NAME_LEN {
        Some("it is longer than 249 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        Some("it contains a character other than letters, digits, '.', '_' and '-'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(LogError::InvalidTopicName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Read-locks `lock`, logging instead of failing on poisoning, for the trait
/// methods that cannot return an error.
pub(crate) fn read_or_log<T>(lock: &RwLock<T>) -> Option<RwLockReadGuard<'_, T>> {
    match lock.read() {
        Ok(guard) => Some(guard),
        Err(_) => {
            tracing::error!("topic storage lock is poisoned; restart the server");
            None
        }
    }
}

/// Validates a create request and builds the metadata for it.
pub(crate) fn new_topic_info(
    name: &str,
    partitions: u32,
    config: BTreeMap<String, String>,
) -> Result<TopicInfo> {
    validate_topic_name(name)?;
    if partitions == 0 || partitions > crate::MAX_PARTITIONS {
        return Err(LogError::InvalidPartitionCount {
            topic: name.to_string(),
            partitions,
        });
    }
    Ok(TopicInfo {
        name: name.to_string(),
        partitions,
        replicas: 1,
        config,
    })
}

/// Live state of one topic. `T` is backend-specific per-topic data (the
/// records themselves for the memory backend).
#[derive(Debug)]
pub(crate) struct TopicState<T> {
    /// Metadata as reported by `Log::topic`.
    pub info: TopicInfo,
    /// Stable numeric id, never reused for another topic.
    pub id: u32,
    /// Next offset per partition; `len() == info.partitions`.
    pub end_offsets: Vec<u64>,
    /// Next topic-wide append sequence number.
    pub next_seq: u64,
    /// Next partition for a null-keyed record without explicit partition.
    pub next_rr: u32,
    /// Backend data.
    pub data: T,
}

impl<T> TopicState<T> {
    /// A fresh, empty topic.
    pub fn new(info: TopicInfo, id: u32, data: T) -> Self {
        let end_offsets = vec![0; info.partitions as usize];
        TopicState {
            info,
            id,
            end_offsets,
            next_seq: 0,
            next_rr: 0,
            data,
        }
    }

    /// Fails with `BadPartition` unless `partition` exists.
    pub fn check_partition(&self, partition: u32) -> Result<()> {
        if partition < self.info.partitions {
            Ok(())
        } else {
            Err(LogError::BadPartition {
                topic: self.info.name.clone(),
                partition,
                partitions: self.info.partitions,
            })
        }
    }

    /// The end offset of a partition, checking it exists.
    pub fn end_offset(&self, partition: u32) -> Result<u64> {
        self.check_partition(partition)?;
        self.end_offsets
            .get(partition as usize)
            .copied()
            .ok_or_else(|| missing_partition(&self.info.name, partition))
    }
}

fn missing_partition(topic: &str, partition: u32) -> LogError {
    LogError::Internal(format!(
        "no end offset tracked for partition {partition} of topic '{topic}'"
    ))
}

/// What [`Topics::plan`] needs to know about one append.
pub(crate) struct AppendRef<'a> {
    /// Target topic.
    pub topic: &'a str,
    /// Explicit partition, if any.
    pub partition: Option<u32>,
    /// Record key, for the key partitioner.
    pub key: Option<&'a [u8]>,
}

/// The position assigned to one append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Numeric id of the target topic.
    pub topic_id: u32,
    /// Partition chosen.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
    /// Topic-wide sequence number.
    pub seq: u64,
}

/// Per-topic counters as they will be after a planned write.
struct Cursor {
    topic: String,
    id: u32,
    end_offsets: Vec<u64>,
    next_seq: u64,
    next_rr: u32,
}

/// Positions for a batch of appends, not yet published.
pub(crate) struct Plan {
    /// One slot per append, in order.
    pub slots: Vec<Slot>,
    cursors: Vec<Cursor>,
}

/// All topics of a log, by name.
#[derive(Debug)]
pub(crate) struct Topics<T> {
    map: BTreeMap<String, TopicState<T>>,
}

impl<T> Default for Topics<T> {
    fn default() -> Self {
        Topics {
            map: BTreeMap::new(),
        }
    }
}

impl<T> Topics<T> {
    /// Looks up a topic.
    pub fn get(&self, name: &str) -> Result<&TopicState<T>> {
        self.map
            .get(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))
    }

    /// Looks up a topic for modification.
    pub fn get_mut(&mut self, name: &str) -> Result<&mut TopicState<T>> {
        self.map
            .get_mut(name)
            .ok_or_else(|| LogError::UnknownTopic(name.to_string()))
    }

    /// Whether a topic exists.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds a topic (replacing one of the same name).
    pub fn insert(&mut self, state: TopicState<T>) {
        self.map.insert(state.info.name.clone(), state);
    }

    /// Removes a topic.
    pub fn remove(&mut self, name: &str) -> Option<TopicState<T>> {
        self.map.remove(name)
    }

    /// Metadata of one topic.
    pub fn info(&self, name: &str) -> Option<TopicInfo> {
        self.map.get(name).map(|t| t.info.clone())
    }

    /// Metadata of all topics, sorted by name.
    pub fn infos(&self) -> Vec<TopicInfo> {
        self.map.values().map(|t| t.info.clone()).collect()
    }

    /// All topic states, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &TopicState<T>> {
        self.map.values()
    }

    /// The topic, checking that `partition` exists in it.
    pub fn partition(&self, topic: &str, partition: u32) -> Result<&TopicState<T>> {
        let t = self.get(topic)?;
        t.check_partition(partition)?;
        Ok(t)
    }

    /// Validates offset commits and returns the topic id of each.
    pub fn check_offsets(&self, offsets: &[OffsetCommit]) -> Result<Vec<u32>> {
        offsets
            .iter()
            .map(|c| self.partition(&c.topic, c.partition).map(|t| t.id))
            .collect()
    }

    /// Assigns partition, offset and sequence number to each append, in
    /// order, without changing any state. Fails (changing nothing) if a
    /// topic or partition does not exist.
    pub fn plan<'a, I>(&self, appends: I) -> Result<Plan>
    where
        I: ExactSizeIterator<Item = AppendRef<'a>>,
    {
        let mut slots = Vec::with_capacity(appends.len());
        let mut cursors: Vec<Cursor> = Vec::new();
        let mut current: Option<usize> = None;
        for append in appends {
            let idx = match current {
                Some(i) if cursors.get(i).is_some_and(|c| c.topic == append.topic) => i,
                _ => match cursors.iter().position(|c| c.topic == append.topic) {
                    Some(i) => i,
                    None => {
                        let t = self.get(append.topic)?;
                        cursors.push(Cursor {
                            topic: t.info.name.clone(),
                            id: t.id,
                            end_offsets: t.end_offsets.clone(),
                            next_seq: t.next_seq,
                            next_rr: t.next_rr,
                        });
                        cursors.len() - 1
                    }
                },
            };
            current = Some(idx);
            let cursor = cursors
                .get_mut(idx)
                .ok_or_else(|| LogError::Internal("append cursor vanished".to_string()))?;
            let partitions = cursor.end_offsets.len() as u32;
            let partition = match (append.partition, append.key) {
                (Some(p), _) => {
                    if p >= partitions {
                        return Err(LogError::BadPartition {
                            topic: cursor.topic.clone(),
                            partition: p,
                            partitions,
                        });
                    }
                    p
                }
                (None, Some(key)) => partition_for_key(key, partitions),
                (None, None) => {
                    let p = cursor.next_rr % partitions.max(1);
                    cursor.next_rr = (p + 1) % partitions.max(1);
                    p
                }
            };
            let end = cursor
                .end_offsets
                .get_mut(partition as usize)
                .ok_or_else(|| missing_partition(&cursor.topic, partition))?;
            let offset = *end;
            *end += 1;
            let seq = cursor.next_seq;
            cursor.next_seq += 1;
            slots.push(Slot {
                topic_id: cursor.id,
                partition,
                offset,
                seq,
            });
        }
        Ok(Plan { slots, cursors })
    }

    /// Publishes a plan once its records are stored; returns the
    /// `(partition, offset)` of each append.
    pub fn apply(&mut self, plan: Plan) -> Vec<(u32, u64)> {
        for cursor in plan.cursors {
            if let Some(t) = self.map.get_mut(&cursor.topic) {
                if t.id == cursor.id {
                    t.end_offsets = cursor.end_offsets;
                    t.next_seq = cursor.next_seq;
                    t.next_rr = cursor.next_rr;
                }
            }
        }
        plan.slots.iter().map(|s| (s.partition, s.offset)).collect()
    }
}

/// The change counter behind `Log::watch`.
#[derive(Debug)]
pub(crate) struct Notifier {
    tx: watch::Sender<u64>,
}

impl Notifier {
    /// A counter starting at 0.
    pub fn new() -> Self {
        Notifier {
            tx: watch::Sender::new(0),
        }
    }

    /// Signals that data was appended.
    pub fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every later bump.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(partitions: u32) -> Topics<()> {
        let mut t = Topics::default();
        let info = new_topic_info("t", partitions, BTreeMap::new()).unwrap();
        t.insert(TopicState::new(info, 1, ()));
        t
    }

    fn null_key(topic: &str) -> AppendRef<'_> {
        AppendRef {
            topic,
            partition: None,
            key: None,
        }
    }

    #[test]
    fn plan_does_not_change_state_until_applied() {
        let mut t = topics(2);
        let plan = t.plan([null_key("t"), null_key("t")].into_iter()).unwrap();
        assert_eq!(t.get("t").unwrap().end_offsets, vec![0, 0]);
        assert_eq!(t.apply(plan), vec![(0, 0), (1, 0)]);
        assert_eq!(t.get("t").unwrap().end_offsets, vec![1, 1]);
        assert_eq!(t.get("t").unwrap().next_seq, 2);
    }

    #[test]
    fn failed_plan_reports_the_problem() {
        let t = topics(2);
        let bad = AppendRef {
            topic: "t",
            partition: Some(2),
            key: None,
        };
        assert!(matches!(
            t.plan([null_key("t"), bad].into_iter()),
            Err(LogError::BadPartition {
                partition: 2,
                partitions: 2,
                ..
            })
        ));
        assert!(matches!(
            t.plan([null_key("nope")].into_iter()),
            Err(LogError::UnknownTopic(_))
        ));
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders_v2.avro-1").is_ok());
        assert!(validate_topic_name(&"a".repeat(249)).is_ok());
        for bad in ["", ".", "..", "has space", "ümlaut", &"a".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            new_topic_info("t", 0, BTreeMap::new()),
            Err(LogError::InvalidPartitionCount { partitions: 0, .. })
        ));
        assert!(matches!(
            new_topic_info("t", crate::MAX_PARTITIONS + 1, BTreeMap::new()),
            Err(LogError::InvalidPartitionCount { .. })
        ));
    }
}
