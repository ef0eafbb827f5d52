//! More of ksqlDB's string and bytes functions (`io.confluent.ksql.function.udf.string.*`).
//!
//! * `LPAD`/`RPAD` (ksqlDB `LPad`, `RPad`): the result is exactly the target length (input
//!   truncated), null for a negative length or empty padding; DataFusion's panics on huge
//!   lengths and does not take BYTES.
//! * `INSTR(s, sub[, pos[, n]])` (ksqlDB `Instr`): a negative position searches backwards;
//!   DataFusion's `strpos` takes two arguments.
//! * `INITCAP` (ksqlDB `InitCap`): words are separated by whitespace only (`some_string` →
//!   `Some_string`); DataFusion also splits on punctuation.
//! * `CHR` (ksqlDB `Chr`): takes a code point or a `\uXXXX` string, null when invalid.
//! * `ENCODE(s, from, to)`, `TO_BYTES`, `FROM_BYTES` (ksqlDB `Encode`, `ToBytes`, `FromBytes`):
//!   hex/utf8/ascii/base64 conversions; DataFusion's `encode` takes two arguments.
//! * `SPLIT(s, delim)` (ksqlDB `Split`): an empty delimiter splits into characters, and BYTES
//!   split too; DataFusion's `string_to_array` differs on both.
//! * `REGEXP_REPLACE`, `REGEXP_EXTRACT`, `REGEXP_EXTRACT_ALL`, `REGEXP_SPLIT_TO_ARRAY`
//!   (ksqlDB `RegexpReplace`, …): Java's `replaceAll`/`find` semantics; DataFusion's
//!   `regexp_replace` replaces only the first match.

use std::sync::Arc;

use base64::Engine;
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;
use regex::Regex;

use crate::types::{is_integer, is_string, list_of, BIGINT, INT, STRING};
use crate::udf::{as_i64, as_str, no_overload, rowwise, KsqlUdf, Typed};

/// The string UDFs of this module.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new(
            "LPAD",
            |a, _| type_pad(a, "LPAD"),
            |a, r| eval_pad(a, r, true),
        )
        .into_udf(),
        KsqlUdf::new(
            "RPAD",
            |a, _| type_pad(a, "RPAD"),
            |a, r| eval_pad(a, r, false),
        )
        .into_udf(),
        KsqlUdf::new("INSTR", type_instr, eval_instr).into_udf(),
        KsqlUdf::new(
            "INITCAP",
            |a, _| type_strings(a, "INITCAP", 1, 1, STRING),
            eval_initcap,
        )
        .into_udf(),
        KsqlUdf::new("CHR", type_chr, eval_chr).into_udf(),
        KsqlUdf::new(
            "ENCODE",
            |a, _| type_strings(a, "ENCODE", 3, 3, STRING),
            eval_encode,
        )
        .into_udf(),
        KsqlUdf::new(
            "TO_BYTES",
            |a, _| type_strings(a, "TO_BYTES", 2, 2, DataType::Binary),
            eval_to_bytes,
        )
        .into_udf(),
        KsqlUdf::new("FROM_BYTES", type_from_bytes, eval_from_bytes).into_udf(),
        KsqlUdf::new("SPLIT", type_split, eval_split).into_udf(),
        KsqlUdf::new(
            "REGEXP_REPLACE",
            |a, _| type_strings(a, "REGEXP_REPLACE", 3, 3, STRING),
            eval_regexp_replace,
        )
        .into_udf(),
        KsqlUdf::new(
            "REGEXP_EXTRACT",
            |a, _| type_regexp_extract(a, STRING),
            |a, r| eval_regexp_extract(a, r, false),
        )
        .into_udf(),
        KsqlUdf::new(
            "REGEXP_EXTRACT_ALL",
            |a, _| type_regexp_extract(a, list_of(STRING)),
            |a, r| eval_regexp_extract(a, r, true),
        )
        .into_udf(),
        KsqlUdf::new(
            "REGEXP_SPLIT_TO_ARRAY",
            |a, _| type_strings(a, "REGEXP_SPLIT_TO_ARRAY", 2, 2, list_of(STRING)),
            eval_regexp_split,
        )
        .into_udf(),
    ]
}

fn str_ok(t: &DataType) -> bool {
    is_string(t) || t == &DataType::Null
}

fn int_ok(t: &DataType) -> bool {
    is_integer(t) || t == &DataType::Null
}

fn type_strings(
    args: &[DataType],
    name: &str,
    min: usize,
    max: usize,
    ret: DataType,
) -> Result<Typed> {
    if args.len() < min || args.len() > max || !args.iter().all(str_ok) {
        return no_overload(name, args);
    }
    Ok(Typed {
        args: vec![STRING; args.len()],
        ret,
    })
}

fn type_pad(args: &[DataType], name: &str) -> Result<Typed> {
    match args {
        [s, n, p]
            if int_ok(n)
                && ((str_ok(s) && str_ok(p))
                    || (s == &DataType::Binary
                        && (p == &DataType::Binary || p == &DataType::Null))) =>
        {
            let t = if s == &DataType::Binary {
                DataType::Binary
            } else {
                STRING
            };
            Ok(Typed {
                args: vec![t.clone(), INT, t.clone()],
                ret: t,
            })
        }
        _ => no_overload(name, args),
    }
}

/// ksqlDB's `LPad`/`RPad` on a slice.
fn pad<T: Clone>(input: &[T], len: i64, padding: &[T], left: bool) -> Option<Vec<T>> {
    if len < 0 || padding.is_empty() {
        return None;
    }
    let len = len as usize;
    let fill = len.saturating_sub(input.len());
    let pad: Vec<T> = padding.iter().cycle().take(fill).cloned().collect();
    let mut out: Vec<T> = if left {
        pad.into_iter().chain(input.iter().cloned()).collect()
    } else {
        input.iter().cloned().chain(pad).collect()
    };
    out.truncate(len);
    Some(out)
}

fn eval_pad(args: &[ArrayRef], ret: &DataType, left: bool) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(n) = as_i64(&row[1]) else {
            return Ok(ScalarValue::Null);
        };
        Ok(match (&row[0], &row[2]) {
            (ScalarValue::Binary(Some(s)), ScalarValue::Binary(Some(p))) => {
                ScalarValue::Binary(pad(s, n, p, left))
            }
            (a, b) => match (as_str(a), as_str(b)) {
                (Some(s), Some(p)) => {
                    let (s, p): (Vec<char>, Vec<char>) = (s.chars().collect(), p.chars().collect());
                    ScalarValue::Utf8(pad(&s, n, &p, left).map(|v| v.into_iter().collect()))
                }
                _ => ScalarValue::Null,
            },
        })
    })
}

fn type_instr(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    let ok = args.len() >= 2
        && args.len() <= 4
        && str_ok(&args[0])
        && str_ok(&args[1])
        && args[2..].iter().all(int_ok);
    if !ok {
        return no_overload("INSTR", args);
    }
    let mut coerced = vec![STRING, STRING];
    coerced.extend(std::iter::repeat_n(INT, args.len() - 2));
    Ok(Typed {
        args: coerced,
        ret: INT,
    })
}

/// ksqlDB's `Instr`: the 1-based index of the `occurrence`-th `sub` from `position`, 0 if none.
pub fn instr(s: &str, sub: &str, position: i64, occurrence: i64) -> i32 {
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let n = hay.len() as i64;
    let at = |i: i64| {
        i >= 0
            && i + needle.len() as i64 <= n
            && hay[i as usize..i as usize + needle.len()] == needle[..]
    };
    let mut found = 0;
    if position < 0 {
        let mut i = n + position;
        while i >= 0 {
            if at(i) {
                found += 1;
                if found == occurrence {
                    return (i + 1) as i32;
                }
            }
            i -= 1;
        }
    } else {
        let mut i = (position - 1).max(0);
        while i <= n {
            if at(i) {
                found += 1;
                if found == occurrence {
                    return (i + 1) as i32;
                }
            }
            i += 1;
        }
    }
    0
}

fn eval_instr(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(s), Some(sub)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Int32(Some(0)));
        };
        let pos = row.get(2).map(as_i64).unwrap_or(Some(1));
        let occ = row.get(3).map(as_i64).unwrap_or(Some(1));
        let (Some(pos), Some(occ)) = (pos, occ) else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::Int32(Some(instr(s, sub, pos, occ))))
    })
}

fn eval_initcap(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(s) = as_str(&row[0]) else {
            return Ok(ScalarValue::Null);
        };
        let mut out = String::with_capacity(s.len());
        let mut start = true;
        for c in s.chars() {
            if c.is_whitespace() {
                start = true;
                out.push(c);
            } else if start {
                out.extend(c.to_uppercase());
                start = false;
            } else {
                out.extend(c.to_lowercase());
            }
        }
        Ok(ScalarValue::from(out))
    })
}

fn type_chr(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a] if int_ok(a) => Ok(Typed {
            args: vec![INT],
            ret: STRING,
        }),
        [a] if is_string(a) => Ok(Typed {
            args: vec![STRING],
            ret: STRING,
        }),
        _ => no_overload("CHR", args),
    }
}

fn eval_chr(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let out = match &row[0] {
            ScalarValue::Int32(Some(c)) => u32::try_from(*c)
                .ok()
                .and_then(char::from_u32)
                .map(String::from),
            v => as_str(v).and_then(unicode_escapes),
        };
        Ok(ScalarValue::Utf8(out))
    })
}

/// `\u004b`, `\ud820\udeb8` decoded; None for anything else.
fn unicode_escapes(s: &str) -> Option<String> {
    let mut units = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let hex = rest.strip_prefix("\\u")?;
        if hex.len() < 4 {
            return None;
        }
        units.push(u16::from_str_radix(&hex[..4], 16).ok()?);
        rest = &hex[4..];
    }
    if units.is_empty() {
        return None;
    }
    String::from_utf16(&units).ok()
}

/// Bytes of `s` read in `encoding` (ksqlDB's hex accepts `0x…` and `X'…'`).
fn decode(s: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => {
            let (body, prefixed) =
                if let Some(b) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    (b.to_string(), true)
                } else if let Some(b) = s.strip_prefix("X'").or_else(|| s.strip_prefix("x'")) {
                    (b.strip_suffix('\'')?.to_string(), false)
                } else {
                    (s.to_string(), false)
                };
            let body = if body.len() % 2 == 1 {
                if !prefixed {
                    return None;
                }
                format!("0{body}")
            } else {
                body
            };
            (0..body.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(body.get(i..i + 2)?, 16).ok())
                .collect()
        }
        "utf8" => Some(s.as_bytes().to_vec()),
        "ascii" => Some(
            s.chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        ),
        "base64" => base64::engine::general_purpose::STANDARD.decode(s).ok(),
        _ => None,
    }
}

/// `bytes` written in `encoding`.
fn encode(bytes: &[u8], encoding: &str) -> Option<String> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        "utf8" => Some(String::from_utf8_lossy(bytes).into_owned()),
        "ascii" => Some(
            bytes
                .iter()
                .map(|b| if b.is_ascii() { *b as char } else { '\u{fffd}' })
                .collect(),
        ),
        "base64" => Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        _ => None,
    }
}

fn eval_encode(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(s), Some(from), Some(to)) = (as_str(&row[0]), as_str(&row[1]), as_str(&row[2]))
        else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::Utf8(
            decode(s, from).and_then(|b| encode(&b, to)),
        ))
    })
}

fn eval_to_bytes(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(s), Some(enc)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::Binary(decode(s, enc)))
    })
}

fn type_from_bytes(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [b, e] if (b == &DataType::Binary || b == &DataType::Null) && str_ok(e) => Ok(Typed {
            args: vec![DataType::Binary, STRING],
            ret: STRING,
        }),
        _ => no_overload("FROM_BYTES", args),
    }
}

fn eval_from_bytes(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (ScalarValue::Binary(Some(b)), Some(enc)) = (&row[0], as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        // ksqlDB's FROM_BYTES writes hex in upper case (ENCODE in lower case).
        let text = encode(b, enc).map(|t| {
            if enc.eq_ignore_ascii_case("hex") {
                t.to_ascii_uppercase()
            } else {
                t
            }
        });
        Ok(ScalarValue::Utf8(text))
    })
}

fn type_split(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [s, d] if str_ok(s) && str_ok(d) => Ok(Typed {
            args: vec![STRING, STRING],
            ret: list_of(STRING),
        }),
        [s, d] if s == &DataType::Binary && (d == &DataType::Binary || d == &DataType::Null) => {
            Ok(Typed {
                args: vec![DataType::Binary, DataType::Binary],
                ret: list_of(DataType::Binary),
            })
        }
        _ => no_overload("SPLIT", args),
    }
}

/// ksqlDB's `Split` on a slice: an empty delimiter splits into elements.
fn split<T: PartialEq + Clone>(s: &[T], delim: &[T]) -> Vec<Vec<T>> {
    if delim.is_empty() {
        return s.iter().map(|c| vec![c.clone()]).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= s.len() {
        if s[i..i + delim.len()] == delim[..] {
            out.push(s[start..i].to_vec());
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(s[start..].to_vec());
    out
}

fn list_value(values: Vec<ScalarValue>, item: &DataType) -> ScalarValue {
    ScalarValue::List(ScalarValue::new_list_nullable(&values, item))
}

fn eval_split(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        Ok(match (&row[0], &row[1]) {
            (ScalarValue::Binary(Some(s)), ScalarValue::Binary(Some(d))) => list_value(
                split(s, d)
                    .into_iter()
                    .map(|p| ScalarValue::Binary(Some(p)))
                    .collect(),
                &DataType::Binary,
            ),
            (a, b) => match (as_str(a), as_str(b)) {
                (Some(s), Some(d)) => {
                    let (s, d): (Vec<char>, Vec<char>) = (s.chars().collect(), d.chars().collect());
                    list_value(
                        split(&s, &d)
                            .into_iter()
                            .map(|p| ScalarValue::from(p.into_iter().collect::<String>()))
                            .collect(),
                        &STRING,
                    )
                }
                _ => ScalarValue::Null,
            },
        })
    })
}

fn regex(pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        DataFusionError::Execution(format!("Invalid regular expression {pattern}: {e}"))
    })
}

fn eval_regexp_replace(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(s), Some(p), Some(r)) = (as_str(&row[0]), as_str(&row[1]), as_str(&row[2]))
        else {
            return Ok(ScalarValue::Null);
        };
        Ok(ScalarValue::from(regex(p)?.replace_all(s, r).into_owned()))
    })
}

fn type_regexp_extract(args: &[DataType], ret: DataType) -> Result<Typed> {
    let ok = (args.len() == 2 || args.len() == 3)
        && str_ok(&args[0])
        && str_ok(&args[1])
        && args[2..].iter().all(int_ok);
    if !ok {
        return no_overload("REGEXP_EXTRACT", args);
    }
    let mut coerced = vec![STRING, STRING];
    if args.len() == 3 {
        coerced.push(BIGINT);
    }
    Ok(Typed { args: coerced, ret })
}

fn eval_regexp_extract(args: &[ArrayRef], ret: &DataType, all: bool) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(p), Some(s)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        let group = match row.get(2) {
            Some(g) => match as_i64(g) {
                Some(g) => g as usize,
                None => return Ok(ScalarValue::Null),
            },
            None => 0,
        };
        let re = regex(p)?;
        if all {
            let found: Vec<ScalarValue> = re
                .captures_iter(s)
                .map(|c| ScalarValue::Utf8(c.get(group).map(|m| m.as_str().to_string())))
                .collect();
            return Ok(list_value(found, &STRING));
        }
        Ok(ScalarValue::Utf8(
            re.captures(s)
                .and_then(|c| c.get(group))
                .map(|m| m.as_str().to_string()),
        ))
    })
}

fn eval_regexp_split(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let (Some(s), Some(p)) = (as_str(&row[0]), as_str(&row[1])) else {
            return Ok(ScalarValue::Null);
        };
        let parts: Vec<ScalarValue> = regex(p)?.split(s).map(ScalarValue::from).collect();
        Ok(list_value(parts, &STRING))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_helpers() {
        assert_eq!(instr("corporate floor", "or", -4, 1), 5);
        assert_eq!(instr("short", "or", -4, 1), 0);
        assert_eq!(instr("corporate floor", "or", 1, 2), 5);
        assert_eq!(pad(&['a'], 3, &['x', 'y'], true), Some(vec!['x', 'y', 'a']));
        assert_eq!(
            pad(&['a', 'b', 'c'], 2, &['x'], false),
            Some(vec!['a', 'b'])
        );
        assert_eq!(pad(&['a'], -1, &['x'], false), None);
        assert_eq!(split(&[1, 0, 2], &[0]), vec![vec![1], vec![2]]);
        assert_eq!(decode("0x578616d706C6521", "hex").map(|b| b[0]), Some(5));
        assert_eq!(decode("578616d706C6521", "hex"), None);
        assert_eq!(unicode_escapes("\\u004b").as_deref(), Some("K"));
    }
}
