use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal128Array, Float64Array, Int32Array,
    Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
use riffle_types::{Column, ColumnKind, SqlType, StructField};
use serde_json::json;

use super::*;

fn col(name: &str, ty: SqlType) -> Column {
    Column {
        name: name.into(),
        ty,
        kind: ColumnKind::Value,
    }
}

fn fmt(name: &str) -> Format {
    Format::from_name(name).unwrap()
}

fn strs(out: Vec<Option<Vec<u8>>>) -> Vec<Option<String>> {
    out.into_iter()
        .map(|b| b.map(|b| String::from_utf8(b).unwrap()))
        .collect()
}

#[test]
fn parses_names_case_insensitively() {
    assert_eq!(fmt("json").kind, FormatKind::Json);
    assert_eq!(fmt("Delimited").name(), "DELIMITED");
    assert_eq!(fmt("KAFKA").kind, FormatKind::Kafka);
    assert_eq!(fmt("none").kind, FormatKind::None);
    assert_eq!(fmt("avro").kind, FormatKind::Avro);
    assert_eq!(fmt("PROTOBUF_NOSR").kind, FormatKind::Protobuf);
    assert_eq!(fmt("json_sr").name(), "JSON_SR");
    let e = Format::from_name("foo").unwrap_err().to_string();
    assert!(e.starts_with("Unknown format: FOO"), "{e}");
    assert!(e.contains("DELIMITED"), "{e}");
}

#[test]
fn delimiters_follow_ksqldb_rules() {
    let d = fmt("DELIMITED");
    assert_eq!(d.clone().with_delimiter("|").unwrap().delimiter, '|');
    assert_eq!(d.clone().with_delimiter("TAB").unwrap().delimiter, '\t');
    assert_eq!(d.clone().with_delimiter("SPACE").unwrap().delimiter, ' ');
    assert_eq!(
        d.clone().with_delimiter("<~>").unwrap_err().to_string(),
        "Configuration VALUE_DELIMITER is invalid: Invalid delimiter value: '<~>'. Delimiter \
         must be a single character or TAB,SPACE\nExample valid value: ';'"
    );
    for blank in ["", " ", "\t"] {
        assert!(d
            .clone()
            .with_delimiter(blank)
            .unwrap_err()
            .to_string()
            .contains("Delimiter cannot be empty, if you meant to have a tab or space"));
    }
    assert!(d
        .with_key_delimiter("ab")
        .unwrap_err()
        .to_string()
        .contains("KEY_DELIMITER"));
    assert_eq!(
        fmt("JSON").with_delimiter("|").unwrap_err().to_string(),
        "JSON does not support the following configs: [delimiter]"
    );
}

#[test]
fn validates_columns_like_ksqldb() {
    let int = [col("V0", SqlType::Int)];
    let two = [col("V0", SqlType::Int), col("V1", SqlType::String)];
    let err = |f: &Format, c: &[Column], key: bool| f.validate(c, key).unwrap_err().to_string();
    assert!(fmt("KAFKA").validate(&int, false).is_ok());
    assert!(err(&fmt("KAFKA"), &two, false).contains(
        "The 'KAFKA' format only supports a single field. Got: [`V0` INTEGER, `V1` STRING]"
    ));
    assert_eq!(
        err(&fmt("KAFKA"), &[col("K", SqlType::Boolean)], true),
        "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=[`K` \
         BOOLEAN KEY], features=[]}\nreason: The 'KAFKA' format does not support type 'BOOLEAN'"
    );
    assert!(err(
        &fmt("KAFKA"),
        &[col("K", SqlType::decimal(2, 1).unwrap())],
        true
    )
    .ends_with("does not support type 'DECIMAL'"));
    assert!(fmt("KAFKA")
        .validate(&[col("B", SqlType::Bytes)], false)
        .is_ok());
    assert_eq!(
        err(
            &fmt("DELIMITED"),
            &[col("K", SqlType::Array(Box::new(SqlType::Double)))],
            true
        ),
        "Key format does not support schema.\nformat: DELIMITED\nschema: Persistence{columns=[`K` \
         ARRAY<DOUBLE> KEY], features=[]}\nreason: The 'DELIMITED' format does not support type \
         'ARRAY', column: `K`"
    );
    assert!(
        err(&fmt("NONE"), &[col("FOO", SqlType::Int)], false).contains(
            "The 'NONE' format can only be used when no columns are defined. Got: [`FOO` INTEGER]"
        )
    );
    assert!(fmt("NONE").validate(&[], true).is_ok());
    let map_int = SqlType::Map(Box::new(SqlType::Int), Box::new(SqlType::Double));
    assert!(err(&fmt("JSON"), &[col("FOO", map_int.clone())], false)
        .contains("JSON only supports MAP types with STRING keys"));
    assert_eq!(
        err(
            &fmt("JSON"),
            &[col("K", SqlType::Array(Box::new(map_int)))],
            true
        ),
        "Map keys, including types that contain maps, are not supported as they may lead to \
         unexpected behavior due to inconsistent serialization. Key column name: `K`. Column \
         type: ARRAY<MAP<INTEGER, DOUBLE>>. See https://github.com/confluentinc/ksql/issues/6621 \
         for more."
    );
    let wrapped = Format {
        wrap_single_value: Some(true),
        ..fmt("DELIMITED")
    };
    assert_eq!(
        err(&wrapped, &int, false),
        "Format 'DELIMITED' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
    );
    let unwrapped_json = Format {
        wrap_single_value: Some(false),
        ..fmt("JSON")
    };
    assert_eq!(
        err(&unwrapped_json, &two, false),
        "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas"
    );
    assert!(fmt("AVRO").validate(&int, false).is_ok());
}

#[test]
fn delimited_decodes_records() {
    let cols = [
        col("ID", SqlType::Bigint),
        col("NAME", SqlType::String),
        col("OK", SqlType::Boolean),
        col("D", SqlType::Double),
        col(
            "DEC",
            SqlType::Decimal {
                precision: 33,
                scale: 16,
            },
        ),
    ];
    let inputs: Vec<Option<&[u8]>> = vec![
        Some(b"0,zero,true,1.5,.12"),
        Some(b"1,\"a, b\",\"TRUE\",,\"-12345.12\""),
        Some(b",,nope,1e3,0"),
        Some(b"1,2"),
        Some(b"x,a,true,1,1"),
        Some(b""),
        None,
    ];
    let d = fmt("DELIMITED").decode(&cols, &inputs, false);
    let id = d.arrays[0].as_primitive::<Int64Type>();
    let name = d.arrays[1].as_string::<i32>();
    let ok = d.arrays[2].as_boolean();
    let dbl = d.arrays[3].as_primitive::<Float64Type>();
    let dec = d.arrays[4].as_primitive::<Decimal128Type>();
    assert_eq!(
        (id.value(0), name.value(0), ok.value(0), dbl.value(0)),
        (0, "zero", true, 1.5)
    );
    assert_eq!(dec.value(0), 1_200_000_000_000_000);
    assert_eq!((name.value(1), ok.value(1)), ("a, b", true));
    assert!(dbl.is_null(1));
    assert_eq!(dec.value(1), -123_451_200_000_000_000_000);
    assert!(id.is_null(2) && name.is_null(2));
    assert!(!ok.value(2));
    assert_eq!(dbl.value(2), 1000.0);
    assert_eq!(
        d.errors,
        [
            (
                3,
                "Column count mismatch on deserialization. expected: 5, got: 2".to_string()
            ),
            (4, "For input string: \"x\"".to_string()),
            (5, "No fields in record".to_string()),
        ]
    );
    assert_eq!(d.null_rows, [6]);
}

#[test]
fn delimited_encodes_with_commons_csv_quoting() {
    let cols = [
        col(
            "A",
            SqlType::Decimal {
                precision: 21,
                scale: 16,
            },
        ),
        col("B", SqlType::String),
        col("C", SqlType::Double),
        col("D", SqlType::Bytes),
        col("E", SqlType::Int),
    ];
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(
            Decimal128Array::from(vec![Some(-123_451_200_000_000_000_000), Some(1), None])
                .with_precision_and_scale(21, 16)
                .unwrap(),
        ),
        Arc::new(StringArray::from(vec![Some("!"), Some("x,y"), Some("")])),
        Arc::new(Float64Array::from(vec![
            Some(532.8738323),
            Some(1e10),
            None,
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&b"!"[..]),
            None,
            Some(&b""[..]),
        ])),
        Arc::new(Int32Array::from(vec![Some(-5), None, Some(0)])),
    ];
    let out = strs(fmt("DELIMITED").encode(&cols, &arrays, false).unwrap());
    assert_eq!(
        out[0].as_deref(),
        Some("\"-12345.1200000000000000\",\"!\",532.8738323,IQ==,-5")
    );
    assert_eq!(
        out[1].as_deref(),
        Some("0.0000000000000001,\"x,y\",1.0E10,,")
    );
    assert_eq!(out[2].as_deref(), Some(",,,,0"));
    let piped = fmt("DELIMITED").with_delimiter("$").unwrap();
    let two = [col("ID", SqlType::Bigint), col("NAME", SqlType::String)];
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![0])),
        Arc::new(StringArray::from(vec!["zero"])),
    ];
    assert_eq!(
        strs(piped.encode(&two, &arrays, false).unwrap()),
        [Some("0$zero".to_string())]
    );
}

#[test]
fn delimited_round_trips_every_primitive() {
    let cols = [
        col("BO", SqlType::Boolean),
        col("I", SqlType::Int),
        col("L", SqlType::Bigint),
        col("D", SqlType::Double),
        col(
            "DEC",
            SqlType::Decimal {
                precision: 4,
                scale: 2,
            },
        ),
        col("S", SqlType::String),
        col("BY", SqlType::Bytes),
        col("DT", SqlType::Date),
        col("TM", SqlType::Time),
        col("TS", SqlType::Timestamp),
    ];
    let text = "true,-1,5000000000,2.5,-1.50,\"he said \"\"hi\"\"\",IQ==,-10,10,1580223282123";
    let d = fmt("DELIMITED").decode(&cols, &[Some(text.as_bytes())], false);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let out = strs(fmt("DELIMITED").encode(&cols, &d.arrays, false).unwrap());
    assert_eq!(out[0].as_deref(), Some(text));
}

#[test]
fn delimited_description_is_the_text() {
    let f = fmt("DELIMITED");
    let cols = [col("V", SqlType::Int)];
    assert_eq!(
        f.json_to_bytes(&cols, &json!("0,zero,0"), false)
            .unwrap()
            .unwrap(),
        b"0,zero,0"
    );
    assert_eq!(
        f.json_to_bytes(&cols, &json!(33), true).unwrap().unwrap(),
        b"33"
    );
    assert_eq!(
        f.bytes_to_json(&cols, Some(b"\"-5\""), false).unwrap(),
        json!("\"-5\"")
    );
}

#[test]
fn kafka_uses_big_endian_primitives() {
    let f = fmt("KAFKA");
    let int = [col("K", SqlType::Int)];
    let d = f.decode(&int, &[Some(&[0, 0, 0, 7]), Some(&[1, 2]), None], true);
    assert_eq!(d.arrays[0].as_primitive::<Int32Type>().value(0), 7);
    assert_eq!(
        d.errors,
        [(
            1,
            "Size of data received by IntegerDeserializer is not 4".to_string()
        )]
    );
    assert_eq!(d.null_rows, [2]);

    let dbl = [col("V", SqlType::Double)];
    let bytes = f.json_to_bytes(&dbl, &json!(1.5), false).unwrap().unwrap();
    assert_eq!(bytes, 1.5f64.to_be_bytes());
    assert_eq!(
        f.bytes_to_json(&dbl, Some(&bytes), false)
            .unwrap()
            .to_string(),
        "1.5"
    );

    let big = [col("V", SqlType::Bigint)];
    let bytes = f
        .json_to_bytes(&big, &json!(998877665544332211i64), false)
        .unwrap()
        .unwrap();
    assert_eq!(
        f.bytes_to_json(&big, Some(&bytes), false).unwrap(),
        json!(998877665544332211i64)
    );
    assert!(f.decode(&big, &[Some(&bytes[..4])], false).errors[0]
        .1
        .contains("LongDeserializer"));

    let s = [col("K", SqlType::String)];
    assert_eq!(
        f.json_to_bytes(&s, &json!("foo"), true).unwrap().unwrap(),
        b"foo"
    );
    assert_eq!(f.json_to_bytes(&s, &json!(0), true).unwrap().unwrap(), b"0");
    let by = [col("B", SqlType::Bytes)];
    let raw = f
        .json_to_bytes(&by, &json!("dmFyaWF0aW9ucw=="), false)
        .unwrap()
        .unwrap();
    assert_eq!(raw, b"variations");
    assert_eq!(
        f.bytes_to_json(&by, Some(&raw), false).unwrap(),
        json!("dmFyaWF0aW9ucw==")
    );
    assert!(f.json_to_bytes(&int, &json!("x"), false).is_err());

    let arrays: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![Some("bar"), None]))];
    assert_eq!(
        strs(f.encode(&s, &arrays, false).unwrap()),
        [Some("bar".to_string()), None]
    );
    let arrays: Vec<ArrayRef> = vec![Arc::new(Int32Array::from(vec![2]))];
    assert_eq!(
        f.encode(&int, &arrays, false).unwrap(),
        [Some(vec![0, 0, 0, 2])]
    );
}

#[test]
fn kafka_without_columns_ignores_records() {
    let f = fmt("KAFKA");
    let d = f.decode(&[], &[Some(b"ignored"), None], true);
    assert!(d.arrays.is_empty() && d.errors.is_empty());
    assert_eq!(
        f.bytes_to_json(&[], Some(b"ignored"), true).unwrap(),
        json!(null)
    );
    assert_eq!(f.encode_rows(&[], &[], 2, true).unwrap(), [None, None]);
    assert_eq!(
        f.json_to_bytes(&[], &json!("ignored"), true)
            .unwrap()
            .unwrap(),
        b"ignored"
    );
}

#[test]
fn none_carries_nothing() {
    let f = fmt("NONE");
    let d = f.decode(&[], &[Some(b"data that should be ignored"), None], true);
    assert!(d.arrays.is_empty() && d.errors.is_empty());
    assert_eq!(f.bytes_to_json(&[], Some(b"x"), true).unwrap(), json!(null));
    assert_eq!(f.encode_rows(&[], &[], 1, true).unwrap(), [None]);
}

#[test]
fn schema_registry_formats_without_a_registry_fail_clearly() {
    let f = fmt("AVRO");
    let cols = [col("V", SqlType::Int)];
    // a well-formed header (magic byte, schema id 1) so that the missing registry is the error
    let d = f.decode(&cols, &[Some(&[0, 0, 0, 0, 1, 2]), None], false);
    assert_eq!(d.errors.len(), 1);
    assert!(
        d.errors[0].1.contains("AVRO needs a schema registry"),
        "{}",
        d.errors[0].1
    );
    assert!(f
        .encode(&cols, &[Arc::new(Int32Array::from(vec![1]))], false)
        .is_err());
    assert!(f.json_to_bytes(&cols, &json!(1), false).is_err());
}

#[test]
fn encode_checks_array_count_and_casts() {
    let cols = [col("V", SqlType::Int)];
    assert!(fmt("JSON").encode(&cols, &[], false).is_err());
    // Int64 data for an INT column is cast
    let arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![3]))];
    assert_eq!(
        strs(fmt("DELIMITED").encode(&cols, &arrays, false).unwrap()),
        [Some("3".into())]
    );
    // a STRUCT cannot be written as DELIMITED
    let st = [col(
        "S",
        SqlType::Struct(vec![StructField {
            name: "A".into(),
            ty: SqlType::Int,
        }]),
    )];
    let arrays: Vec<ArrayRef> = vec![Arc::new(BooleanArray::from(vec![true]))];
    assert!(fmt("DELIMITED").encode(&st, &arrays, false).is_err());
}

#[test]
fn decoded_arrays_have_declared_types_and_lengths() {
    let cols = [
        col("A", SqlType::Array(Box::new(SqlType::Int))),
        col(
            "M",
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)),
        ),
        col("T", SqlType::Time),
    ];
    let d = fmt("JSON").decode(&cols, &[Some(b"{}"), Some(b"garbage"), None], false);
    for (a, c) in d.arrays.iter().zip(&cols) {
        assert_eq!(a.data_type(), &c.ty.to_arrow());
        assert_eq!(a.len(), 3);
        assert_eq!(a.null_count(), 3);
    }
}

#[test]
fn malformed_input_never_panics() {
    let cols = [
        col(
            "A",
            SqlType::Array(Box::new(SqlType::Decimal {
                precision: 38,
                scale: 10,
            })),
        ),
        col(
            "S",
            SqlType::Struct(vec![StructField {
                name: "X".into(),
                ty: SqlType::Bytes,
            }]),
        ),
        col("T", SqlType::Timestamp),
    ];
    let samples: Vec<&[u8]> = vec![
        b"{\"A\": [1e999999999999], \"S\": {\"X\": 5}}",
        b"{\"A\": [\"1e-2147483648\"], \"T\": 1e400}",
        b"{\"A\": [99999999999999999999999999999999999999999]}",
        b"\xff\xfe\xfd",
        b"[[[[[[[[[[",
        b"\"\\ud800\"",
        b"\"x\"",
        b"1,2,3",
    ];
    for f in ["JSON", "DELIMITED", "KAFKA", "NONE"] {
        let inputs: Vec<Option<&[u8]>> = samples.iter().map(|s| Some(*s)).collect();
        let d = fmt(f).decode(&cols, &inputs, false);
        assert!(d.arrays.iter().all(|a| a.len() == samples.len()));
        let d = fmt(f).decode(&cols[2..], &inputs, false);
        assert!(d.arrays.iter().all(|a| a.len() == samples.len()));
    }
}

#[test]
fn null_keys_and_null_records_encode_to_none() {
    let two = [col("K1", SqlType::String), col("K2", SqlType::String)];
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![Some("foo"), None, None])),
        Arc::new(StringArray::from(vec![Some("bar"), None, Some("x")])),
    ];
    assert_eq!(
        strs(fmt("JSON").encode(&two, &arrays, true).unwrap()),
        [
            Some(r#"{"K1":"foo","K2":"bar"}"#.into()),
            None,
            Some(r#"{"K1":null,"K2":"x"}"#.into())
        ]
    );
    assert_eq!(
        strs(fmt("DELIMITED").encode(&two, &arrays, true).unwrap()),
        [Some("foo,bar".into()), None, Some(",x".into())]
    );
    // values: an all-null row is still a record, unless flagged as a null record
    let one = [col("V", SqlType::Int)];
    let arrays: Vec<ArrayRef> = vec![Arc::new(Int32Array::from(vec![None, None, Some(1)]))];
    assert_eq!(
        strs(fmt("DELIMITED").encode(&one, &arrays, false).unwrap()),
        [Some(String::new()), Some(String::new()), Some("1".into())]
    );
    assert_eq!(
        strs(
            fmt("JSON")
                .encode_with_null_records(&one, &arrays, &[false, true, false], false)
                .unwrap()
        ),
        [
            Some(r#"{"V":null}"#.into()),
            None,
            Some(r#"{"V":1}"#.into())
        ]
    );
    assert_eq!(
        fmt("JSON")
            .encode_with_null_records(&[], &[], &[false, true], false)
            .unwrap(),
        [Some(b"{}".to_vec()), None]
    );
}
