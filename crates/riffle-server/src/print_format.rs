//! Formatting of raw topic records for `PRINT`, as ksqlDB's `RecordFormatter` does it: the key
//! and value formats are *guessed* by trying a fixed list of deserializers on every record and
//! dropping those that fail, so the output (and the `Key format:` / `Value format:` lines) match
//! what ksqlDB users see.
//!
//! Riffle has no schema registry, so AVRO, PROTOBUF and JSON_SR never deserialize a non-empty
//! record, exactly as in a ksqlDB server without one.

use riffle_log::ConsumedRecord;

/// Shown as the format list before any non-null data was seen.
const NO_DATA: &str = "¯\\_(ツ)_/¯ - no data processed";

/// The deserializers ksqlDB tries, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Avro,
    Protobuf,
    Json,
    JsonSr,
    KafkaInt,
    KafkaBigint,
    KafkaDouble,
    KafkaString,
    UnrecognisedBytes,
}

const BASES: [Base; 9] = [
    Base::Avro,
    Base::Protobuf,
    Base::Json,
    Base::JsonSr,
    Base::KafkaInt,
    Base::KafkaBigint,
    Base::KafkaDouble,
    Base::KafkaString,
    Base::UnrecognisedBytes,
];

impl Base {
    fn name(self) -> &'static str {
        match self {
            Base::Avro => "AVRO",
            Base::Protobuf => "PROTOBUF",
            Base::Json => "JSON",
            Base::JsonSr => "JSON_SR",
            Base::KafkaInt => "KAFKA_INT",
            Base::KafkaBigint => "KAFKA_BIGINT",
            Base::KafkaDouble => "KAFKA_DOUBLE",
            Base::KafkaString => "KAFKA_STRING",
            Base::UnrecognisedBytes => "UNRECOGNISED_BYTES",
        }
    }

    /// `Err` when the bytes are not of this format.
    fn deserialize(self, data: &[u8]) -> Result<String, ()> {
        match self {
            Base::Avro | Base::Protobuf | Base::JsonSr => Err(()),
            Base::Json => {
                let text = utf8(data)?;
                let mut values =
                    serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
                match values.next() {
                    Some(Err(_)) => Err(()),
                    _ => Ok(text),
                }
            }
            Base::KafkaInt => {
                let b: [u8; 4] = data.try_into().map_err(|_| ())?;
                Ok(i32::from_be_bytes(b).to_string())
            }
            Base::KafkaBigint => {
                let b: [u8; 8] = data.try_into().map_err(|_| ())?;
                Ok(i64::from_be_bytes(b).to_string())
            }
            Base::KafkaDouble => {
                let b: [u8; 8] = data.try_into().map_err(|_| ())?;
                Ok(java_double(f64::from_be_bytes(b)))
            }
            Base::KafkaString => utf8(data),
            Base::UnrecognisedBytes => Ok(kafka_bytes_string(data)),
        }
    }
}

/// Kafka Streams' windowed key layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowKind {
    Session,
    Hopping,
    Tumbling,
}

const WINDOWS: [WindowKind; 3] = [
    WindowKind::Session,
    WindowKind::Hopping,
    WindowKind::Tumbling,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Named {
    base: Base,
    window: Option<WindowKind>,
}

impl Named {
    fn name(self) -> String {
        match self.window {
            None => self.base.name().to_string(),
            Some(w) => format!(
                "{}({})",
                match w {
                    WindowKind::Session => "SESSION",
                    WindowKind::Hopping => "HOPPING",
                    WindowKind::Tumbling => "TUMBLING",
                },
                self.base.name()
            ),
        }
    }

    /// `Ok(None)` is a deserialized null.
    fn deserialize(self, data: &[u8]) -> Result<Option<String>, ()> {
        let Some(window) = self.window else {
            return self.base.deserialize(data).map(Some);
        };
        if data.is_empty() {
            return Ok(None);
        }
        let long_at = |at: usize| -> Result<i64, ()> {
            let b: [u8; 8] = data.get(at..at + 8).ok_or(())?.try_into().map_err(|_| ())?;
            Ok(i64::from_be_bytes(b))
        };
        match window {
            WindowKind::Session => {
                let split = data.len().checked_sub(16).ok_or(())?;
                let end = long_at(split)?;
                let start = long_at(split + 8)?;
                if start < 0 || end < start {
                    return Err(());
                }
                let key = self.base.deserialize(&data[..split])?;
                Ok(Some(format!("[{key}@{start}/{end}]")))
            }
            WindowKind::Hopping | WindowKind::Tumbling => {
                let split = data.len().checked_sub(8).ok_or(())?;
                let start = long_at(split)?;
                if start < 0 {
                    return Err(());
                }
                let key = self.base.deserialize(&data[..split])?;
                Ok(Some(format!("[{key}@{start}/-]")))
            }
        }
    }
}

/// The deserializers still possible for one side (key or value) of a topic.
#[derive(Debug, Clone)]
struct Deserializers {
    candidates: Vec<Named>,
    seen_data: bool,
}

impl Deserializers {
    fn new(windowed: bool) -> Self {
        let mut candidates = Vec::new();
        for base in BASES {
            if windowed && base != Base::UnrecognisedBytes {
                for w in WINDOWS {
                    candidates.push(Named {
                        base,
                        window: Some(w),
                    });
                }
            }
            candidates.push(Named { base, window: None });
        }
        Deserializers {
            candidates,
            seen_data: false,
        }
    }

    fn possible_formats(&self) -> Vec<String> {
        if !self.seen_data {
            return vec![NO_DATA.to_string()];
        }
        self.candidates
            .iter()
            .filter(|n| n.base != Base::UnrecognisedBytes)
            .map(|n| n.name())
            .collect()
    }

    fn format(&mut self, data: Option<&[u8]>) -> String {
        let Some(data) = data else {
            return "<null>".into();
        };
        self.seen_data = true;
        let mut first = None;
        self.candidates.retain(|n| match n.deserialize(data) {
            Ok(v) => {
                if first.is_none() {
                    first = Some(v.unwrap_or_else(|| "<null>".into()));
                }
                true
            }
            Err(()) => false,
        });
        first.unwrap_or_else(|| "<Failed to deserialize>".into())
    }
}

/// Formats records as `rowtime: …, key: …, value: …, partition: …` lines, refining its guess of
/// the key and value formats as it goes.
#[derive(Debug, Clone)]
pub(crate) struct RecordFormatter {
    keys: Deserializers,
    values: Deserializers,
}

impl Default for RecordFormatter {
    fn default() -> Self {
        RecordFormatter {
            keys: Deserializers::new(true),
            values: Deserializers::new(false),
        }
    }
}

impl RecordFormatter {
    /// Formats a batch. If the batch eliminates the format used so far, the whole batch is
    /// formatted again with the new best guess, as ksqlDB does.
    pub(crate) fn format(&mut self, records: &[ConsumedRecord]) -> Vec<String> {
        let active_key = self.keys.possible_formats().swap_remove(0);
        let active_value = self.values.possible_formats().swap_remove(0);
        let formatted = self.format_all(records);
        if self.keys.possible_formats().contains(&active_key)
            && self.values.possible_formats().contains(&active_value)
        {
            return formatted;
        }
        self.format_all(records)
    }

    fn format_all(&mut self, records: &[ConsumedRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| {
                format!(
                    "rowtime: {}, key: {}, value: {}, partition: {}",
                    rowtime(r.record.timestamp),
                    self.keys.format(r.record.key.as_deref()),
                    self.values.format(r.record.value.as_deref()),
                    r.partition
                )
            })
            .collect()
    }
}

/// Prints `Key format:` / `Value format:` lines whenever the guesses change (legacy `/query`
/// PRINT output).
#[derive(Debug, Clone)]
pub(crate) struct FormatsTracker {
    keys: Vec<String>,
    values: Vec<String>,
}

impl Default for FormatsTracker {
    fn default() -> Self {
        let force = vec!["add an entry to force output for formats on the first loop".to_string()];
        FormatsTracker {
            keys: force.clone(),
            values: force,
        }
    }
}

impl FormatsTracker {
    /// The lines to print (possibly none) after `formatter` processed a batch.
    pub(crate) fn update(&mut self, formatter: &RecordFormatter) -> String {
        let mut out = String::new();
        update(
            &mut out,
            &mut self.keys,
            formatter.keys.possible_formats(),
            "Key format: ",
        );
        update(
            &mut out,
            &mut self.values,
            formatter.values.possible_formats(),
            "Value format: ",
        );
        out
    }
}

fn update(out: &mut String, previous: &mut Vec<String>, current: Vec<String>, prefix: &str) {
    if *previous == current {
        return;
    }
    out.push_str(prefix);
    if current.is_empty() {
        out.push_str(
            " does not match any supported format. \
             It may be a STRING with encoding other than UTF8, or some other format.",
        );
    } else {
        out.push_str(&current.join(" or "));
    }
    out.push('\n');
    *previous = current;
}

/// `yyyy/MM/dd HH:mm:ss.SSS z` in UTC; `N/A` for Kafka's "no timestamp" (-1).
fn rowtime(ts: i64) -> String {
    if ts == -1 {
        return "N/A".into();
    }
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| "N/A".into())
}

/// UTF-8 text, failing on empty data and on invalid sequences (Java decodes those to U+FFFD,
/// which ksqlDB then rejects).
fn utf8(data: &[u8]) -> Result<String, ()> {
    if data.is_empty() {
        return Err(());
    }
    let text = String::from_utf8_lossy(data);
    if text.contains('\u{FFFD}') {
        return Err(());
    }
    Ok(text.into_owned())
}

/// Kafka's `Bytes.toString()`: printable ASCII as is, everything else as `\xHH`.
fn kafka_bytes_string(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for &b in data {
        if (b' '..=b'~').contains(&b) && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Java's `Double.toString`.
fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{d}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{d:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        if mantissa.contains('.') {
            format!("{mantissa}E{exp}")
        } else {
            format!("{mantissa}.0E{exp}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use riffle_log::Record;

    fn rec(key: Option<&[u8]>, value: Option<&[u8]>, ts: i64) -> ConsumedRecord {
        ConsumedRecord {
            partition: 0,
            offset: 0,
            seq: 0,
            record: Record::new(
                key.map(Bytes::copy_from_slice),
                value.map(Bytes::copy_from_slice),
                ts,
            ),
        }
    }

    #[test]
    fn formats_string_key_and_json_value() {
        let mut f = RecordFormatter::default();
        let mut t = FormatsTracker::default();
        let lines = f.format(&[rec(Some(b"k1"), Some(b"{\"A\":1}"), 1_600_000_000_123)]);
        assert_eq!(
            lines,
            vec!["rowtime: 2020/09/13 12:26:40.123 Z, key: k1, value: {\"A\":1}, partition: 0"]
        );
        assert_eq!(
            t.update(&f),
            "Key format: KAFKA_STRING\nValue format: JSON or KAFKA_STRING\n"
        );
        assert_eq!(t.update(&f), "");
    }

    #[test]
    fn formats_numbers_and_nulls() {
        let mut f = RecordFormatter::default();
        let lines = f.format(&[rec(None, Some(&7i32.to_be_bytes()), -1)]);
        assert_eq!(
            lines[0],
            "rowtime: N/A, key: <null>, value: 7, partition: 0"
        );
        let mut t = FormatsTracker::default();
        assert!(t
            .update(&f)
            .starts_with(&format!("Key format: {NO_DATA}\n")));
    }

    #[test]
    fn windowed_keys() {
        let mut key = b"abc".to_vec();
        key.extend_from_slice(&1000i64.to_be_bytes());
        let mut f = RecordFormatter::default();
        let lines = f.format(&[rec(Some(&key), Some(b"1"), 0)]);
        assert!(lines[0].contains("key: [abc@1000/-]"), "{}", lines[0]);
    }

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1234.5), "1234.5");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(kafka_bytes_string(b"a\x00\\"), "a\\x00\\x5C");
    }
}
