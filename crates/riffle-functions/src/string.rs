//! ksqlDB's string functions (`io.confluent.ksql.function.udf.string.*`) where DataFusion's
//! differ.
//!
//! * `SUBSTRING(s, pos[, len])` (ksqlDB `Substring`): positions are 1-based, a negative position
//!   counts from the end, and out-of-range bounds are clamped; DataFusion's `substr` treats
//!   positions ≤ 0 as before the start and shortens the length accordingly. BYTES too.
//!
//! The rest are in [`crate::text_fns`].

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::types::{is_integer, is_string};
use crate::udf::{no_overload, KsqlUdf, Typed};

/// The string UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    let mut v = vec![KsqlUdf::new("SUBSTRING", type_substring, eval_substring).into_udf()];
    v.extend(crate::text_fns::udfs());
    v
}

fn int_or_null(t: &DataType) -> bool {
    is_integer(t) || t == &DataType::Null
}

fn type_substring(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    let text = |s: &DataType| is_string(s) || s == &DataType::Null || s == &DataType::Binary;
    let ok = match args {
        [s, p] => text(s) && int_or_null(p),
        [s, p, l] => text(s) && int_or_null(p) && int_or_null(l),
        _ => false,
    };
    if !ok {
        return no_overload("SUBSTRING", args);
    }
    let first = if args[0] == DataType::Binary {
        DataType::Binary
    } else {
        DataType::Utf8
    };
    let mut coerced = vec![first.clone(), DataType::Int32];
    if args.len() == 3 {
        coerced.push(DataType::Int32);
    }
    Ok(Typed {
        args: coerced,
        ret: first,
    })
}

/// ksqlDB's `Substring` on `s` (positions in characters).
pub fn substring(s: &str, pos: i32, len: Option<i32>) -> String {
    let chars: Vec<char> = s.chars().collect();
    sub_slice(&chars, pos, len).iter().collect()
}

/// ksqlDB's `Substring` bounds applied to a slice.
pub fn sub_slice<T>(chars: &[T], pos: i32, len: Option<i32>) -> &[T] {
    let n = chars.len() as i64;
    let pos = pos as i64;
    let start = if pos >= 0 {
        (pos - 1).max(0).min(n)
    } else {
        (n + pos).max(0)
    };
    let end = match len {
        Some(l) => start.max(n.min(start + l as i64)),
        None => n,
    };
    &chars[start as usize..end as usize]
}

fn eval_substring(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    if ret == &DataType::Binary {
        return crate::udf::rowwise(args, ret, |row| {
            let (ScalarValue::Binary(Some(b)), Some(p)) = (&row[0], crate::udf::as_i64(&row[1]))
            else {
                return Ok(ScalarValue::Null);
            };
            let len = match row.get(2) {
                Some(l) => match crate::udf::as_i64(l) {
                    Some(l) => Some(l as i32),
                    None => return Ok(ScalarValue::Null),
                },
                None => None,
            };
            Ok(ScalarValue::Binary(Some(
                sub_slice(b, p as i32, len).to_vec(),
            )))
        });
    }
    let s = args[0].as_string::<i32>();
    let p = args[1].as_primitive::<Int32Type>();
    let l = args.get(2).map(|a| a.as_primitive::<Int32Type>());
    let out: StringArray = (0..s.len())
        .map(|i| {
            if s.is_null(i) || p.is_null(i) || l.is_some_and(|l| l.is_null(i)) {
                return None;
            }
            Some(substring(s.value(i), p.value(i), l.map(|l| l.value(i))))
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_like_ksql() {
        assert_eq!(substring("zb", 2, None), "b");
        assert_eq!(substring("hello", -3, Some(2)), "ll");
        assert_eq!(substring("hello", 0, Some(2)), "he");
        assert_eq!(substring("hello", 10, None), "");
    }
}
