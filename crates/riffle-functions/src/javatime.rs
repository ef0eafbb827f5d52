//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSX`), which ksqlDB's date and
//! time functions take, for formatting and (case-insensitive) parsing in a time zone.
//!
//! chrono's `strftime` patterns differ in syntax and parsing rules, so patterns are interpreted
//! here directly.

use std::str::FromStr;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use datafusion::common::{exec_err, DataFusionError, Result};

/// A time zone as ksqlDB accepts it: a region (`Europe/London`), `UTC`/`GMT`/`Z`, an offset
/// (`+0200`, `-05:00`, `GMT+2`) or a common abbreviation (`PST`).
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    /// A fixed offset.
    Fixed(FixedOffset),
    /// A region with daylight saving rules.
    Region(Tz),
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// Parses a zone name.
    pub fn parse(name: &str) -> Result<Zone> {
        let n = name.trim();
        let upper = n.to_ascii_uppercase();
        let region = match upper.as_str() {
            "Z" | "UTC" | "GMT" | "UT" => return Ok(Zone::utc()),
            "PST" | "PDT" => Some("America/Los_Angeles"),
            "MST" | "MDT" => Some("America/Denver"),
            "CST" | "CDT" => Some("America/Chicago"),
            "EST" | "EDT" => Some("America/New_York"),
            "BST" => Some("Europe/London"),
            "CET" | "CEST" => Some("Europe/Paris"),
            "IST" => Some("Asia/Kolkata"),
            "JST" => Some("Asia/Tokyo"),
            _ => None,
        };
        if let Some(r) = region {
            if let Ok(tz) = Tz::from_str(r) {
                return Ok(Zone::Region(tz));
            }
        }
        let offset_text = ["UTC", "GMT", "UT"]
            .iter()
            .find_map(|p| upper.strip_prefix(p))
            .unwrap_or(&upper);
        if let Some(off) = parse_offset(offset_text) {
            return Ok(Zone::Fixed(off));
        }
        Tz::from_str(n)
            .map(Zone::Region)
            .map_err(|_| DataFusionError::Execution(format!("Unknown time-zone ID: {n}")))
    }

    /// The offset in force at UTC instant `utc`.
    pub fn offset_at(&self, utc: &NaiveDateTime) -> FixedOffset {
        match self {
            Zone::Fixed(f) => *f,
            Zone::Region(tz) => tz.offset_from_utc_datetime(utc).fix(),
        }
    }

    /// The UTC instant of local time `local` (earlier offset when ambiguous).
    pub fn to_utc(&self, local: &NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Zone::Fixed(f) => Some(*local - chrono::Duration::seconds(f.local_minus_utc() as i64)),
            Zone::Region(tz) => tz
                .from_local_datetime(local)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(*local + chrono::Duration::hours(1)))
                        .earliest()
                })
                .map(|d| d.naive_utc()),
        }
    }

    fn abbreviation(&self, utc: &NaiveDateTime) -> String {
        match self {
            Zone::Fixed(f) if f.local_minus_utc() == 0 => "UTC".into(),
            Zone::Fixed(f) => f.to_string(),
            Zone::Region(tz) => tz.from_utc_datetime(utc).format("%Z").to_string(),
        }
    }
}

/// `+02`, `+0200`, `+02:00`, `-5` as an offset.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
        return None;
    }
    let (h, m, sec) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0, 0),
        3 | 4 => (
            digits[..digits.len() - 2].parse().ok()?,
            digits[digits.len() - 2..].parse().ok()?,
            0,
        ),
        _ => (
            digits[..2].parse().ok()?,
            digits[2..4].parse().ok()?,
            digits[4..].parse().ok()?,
        ),
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60 + sec))
}

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Field(char, usize),
}

fn compile(pattern: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted text; '' is a quote.
            let mut text = String::new();
            i += 1;
            if i < chars.len() && chars[i] == '\'' {
                items.push(Item::Literal("'".into()));
                i += 1;
                continue;
            }
            while i < chars.len() {
                if chars[i] == '\'' {
                    if i + 1 < chars.len() && chars[i + 1] == '\'' {
                        text.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            items.push(Item::Literal(text));
        } else if c.is_ascii_alphabetic() {
            let mut n = 1;
            while i + n < chars.len() && chars[i + n] == c {
                n += 1;
            }
            if !"GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZ".contains(c) {
                return exec_err!("Unknown pattern letter: {c}");
            }
            items.push(Item::Field(c, n));
            i += n;
        } else {
            items.push(Item::Literal(c.to_string()));
            i += 1;
        }
    }
    Ok(items)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats UTC instant `utc` in `zone` with Java pattern `pattern`.
pub fn format(utc: &NaiveDateTime, zone: &Zone, pattern: &str) -> Result<String> {
    let offset = zone.offset_at(utc);
    let local = *utc + chrono::Duration::seconds(offset.local_minus_utc() as i64);
    let mut out = String::new();
    for item in compile(pattern)? {
        let (c, n) = match item {
            Item::Literal(s) => {
                out.push_str(&s);
                continue;
            }
            Item::Field(c, n) => (c, n),
        };
        let num = |v: i64, out: &mut String| out.push_str(&format!("{v:0n$}"));
        match c {
            'y' | 'u' | 'Y' => {
                let y = local.year() as i64;
                if n == 2 {
                    num(y.rem_euclid(100), &mut out)
                } else {
                    num(y, &mut out)
                }
            }
            'M' | 'L' => match n {
                1 | 2 => num(local.month() as i64, &mut out),
                3 => out.push_str(&MONTHS[local.month0() as usize][..3]),
                _ => out.push_str(MONTHS[local.month0() as usize]),
            },
            'd' => num(local.day() as i64, &mut out),
            'D' => num(local.ordinal() as i64, &mut out),
            'H' => num(local.hour() as i64, &mut out),
            'k' => num(
                if local.hour() == 0 {
                    24
                } else {
                    local.hour() as i64
                },
                &mut out,
            ),
            'h' => num(((local.hour() + 11) % 12 + 1) as i64, &mut out),
            'K' => num((local.hour() % 12) as i64, &mut out),
            'm' => num(local.minute() as i64, &mut out),
            's' => num(local.second() as i64, &mut out),
            'S' => {
                let nanos = format!("{:09}", local.nanosecond() % 1_000_000_000);
                out.push_str(&nanos[..n.min(9)]);
            }
            'a' => out.push_str(if local.hour() < 12 { "AM" } else { "PM" }),
            'E' | 'e' => {
                let d = DAYS[local.weekday().num_days_from_monday() as usize];
                out.push_str(if n >= 4 { d } else { &d[..3] });
            }
            'z' | 'v' | 'V' => out.push_str(&zone.abbreviation(utc)),
            'X' | 'x' | 'Z' | 'O' => {
                let secs = offset.local_minus_utc();
                if secs == 0 && c == 'X' {
                    out.push('Z');
                } else {
                    let sign = if secs < 0 { '-' } else { '+' };
                    let (h, m) = (secs.abs() / 3600, secs.abs() / 60 % 60);
                    match (c, n) {
                        ('X' | 'x', 1) => out.push_str(&format!("{sign}{h:02}")),
                        ('X' | 'x', 3) | ('Z', 5) => out.push_str(&format!("{sign}{h:02}:{m:02}")),
                        _ => out.push_str(&format!("{sign}{h:02}{m:02}")),
                    }
                }
            }
            other => return exec_err!("Unsupported pattern letter: {other}"),
        }
    }
    Ok(out)
}

/// The parts of a parsed date-time.
#[derive(Debug, Default)]
struct Parsed {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanos: Option<u32>,
    zone: Option<Zone>,
}

fn bad(text: &str, pattern: &str) -> DataFusionError {
    DataFusionError::Execution(format!(
        "Failed to parse '{text}' with pattern '{pattern}': Text '{text}' could not be parsed"
    ))
}

/// Parses `text` with Java pattern `pattern`; returns the local date-time and the zone it named.
fn parse_parts(text: &str, pattern: &str) -> Result<Parsed> {
    let items = compile(pattern)?;
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0usize;
    let mut p = Parsed::default();
    let err = || bad(text, pattern);
    for (idx, item) in items.iter().enumerate() {
        match item {
            Item::Literal(s) => {
                for c in s.chars() {
                    match chars.get(pos) {
                        Some(x) if x.eq_ignore_ascii_case(&c) => pos += 1,
                        _ => return Err(err()),
                    }
                }
            }
            Item::Field(c, n) => {
                let next_numeric = matches!(items.get(idx + 1), Some(Item::Field(f, _)) if "yuMdDHhKkmsS".contains(*f));
                let mut number = |max: usize| -> Result<(i64, usize)> {
                    let neg = chars.get(pos) == Some(&'-') && matches!(c, 'y' | 'u');
                    let start = pos + usize::from(neg);
                    let mut end = start;
                    while end < chars.len() && chars[end].is_ascii_digit() && end - start < max {
                        end += 1;
                    }
                    if end == start {
                        return Err(err());
                    }
                    let s: String = chars[start..end].iter().collect();
                    let v: i64 = s.parse().map_err(|_| err())?;
                    let digits = end - start;
                    pos = end;
                    Ok((if neg { -v } else { v }, digits))
                };
                let width = if next_numeric { *n } else { 10 };
                match c {
                    'y' | 'u' | 'Y' => {
                        let (v, digits) = number(if *n == 2 { 2 } else { width.max(4) })?;
                        p.year = Some(if *n == 2 && digits == 2 {
                            2000 + v as i32
                        } else {
                            v as i32
                        });
                    }
                    'M' | 'L' if *n >= 3 => {
                        let rest: String =
                            chars[pos..].iter().collect::<String>().to_ascii_lowercase();
                        let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                            let full = m.to_ascii_lowercase();
                            if *n >= 4 && rest.starts_with(&full) {
                                Some((i, full.len()))
                            } else if rest.starts_with(&full[..3]) {
                                Some((i, 3))
                            } else {
                                None
                            }
                        });
                        let (i, len) = found.ok_or_else(err)?;
                        p.month = Some(i as u32 + 1);
                        pos += len;
                    }
                    'M' | 'L' => p.month = Some(number(width.max(2))?.0 as u32),
                    'd' => p.day = Some(number(width.max(2))?.0 as u32),
                    'D' => p.day_of_year = Some(number(width.max(3))?.0 as u32),
                    'H' | 'k' => p.hour = Some(number(width.max(2))?.0 as u32 % 24),
                    'h' | 'K' => p.hour12 = Some(number(width.max(2))?.0 as u32 % 12),
                    'm' => p.minute = Some(number(width.max(2))?.0 as u32),
                    's' => p.second = Some(number(width.max(2))?.0 as u32),
                    'S' => {
                        let (v, digits) = number(if next_numeric { *n } else { 9 })?;
                        p.nanos = Some((v * 10i64.pow(9 - digits.min(9) as u32)) as u32);
                    }
                    'a' => {
                        let rest: String = chars[pos..(pos + 2).min(chars.len())].iter().collect();
                        p.pm = Some(match rest.to_ascii_uppercase().as_str() {
                            "AM" => false,
                            "PM" => true,
                            _ => return Err(err()),
                        });
                        pos += 2;
                    }
                    'E' | 'e' => {
                        while pos < chars.len() && chars[pos].is_alphabetic() {
                            pos += 1;
                        }
                    }
                    'z' | 'v' | 'V' | 'O' => {
                        let start = pos;
                        while pos < chars.len()
                            && (chars[pos].is_alphanumeric() || "/_+-:".contains(chars[pos]))
                        {
                            pos += 1;
                        }
                        let name: String = chars[start..pos].iter().collect();
                        p.zone = Some(Zone::parse(&name).map_err(|_| err())?);
                    }
                    'X' | 'x' | 'Z' => {
                        if matches!(chars.get(pos), Some('Z' | 'z')) {
                            pos += 1;
                            p.zone = Some(Zone::utc());
                        } else {
                            let start = pos;
                            while pos < chars.len()
                                && (chars[pos].is_ascii_digit() || "+-:".contains(chars[pos]))
                            {
                                pos += 1;
                            }
                            let s: String = chars[start..pos].iter().collect();
                            p.zone = Some(Zone::Fixed(parse_offset(&s).ok_or_else(err)?));
                        }
                    }
                    _ => return Err(err()),
                }
            }
        }
    }
    if pos != chars.len() {
        return Err(err());
    }
    Ok(p)
}

fn local_of(p: &Parsed, text: &str, pattern: &str) -> Result<NaiveDateTime> {
    let year = p.year.unwrap_or(1970);
    let date = match p.day_of_year {
        Some(d) if p.month.is_none() => NaiveDate::from_yo_opt(year, d),
        _ => NaiveDate::from_ymd_opt(year, p.month.unwrap_or(1), p.day.unwrap_or(1)),
    }
    .ok_or_else(|| bad(text, pattern))?;
    let hour = match (p.hour, p.hour12, p.pm) {
        (Some(h), _, _) => h,
        (None, Some(h), Some(true)) => h + 12,
        (None, Some(h), _) => h,
        (None, None, Some(true)) => 12,
        _ => 0,
    };
    let time = chrono::NaiveTime::from_hms_nano_opt(
        hour,
        p.minute.unwrap_or(0),
        p.second.unwrap_or(0),
        p.nanos.unwrap_or(0),
    )
    .ok_or_else(|| bad(text, pattern))?;
    Ok(NaiveDateTime::new(date, time))
}

/// Parses a timestamp; a zone in the text wins over `zone`. Epoch milliseconds.
pub fn parse_timestamp_with(text: &str, pattern: &str, zone: &Zone) -> Result<i64> {
    let p = parse_parts(text, pattern)?;
    let local = local_of(&p, text, pattern)?;
    let zone = p.zone.unwrap_or(*zone);
    let utc = zone.to_utc(&local).ok_or_else(|| bad(text, pattern))?;
    Ok(utc.and_utc().timestamp_millis())
}

/// Parses a date; days since the epoch.
pub fn parse_date_with(text: &str, pattern: &str) -> Result<i32> {
    let p = parse_parts(text, pattern)?;
    let local = local_of(&p, text, pattern)?;
    Ok(local.date().num_days_from_ce() - 719_163)
}

/// Parses a time of day; milliseconds since midnight.
pub fn parse_time_with(text: &str, pattern: &str) -> Result<i32> {
    let p = parse_parts(text, pattern)?;
    let local = local_of(&p, text, pattern)?;
    let t = local.time();
    Ok((t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32)
}

/// The UTC date-time of epoch milliseconds.
pub fn utc_of_millis(ms: i64) -> Result<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms)
        .map(|d| d.naive_utc())
        .ok_or_else(|| DataFusionError::Execution(format!("Timestamp out of range: {ms}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns() {
        let utc = Zone::utc();
        assert_eq!(
            parse_timestamp_with("2018-05-11T21:58:33Z", "yyyy-MM-dd'T'HH:mm:ssX", &utc).unwrap(),
            1526075913000
        );
        assert_eq!(
            parse_timestamp_with("2018-05-11T21:58:33 PST", "yyyy-MM-dd'T'HH:mm:ss zzz", &utc)
                .unwrap(),
            1526101113000
        );
        assert_eq!(
            parse_date_with("01-Jan-2022", "dd-MMM-yyyy").unwrap(),
            18993
        );
        assert_eq!(
            parse_time_with("01:00:00 Pm", "hh:mm:ss a").unwrap(),
            46800000
        );
        assert_eq!(parse_time_with("11/05/19", "HH/mm/ss").unwrap(), 39919000);
        let t = utc_of_millis(1526075913000).unwrap();
        let la = Zone::parse("America/Los_Angeles").unwrap();
        assert_eq!(
            format(&t, &la, "yyyy-MM-dd HH:mm:ss zzz").unwrap(),
            "2018-05-11 14:58:33 PDT"
        );
        assert_eq!(
            format(&t, &utc, "dd-MM-yyyy'Sophia'").unwrap(),
            "11-05-2018Sophia"
        );
    }
}
