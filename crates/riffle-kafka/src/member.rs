//! Consumer-group membership behind [`Log::assigned_partitions`](riffle_log::Log::assigned_partitions):
//! servers of one service split each persistent query's input partitions by joining the
//! query's consumer group, as Kafka Streams does.
//!
//! The member never reads records itself (its partitions stay paused; the per-partition
//! readers do the reading). It only takes part in rebalances, and it is the group's consumer
//! for offset commits and `send_offsets_to_transaction`, so those carry its generation: a
//! server that lost a partition in a rebalance can no longer commit for it (KIP-447 fencing).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use riffle_log::Result;
use tracing::{debug, info};

use crate::error::{rd, KafkaLogError};
use crate::Inner;

/// Messages a member may have fetched before its partitions were paused; they are dropped.
const MAX_DROPPED_PER_POLL: usize = 10_000;

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

    /// The member consumer of `group`, created and subscribed on first use.
    fn member(&self, group: &str, topic: &str) -> Result<Arc<BaseConsumer>> {
        let mut members = self.members.lock()?;
        if let Some(c) = members.get(group) {
            return Ok(c.clone());
        }
        let c: BaseConsumer = self
            .opts
            .member_config(group)
            .create()
            .map_err(KafkaLogError::Config)?;
        c.subscribe(&[topic])
            .map_err(rd(format!("join consumer group '{group}'")))?;
        let c = Arc::new(c);
        members.insert(group.to_string(), c.clone());
        // From now on, offsets of this group go through the member.
        self.groups.lock()?.insert(group.to_string(), c.clone());
        info!(group, topic, "joined consumer group");
        Ok(c)
    }
}
