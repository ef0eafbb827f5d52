//! The `riffle` binary: `riffle server`, `riffle test`, `riffle shell`, `riffle bench`.

mod backend;
mod headless;
mod properties;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use riffle_engine::EngineConfig;

/// Riffle: a ksqlDB-compatible streaming SQL engine.
#[derive(Debug, Parser)]
#[command(name = "riffle", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a server speaking ksqlDB's REST API (HTTP/1.1 and HTTP/2 on one port), with an
    /// embedded log stored in the data directory.
    Server(ServerArgs),
    /// Run ksqlDB query-translation test (QTT) files and report the results.
    Test(TestArgs),
    /// SQL shell, a client of a server's REST API: interactive on a terminal, or running
    /// `-f FILE` or statements piped on stdin (exit status 1 when a statement fails).
    Shell(ShellArgs),
    /// Throughput benchmark: a CSAS filter+projection over JSON records on the embedded log.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Address to listen on, as ksqlDB's `listeners` setting: http://HOST:PORT. Overrides
    /// `listeners` from --config. Only the first of a comma-separated list is used; https is
    /// not supported yet. [default: http://0.0.0.0:8088]
    #[arg(long, value_name = "URL")]
    listeners: Option<String>,

    /// Directory holding the embedded log (topics, offsets, the command topic). Created if
    /// missing; streams, tables and persistent queries survive restarts through it.
    #[arg(long, value_name = "DIR", default_value = "./riffle-data")]
    data_dir: PathBuf,

    /// ksqlDB server properties file (Java properties syntax). `listeners` sets the address,
    /// `ksql.service.id` the service id; every other key becomes a server property applied to
    /// every statement (`ksql.streams.X` is also applied as `X`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Headless mode, as ksqlDB's: run the statements of FILE at every start (SET, UNSET,
    /// DEFINE, CREATE STREAM/TABLE, CSAS, CTAS, INSERT INTO ... SELECT only) and refuse
    /// statements over the REST API. Overrides `ksql.queries.file` from --config.
    #[arg(long, value_name = "FILE")]
    queries_file: Option<PathBuf>,

    /// Kafka brokers to use instead of the embedded log (overrides `bootstrap.servers` from
    /// --config). Topics, consumer groups, internal topics and the command topic then live in
    /// Kafka; client settings come from the --config properties.
    #[arg(long, value_name = "HOST:PORT,...")]
    bootstrap_servers: Option<String>,
}

#[derive(Debug, Args)]
struct ShellArgs {
    /// Server URL.
    #[arg(default_value = "http://localhost:8088", value_name = "URL")]
    url: String,
    /// Run the statements of FILE and exit (stops at the first failing statement).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Output format: TABULAR or JSON (the OUTPUT command changes it later).
    #[arg(long, value_name = "FORMAT", default_value = "TABULAR", value_parser = ["TABULAR", "JSON", "tabular", "json"])]
    output: String,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Records to push through the query.
    #[arg(long, default_value_t = 5_000_000)]
    records: u64,
    /// Partitions of the input topic.
    #[arg(long, default_value_t = 1)]
    partitions: u32,
    /// Use the in-memory log instead of the embedded RocksDB log.
    #[arg(long)]
    in_memory: bool,
    /// The query: `filter` (CSAS with WHERE and expressions), `velocity` (CTAS counting
    /// payments per card in one-minute tumbling windows, HAVING COUNT(*) >= 5) or `pull` (a
    /// CTAS per card, then key lookups from --clients concurrent clients).
    #[arg(long, default_value = "filter", value_parser = ["filter", "velocity", "pull"])]
    query: String,
    /// Distinct keys (card numbers) in the input.
    #[arg(long, default_value_t = 100)]
    keys: u64,
    /// Concurrent clients for `--query pull`.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Run through this Kafka cluster instead of the embedded log.
    #[arg(long, value_name = "HOST:PORT,...")]
    bootstrap_servers: Option<String>,
    /// With --bootstrap-servers: `at_least_once` or `exactly_once_v2` (Kafka transactions).
    #[arg(long, default_value = "at_least_once", value_parser = ["at_least_once", "exactly_once_v2"])]
    processing_guarantee: String,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Test files, or directories searched for them.
    #[arg(required_unless_present = "check_ratchet", value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Instead of running tests: check that every case id listed in FILE passed in the
    /// report given with --json-report (the conformance ratchet used by CI).
    #[arg(long, value_name = "FILE", requires = "json_report")]
    check_ratchet: Option<PathBuf>,

    /// Also write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json_report: Option<PathBuf>,

    /// Run each case on its own fresh Kafka-compatible broker (Tansu, started with
    /// scripts/kafka-broker.sh, found in the current directory or its parents or named by
    /// RIFFLE_KAFKA_BROKER_SCRIPT) instead of an in-memory log.
    #[arg(long)]
    kafka: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => match run_server(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("riffle server: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Test(args) => {
            let code = match (&args.check_ratchet, &args.json_report) {
                (Some(list), Some(report)) => riffle_testkit::run_ratchet_cli(report, list),
                _ => run_tests(args.paths, args.json_report, args.kafka),
            };
            ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
        }
        Command::Shell(args) => run_shell(&args),
        Command::Bench(args) => run_bench(&args),
    }
}

/// Runs `riffle shell`.
fn run_shell(args: &ShellArgs) -> ExitCode {
    let options = riffle_shell::Options {
        url: args.url.clone(),
        file: args.file.clone(),
        output: if args.output.eq_ignore_ascii_case("JSON") {
            riffle_shell::OutputFormat::Json
        } else {
            riffle_shell::OutputFormat::Tabular
        },
    };
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    match riffle_shell::run(&options, &mut out, &mut err) {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// Runs the benchmark and prints its figures.
fn run_bench(args: &BenchArgs) -> ExitCode {
    let kafka = args.bootstrap_servers.as_ref().map(|servers| {
        let mut k = riffle_kafka::KafkaOptions::new(servers.clone());
        k.exactly_once = args.processing_guarantee == "exactly_once_v2";
        k
    });
    let backend = match &kafka {
        Some(k) => format!(
            "Kafka at {} ({})",
            k.bootstrap_servers, args.processing_guarantee
        ),
        None if args.in_memory => "in-memory".to_string(),
        None => "embedded (RocksDB)".to_string(),
    };
    let opts = riffle_bench::BenchOptions {
        kafka,
        records: args.records,
        partitions: args.partitions,
        in_memory: args.in_memory,
        query: match args.query.as_str() {
            "velocity" => riffle_bench::BenchQuery::Velocity,
            "pull" => riffle_bench::BenchQuery::Pull,
            _ => riffle_bench::BenchQuery::Filter,
        },
        keys: args.keys,
        clients: args.clients,
    };
    println!(
        "riffle bench: {} JSON records, {} partition(s), {backend} log",
        opts.records, opts.partitions,
    );
    let what = match opts.query {
        riffle_bench::BenchQuery::Filter => "CSAS filter+projection",
        riffle_bench::BenchQuery::Velocity => "CTAS windowed velocity aggregation",
        riffle_bench::BenchQuery::Pull => "CTAS aggregation per card",
    };
    match riffle_bench::run(&opts) {
        Ok(r) => {
            println!(
                "ingest:  {:.2} s ({:.0} records/s)",
                r.ingest.as_secs_f64(),
                r.records as f64 / r.ingest.as_secs_f64().max(1e-9)
            );
            println!(
                "{what}: {:.2} s, {:.0} records/s, {:.1} MB/s of input, {} records out",
                r.process.as_secs_f64(),
                r.records_per_sec(),
                r.mb_per_sec(),
                r.output_records
            );
            if let Some(p) = &r.pull {
                println!(
                    "pull queries: {} clients, {} key lookups in {:.2} s, {:.0} queries/s, p50 {:.2} ms, p99 {:.2} ms",
                    p.clients,
                    p.queries,
                    p.elapsed.as_secs_f64(),
                    p.queries as f64 / p.elapsed.as_secs_f64().max(1e-9),
                    p.p50.as_secs_f64() * 1e3,
                    p.p99.as_secs_f64() * 1e3
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riffle bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the QTT runner; returns its exit code.
fn run_tests(paths: Vec<PathBuf>, json_report: Option<PathBuf>, kafka: bool) -> i32 {
    let options = riffle_testkit::RunOptions {
        kafka,
        ..riffle_testkit::RunOptions::default()
    };
    riffle_testkit::run_cli_with(paths, json_report, options)
}

/// Server settings after merging flags and the properties file.
#[derive(Debug)]
struct ServerSettings {
    host: String,
    port: u16,
    config: EngineConfig,
    /// The Kafka cluster to run on; `None` for the embedded log.
    kafka: Option<riffle_kafka::KafkaOptions>,
    /// Headless mode: the queries file and its checked statements.
    headless: Option<(PathBuf, Vec<headless::Step>)>,
}

fn settings(args: &ServerArgs, file: BTreeMap<String, String>) -> anyhow::Result<ServerSettings> {
    let mut file = file;
    // As in ksqlDB, --queries-file wins over ksql.queries.file.
    let queries_file = args
        .queries_file
        .clone()
        .or_else(|| file.get("ksql.queries.file").map(PathBuf::from));
    file.remove("ksql.queries.file");
    let headless = match queries_file {
        Some(path) => {
            let steps = headless::load(&path)?;
            Some((path, steps))
        }
        None => None,
    };
    let listeners = args
        .listeners
        .clone()
        .or_else(|| file.remove("listeners"))
        .unwrap_or_else(|| "http://0.0.0.0:8088".to_string());
    file.remove("listeners");
    let (host, port) = parse_listener(&listeners)?;
    let service_id = file
        .remove("ksql.service.id")
        .unwrap_or_else(|| EngineConfig::default().service_id);
    let kafka = backend::kafka_options(
        args.bootstrap_servers.as_deref(),
        &file,
        &service_id,
        (&host, port),
    )?;
    // Unlike ksqlDB (default false), the processing log stream is created unless disabled: bad
    // records should be queryable out of the box.
    let processing_log_stream = !file
        .get("ksql.logging.processing.stream.auto.create")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
    let mut properties = BTreeMap::new();
    for (k, v) in &file {
        if let Some(short) = k.strip_prefix("ksql.streams.") {
            if !file.contains_key(short) {
                properties.insert(short.to_string(), v.clone());
            }
        }
        properties.insert(k.clone(), v.clone());
    }
    Ok(ServerSettings {
        host,
        port,
        config: EngineConfig {
            data_dir: Some(args.data_dir.clone()),
            service_id,
            properties,
            processing_log_stream,
            headless: headless.is_some(),
        },
        kafka,
        headless,
    })
}

/// `http://HOST:PORT[,…]` → (HOST, PORT), from the first listener.
fn parse_listener(listeners: &str) -> anyhow::Result<(String, u16)> {
    let first = listeners.split(',').next().unwrap_or("").trim();
    if first.starts_with("https://") {
        bail!("https listeners are not supported yet: {first}");
    }
    let Some(rest) = first.strip_prefix("http://") else {
        bail!("invalid listener '{first}': expected http://HOST:PORT");
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .with_context(|| format!("invalid listener '{first}': missing port"))?;
    let port: u16 = port
        .parse()
        .with_context(|| format!("invalid listener '{first}': bad port '{port}'"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("invalid listener '{first}': missing host");
    }
    Ok((host.to_string(), port))
}

fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    init_tracing();
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            properties::parse(&text)
        }
        None => BTreeMap::new(),
    };
    let settings = settings(&args, file)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: ServerSettings) -> anyhow::Result<()> {
    let storage = match &settings.kafka {
        Some(k) => format!(
            "Kafka at {}, processing.guarantee={}",
            k.bootstrap_servers,
            if k.exactly_once {
                "exactly_once_v2"
            } else {
                "at_least_once"
            }
        ),
        None => format!(
            "data: {}",
            settings
                .config
                .data_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "in memory".into())
        ),
    };
    let (config, kafka) = (settings.config, settings.kafka);
    let engine = tokio::task::spawn_blocking(move || backend::open_engine(config, kafka))
        .await
        .context("engine start-up panicked")??;
    let mut options = riffle_server::ServeOptions::default();
    if let Some((path, steps)) = settings.headless {
        let e = engine.clone();
        let ids = tokio::task::spawn_blocking(move || headless::run(&e, &steps))
            .await
            .context("queries file start-up panicked")?
            .with_context(|| format!("the queries file {} failed", path.display()))?;
        tracing::info!(queries = ?ids, file = %path.display(), "headless mode: queries file run");
        options.headless_queries_file = Some(path.display().to_string());
    }
    engine
        .start(tokio::runtime::Handle::current())
        .context("cannot start persistent queries")?;
    let listener = tokio::net::TcpListener::bind((settings.host.as_str(), settings.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", settings.host, settings.port))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    if let Some(file) = &options.headless_queries_file {
        println!("Server started with query file {file}. Interactive mode is disabled.");
    }
    println!(
        "Riffle {} (ksqlDB {} REST API) listening on http://{addr} ({storage})",
        riffle_server::RIFFLE_VERSION,
        riffle_server::KSQL_COMPATIBLE_VERSION,
    );
    riffle_server::serve_with(engine, listener, shutdown_signal(), options).await?;
    tracing::info!("server stopped");
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("received Ctrl-C"),
        _ = term => tracing::info!("received SIGTERM"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(listeners: Option<&str>) -> ServerArgs {
        ServerArgs {
            listeners: listeners.map(str::to_string),
            data_dir: PathBuf::from("d"),
            config: None,
            queries_file: None,
            bootstrap_servers: None,
        }
    }

    #[test]
    fn listeners() {
        assert_eq!(
            parse_listener("http://0.0.0.0:8088").ok(),
            Some(("0.0.0.0".into(), 8088))
        );
        assert_eq!(
            parse_listener("http://[::]:9000/,http://x:1").ok(),
            Some(("::".into(), 9000))
        );
        assert!(parse_listener("https://h:1").is_err());
        assert!(parse_listener("h:1").is_err());
    }

    #[test]
    fn config_file_keys() {
        let mut file = BTreeMap::new();
        file.insert("listeners".to_string(), "http://127.0.0.1:1234".to_string());
        file.insert("ksql.service.id".to_string(), "svc_".to_string());
        file.insert(
            "ksql.streams.auto.offset.reset".to_string(),
            "earliest".to_string(),
        );
        let s = settings(&args(None), file.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 1234));
        assert_eq!(s.config.service_id, "svc_");
        assert_eq!(s.config.properties["auto.offset.reset"], "earliest");
        assert_eq!(
            s.config.properties["ksql.streams.auto.offset.reset"],
            "earliest"
        );
        assert!(!s.config.properties.contains_key("listeners"));
        let s = settings(&args(Some("http://h:5")), file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.port, 5);
    }

    #[test]
    fn kafka_settings() {
        let s = settings(&args(None), BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.kafka.is_none());
        let mut file = BTreeMap::new();
        file.insert("bootstrap.servers".to_string(), "k:9092".to_string());
        file.insert(
            "ksql.streams.processing.guarantee".to_string(),
            "exactly_once_v2".to_string(),
        );
        let s = settings(&args(None), file.clone()).unwrap_or_else(|e| panic!("{e}"));
        let k = s.kafka.unwrap_or_else(|| panic!("kafka options expected"));
        assert_eq!(k.bootstrap_servers, "k:9092");
        assert!(k.exactly_once);
        assert_eq!(k.transactional_id, "default_riffle-0.0.0.0-8088");
        let mut a = args(None);
        a.bootstrap_servers = Some("other:1".into());
        file.remove("ksql.streams.processing.guarantee");
        let s = settings(&a, file).unwrap_or_else(|e| panic!("{e}"));
        let k = s.kafka.unwrap_or_else(|| panic!("kafka options expected"));
        assert_eq!(k.bootstrap_servers, "other:1");
        assert!(
            !k.exactly_once,
            "at_least_once is the default, as in ksqlDB"
        );
        let mut file = BTreeMap::new();
        file.insert("bootstrap.servers".to_string(), "k:1".to_string());
        file.insert("processing.guarantee".to_string(), "maybe".to_string());
        assert!(settings(&args(None), file).is_err());
    }

    #[test]
    fn cli_parses() {
        let cli = Cli::try_parse_from(["riffle", "test", "a.json", "--json-report", "r.json"]);
        assert!(matches!(
            cli,
            Ok(Cli {
                command: Command::Test(_)
            })
        ));
    }
}
