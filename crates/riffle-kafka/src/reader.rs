//! Reading one partition with an assigned (never subscribed) consumer.
//!
//! One [`Reader`] is kept per `(topic, partition)`. A fetch that continues
//! where the previous one stopped just polls the consumer, which has been
//! prefetching in the background; any other offset re-assigns it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};
use rdkafka::ClientContext;
use rdkafka::{Offset, TopicPartitionList};
use riffle_log::{ConsumedRecord, Header, Record, Result};

use crate::error::{rd, KafkaLogError};

/// The longest single poll while reading.
const POLL_SLICE: Duration = Duration::from_millis(2);

/// The client context of readers: partition-EOF events are how a read learns it reached
/// the end, not errors, so they are not logged as such (rust-rdkafka's default context logs
/// every event it routes to `error` at the error level).
pub(crate) struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: RdError, reason: &str) {
        if matches!(
            error,
            RdError::PartitionEOF(_)
                | RdError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        ) {
            tracing::trace!(%reason, "partition end reached");
        } else {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// A consumer assigned to one partition, and where it stands.
pub(crate) struct Reader {
    consumer: BaseConsumer<ReaderContext>,
    topic: String,
    partition: u32,
    /// The offset the consumer delivers next, if it is assigned.
    next: Option<u64>,
    /// Where the consumer stood at its last partition-EOF event: its fetcher had reached the
    /// partition's readable end (the last stable offset, under `read_committed`) there.
    eof_at: Option<i64>,
}

impl Reader {
    /// A reader of `topic`/`partition` on `consumer` (not yet assigned).
    pub(crate) fn new(consumer: BaseConsumer<ReaderContext>, topic: &str, partition: u32) -> Self {
        Reader {
            consumer,
            topic: topic.to_string(),
            partition,
            next: None,
            eof_at: None,
        }
    }

    /// Reads up to `max` records from `offset`, given the partition's
    /// `read_committed` end offset `listed_end` as ListOffsets answered it
    /// (queried by the caller on another client: on this consumer's
    /// connection a ListOffsets request would queue behind the in-flight
    /// long-poll Fetch). Polls until `max` records, the end, or `timeout`.
    ///
    /// The end used is the larger of `listed_end` and the end this consumer's
    /// own fetch responses reported: Tansu answers ListOffsets with the base
    /// offset of the partition's last record batch plus one, not the offset
    /// after its last record, so a batch of 100 records reads as 1 record
    /// there, and a partition with an open transaction as empty. Until this
    /// consumer has had a fetch response for the partition, an apparently
    /// empty read polls for it (once per reader).
    ///
    /// A read that has nothing yet while records are known to be there (the consumer's
    /// position is short of the end) is not over at `timeout`: callers take an empty read for
    /// the end of the partition (a state restore would stop early), so it keeps polling up to
    /// `stall_limit` and then fails. Connection errors on the way are not fatal: librdkafka
    /// reconnects by itself.
    pub(crate) fn read(
        &mut self,
        offset: u64,
        max: usize,
        (timeout, stall_limit): (Duration, Duration),
        listed_end: u64,
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
            self.eof_at = None;
        }
        let mut out = Vec::new();
        let listed = listed_end as i64;
        let start = offset as i64;
        // Nothing there, as far as anyone knows.
        // Before this consumer's first fetch response, an apparently empty
        // read polls once: Tansu also answers ListOffsets with 0 for any
        // partition with an open transaction (Kafka answers the last stable
        // offset), which would hide every committed record, e.g. from a
        // state restore while a killed server's transaction is still open.
        let nothing_fetched = self.fetched_end().is_some_and(|fetched| fetched <= start);
        if listed <= start && nothing_fetched {
            return Ok(out);
        }
        let started = Instant::now();
        let deadline = started + timeout;
        let mut stalled = false;
        while out.len() < max {
            let mut left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // Only ListOffsets' end says records are there: under read_committed it is
                // the last stable offset, while a fetch response's end (`fetched_end`) is the
                // high watermark, which counts records of open transactions that are not
                // readable yet. (Tansu's ListOffsets answers low: a stall can go unnoticed
                // there, never be reported wrongly.)
                let end = listed;
                let at = self.at(start)?;
                if !out.is_empty() || at >= end {
                    break;
                }
                if !stalled {
                    stalled = true;
                    tracing::warn!(topic = %self.topic, partition = self.partition, offset, end, "records are slow to arrive; still waiting");
                }
                left = (started + stall_limit).saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.next = None;
                    return Err(KafkaLogError::Stalled {
                        topic: self.topic.clone(),
                        partition: self.partition,
                        offset,
                        end: end as u64,
                        waited: stall_limit,
                    }
                    .into());
                }
            }
            // Short slices: between them, the consumer's position (local, no
            // request) may show that only control records (transaction
            // markers) were left, which no message or EOF event reports
            // before the next long-poll Fetch returns.
            match self.consumer.poll(left.min(POLL_SLICE)) {
                None => {
                    // One position lookup per slice (it copies a partition list).
                    let position = self.position()?;
                    let at = position.max(self.next.map_or(start, |n| n as i64));
                    if self.eof_at == Some(at) && at_readable_end(at, listed) {
                        break;
                    }
                    if let Some(fetched) = self.fetched_end() {
                        if position >= listed.max(fetched) {
                            break;
                        }
                    }
                }
                Some(Ok(m)) => {
                    let o = m.offset();
                    if o < start {
                        continue;
                    }
                    self.next = Some(o as u64 + 1);
                    out.push(convert(&m, self.partition));
                    let fetched = self.fetched_end().unwrap_or(listed);
                    if o + 1 >= listed.max(fetched) {
                        break;
                    }
                }
                // An EOF event may be stale: one queued when an earlier read
                // stopped at its last record, before records produced since.
                // It ends the read only if the position says so.
                Some(Err(RdError::PartitionEOF(_))) => {
                    let end = listed.max(self.fetched_end().unwrap_or(listed));
                    let at = self.at(start)?;
                    self.eof_at = Some(at);
                    if at >= end || at_readable_end(at, listed) {
                        break;
                    }
                }
                Some(Err(RdError::MessageConsumption(code) | RdError::Global(code)))
                    if transient(code) =>
                {
                    tracing::warn!(topic = %self.topic, partition = self.partition, error = %code, "connection trouble while reading; librdkafka reconnects");
                }
                Some(Err(e)) => {
                    self.next = None;
                    return Err(rd(op())(e));
                }
            }
        }
        Ok(out)
    }

    /// The high watermark that this consumer's latest fetch response
    /// reported; `None` before the first response. librdkafka keeps it
    /// current while it prefetches. Under `read_committed` it can be beyond
    /// what is readable: it counts records of open transactions.
    pub(crate) fn fetched_end(&self) -> Option<i64> {
        // rust-rdkafka wraps only the querying variant (a broker round trip);
        // the cached one is librdkafka's rd_kafka_get_watermark_offsets.
        let topic = std::ffi::CString::new(self.topic.as_str()).ok()?;
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: the client pointer is valid while `self.consumer` lives; the
        // topic is a NUL-terminated string alive for the call; `low`/`high`
        // are valid out-pointers. The call only reads librdkafka's cache.
        let err = unsafe {
            rdkafka::bindings::rd_kafka_get_watermark_offsets(
                self.consumer.client().native_ptr(),
                topic.as_ptr(),
                self.partition as i32,
                &mut low,
                &mut high,
            )
        };
        (err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
            .then_some(high)
    }
}

impl Reader {
    /// Where the consumer stands: its position, or before the first message (position
    /// unknown, -1001) where it was assigned or last delivered.
    fn at(&self, start: i64) -> Result<i64> {
        Ok(self.position()?.max(self.next.map_or(start, |n| n as i64)))
    }

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

/// Whether a consumer at `at`, whose fetcher reached the readable end there (a partition-EOF
/// event), has read everything ListOffsets' `listed` end (the last stable offset) promises.
/// The high watermark of fetch responses is no use for this: it counts records of open
/// transactions, so a read would wait out its timeout whenever another producer has a
/// transaction open (every step of a query reading an exactly-once query's output). `listed`
/// 0 is not trusted: Tansu answers 0 for any partition with an open transaction (quirk 7),
/// where a queued EOF may be stale; those reads go by the high watermark as before.
fn at_readable_end(at: i64, listed: i64) -> bool {
    listed > 0 && at >= listed
}

/// Errors a consumer reports on the way that librdkafka recovers from by itself (it
/// reconnects and fetches again): reading goes on.
fn transient(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::Resolve
            | RDKafkaErrorCode::NetworkException
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::OperationTimedOut
    )
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
