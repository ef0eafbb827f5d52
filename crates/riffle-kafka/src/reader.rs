//! Reading one partition with an assigned (never subscribed) consumer.
//!
//! One [`Reader`] is kept per `(topic, partition)`. A fetch that continues
//! where the previous one stopped just polls the consumer, which has been
//! prefetching in the background; any other offset re-assigns it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use riffle_log::{ConsumedRecord, Header, Record, Result};

use crate::error::rd;

/// The longest single poll while reading.
const POLL_SLICE: Duration = Duration::from_millis(2);

/// A consumer assigned to one partition, and where it stands.
pub(crate) struct Reader {
    consumer: BaseConsumer,
    topic: String,
    partition: u32,
    /// The offset the consumer delivers next, if it is assigned.
    next: Option<u64>,
}

impl Reader {
    /// A reader of `topic`/`partition` on `consumer` (not yet assigned).
    pub(crate) fn new(consumer: BaseConsumer, topic: &str, partition: u32) -> Self {
        Reader {
            consumer,
            topic: topic.to_string(),
            partition,
            next: None,
        }
    }

    /// Reads up to `max` records from `offset`, given the partition's
    /// `read_committed` end offset `end` (queried by the caller on another
    /// client: on this consumer's connection a ListOffsets request would queue
    /// behind the in-flight long-poll Fetch). Returns at once when `offset` is
    /// at or past `end`; otherwise polls until `max` records, the end, or
    /// `timeout`.
    pub(crate) fn read(
        &mut self,
        offset: u64,
        max: usize,
        timeout: Duration,
        end: u64,
    ) -> Result<Vec<ConsumedRecord>> {
        let op = || format!("fetch from '{}' partition {}", self.topic, self.partition);
        if self.next != Some(offset) {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(
                &self.topic,
                self.partition as i32,
                Offset::Offset(offset as i64),
            )
            .map_err(rd(op()))?;
            self.consumer.assign(&tpl).map_err(rd(op()))?;
            self.next = Some(offset);
        }
        let mut out = Vec::new();
        if end <= offset {
            return Ok(out);
        }
        let high = end as i64;
        let deadline = Instant::now() + timeout;
        while out.len() < max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // Short slices: between them, the consumer's position (local, no
            // request) may show that only control records (transaction
            // markers) were left, which no message or EOF event reports
            // before the next long-poll Fetch returns.
            match self.consumer.poll(left.min(POLL_SLICE)) {
                None => {
                    if self.position()? >= high {
                        break;
                    }
                }
                Some(Ok(m)) => {
                    let o = m.offset();
                    if o < offset as i64 {
                        continue;
                    }
                    self.next = Some(o as u64 + 1);
                    out.push(convert(&m, self.partition));
                    if o + 1 >= high {
                        break;
                    }
                }
                // An EOF event may be stale: one queued when an earlier read
                // stopped at its last record, before records produced since.
                // It ends the read only if the position says so.
                Some(Err(RdError::PartitionEOF(_))) => {
                    if self.position()? >= high {
                        break;
                    }
                }
                Some(Err(e)) => {
                    self.next = None;
                    return Err(rd(op())(e));
                }
            }
        }
        Ok(out)
    }
}

impl Reader {
    /// The consumer's fetch position in the partition (-1 if unknown).
    fn position(&self) -> Result<i64> {
        let tpl = self
            .consumer
            .position()
            .map_err(rd(format!("position in '{}'", self.topic)))?;
        Ok(tpl
            .find_partition(&self.topic, self.partition as i32)
            .and_then(|e| e.offset().to_raw())
            .unwrap_or(-1))
    }
}

/// A consumed Kafka message as a [`ConsumedRecord`].
///
/// Kafka has no topic-wide append order, so `seq` is the offset: sorting by it
/// keeps each partition's order but interleaves partitions arbitrarily.
fn convert(m: &BorrowedMessage<'_>, partition: u32) -> ConsumedRecord {
    let timestamp = match m.timestamp() {
        Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => t,
        // A record stored with timestamp -1 reads back as "not available".
        Timestamp::NotAvailable => -1,
    };
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| Header {
                    key: h.key.to_string(),
                    value: h.value.map(Bytes::copy_from_slice),
                })
                .collect()
        })
        .unwrap_or_default();
    let offset = m.offset().max(0) as u64;
    ConsumedRecord {
        partition,
        offset,
        seq: offset,
        record: Record {
            key: m.key().map(Bytes::copy_from_slice),
            value: m.payload().map(Bytes::copy_from_slice),
            timestamp,
            headers,
        },
    }
}
