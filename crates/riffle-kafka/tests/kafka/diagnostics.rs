//! Diagnostics against Tansu, all `#[ignore]`d: they print librdkafka's debug
//! log to show where time goes or who misbehaves. Run with
//! `RIFFLE_KAFKA_TESTS=1 cargo test --workspace --test kafka diagnostics -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::Broker;
use riffle_log::Log;

/// Where the ~100 ms of a transaction with appends went: librdkafka's `eos`
/// and `protocol` debug log of one transaction, with timestamps. Every broker
/// round trip is under 1 ms; `commit_transaction` still takes ~100 ms because
/// rust-rdkafka's flush (called by commit_transaction while the message is
/// still queued) polls for up to 100 ms. `KafkaLog::commit` avoids it by
/// waiting for the deliveries first.
#[test]
#[ignore = "diagnostic: prints librdkafka's debug log of one transaction"]
fn transaction_debug_log() {
    use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let Some(broker) = Broker::start("transaction_debug_log") else {
        return;
    };
    broker
        .log()
        .create_topic("d", 1, BTreeMap::new())
        .expect("create");
    let p: BaseProducer<Printer> = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{}", broker.port))
        .set("transactional.id", "dbg")
        .set("debug", "eos,protocol,msg")
        .set_log_level(RDKafkaLogLevel::Debug)
        .create_with_context(Printer(Instant::now()))
        .expect("producer");
    p.init_transactions(Duration::from_secs(30)).expect("init");
    for round in 0..2 {
        eprintln!("==== transaction {round}");
        p.begin_transaction().expect("begin");
        p.send(BaseRecord::to("d").partition(0).key("k").payload("v"))
            .map_err(|(e, _)| e)
            .expect("send");
        let t = Instant::now();
        p.commit_transaction(Duration::from_secs(30))
            .expect("commit");
        eprintln!("==== commit_transaction took {:?}", t.elapsed());
    }
}

/// Prints librdkafka's log lines with the time since the client was created.
struct Printer(Instant);

impl rdkafka::client::ClientContext for Printer {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        eprintln!("{:>9.3?} {fac} {msg}", self.0.elapsed());
    }
}

impl rdkafka::producer::ProducerContext for Printer {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: ()) {}
}

impl rdkafka::consumer::ConsumerContext for Printer {}

/// Who hides aborted records: librdkafka's fetch log for a `read_committed`
/// consumer reading an aborted transaction. Diagnostic only; run with
/// `--ignored --nocapture`.
#[test]
#[ignore = "diagnostic: prints librdkafka's fetch log of an aborted transaction"]
fn aborted_transaction_fetch_log() {
    use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let Some(broker) = Broker::start("aborted_transaction_fetch_log") else {
        return;
    };
    broker
        .log()
        .create_topic("a", 1, BTreeMap::new())
        .expect("create");
    let bootstrap = format!("127.0.0.1:{}", broker.port);
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("transactional.id", "abrt")
        .create()
        .expect("producer");
    p.init_transactions(Duration::from_secs(30)).expect("init");
    p.begin_transaction().expect("begin");
    p.send(BaseRecord::to("a").partition(0).key("k").payload("aborted"))
        .map_err(|(e, _)| e)
        .expect("send");
    p.flush(Duration::from_secs(10)).expect("flush");
    p.abort_transaction(Duration::from_secs(30)).expect("abort");
    let c: BaseConsumer<Printer> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "abrt-reader")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .set("debug", "fetch,msg,protocol")
        .set_log_level(RDKafkaLogLevel::Debug)
        .create_with_context(Printer(Instant::now()))
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("a", 0, rdkafka::Offset::Beginning)
        .expect("tpl");
    c.assign(&tpl).expect("assign");
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(3) {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => eprintln!("==== got offset {} {:?}", m.offset(), m.payload()),
            Some(Err(e)) => {
                eprintln!("==== {e}");
                break;
            }
            None => {}
        }
    }
}
