//! [`EmbeddedLog`]: a durable [`Log`] stored in RocksDB.
//!
//! Layout: one RocksDB database with these column families (encodings in
//! [`codec`](crate::codec)):
//!
//! * `topics`: topic name → metadata, including a numeric topic id that is
//!   never reused, so record keys stay compact and a re-created topic never
//!   sees records of its predecessor;
//! * `records`: `topic_id | partition | offset` → record and sequence number;
//! * `offsets`: `group | topic_id | partition` → next offset;
//! * `default`: the next topic id to hand out.
//!
//! Every mutation is a single `WriteBatch`, so it is atomic. Writers are
//! serialized by a mutex held while offsets are assigned and the batch is
//! written; readers only take a short read lock on the in-memory state (end
//! offsets, sequence counters, metadata), which is rebuilt at open.
//!
//! Durability: writes go through RocksDB's write-ahead log but are not
//! fsynced by default. A process crash (even `kill -9`) loses nothing that
//! was acknowledged, because the WAL is in the OS page cache; a power loss or
//! kernel crash can lose the last writes unless [`LogOptions::sync`] is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Options, ReadOptions, WriteBatch,
    WriteOptions, DB,
};
use tokio::sync::watch;

use crate::codec;
use crate::state::{new_topic_info, read_or_log, AppendRef, Notifier, TopicState, Topics};
use crate::{ConsumedRecord, Log, LogError, Record, Result, TopicInfo, Transaction};

const CF_TOPICS: &str = "topics";
const CF_RECORDS: &str = "records";
const CF_OFFSETS: &str = "offsets";
const CF_DEFAULT: &str = "default";
const NEXT_TOPIC_ID: &[u8] = b"next_topic_id";

/// Durability options for [`EmbeddedLog::open_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Fsync the write-ahead log before acknowledging each write.
    ///
    /// `false` (the default) survives process crashes, including `kill -9`,
    /// but a power loss or OS crash may lose the most recent writes. `true`
    /// also survives those, at the cost of one fsync per `produce`/`commit`.
    pub sync: bool,
}

/// State only writers touch, behind the writer mutex.
struct Writer {
    next_topic_id: u32,
    /// Reused encoding buffer.
    buf: Vec<u8>,
}

/// A durable [`Log`] stored in a RocksDB database in a local directory.
///
/// Only one process may open a directory at a time (RocksDB locks it).
pub struct EmbeddedLog {
    db: DB,
    dir: PathBuf,
    write_opts: WriteOptions,
    writer: Mutex<Writer>,
    state: RwLock<Topics<()>>,
    notify: Notifier,
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log stored in `dir` with default
    /// options (WAL on, no fsync per write).
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, LogOptions::default())
    }

    /// Opens (creating if needed) the log stored in `dir`.
    pub fn open_with(dir: &Path, options: LogOptions) -> Result<Self> {
        let open_err = |reason: String| LogError::Open {
            path: dir.to_path_buf(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;

        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.increase_parallelism(
            std::thread::available_parallelism().map_or(2, |n| n.get().min(8) as i32),
        );
        db_opts.set_max_background_jobs(2);
        db_opts.set_keep_log_file_num(4);
        db_opts.set_max_total_wal_size(256 << 20);
        let mut records_opts = Options::default();
        records_opts.set_compression_type(DBCompressionType::Lz4);
        records_opts.set_write_buffer_size(64 << 20);
        let cfs = [
            ColumnFamilyDescriptor::new(CF_DEFAULT, Options::default()),
            ColumnFamilyDescriptor::new(CF_TOPICS, Options::default()),
            ColumnFamilyDescriptor::new(CF_RECORDS, records_opts),
            ColumnFamilyDescriptor::new(CF_OFFSETS, Options::default()),
        ];
        let db =
            DB::open_cf_descriptors(&db_opts, dir, cfs).map_err(|e| open_err(e.into_string()))?;

        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(options.sync);
        write_opts.disable_wal(false);

        let mut log = EmbeddedLog {
            db,
            dir: dir.to_path_buf(),
            write_opts,
            writer: Mutex::new(Writer {
                next_topic_id: 1,
                buf: Vec::new(),
            }),
            state: RwLock::new(Topics::default()),
            notify: Notifier::new(),
        };
        log.recover()?;
        Ok(log)
    }

    /// The directory the log is stored in.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Flushes the write-ahead log to disk (fsync), making every write so far
    /// durable against power loss even when opened without
    /// [`LogOptions::sync`].
    pub fn sync(&self) -> Result<()> {
        self.db.flush_wal(true)?;
        Ok(())
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| LogError::Corrupt(format!("column family '{name}' is missing")))
    }

    /// Rebuilds the in-memory state from the database.
    fn recover(&mut self) -> Result<()> {
        let mut topics = Topics::default();
        let mut max_id = 0u32;
        {
            let mut it = self.db.raw_iterator_cf(self.cf(CF_TOPICS)?);
            it.seek_to_first();
            while let Some((key, value)) = it.item() {
                let name = std::str::from_utf8(key)
                    .map_err(|_| LogError::Corrupt("a topic name is not UTF-8".to_string()))?;
                let (id, info) = codec::decode_topic(name, value)?;
                max_id = max_id.max(id);
                topics.insert(TopicState::new(info, id, ()));
                it.next();
            }
            it.status()?;
        }

        let records = self.cf(CF_RECORDS)?;
        let mut it = self.db.raw_iterator_cf(records);
        let names: Vec<String> = topics.iter().map(|t| t.info.name.clone()).collect();
        for name in &names {
            let t = topics.get_mut(name)?;
            let mut next_seq = 0;
            for partition in 0..t.info.partitions {
                it.seek_for_prev(codec::record_key(t.id, partition, u64::MAX));
                it.status()?;
                let Some((key, value)) = it.item() else {
                    continue;
                };
                match codec::parse_record_key(key) {
                    Some((id, p, offset)) if id == t.id && p == partition => {
                        if let Some(end) = t.end_offsets.get_mut(partition as usize) {
                            *end = offset.saturating_add(1);
                        }
                        next_seq = next_seq.max(codec::decode_seq(value)?.saturating_add(1));
                    }
                    _ => {}
                }
            }
            t.next_seq = next_seq;
        }
        drop(it);

        let stored_next = match self.db.get_pinned_cf(self.cf(CF_DEFAULT)?, NEXT_TOPIC_ID)? {
            Some(v) => {
                let bytes: [u8; 4] = v[..].try_into().map_err(|_| {
                    LogError::Corrupt("the next topic id is not 4 bytes".to_string())
                })?;
                u32::from_be_bytes(bytes)
            }
            None => 1,
        };
        let next_topic_id = stored_next.max(max_id.saturating_add(1));
        tracing::info!(
            dir = %self.dir.display(),
            topics = names.len(),
            "opened embedded topic log"
        );
        self.writer.get_mut()?.next_topic_id = next_topic_id;
        *self.state.get_mut()? = topics;
        Ok(())
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        self.db.write_opt(batch, &self.write_opts).map_err(|e| {
            tracing::error!(error = %e, "topic log write failed");
            LogError::from(e)
        })
    }

    /// Adds deletes of every offset key of `topic_id` to `batch`.
    fn delete_offsets_of_topic(&self, topic_id: u32, batch: &mut WriteBatch) -> Result<()> {
        let offsets = self.cf(CF_OFFSETS)?;
        let mut it = self.db.raw_iterator_cf(offsets);
        it.seek_to_first();
        while let Some(key) = it.key() {
            if codec::offset_key_topic(key) == Some(topic_id) {
                batch.delete_cf(offsets, key);
            }
            it.next();
        }
        it.status()?;
        Ok(())
    }
}

impl Log for EmbeddedLog {
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        config: BTreeMap<String, String>,
    ) -> Result<bool> {
        let info = new_topic_info(name, partitions, config)?;
        let mut writer = self.writer.lock()?;
        if self.state.read()?.contains(name) {
            return Ok(false);
        }
        let id = writer.next_topic_id;
        // u32::MAX is kept free so `id + 1` always bounds the topic's records.
        let next = id
            .checked_add(1)
            .filter(|&n| n < u32::MAX)
            .ok_or_else(|| LogError::Internal("topic ids exhausted".to_string()))?;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_TOPICS)?, name, codec::encode_topic(id, &info)?);
        batch.put_cf(self.cf(CF_DEFAULT)?, NEXT_TOPIC_ID, next.to_be_bytes());
        self.write(batch)?;
        writer.next_topic_id = next;
        self.state.write()?.insert(TopicState::new(info, id, ()));
        tracing::info!(topic = name, partitions, id, "created topic");
        Ok(true)
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let _writer = self.writer.lock()?;
        let id = self.state.read()?.get(name)?.id;
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_TOPICS)?, name);
        batch.delete_range_cf(
            self.cf(CF_RECORDS)?,
            codec::record_key(id, 0, 0),
            codec::record_key(id.saturating_add(1), 0, 0),
        );
        self.delete_offsets_of_topic(id, &mut batch)?;
        self.write(batch)?;
        self.state.write()?.remove(name);
        tracing::info!(topic = name, id, "deleted topic");
        Ok(())
    }

    fn topic(&self, name: &str) -> Option<TopicInfo> {
        read_or_log(&self.state)?.info(name)
    }

    fn topics(&self) -> Vec<TopicInfo> {
        read_or_log(&self.state).map_or_else(Vec::new, |s| s.infos())
    }

    fn produce(&self, topic: &str, partition: Option<u32>, record: Record) -> Result<(u32, u64)> {
        let txn = Transaction {
            appends: vec![crate::Append {
                topic: topic.to_string(),
                partition,
                record,
            }],
            offsets: Vec::new(),
        };
        self.commit(txn)?
            .first()
            .copied()
            .ok_or_else(|| LogError::Internal("no position returned for record".to_string()))
    }

    fn commit(&self, txn: Transaction) -> Result<Vec<(u32, u64)>> {
        if txn.appends.is_empty() && txn.offsets.is_empty() {
            return Ok(Vec::new());
        }
        let mut writer = self.writer.lock()?;
        let (plan, offset_ids) = {
            let state = self.state.read()?;
            let plan = state.plan(txn.appends.iter().map(|a| AppendRef {
                topic: &a.topic,
                partition: a.partition,
                key: a.record.key.as_deref(),
            }))?;
            (plan, state.check_offsets(&txn.offsets)?)
        };

        let size: usize = txn
            .appends
            .iter()
            .map(|a| codec::RECORD_KEY_LEN + codec::encoded_len_hint(&a.record) + 16)
            .sum::<usize>()
            + txn
                .offsets
                .iter()
                .map(|c| c.group.len() + 40)
                .sum::<usize>();
        let mut batch = WriteBatch::with_capacity_bytes(size);
        let records = self.cf(CF_RECORDS)?;
        let buf = &mut writer.buf;
        for (append, slot) in txn.appends.iter().zip(&plan.slots) {
            buf.clear();
            codec::encode_record(buf, slot.seq, &append.record)?;
            let key = codec::record_key(slot.topic_id, slot.partition, slot.offset);
            batch.put_cf(records, key, &buf[..]);
        }
        if buf.capacity() > 1 << 20 {
            // Don't keep a huge buffer alive after one outsized record.
            *buf = Vec::new();
        }
        let offsets = self.cf(CF_OFFSETS)?;
        for (c, id) in txn.offsets.iter().zip(offset_ids) {
            let key = codec::offset_key(&c.group, id, c.partition);
            batch.put_cf(offsets, key, c.next_offset.to_be_bytes());
        }
        self.write(batch)?;

        let positions = self.state.write()?.apply(plan);
        drop(writer);
        if !txn.appends.is_empty() {
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
        let (id, end) = {
            let state = self.state.read()?;
            let t = state.get(topic)?;
            (t.id, t.end_offset(partition)?)
        };
        if offset >= end || max_records == 0 {
            return Ok(Vec::new());
        }
        // Never read past the end offset published before this call: that is
        // the consistent view `end_offset` gives as well.
        let available = usize::try_from(end - offset).unwrap_or(usize::MAX);
        let limit = max_records.min(available);
        let mut read_opts = ReadOptions::default();
        read_opts.set_iterate_upper_bound(codec::record_key(id, partition, end).to_vec());
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_RECORDS)?, read_opts);
        it.seek(codec::record_key(id, partition, offset));
        let mut out = Vec::with_capacity(limit.min(4096));
        while out.len() < limit {
            let Some((key, value)) = it.item() else {
                break;
            };
            let Some((kid, kpart, koffset)) = codec::parse_record_key(key) else {
                return Err(LogError::Corrupt(
                    "a record key is not 16 bytes".to_string(),
                ));
            };
            if kid != id || kpart != partition {
                break;
            }
            let (seq, record) = codec::decode_record(value)?;
            out.push(ConsumedRecord {
                partition,
                offset: koffset,
                seq,
                record,
            });
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    fn end_offset(&self, topic: &str, partition: u32) -> Result<u64> {
        self.state.read()?.get(topic)?.end_offset(partition)
    }

    fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Result<Option<u64>> {
        let id = self.state.read()?.partition(topic, partition)?.id;
        let key = codec::offset_key(group, id, partition);
        match self.db.get_pinned_cf(self.cf(CF_OFFSETS)?, key)? {
            Some(v) => codec::decode_offset(&v).map(Some),
            None => Ok(None),
        }
    }

    fn delete_group(&self, group: &str) -> Result<()> {
        let _writer = self.writer.lock()?;
        let offsets = self.cf(CF_OFFSETS)?;
        let prefix = codec::group_prefix(group);
        let mut batch = WriteBatch::default();
        let mut it = self.db.raw_iterator_cf(offsets);
        it.seek(&prefix);
        while let Some(key) = it.key() {
            if !key.starts_with(&prefix) {
                break;
            }
            batch.delete_cf(offsets, key);
            it.next();
        }
        it.status()?;
        drop(it);
        if !batch.is_empty() {
            self.write(batch)?;
        }
        Ok(())
    }

    fn watch(&self) -> watch::Receiver<u64> {
        self.notify.subscribe()
    }
}

#[cfg(test)]
mod tests;
