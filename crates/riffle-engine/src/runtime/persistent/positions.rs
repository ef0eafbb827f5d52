//! Where a persistent query continues reading its input partitions.

use std::collections::{HashMap, HashSet};

use riffle_log::Log;

use crate::Result;

/// The input partitions a stage of a query processed at its last step, and the next offset
/// of each after the stage's own commits. Like a Kafka consumer, a step continues from its
/// position and asks the group's committed offset only when its partitions change or a
/// commit failed: one broker round trip less per step.
///
/// When it does ask, it keeps what it committed itself as a floor: the group's committed
/// offset of a partition can only be ahead of it (another server processed the partition
/// meanwhile), never legitimately behind, since this stage's commits succeeded. Reading from
/// the larger of the two is what Kafka's OffsetFetch with `require_stable` gives anyway; on
/// a broker that answers a just-committed transaction's offsets stale (Tansu's quirk 11) it
/// keeps a partition that stayed here across a rebalance from being processed twice.
#[derive(Debug, Default)]
pub(super) struct Positions {
    partitions: Vec<u32>,
    /// The next offset after this stage's last successful commit, per partition.
    next: HashMap<u32, u64>,
    /// Partitions whose `next` is where reading continues (no change or failure since).
    current: HashSet<u32>,
}

impl Positions {
    /// Takes note of the partitions processed now; when they changed, every position is
    /// checked against the group's committed offset again (a partition may have been
    /// processed elsewhere meanwhile). True when they changed.
    pub(super) fn assign(&mut self, partitions: &[u32]) -> bool {
        if self.partitions == partitions {
            return false;
        }
        self.partitions = partitions.to_vec();
        self.current.clear();
        true
    }

    /// The partitions last assigned.
    pub(super) fn partitions(&self) -> &[u32] {
        &self.partitions
    }

    /// Where to read partition `p` of `topic` from: the position, or the committed offset
    /// (not below what this stage committed itself).
    pub(super) fn start(&self, log: &dyn Log, group: &str, topic: &str, p: u32) -> Result<u64> {
        let own = self.next.get(&p).copied();
        match own {
            Some(at) if self.current.contains(&p) => Ok(at),
            _ => {
                let committed = log.committed_offset(group, topic, p)?.unwrap_or(0);
                if own.is_some_and(|at| at > committed) {
                    tracing::debug!(topic, partition = p, committed, own = ?own, "the group's committed offset reads behind this server's own commit; continuing from the latter");
                }
                Ok(committed.max(own.unwrap_or(0)))
            }
        }
    }

    /// After a commit of partition `p` up to `next`.
    pub(super) fn committed(&mut self, p: u32, next: u64) {
        self.next.insert(p, next);
        self.current.insert(p);
    }

    /// After a failed or dropped commit: check the committed offsets again.
    pub(super) fn forget(&mut self) {
        self.current.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Positions;
    use riffle_log::{Log, MemoryLog, OffsetCommit, Transaction};

    fn commit(log: &MemoryLog, p: u32, next: u64) {
        let mut txn = Transaction::default();
        txn.offsets.push(OffsetCommit {
            group: "g".into(),
            topic: "t".into(),
            partition: p,
            next_offset: next,
        });
        log.commit(txn).expect("commit");
    }

    #[test]
    fn continues_from_its_own_commits_and_never_behind_them() {
        let log = MemoryLog::new();
        log.create_topic("t", 2, Default::default()).expect("topic");
        let mut pos = Positions::default();
        assert!(pos.assign(&[0, 1]));
        assert_eq!(pos.start(&log, "g", "t", 0).expect("start"), 0);
        commit(&log, 0, 10);
        pos.committed(0, 10);
        // Continues from its position without asking the group.
        commit(&log, 0, 3);
        assert_eq!(pos.start(&log, "g", "t", 0).expect("start"), 10);
        // After a change, the group's offset is asked, but a stale one does not move it back.
        assert!(pos.assign(&[0]));
        assert_eq!(pos.start(&log, "g", "t", 0).expect("start"), 10);
        // Another server went further meanwhile: its offset wins.
        commit(&log, 0, 25);
        pos.forget();
        assert_eq!(pos.start(&log, "g", "t", 0).expect("start"), 25);
    }
}
