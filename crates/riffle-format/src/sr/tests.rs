use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray};
use riffle_types::{Column, ColumnKind, SqlType};
use serde_json::json;

use crate::{Format, FormatKind, RegistryBinding, SchemaRegistry, SchemaType};

fn format(kind: FormatKind, registry: &Arc<SchemaRegistry>, subject: &str) -> Format {
    let mut f = Format::new(kind);
    f.registry = Some(RegistryBinding {
        registry: registry.clone(),
        subject: subject.to_string(),
    });
    f
}

fn cols(spec: &[(&str, SqlType)]) -> Vec<Column> {
    spec.iter()
        .map(|(n, t)| Column {
            name: n.to_string(),
            ty: t.clone(),
            kind: ColumnKind::Value,
        })
        .collect()
}

#[test]
fn avro_values_round_trip_through_the_registry() {
    let registry = Arc::new(SchemaRegistry::new());
    let f = format(FormatKind::Avro, &registry, "t-value");
    let columns = cols(&[("A", SqlType::Int), ("B", SqlType::String)]);
    let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
    let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y")]));
    let out = f.encode(&columns, &[a, b], false).unwrap();
    // the generated schema was registered under the subject
    let latest = registry.latest("t-value").unwrap();
    assert_eq!(latest.schema_type, SchemaType::Avro);
    assert!(latest.text.contains("KsqlDataSourceSchema"));
    let first = out[0].as_deref().unwrap();
    assert_eq!(&first[..5], &[0, 0, 0, 0, latest.id as u8]);
    let json = f.bytes_to_json(&columns, Some(first), false).unwrap();
    assert_eq!(json, json!({"A": 1, "B": "x"}));
    let inputs: Vec<Option<&[u8]>> = out.iter().map(|o| o.as_deref()).collect();
    let decoded = f.decode(&columns, &inputs, false);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(decoded.arrays[0].null_count(), 1);
    // test-file JSON goes through the subject's newest schema
    let bytes = f
        .json_to_bytes(&columns, &json!({"a": 5, "b": "z"}), false)
        .unwrap()
        .unwrap();
    assert_eq!(
        f.bytes_to_json(&columns, Some(&bytes), false).unwrap(),
        json!({"A": 5, "B": "z"})
    );
}

#[test]
fn bad_records_are_errors_not_panics() {
    let registry = Arc::new(SchemaRegistry::new());
    let f = format(FormatKind::Avro, &registry, "t-value");
    let columns = cols(&[("A", SqlType::Int)]);
    registry
        .register(
            "t-value",
            SchemaType::Avro,
            r#"{"type":"record","name":"r","fields":[{"name":"A","type":"string"}]}"#,
        )
        .unwrap();
    let inputs: Vec<Option<&[u8]>> = vec![
        Some(&[1, 2, 3]),
        Some(&[0, 0, 0, 0, 99, 1]),
        Some(&[0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Some(&[0, 0, 0]),
        None,
    ];
    let d = f.decode(&columns, &inputs, false);
    assert_eq!(d.errors.len(), 4, "{:?}", d.errors);
    assert_eq!(d.null_rows, vec![4]);
    assert!(f.bytes_to_json(&columns, Some(&[9, 9]), false).is_err());
    // no registry: a clear error rather than a panic
    let unbound = Format::new(FormatKind::Avro);
    assert!(unbound
        .json_to_bytes(&columns, &json!({"A": 1}), false)
        .is_err());
}

#[test]
fn unwrapped_keys_and_inference() {
    let registry = Arc::new(SchemaRegistry::new());
    registry
        .register("t-key", SchemaType::Avro, r#"{"type":"long"}"#)
        .unwrap();
    registry
        .register(
            "t-value",
            SchemaType::Avro,
            r#"{"type":"record","name":"r","fields":[{"name":"c1","type":"int"}]}"#,
        )
        .unwrap();
    let k = format(FormatKind::Avro, &registry, "t-key");
    let keys = k.infer_columns(true).unwrap();
    assert_eq!(keys[0].name, "ROWKEY");
    assert_eq!(keys[0].ty, SqlType::Bigint);
    let v = format(FormatKind::Avro, &registry, "t-value");
    assert_eq!(v.infer_columns(false).unwrap()[0].name, "C1");
    let mut pinned = v.clone();
    pinned.schema_id = Some(2);
    assert_eq!(pinned.infer_columns(false).unwrap()[0].name, "c1");
    let bytes = k.json_to_bytes(&keys, &json!(42), true).unwrap().unwrap();
    assert_eq!(
        k.bytes_to_json(&keys, Some(&bytes), true).unwrap(),
        json!(42)
    );
}

#[test]
fn json_sr_strips_the_header() {
    let registry = Arc::new(SchemaRegistry::new());
    let f = format(FormatKind::JsonSr, &registry, "t-value");
    let columns = cols(&[("A", SqlType::Int)]);
    let a: ArrayRef = Arc::new(Int32Array::from(vec![7]));
    let out = f.encode(&columns, &[a], false).unwrap();
    let rec = out[0].as_deref().unwrap();
    assert_eq!(&rec[5..], br#"{"A":7}"#);
    assert_eq!(
        registry.latest("t-value").unwrap().schema_type,
        SchemaType::Json
    );
    let d = f.decode(&columns, &[Some(rec)], false);
    assert!(d.errors.is_empty());
    let bytes = f
        .json_to_bytes(&columns, &json!({"A": 1, "X": 2}), false)
        .unwrap()
        .unwrap();
    assert_eq!(
        f.bytes_to_json(&columns, Some(&bytes), false).unwrap(),
        json!({"A": 1})
    );
}
