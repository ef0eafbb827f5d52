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
        for i in 0..a.len() {
            if a.is_null(i) {
                out.push(None);
                continue;
            }
            let s = a.value(i);
            match parse_time(s, format) {
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

/// Parses `s` with a Java `DateTimeFormatter` pattern (in UTC unless the text names a zone), as
/// ksqlDB's string timestamp extractor does; without a pattern, as epoch milliseconds.
fn parse_time(s: &str, pattern: Option<&str>) -> Option<i64> {
    match pattern {
        None => s.parse::<i64>().ok(),
        Some(p) => riffle_functions::javatime::parse_timestamp_with(
            s,
            p,
            &riffle_functions::javatime::Zone::utc(),
        )
        .ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_patterns() {
        assert_eq!(
            parse_time("2018-05-11 21:58", Some("yyyy-MM-dd HH:mm")),
            Some(1526075880000)
        );
        assert_eq!(
            parse_time("21-01-02 03:04:05Z", Some("yy-MM-dd HH:mm:ssX")),
            Some(1609556645000)
        );
        assert_eq!(
            parse_time(
                "2021-01-02T03:04:05.7+0100",
                Some("yyyy-MM-dd'T'HH:mm:ss.SX")
            ),
            Some(1609553045700)
        );
    }
}
