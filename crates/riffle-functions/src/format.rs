//! Values rendered as ksqlDB renders them with Java's `toString`: `CAST(x AS STRING)` of any type
//! (`String.valueOf` in ksqlDB's `CastEvaluator`).
//!
//! Arrow's cast to Utf8 differs for doubles (`1e21` vs Java's `1.0E21`, `1` vs `1.0`), DECIMALs
//! and every nested type (`[1, 3]`, `{k=1}`, `Struct{F0=1}` in ksqlDB).

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Time32MillisecondType, TimeUnit, TimestampMillisecondType,
};

use crate::dec;

/// Java's `Double.toString(d)`.
pub fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let mut sci = format!("{:e}", d.abs());
    if !sci.contains('.') {
        // Java prints at least two significant digits, correctly rounded (4.9E-324, not 5E-324).
        sci = format!("{:.1e}", d.abs());
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0".to_string(),
        d => d.to_string(),
    };
    let sign = if d < 0.0 { "-" } else { "" };
    let a = d.abs();
    if (1e-3..1e7).contains(&a) {
        // Plain notation with at least one fractional digit.
        let point = exp + 1; // digits before the point
        let (int_part, frac_part) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                "0".to_string(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        format!("{sign}{int_part}.{frac_part}")
    } else {
        let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{}E{exp}", &digits[..1], frac)
    }
}

/// ksqlDB's rendering of a DATE (`yyyy-MM-dd`).
pub fn date_string(days: i32) -> String {
    match chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(days as i64)))
    {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}

/// ksqlDB's rendering of a TIME (`HH:mm:ss` plus `.SSS` when there are milliseconds).
pub fn time_string(millis: i32) -> String {
    let ms = millis.rem_euclid(86_400_000);
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if f == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{f:03}")
    }
}

/// ksqlDB's rendering of a TIMESTAMP (`yyyy-MM-ddTHH:mm:ss.SSS`, UTC).
pub fn timestamp_string(millis: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(millis) {
        Some(t) => t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        None => millis.to_string(),
    }
}

/// The ksqlDB string of row `i` of `a` (None for null).
pub fn value_string(a: &dyn Array, i: usize) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Boolean => a.as_boolean().value(i).to_string(),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Float32 => java_double(a.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => java_double(a.as_primitive::<Float64Type>().value(i)),
        DataType::Decimal128(_, s) => {
            dec::to_plain_string(a.as_primitive::<Decimal128Type>().value(i), *s as i32)
        }
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        DataType::Date32 => date_string(a.as_primitive::<Date32Type>().value(i)),
        DataType::Time32(TimeUnit::Millisecond) => {
            time_string(a.as_primitive::<Time32MillisecondType>().value(i))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            timestamp_string(a.as_primitive::<TimestampMillisecondType>().value(i))
        }
        DataType::Binary => hex(a.as_binary::<i32>().value(i)),
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(i);
            let parts: Vec<String> = (0..items.len())
                .map(|j| value_string(items.as_ref(), j).unwrap_or_else(|| "null".into()))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        DataType::Map(_, _) => {
            let entries = a.as_map().value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            let parts: Vec<String> = (0..entries.len())
                .map(|j| {
                    format!(
                        "{}={}",
                        value_string(keys.as_ref(), j).unwrap_or_else(|| "null".into()),
                        value_string(values.as_ref(), j).unwrap_or_else(|| "null".into())
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        DataType::Struct(fields) => {
            // Kafka Connect's Struct.toString leaves null fields out.
            let s = a.as_struct();
            let parts: Vec<String> = fields
                .iter()
                .zip(s.columns())
                .filter_map(|(f, c)| {
                    value_string(c.as_ref(), i).map(|v| format!("{}={}", f.name(), v))
                })
                .collect();
            format!("Struct{{{}}}", parts.join(","))
        }
        _ => return None,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1.5), "1.5");
        assert_eq!(java_double(-0.001), "-0.001");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.234e-5), "1.234E-5");
        assert_eq!(java_double(123456.789), "123456.789");
        assert_eq!(java_double(4.9e-324), "4.9E-324");
        assert_eq!(
            java_double(1.7976931348623157e308),
            "1.7976931348623157E308"
        );
        assert_eq!(time_string(3_723_004), "01:02:03.004");
        assert_eq!(timestamp_string(1651182287943), "2022-04-28T21:44:47.943");
    }
}
