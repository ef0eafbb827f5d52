//! JSON_SR: JSON documents behind the Schema Registry header, described by JSON Schemas in the
//! shape Connect's `JsonSchemaData` writes and reads them (`connect.type` hints, `oneOf` with
//! `null` for optional values, Connect logical types named by `title`).

use riffle_types::{Column, SqlType, StructField};
use serde_json::{json, Map, Value};

use crate::FormatError;

const CONNECT: &str = "org.apache.kafka.connect.data";

fn optional(schema: Value) -> Value {
    json!({"oneOf": [{"type": "null"}, schema]})
}

/// The JSON Schema of one SQL type.
fn type_schema(ty: &SqlType) -> Value {
    let logical = |ty: &str, connect_type: &str, name: &str| {
        json!({"type": ty, "title": format!("{CONNECT}.{name}"), "connect.version": 1,
               "connect.type": connect_type})
    };
    match ty {
        SqlType::Boolean => json!({"type": "boolean"}),
        SqlType::Int => json!({"type": "integer", "connect.type": "int32"}),
        SqlType::Bigint => json!({"type": "integer", "connect.type": "int64"}),
        SqlType::Double => json!({"type": "number", "connect.type": "float64"}),
        SqlType::String => json!({"type": "string"}),
        SqlType::Bytes => json!({"type": "string", "connect.type": "bytes"}),
        SqlType::Decimal { precision, scale } => json!({
            "type": "number", "title": format!("{CONNECT}.Decimal"), "connect.version": 1,
            "connect.type": "bytes",
            "connect.parameters": {"scale": scale.to_string(),
                                   "connect.decimal.precision": precision.to_string()}}),
        SqlType::Date => logical("integer", "int32", "Date"),
        SqlType::Time => logical("integer", "int32", "Time"),
        SqlType::Timestamp => logical("integer", "int64", "Timestamp"),
        SqlType::Array(t) => json!({"type": "array", "items": optional(type_schema(t))}),
        SqlType::Map(_, v) => json!({"type": "object", "connect.type": "map",
                                     "additionalProperties": optional(type_schema(v))}),
        SqlType::Struct(fields) => {
            let pairs: Vec<(&str, &SqlType)> =
                fields.iter().map(|f| (f.name.as_str(), &f.ty)).collect();
            object_schema(&pairs)
        }
    }
}

fn object_schema(fields: &[(&str, &SqlType)]) -> Value {
    let mut props = Map::new();
    for (i, (name, ty)) in fields.iter().enumerate() {
        let mut s = optional(type_schema(ty));
        if let Value::Object(o) = &mut s {
            o.insert("connect.index".into(), json!(i));
        }
        props.insert(name.to_string(), s);
    }
    json!({"type": "object", "properties": props})
}

/// The JSON Schema ksqlDB registers for `columns`.
pub(crate) fn schema_for_columns(columns: &[Column], unwrapped: bool) -> Value {
    if unwrapped && columns.len() == 1 {
        return optional(type_schema(&columns[0].ty));
    }
    let pairs: Vec<(&str, &SqlType)> = columns.iter().map(|c| (c.name.as_str(), &c.ty)).collect();
    object_schema(&pairs)
}

/// Follows `$ref`s into `definitions` / `$defs` of the root document.
fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    let mut s = s;
    for _ in 0..16 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            return s;
        };
        let Some(path) = r.strip_prefix("#") else {
            return s;
        };
        match root.pointer(path) {
            Some(t) => s = t,
            None => return s,
        }
    }
    s
}

/// The SQL type of a JSON Schema, as Connect's `JsonSchemaData` and ksqlDB read it.
fn sql_type_of(root: &Value, s: &Value, upper: bool) -> Result<SqlType, String> {
    let s = resolve(root, s);
    if let Some(alts) = s
        .get("oneOf")
        .or_else(|| s.get("anyOf"))
        .and_then(Value::as_array)
    {
        let non_null: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        return match non_null.as_slice() {
            [one] => sql_type_of(root, one, upper),
            _ => Err("Unsupported type: union".to_string()),
        };
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s.get("properties").is_some() => "object",
        _ => return Err("Unsupported type: schema without a type".to_string()),
    };
    let connect_type = s.get("connect.type").and_then(Value::as_str);
    let title = s.get("title").and_then(Value::as_str).unwrap_or("");
    let logical = title
        .strip_prefix(CONNECT)
        .map(|t| t.trim_start_matches('.'));
    Ok(match (ty, logical) {
        (_, Some("Decimal")) => {
            let param = |k: &str| -> Option<i64> {
                let p = s.get("connect.parameters")?.get(k)?;
                p.as_str()
                    .and_then(|x| x.parse().ok())
                    .or_else(|| p.as_i64())
            };
            let precision = param("connect.decimal.precision")
                .unwrap_or(38)
                .clamp(1, 38);
            let scale = param("scale").unwrap_or(0).clamp(0, precision);
            SqlType::Decimal {
                precision: precision as u8,
                scale: scale as i8,
            }
        }
        (_, Some("Date")) => SqlType::Date,
        (_, Some("Time")) => SqlType::Time,
        (_, Some("Timestamp")) => SqlType::Timestamp,
        ("boolean", _) => SqlType::Boolean,
        ("integer", _) => match connect_type {
            Some("int8" | "int16" | "int32") => SqlType::Int,
            _ => SqlType::Bigint,
        },
        ("number", _) => SqlType::Double,
        ("string", _) if connect_type == Some("bytes") => SqlType::Bytes,
        ("string", _) => SqlType::String,
        ("array", _) => {
            let items = s
                .get("items")
                .ok_or("Unsupported type: array without items")?;
            SqlType::Array(Box::new(sql_type_of(root, items, upper)?))
        }
        ("object", _) => match s.get("properties").and_then(Value::as_object) {
            Some(props) if connect_type != Some("map") => SqlType::Struct(
                props
                    .iter()
                    .filter_map(|(name, p)| {
                        let ty = sql_type_of(root, p, upper).ok()?;
                        let name = if upper {
                            name.to_uppercase()
                        } else {
                            name.clone()
                        };
                        Some(StructField { name, ty })
                    })
                    .collect(),
            ),
            _ => {
                let values = s
                    .get("additionalProperties")
                    .filter(|v| v.is_object())
                    .ok_or("Unsupported type: object without properties")?;
                SqlType::Map(
                    Box::new(SqlType::String),
                    Box::new(sql_type_of(root, values, upper)?),
                )
            }
        },
        (other, _) => return Err(format!("Unsupported type: {other}")),
    })
}

/// The columns ksqlDB infers from a JSON Schema (see `avro_schema::infer_columns`).
pub(crate) fn infer_columns(
    root: &Value,
    is_key: bool,
    unwrapped: bool,
    original_names: bool,
) -> Result<Vec<(String, SqlType)>, FormatError> {
    let upper = !original_names;
    let ty = sql_type_of(root, root, upper)
        .map_err(|e| FormatError::Schema(format!("Unsupported type at root of schema: {e}")))?;
    if unwrapped {
        let name = if is_key { "ROWKEY" } else { "ROWVAL" };
        return Ok(vec![(name.to_string(), ty)]);
    }
    match ty {
        SqlType::Struct(fields) if !fields.is_empty() => {
            Ok(fields.into_iter().map(|f| (f.name, f.ty)).collect())
        }
        SqlType::Struct(_) => Err(FormatError::Schema(format!(
            "Schema does not include any columns with types that ksqlDB supports.\nschema: {root}"
        ))),
        _ => Err(FormatError::Schema(
            "Schema returned from schema registry is anonymous type. To use this schema with \
             ksqlDB, set 'WRAP_SINGLE_VALUE=false' in the WITH clause properties."
                .to_string(),
        )),
    }
}

/// A JSON_SR payload → the JSON test tools show: the document, without object fields that
/// match no column when the record is wrapped.
pub(crate) fn to_spec(
    columns: &[Column],
    payload: &[u8],
    unwrapped: bool,
) -> Result<Value, String> {
    let mut v = match crate::json::parse_document(payload)? {
        Some(v) => v,
        None => return Ok(Value::Null),
    };
    if !unwrapped {
        if let Value::Object(o) = &mut v {
            o.retain(|k, _| {
                columns
                    .iter()
                    .any(|c| c.name == *k || c.name == k.to_uppercase())
            });
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use riffle_types::ColumnKind;

    #[test]
    fn generated_schemas_infer_back() {
        let cols = vec![
            Column {
                name: "A".into(),
                ty: SqlType::Int,
                kind: ColumnKind::Value,
            },
            Column {
                name: "D".into(),
                ty: SqlType::Decimal {
                    precision: 4,
                    scale: 2,
                },
                kind: ColumnKind::Value,
            },
            Column {
                name: "M".into(),
                ty: SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Date)),
                kind: ColumnKind::Value,
            },
        ];
        let s = schema_for_columns(&cols, false);
        let back = infer_columns(&s, false, false, false).unwrap();
        let want: Vec<(String, SqlType)> = cols
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        assert_eq!(back, want);
    }

    #[test]
    fn infers_plain_json_schemas() {
        let s = json!({"type": "object", "properties": {"c1": {"type": "integer"},
                       "s": {"$ref": "#/definitions/S"}},
                       "definitions": {"S": {"type": "object", "properties": {"x": {"type": "string"}}}}});
        let cols = infer_columns(&s, false, false, false).unwrap();
        assert_eq!(cols[0], ("C1".to_string(), SqlType::Bigint));
        assert_eq!(
            cols[1].1,
            SqlType::Struct(vec![StructField {
                name: "X".into(),
                ty: SqlType::String
            }])
        );
        let key =
            json!({"oneOf": [{"type": "null"}, {"type": "integer", "connect.type": "int32"}]});
        assert_eq!(
            infer_columns(&key, true, true, false).unwrap(),
            vec![("ROWKEY".to_string(), SqlType::Int)]
        );
        assert!(infer_columns(&key, false, false, false).is_err());
    }
}
