//! What QTT and REST QTT cases share: a fresh engine per case, topics, producing input records
//! in their JSON form, and reading output topics back as JSON.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;

use bytes::Bytes;
use riffle_engine::{Catalog, Engine, EngineConfig, Properties, Source};
use riffle_log::{ConsumedRecord, Header, Record};
use riffle_types::Column;
use serde_json::Value;

use crate::compare::{clip, record_matches, short};
use crate::model::{property_text, RecordSpec, TestCase};

/// How a case ended, for early returns with `?`.
#[derive(Debug)]
pub enum Verdict {
    /// Everything matched.
    Passed,
    /// Something differed; the text says what.
    Failed(String),
    /// The case needs something the runner or engine does not support yet.
    Skipped(String),
}

/// `Err(Verdict::Failed(..))` from any message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Verdict> {
    Err(Verdict::Failed(msg.into()))
}

/// `Err(Verdict::Skipped(..))` from any message.
pub fn skip<T>(msg: impl Into<String>) -> Result<T, Verdict> {
    Err(Verdict::Skipped(msg.into()))
}

/// The case's properties as strings, plus `auto.offset.reset=earliest` unless set.
pub fn case_properties(case: &TestCase) -> Properties {
    let mut props: Properties = case
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), property_text(v)))
        .collect();
    props
        .entry("auto.offset.reset".into())
        .or_insert_with(|| "earliest".into());
    // ksqlDB's test driver runs without the record cache: every update is emitted.
    if !props.contains_key("ksql.streams.cache.max.bytes.buffering") {
        props
            .entry("cache.max.bytes.buffering".into())
            .or_insert_with(|| "0".into());
    }
    props
}

/// Skips cases whose inputs, outputs or topics need unsupported features.
pub fn check_supported(case: &TestCase) -> Result<(), Verdict> {
    if let Some(t) = case.topics.iter().find(|t| {
        t.value_schema_references
            .as_ref()
            .is_some_and(|r| !r.is_null())
    }) {
        return skip(format!(
            "topic '{}' registers a schema with references; not supported yet",
            t.name
        ));
    }
    Ok(())
}

/// A case's engine, with the broker it runs on in Kafka mode.
pub struct CaseEngine {
    engine: Engine,
    /// Set when dropped in Kafka mode, and dropped right after `engine` (fields drop in
    /// order): tells the thread that retires the engine and broker that this engine is gone.
    released: Option<mpsc::Sender<()>>,
    broker: Option<crate::kafka::Broker>,
}

impl Drop for CaseEngine {
    /// In Kafka mode the engine's last reference (closing its Kafka clients takes about 0.6 s)
    /// and then the broker are dropped on another thread, so the next case can start.
    fn drop(&mut self) {
        if let Some(broker) = self.broker.take() {
            let (tx, rx) = mpsc::channel();
            self.released = Some(tx);
            crate::kafka::retire(self.engine.clone(), broker, rx);
        }
    }
}

impl std::ops::Deref for CaseEngine {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

/// Opens a fresh engine — in memory, or with `kafka` on a fresh broker — and creates the
/// case's `topics`.
pub fn open_engine(
    case: &TestCase,
    props: &Properties,
    kafka: bool,
) -> Result<CaseEngine, Verdict> {
    let config = EngineConfig {
        data_dir: None,
        properties: props.clone(),
        ..Default::default()
    };
    let engine = if kafka {
        crate::kafka::check_kafka_supported(case)?;
        let (engine, broker) = crate::kafka::open_engine(config).or_else(fail)?;
        CaseEngine {
            engine,
            released: None,
            broker: Some(broker),
        }
    } else {
        CaseEngine {
            engine: Engine::open(config).or_else(|e| fail(format!("cannot open engine: {e}")))?,
            released: None,
            broker: None,
        }
    };
    for t in &case.topics {
        engine
            .log()
            .create_topic(&t.name, t.partitions.unwrap_or(1).max(1), BTreeMap::new())
            .or_else(|e| fail(format!("cannot create topic '{}': {e}", t.name)))?;
    }
    crate::schemas::register_topic_schemas(&engine, case)?;
    Ok(engine)
}

/// The source whose formats describe `topic`. Sinks of persistent queries are preferred for
/// outputs, other sources for inputs; ties go to the first by name.
pub fn source_for_topic<'a>(catalog: &'a Catalog, topic: &str, output: bool) -> Option<&'a Source> {
    let mut candidates: Vec<&Source> = catalog
        .sources
        .values()
        .filter(|s| s.topic == topic)
        .collect();
    candidates.sort_by_key(|s| {
        (
            catalog.writers_of(&s.name).is_empty() == output,
            s.name.clone(),
        )
    });
    candidates.into_iter().next()
}

/// Serializes one input record with the formats of the source on its topic and produces it.
pub fn produce_input(engine: &Engine, index: usize, input: &RecordSpec) -> Result<(), Verdict> {
    let catalog = engine.catalog();
    let Some(source) = source_for_topic(&catalog, &input.topic, false) else {
        return fail(format!(
            "input {index}: no stream or table is registered on topic '{}'",
            input.topic
        ));
    };
    let window = match (source.window, &input.window) {
        (Some(kw), Some(w)) => Some((kw, window_bounds(w))),
        (Some(_), None) => {
            return fail(format!(
                "input {index}: source {} has windowed keys but the input has no window",
                source.name
            ))
        }
        _ => None,
    };
    let key_cols: Vec<Column> = source.schema.key_columns().cloned().collect();
    let value_cols: Vec<Column> = source.schema.value_columns().cloned().collect();
    // Keyless sources serialize keys with ksqlDB's void serde: the key is always null.
    let key = match input
        .key
        .as_ref()
        .filter(|k| !k.is_null() && !key_cols.is_empty())
    {
        None => None,
        Some(k) => source
            .key_format
            .json_to_bytes(&key_cols, k, true)
            .or_else(|e| {
                fail(format!(
                    "input {index}: cannot serialize key {} as {}: {e}",
                    short(k),
                    source.key_format.name()
                ))
            })?,
    };
    let value = if input.value.is_null() {
        None
    } else {
        source
            .value_format
            .json_to_bytes(&value_cols, &input.value, false)
            .or_else(|e| {
                fail(format!(
                    "input {index}: cannot serialize value {} as {}: {e}",
                    short(&input.value),
                    source.value_format.name()
                ))
            })?
    };
    let mut headers = Vec::new();
    for h in input.headers.iter().flatten() {
        let value = match &h.value {
            None => None,
            Some(b64) => Some(Bytes::from(base64_decode(b64).ok_or_else(|| {
                Verdict::Failed(format!("input {index}: header '{}' is not base64", h.key))
            })?)),
        };
        headers.push(Header {
            key: h.key.clone(),
            value,
        });
    }
    let key = match window {
        Some((kw, (start, end))) => Some(kw.encode(key.as_deref().unwrap_or_default(), start, end)),
        None => key,
    };
    let record = Record {
        key: key.map(Bytes::from),
        value: value.map(Bytes::from),
        timestamp: input.timestamp.unwrap_or(0),
        headers,
    };
    engine
        .log()
        .produce(&input.topic, input.partition, record)
        .map(|_| ())
        .or_else(|e| {
            fail(format!(
                "input {index}: cannot produce to '{}': {e}",
                input.topic
            ))
        })
}

/// Every record of a topic in append order (empty when the topic does not exist).
pub fn read_topic(engine: &Engine, topic: &str) -> Result<Vec<ConsumedRecord>, Verdict> {
    let Some(info) = engine.log().topic(topic) else {
        return Ok(Vec::new());
    };
    let mut all = Vec::new();
    for p in 0..info.partitions {
        let mut offset = 0;
        loop {
            let batch = engine
                .log()
                .fetch(topic, p, offset, 4096)
                .or_else(|e| fail(format!("cannot read topic '{topic}': {e}")))?;
            let Some(last) = batch.last() else { break };
            offset = last.offset + 1;
            all.extend(batch);
        }
    }
    all.sort_by_key(|r| r.seq);
    Ok(all)
}

/// An output record decoded to JSON.
pub struct ActualRecord {
    /// Key as JSON.
    pub key: Value,
    /// Window (start, end) of a windowed key.
    pub window: Option<(i64, i64)>,
    /// Value as JSON; `null` for a tombstone.
    pub value: Value,
    /// Record timestamp.
    pub timestamp: i64,
    /// Headers.
    pub headers: Vec<Header>,
}

impl ActualRecord {
    /// `<key, value> ts=…` for messages.
    pub fn describe(&self) -> String {
        let window = match self.window {
            Some((s, e)) => format!(" window=[{s}, {e}]"),
            None => String::new(),
        };
        format!(
            "<{}{window}, {}> ts={}{}",
            short(&self.key),
            short(&self.value),
            self.timestamp,
            describe_headers(&self.headers)
        )
    }
}

fn describe_headers(headers: &[Header]) -> String {
    if headers.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = headers
        .iter()
        .map(|h| match &h.value {
            Some(v) => format!("{}={}", h.key, base64_encode(v)),
            None => format!("{}=null", h.key),
        })
        .collect();
    format!(" headers=[{}]", parts.join(", "))
}

/// Reads and decodes every record of an output topic.
pub fn read_output(engine: &Engine, topic: &str) -> Result<Vec<ActualRecord>, Verdict> {
    let records = read_topic(engine, topic)?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = engine.catalog();
    let Some(source) = source_for_topic(&catalog, topic, true) else {
        return fail(format!(
            "topic '{topic}' has {} records but no stream or table describes its format",
            records.len()
        ));
    };
    let key_cols: Vec<Column> = source.schema.key_columns().cloned().collect();
    let value_cols: Vec<Column> = source.schema.value_columns().cloned().collect();
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let mut window = None;
        let key_bytes = match (source.window, &r.record.key) {
            (Some(kw), Some(b)) => match kw.decode(b) {
                Some((k, start, end)) => {
                    window = Some((start, end));
                    Some(k.to_vec())
                }
                None => {
                    return fail(format!(
                        "topic '{topic}' record {i}: windowed key too short to hold a window"
                    ))
                }
            },
            (_, k) => k.as_ref().map(|b| b.to_vec()),
        };
        let key = match &key_bytes {
            _ if key_cols.is_empty() => Value::Null,
            None => Value::Null,
            Some(b) => source
                .key_format
                .bytes_to_json(&key_cols, Some(b.as_ref()), true)
                .or_else(|e| {
                    fail(format!(
                        "topic '{topic}' record {i}: cannot decode key: {e}"
                    ))
                })?,
        };
        let value = match &r.record.value {
            None => Value::Null,
            Some(b) => source
                .value_format
                .bytes_to_json(&value_cols, Some(b.as_ref()), false)
                .or_else(|e| {
                    fail(format!(
                        "topic '{topic}' record {i}: cannot decode value: {e}"
                    ))
                })?,
        };
        out.push(ActualRecord {
            key,
            window,
            value,
            timestamp: r.record.timestamp,
            headers: r.record.headers,
        });
    }
    Ok(out)
}

/// How outputs are compared.
#[derive(Debug, Clone, Copy)]
pub struct OutputRules {
    /// Compare headers (absent expected headers mean none), as QTT does; REST QTT does not.
    pub headers: bool,
    /// Inputs were empty: an expected timestamp of 0 is not checked (records came from
    /// `INSERT … VALUES`, stamped with the wall clock).
    pub lenient_zero_timestamp: bool,
    /// Only the first `expected.len()` records must match (REST QTT); otherwise the counts
    /// must be equal.
    pub prefix_only: bool,
}

/// Topics of `outputs`, in order of first appearance, with their expected records.
pub fn outputs_by_topic(outputs: &[RecordSpec]) -> Vec<(String, Vec<&RecordSpec>)> {
    let mut order: Vec<(String, Vec<&RecordSpec>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for o in outputs {
        match index.get(o.topic.as_str()) {
            Some(&i) => order[i].1.push(o),
            None => {
                index.insert(&o.topic, order.len());
                order.push((o.topic.clone(), vec![o]));
            }
        }
    }
    order
}

/// Compares one topic's actual records with the expected ones.
pub fn compare_topic(
    topic: &str,
    expected: &[&RecordSpec],
    actual: &[ActualRecord],
    rules: OutputRules,
) -> Result<(), Verdict> {
    let count_note = || {
        format!(
            "(expected {} records, got {})",
            expected.len(),
            actual.len()
        )
    };
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        let expected_key = e.key.clone().unwrap_or(Value::Null);
        let mut differs = Vec::new();
        if !record_matches(&expected_key, &a.key) {
            differs.push("key");
        }
        if let Some(w) = &e.window {
            if a.window != Some(window_bounds(w)) {
                differs.push("window");
            }
        }
        if !record_matches(&e.value, &a.value) {
            differs.push("value");
        }
        if let Some(ts) = e.timestamp {
            if ts != a.timestamp && !(rules.lenient_zero_timestamp && ts == 0) {
                differs.push("timestamp");
            }
        }
        let expected_headers: Vec<(String, Option<Vec<u8>>)> = e
            .headers
            .iter()
            .flatten()
            .map(|h| (h.key.clone(), h.value.as_deref().and_then(base64_decode)))
            .collect();
        if rules.headers {
            let actual_headers: Vec<(String, Option<Vec<u8>>)> = a
                .headers
                .iter()
                .map(|h| (h.key.clone(), h.value.as_ref().map(|b| b.to_vec())))
                .collect();
            if expected_headers != actual_headers {
                differs.push("headers");
            }
        }
        if !differs.is_empty() {
            let ts = e
                .timestamp
                .map(|t| t.to_string())
                .unwrap_or_else(|| "any".into());
            let headers = e
                .headers
                .iter()
                .flatten()
                .map(|h| format!("{}={}", h.key, h.value.as_deref().unwrap_or("null")))
                .collect::<Vec<_>>();
            let headers = if headers.is_empty() {
                String::new()
            } else {
                format!(" headers=[{}]", headers.join(", "))
            };
            return fail(clip(
                &format!(
                    "topic '{topic}' record {i}: {} differs: expected <{}, {}> ts={ts}{headers} but was {} {}",
                    differs.join("+"),
                    short(&expected_key),
                    short(&e.value),
                    a.describe(),
                    count_note()
                ),
                900,
            ));
        }
    }
    if actual.len() > expected.len() && !rules.prefix_only {
        return fail(clip(
            &format!(
                "topic '{topic}': {} unexpected extra record(s), first: {} {}",
                actual.len() - expected.len(),
                actual[expected.len()].describe(),
                count_note()
            ),
            900,
        ));
    }
    if actual.len() < expected.len() {
        let e = expected[actual.len()];
        return fail(clip(
            &format!(
                "topic '{topic}': {} missing record(s), first: <{}, {}> {}",
                expected.len() - actual.len(),
                short(e.key.as_ref().unwrap_or(&Value::Null)),
                short(&e.value),
                count_note()
            ),
            900,
        ));
    }
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Decodes standard base64 (padding optional); `None` when malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Encodes bytes as standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `{"start": s, "end": e}` of a record spec's window.
fn window_bounds(w: &Value) -> (i64, i64) {
    let get = |k: &str| w.get(k).and_then(Value::as_i64).unwrap_or(0);
    (get("start"), get("end"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"!", b"ab", b"abc", b"abcd", &[0, 255, 128, 7, 9]] {
            let enc = base64_encode(data);
            assert_eq!(base64_decode(&enc).as_deref(), Some(data), "{enc}");
        }
        assert_eq!(base64_decode("IQ==").as_deref(), Some(&b"!"[..]));
        assert_eq!(base64_decode("I?"), None);
    }
}
