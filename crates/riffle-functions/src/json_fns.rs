//! ksqlDB's JSON functions over strings that hold JSON (ksqlDB `udf.json`, KLIP-59):
//!
//! * `EXTRACTJSONFIELD(json, path)` (`JsonExtractString`): the value at a JSONPath such as
//!   `$.a.b[0]` or `$["a b"]`; a string value comes back as its text, anything else as compact
//!   JSON; a missing path, a non-array index or an out-of-range index gives NULL.
//! * `IS_JSON_STRING(s)`, `JSON_ARRAY_LENGTH(s)`, `JSON_KEYS(s)`, `JSON_RECORDS(s)` (values: a
//!   string's text, other values' JSON),
//!   `JSON_ITEMS(s)`, `JSON_CONCAT(s, s...)` (PostgreSQL's `||` rules), `JSON_ARRAY_CONTAINS(s, v)`.
//! * `TO_JSON_STRING(v)`: any value as JSON text (NULL becomes `null`; DATE, TIME and TIMESTAMP
//!   as ksqlDB prints them, BYTES in base64, DOUBLE as Java prints it).
//!
//! Like Jackson's `readTree`, parsing takes the first JSON value of the text and ignores what
//! follows it. Text that is not JSON gives NULL (ksqlDB logs a function error and yields NULL).

use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::*;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ScalarUDF;
use serde_json::Value;

use crate::dec;
use crate::format::{date_string, java_double, time_string, timestamp_string};
use crate::types::{is_string, list_of, map_of, STRING};
use crate::udf::{no_overload, KsqlUdf, Typed};

/// The UDFs of this module.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new("EXTRACTJSONFIELD", type_extract, eval_extract).into_udf(),
        KsqlUdf::new(
            "IS_JSON_STRING",
            |a, _| strings(a, "is_json_string", 1, DataType::Boolean),
            |a, _| {
                let s = a[0].as_string::<i32>();
                let out: BooleanArray = (0..s.len())
                    .map(|i| Some(s.is_valid(i) && parse(s.value(i)).is_some()))
                    .collect();
                Ok(Arc::new(out))
            },
        )
        .into_udf(),
        KsqlUdf::new(
            "JSON_ARRAY_LENGTH",
            |a, _| strings(a, "json_array_length", 1, DataType::Int32),
            |a, _| {
                let out: Int32Array = json_rows(&a[0])
                    .map(|v| match v {
                        Some(Value::Array(items)) => i32::try_from(items.len()).ok(),
                        _ => None,
                    })
                    .collect();
                Ok(Arc::new(out))
            },
        )
        .into_udf(),
        KsqlUdf::new(
            "JSON_KEYS",
            |a, _| strings(a, "json_keys", 1, list_of(STRING)),
            |a, _| {
                string_lists(&a[0], |v| match v {
                    Value::Object(m) => Some(m.keys().cloned().collect()),
                    _ => None,
                })
            },
        )
        .into_udf(),
        KsqlUdf::new(
            "JSON_ITEMS",
            |a, _| strings(a, "json_items", 1, list_of(STRING)),
            |a, _| {
                string_lists(&a[0], |v| match v {
                    Value::Array(items) => Some(items.iter().map(Value::to_string).collect()),
                    _ => None,
                })
            },
        )
        .into_udf(),
        KsqlUdf::new(
            "JSON_RECORDS",
            |a, _| strings(a, "json_records", 1, map_of(STRING, STRING)),
            eval_records,
        )
        .into_udf(),
        KsqlUdf::new("JSON_CONCAT", type_concat, eval_concat).into_udf(),
        KsqlUdf::new("JSON_ARRAY_CONTAINS", type_contains, eval_contains).into_udf(),
        KsqlUdf::new(
            "TO_JSON_STRING",
            |a, _| {
                if a.len() != 1 {
                    return no_overload("to_json_string", a);
                }
                Ok(Typed::new(a, STRING))
            },
            |a, _| {
                let out: StringArray = (0..a[0].len())
                    .map(|i| Some(to_json(a[0].as_ref(), i)))
                    .collect();
                Ok(Arc::new(out))
            },
        )
        .into_udf(),
    ]
}

/// The first JSON value of `text`, as Jackson's `readTree` reads it (trailing text ignored).
fn parse(text: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()
        .and_then(|v| v.ok())
}

/// The parsed JSON of each row of a string array (None for NULL or text that is not JSON).
fn json_rows(a: &ArrayRef) -> impl Iterator<Item = Option<Value>> + '_ {
    let s = a.as_string::<i32>();
    (0..s.len()).map(move |i| {
        if s.is_valid(i) {
            parse(s.value(i))
        } else {
            None
        }
    })
}

/// Types a call taking `n` strings (NULL literals accepted).
fn strings(args: &[DataType], name: &str, n: usize, ret: DataType) -> Result<Typed> {
    if args.len() != n || !args.iter().all(|t| is_string(t) || t == &DataType::Null) {
        return no_overload(name, args);
    }
    Ok(Typed {
        args: vec![STRING; n],
        ret,
    })
}

fn type_extract(args: &[DataType], _: &[Option<datafusion::common::ScalarValue>]) -> Result<Typed> {
    strings(args, "extractjsonfield", 2, STRING)
}

fn eval_extract(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (docs, paths) = (args[0].as_string::<i32>(), args[1].as_string::<i32>());
    let mut last: Option<(String, Vec<String>)> = None;
    let mut out = StringBuilder::new();
    for i in 0..docs.len() {
        if docs.is_null(i) || paths.is_null(i) {
            out.append_null();
            continue;
        }
        let path = paths.value(i);
        if last.as_ref().map(|(p, _)| p.as_str()) != Some(path) {
            last = Some((path.to_string(), path_tokens(path)?));
        }
        let tokens = last.as_ref().map(|(_, t)| t.as_slice()).unwrap_or_default();
        match parse(docs.value(i)).as_ref().and_then(|v| walk(v, tokens)) {
            Some(Value::String(s)) => out.append_value(s),
            Some(v) => out.append_value(v.to_string()),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// The steps of a JSONPath: `$` then `.name`, `[index]` or `["name"]` (or `['name']`).
fn path_tokens(path: &str) -> Result<Vec<String>> {
    let invalid = || exec_err!("Invalid JSON path: '{path}'");
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if chars.get(i) != Some(&'$') {
        return invalid();
    }
    i += 1;
    let unquoted = |i: &mut usize| -> String {
        let start = *i;
        while *i < chars.len() && !matches!(chars[*i], '.' | '[' | ']' | '"' | '\'') {
            if chars[*i].is_whitespace() {
                break;
            }
            *i += 1;
        }
        chars[start..*i].iter().collect()
    };
    let mut tokens = Vec::new();
    loop {
        skip_ws(&mut i);
        match chars.get(i) {
            None => return Ok(tokens),
            Some('.') => {
                i += 1;
                skip_ws(&mut i);
                let t = unquoted(&mut i);
                if t.is_empty() {
                    return invalid();
                }
                tokens.push(t);
            }
            Some('[') => {
                i += 1;
                skip_ws(&mut i);
                let token = match chars.get(i) {
                    Some(&q) if q == '"' || q == '\'' => {
                        let start = i + 1;
                        let Some(len) = chars[start..].iter().position(|c| *c == q) else {
                            return invalid();
                        };
                        i = start + len + 1;
                        chars[start..start + len].iter().collect()
                    }
                    _ => unquoted(&mut i),
                };
                skip_ws(&mut i);
                if token.is_empty() || chars.get(i) != Some(&']') {
                    return invalid();
                }
                i += 1;
                tokens.push(token);
            }
            Some(_) => return invalid(),
        }
    }
}

/// Follows `tokens` from `v`: names into objects, integer indexes into arrays.
fn walk<'a>(mut v: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    for t in tokens {
        v = match v {
            Value::Array(items) => items.get(usize::try_from(t.parse::<i64>().ok()?).ok()?)?,
            Value::Object(m) => m.get(t)?,
            _ => return None,
        };
    }
    Some(v)
}

/// An ARRAY<STRING> per row from the row's JSON (NULL where `f` gives None).
fn string_lists(a: &ArrayRef, f: impl Fn(&Value) -> Option<Vec<String>>) -> Result<ArrayRef> {
    let mut out = ListBuilder::new(StringBuilder::new());
    for v in json_rows(a) {
        match v.as_ref().and_then(&f) {
            Some(items) => {
                for s in items {
                    out.values().append_value(s);
                }
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn eval_records(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let (mut keys, mut values) = (StringBuilder::new(), StringBuilder::new());
    let mut offsets = vec![0i32];
    let mut valid = Vec::new();
    let mut n = 0i32;
    for v in json_rows(&args[0]) {
        if let Some(Value::Object(m)) = v {
            for (k, v) in m {
                keys.append_value(k);
                // A string value as its text (as EXTRACTJSONFIELD gives it), anything else as
                // compact JSON.
                match v {
                    Value::String(text) => values.append_value(text),
                    other => values.append_value(other.to_string()),
                }
                n += 1;
            }
            valid.push(true);
        } else {
            valid.push(false);
        }
        offsets.push(n);
    }
    crate::collections::map_array(
        ret,
        Arc::new(keys.finish()),
        Arc::new(values.finish()),
        offsets,
        valid,
    )
}

fn type_concat(args: &[DataType], _: &[Option<datafusion::common::ScalarValue>]) -> Result<Typed> {
    if args.is_empty() || !args.iter().all(|t| is_string(t) || t == &DataType::Null) {
        return no_overload("json_concat", args);
    }
    Ok(Typed {
        args: vec![STRING; args.len()],
        ret: STRING,
    })
}

/// PostgreSQL's `||`: objects merge (later keys win), anything else concatenates as arrays
/// (a non-array value counting as a one-element array); NULL if any input is not JSON.
fn eval_concat(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let rows: Vec<Vec<Option<Value>>> = args.iter().map(|a| json_rows(a).collect()).collect();
    let n = args.first().map(|a| a.len()).unwrap_or(0);
    let out: StringArray = (0..n)
        .map(|i| {
            let mut acc: Option<Value> = None;
            for row in &rows {
                let next = row[i].clone()?;
                acc = Some(match (acc, next) {
                    (None, v) => v,
                    (Some(Value::Object(mut a)), Value::Object(b)) => {
                        a.extend(b);
                        Value::Object(a)
                    }
                    (Some(a), b) => {
                        let mut items = into_items(a);
                        items.extend(into_items(b));
                        Value::Array(items)
                    }
                });
            }
            acc.map(|v| v.to_string())
        })
        .collect();
    Ok(Arc::new(out))
}

fn into_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

fn type_contains(
    args: &[DataType],
    _: &[Option<datafusion::common::ScalarValue>],
) -> Result<Typed> {
    let ok = args.len() == 2
        && (is_string(&args[0]) || args[0] == DataType::Null)
        && matches!(
            args[1],
            DataType::Boolean
                | DataType::Int32
                | DataType::Int64
                | DataType::Float64
                | DataType::Utf8
                | DataType::Null
        );
    if !ok {
        return no_overload("json_array_contains", args);
    }
    Ok(Typed {
        args: vec![STRING, args[1].clone()],
        ret: DataType::Boolean,
    })
}

/// Whether the JSON array holds the value (compared as the value's type: a string matches only
/// JSON strings, a number only numbers); false for NULL, text that is not JSON or not an array.
fn eval_contains(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let needle = args[1].as_ref();
    let out: BooleanArray = json_rows(&args[0])
        .enumerate()
        .map(|(i, v)| {
            let Some(Value::Array(items)) = v else {
                return Some(false);
            };
            let wanted = parse(&to_json(needle, i)).unwrap_or(Value::Null);
            Some(items.iter().any(|item| json_equal(item, &wanted)))
        })
        .collect();
    Ok(Arc::new(out))
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64().is_some() && x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// Row `i` of `a` as JSON text, as ksqlDB's `TO_JSON_STRING` writes it (written directly
/// rather than through `serde_json::Value`, whose numbers cannot print a DOUBLE as Java does).
pub fn to_json(a: &dyn Array, i: usize) -> String {
    let mut out = String::new();
    write_json(a, i, &mut out);
    out
}

fn write_json(a: &dyn Array, i: usize, out: &mut String) {
    use std::fmt::Write as _;
    if a.is_null(i) {
        out.push_str("null");
        return;
    }
    let quoted = |s: &str, out: &mut String| {
        out.push_str(&Value::String(s.to_string()).to_string());
    };
    let double = |d: f64, out: &mut String| {
        if d.is_finite() {
            out.push_str(&java_double(d));
        } else {
            // Jackson writes non-finite doubles as strings.
            quoted(&java_double(d), out);
        }
    };
    match a.data_type() {
        DataType::Boolean => out.push_str(if a.as_boolean().value(i) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => _ = write!(out, "{}", a.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => _ = write!(out, "{}", a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => _ = write!(out, "{}", a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => _ = write!(out, "{}", a.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => double(a.as_primitive::<Float32Type>().value(i) as f64, out),
        DataType::Float64 => double(a.as_primitive::<Float64Type>().value(i), out),
        DataType::Decimal128(_, s) => out.push_str(&dec::to_plain_string(
            a.as_primitive::<Decimal128Type>().value(i),
            *s as i32,
        )),
        DataType::Utf8 => quoted(a.as_string::<i32>().value(i), out),
        DataType::LargeUtf8 => quoted(a.as_string::<i64>().value(i), out),
        DataType::Utf8View => quoted(a.as_string_view().value(i), out),
        DataType::Date32 => quoted(&date_string(a.as_primitive::<Date32Type>().value(i)), out),
        DataType::Time32(TimeUnit::Millisecond) => quoted(
            &time_string(a.as_primitive::<Time32MillisecondType>().value(i)),
            out,
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => quoted(
            &timestamp_string(a.as_primitive::<TimestampMillisecondType>().value(i)),
            out,
        ),
        DataType::Binary => quoted(
            &base64::engine::general_purpose::STANDARD.encode(a.as_binary::<i32>().value(i)),
            out,
        ),
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(i);
            out.push('[');
            for j in 0..items.len() {
                if j > 0 {
                    out.push(',');
                }
                write_json(items.as_ref(), j, out);
            }
            out.push(']');
        }
        DataType::Map(_, _) => {
            let entries = a.as_map().value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push(',');
                }
                let key = crate::format::value_string(keys.as_ref(), j).unwrap_or_default();
                quoted(&key, out);
                out.push(':');
                write_json(values.as_ref(), j, out);
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            out.push('{');
            for (n, (f, c)) in fields.iter().zip(s.columns()).enumerate() {
                if n > 0 {
                    out.push(',');
                }
                quoted(f.name(), out);
                out.push(':');
                write_json(c.as_ref(), i, out);
            }
            out.push('}');
        }
        _ => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(doc: &str, path: &str) -> Option<String> {
        let tokens = path_tokens(path).unwrap_or_else(|e| panic!("{e}"));
        parse(doc)
            .as_ref()
            .and_then(|v| walk(v, &tokens))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
    }

    #[test]
    fn extract_follows_paths_like_ksqldb() {
        let doc = r#"{"a": {"b": [10, {"c": "x"}]}, "@type": "T", "n": 1.50, "q k": true}"#;
        assert_eq!(extract(doc, "$.a.b[1].c").as_deref(), Some("x"));
        assert_eq!(extract(doc, "$.a.b[0]").as_deref(), Some("10"));
        assert_eq!(extract(doc, "$.a.b[-1]"), None);
        assert_eq!(extract(doc, "$.a.b[2]"), None);
        assert_eq!(extract(doc, "$.a.b.c"), None);
        assert_eq!(extract(doc, "$.@type").as_deref(), Some("T"));
        assert_eq!(extract(doc, "$.n").as_deref(), Some("1.50"));
        assert_eq!(extract(doc, r#"$["q k"]"#).as_deref(), Some("true"));
        assert_eq!(
            extract(doc, "$.a").as_deref(),
            Some(r#"{"b":[10,{"c":"x"}]}"#)
        );
        assert_eq!(extract(r#"{"a": 1}}"#, "$.a").as_deref(), Some("1"));
        assert_eq!(extract("not json", "$.a"), None);
        assert!(path_tokens("a.b").is_err());
        assert!(path_tokens("$.").is_err());
        assert!(path_tokens("$[1").is_err());
    }

    #[test]
    fn concat_follows_postgres_rules() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![
                Some(r#"{"a": 1, "b": {"x": 1}}"#),
                Some("[1, 2]"),
                Some("1"),
                Some("abc"),
                None,
            ])),
            Arc::new(StringArray::from(vec![
                Some(r#"{"b": {"y": 2}}"#),
                Some(r#"{"a": 1}"#),
                Some("2"),
                Some("[1]"),
                Some("[1]"),
            ])),
        ];
        let out = eval_concat(&args, &STRING).unwrap_or_else(|e| panic!("{e}"));
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), r#"{"a":1,"b":{"y":2}}"#);
        assert_eq!(out.value(1), r#"[1,2,{"a":1}]"#);
        assert_eq!(out.value(2), "[1,2]");
        assert!(out.is_null(3) && out.is_null(4));
    }

    #[test]
    fn to_json_writes_ksqldb_text() {
        let ts = datafusion::arrow::array::TimestampMillisecondArray::from(vec![60_220_000_000]);
        assert_eq!(to_json(&ts, 0), "\"1971-11-28T23:46:40.000\"");
        let d = datafusion::arrow::array::Float64Array::from(vec![1e7, 15.3]);
        assert_eq!(to_json(&d, 0), "1.0E7");
        assert_eq!(to_json(&d, 1), "15.3");
        let b = datafusion::arrow::array::BinaryArray::from(vec![&b"!"[..]]);
        assert_eq!(to_json(&b, 0), "\"IQ==\"");
        let n = StringArray::from(vec![None::<&str>]);
        assert_eq!(to_json(&n, 0), "null");
    }
}
