//! Which log the server runs on: the embedded one in the data directory, or a Kafka cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use riffle_engine::{Engine, EngineConfig};
use riffle_kafka::{KafkaLog, KafkaOptions};
use riffle_log::Log;

/// The Kafka cluster to use instead of the embedded log, from `--bootstrap-servers` or
/// `bootstrap.servers` (also `ksql.streams.bootstrap.servers`) in the config file. `None`
/// means the embedded log. Client settings come from the same properties.
pub fn kafka_options(
    flag: Option<&str>,
    file: &BTreeMap<String, String>,
    service_id: &str,
    listener: (&str, u16),
) -> anyhow::Result<Option<KafkaOptions>> {
    let servers = flag
        .map(str::to_string)
        .or_else(|| file.get("bootstrap.servers").cloned())
        .or_else(|| file.get("ksql.streams.bootstrap.servers").cloned());
    let Some(servers) = servers.map(|s| s.trim().to_string()) else {
        return Ok(None);
    };
    if servers.is_empty() {
        anyhow::bail!("bootstrap.servers is empty: give HOST:PORT[,HOST:PORT...]");
    }
    let mut opts = KafkaOptions::new(servers);
    // ksqlDB's default guarantee; exactly_once_v2 must be asked for.
    opts.exactly_once = false;
    // Servers with the same service id share each query's partitions.
    opts.group_membership = true;
    // Stable across restarts of this server, so that a restarted server fences the
    // transactions its killed predecessor left open; distinct per listener, so that two
    // servers of one service do not fence each other.
    opts.transactional_id = format!("{service_id}riffle-{}-{}", listener.0, listener.1);
    opts.apply_properties(file)
        .context("invalid Kafka setting in the server properties")?;
    Ok(Some(opts))
}

/// Opens the engine on the chosen log.
pub fn open_engine(config: EngineConfig, kafka: Option<KafkaOptions>) -> anyhow::Result<Engine> {
    let Some(opts) = kafka else {
        return Engine::open(config).context("cannot open the engine");
    };
    let servers = opts.bootstrap_servers.clone();
    let guarantee = if opts.exactly_once {
        "exactly_once_v2"
    } else {
        "at_least_once"
    };
    let kafka = KafkaLog::connect(opts)
        .with_context(|| format!("cannot set up Kafka clients for {servers}"))?;
    // Fail fast, with a clear message, when no broker answers.
    kafka
        .ping(Duration::from_secs(10))
        .with_context(|| format!("cannot reach Kafka at {servers}"))?;
    tracing::info!(bootstrap.servers = %servers, processing.guarantee = guarantee, "using Kafka");
    let log: Arc<dyn Log> = Arc::new(kafka);
    Engine::with_log(log, config).context("cannot open the engine on Kafka")
}
