//! The command topic: every statement that changes the catalog, in order, so that a restarted
//! engine replays them and ends up with the same sources and queries (as ksqlDB does).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use riffle_log::{Log, Record};
use serde::{Deserialize, Serialize};

use crate::config::Properties;
use crate::Result;

/// One recorded statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Command {
    /// Statement text after variable substitution.
    pub statement: String,
    /// Properties in force when it ran.
    pub properties: Properties,
}

/// Reads and appends the command topic.
#[derive(Debug)]
pub(crate) struct CommandLog {
    topic: String,
    /// Sequence number the next command will get.
    pub next_seq: i64,
    /// The command-topic offset up to which this engine has applied the commands.
    pub applied: u64,
    /// Offsets of commands this engine appended beyond `applied` (while behind other servers
    /// of the service); already applied, so the follower skips them.
    own: BTreeSet<u64>,
}

impl CommandLog {
    /// Opens (creating if needed) the command topic.
    pub fn open(log: &dyn Log, topic: &str) -> Result<CommandLog> {
        let mut config = BTreeMap::new();
        config.insert("cleanup.policy".into(), "delete".into());
        log.create_topic(topic, 1, config)?;
        let next_seq = log.end_offset(topic, 0)? as i64;
        Ok(CommandLog {
            topic: topic.to_string(),
            next_seq,
            applied: 0,
            own: BTreeSet::new(),
        })
    }

    /// All commands recorded so far, oldest first; marks them applied.
    pub fn read_all(&mut self, log: &dyn Log) -> Result<Vec<(u64, Command)>> {
        let (out, next) = Self::read_from(log, &self.topic, 0, usize::MAX)?;
        self.applied = next;
        Ok(out)
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Takes note that the command at `offset` is being applied; false when it is one of this
    /// engine's own (applied when it was appended) or was taken note of before.
    pub fn take(&mut self, offset: u64) -> bool {
        if offset < self.applied {
            return false;
        }
        self.applied = offset + 1;
        !self.own.remove(&offset)
    }

    /// Up to `max` commands from `offset` (a little more: whole fetches), with the offset
    /// after the last one read.
    pub fn read_from(
        log: &dyn Log,
        topic: &str,
        from: u64,
        max: usize,
    ) -> Result<(Vec<(u64, Command)>, u64)> {
        let mut out = Vec::new();
        let mut offset = from;
        loop {
            let batch = log.fetch(topic, 0, offset, 1000)?;
            if batch.is_empty() || out.len() >= max {
                return Ok((out, offset));
            }
            for r in batch {
                offset = r.offset + 1;
                let Some(v) = r.record.value else { continue };
                match serde_json::from_slice::<Command>(&v) {
                    Ok(c) => out.push((r.offset, c)),
                    Err(e) => {
                        tracing::warn!(offset = r.offset, error = %e, "skipping unreadable command")
                    }
                }
            }
        }
    }

    /// Appends a command; returns its sequence number.
    pub fn append(&mut self, log: &dyn Log, cmd: &Command) -> Result<i64> {
        let value = serde_json::to_vec(cmd)
            .map_err(|e| crate::EngineError::Internal(format!("cannot encode command: {e}")))?;
        let now = chrono::Utc::now().timestamp_millis();
        let (_, offset) = log.produce(
            &self.topic,
            Some(0),
            Record {
                key: None,
                value: Some(Bytes::from(value)),
                timestamp: now,
                headers: vec![],
            },
        )?;
        self.next_seq = offset as i64 + 1;
        if offset == self.applied {
            self.applied = offset + 1;
        } else {
            // Another server appended between this engine's catch-up and its append (their
            // statements ran at the same moment): the two servers apply the two statements
            // in different orders until one restarts and replays the topic.
            tracing::warn!(
                offset,
                applied = self.applied,
                "another server of this service recorded a statement at the same moment; \
                 servers may differ in query ids until restarted"
            );
            self.own.insert(offset);
        }
        Ok(offset as i64)
    }
}
