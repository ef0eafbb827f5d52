//! Configuration of [`KafkaLog`](crate::KafkaLog) and the librdkafka clients
//! it creates.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

/// How to reach and use a Kafka cluster.
///
/// Every map is applied after the defaults, so any librdkafka property can be
/// overridden.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub bootstrap_servers: String,
    /// Properties for every client (producer, consumers, admin client).
    pub client: BTreeMap<String, String>,
    /// Properties for producers only (both the plain and the transactional one).
    pub producer: BTreeMap<String, String>,
    /// Properties for consumers only.
    pub consumer: BTreeMap<String, String>,
    /// `transactional.id` of the producer used by [`Log::commit`](riffle_log::Log::commit).
    /// It must be stable across restarts of the same worker so that a restarted
    /// instance fences its zombie predecessor.
    pub transactional_id: String,
    /// Replication factor of new topics; -1 is the broker's default.
    pub replication_factor: i32,
    /// Timeout of one request (admin operations, transaction steps, metadata).
    pub timeout: Duration,
    /// The longest [`Log::fetch`](riffle_log::Log::fetch) waits for records that
    /// the broker reported as present.
    pub fetch_timeout: Duration,
    /// How often the background watcher polls end offsets.
    pub watch_interval: Duration,
}

impl KafkaOptions {
    /// Defaults for a cluster at `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaOptions {
            bootstrap_servers: bootstrap_servers.into(),
            client: BTreeMap::new(),
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
            transactional_id: format!("riffle-{}", std::process::id()),
            replication_factor: -1,
            timeout: Duration::from_secs(30),
            fetch_timeout: Duration::from_millis(1000),
            watch_interval: Duration::from_millis(100),
        }
    }

    /// Properties shared by every client.
    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", "riffle");
        for (k, v) in &self.client {
            c.set(k, v);
        }
        c
    }

    /// The admin client's configuration.
    pub(crate) fn admin_config(&self) -> ClientConfig {
        self.base()
    }

    /// The plain producer: idempotent, `acks=all`, lz4, never creates topics.
    pub(crate) fn producer_config(&self) -> ClientConfig {
        let mut c = self.base();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .set("batch.size", "1000000")
            .set("allow.auto.create.topics", "false");
        for (k, v) in &self.producer {
            c.set(k, v);
        }
        c
    }

    /// The transactional producer behind [`Log::commit`](riffle_log::Log::commit).
    pub(crate) fn transactional_config(&self) -> ClientConfig {
        let mut c = self.producer_config();
        c.set("transactional.id", &self.transactional_id)
            .set("transaction.timeout.ms", "60000");
        c
    }

    /// A consumer that never joins a group: assignment only, `read_committed`,
    /// partition EOF events on, no automatic commits. With `group` set, the
    /// consumer carries that `group.id` (for committed offsets and
    /// `send_offsets_to_transaction`) but still never subscribes.
    pub(crate) fn consumer_config(&self, group: Option<&str>) -> ClientConfig {
        let mut c = self.base();
        c.set("group.id", group.unwrap_or("riffle-reader"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "error")
            .set("fetch.wait.max.ms", "50")
            .set("allow.auto.create.topics", "false");
        for (k, v) in &self.consumer {
            c.set(k, v);
        }
        c
    }
}
