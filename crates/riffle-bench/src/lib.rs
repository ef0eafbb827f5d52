//! `riffle bench`: measures a persistent query over JSON payments on the embedded log, end to
//! end: records are appended to the input topic first, then the query is timed while it
//! decodes, evaluates, encodes and commits them to the sink topic. Two queries: a stateless
//! filter + projection (CSAS), and the fraud-velocity windowed count per card (CTAS).

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
}

/// The query a benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchQuery {
    /// `CREATE STREAM … AS SELECT` with a WHERE clause and expressions.
    Filter,
    /// `CREATE TABLE … AS SELECT card, COUNT(*), SUM(amount) … WINDOW TUMBLING (1 minute)
    /// GROUP BY card HAVING COUNT(*) >= 5`: a stateful windowed aggregation.
    Velocity,
}

impl BenchQuery {
    /// The statement and its sink.
    fn statement(self) -> (&'static str, &'static str) {
        match self {
            BenchQuery::Filter => (
                "CREATE STREAM LARGE_PAYMENTS AS SELECT CARD, ID, UCASE(MERCHANT) AS MERCHANT, AMOUNT * 100 AS CENTS \
                 FROM PAYMENTS WHERE AMOUNT > 100 AND COUNTRY = 'US';",
                "LARGE_PAYMENTS",
            ),
            BenchQuery::Velocity => (
                "CREATE TABLE VELOCITY AS SELECT CARD, COUNT(*) AS TXNS, SUM(AMOUNT) AS SPENT \
                 FROM PAYMENTS WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY CARD HAVING COUNT(*) >= 5;",
                "VELOCITY",
            ),
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
    let engine = Engine::open(EngineConfig {
        data_dir: (!opts.in_memory).then(|| dir.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .map_err(err)?;
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
                // 100 cards: each pays every 5 s of event time, 12 times a minute.
                key: Some(Bytes::from(format!("card-{}", i % 100))),
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

    let (statement, sink) = opts.query.statement();
    engine.execute(statement, &props, &vars).map_err(err)?;
    let start = Instant::now();
    engine.run_until_idle().map_err(err)?;
    let process = start.elapsed();
    let mut output_records = 0;
    if let Some(t) = log.topic(sink) {
        for p in 0..t.partitions {
            output_records += log.end_offset(sink, p).map_err(err)?;
        }
    }
    Ok(BenchReport {
        records: opts.records,
        input_bytes,
        ingest,
        process,
        output_records,
    })
}
