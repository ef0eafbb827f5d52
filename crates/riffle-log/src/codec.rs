//! Binary encodings of RocksDB keys and values used by
//! [`EmbeddedLog`](crate::EmbeddedLog).
//!
//! The encodings are hand-written rather than produced by a serialization
//! library because (1) that needs no new dependency, (2) the on-disk format is
//! then fixed by this file alone and cannot change under us when a library is
//! upgraded, and (3) it is fast: encoding is a handful of `extend_from_slice`
//! calls into a reused buffer, and decoding copies each stored record once
//! and hands out zero-copy [`Bytes`] slices of that copy.
//!
//! All integers are big-endian. Every value starts with a format version byte
//! so the format can evolve.
//!
//! Keys:
//! * `records`: `topic_id u32 | partition u32 | offset u64` (16 bytes), so
//!   the records of a partition are contiguous and ordered by offset.
//! * `offsets`: `len(group) u32 | group | topic_id u32 | partition u32`.
//! * `topics`: the topic name.
//!
//! Record value (version 1):
//! `1u8 | seq u64 | timestamp i64 | key | value | header_count u32 | headers`,
//! where `key`/`value` are `len u32 | bytes` with `len = u32::MAX` meaning
//! null, and a header is `len u32 | utf-8 name | value` (value as before).
//!
//! Topic value (version 1):
//! `1u8 | id u32 | partitions u32 | replicas u16 | config_count u32 |
//! (len u32 | key | len u32 | value)*`.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::{Header, LogError, Record, Result, TopicInfo};

const VERSION: u8 = 1;
const NULL: u32 = u32::MAX;

/// Length of a `records` key.
pub(crate) const RECORD_KEY_LEN: usize = 16;

/// Key of one record.
pub(crate) fn record_key(topic_id: u32, partition: u32, offset: u64) -> [u8; RECORD_KEY_LEN] {
    let mut k = [0u8; RECORD_KEY_LEN];
    k[..4].copy_from_slice(&topic_id.to_be_bytes());
    k[4..8].copy_from_slice(&partition.to_be_bytes());
    k[8..].copy_from_slice(&offset.to_be_bytes());
    k
}

/// Splits a `records` key into `(topic_id, partition, offset)`.
pub(crate) fn parse_record_key(key: &[u8]) -> Option<(u32, u32, u64)> {
    let key: &[u8; RECORD_KEY_LEN] = key.try_into().ok()?;
    let (id, rest) = key.split_at(4);
    let (partition, offset) = rest.split_at(4);
    Some((
        u32::from_be_bytes(id.try_into().ok()?),
        u32::from_be_bytes(partition.try_into().ok()?),
        u64::from_be_bytes(offset.try_into().ok()?),
    ))
}

/// Key of a committed offset.
pub(crate) fn offset_key(group: &str, topic_id: u32, partition: u32) -> Vec<u8> {
    let mut k = group_prefix(group);
    k.extend_from_slice(&topic_id.to_be_bytes());
    k.extend_from_slice(&partition.to_be_bytes());
    k
}

/// Common prefix of all offset keys of a group.
pub(crate) fn group_prefix(group: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + group.len() + 8);
    // Group ids longer than 4 GiB cannot be produced by any realistic caller;
    // saturating keeps the key well-formed for the shorter prefix instead of
    // panicking.
    k.extend_from_slice(&u32::try_from(group.len()).unwrap_or(u32::MAX).to_be_bytes());
    k.extend_from_slice(group.as_bytes());
    k
}

/// The topic id in an offset key.
pub(crate) fn offset_key_topic(key: &[u8]) -> Option<u32> {
    let len = u32::from_be_bytes(key.get(..4)?.try_into().ok()?) as usize;
    let start = 4usize.checked_add(len)?;
    let id = key.get(start..start.checked_add(4)?)?;
    Some(u32::from_be_bytes(id.try_into().ok()?))
}

/// Decodes a stored committed offset.
pub(crate) fn decode_offset(value: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| LogError::Corrupt(format!("committed offset has {} bytes", value.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

fn put_len(buf: &mut Vec<u8>, len: usize) -> Result<()> {
    match u32::try_from(len) {
        Ok(n) if n != NULL => {
            buf.extend_from_slice(&n.to_be_bytes());
            Ok(())
        }
        _ => Err(LogError::RecordTooLarge { size: len }),
    }
}

fn put_bytes(buf: &mut Vec<u8>, data: Option<&[u8]>) -> Result<()> {
    match data {
        None => buf.extend_from_slice(&NULL.to_be_bytes()),
        Some(d) => {
            put_len(buf, d.len())?;
            buf.extend_from_slice(d);
        }
    }
    Ok(())
}

/// Upper bound of the encoded size of a record, for sizing write batches.
pub(crate) fn encoded_len_hint(record: &Record) -> usize {
    let field = |b: &Option<Bytes>| 4 + b.as_ref().map_or(0, Bytes::len);
    1 + 8
        + 8
        + field(&record.key)
        + field(&record.value)
        + 4
        + record
            .headers
            .iter()
            .map(|h| 4 + h.key.len() + field(&h.value))
            .sum::<usize>()
}

/// Appends the encoding of `record` with sequence number `seq` to `buf`.
pub(crate) fn encode_record(buf: &mut Vec<u8>, seq: u64, record: &Record) -> Result<()> {
    buf.push(VERSION);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&record.timestamp.to_be_bytes());
    put_bytes(buf, record.key.as_deref())?;
    put_bytes(buf, record.value.as_deref())?;
    put_len(buf, record.headers.len())?;
    for h in &record.headers {
        put_bytes(buf, Some(h.key.as_bytes()))?;
        put_bytes(buf, h.value.as_deref())?;
    }
    Ok(())
}

/// Reads the sequence number of an encoded record without decoding the rest.
pub(crate) fn decode_seq(value: &[u8]) -> Result<u64> {
    match value {
        [VERSION, rest @ ..] if rest.len() >= 8 => {
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&rest[..8]);
            Ok(u64::from_be_bytes(seq))
        }
        [v, ..] if *v != VERSION => Err(unknown_version("record", *v)),
        _ => Err(LogError::Corrupt("record value is truncated".to_string())),
    }
}

fn unknown_version(what: &str, v: u8) -> LogError {
    LogError::Corrupt(format!(
        "{what} is stored in format version {v}, which this version of Riffle cannot read \
         (it was probably written by a newer Riffle)"
    ))
}

/// Sequential reader over an encoded value held in one [`Bytes`].
struct Reader {
    data: Bytes,
    pos: usize,
    what: &'static str,
}

impl Reader {
    fn new(data: Bytes, what: &'static str) -> Result<Self> {
        let mut r = Reader { data, pos: 0, what };
        let v = r.take(1)?;
        match v.first() {
            Some(&VERSION) => Ok(r),
            Some(&other) => Err(unknown_version(what, other)),
            None => Err(r.truncated()),
        }
    }

    fn truncated(&self) -> LogError {
        LogError::Corrupt(format!(
            "{} value is truncated at byte {}",
            self.what, self.pos
        ))
    }

    fn take(&mut self, n: usize) -> Result<Bytes> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| self.truncated())?;
        let out = self.data.slice(self.pos..end);
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self
            .pos
            .checked_add(N)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| self.truncated())?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    fn bytes(&mut self) -> Result<Option<Bytes>> {
        match self.u32()? {
            NULL => Ok(None),
            n => self.take(n as usize).map(Some),
        }
    }

    fn string(&mut self) -> Result<String> {
        let raw = self
            .bytes()?
            .ok_or_else(|| LogError::Corrupt(format!("{} value has a null string", self.what)))?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| LogError::Corrupt(format!("{} value has invalid UTF-8", self.what)))
    }

    fn finish(&self) -> Result<()> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err(LogError::Corrupt(format!(
                "{} value has {} unexpected trailing bytes",
                self.what,
                self.data.len() - self.pos
            )))
        }
    }
}

/// Decodes a record value into `(seq, record)`.
pub(crate) fn decode_record(value: &[u8]) -> Result<(u64, Record)> {
    let mut r = Reader::new(Bytes::copy_from_slice(value), "record")?;
    let seq = r.u64()?;
    let timestamp = r.i64()?;
    let key = r.bytes()?;
    let value = r.bytes()?;
    let count = r.u32()? as usize;
    // Each header needs at least 8 bytes; don't trust `count` for allocation.
    let mut headers = Vec::with_capacity(count.min(value_len_bound(&r) / 8));
    for _ in 0..count {
        let key = r.string()?;
        let value = r.bytes()?;
        headers.push(Header { key, value });
    }
    r.finish()?;
    Ok((
        seq,
        Record {
            key,
            value,
            timestamp,
            headers,
        },
    ))
}

fn value_len_bound(r: &Reader) -> usize {
    r.data.len().saturating_sub(r.pos)
}

/// Encodes topic metadata with its id.
pub(crate) fn encode_topic(id: u32, info: &TopicInfo) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(32);
    buf.push(VERSION);
    buf.extend_from_slice(&id.to_be_bytes());
    buf.extend_from_slice(&info.partitions.to_be_bytes());
    buf.extend_from_slice(&info.replicas.to_be_bytes());
    put_len(&mut buf, info.config.len())?;
    for (k, v) in &info.config {
        put_bytes(&mut buf, Some(k.as_bytes()))?;
        put_bytes(&mut buf, Some(v.as_bytes()))?;
    }
    Ok(buf)
}

/// Decodes topic metadata stored under `name` into `(id, info)`.
pub(crate) fn decode_topic(name: &str, value: &[u8]) -> Result<(u32, TopicInfo)> {
    let mut r = Reader::new(Bytes::copy_from_slice(value), "topic metadata")?;
    let id = r.u32()?;
    let partitions = r.u32()?;
    if partitions == 0 || partitions > crate::MAX_PARTITIONS {
        return Err(LogError::Corrupt(format!(
            "topic '{name}' is stored with {partitions} partitions"
        )));
    }
    let replicas = r.u16()?;
    let count = r.u32()?;
    let mut config = BTreeMap::new();
    for _ in 0..count {
        let k = r.string()?;
        let v = r.string()?;
        config.insert(k, v);
    }
    r.finish()?;
    Ok((
        id,
        TopicInfo {
            name: name.to_string(),
            partitions,
            replicas,
            config,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            key: Some(Bytes::from_static(b"k")),
            value: None,
            timestamp: -5,
            headers: vec![
                Header {
                    key: "a".into(),
                    value: Some(Bytes::from_static(b"\x00\xff")),
                },
                Header {
                    key: String::new(),
                    value: None,
                },
            ],
        }
    }

    #[test]
    fn record_round_trip() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 42, &sample()).unwrap();
        assert!(buf.len() <= encoded_len_hint(&sample()));
        assert_eq!(decode_seq(&buf).unwrap(), 42);
        assert_eq!(decode_record(&buf).unwrap(), (42, sample()));

        let empty = Record::new(Some(Bytes::new()), Some(Bytes::new()), 0);
        buf.clear();
        encode_record(&mut buf, 0, &empty).unwrap();
        assert_eq!(decode_record(&buf).unwrap(), (0, empty));
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 1, &sample()).unwrap();
        for len in 0..buf.len() {
            assert!(decode_record(&buf[..len]).is_err(), "truncated at {len}");
        }
        let mut long = buf.clone();
        long.push(0);
        assert!(decode_record(&long).is_err());
        let mut future = buf.clone();
        future[0] = 9;
        assert!(matches!(decode_record(&future), Err(LogError::Corrupt(_))));
        assert!(decode_seq(&future).is_err());
        // A huge header count must not allocate or panic.
        let mut lying = Vec::new();
        encode_record(&mut lying, 1, &Record::default()).unwrap();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_record(&lying).is_err());
    }

    #[test]
    fn keys_sort_by_topic_partition_offset() {
        let a = record_key(1, 0, u64::MAX);
        let b = record_key(1, 1, 0);
        let c = record_key(2, 0, 0);
        assert!(a < b && b < c);
        assert_eq!(parse_record_key(&b), Some((1, 1, 0)));
        assert_eq!(parse_record_key(&b[..15]), None);
        let k = offset_key("g", 7, 3);
        assert!(k.starts_with(&group_prefix("g")));
        assert!(!k.starts_with(&group_prefix("g2")));
        assert_eq!(offset_key_topic(&k), Some(7));
        assert_eq!(offset_key_topic(&k[..5]), None);
    }

    #[test]
    fn topic_round_trip() {
        let info = TopicInfo {
            name: "t".into(),
            partitions: 3,
            replicas: 1,
            config: [("cleanup.policy".to_string(), "compact".to_string())].into(),
        };
        let enc = encode_topic(9, &info).unwrap();
        assert_eq!(decode_topic("t", &enc).unwrap(), (9, info));
        assert!(decode_topic("t", &enc[..enc.len() - 1]).is_err());
    }
}
