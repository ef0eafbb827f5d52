//! ksqlDB's date and time functions (`io.confluent.ksql.function.udf.datetime.*`).
//!
//! DataFusion's `to_char`/`to_timestamp` take chrono patterns and have different names, result
//! types and zone handling; ksqlDB's take Java `DateTimeFormatter` patterns (see [`crate::javatime`])
//! and zone ids, and keep ksqlDB's types: `STRINGTOTIMESTAMP` is a BIGINT, `PARSE_TIMESTAMP` a
//! TIMESTAMP, `STRINGTODATE` an INT, `PARSE_DATE` a DATE, and so on. The `*ADD`/`*SUB` functions
//! take a time unit keyword (`MILLISECONDS` … `DAYS`), which Riffle's planner passes as a string.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::javatime::{self, utc_of_millis, Zone};
use crate::types::{is_integer, is_string, time, timestamp, BIGINT, INT, STRING};
use crate::udf::{as_i64, as_str, no_overload, rowwise, KsqlUdf, Typed};

/// Functions whose first argument is a time unit keyword.
pub const UNIT_FUNCTIONS: [&str; 6] = [
    "DATEADD",
    "DATESUB",
    "TIMEADD",
    "TIMESUB",
    "TIMESTAMPADD",
    "TIMESTAMPSUB",
];

/// The date and time UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new("TIMESTAMPTOSTRING", type_timestamptostring, eval_format_ts).into_udf(),
        KsqlUdf::new("FORMAT_TIMESTAMP", type_format_timestamp, eval_format_ts).into_udf(),
        KsqlUdf::new(
            "STRINGTOTIMESTAMP",
            |a, _| type_parse(a, "STRINGTOTIMESTAMP", BIGINT, 3),
            eval_parse_ts,
        )
        .into_udf(),
        KsqlUdf::new(
            "PARSE_TIMESTAMP",
            |a, _| type_parse(a, "PARSE_TIMESTAMP", timestamp(), 3),
            eval_parse_ts,
        )
        .into_udf(),
        KsqlUdf::new(
            "DATETOSTRING",
            |a, _| type_format(a, "DATETOSTRING", INT),
            eval_format_date,
        )
        .into_udf(),
        KsqlUdf::new(
            "FORMAT_DATE",
            |a, _| type_format(a, "FORMAT_DATE", DataType::Date32),
            eval_format_date,
        )
        .into_udf(),
        KsqlUdf::new(
            "STRINGTODATE",
            |a, _| type_parse(a, "STRINGTODATE", INT, 2),
            eval_parse_date,
        )
        .into_udf(),
        KsqlUdf::new(
            "PARSE_DATE",
            |a, _| type_parse(a, "PARSE_DATE", DataType::Date32, 2),
            eval_parse_date,
        )
        .into_udf(),
        KsqlUdf::new(
            "FORMAT_TIME",
            |a, _| type_format(a, "FORMAT_TIME", time()),
            eval_format_time,
        )
        .into_udf(),
        KsqlUdf::new(
            "PARSE_TIME",
            |a, _| type_parse(a, "PARSE_TIME", time(), 2),
            eval_parse_time,
        )
        .into_udf(),
        KsqlUdf::new(
            "UNIX_TIMESTAMP",
            |a, _| type_unix(a, "UNIX_TIMESTAMP", timestamp(), BIGINT),
            eval_unix_ts,
        )
        .into_udf(),
        KsqlUdf::new(
            "UNIX_DATE",
            |a, _| type_unix(a, "UNIX_DATE", DataType::Date32, INT),
            eval_unix_date,
        )
        .into_udf(),
        KsqlUdf::new(
            "FROM_DAYS",
            |a, _| type_convert(a, "FROM_DAYS", INT, DataType::Date32),
            eval_identity,
        )
        .into_udf(),
        KsqlUdf::new(
            "FROM_UNIXTIME",
            |a, _| type_convert(a, "FROM_UNIXTIME", BIGINT, timestamp()),
            eval_identity,
        )
        .into_udf(),
        KsqlUdf::new("CONVERT_TZ", type_convert_tz, eval_convert_tz).into_udf(),
        KsqlUdf::new(
            "DATEADD",
            |a, _| type_add(a, "DATEADD", DataType::Date32),
            eval_add,
        )
        .into_udf(),
        KsqlUdf::new(
            "DATESUB",
            |a, _| type_add(a, "DATESUB", DataType::Date32),
            eval_sub,
        )
        .into_udf(),
        KsqlUdf::new("TIMEADD", |a, _| type_add(a, "TIMEADD", time()), eval_add).into_udf(),
        KsqlUdf::new("TIMESUB", |a, _| type_add(a, "TIMESUB", time()), eval_sub).into_udf(),
        KsqlUdf::new(
            "TIMESTAMPADD",
            |a, _| type_add(a, "TIMESTAMPADD", timestamp()),
            eval_add,
        )
        .into_udf(),
        KsqlUdf::new(
            "TIMESTAMPSUB",
            |a, _| type_add(a, "TIMESTAMPSUB", timestamp()),
            eval_sub,
        )
        .into_udf(),
    ]
}

fn string_or_null(t: &DataType) -> bool {
    is_string(t) || t == &DataType::Null
}

/// (value of `first`, STRING pattern[, STRING zone]).
fn type_format_with(args: &[DataType], name: &str, first: DataType, max: usize) -> Result<Typed> {
    let ok = args.len() >= 2
        && args.len() <= max
        && (args[0] == first
            || args[0] == DataType::Null
            || (first == BIGINT && is_integer(&args[0])))
        && args[1..].iter().all(string_or_null);
    if !ok {
        return no_overload(name, args);
    }
    let mut coerced = vec![first];
    coerced.extend(std::iter::repeat_n(STRING, args.len() - 1));
    Ok(Typed {
        args: coerced,
        ret: STRING,
    })
}

fn type_timestamptostring(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    type_format_with(args, "TIMESTAMPTOSTRING", BIGINT, 3)
}

fn type_format_timestamp(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    type_format_with(args, "FORMAT_TIMESTAMP", timestamp(), 3)
}

fn type_format(args: &[DataType], name: &str, first: DataType) -> Result<Typed> {
    type_format_with(args, name, first, 2)
}

fn type_parse(args: &[DataType], name: &str, ret: DataType, max: usize) -> Result<Typed> {
    if args.len() < 2 || args.len() > max || !args.iter().all(string_or_null) {
        return no_overload(name, args);
    }
    Ok(Typed {
        args: vec![STRING; args.len()],
        ret,
    })
}

fn type_unix(args: &[DataType], name: &str, arg: DataType, ret: DataType) -> Result<Typed> {
    match args {
        [] => Ok(Typed::new(args, ret)),
        [a] if a == &arg || a == &DataType::Null => Ok(Typed {
            args: vec![arg],
            ret,
        }),
        _ => no_overload(name, args),
    }
}

fn type_convert(args: &[DataType], name: &str, arg: DataType, ret: DataType) -> Result<Typed> {
    match args {
        [a] if is_integer(a) || a == &DataType::Null => Ok(Typed {
            args: vec![arg],
            ret,
        }),
        _ => no_overload(name, args),
    }
}

fn type_convert_tz(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [t, a, b]
            if (t == &timestamp() || t == &DataType::Null)
                && string_or_null(a)
                && string_or_null(b) =>
        {
            Ok(Typed {
                args: vec![timestamp(), STRING, STRING],
                ret: timestamp(),
            })
        }
        _ => no_overload("CONVERT_TZ", args),
    }
}

fn type_add(args: &[DataType], name: &str, value: DataType) -> Result<Typed> {
    match args {
        [u, n, v]
            if string_or_null(u)
                && (is_integer(n) || n == &DataType::Null)
                && (v == &value || v == &DataType::Null) =>
        {
            Ok(Typed {
                args: vec![STRING, BIGINT, value.clone()],
                ret: value,
            })
        }
        _ => no_overload(name, args),
    }
}

fn zone_arg(row: &[ScalarValue], i: usize) -> Result<Option<Zone>> {
    match row.get(i) {
        None => Ok(Some(Zone::utc())),
        Some(v) => match as_str(v) {
            Some(z) => Zone::parse(z).map(Some),
            None => Ok(None),
        },
    }
}

fn eval_format_ts(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(ms), Some(pattern), Some(zone)) =
            (as_i64(&row[0]), as_str(&row[1]), zone_arg(row, 2)?)
        else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::from(javatime::format(
            &utc_of_millis(ms)?,
            &zone,
            pattern,
        )?))
    })
}

fn eval_parse_ts(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(text), Some(pattern), Some(zone)) =
            (as_str(&row[0]), as_str(&row[1]), zone_arg(row, 2)?)
        else {
            return Ok(ScalarValue::Null);
        };
        let ms = javatime::parse_timestamp_with(text, pattern, &zone)?;
        Ok(match ret {
            DataType::Int64 => ScalarValue::Int64(Some(ms)),
            _ => ScalarValue::TimestampMillisecond(Some(ms), None),
        })
    })
}

fn eval_format_date(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(days), Some(pattern)) = (as_i64(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        let utc = utc_of_millis(days * 86_400_000)?;
        Ok(ScalarValue::from(javatime::format(
            &utc,
            &Zone::utc(),
            pattern,
        )?))
    })
}

fn eval_parse_date(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(text), Some(pattern)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        let days = javatime::parse_date_with(text, pattern)?;
        Ok(match ret {
            DataType::Int32 => ScalarValue::Int32(Some(days)),
            _ => ScalarValue::Date32(Some(days)),
        })
    })
}

fn eval_format_time(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(ms), Some(pattern)) = (as_i64(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::from(javatime::format(
            &utc_of_millis(ms)?,
            &Zone::utc(),
            pattern,
        )?))
    })
}

fn eval_parse_time(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(text), Some(pattern)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::Time32Millisecond(Some(
            javatime::parse_time_with(text, pattern)?,
        )))
    })
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn eval_unix_ts(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let no_args = args.len() == 1 && args[0].data_type() == &DataType::Null;
    rowwise(args, ret, |row| {
        Ok(match row.first().and_then(as_i64) {
            Some(ms) => ScalarValue::Int64(Some(ms)),
            None if no_args => ScalarValue::Int64(Some(now_millis())),
            None => ScalarValue::Null,
        })
    })
}

fn eval_unix_date(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let no_args = args.len() == 1 && args[0].data_type() == &DataType::Null;
    rowwise(args, ret, |row| {
        Ok(match row.first().and_then(as_i64) {
            Some(d) => ScalarValue::Int32(Some(d as i32)),
            None if no_args => ScalarValue::Int32(Some(now_millis().div_euclid(86_400_000) as i32)),
            None => ScalarValue::Null,
        })
    })
}

fn eval_identity(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    Ok(datafusion::arrow::compute::cast(&args[0], ret)?)
}

fn eval_convert_tz(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(ms), Some(from), Some(to)) = (as_i64(&row[0]), as_str(&row[1]), as_str(&row[2]))
        else {
            return Ok(ScalarValue::Null);
        };
        let utc = utc_of_millis(ms)?;
        let (from, to) = (Zone::parse(from)?, Zone::parse(to)?);
        let shift = to.offset_at(&utc).local_minus_utc() - from.offset_at(&utc).local_minus_utc();
        Ok(ScalarValue::TimestampMillisecond(
            Some(ms + shift as i64 * 1000),
            None,
        ))
    })
}

/// Epoch milliseconds of a possibly partial ISO timestamp, as ksqlDB reads the string literals
/// it compares with `ROWTIME` (`PartialStringToTimestampParser`): `yyyy-MM-ddTHH:mm:ss.SSS`
/// where trailing parts may be left out (they default to the start of the period), optionally
/// followed by `Z` or an offset `+HHMM`, `+HH:MM` or `+HH`; UTC without one. None when `text`
/// is not such a timestamp.
pub fn partial_timestamp_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let (local, offset_secs) = split_zone(text)?;
    const TEMPLATE: &str = "0000-01-01T00:00:00.000";
    if local.len() < 4 || local.len() > TEMPLATE.len() || !local.is_ascii() {
        return None;
    }
    let mut full = format!("{local}{}", &TEMPLATE[local.len()..]);
    // Hour 24 (`2020-02-24T24`) is midnight at the end of that day, as java.time reads it.
    let end_of_day = full.get(11..13) == Some("24") && full.get(13..) == Some(":00:00.000");
    if end_of_day {
        full.replace_range(11..13, "00");
    }
    let t = chrono::NaiveDateTime::parse_from_str(&full, "%Y-%m-%dT%H:%M:%S%.3f").ok()?;
    let day = if end_of_day { 86_400_000 } else { 0 };
    Some(t.and_utc().timestamp_millis() + day - offset_secs * 1000)
}

/// The local part of a timestamp and its zone offset in seconds (`Z` or `±HH[[:]MM]` after the
/// time; 0 when there is none).
fn split_zone(text: &str) -> Option<(&str, i64)> {
    if let Some(local) = text.strip_suffix('Z') {
        return Some((local, 0));
    }
    let Some(t) = text.find('T') else {
        return Some((text, 0));
    };
    let Some(at) = text[t..].find(['+', '-']).map(|i| t + i) else {
        return Some((text, 0));
    };
    let digits: String = text[at + 1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    let sign = if &text[at..at + 1] == "-" { -1 } else { 1 };
    Some((&text[..at], sign * (hours * 3600 + minutes * 60)))
}

/// Whether `word` names a time unit (`MILLISECONDS`, `DAYS`, …).
pub fn is_time_unit(word: &str) -> bool {
    unit_millis(word).is_ok()
}

/// Milliseconds in one `unit`.
fn unit_millis(unit: &str) -> Result<i64> {
    Ok(match unit.to_ascii_uppercase().trim_end_matches('S') {
        "NANOSECOND" | "MICROSECOND" => 0,
        "MILLISECOND" => 1,
        "SECOND" => 1000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return exec_err!("Unknown time unit: {unit}"),
    })
}

fn eval_add(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    shift(args, ret, 1)
}

fn eval_sub(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    shift(args, ret, -1)
}

fn shift(args: &[ArrayRef], ret: &DataType, sign: i64) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(unit), Some(n), Some(v)) = (as_str(&row[0]), as_i64(&row[1]), as_i64(&row[2]))
        else {
            return Ok(ScalarValue::Null);
        };
        let delta = sign * n * unit_millis(unit)?;
        Ok(match ret {
            DataType::Date32 => {
                ScalarValue::Date32(Some((v + delta.div_euclid(86_400_000)) as i32))
            }
            DataType::Time32(_) => {
                ScalarValue::Time32Millisecond(Some((v + delta).rem_euclid(86_400_000) as i32))
            }
            _ => ScalarValue::TimestampMillisecond(Some(v + delta), None),
        })
    })
}

#[cfg(test)]
mod partial_timestamp_tests {
    use super::partial_timestamp_millis as ms;

    #[test]
    fn partial_timestamps_read_like_ksqldb() {
        assert_eq!(ms("1970-01-01T00:00:01"), Some(1000));
        assert_eq!(ms("1970-01-01T00:00:00.001Z"), Some(1));
        assert_eq!(ms("1970-01-02"), Some(86_400_000));
        assert_eq!(ms("1970"), Some(0));
        assert_eq!(ms("1970-01-01T01:00:00+0100"), Some(0));
        assert_eq!(ms("1970-01-01T00:00:00-01:00"), Some(3_600_000));
        assert_eq!(ms("1970-01-01T05:45+0545"), Some(0));
        assert_eq!(ms("2020-02-23T22:45:12.000-0100"), Some(1_582_501_512_000));
        assert_eq!(ms("1970-01-01T24"), Some(86_400_000));
        assert_eq!(ms("1970-01-01T24:01"), None);
        assert_eq!(ms("yesterday"), None);
        assert_eq!(ms("1970-01-01T00:00:00+1"), None);
        assert_eq!(ms("12"), None);
    }
}
