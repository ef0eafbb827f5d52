//! Windows: which windows a record falls in, and Kafka Streams' windowed key layouts, which
//! ksqlDB uses for the keys of windowed tables (and which Riffle therefore writes too).

use riffle_sql::WindowExpr;

/// How the keys of a windowed source carry their window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyWindow {
    /// TUMBLING and HOPPING windows: the key bytes, then the window start (8 bytes, big-endian);
    /// the end is the start plus the size.
    Time {
        /// Window size in milliseconds.
        size_ms: i64,
    },
    /// SESSION windows: the key bytes, then the end and the start (8 bytes each, big-endian).
    Session,
}

impl KeyWindow {
    /// The key layout of a query's window.
    pub fn of(window: &WindowExpr) -> KeyWindow {
        match window {
            WindowExpr::Tumbling { size, .. } | WindowExpr::Hopping { size, .. } => {
                KeyWindow::Time {
                    size_ms: millis(*size),
                }
            }
            WindowExpr::Session { .. } => KeyWindow::Session,
        }
    }

    /// `TUMBLING`, `HOPPING` or `SESSION` as DESCRIBE names it (time windows cannot tell
    /// tumbling from hopping from the key alone).
    pub fn type_name(self) -> &'static str {
        match self {
            KeyWindow::Time { .. } => "TIME",
            KeyWindow::Session => "SESSION",
        }
    }

    /// Appends the window to serialized key bytes.
    pub fn encode(self, key: &[u8], start: i64, end: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(key.len() + 16);
        out.extend_from_slice(key);
        if self == KeyWindow::Session {
            out.extend_from_slice(&end.to_be_bytes());
        }
        out.extend_from_slice(&start.to_be_bytes());
        out
    }

    /// Splits windowed key bytes into the key and the window's start and end; None when the
    /// bytes are too short to hold a window.
    pub fn decode(self, bytes: &[u8]) -> Option<(&[u8], i64, i64)> {
        let read = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
        match self {
            KeyWindow::Time { size_ms } => {
                let split = bytes.len().checked_sub(8)?;
                let start = read(&bytes[split..])?;
                Some((&bytes[..split], start, start.saturating_add(size_ms)))
            }
            KeyWindow::Session => {
                let split = bytes.len().checked_sub(16)?;
                let end = read(&bytes[split..split + 8])?;
                let start = read(&bytes[split + 8..])?;
                Some((&bytes[..split], start, end))
            }
        }
    }
}

/// A duration in milliseconds, saturating.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// ksqlDB's grace period when a windowed query names none (Kafka Streams' old default).
pub(crate) const DEFAULT_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// The grace period of a window.
pub(crate) fn grace_ms(window: &WindowExpr) -> i64 {
    let grace = match window {
        WindowExpr::Tumbling { grace, .. }
        | WindowExpr::Hopping { grace, .. }
        | WindowExpr::Session { grace, .. } => *grace,
    };
    grace.map(millis).unwrap_or(DEFAULT_GRACE_MS)
}

/// The time windows (start, end) that a record at `ts` belongs to, as Kafka Streams'
/// `TimeWindows.windowsFor` computes them. Empty for session windows.
pub(crate) fn time_windows(window: &WindowExpr, ts: i64) -> Vec<(i64, i64)> {
    let (size, advance) = match window {
        WindowExpr::Tumbling { size, .. } => (millis(*size), millis(*size)),
        WindowExpr::Hopping { size, advance, .. } => (millis(*size), millis(*advance)),
        WindowExpr::Session { .. } => return Vec::new(),
    };
    if size <= 0 || advance <= 0 {
        return Vec::new();
    }
    let mut start = (ts - size + advance).max(0) / advance * advance;
    let mut out = Vec::new();
    while start <= ts {
        out.push((start, start + size));
        start += advance;
    }
    out
}

/// The key window a `CREATE` statement declares with `WINDOW_TYPE` and `WINDOW_SIZE`.
pub(crate) fn declared(
    window_type: Option<&str>,
    window_size: Option<&str>,
) -> std::result::Result<Option<KeyWindow>, String> {
    let Some(kind) = window_type else {
        return Ok(None);
    };
    match kind.trim().to_ascii_uppercase().as_str() {
        "SESSION" => {
            if window_size.is_some() {
                return Err("'WINDOW_SIZE' should not be set for SESSION windows.".into());
            }
            Ok(Some(KeyWindow::Session))
        }
        "TUMBLING" | "HOPPING" => {
            let size = window_size.ok_or_else(|| {
                format!(
                    "'WINDOW_SIZE' is required for {} windows.",
                    kind.trim().to_ascii_uppercase()
                )
            })?;
            let size_ms = parse_duration_text(size)
                .map_err(|e| format!("Configuration WINDOW_SIZE is invalid: {e}"))?;
            Ok(Some(KeyWindow::Time { size_ms }))
        }
        other => Err(format!(
            "Configuration WINDOW_TYPE is invalid: '{other}'. Valid values are SESSION, HOPPING and TUMBLING."
        )),
    }
}

/// Parses `'30 SECONDS'` as ksqlDB's `DurationParser` does.
fn parse_duration_text(text: &str) -> std::result::Result<i64, String> {
    let invalid = |why: String| format!("Invalid duration: '{text}'. {why}");
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [n, unit] = parts.as_slice() else {
        return Err(invalid("Expected format: <number> <time unit>".into()));
    };
    let n: i64 = n
        .parse()
        .map_err(|_| invalid(format!("Not a number: '{n}'")))?;
    let upper = unit.to_ascii_uppercase();
    let unit_ms = match upper.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return Err(invalid(format!("Unknown time unit: '{upper}'"))),
    };
    Ok(n.saturating_mul(unit_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hopping_and_tumbling_windows() {
        let hop = WindowExpr::Hopping {
            size: Duration::from_secs(10),
            advance: Duration::from_secs(5),
            retention: None,
            grace: None,
        };
        assert_eq!(
            time_windows(&hop, 12_000),
            vec![(5_000, 15_000), (10_000, 20_000)]
        );
        let tumble = WindowExpr::Tumbling {
            size: Duration::from_secs(10),
            retention: None,
            grace: None,
        };
        assert_eq!(time_windows(&tumble, 9_999), vec![(0, 10_000)]);
    }

    #[test]
    fn windowed_keys_round_trip() {
        let w = KeyWindow::Session;
        let b = w.encode(b"k", 5, 9);
        assert_eq!(w.decode(&b), Some((&b"k"[..], 5, 9)));
        let t = KeyWindow::Time { size_ms: 10 };
        let b = t.encode(b"k", 20, 30);
        assert_eq!(t.decode(&b), Some((&b"k"[..], 20, 30)));
    }
}
