//! Event time from a column: BIGINT epoch millis, TIMESTAMP, or a STRING in a Java
//! `DateTimeFormatter` pattern (`WITH (TIMESTAMP='col', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm')`).

use datafusion::arrow::array::{
    Array, ArrayRef, Int64Array, StringArray, TimestampMillisecondArray,
};

/// Extracts one timestamp per row; rows that fail are reported with ksqlDB-style messages.
pub(crate) fn extract_timestamps(
    col: &ArrayRef,
    format: Option<&str>,
) -> (Vec<Option<i64>>, Vec<(usize, String)>) {
    let mut out = Vec::with_capacity(col.len());
    let mut bad = Vec::new();
    if let Some(a) = col.as_any().downcast_ref::<Int64Array>() {
        for i in 0..a.len() {
            out.push(a.is_valid(i).then(|| a.value(i)));
        }
    } else if let Some(a) = col.as_any().downcast_ref::<TimestampMillisecondArray>() {
        for i in 0..a.len() {
            out.push(a.is_valid(i).then(|| a.value(i)));
        }
    } else if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
        let pattern = format.map(java_to_chrono);
        for i in 0..a.len() {
            if a.is_null(i) {
                out.push(None);
                continue;
            }
            let s = a.value(i);
            match parse_time(s, pattern.as_deref()) {
                Some(t) => out.push(Some(t)),
                None => {
                    out.push(None);
                    bad.push((
                        i,
                        format!(
                            "Failed to parse timestamp '{s}' with formatter '{}'",
                            format.unwrap_or("")
                        ),
                    ));
                }
            }
        }
    } else {
        out.resize(col.len(), None);
    }
    // ksqlDB drops records whose event time is missing or negative.
    for (i, t) in out.iter().enumerate() {
        match t {
            None if !bad.iter().any(|(r, _)| *r == i) => {
                bad.push((i, "Timestamp is null; the record is skipped".into()))
            }
            Some(v) if *v < 0 => bad.push((
                i,
                format!("Timestamp {v} is negative; the record is skipped"),
            )),
            _ => {}
        }
    }
    (out, bad)
}

fn parse_time(s: &str, pattern: Option<&str>) -> Option<i64> {
    use chrono::{NaiveDate, NaiveDateTime};
    match pattern {
        None => s.parse::<i64>().ok(),
        Some(p) => {
            if let Ok(dt) = chrono::DateTime::parse_from_str(s, p) {
                return Some(dt.timestamp_millis());
            }
            if let Ok(dt) = NaiveDateTime::parse_from_str(s, p) {
                return Some(dt.and_utc().timestamp_millis());
            }
            NaiveDate::parse_from_str(s, p)
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|dt| dt.and_utc().timestamp_millis())
        }
    }
}

/// Translates a Java `DateTimeFormatter` pattern to a chrono format string.
pub(crate) fn java_to_chrono(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            i += 1;
            if i < chars.len() && chars[i] == '\'' {
                out.push('\'');
                i += 1;
                continue;
            }
            while i < chars.len() {
                if chars[i] == '\'' {
                    if i + 1 < chars.len() && chars[i + 1] == '\'' {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                if chars[i] == '%' {
                    out.push_str("%%");
                } else {
                    out.push(chars[i]);
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y', 2) | ('u', 2) => "%y".to_string(),
            ('y', _) | ('u', _) => "%Y".to_string(),
            ('M', 1) | ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', _) => "%3f".to_string(),
            ('a', _) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('X', _) | ('x', _) | ('Z', _) => "%z".to_string(),
            ('z', _) | ('V', _) => "%Z".to_string(),
            ('%', _) => "%%".repeat(n),
            (other, _) => other.to_string().repeat(n),
        };
        out.push_str(&spec);
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_java_patterns() {
        assert_eq!(
            java_to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSS"),
            "%Y-%m-%dT%H:%M:%S.%3f"
        );
        assert_eq!(
            parse_time(
                "2018-05-11 21:58",
                Some(&java_to_chrono("yyyy-MM-dd HH:mm"))
            ),
            Some(1526075880000)
        );
    }
}
