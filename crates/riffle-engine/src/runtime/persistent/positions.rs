//! Where a persistent query continues reading its input partitions.

use std::collections::HashMap;

use riffle_log::Log;

use crate::Result;

/// The input partitions a stage of a query processed at its last step, and the next offset
/// of each after the stage's own commits. Like a Kafka consumer, a step continues from its
/// position and asks the group's committed offset only when its partitions change or a
/// commit failed: one broker round trip less per step, and no stale committed offset (Tansu's
/// quirk 11) read back after a commit.
#[derive(Debug, Default)]
pub(super) struct Positions {
    partitions: Vec<u32>,
    next: HashMap<u32, u64>,
}

impl Positions {
    /// Takes note of the partitions processed now; forgets every position when they changed
    /// (they may have been processed elsewhere meanwhile). True when they changed.
    pub(super) fn assign(&mut self, partitions: &[u32]) -> bool {
        if self.partitions == partitions {
            return false;
        }
        self.partitions = partitions.to_vec();
        self.next.clear();
        true
    }

    /// The partitions last assigned.
    pub(super) fn partitions(&self) -> &[u32] {
        &self.partitions
    }

    /// Where to read partition `p` of `topic` from: the position, or the committed offset.
    pub(super) fn start(&self, log: &dyn Log, group: &str, topic: &str, p: u32) -> Result<u64> {
        match self.next.get(&p) {
            Some(at) => Ok(*at),
            None => Ok(log.committed_offset(group, topic, p)?.unwrap_or(0)),
        }
    }

    /// After a commit of partition `p` up to `next`.
    pub(super) fn committed(&mut self, p: u32, next: u64) {
        self.next.insert(p, next);
    }

    /// After a failed or dropped commit: read the committed offsets again.
    pub(super) fn forget(&mut self) {
        self.next.clear();
    }
}
