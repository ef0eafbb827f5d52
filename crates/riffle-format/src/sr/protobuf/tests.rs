use serde_json::json;

use super::*;

#[test]
fn compiles_schemas_with_confluent_imports() {
    let s = ProtoSchema::parse(
        r#"syntax = "proto3"; import "confluent/type/decimal.proto";
        message ConfluentDefault1 {bool c1 = 1; int32 c2 = 2; uint32 c3 = 3; double c4 = 4;
        confluent.type.Decimal c6 = 6 [(confluent.field_meta) = { params: [{ value: "4", key: "precision" }, { value: "2", key: "scale" }]}];}"#,
    );
    // the field_meta option needs confluent/meta.proto, which the schema does not import
    let s = match s {
        Ok(s) => s,
        Err(_) => ProtoSchema::parse(
            r#"syntax = "proto3"; import "confluent/type/decimal.proto"; import "confluent/meta.proto";
            message ConfluentDefault1 {bool c1 = 1; int32 c2 = 2; uint32 c3 = 3; double c4 = 4;
            confluent.type.Decimal c6 = 6 [(confluent.field_meta) = { params: [{ value: "4", key: "precision" }, { value: "2", key: "scale" }]}];}"#,
        )
        .unwrap(),
    };
    let cols = s.infer_columns(None, false).unwrap();
    assert_eq!(cols[0], ("C1".to_string(), SqlType::Boolean));
    assert_eq!(cols[2].1, SqlType::Bigint);
    assert_eq!(
        cols[4].1,
        SqlType::Decimal {
            precision: 4,
            scale: 2
        }
    );
    let mut buf = Vec::new();
    s.write_spec(&json!({"c1": true, "C2": 5, "c6": 10.01}), None, &mut buf)
        .unwrap();
    assert_eq!(buf[0], 0, "message index [0]");
    let back = s.read_spec(&buf).unwrap();
    assert_eq!(
        back.to_string(),
        r#"{"c1":true,"c2":5,"c3":0,"c4":0.0,"c6":10.01}"#
    );
}

#[test]
fn generated_schemas_compile_and_infer_back() {
    let cols: Vec<Column> = [
        ("A", SqlType::Int),
        ("D", SqlType::Date),
        (
            "M",
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Timestamp)),
        ),
        (
            "S",
            SqlType::Struct(vec![StructField {
                name: "X".into(),
                ty: SqlType::Decimal {
                    precision: 6,
                    scale: 4,
                },
            }]),
        ),
        ("L", SqlType::Array(Box::new(SqlType::String))),
    ]
    .into_iter()
    .map(|(n, ty)| Column {
        name: n.into(),
        ty,
        kind: riffle_types::ColumnKind::Value,
    })
    .collect();
    let text = schema_for_columns(&cols, None, false).unwrap();
    let s = ProtoSchema::parse(&text).unwrap();
    let back = s.infer_columns(None, false).unwrap();
    let want: Vec<(String, SqlType)> = cols
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    assert_eq!(back, want);
    let mut buf = Vec::new();
    let v = json!({"A": 1, "D": 10, "M": {"k": 5}, "S": {"X": 1.5}, "L": ["a"]});
    s.write_spec(&v, None, &mut buf).unwrap();
    assert_eq!(
        s.read_spec(&buf).unwrap().to_string(),
        r#"{"A":1,"D":10,"M":{"k":5},"S":{"X":1.5000},"L":["a"]}"#
    );
}

#[test]
fn message_indexes_and_bad_input() {
    let s = ProtoSchema::parse(
        "syntax = \"proto3\"; message A { int32 a = 1; } message B { message C { int32 c = 1; } int32 b = 1; }",
    )
    .unwrap();
    let c = s.root(Some("B.C")).unwrap();
    assert_eq!(s.indexes(&c), vec![1, 0]);
    let mut buf = Vec::new();
    write_indexes(&[1, 0], &mut buf);
    assert_eq!(read_indexes(&buf).unwrap().0, vec![1, 0]);
    assert!(s.root(Some("Nope")).is_err());
    assert!(s.read_spec(&[0xff, 0xff, 0xff]).is_err());
    assert!(s.read_spec(&[0, 0xff]).is_err());
    assert!(ProtoSchema::parse("syntax = \"proto3\"; message {").is_err());
}
