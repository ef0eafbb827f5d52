//! `riffle bench`: measures a persistent query over JSON payments on the embedded log, end to
//! end: records are appended to the input topic first, then the query is timed while it
//! decodes, evaluates, encodes and commits them to the sink topic. Two queries: a stateless
//! filter + projection (CSAS), and the fraud-velocity windowed count per card (CTAS). With
//! [`BenchOptions::kafka`] the same runs through a Kafka cluster.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use riffle_engine::{Engine, EngineConfig, Properties};
use riffle_log::{Append, Record, Transaction};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Engine failure.
    #[error("{0}")]
    Engine(String),
    /// Temporary directory failure.
    #[error("cannot create a temporary data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Records to push through the query.
    pub records: u64,
    /// Partitions of the input topic.
    pub partitions: u32,
    /// Keep data in memory instead of the embedded RocksDB log.
    pub in_memory: bool,
    /// Which query to run.
    pub query: BenchQuery,
    /// Distinct card numbers (keys) in the input.
    pub keys: u64,
    /// Concurrent clients of the pull-query benchmark.
    pub clients: usize,
    /// Run on this Kafka cluster instead of the embedded log.
    pub kafka: Option<riffle_kafka::KafkaOptions>,
}

/// The query a benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchQuery {
    /// `CREATE STREAM … AS SELECT` with a WHERE clause and expressions.
    Filter,
    /// `CREATE TABLE … AS SELECT card, COUNT(*), SUM(amount) … WINDOW TUMBLING (1 minute)
    /// GROUP BY card HAVING COUNT(*) >= 5`: a stateful windowed aggregation.
    Velocity,
    /// Key lookups (`SELECT * FROM BALANCES WHERE CARD = '…'`) against a materialized
    /// `CREATE TABLE BALANCES AS SELECT CARD, COUNT(*), SUM(AMOUNT) … GROUP BY CARD`, from
    /// concurrent clients; the aggregation's throughput is reported too.
    Pull,
}

impl BenchQuery {
    /// The statement that creates the query.
    fn statement(self) -> &'static str {
        match self {
            BenchQuery::Filter => "CREATE STREAM LARGE_PAYMENTS AS SELECT CARD, ID, UCASE(MERCHANT) AS MERCHANT, AMOUNT * 100 AS CENTS \
                 FROM PAYMENTS WHERE AMOUNT > 100 AND COUNTRY = 'US';",
            BenchQuery::Velocity => "CREATE TABLE VELOCITY AS SELECT CARD, COUNT(*) AS TXNS, SUM(AMOUNT) AS SPENT \
                 FROM PAYMENTS WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY CARD HAVING COUNT(*) >= 5;",
            BenchQuery::Pull => "CREATE TABLE BALANCES AS SELECT CARD, COUNT(*) AS TXNS, SUM(AMOUNT) AS SPENT \
                 FROM PAYMENTS GROUP BY CARD;",
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Records written to the input topic.
    pub records: u64,
    /// Bytes of input values.
    pub input_bytes: u64,
    /// Time to append the input.
    pub ingest: Duration,
    /// Time for the query to process all input.
    pub process: Duration,
    /// Records the query wrote (those passing the filter).
    pub output_records: u64,
    /// Pull-query figures, for [`BenchQuery::Pull`].
    pub pull: Option<PullReport>,
}

/// Throughput and latency of pull queries.
#[derive(Debug, Clone)]
pub struct PullReport {
    /// Concurrent clients.
    pub clients: usize,
    /// Queries answered.
    pub queries: u64,
    /// Wall time for all of them.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl BenchReport {
    /// Query throughput in records per second.
    pub fn records_per_sec(&self) -> f64 {
        self.records as f64 / self.process.as_secs_f64().max(1e-9)
    }
    /// Query throughput in input megabytes per second.
    pub fn mb_per_sec(&self) -> f64 {
        self.input_bytes as f64 / 1e6 / self.process.as_secs_f64().max(1e-9)
    }
}

fn err<E: std::fmt::Display>(e: E) -> BenchError {
    BenchError::Engine(e.to_string())
}

/// Runs the benchmark for `opts.query`.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let dir = tempfile::tempdir()?;
    let engine = match &opts.kafka {
        Some(kafka) => {
            let log = riffle_kafka::KafkaLog::connect(kafka.clone()).map_err(err)?;
            Engine::with_log(std::sync::Arc::new(log), EngineConfig::default()).map_err(err)?
        }
        None => Engine::open(EngineConfig {
            data_dir: (!opts.in_memory).then(|| dir.path().to_path_buf()),
            ..EngineConfig::default()
        })
        .map_err(err)?,
    };
    let mut props = Properties::new();
    props.insert("auto.offset.reset".into(), "earliest".into());
    // ksqlDB's default record cache: aggregations emit a key's last update per commit.
    props.insert("cache.max.bytes.buffering".into(), "10485760".into());
    let vars = HashMap::new();
    engine
        .execute(
            &format!(
                "CREATE STREAM PAYMENTS (CARD STRING KEY, ID BIGINT, MERCHANT STRING, AMOUNT DOUBLE, COUNTRY STRING) \
                 WITH (KAFKA_TOPIC='payments', VALUE_FORMAT='JSON', PARTITIONS={});",
                opts.partitions
            ),
            &props,
            &vars,
        )
        .map_err(err)?;

    let log = engine.log().clone();
    let start = Instant::now();
    let mut input_bytes = 0u64;
    let mut txn = Transaction::default();
    for i in 0..opts.records {
        let value = format!(
            r#"{{"ID":{i},"MERCHANT":"merchant-{}","AMOUNT":{}.{:02},"COUNTRY":"{}"}}"#,
            i % 1000,
            i % 500,
            i % 100,
            if i % 3 == 0 { "NL" } else { "US" }
        );
        input_bytes += value.len() as u64;
        txn.appends.push(Append {
            topic: "payments".into(),
            partition: None,
            record: Record {
                key: Some(Bytes::from(format!("card-{}", i % opts.keys.max(1)))),
                value: Some(Bytes::from(value)),
                // About 20 payments per second of event time.
                timestamp: i as i64 * 50,
                headers: vec![],
            },
        });
        if txn.appends.len() == 10_000 {
            log.commit(std::mem::take(&mut txn)).map_err(err)?;
        }
    }
    if !txn.appends.is_empty() {
        log.commit(txn).map_err(err)?;
    }
    let ingest = start.elapsed();

    let statement = opts.query.statement();
    engine.execute(statement, &props, &vars).map_err(err)?;
    let start = Instant::now();
    engine.run_until_idle().map_err(err)?;
    let process = start.elapsed();
    // The query's own counter: on Kafka, end offsets also count transaction markers.
    let output_records = engine.query_metrics().iter().map(|m| m.produced).sum();
    let pull = match opts.query {
        BenchQuery::Pull => Some(run_pull(&engine, opts)?),
        _ => None,
    };
    Ok(BenchReport {
        records: opts.records,
        input_bytes,
        ingest,
        process,
        output_records,
        pull,
    })
}

/// Each client looks keys up one after another for a fixed number of queries; latency is the
/// time until the whole answer has been received.
fn run_pull(engine: &Engine, opts: &BenchOptions) -> Result<PullReport, BenchError> {
    const PER_CLIENT: u64 = 500;
    let clients = opts.clients.max(1);
    let start = Instant::now();
    let results: Vec<Result<Vec<Duration>, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                scope.spawn(move || {
                    let props = Properties::new();
                    let vars = HashMap::new();
                    let mut latencies = Vec::with_capacity(PER_CLIENT as usize);
                    for q in 0..PER_CLIENT {
                        let card = (c as u64 * 7919 + q * 104_729) % opts.keys.max(1);
                        let sql = format!("SELECT * FROM BALANCES WHERE CARD = 'card-{card}';");
                        let t = Instant::now();
                        let mut query = engine.push_query(&sql, &props, &vars).map_err(err)?;
                        let mut rows = 0;
                        while let Ok(m) = query.rows.try_recv() {
                            if matches!(m, riffle_engine::PushMessage::Row(_)) {
                                rows += 1;
                            }
                        }
                        latencies.push(t.elapsed());
                        if rows != 1 {
                            return Err(BenchError::Engine(format!(
                                "pull query for card-{card} returned {rows} rows"
                            )));
                        }
                    }
                    Ok(latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BenchError::Engine("a client thread panicked".into())))
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    all.sort();
    let pick = |q: f64| all[((all.len() as f64 - 1.0) * q).round() as usize];
    Ok(PullReport {
        clients,
        queries: all.len() as u64,
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}
