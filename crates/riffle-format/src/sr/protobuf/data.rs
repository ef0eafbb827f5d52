//! Protobuf messages ⇄ the JSON form of records (see `avro_data` for the conventions):
//! well-known and Confluent types become ksqlDB's values (epoch days, milliseconds, decimal
//! numbers), wrappers their inner value, enums their symbol, bytes base64.

use std::collections::HashMap;

use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value as Pv,
};
use serde_json::{Map, Number, Value};

use crate::java::{self, BigDec};
use crate::value::double_value;

/// The inner kind name of a `google.protobuf.*Value` wrapper.
pub(super) fn wrapper_inner(full_name: &str) -> Option<&'static str> {
    Some(match full_name {
        "google.protobuf.BoolValue" => "bool",
        "google.protobuf.Int32Value" => "int32",
        "google.protobuf.Int64Value" => "int64",
        "google.protobuf.UInt32Value" => "uint32",
        "google.protobuf.UInt64Value" => "uint64",
        "google.protobuf.FloatValue" => "float",
        "google.protobuf.DoubleValue" => "double",
        "google.protobuf.StringValue" => "string",
        "google.protobuf.BytesValue" => "bytes",
        _ => return None,
    })
}

fn int_field(m: &DynamicMessage, name: &str) -> i64 {
    match m.get_field_by_name(name).as_deref() {
        Some(Pv::I32(v)) => i64::from(*v),
        Some(Pv::I64(v)) => *v,
        Some(Pv::U32(v)) => i64::from(*v),
        Some(Pv::U64(v)) => *v as i64,
        _ => 0,
    }
}

fn number(text: &str) -> Value {
    serde_json::from_str::<Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Days since the epoch of a proleptic Gregorian date.
fn epoch_days(year: i64, month: i64, day: i64) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
        .map(|d| (d - chrono::NaiveDate::default()).num_days())
        .unwrap_or(0)
}

/// A message → its JSON form: every field, unset scalars as their defaults, unset messages
/// as null.
pub(super) fn message_to_json(msg: &DynamicMessage) -> Value {
    let desc = msg.descriptor();
    match desc.full_name() {
        "google.protobuf.Timestamp" => {
            let ms = int_field(msg, "seconds") * 1000 + int_field(msg, "nanos") / 1_000_000;
            return Value::from(ms);
        }
        "google.type.Date" => {
            let (y, m, d) = (
                int_field(msg, "year"),
                int_field(msg, "month"),
                int_field(msg, "day"),
            );
            return Value::from(epoch_days(y, m, d));
        }
        "google.type.TimeOfDay" => {
            let ms = ((int_field(msg, "hours") * 60 + int_field(msg, "minutes")) * 60
                + int_field(msg, "seconds"))
                * 1000
                + int_field(msg, "nanos") / 1_000_000;
            return Value::from(ms);
        }
        "confluent.type.Decimal" => {
            let bytes = match msg.get_field_by_name("value").as_deref() {
                Some(Pv::Bytes(b)) => b.to_vec(),
                _ => Vec::new(),
            };
            let scale = int_field(msg, "scale");
            return match super::super::avro_data::decimal_value(&bytes) {
                Some(u) => number(&java::decimal_to_string(u, scale.clamp(0, 127) as i8)),
                None => Value::Null,
            };
        }
        name if wrapper_inner(name).is_some() => {
            return match desc.get_field_by_name("value") {
                Some(f) => field_to_json(&f, &msg.get_field(&f)),
                None => Value::Null,
            };
        }
        _ => {}
    }
    let mut out = Map::new();
    for f in desc.fields() {
        let v = if matches!(f.kind(), Kind::Message(_))
            && !f.is_list()
            && !f.is_map()
            && !msg.has_field(&f)
        {
            Value::Null
        } else {
            field_to_json(&f, &msg.get_field(&f))
        };
        out.insert(f.name().to_string(), v);
    }
    Value::Object(out)
}

fn field_to_json(fd: &FieldDescriptor, v: &Pv) -> Value {
    match v {
        Pv::List(items) => {
            Value::Array(items.iter().map(|x| kind_to_json(&fd.kind(), x)).collect())
        }
        Pv::Map(entries) => {
            let value_kind = match fd.kind() {
                Kind::Message(e) => e.map_entry_value_field().kind(),
                other => other,
            };
            let mut keys: Vec<(String, &Pv)> =
                entries.iter().map(|(k, v)| (map_key_text(k), v)).collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                keys.into_iter()
                    .map(|(k, v)| (k, kind_to_json(&value_kind, v)))
                    .collect(),
            )
        }
        other => kind_to_json(&fd.kind(), other),
    }
}

fn map_key_text(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(v) => v.to_string(),
        MapKey::I64(v) => v.to_string(),
        MapKey::U32(v) => v.to_string(),
        MapKey::U64(v) => v.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn kind_to_json(kind: &Kind, v: &Pv) -> Value {
    match v {
        Pv::Bool(b) => Value::Bool(*b),
        Pv::I32(x) => Value::from(*x),
        Pv::I64(x) => Value::from(*x),
        Pv::U32(x) => Value::from(*x),
        Pv::U64(x) => Value::from(*x),
        Pv::F32(x) => double_value(f64::from(*x)),
        Pv::F64(x) => double_value(*x),
        Pv::String(s) => Value::String(s.clone()),
        Pv::Bytes(b) => Value::String(java::base64_encode(b)),
        Pv::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map(|ev| Value::String(ev.name().to_string()))
                .unwrap_or_else(|| Value::from(*n)),
            _ => Value::from(*n),
        },
        Pv::Message(m) => message_to_json(m),
        Pv::List(items) => Value::Array(items.iter().map(|x| kind_to_json(kind, x)).collect()),
        Pv::Map(_) => Value::Null,
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON → a message of `desc`: object keys match fields case-insensitively; nulls and
/// missing keys leave fields unset.
pub(super) fn json_to_message(
    desc: &MessageDescriptor,
    v: &Value,
) -> Result<DynamicMessage, String> {
    let mut msg = DynamicMessage::new(desc.clone());
    let Value::Object(obj) = v else {
        return Err(format!(
            "cannot convert {} to message {}",
            super::super::clip_json(v),
            desc.name()
        ));
    };
    for f in desc.fields() {
        let upper = f.name().to_uppercase();
        let Some((_, x)) = obj.iter().rev().find(|(k, _)| k.to_uppercase() == upper) else {
            continue;
        };
        if x.is_null() {
            continue;
        }
        let value = field_from_json(&f, x).map_err(|e| format!("field {}: {e}", f.name()))?;
        msg.set_field(&f, value);
    }
    Ok(msg)
}

fn field_from_json(fd: &FieldDescriptor, v: &Value) -> Result<Pv, String> {
    if fd.is_map() {
        let Kind::Message(entry) = fd.kind() else {
            return Err("map without entry".into());
        };
        let (kf, vf) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let Value::Object(o) = v else {
            return Err("expected an object for a map".into());
        };
        let mut out = HashMap::with_capacity(o.len());
        for (k, x) in o {
            let key = match kind_from_json(&kf.kind(), Some(&kf), &Value::String(k.clone()))? {
                Pv::Bool(b) => MapKey::Bool(b),
                Pv::I32(i) => MapKey::I32(i),
                Pv::I64(i) => MapKey::I64(i),
                Pv::U32(i) => MapKey::U32(i),
                Pv::U64(i) => MapKey::U64(i),
                Pv::String(s) => MapKey::String(s),
                _ => return Err("invalid map key".into()),
            };
            let value = if x.is_null() {
                vf.default_value()
            } else {
                kind_from_json(&vf.kind(), Some(&vf), x)?
            };
            out.insert(key, value);
        }
        return Ok(Pv::Map(out));
    }
    if fd.is_list() {
        let Value::Array(items) = v else {
            return Err("expected an array".into());
        };
        let kind = fd.kind();
        return items
            .iter()
            .map(|x| match x {
                Value::Null => Ok(Pv::default_value(&kind)),
                _ => kind_from_json(&kind, Some(fd), x),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Pv::List);
    }
    kind_from_json(&fd.kind(), Some(fd), v)
}

fn kind_from_json(kind: &Kind, fd: Option<&FieldDescriptor>, v: &Value) -> Result<Pv, String> {
    let text = text_of(v);
    let bad = |t: &str| format!("cannot convert {} to {t}", super::super::clip_json(v));
    let int = |t: &str| -> Result<i64, String> {
        text.parse::<i64>()
            .or_else(|_| text.parse::<f64>().map(|f| f as i64))
            .map_err(|_| bad(t))
    };
    Ok(match kind {
        Kind::Double => Pv::F64(java::parse_java_double(&text).ok_or_else(|| bad("double"))?),
        Kind::Float => Pv::F32(java::parse_java_double(&text).ok_or_else(|| bad("float"))? as f32),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Pv::I32(int("int32")? as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Pv::I64(int("int64")?),
        Kind::Uint32 | Kind::Fixed32 => Pv::U32(int("uint32")? as u32),
        Kind::Uint64 | Kind::Fixed64 => Pv::U64(int("uint64")? as u64),
        Kind::Bool => Pv::Bool(text.eq_ignore_ascii_case("true")),
        Kind::String => Pv::String(text),
        Kind::Bytes => Pv::Bytes(
            java::base64_decode(&text)
                .ok_or_else(|| bad("bytes"))?
                .into(),
        ),
        Kind::Enum(e) => match e.get_value_by_name(&text) {
            Some(ev) => Pv::EnumNumber(ev.number()),
            None => Pv::EnumNumber(text.parse().map_err(|_| bad("enum"))?),
        },
        Kind::Message(m) => Pv::Message(special_from_json(m, fd, v, &text)?),
    })
}

fn set(msg: &mut DynamicMessage, name: &str, v: Pv) {
    if let Some(f) = msg.descriptor().get_field_by_name(name) {
        msg.set_field(&f, v);
    }
}

/// Well-known and Confluent message types from ksqlDB values; other messages from objects.
fn special_from_json(
    m: &MessageDescriptor,
    fd: Option<&FieldDescriptor>,
    v: &Value,
    text: &str,
) -> Result<DynamicMessage, String> {
    let mut msg = DynamicMessage::new(m.clone());
    let num = || {
        text.parse::<i64>()
            .map_err(|_| format!("cannot convert {text} to {}", m.name()))
    };
    match m.full_name() {
        "google.protobuf.Timestamp" => {
            let ms = num()?;
            set(&mut msg, "seconds", Pv::I64(ms.div_euclid(1000)));
            set(
                &mut msg,
                "nanos",
                Pv::I32((ms.rem_euclid(1000) * 1_000_000) as i32),
            );
        }
        "google.type.Date" => {
            let days = num()?;
            let d = chrono::NaiveDate::default()
                .checked_add_signed(chrono::TimeDelta::try_days(days).unwrap_or_default())
                .unwrap_or_default();
            use chrono::Datelike;
            set(&mut msg, "year", Pv::I32(d.year()));
            set(&mut msg, "month", Pv::I32(d.month() as i32));
            set(&mut msg, "day", Pv::I32(d.day() as i32));
        }
        "google.type.TimeOfDay" => {
            let ms = num()?;
            set(&mut msg, "hours", Pv::I32((ms / 3_600_000) as i32));
            set(&mut msg, "minutes", Pv::I32((ms / 60_000 % 60) as i32));
            set(&mut msg, "seconds", Pv::I32((ms / 1000 % 60) as i32));
            set(&mut msg, "nanos", Pv::I32((ms % 1000 * 1_000_000) as i32));
        }
        "confluent.type.Decimal" => {
            let bd = BigDec::parse(text)?;
            let (p, s) = fd.map(super::decimal_params).unwrap_or((None, None));
            let scale = s.unwrap_or(bd.scale.max(0)).clamp(0, 127);
            let precision = p.unwrap_or(38).clamp(1, 255);
            let unscaled = bd.fit(precision as u8, scale as i8)?;
            let bytes = super::super::avro_data::decimal_bytes(unscaled);
            set(&mut msg, "value", Pv::Bytes(bytes.into()));
            set(&mut msg, "precision", Pv::U32(precision as u32));
            set(&mut msg, "scale", Pv::I32(scale as i32));
        }
        name if wrapper_inner(name).is_some() => {
            if let Some(f) = m.get_field_by_name("value") {
                let inner = kind_from_json(&f.kind(), Some(&f), v)?;
                msg.set_field(&f, inner);
            }
        }
        _ => return json_to_message(m, v),
    }
    Ok(msg)
}
