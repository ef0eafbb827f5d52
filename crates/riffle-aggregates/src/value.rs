//! Helpers that build and take apart the typed `ScalarValue`s holding aggregate states, and the
//! Java semantics (ordering, equality) ksqlDB's UDAFs inherit from `Comparable` and `equals`.

use std::cmp::Ordering;
use std::fmt::Display;
use std::sync::Arc;

use datafusion::arrow::array::{
    new_empty_array, Array, ArrayRef, Int64Array, ListArray, MapArray, StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use riffle_types::SqlType;

use crate::{AggregateError, Result};

/// An engine-bug error: a value of the wrong shape reached `function`.
pub(crate) fn internal(function: &str, message: impl Display) -> AggregateError {
    AggregateError::Internal {
        function: function.to_string(),
        message: message.to_string(),
    }
}

/// ksqlDB's message for a call whose argument types no variant of the function accepts.
pub(crate) fn bad_args(function: &str, args: &[SqlType]) -> AggregateError {
    let list = args
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    AggregateError::BadArguments(format!(
        "Function '{function}' does not accept parameters ({list})."
    ))
}

/// The single column argument of a one-argument aggregate, or ksqlDB's "does not accept" error.
pub(crate) fn one_arg<'a>(function: &str, args: &'a [SqlType]) -> Result<&'a SqlType> {
    match args {
        [ty] => Ok(ty),
        _ => Err(bad_args(function, args)),
    }
}

/// The first argument value of a record (a missing one counts as NULL).
pub(crate) fn first(args: &[ScalarValue]) -> &ScalarValue {
    args.first().unwrap_or(&ScalarValue::Null)
}

/// A NULL of `ty`'s Arrow type.
pub(crate) fn typed_null(ty: &DataType) -> ScalarValue {
    ScalarValue::try_new_null(ty).unwrap_or(ScalarValue::Null)
}

/// `v` as a value of Arrow type `ty`: untyped NULLs get the type, other mismatches are cast (the
/// engine may hand over e.g. an Int64 literal where the column type is INT).
pub(crate) fn coerce(function: &str, v: &ScalarValue, ty: &DataType) -> Result<ScalarValue> {
    if &v.data_type() == ty {
        return Ok(v.clone());
    }
    if v.is_null() {
        return Ok(typed_null(ty));
    }
    v.cast_to(ty).map_err(|e| internal(function, e))
}

/// A one-row ARRAY value of `item`-typed elements, shaped exactly as `SqlType::Array::to_arrow`.
pub(crate) fn make_list(
    function: &str,
    values: &[ScalarValue],
    item: &DataType,
) -> Result<ScalarValue> {
    let array: ArrayRef = if values.is_empty() {
        new_empty_array(item)
    } else {
        let coerced = values
            .iter()
            .map(|v| coerce(function, v, item))
            .collect::<Result<Vec<_>>>()?;
        ScalarValue::iter_to_array(coerced).map_err(|e| internal(function, e))?
    };
    let field = Arc::new(Field::new("item", item.clone(), true));
    let list = ListArray::try_new(
        field,
        OffsetBuffer::from_lengths([array.len()]),
        array,
        None,
    )
    .map_err(|e| internal(function, e))?;
    Ok(ScalarValue::List(Arc::new(list)))
}

/// The elements of an ARRAY value (none for a NULL array).
pub(crate) fn list_items(function: &str, v: &ScalarValue) -> Result<Vec<ScalarValue>> {
    match v {
        ScalarValue::List(list) => {
            if list.is_empty() || list.is_null(0) {
                return Ok(Vec::new());
            }
            let values = list.value(0);
            (0..values.len())
                .map(|i| ScalarValue::try_from_array(&values, i).map_err(|e| internal(function, e)))
                .collect()
        }
        ScalarValue::Null => Ok(Vec::new()),
        other => Err(internal(
            function,
            format!("expected an ARRAY state, got {}", other.data_type()),
        )),
    }
}

/// The Arrow fields of a STRUCT type.
pub(crate) fn struct_fields(function: &str, ty: &SqlType) -> Result<Fields> {
    match ty.to_arrow() {
        DataType::Struct(fields) => Ok(fields),
        other => Err(internal(
            function,
            format!("expected a STRUCT, got {other}"),
        )),
    }
}

/// A one-row STRUCT value of `fields` holding `values` in field order.
pub(crate) fn make_struct(
    function: &str,
    fields: &Fields,
    values: &[ScalarValue],
) -> Result<ScalarValue> {
    let columns = fields
        .iter()
        .zip(values)
        .map(|(f, v)| {
            coerce(function, v, f.data_type())?
                .to_array()
                .map_err(|e| internal(function, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let array =
        StructArray::try_new(fields.clone(), columns, None).map_err(|e| internal(function, e))?;
    Ok(ScalarValue::Struct(Arc::new(array)))
}

/// The field values of a STRUCT value, `None` when the struct itself is NULL.
pub(crate) fn struct_values(function: &str, v: &ScalarValue) -> Result<Option<Vec<ScalarValue>>> {
    match v {
        ScalarValue::Struct(array) => {
            if array.is_empty() || array.is_null(0) {
                return Ok(None);
            }
            array
                .columns()
                .iter()
                .map(|c| ScalarValue::try_from_array(c, 0).map_err(|e| internal(function, e)))
                .collect::<Result<Vec<_>>>()
                .map(Some)
        }
        ScalarValue::Null => Ok(None),
        other => Err(internal(
            function,
            format!("expected a STRUCT state, got {}", other.data_type()),
        )),
    }
}

/// A MAP<STRING, BIGINT> value of `entries` (in order), shaped as `SqlType::Map::to_arrow`.
pub(crate) fn make_string_count_map(
    function: &str,
    entries: &[(String, i64)],
) -> Result<ScalarValue> {
    let DataType::Map(entries_field, sorted) =
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint)).to_arrow()
    else {
        return Err(internal(function, "MAP type is not an Arrow map"));
    };
    let DataType::Struct(kv) = entries_field.data_type().clone() else {
        return Err(internal(function, "MAP entries are not a struct"));
    };
    let keys: ArrayRef = Arc::new(StringArray::from_iter_values(
        entries.iter().map(|(k, _)| k.as_str()),
    ));
    let counts: ArrayRef = Arc::new(Int64Array::from_iter_values(
        entries.iter().map(|(_, c)| *c),
    ));
    let struct_array =
        StructArray::try_new(kv, vec![keys, counts], None).map_err(|e| internal(function, e))?;
    let map = MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths([entries.len()]),
        struct_array,
        None,
        sorted,
    )
    .map_err(|e| internal(function, e))?;
    Ok(ScalarValue::Map(Arc::new(map)))
}

/// The entries of a MAP<STRING, BIGINT> value, in order.
pub(crate) fn string_count_entries(function: &str, v: &ScalarValue) -> Result<Vec<(String, i64)>> {
    let ScalarValue::Map(map) = v else {
        return Err(internal(function, "expected a MAP state"));
    };
    if map.is_empty() || map.is_null(0) {
        return Ok(Vec::new());
    }
    let entries = map.value(0);
    let keys = entries
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| internal(function, "MAP keys are not strings"))?;
    let counts = entries
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| internal(function, "MAP values are not BIGINT"))?;
    Ok((0..entries.len())
        .map(|i| (keys.value(i).to_string(), counts.value(i)))
        .collect())
}

/// Java's `Double.compare`: NaN above everything (all NaNs equal) and -0.0 below 0.0.
pub(crate) fn java_double_cmp(a: f64, b: f64) -> Ordering {
    fn bits(x: f64) -> i64 {
        if x.is_nan() {
            0x7ff8_0000_0000_0000
        } else {
            x.to_bits() as i64
        }
    }
    match a.partial_cmp(&b) {
        Some(Ordering::Equal) | None => bits(a).cmp(&bits(b)),
        Some(o) => o,
    }
}

/// The order ksqlDB's `Comparable` values have: Java's for doubles, UTF-16 code units for
/// strings (`String.compareTo`) and signed bytes for BYTES (`ByteBuffer.compareTo`).
/// Both values are non-null and of the same type.
pub(crate) fn java_cmp(a: &ScalarValue, b: &ScalarValue) -> Ordering {
    match (a, b) {
        (ScalarValue::Float64(Some(x)), ScalarValue::Float64(Some(y))) => java_double_cmp(*x, *y),
        (ScalarValue::Utf8(Some(x)), ScalarValue::Utf8(Some(y))) => {
            x.encode_utf16().cmp(y.encode_utf16())
        }
        (ScalarValue::Binary(Some(x)), ScalarValue::Binary(Some(y))) => {
            x.iter().map(|b| *b as i8).cmp(y.iter().map(|b| *b as i8))
        }
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Java `equals` as ksqlDB's collections use it: doubles by their canonical bits (NaN equals
/// NaN, 0.0 differs from -0.0), everything else by value.
pub(crate) fn java_eq(a: &ScalarValue, b: &ScalarValue) -> bool {
    match (a, b) {
        (ScalarValue::Float64(Some(x)), ScalarValue::Float64(Some(y))) => {
            java_double_cmp(*x, *y) == Ordering::Equal
        }
        _ => a == b,
    }
}

/// Whether values of `ty` are `Comparable` in ksqlDB (MIN, MAX, TOPK accept them).
pub(crate) fn is_comparable(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Int
            | SqlType::Bigint
            | SqlType::Double
            | SqlType::Decimal { .. }
            | SqlType::String
            | SqlType::Bytes
            | SqlType::Date
            | SqlType::Time
            | SqlType::Timestamp
    )
}

/// An integer literal parameter, of any integer width.
pub(crate) fn param_int(p: &ScalarValue) -> Option<i64> {
    match p {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// A BOOLEAN literal parameter.
pub(crate) fn param_bool(p: &ScalarValue) -> Option<bool> {
    match p {
        ScalarValue::Boolean(Some(b)) => Some(*b),
        _ => None,
    }
}

/// A numeric value as a Java `double` (INT, BIGINT, DOUBLE and DECIMAL widen implicitly).
pub(crate) fn as_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Int32(Some(x)) => Some(f64::from(*x)),
        ScalarValue::Int64(Some(x)) => Some(*x as f64),
        ScalarValue::Float64(Some(x)) => Some(*x),
        ScalarValue::Decimal128(Some(x), _, s) => Some(*x as f64 / 10f64.powi(i32::from(*s))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_structs_and_maps_round_trip() {
        let l = make_list(
            "T",
            &[ScalarValue::Int32(Some(1)), ScalarValue::Null],
            &DataType::Int32,
        )
        .unwrap();
        assert_eq!(
            l.data_type(),
            SqlType::Array(Box::new(SqlType::Int)).to_arrow()
        );
        assert_eq!(
            list_items("T", &l).unwrap(),
            vec![ScalarValue::Int32(Some(1)), ScalarValue::Int32(None)]
        );
        let empty = make_list("T", &[], &DataType::Utf8).unwrap();
        assert!(list_items("T", &empty).unwrap().is_empty());

        let ty = SqlType::Struct(vec![riffle_types::StructField {
            name: "A".into(),
            ty: SqlType::Bigint,
        }]);
        let fields = struct_fields("T", &ty).unwrap();
        let s = make_struct("T", &fields, &[ScalarValue::Int64(Some(3))]).unwrap();
        assert_eq!(s.data_type(), ty.to_arrow());
        assert_eq!(
            struct_values("T", &s).unwrap(),
            Some(vec![ScalarValue::Int64(Some(3))])
        );

        let m = make_string_count_map("T", &[("a".into(), 2)]).unwrap();
        assert_eq!(
            m.data_type(),
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint)).to_arrow()
        );
        assert_eq!(
            string_count_entries("T", &m).unwrap(),
            vec![("a".to_string(), 2)]
        );
    }

    #[test]
    fn java_ordering() {
        assert_eq!(java_double_cmp(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(java_double_cmp(-0.0, 0.0), Ordering::Less);
        assert!(java_eq(
            &ScalarValue::Float64(Some(f64::NAN)),
            &ScalarValue::Float64(Some(f64::NAN))
        ));
        // 0x80 is negative as a Java byte.
        assert_eq!(
            java_cmp(
                &ScalarValue::Binary(Some(vec![0x80])),
                &ScalarValue::Binary(Some(vec![0x01]))
            ),
            Ordering::Less
        );
        // U+FF61 sorts after U+1F600 in UTF-8 but before it in UTF-16.
        assert_eq!(
            java_cmp(
                &ScalarValue::Utf8(Some("\u{ff61}".into())),
                &ScalarValue::Utf8(Some("\u{1f600}".into()))
            ),
            Ordering::Greater
        );
    }
}
