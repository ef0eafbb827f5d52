//! Consumer-group membership behind [`Log::assigned_partitions`](riffle_log::Log::assigned_partitions):
//! servers of one service split each persistent query's input partitions by joining the
//! query's consumer group, as Kafka Streams does.
//!
//! The member never reads records itself (its partitions stay paused; the per-partition
//! readers do the reading). It only takes part in rebalances, and it is the group's consumer
//! for offset commits and `send_offsets_to_transaction`, so those carry its generation: a
//! server that lost a partition in a rebalance can no longer commit for it (KIP-447 fencing).
//!
//! One member per group, subscribed to every topic the group was asked about (a query with a
//! repartition topic reads its source and that topic in one group, as ksqlDB's one consumer
//! group per query): asking about a new topic re-subscribes with the topics so far plus that
//! one, which rebalances the group once.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use riffle_log::Result;
use tracing::{debug, info};

use crate::error::{rd, KafkaLogError};
use crate::Inner;

/// Messages a member may have fetched before its partitions were paused; they are dropped.
const MAX_DROPPED_PER_POLL: usize = 10_000;

/// A consumer that joined a group, and the topics it is subscribed to.
pub(crate) struct Member {
    consumer: Arc<BaseConsumer>,
    topics: Vec<String>,
}

/// The topics to subscribe to when `topic` is asked about and `current` are subscribed:
/// `None` when `topic` is one of them (nothing to change), else all of them, sorted.
fn subscription_with(current: &[String], topic: &str) -> Option<Vec<String>> {
    if current.iter().any(|t| t == topic) {
        return None;
    }
    let mut topics = current.to_vec();
    topics.push(topic.to_string());
    topics.sort();
    Some(topics)
}

impl Inner {
    /// This process's partitions of `topic` in `group`, joining the group on first use.
    pub(crate) fn assigned(&self, group: &str, topic: &str) -> Result<Vec<u32>> {
        let consumer = self.member(group, topic)?;
        // Serves the group protocol (joins, rebalances); records are not wanted here.
        for _ in 0..MAX_DROPPED_PER_POLL {
            match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Err(e)) => debug!(group, error = %e, "consumer group member event"),
                Some(Ok(_)) => {}
            }
        }
        let assignment = consumer
            .assignment()
            .map_err(rd(format!("read the assignment of group '{group}'")))?;
        if assignment.count() > 0 {
            let _ = consumer.pause(&assignment);
        }
        let mut parts: Vec<u32> = assignment
            .elements_for_topic(topic)
            .iter()
            .map(|e| e.partition() as u32)
            .collect();
        parts.sort_unstable();
        Ok(parts)
    }

    /// The member consumer of `group`, created on first use and subscribed to `topic` (with
    /// the topics it was subscribed to before).
    fn member(&self, group: &str, topic: &str) -> Result<Arc<BaseConsumer>> {
        let mut members = self.members.lock()?;
        if let Some(m) = members.get_mut(group) {
            if let Some(topics) = subscription_with(&m.topics, topic) {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                m.consumer.subscribe(&names).map_err(rd(format!(
                    "subscribe consumer group '{group}' to {names:?}"
                )))?;
                info!(group, topics = ?names, "consumer group member subscribed to another topic");
                m.topics = topics;
            }
            return Ok(m.consumer.clone());
        }
        let c: BaseConsumer = self
            .opts
            .member_config(group)
            .create()
            .map_err(KafkaLogError::Config)?;
        c.subscribe(&[topic])
            .map_err(rd(format!("join consumer group '{group}'")))?;
        let c = Arc::new(c);
        members.insert(
            group.to_string(),
            Member {
                consumer: c.clone(),
                topics: vec![topic.to_string()],
            },
        );
        // From now on, offsets of this group go through the member.
        self.groups.lock()?.insert(group.to_string(), c.clone());
        info!(group, topic, "joined consumer group");
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::subscription_with;

    #[test]
    fn a_new_topic_extends_the_subscription_and_a_known_one_keeps_it() {
        let current = vec!["orders".to_string()];
        assert_eq!(subscription_with(&current, "orders"), None);
        let both =
            subscription_with(&current, "_q-Aggregate-GroupBy-repartition").unwrap_or_default();
        assert_eq!(both, ["_q-Aggregate-GroupBy-repartition", "orders"]);
        assert_eq!(subscription_with(&both, "orders"), None);
        assert_eq!(
            subscription_with(&[], "orders").unwrap_or_default(),
            ["orders"]
        );
    }
}
