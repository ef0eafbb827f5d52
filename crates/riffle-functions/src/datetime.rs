//! Dates, times and timestamps as ksqlDB reads and writes them (`SqlTimeTypes`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::common::{DataFusionError, Result};

fn bad(kind: &str, s: &str) -> DataFusionError {
    DataFusionError::Execution(format!(
        "Failed to parse {kind} '{s}': Text '{s}' could not be parsed"
    ))
}

/// Splits a trailing zone (`Z`, `+hh:mm`, `-hhmm`) off a timestamp text; returns the offset in
/// milliseconds.
fn split_zone(s: &str) -> (&str, i64) {
    if let Some(rest) = s.strip_suffix(['Z', 'z']) {
        return (rest, 0);
    }
    // A zone sign after the time part (a '-' in the date is not one).
    if let Some(t) = s.find('T') {
        if let Some(pos) = s[t..].rfind(['+', '-']) {
            let pos = t + pos;
            let zone = &s[pos + 1..].replace(':', "");
            let sign = if s.as_bytes()[pos] == b'-' { -1 } else { 1 };
            if zone.len() >= 2 && zone.bytes().all(|b| b.is_ascii_digit()) {
                let h: i64 = zone[..2].parse().unwrap_or(0);
                let m: i64 = zone.get(2..4).and_then(|m| m.parse().ok()).unwrap_or(0);
                return (&s[..pos], sign * (h * 3_600_000 + m * 60_000));
            }
        }
    }
    (s, 0)
}

/// ksqlDB's partial timestamp parsing (`yyyy[-MM[-dd[THH[:mm[:ss[.SSS]]]]]]` with an optional
/// zone), as `CAST(s AS TIMESTAMP)` does; epoch milliseconds.
pub fn parse_timestamp(text: &str) -> Result<i64> {
    let s = text.trim();
    let (body, offset) = split_zone(s);
    let (date_part, time_part) = match body.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let mut parts = date_part.split('-');
    let year: i32 = parts
        .next()
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| bad("timestamp", s))?;
    let month: u32 = match parts.next() {
        Some(m) => m.parse().map_err(|_| bad("timestamp", s))?,
        None => 1,
    };
    let day: u32 = match parts.next() {
        Some(d) => d.parse().map_err(|_| bad("timestamp", s))?,
        None => 1,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| bad("timestamp", s))?;
    let millis = match time_part {
        Some(t) if !t.is_empty() => parse_time_millis(t).ok_or_else(|| bad("timestamp", s))?,
        _ => 0,
    };
    let midnight = NaiveDateTime::new(date, NaiveTime::MIN)
        .and_utc()
        .timestamp_millis();
    Ok(midnight + millis as i64 - offset)
}

/// `HH[:mm[:ss[.fraction]]]` as milliseconds of the day.
fn parse_time_millis(t: &str) -> Option<i32> {
    let (hms, frac) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    let mut it = hms.split(':');
    let h: i32 = it.next()?.parse().ok()?;
    let m: i32 = it.next().map(|m| m.parse().ok()).unwrap_or(Some(0))?;
    let sec: i32 = it.next().map(|x| x.parse().ok()).unwrap_or(Some(0))?;
    if it.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let ms = match frac {
        Some(f) if f.bytes().all(|b| b.is_ascii_digit()) && !f.is_empty() => {
            let f3: String = f.chars().chain("000".chars()).take(3).collect();
            f3.parse::<i32>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// `yyyy-MM-dd` as days since the epoch (`CAST(s AS DATE)`).
pub fn parse_date(text: &str) -> Result<i32> {
    let s = text.trim();
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("date", s))?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(|| bad("date", s))?;
    Ok((d - epoch).num_days() as i32)
}

/// `HH:mm[:ss[.SSS]]` as milliseconds of the day (`CAST(s AS TIME)`).
pub fn parse_time(text: &str) -> Result<i32> {
    let s = text.trim();
    parse_time_millis(s).ok_or_else(|| bad("time", s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partial_timestamps() {
        assert_eq!(
            parse_timestamp("2022-04-28T21:44:47.943").unwrap(),
            1651182287943
        );
        assert_eq!(
            parse_timestamp("2022-04-28T21:44:47.943Z").unwrap(),
            1651182287943
        );
        assert_eq!(parse_timestamp("1970-01-01T01:00+01:00").unwrap(), 0);
        assert_eq!(parse_timestamp("1970").unwrap(), 0);
        assert!(parse_timestamp("nope").is_err());
        assert_eq!(parse_date("1970-01-02").unwrap(), 1);
        assert_eq!(parse_time("00:00:01.5").unwrap(), 1500);
    }
}
