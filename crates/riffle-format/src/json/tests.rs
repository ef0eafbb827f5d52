use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, StringArray, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
use riffle_types::{Column, ColumnKind, SqlType, StructField};
use serde_json::json;

use crate::{Format, FormatKind};

fn col(name: &str, ty: SqlType) -> Column {
    Column {
        name: name.into(),
        ty,
        kind: ColumnKind::Value,
    }
}

fn json_fmt() -> Format {
    Format::new(FormatKind::Json)
}

fn unwrapped() -> Format {
    Format {
        wrap_single_value: Some(false),
        ..json_fmt()
    }
}

fn decode(f: &Format, cols: &[Column], docs: &[&str]) -> crate::Decoded {
    let inputs: Vec<Option<&[u8]>> = docs.iter().map(|d| Some(d.as_bytes())).collect();
    f.decode(cols, &inputs, false)
}

fn encode_strs(
    f: &Format,
    cols: &[Column],
    arrays: Vec<ArrayRef>,
    is_key: bool,
) -> Vec<Option<String>> {
    f.encode(cols, &arrays, is_key)
        .unwrap()
        .into_iter()
        .map(|b| b.map(|b| String::from_utf8(b).unwrap()))
        .collect()
}

#[test]
fn matches_fields_case_insensitively_preferring_exact_case() {
    let cols = [
        col("FOO", SqlType::Int),
        col("bar", SqlType::String),
        col("MISSING", SqlType::Int),
    ];
    let d = decode(
        &json_fmt(),
        &cols,
        &[
            r#"{"foo": 1, "bar": "x", "extra": true}"#,
            r#"{"FOO": 2, "foo": 3, "BAR": "no"}"#,
        ],
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let foo = d.arrays[0].as_primitive::<Int32Type>();
    assert_eq!((foo.value(0), foo.value(1)), (1, 2));
    let bar = d.arrays[1].as_string::<i32>();
    assert_eq!(bar.value(0), "x");
    // `bar` is quoted lower case: "BAR" upper-cased is not "bar"
    assert!(bar.is_null(1));
    assert_eq!(d.arrays[2].null_count(), 2);
}

#[test]
fn coerces_numbers_and_strings_like_json_serde_utils() {
    let cols = [
        col("I", SqlType::Int),
        col("B", SqlType::Bigint),
        col("D", SqlType::Double),
        col("S", SqlType::String),
    ];
    let d = decode(
        &json_fmt(),
        &cols,
        &[
            r#"{"I": 1.9, "B": "42", "D": 3, "S": 12}"#,
            r#"{"I": "7", "B": 1e3, "D": "2.5", "S": 1.50}"#,
            r#"{"S": {"a": [1, 2]}}"#,
            r#"{"S": [1, "x", null, true]}"#,
            r#"{"S": false}"#,
        ],
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let i = d.arrays[0].as_primitive::<Int32Type>();
    let b = d.arrays[1].as_primitive::<Int64Type>();
    let dd = d.arrays[2].as_primitive::<Float64Type>();
    let s = d.arrays[3].as_string::<i32>();
    assert_eq!((i.value(0), i.value(1)), (1, 7));
    assert_eq!((b.value(0), b.value(1)), (42, 1000));
    assert_eq!((dd.value(0), dd.value(1)), (3.0, 2.5));
    assert_eq!(s.value(0), "12");
    assert_eq!(s.value(1), "1.50");
    assert_eq!(s.value(2), r#"{"a":[1,2]}"#);
    assert_eq!(s.value(3), "[1, x, null, true]");
    assert_eq!(s.value(4), "false");
}

#[test]
fn reports_coercion_errors_with_ksqldb_messages() {
    let cols = [col("I", SqlType::Int), col("B", SqlType::Boolean)];
    let d = decode(
        &json_fmt(),
        &cols,
        &[
            r#"{"I": "abc"}"#,
            r#"{"B": "true"}"#,
            r#"{"I": [1]}"#,
            r#"{"I": 5, "B": true}"#,
            "[1]",
        ],
    );
    let msgs: Vec<&str> = d.errors.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "Can't coerce string to type. targetType: INTEGER, path: $.I",
            "Can't convert type. sourceType: TextNode, requiredType: BOOLEAN, path: $.B",
            "Can't convert type. sourceType: ArrayNode, requiredType: INTEGER, path: $.I",
            "Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<I INT, B BOOLEAN>, \
             path: $",
        ]
    );
    assert_eq!(
        d.errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        [0, 1, 2, 4]
    );
    // the good row survives, failed rows are null
    let i = d.arrays[0].as_primitive::<Int32Type>();
    assert_eq!(i.value(3), 5);
    assert!(i.is_null(0) && i.is_null(1) && i.is_null(2) && i.is_null(4));
}

#[test]
fn invalid_documents_are_row_errors_and_null_documents_null_rows() {
    let cols = [col("I", SqlType::Int)];
    let inputs: Vec<Option<&[u8]>> = vec![
        Some(b"{not json"),
        Some(b"null"),
        None,
        Some(b""),
        Some(b"{\"I\":1} trailing"),
        Some(&[0xff, 0xfe]),
    ];
    let d = json_fmt().decode(&cols, &inputs, false);
    assert_eq!(d.errors.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 5]);
    assert!(
        !d.errors[0].1.contains("line"),
        "location must be cleared: {}",
        d.errors[0].1
    );
    assert_eq!(d.null_rows, [1, 2, 3]);
    assert_eq!(d.arrays[0].len(), 6);
    assert_eq!(d.arrays[0].as_primitive::<Int32Type>().value(4), 1);
    let d = json_fmt().decode_from_topic("t", &cols, &inputs[..1], false);
    assert!(d.errors[0]
        .1
        .starts_with("Failed to deserialize value from topic: t. "));
}

#[test]
fn decodes_nested_types_and_rolls_back_partial_rows() {
    let st = SqlType::Struct(vec![
        StructField {
            name: "A".into(),
            ty: SqlType::Array(Box::new(SqlType::Int)),
        },
        StructField {
            name: "M".into(),
            ty: SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
        },
    ]);
    let cols = [col("S", st.clone()), col("X", SqlType::Int)];
    let d = decode(
        &json_fmt(),
        &cols,
        &[
            r#"{"s": {"a": [1, null, 3], "m": {"k": 1.5, "n": null}}, "x": 1}"#,
            r#"{"s": {"a": [1, "bad"], "m": {}}, "x": 2}"#,
            r#"{"s": null, "x": 3}"#,
        ],
    );
    assert_eq!(d.errors.len(), 1);
    assert_eq!(
        d.errors[0],
        (
            1,
            "Can't coerce string to type. targetType: INTEGER, path: $.S.A[1]".to_string()
        )
    );
    assert_eq!(d.arrays[0].data_type(), &st.to_arrow());
    assert_eq!(
        crate::arrow_value_to_json(d.arrays[0].as_ref(), 0),
        json!({"A": [1, null, 3], "M": {"k": 1.5, "n": null}})
    );
    assert_eq!(
        crate::arrow_value_to_json(d.arrays[0].as_ref(), 1),
        json!(null)
    );
    assert_eq!(
        crate::arrow_value_to_json(d.arrays[0].as_ref(), 2),
        json!(null)
    );
    let x = d.arrays[1].as_primitive::<Int32Type>();
    assert!(x.is_null(1));
    assert_eq!(x.value(2), 3);
    // the failed row's list items were rolled back
    let list = d.arrays[0].as_struct().column(0).as_list::<i32>();
    assert_eq!(list.values().len(), 3);
}

#[test]
fn decimals_keep_scale_and_reject_overflow_and_rounding() {
    let cols = [col(
        "D",
        SqlType::Decimal {
            precision: 6,
            scale: 4,
        },
    )];
    let d = decode(
        &unwrapped(),
        &cols,
        &["10", "\"12.365\"", "0.0001", "100", "1.23456", "true"],
    );
    let a = d.arrays[0].as_primitive::<Decimal128Type>();
    assert_eq!(a.value(0), 100000);
    assert_eq!(a.value(1), 123650);
    assert_eq!(a.value(2), 1);
    let msgs: Vec<&str> = d.errors.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(msgs.len(), 3);
    assert!(msgs[0].starts_with("Numeric field overflow: A field with precision 6 and scale 4"));
    assert!(
        msgs[1].starts_with("Cannot fit decimal '1.23456' into DECIMAL(6, 4) without rounding.")
    );
    assert_eq!(
        msgs[2],
        "Can't convert type. sourceType: BooleanNode, requiredType: DECIMAL(6, 4), path: $"
    );
}

#[test]
fn decodes_temporal_and_bytes() {
    let cols = [
        col("DT", SqlType::Date),
        col("TM", SqlType::Time),
        col("TS", SqlType::Timestamp),
        col("B", SqlType::Bytes),
    ];
    let d = decode(
        &json_fmt(),
        &cols,
        &[
            r#"{"DT": 10, "TM": 10, "TS": 1580223282123, "B": "dmFyaWF0aW9ucw=="}"#,
            r#"{"DT": -10, "TM": "5", "TS": "7", "B": "IQ"}"#,
            r#"{"TM": 90000000}"#,
            r#"{"B": "@@@"}"#,
        ],
    );
    assert_eq!(
        d.arrays[0]
            .as_primitive::<datafusion::arrow::datatypes::Date32Type>()
            .value(1),
        -10
    );
    assert_eq!(d.arrays[3].as_binary::<i32>().value(0), b"variations");
    assert_eq!(d.arrays[3].as_binary::<i32>().value(1), b"!");
    assert_eq!(d.errors.len(), 2);
    assert!(d.errors[0]
        .1
        .starts_with("Time values must use number of milliseconds"));
    assert_eq!(
        d.errors[1].1,
        "Value is not a valid Base64 encoded string: @@@, path: $.B"
    );
}

#[test]
fn keys_are_unwrapped_unless_several() {
    let one = [col(
        "K",
        SqlType::Struct(vec![StructField {
            name: "F".into(),
            ty: SqlType::Double,
        }]),
    )];
    let d = json_fmt().decode(&one, &[Some(br#"{"f": 45.67}"#)], true);
    assert_eq!(
        crate::arrow_value_to_json(d.arrays[0].as_ref(), 0),
        json!({"F": 45.67})
    );
    let two = [col("K", SqlType::Int), col("K2", SqlType::Int)];
    let d = json_fmt().decode(&two, &[Some(br#"{"K": null, "K2": 2}"#)], true);
    assert!(d.arrays[0].is_null(0));
    assert_eq!(d.arrays[1].as_primitive::<Int32Type>().value(0), 2);
}

#[test]
fn encodes_wrapped_and_unwrapped_rows() {
    let cols = [col("FOO", SqlType::Boolean)];
    let arrays: Vec<ArrayRef> = vec![Arc::new(datafusion::arrow::array::BooleanArray::from(
        vec![Some(true), None],
    ))];
    assert_eq!(
        encode_strs(&json_fmt(), &cols, arrays.clone(), false),
        [
            Some(r#"{"FOO":true}"#.to_string()),
            Some(r#"{"FOO":null}"#.to_string())
        ]
    );
    assert_eq!(
        encode_strs(&unwrapped(), &cols, arrays.clone(), false),
        [Some("true".to_string()), None]
    );
    // single key columns are always unwrapped
    assert_eq!(
        encode_strs(&json_fmt(), &cols, arrays, true),
        [Some("true".to_string()), None]
    );
}

#[test]
fn encodes_types_like_json_converter() {
    let st = SqlType::Struct(vec![StructField {
        name: "a b".into(),
        ty: SqlType::String,
    }]);
    let cols = [
        col("I", SqlType::Int),
        col("L", SqlType::Bigint),
        col("D", SqlType::Double),
        col(
            "DEC",
            SqlType::Decimal {
                precision: 6,
                scale: 4,
            },
        ),
        col("S", SqlType::String),
        col("B", SqlType::Bytes),
        col("DT", SqlType::Date),
        col("TS", SqlType::Timestamp),
        col("ST", st.clone()),
    ];
    let d = decode(&json_fmt(), &cols[8..], &[r#"{"ST": {"a b": "q\"\n"}}"#]);
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![-1])),
        Arc::new(Int64Array::from(vec![998877665544332211])),
        Arc::new(Float64Array::from(vec![10.0])),
        Arc::new(
            Decimal128Array::from(vec![100000])
                .with_precision_and_scale(6, 4)
                .unwrap(),
        ),
        Arc::new(StringArray::from(vec!["héllo"])),
        Arc::new(BinaryArray::from(vec![&b"variations"[..]])),
        Arc::new(Date32Array::from(vec![-10])),
        Arc::new(TimestampMillisecondArray::from(vec![1580223282123])),
        d.arrays[0].clone(),
    ];
    let out = encode_strs(&json_fmt(), &cols, arrays, false);
    assert_eq!(
        out[0].as_deref().unwrap(),
        r#"{"I":-1,"L":998877665544332211,"D":10.0,"DEC":10.0000,"S":"héllo","B":"dmFyaWF0aW9ucw==","DT":-10,"TS":1580223282123,"ST":{"a b":"q\"\n"}}"#
    );
    // and it reads back
    let back = decode(&json_fmt(), &cols, &[out[0].as_deref().unwrap()]);
    assert!(back.errors.is_empty(), "{:?}", back.errors);
}

#[test]
fn casts_arrays_of_other_types_before_encoding() {
    let cols = [col("S", SqlType::String)];
    let arrays: Vec<ArrayRef> = vec![Arc::new(datafusion::arrow::array::StringViewArray::from(
        vec!["x"],
    ))];
    assert_eq!(
        encode_strs(&json_fmt(), &cols, arrays, false),
        [Some(r#"{"S":"x"}"#.to_string())]
    );
}

#[test]
fn json_descriptions_round_trip() {
    let f = json_fmt();
    let cols = [col("V", SqlType::Int)];
    let v = json!({"V": 10.0, "x": [1, "a"]});
    let bytes = f.json_to_bytes(&cols, &v, false).unwrap().unwrap();
    assert_eq!(f.bytes_to_json(&cols, Some(&bytes), false).unwrap(), v);
    assert_eq!(f.json_to_bytes(&cols, &json!(null), false).unwrap(), None);
    assert_eq!(f.bytes_to_json(&cols, None, false).unwrap(), json!(null));
    assert!(f.bytes_to_json(&cols, Some(b"{"), false).is_err());
}
