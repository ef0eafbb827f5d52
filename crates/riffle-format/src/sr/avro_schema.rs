//! Avro schemas: parsing, ksqlDB's schema for a set of columns (`AvroSchemas`, Connect's
//! `AvroData`), and the columns ksqlDB infers from a registered schema
//! (`ConnectKsqlSchemaTranslator`).

use std::collections::HashMap;

use apache_avro::schema::{Name, ResolvedSchema, UnionSchema};
use apache_avro::Schema;
use riffle_types::{Column, SqlType, StructField};
use serde_json::{json, Map, Value};

use crate::FormatError;

/// Namespace of the record names ksqlDB generates.
pub(crate) const NAMESPACE: &str = "io.confluent.ksql.avro_schemas";
/// Full name of ksqlDB's value records.
pub(crate) const DEFAULT_VALUE_NAME: &str = "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema";

/// A parsed Avro schema with its named types, so references can be followed.
#[derive(Debug)]
pub(crate) struct AvroSchema {
    pub(crate) root: Schema,
    names: HashMap<Name, Schema>,
}

impl AvroSchema {
    /// Parses Avro schema JSON text.
    pub(crate) fn parse(text: &str) -> Result<AvroSchema, FormatError> {
        let root = Schema::parse_str(text)
            .map_err(|e| FormatError::Schema(format!("Invalid Avro schema: {e}")))?;
        let names = ResolvedSchema::try_from(&root)
            .map_err(|e| FormatError::Schema(format!("Invalid Avro schema: {e}")))?
            .get_names()
            .iter()
            .map(|(n, s)| (n.clone(), (*s).clone()))
            .collect();
        Ok(AvroSchema { root, names })
    }

    /// The Parsing Canonical Form, which equal schemas share.
    pub(crate) fn canonical(&self) -> String {
        self.root.canonical_form()
    }

    /// `schema`, or the named schema it refers to.
    pub(crate) fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        let mut s = schema;
        // References resolve to named types, never to other references; bound the walk anyway.
        for _ in 0..8 {
            match s {
                Schema::Ref { name } => match self.names.get(name) {
                    Some(t) => s = t,
                    None => return s,
                },
                _ => return s,
            }
        }
        s
    }
}

/// `["null", X]` → `X`; other unions are kept.
pub(crate) fn non_null_variants(u: &UnionSchema) -> Vec<(usize, &Schema)> {
    u.variants()
        .iter()
        .enumerate()
        .filter(|(_, s)| !matches!(s, Schema::Null))
        .collect()
}

/// Checks a name as Avro does (`[A-Za-z_][A-Za-z0-9_]*`), with Avro's Java messages.
fn check_name(name: &str) -> Result<(), FormatError> {
    let bad = |msg: String| {
        Err(FormatError::Schema(format!(
            "Schema is not compatible with Avro: {msg}"
        )))
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("Empty name".to_string()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return bad(format!("Illegal initial character: {name}"))
        }
        _ => {}
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return bad(format!("Illegal character in: {name}"));
    }
    Ok(())
}

/// `AvroSchemas.avroCompatibleFieldName`: dots become underscores.
pub(crate) fn field_name(name: &str) -> String {
    name.replace('.', "_")
}

/// Checks that ksqlDB could write `columns` as Avro: STRING map keys and valid names.
pub(crate) fn validate_columns(columns: &[Column]) -> Result<(), FormatError> {
    fn check(ty: &SqlType) -> Result<(), FormatError> {
        match ty {
            SqlType::Map(k, v) => {
                if **k != SqlType::String {
                    return Err(FormatError::Schema(
                        "Avro only supports MAPs with STRING keys".to_string(),
                    ));
                }
                check(v)
            }
            SqlType::Array(t) => check(t),
            SqlType::Struct(fs) => fs.iter().try_for_each(|f| {
                check_name(&field_name(&f.name))?;
                check(&f.ty)
            }),
            _ => Ok(()),
        }
    }
    columns.iter().try_for_each(|c| check(&c.ty))
}

/// `UPPER_UNDERSCORE` → `UpperCamel`, as ksqlDB names key records (`OUTPUT` → `Output`).
pub(crate) fn key_schema_name(source: &str) -> String {
    let camel: String = source
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lower = p.to_lowercase();
            let mut cs = lower.chars();
            match cs.next() {
                Some(c) => c.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect();
    format!("{NAMESPACE}.{camel}Key")
}

/// The Avro schema JSON ksqlDB registers for `columns`: a record named `full_name` with one
/// optional field per column, or the single column's type itself when `unwrapped`.
pub(crate) fn schema_for_columns(
    columns: &[Column],
    unwrapped: bool,
    full_name: &str,
) -> Result<Value, FormatError> {
    validate_columns(columns)?;
    if unwrapped && columns.len() == 1 {
        return type_json(&columns[0].ty, full_name);
    }
    let fields: Vec<(String, SqlType)> = columns
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    record_json(&fields, full_name)
}

fn record_json(fields: &[(String, SqlType)], full_name: &str) -> Result<Value, FormatError> {
    let mut out = Vec::with_capacity(fields.len());
    for (name, ty) in fields {
        let avro_name = field_name(name);
        check_name(&avro_name)?;
        let inner = type_json(ty, &format!("{full_name}_{name}"))?;
        out.push(json!({"name": avro_name, "type": ["null", inner], "default": null}));
    }
    let (namespace, name) = match full_name.rsplit_once('.') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, full_name),
    };
    let mut rec = Map::new();
    rec.insert("type".into(), json!("record"));
    rec.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        rec.insert("namespace".into(), json!(ns));
    }
    rec.insert("fields".into(), Value::Array(out));
    rec.insert("connect.name".into(), json!(full_name));
    Ok(Value::Object(rec))
}

/// One type as `AvroData` writes ksqlDB's (always optional) Connect schemas; `context` names
/// nested records (`<parent>_<FIELD>`, map values `<parent>_MapValue`).
fn type_json(ty: &SqlType, context: &str) -> Result<Value, FormatError> {
    let logical = |base: &str, logical: &str, connect: &str| {
        json!({"type": base, "connect.version": 1,
               "connect.name": format!("org.apache.kafka.connect.data.{connect}"),
               "logicalType": logical})
    };
    Ok(match ty {
        SqlType::Boolean => json!("boolean"),
        SqlType::Int => json!("int"),
        SqlType::Bigint => json!("long"),
        SqlType::Double => json!("double"),
        SqlType::String => json!("string"),
        SqlType::Bytes => json!("bytes"),
        SqlType::Decimal { precision, scale } => json!({
            "type": "bytes", "scale": scale, "precision": precision, "connect.version": 1,
            "connect.parameters": {"scale": scale.to_string(),
                                   "connect.decimal.precision": precision.to_string()},
            "connect.name": "org.apache.kafka.connect.data.Decimal",
            "logicalType": "decimal"}),
        SqlType::Date => logical("int", "date", "Date"),
        SqlType::Time => logical("int", "time-millis", "Time"),
        SqlType::Timestamp => logical("long", "timestamp-millis", "Timestamp"),
        SqlType::Array(item) => {
            json!({"type": "array", "items": ["null", type_json(item, context)?]})
        }
        SqlType::Map(k, v) => {
            if **k != SqlType::String {
                return Err(FormatError::Schema(
                    "Avro only supports MAPs with STRING keys".to_string(),
                ));
            }
            json!({"type": "map", "values": ["null", type_json(v, &format!("{context}_MapValue"))?]})
        }
        SqlType::Struct(fields) => {
            let fs: Vec<(String, SqlType)> = fields
                .iter()
                .map(|f| (f.name.clone(), f.ty.clone()))
                .collect();
            record_json(&fs, context)?
        }
    })
}

/// A branch name of a general union, as Connect's `AvroData` names the fields of the struct
/// it turns such unions into (`int`, `string`, a record's name).
pub(crate) fn union_branch_name(s: &Schema) -> String {
    match s {
        Schema::Record(r) => r.name.name().to_string(),
        Schema::Enum(e) => e.name.name().to_string(),
        Schema::Fixed(f) => f.name.name().to_string(),
        Schema::Ref { name } => name.name().to_string(),
        Schema::Decimal(_) | Schema::BigDecimal => "bytes".to_string(),
        Schema::Date | Schema::TimeMillis => "int".to_string(),
        Schema::TimestampMillis | Schema::TimestampMicros | Schema::TimeMicros => {
            "long".to_string()
        }
        other => other.canonical_form().trim_matches('"').to_string(),
    }
}

/// The SQL type ksqlDB gives an Avro type; `Err` for types it cannot represent (such fields are
/// left out of inferred schemas). Field names are upper-cased when `upper`.
pub(crate) fn sql_type_of(avro: &AvroSchema, s: &Schema, upper: bool) -> Result<SqlType, String> {
    let name = |n: &str| {
        if upper {
            n.to_uppercase()
        } else {
            n.to_string()
        }
    };
    Ok(match avro.resolve(s) {
        Schema::Null => return Err("Unsupported type: null".to_string()),
        Schema::Boolean => SqlType::Boolean,
        Schema::Int => SqlType::Int,
        Schema::Long | Schema::TimeMicros | Schema::TimestampMicros | Schema::TimestampNanos => {
            SqlType::Bigint
        }
        Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => SqlType::Bigint,
        Schema::Float | Schema::Double => SqlType::Double,
        Schema::String | Schema::Enum(_) | Schema::Uuid(_) => SqlType::String,
        Schema::Bytes | Schema::Fixed(_) => SqlType::Bytes,
        Schema::Decimal(d) => SqlType::Decimal {
            precision: d.precision.clamp(1, 38) as u8,
            scale: d.scale.min(d.precision.clamp(1, 38)) as i8,
        },
        Schema::BigDecimal => SqlType::Decimal {
            precision: 38,
            scale: 0,
        },
        Schema::Date => SqlType::Date,
        Schema::TimeMillis => SqlType::Time,
        Schema::TimestampMillis => SqlType::Timestamp,
        Schema::Array(a) => SqlType::Array(Box::new(sql_type_of(avro, &a.items, upper)?)),
        Schema::Map(m) => SqlType::Map(
            Box::new(SqlType::String),
            Box::new(sql_type_of(avro, &m.types, upper)?),
        ),
        Schema::Record(r) => SqlType::Struct(
            r.fields
                .iter()
                .filter_map(|f| {
                    sql_type_of(avro, &f.schema, upper)
                        .ok()
                        .map(|ty| StructField {
                            name: name(&f.name),
                            ty,
                        })
                })
                .collect(),
        ),
        Schema::Union(u) => {
            let variants = non_null_variants(u);
            match variants.as_slice() {
                [] => return Err("Unsupported type: null".to_string()),
                [(_, only)] => sql_type_of(avro, only, upper)?,
                many => SqlType::Struct(
                    many.iter()
                        .filter_map(|(_, v)| {
                            sql_type_of(avro, v, upper).ok().map(|ty| StructField {
                                name: name(&union_branch_name(avro.resolve(v))),
                                ty,
                            })
                        })
                        .collect(),
                ),
            }
        }
        Schema::Duration(_) => return Err("Unsupported type: duration".to_string()),
        Schema::Ref { name } => return Err(format!("Unknown type: {}", name.fullname(None))),
    })
}

/// The columns ksqlDB infers from a registered schema: one `ROWKEY`/`ROWVAL` column when the
/// schema is unwrapped, else one per record field (upper-cased unless `original_names`).
pub(crate) fn infer_columns(
    avro: &AvroSchema,
    is_key: bool,
    unwrapped: bool,
    original_names: bool,
) -> Result<Vec<(String, SqlType)>, FormatError> {
    let upper = !original_names;
    if unwrapped {
        let ty = sql_type_of(avro, &avro.root, upper)
            .map_err(|e| FormatError::Schema(format!("Unsupported type at root of schema: {e}")))?;
        let name = if is_key { "ROWKEY" } else { "ROWVAL" };
        return Ok(vec![(name.to_string(), ty)]);
    }
    match sql_type_of(avro, &avro.root, upper) {
        Ok(SqlType::Struct(fields)) if matches!(avro.resolve(&avro.root), Schema::Record(_)) => {
            if fields.is_empty() {
                return Err(FormatError::Schema(format!(
                    "Schema does not include any columns with types that ksqlDB supports.\n\
                     schema: {}",
                    avro.root.canonical_form()
                )));
            }
            Ok(fields.into_iter().map(|f| (f.name, f.ty)).collect())
        }
        Err(e) => Err(FormatError::Schema(format!(
            "Unsupported type at root of schema: {e}"
        ))),
        Ok(_) => Err(FormatError::Schema(
            "Schema returned from schema registry is anonymous type. To use this schema with \
             ksqlDB, set 'WRAP_SINGLE_VALUE=false' in the WITH clause properties."
                .to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riffle_types::ColumnKind;

    fn col(name: &str, ty: SqlType) -> Column {
        Column {
            name: name.into(),
            ty,
            kind: ColumnKind::Value,
        }
    }

    #[test]
    fn generates_ksqldb_record_schemas() {
        let cols = vec![
            col("A", SqlType::Int),
            col(
                "S",
                SqlType::Struct(vec![StructField {
                    name: "F".into(),
                    ty: SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Date)),
                }]),
            ),
        ];
        let v = schema_for_columns(&cols, false, DEFAULT_VALUE_NAME).unwrap();
        assert_eq!(v["name"], "KsqlDataSourceSchema");
        assert_eq!(v["namespace"], NAMESPACE);
        assert_eq!(
            v["fields"][0],
            json!({"name": "A", "type": ["null", "int"], "default": null})
        );
        assert_eq!(v["fields"][1]["type"][1]["name"], "KsqlDataSourceSchema_S");
        let parsed = AvroSchema::parse(&v.to_string()).unwrap();
        let inferred = infer_columns(&parsed, false, false, false).unwrap();
        assert_eq!(inferred[0], ("A".to_string(), SqlType::Int));
        assert_eq!(inferred[1].1, cols[1].ty);
        // unwrapped: the bare type
        let v = schema_for_columns(&cols[..1], true, DEFAULT_VALUE_NAME).unwrap();
        assert_eq!(v, json!("int"));
    }

    #[test]
    fn rejects_what_avro_cannot_carry() {
        let bad = vec![col("1A", SqlType::Int)];
        let e = schema_for_columns(&bad, false, DEFAULT_VALUE_NAME).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Schema is not compatible with Avro: Illegal initial character: 1A"
        );
        let map = vec![col(
            "M",
            SqlType::Map(Box::new(SqlType::Int), Box::new(SqlType::Int)),
        )];
        assert!(validate_columns(&map).is_err());
        assert_eq!(
            key_schema_name("MY_OUTPUT"),
            format!("{NAMESPACE}.MyOutputKey")
        );
    }

    #[test]
    fn infers_columns_like_ksqldb() {
        let s = AvroSchema::parse(
            r#"{"type":"record","name":"r","fields":[
                {"name":"c1","type":["null","string"]},
                {"name":"n","type":"null"},
                {"name":"f","type":"float"},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},
                {"name":"d","type":{"type":"int","logicalType":"date"}}]}"#,
        )
        .unwrap();
        let cols = infer_columns(&s, false, false, false).unwrap();
        let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, vec!["C1", "F", "E", "D"]);
        assert_eq!(cols[3].1, SqlType::Date);
        let original = infer_columns(&s, false, false, true).unwrap();
        assert_eq!(original[0].0, "c1");
        let prim = AvroSchema::parse(r#""long""#).unwrap();
        assert!(infer_columns(&prim, false, false, false).is_err());
        assert_eq!(
            infer_columns(&prim, true, true, false).unwrap(),
            vec![("ROWKEY".to_string(), SqlType::Bigint)]
        );
    }
}
