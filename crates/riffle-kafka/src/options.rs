//! Configuration of [`KafkaLog`](crate::KafkaLog) and the librdkafka clients
//! it creates.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

/// Server properties passed to every client as they are: Java and librdkafka agree on them.
const CLIENT_KEYS: [&str; 9] = [
    "security.protocol",
    "ssl.endpoint.identification.algorithm",
    "sasl.mechanisms",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.key.password",
];

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
    /// `processing.guarantee=exactly_once_v2`: every [`Log::commit`](riffle_log::Log::commit)
    /// is one Kafka transaction. When false (`at_least_once`), appends go through the
    /// idempotent producer and offsets are committed after their acknowledgements.
    pub exactly_once: bool,
    /// Persistent queries share partitions with other servers of the same service by
    /// joining their consumer groups ([`Log::assigned_partitions`](riffle_log::Log::assigned_partitions)).
    /// Off, every partition is this process's (tests, benchmarks).
    pub group_membership: bool,
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
            exactly_once: true,
            group_membership: false,
        }
    }

    /// Applies ksqlDB-style server properties (`ksql-server.properties` names; every key is
    /// also accepted with a `ksql.streams.` prefix):
    ///
    /// * `processing.guarantee`: `exactly_once_v2` (or the older `exactly_once`,
    ///   `exactly_once_beta`) makes every commit a Kafka transaction; `at_least_once` does not.
    /// * `producer.X` / `consumer.X`: librdkafka property `X` for producers / consumers only.
    /// * `security.protocol`, `sasl.mechanism` (librdkafka's `sasl.mechanisms`),
    ///   `sasl.username`, `sasl.password`, `ssl.*` locations: for every client.
    /// * `librdkafka.X`: any librdkafka property `X`, for every client.
    /// * `transactional.id`: the transactional producer's id.
    ///
    /// Other keys are not Kafka client settings and are ignored here.
    pub fn apply_properties(
        &mut self,
        props: &BTreeMap<String, String>,
    ) -> Result<(), crate::KafkaLogError> {
        // Unprefixed keys win over their `ksql.streams.` aliases.
        let mut merged: BTreeMap<&str, &str> = BTreeMap::new();
        for (k, v) in props {
            if let Some(short) = k.strip_prefix("ksql.streams.") {
                merged.entry(short).or_insert(v);
            }
        }
        for (k, v) in props {
            if !k.starts_with("ksql.streams.") {
                merged.insert(k, v);
            }
        }
        for (key, value) in merged {
            let value = value.trim();
            if key == "processing.guarantee" {
                self.exactly_once = match value.to_ascii_lowercase().as_str() {
                    "exactly_once_v2" | "exactly_once" | "exactly_once_beta" => true,
                    "at_least_once" => false,
                    _ => {
                        return Err(crate::KafkaLogError::Property {
                            key: key.to_string(),
                            value: value.to_string(),
                            expected: "at_least_once or exactly_once_v2",
                        })
                    }
                };
            } else if key == "transactional.id" {
                self.transactional_id = value.to_string();
            } else if let Some(k) = key.strip_prefix("producer.") {
                self.producer.insert(k.to_string(), value.to_string());
            } else if let Some(k) = key.strip_prefix("consumer.") {
                self.consumer.insert(k.to_string(), value.to_string());
            } else if let Some(k) = key.strip_prefix("librdkafka.") {
                self.client.insert(k.to_string(), value.to_string());
            } else if key == "sasl.mechanism" {
                self.client
                    .insert("sasl.mechanisms".into(), value.to_string());
            } else if key == "sasl.jaas.config" {
                let (user, password) =
                    jaas_credentials(value).ok_or_else(|| crate::KafkaLogError::Property {
                        key: key.to_string(),
                        value: "(hidden)".to_string(),
                        expected:
                            "a PlainLoginModule or ScramLoginModule entry with username=\"..\" \
                                   password=\"..\" (or set sasl.username and sasl.password)",
                    })?;
                self.client.entry("sasl.username".into()).or_insert(user);
                self.client
                    .entry("sasl.password".into())
                    .or_insert(password);
            } else if let Some(pem_key) = java_store_replacement(key) {
                if !props.contains_key(pem_key) {
                    return Err(crate::KafkaLogError::Property {
                        key: key.to_string(),
                        value: value.to_string(),
                        expected: "PEM files instead of a Java key store: librdkafka reads \
                                   ssl.ca.location (CA certificates), ssl.certificate.location \
                                   and ssl.key.location",
                    });
                }
            } else if CLIENT_KEYS.contains(&key) {
                self.client.insert(key.to_string(), value.to_string());
            }
        }
        Ok(())
    }

    /// A consumer that joins `group` (subscribes) to learn its share of the partitions.
    /// Short session timeouts: a killed server's partitions move within seconds (and Tansu
    /// takes ~20 s per join with librdkafka's 45 s default).
    pub(crate) fn member_config(&self, group: &str) -> ClientConfig {
        let mut c = self.consumer_config(Some(group));
        c.set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false");
        for (k, v) in &self.consumer {
            c.set(k, v);
        }
        c
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
            // Kafka Streams' exactly-once default: a killed server's open transaction blocks
            // read_committed readers of its partitions until it times out.
            .set("transaction.timeout.ms", "10000");
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

/// The username and password of a Java `sasl.jaas.config` entry such as
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`
/// (ksqlDB configuration files for Confluent Cloud and SCRAM clusters carry them this way;
/// librdkafka takes them as `sasl.username`/`sasl.password`).
fn jaas_credentials(jaas: &str) -> Option<(String, String)> {
    if !(jaas.contains("PlainLoginModule") || jaas.contains("ScramLoginModule")) {
        return None;
    }
    let option = |name: &str| -> Option<String> {
        let mut rest = jaas;
        while let Some(at) = rest.find(name) {
            let before_ok = at == 0 || rest[..at].ends_with(|c: char| c.is_whitespace());
            let after = rest[at + name.len()..].trim_start();
            if let (true, Some(value)) = (before_ok, after.strip_prefix('=')) {
                let value = value.trim_start().strip_prefix('"')?;
                return value.find('"').map(|end| value[..end].to_string());
            }
            rest = &rest[at + name.len()..];
        }
        None
    };
    Some((option("username")?, option("password")?))
}

/// For a Java key-store property, the PEM property librdkafka needs instead.
fn java_store_replacement(key: &str) -> Option<&'static str> {
    match key {
        "ssl.truststore.location" => Some("ssl.ca.location"),
        "ssl.keystore.location" => Some("ssl.certificate.location"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ksql_properties_map_onto_clients() {
        let mut o = KafkaOptions::new("k:9092");
        o.apply_properties(&props(&[
            ("ksql.streams.processing.guarantee", "at_least_once"),
            ("ksql.streams.producer.linger.ms", "20"),
            ("producer.linger.ms", "10"),
            ("consumer.fetch.wait.max.ms", "5"),
            ("sasl.mechanism", "PLAIN"),
            ("librdkafka.socket.timeout.ms", "1000"),
            ("ksql.service.id", "x_"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!o.exactly_once);
        assert_eq!(o.producer["linger.ms"], "10");
        assert_eq!(o.consumer["fetch.wait.max.ms"], "5");
        assert_eq!(o.client["sasl.mechanisms"], "PLAIN");
        assert_eq!(o.client["socket.timeout.ms"], "1000");
        assert!(!o.client.contains_key("ksql.service.id"));
        o.apply_properties(&props(&[("processing.guarantee", "exactly_once_v2")]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.exactly_once);
        let err = o.apply_properties(&props(&[("processing.guarantee", "twice")]));
        assert!(err.is_err_and(|e| e.to_string().contains("at_least_once or exactly_once_v2")));
    }

    /// librdkafka validates security settings when a client is created (no broker needed): a
    /// build without OpenSSL rejects `SASL_SSL` and SCRAM, one without zstd rejects it.
    #[test]
    fn tls_scram_and_zstd_are_built_in() {
        use rdkafka::producer::BaseProducer;
        let mut o = KafkaOptions::new("127.0.0.1:1");
        o.apply_properties(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
            ("producer.compression.type", "zstd"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let created: Result<BaseProducer, _> = o.producer_config().create();
        if let Err(e) = created {
            panic!("librdkafka rejected a SASL_SSL/SCRAM/zstd producer: {e}");
        }
        let mut o = KafkaOptions::new("127.0.0.1:1");
        o.apply_properties(&props(&[("security.protocol", "SSL")]))
            .unwrap_or_else(|e| panic!("{e}"));
        let created: Result<rdkafka::consumer::BaseConsumer, _> = o.consumer_config(None).create();
        assert!(created.is_ok(), "librdkafka rejected an SSL consumer");
    }

    #[test]
    fn java_security_settings_are_translated_or_refused() {
        let mut o = KafkaOptions::new("k:9092");
        o.apply_properties(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"KEY\" password = \"se=cret\";",
            ),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.client["sasl.username"], "KEY");
        assert_eq!(o.client["sasl.password"], "se=cret");
        let bad = o.apply_properties(&props(&[(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
        )]));
        assert!(bad.is_err_and(|e| {
            let text = e.to_string();
            text.contains("PlainLoginModule") && !text.contains("OAuthBearer")
        }));
        let jks = o.apply_properties(&props(&[("ssl.truststore.location", "/x.jks")]));
        assert!(jks.is_err_and(|e| e.to_string().contains("ssl.ca.location")));
        o.apply_properties(&props(&[
            ("ssl.truststore.location", "/x.jks"),
            ("ssl.ca.location", "/ca.pem"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.client["ssl.ca.location"], "/ca.pem");
    }
}
