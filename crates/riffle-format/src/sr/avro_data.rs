//! Avro values ⇄ JSON and Arrow.
//!
//! * [`to_spec`]: an Avro value → JSON as ksqlDB's test tools show records
//!   (`SpecToConnectConverter.connectToSpec`): DECIMAL as a number with its scale, BYTES as
//!   base64, DATE/TIME/TIMESTAMP as numbers, records as objects of their fields. Decoding goes
//!   through this form too, and then through the JSON format's coercions.
//! * [`from_spec`]: JSON → an Avro value of a given schema (`specToConnect`): record fields are
//!   matched case-insensitively, missing fields take their default (or null).
//! * [`from_arrow`]: one Arrow value → an Avro value of a given schema, for sinks.

use apache_avro::schema::{RecordSchema, Schema};
use apache_avro::types::Value as Avro;
use apache_avro::Decimal;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use serde_json::{Map, Number, Value};

use super::avro_schema::{field_name, non_null_variants, union_branch_name, AvroSchema};
use crate::java::{self, BigDec};
use crate::json::{binary_at, list_at, string_at, temporal_i64};
use crate::value::double_value;

/// `unscaled` as the big-endian two's complement bytes Avro decimals use.
pub(crate) fn decimal_bytes(unscaled: i128) -> Vec<u8> {
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Big-endian two's complement bytes → an unscaled value, if it fits 128 bits.
pub(crate) fn decimal_value(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() {
        return Some(0);
    }
    let neg = bytes[0] & 0x80 != 0;
    let fill = if neg { 0xff } else { 0 };
    let skip = bytes.len().saturating_sub(16);
    if bytes[..skip].iter().any(|b| *b != fill) {
        return None;
    }
    let mut buf = [fill; 16];
    let tail = &bytes[skip..];
    buf[16 - tail.len()..].copy_from_slice(tail);
    Some(i128::from_be_bytes(buf))
}

fn number(text: &str) -> Value {
    serde_json::from_str::<Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_string()))
}

/// An Avro value (read with `schema`) → its JSON form (see the module docs).
pub(crate) fn to_spec(avro: &AvroSchema, schema: &Schema, v: &Avro) -> Value {
    let schema = avro.resolve(schema);
    match v {
        Avro::Null => Value::Null,
        Avro::Boolean(b) => Value::Bool(*b),
        Avro::Int(i) | Avro::Date(i) | Avro::TimeMillis(i) => Value::from(*i),
        Avro::Long(i)
        | Avro::TimeMicros(i)
        | Avro::TimestampMillis(i)
        | Avro::TimestampMicros(i)
        | Avro::TimestampNanos(i)
        | Avro::LocalTimestampMillis(i)
        | Avro::LocalTimestampMicros(i)
        | Avro::LocalTimestampNanos(i) => Value::from(*i),
        Avro::Float(f) => double_value(f64::from(*f)),
        Avro::Double(d) => double_value(*d),
        Avro::Bytes(b) | Avro::Fixed(_, b) => Value::String(java::base64_encode(b)),
        Avro::String(s) | Avro::Enum(_, s) => Value::String(s.clone()),
        Avro::Uuid(u) => Value::String(u.to_string()),
        Avro::Decimal(d) => {
            let scale = match schema {
                Schema::Decimal(ds) => ds.scale,
                _ => 0,
            };
            let bytes: Vec<u8> = Vec::<u8>::try_from(d).unwrap_or_default();
            match decimal_value(&bytes) {
                Some(u) => number(&java::decimal_to_string(u, scale.min(127) as i8)),
                None => Value::Null,
            }
        }
        Avro::BigDecimal(b) => number(&b.to_string()),
        Avro::Duration(_) => Value::Null,
        Avro::Array(items) => {
            let item_schema = match schema {
                Schema::Array(a) => &*a.items,
                _ => schema,
            };
            Value::Array(
                items
                    .iter()
                    .map(|x| to_spec(avro, item_schema, x))
                    .collect(),
            )
        }
        Avro::Map(entries) => {
            let value_schema = match schema {
                Schema::Map(m) => &*m.types,
                _ => schema,
            };
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            let mut m = Map::with_capacity(entries.len());
            for k in keys {
                m.insert(k.clone(), to_spec(avro, value_schema, &entries[k]));
            }
            Value::Object(m)
        }
        Avro::Record(fields) => {
            let rec = match schema {
                Schema::Record(r) => Some(r),
                _ => None,
            };
            let mut m = Map::with_capacity(fields.len());
            for (i, (name, x)) in fields.iter().enumerate() {
                let fs = rec
                    .and_then(|r| r.fields.get(i))
                    .map_or(schema, |f| &f.schema);
                m.insert(name.clone(), to_spec(avro, fs, x));
            }
            Value::Object(m)
        }
        Avro::Union(i, inner) => {
            let Schema::Union(u) = schema else {
                return to_spec(avro, schema, inner);
            };
            let variant = u.variants().get(*i as usize).unwrap_or(schema);
            let non_null = non_null_variants(u);
            if non_null.len() <= 1 || matches!(**inner, Avro::Null) {
                return to_spec(avro, variant, inner);
            }
            // A general union: Connect's struct with one field per branch.
            let mut m = Map::new();
            for (j, s) in non_null {
                let x = if j == *i as usize {
                    to_spec(avro, s, inner)
                } else {
                    Value::Null
                };
                m.insert(union_branch_name(avro.resolve(s)), x);
            }
            Value::Object(m)
        }
    }
}

/// `Object.toString()` of a JSON test value.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON value → an Avro value of `schema` (see the module docs).
pub(crate) fn from_spec(avro: &AvroSchema, schema: &Schema, v: &Value) -> Result<Avro, String> {
    let schema = avro.resolve(schema);
    if let Schema::Union(u) = schema {
        let null_idx = u.variants().iter().position(|s| matches!(s, Schema::Null));
        if v.is_null() {
            return match null_idx {
                Some(i) => Ok(Avro::Union(i as u32, Box::new(Avro::Null))),
                None => Err("null value for a union without null".to_string()),
            };
        }
        let mut last = String::from("empty union");
        for (i, s) in non_null_variants(u) {
            match from_spec(avro, s, v) {
                Ok(x) => return Ok(Avro::Union(i as u32, Box::new(x))),
                Err(e) => last = e,
            }
        }
        return Err(last);
    }
    if v.is_null() {
        return match schema {
            Schema::Null => Ok(Avro::Null),
            _ => Err(format!(
                "null value for non-optional type {}",
                schema.canonical_form()
            )),
        };
    }
    let text = text_of(v);
    let parse_err = |t: &str| format!("cannot convert {} to {t}", crate::sr::clip_json(v));
    Ok(match schema {
        Schema::Null => Avro::Null,
        Schema::Boolean => Avro::Boolean(text.eq_ignore_ascii_case("true")),
        Schema::Int => Avro::Int(text.parse().map_err(|_| parse_err("int"))?),
        Schema::Date => Avro::Date(text.parse().map_err(|_| parse_err("date"))?),
        Schema::TimeMillis => Avro::TimeMillis(text.parse().map_err(|_| parse_err("time"))?),
        Schema::Long => Avro::Long(text.parse().map_err(|_| parse_err("long"))?),
        Schema::TimestampMillis => {
            Avro::TimestampMillis(text.parse().map_err(|_| parse_err("timestamp"))?)
        }
        Schema::TimeMicros => Avro::TimeMicros(text.parse().map_err(|_| parse_err("long"))?),
        Schema::TimestampMicros => {
            Avro::TimestampMicros(text.parse().map_err(|_| parse_err("long"))?)
        }
        Schema::Float => {
            Avro::Float(java::parse_java_double(&text).ok_or_else(|| parse_err("float"))? as f32)
        }
        Schema::Double => {
            Avro::Double(java::parse_java_double(&text).ok_or_else(|| parse_err("double"))?)
        }
        Schema::String => Avro::String(text),
        Schema::Uuid(_) => Avro::Uuid(text.parse().map_err(|_| parse_err("uuid"))?),
        Schema::Enum(e) => {
            let i = e
                .symbols
                .iter()
                .position(|s| *s == text)
                .ok_or_else(|| parse_err("enum"))?;
            Avro::Enum(i as u32, text)
        }
        Schema::Bytes | Schema::Fixed(_) => {
            let bytes = match v {
                Value::String(s) => java::base64_decode(s).ok_or_else(|| parse_err("bytes"))?,
                _ => return Err(parse_err("bytes")),
            };
            match schema {
                Schema::Fixed(f) if f.size != bytes.len() => return Err(parse_err("fixed")),
                Schema::Fixed(f) => Avro::Fixed(f.size, bytes),
                _ => Avro::Bytes(bytes),
            }
        }
        Schema::Decimal(d) => {
            if !matches!(v, Value::Number(_) | Value::String(_)) {
                return Err("DECIMAL type requires JSON number in test data".to_string());
            }
            let bd = BigDec::parse(&text)?;
            let unscaled = bd.fit(d.precision.min(255) as u8, d.scale.min(127) as i8)?;
            Avro::Decimal(Decimal::from(decimal_bytes(unscaled)))
        }
        Schema::Array(a) => match v {
            Value::Array(items) => Avro::Array(
                items
                    .iter()
                    .map(|x| from_spec(avro, &a.items, x))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(parse_err("array")),
        },
        Schema::Map(m) => match v {
            Value::Object(o) => Avro::Map(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), from_spec(avro, &m.types, x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            _ => return Err(parse_err("map")),
        },
        Schema::Record(r) => match v {
            Value::Object(o) => record_from(avro, r, |name| {
                // the last key that matches case-insensitively, as the Java map build does
                o.iter()
                    .rev()
                    .find(|(k, _)| k.to_uppercase() == name.to_uppercase())
                    .map(|(_, x)| Field::Json(x))
            })?,
            _ => return Err(parse_err("record")),
        },
        other => return Err(format!("unsupported Avro type {}", other.canonical_form())),
    })
}

/// A field value to put into a record.
enum Field<'a> {
    Json(&'a Value),
    Arrow(&'a dyn Array, usize),
}

/// Builds a record from `lookup` by field name; absent fields take their default, or null
/// when optional.
fn record_from<'a>(
    avro: &AvroSchema,
    r: &RecordSchema,
    lookup: impl Fn(&str) -> Option<Field<'a>>,
) -> Result<Avro, String> {
    let mut out = Vec::with_capacity(r.fields.len());
    for f in &r.fields {
        let value = match lookup(&f.name) {
            Some(Field::Json(x)) => from_spec(avro, &f.schema, x),
            Some(Field::Arrow(a, row)) => from_arrow(avro, &f.schema, a, row),
            None => match &f.default {
                Some(d) => from_spec(avro, &default_schema(avro, &f.schema), d)
                    .map(|x| wrap_default(avro, &f.schema, x)),
                None => from_spec(avro, &f.schema, &Value::Null)
                    .map_err(|_| format!("Missing default value for required field: [{}]", f.name)),
            },
        }
        .map_err(|e| format!("field {}: {e}", f.name))?;
        out.push((f.name.clone(), value));
    }
    Ok(Avro::Record(out))
}

/// The schema a default value is written in: a union's first branch.
fn default_schema(avro: &AvroSchema, s: &Schema) -> Schema {
    match avro.resolve(s) {
        Schema::Union(u) => u.variants().first().cloned().unwrap_or(Schema::Null),
        other => other.clone(),
    }
}

fn wrap_default(avro: &AvroSchema, s: &Schema, x: Avro) -> Avro {
    match avro.resolve(s) {
        Schema::Union(_) => Avro::Union(0, Box::new(x)),
        _ => x,
    }
}

/// Whether an Arrow type can be written as an Avro type (to pick a union branch).
fn fits(avro: &AvroSchema, s: &Schema, dt: &DataType) -> bool {
    matches!(
        (avro.resolve(s), dt),
        (Schema::Boolean, DataType::Boolean)
            | (
                Schema::Int | Schema::Long,
                DataType::Int32 | DataType::Int64
            )
            | (
                Schema::Float | Schema::Double,
                DataType::Float64 | DataType::Float32
            )
            | (
                Schema::String | Schema::Enum(_) | Schema::Uuid(_),
                DataType::Utf8
            )
            | (Schema::Bytes | Schema::Fixed(_), DataType::Binary)
            | (Schema::Decimal(_), DataType::Decimal128(_, _))
            | (Schema::Date, DataType::Date32)
            | (Schema::TimeMillis, DataType::Time32(_))
            | (
                Schema::TimestampMillis | Schema::Long,
                DataType::Timestamp(_, _)
            )
            | (Schema::Int, DataType::Date32 | DataType::Time32(_))
            | (Schema::Array(_), DataType::List(_))
            | (Schema::Map(_), DataType::Map(_, _))
            | (Schema::Record(_), DataType::Struct(_))
    )
}

/// Rescales an unscaled decimal from scale `from` to `to`, without rounding.
fn rescale(v: i128, from: i8, to: usize) -> Option<i128> {
    let to = i32::try_from(to).ok()?;
    let diff = to - i32::from(from);
    if diff >= 0 {
        v.checked_mul(10i128.checked_pow(diff as u32)?)
    } else {
        let d = 10i128.checked_pow((-diff) as u32)?;
        (v % d == 0).then_some(v / d)
    }
}

/// The value at `row` of `array` → an Avro value of `schema`.
pub(crate) fn from_arrow(
    avro: &AvroSchema,
    schema: &Schema,
    array: &dyn Array,
    row: usize,
) -> Result<Avro, String> {
    let schema = avro.resolve(schema);
    if let Schema::Union(u) = schema {
        if array.is_null(row) {
            return from_spec(avro, schema, &Value::Null);
        }
        let dt = array.data_type();
        let variants = non_null_variants(u);
        let (i, s) = variants
            .iter()
            .find(|(_, s)| fits(avro, s, dt))
            .or(variants.first())
            .ok_or_else(|| "empty union".to_string())?;
        return Ok(Avro::Union(
            *i as u32,
            Box::new(from_arrow(avro, s, array, row)?),
        ));
    }
    if array.is_null(row) {
        return from_spec(avro, schema, &Value::Null);
    }
    let mismatch = || {
        format!(
            "cannot write {} as Avro {}",
            array.data_type(),
            schema.canonical_form()
        )
    };
    let int = || -> Option<i64> {
        match array.data_type() {
            DataType::Int32 => Some(array.as_primitive::<Int32Type>().value(row).into()),
            DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(row)),
            _ => temporal_i64(array, row),
        }
    };
    Ok(match schema {
        Schema::Null => Avro::Null,
        Schema::Boolean => match array.data_type() {
            DataType::Boolean => Avro::Boolean(array.as_boolean().value(row)),
            _ => return Err(mismatch()),
        },
        Schema::Int | Schema::Date | Schema::TimeMillis => {
            let x = int().ok_or_else(mismatch)?;
            let x = i32::try_from(x).map_err(|_| mismatch())?;
            match schema {
                Schema::Date => Avro::Date(x),
                Schema::TimeMillis => Avro::TimeMillis(x),
                _ => Avro::Int(x),
            }
        }
        Schema::Long | Schema::TimestampMillis => {
            let x = int().ok_or_else(mismatch)?;
            match schema {
                Schema::TimestampMillis => Avro::TimestampMillis(x),
                _ => Avro::Long(x),
            }
        }
        Schema::Float | Schema::Double => {
            let x = match array.data_type() {
                DataType::Float64 => array.as_primitive::<Float64Type>().value(row),
                _ => int().ok_or_else(mismatch)? as f64,
            };
            match schema {
                Schema::Float => Avro::Float(x as f32),
                _ => Avro::Double(x),
            }
        }
        Schema::String | Schema::Enum(_) | Schema::Uuid(_) => {
            let s = string_at(array, row).ok_or_else(mismatch)?;
            from_spec(avro, schema, &Value::String(s.to_string()))?
        }
        Schema::Bytes => Avro::Bytes(binary_at(array, row).ok_or_else(mismatch)?.to_vec()),
        Schema::Fixed(f) => {
            let b = binary_at(array, row).ok_or_else(mismatch)?;
            if b.len() != f.size {
                return Err(format!("{} bytes do not fit fixed({})", b.len(), f.size));
            }
            Avro::Fixed(f.size, b.to_vec())
        }
        Schema::Decimal(d) => {
            let DataType::Decimal128(_, from) = array.data_type() else {
                return Err(mismatch());
            };
            let v = array.as_primitive::<Decimal128Type>().value(row);
            let v = rescale(v, *from, d.scale).ok_or_else(|| {
                format!(
                    "Cannot fit decimal into DECIMAL({}, {})",
                    d.precision, d.scale
                )
            })?;
            Avro::Decimal(Decimal::from(decimal_bytes(v)))
        }
        Schema::Array(a) => {
            let items = list_at(array, row).ok_or_else(mismatch)?;
            Avro::Array(
                (0..items.len())
                    .map(|i| from_arrow(avro, &a.items, items.as_ref(), i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Schema::Map(m) => {
            let DataType::Map(_, _) = array.data_type() else {
                return Err(mismatch());
            };
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut out = std::collections::HashMap::with_capacity(entries.len());
            for i in 0..entries.len() {
                let k = string_at(keys.as_ref(), i).ok_or_else(mismatch)?;
                out.insert(
                    k.to_string(),
                    from_arrow(avro, &m.types, values.as_ref(), i)?,
                );
            }
            Avro::Map(out)
        }
        Schema::Record(r) => {
            let DataType::Struct(fields) = array.data_type() else {
                return Err(mismatch());
            };
            let s = array.as_struct();
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            let children: Vec<&dyn Array> = s.columns().iter().map(|c| c.as_ref()).collect();
            record_from_columns(avro, r, &names, &children, row)?
        }
        other => return Err(format!("unsupported Avro type {}", other.canonical_form())),
    })
}

/// A record from named columns at `row`: each field takes the column of the same name (or
/// whose Avro-compatible name, or upper-cased name, matches).
pub(crate) fn record_from_columns(
    avro: &AvroSchema,
    r: &RecordSchema,
    names: &[&str],
    arrays: &[&dyn Array],
    row: usize,
) -> Result<Avro, String> {
    record_from(avro, r, |field| {
        let i = names
            .iter()
            .position(|n| *n == field)
            .or_else(|| names.iter().position(|n| field_name(n) == field))
            .or_else(|| {
                names
                    .iter()
                    .position(|n| n.to_uppercase() == field.to_uppercase())
            })?;
        Some(Field::Arrow(arrays[i], row))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Decimal128Array, Int32Array, StringArray};
    use serde_json::json;

    use super::*;

    #[test]
    fn decimal_bytes_round_trip() {
        for v in [
            0i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            6521,
            i128::MAX,
            i128::MIN,
        ] {
            assert_eq!(decimal_value(&decimal_bytes(v)), Some(v), "{v}");
        }
        assert_eq!(decimal_bytes(128), vec![0, 128]);
        assert_eq!(decimal_bytes(-1), vec![0xff]);
        assert_eq!(decimal_value(&[1; 17]), None);
    }

    #[test]
    fn json_round_trips_through_avro() {
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"r","fields":[
                {"name":"A","type":["null","int"],"default":null},
                {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}},
                {"name":"m","type":{"type":"map","values":["null","string"]}},
                {"name":"opt","type":"string","default":"foo"}]}"#,
        )
        .unwrap();
        let v = from_spec(&s, &s.root, &json!({"a": "7", "DEC": 65.2, "M": {"x": 1}})).unwrap();
        let back = to_spec(&s, &s.root, &v);
        assert_eq!(
            back.to_string(),
            r#"{"A":7,"dec":65.20,"m":{"x":"1"},"opt":"foo"}"#
        );
        assert!(from_spec(&s, &s.root, &json!({"dec": "x"})).is_err());
        assert!(from_spec(&s, &s.root, &json!(1)).is_err());
    }

    #[test]
    fn arrow_values_fill_records() {
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"r","fields":[
                {"name":"A","type":["null","int"],"default":null},
                {"name":"B","type":["null","string"],"default":null},
                {"name":"D","type":["null",{"type":"bytes","logicalType":"decimal","precision":6,"scale":4}]}]}"#,
        )
        .unwrap();
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y")]));
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(100), None])
                .with_precision_and_scale(6, 1)
                .unwrap(),
        );
        let Schema::Record(r) = &s.root else { panic!() };
        let arrays = [a.as_ref(), b.as_ref(), d.as_ref()];
        let v = record_from_columns(&s, r, &["A", "B", "D"], &arrays, 0).unwrap();
        assert_eq!(
            to_spec(&s, &s.root, &v).to_string(),
            r#"{"A":1,"B":"x","D":10.0000}"#
        );
        let v = record_from_columns(&s, r, &["A", "B", "D"], &arrays, 1).unwrap();
        assert_eq!(
            to_spec(&s, &s.root, &v),
            json!({"A": null, "B": "y", "D": null})
        );
    }
}
