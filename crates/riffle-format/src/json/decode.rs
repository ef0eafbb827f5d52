//! JSON record → Arrow, with the coercions of ksqlDB's `KsqlJsonDeserializer` and
//! `JsonSerdeUtils`.
//!
//! Each record is parsed once into a `serde_json::Value` (numbers keep their text, as the
//! workspace enables `arbitrary_precision`) and its values are appended straight into the column
//! builders. A value that cannot be coerced rolls the row back and reports ksqlDB's message,
//! e.g. `Can't convert type. sourceType: TextNode, requiredType: INTEGER, path: $.FOO`.

use serde_json::{Map, Value};

use riffle_types::{Column, SqlType};

use crate::builder::ColumnBuilder;
use crate::java::{self, BigDec};
use crate::validate::connect_type_name;
use crate::RowDecoder;

/// Where in the document a value sits, rendered only for error messages (`$.A[2].B`).
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    MapKey(&'a Path<'a>, &'a str),
    MapValue(&'a Path<'a>, &'a str),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => "$".to_string(),
            Path::Field(p, f) => format!("{}.{f}", p.render()),
            Path::Index(p, i) => format!("{}[{i}]", p.render()),
            Path::MapKey(p, k) => format!("{}.{k}.key", p.render()),
            Path::MapValue(p, k) => format!("{}.{k}.value", p.render()),
        }
    }
}

/// Coercion failure: ksqlDB's message and the JSON path where it happened.
struct Coerce {
    msg: String,
    path: String,
}

type CResult = Result<(), Coerce>;

fn fail(msg: String, path: &Path) -> Coerce {
    Coerce {
        msg,
        path: path.render(),
    }
}

/// Jackson's node class name for a JSON value, as ksqlDB's messages print it.
fn node_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NullNode",
        Value::Bool(_) => "BooleanNode",
        Value::Number(n) => java::json_number_node(n.as_str()),
        Value::String(_) => "TextNode",
        Value::Array(_) => "ArrayNode",
        Value::Object(_) => "ObjectNode",
    }
}

fn invalid(v: &Value, required: &str, path: &Path) -> Coerce {
    fail(
        format!(
            "Can't convert type. sourceType: {}, requiredType: {required}",
            node_name(v)
        ),
        path,
    )
}

fn failed_string(target: &str, path: &Path) -> Coerce {
    fail(
        format!("Can't coerce string to type. targetType: {target}"),
        path,
    )
}

/// Decodes JSON documents into one builder per column.
pub(crate) struct JsonDecoder<'a> {
    columns: &'a [Column],
    /// The document is the single column's value rather than an object of columns.
    unwrapped: bool,
}

impl<'a> JsonDecoder<'a> {
    pub(crate) fn new(columns: &'a [Column], unwrapped: bool) -> Self {
        JsonDecoder {
            columns,
            unwrapped: unwrapped && columns.len() == 1,
        }
    }
}

impl RowDecoder for JsonDecoder<'_> {
    fn decode_row(&mut self, bytes: &[u8], builders: &mut [ColumnBuilder]) -> Result<bool, String> {
        match parse_document(bytes)? {
            None => Ok(false),
            Some(v) => self.decode_value(&v, builders),
        }
    }
}

impl JsonDecoder<'_> {
    /// Coerces an already parsed document into the builders, as [`RowDecoder::decode_row`]
    /// does after parsing (`Ok(false)` for `null`).
    pub(crate) fn decode_value(
        &self,
        value: &Value,
        builders: &mut [ColumnBuilder],
    ) -> Result<bool, String> {
        if value.is_null() {
            return Ok(false);
        }
        let res = if self.unwrapped {
            coerce(&self.columns[0].ty, &mut builders[0], value, &Path::Root)
        } else {
            coerce_row(self.columns, builders, value)
        };
        res.map(|()| true)
            .map_err(|c| format!("{}, path: {}", c.msg, c.path))
    }
}

/// Parses the first JSON value of `bytes`, ignoring trailing content as Jackson's `readTree`
/// does; `None` for an empty document.
pub(crate) fn parse_document(bytes: &[u8]) -> Result<Option<Value>, String> {
    match serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .next()
    {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(e)) => Err(parse_error_message(&e)),
    }
}

/// serde_json's message without the location, which ksqlDB clears to keep data out of logs.
fn parse_error_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn coerce_row(columns: &[Column], builders: &mut [ColumnBuilder], value: &Value) -> CResult {
    let Value::Object(obj) = value else {
        let required = format!(
            "STRUCT<{}>",
            columns
                .iter()
                .map(|c| format!("{} {}", c.name, connect_type_name(&c.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Err(invalid(value, &required, &Path::Root));
    };
    for (col, b) in columns.iter().zip(builders.iter_mut()) {
        let path = Path::Field(&Path::Root, &col.name);
        match lookup(obj, &col.name) {
            Some(v) => coerce(&col.ty, b, v, &path)?,
            None => b.append_null(),
        }
    }
    Ok(())
}

/// A field by exact name, else by upper-casing the document's keys (the last such key wins), as
/// `KsqlJsonDeserializer.enforceFieldTypesForStruct` matches them.
fn lookup<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    if let Some(v) = obj.get(name) {
        return Some(v);
    }
    obj.iter()
        .rev()
        .find(|(k, _)| upper_eq(k, name))
        .map(|(_, v)| v)
}

/// `key.toUpperCase().equals(name)`.
fn upper_eq(key: &str, name: &str) -> bool {
    if key.is_ascii() {
        return key.len() == name.len()
            && key
                .bytes()
                .zip(name.bytes())
                .all(|(a, b)| a.to_ascii_uppercase() == b);
    }
    key.chars().flat_map(char::to_uppercase).eq(name.chars())
}

fn coerce(ty: &SqlType, b: &mut ColumnBuilder, v: &Value, path: &Path) -> CResult {
    if v.is_null() {
        b.append_null();
        return Ok(());
    }
    match ty {
        SqlType::Boolean => match v {
            Value::Bool(x) => b.push_bool(*x),
            _ => return Err(invalid(v, "BOOLEAN", path)),
        },
        SqlType::Int => {
            b.push_i32(
                to_long(v, "INTEGER", path, |s| s.parse::<i32>().ok().map(i64::from))? as i32,
            )
        }
        SqlType::Bigint => b.push_i64(to_long(v, "BIGINT", path, |s| s.parse::<i64>().ok())?),
        SqlType::Double => match v {
            Value::Number(n) => b.push_f64(n.as_str().parse::<f64>().unwrap_or(f64::NAN)),
            Value::String(s) => match java::parse_java_double(s) {
                Some(x) => b.push_f64(x),
                None => return Err(failed_string("DOUBLE", path)),
            },
            _ => return Err(invalid(v, "DOUBLE", path)),
        },
        SqlType::Decimal { precision, scale } => {
            let bd = match v {
                Value::Number(n) => BigDec::parse(n.as_str()),
                Value::String(s) => BigDec::parse(s),
                _ => return Err(invalid(v, &connect_type_name(ty), path)),
            };
            let unscaled = bd
                .and_then(|d| d.fit(*precision, *scale))
                .map_err(|m| fail(m, path))?;
            b.push_i128(unscaled);
        }
        SqlType::String => match v {
            Value::String(s) => b.push_str(s),
            other => b.push_str(&as_text(other)),
        },
        SqlType::Bytes => match v {
            Value::String(s) => match java::base64_decode(s) {
                Some(bytes) => b.push_bytes(&bytes),
                None => {
                    return Err(fail(
                        format!("Value is not a valid Base64 encoded string: {s}"),
                        path,
                    ))
                }
            },
            _ => return Err(invalid(v, "BYTES", path)),
        },
        SqlType::Date => {
            let days = to_long(v, "DATE", path, |s| s.parse::<i64>().ok())?;
            b.push_i32(days as i32);
        }
        SqlType::Time => {
            let ms = to_long(v, "TIME", path, |s| s.parse::<i64>().ok())?;
            if !(0..=86_400_000).contains(&ms) {
                return Err(fail(
                    "Time values must use number of milliseconds greater than 0 and less than \
                     86400000."
                        .to_string(),
                    path,
                ));
            }
            b.push_i32(ms as i32);
        }
        SqlType::Timestamp => b.push_i64(to_long(v, "TIMESTAMP", path, |s| s.parse::<i64>().ok())?),
        SqlType::Array(item_ty) => {
            let Value::Array(items) = v else {
                return Err(invalid(v, &connect_type_name(ty), path));
            };
            let Some(item) = b.list_item() else {
                b.append_null();
                return Ok(());
            };
            for (i, x) in items.iter().enumerate() {
                coerce(item_ty, item, x, &Path::Index(path, i))?;
            }
            b.end_row();
        }
        SqlType::Map(key_ty, value_ty) => {
            let Value::Object(entries) = v else {
                return Err(invalid(v, &connect_type_name(ty), path));
            };
            let Some((keys, values)) = b.map_parts() else {
                b.append_null();
                return Ok(());
            };
            for (k, x) in entries {
                if **key_ty == SqlType::String {
                    keys.push_str(k);
                } else {
                    coerce(
                        key_ty,
                        keys,
                        &Value::String(k.clone()),
                        &Path::MapKey(path, k),
                    )?;
                }
                coerce(value_ty, values, x, &Path::MapValue(path, k))?;
            }
            b.end_row();
        }
        SqlType::Struct(fields) => {
            let Value::Object(obj) = v else {
                return Err(invalid(v, &connect_type_name(ty), path));
            };
            let Some(children) = b.struct_children() else {
                b.append_null();
                return Ok(());
            };
            for (f, child) in fields.iter().zip(children.iter_mut()) {
                match lookup(obj, &f.name) {
                    Some(x) => coerce(&f.ty, child, x, &Path::Field(path, &f.name))?,
                    None => child.append_null(),
                }
            }
            b.end_row();
        }
    }
    Ok(())
}

/// `JsonSerdeUtils.toInteger/toLong`-style coercion: any number (fraction truncated, low bits
/// kept), or a string the strict Java parser accepts.
fn to_long(
    v: &Value,
    target: &str,
    path: &Path,
    parse: impl Fn(&str) -> Option<i64>,
) -> Result<i64, Coerce> {
    match v {
        Value::Number(n) => Ok(java::java_long_value(n.as_str())),
        Value::String(s) => parse(s).ok_or_else(|| failed_string(target, path)),
        _ => Err(invalid(v, target, path)),
    }
}

/// `KsqlJsonDeserializer.processString`: numbers and booleans as text, objects as JSON, arrays
/// as `[a, b]` of their elements' text.
fn as_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => java::json_number_text(n.as_str()),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(as_text).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
    }
}
