//! ksqlDB's array, map and struct functions (`io.confluent.ksql.function.udf.array.*`,
//! `...udf.map.*`) where DataFusion's differ.
//!
//! * `ARRAY_LENGTH` (ksqlDB `ArrayLength`) is an INT, and null for a null array; DataFusion's
//!   `cardinality` is an unsigned BIGINT.
//! * `AS_MAP(keys, values)` (ksqlDB `AsMap`) pairs keys with values up to the shorter list and
//!   lets later duplicate keys win; DataFusion's `map` fails on unequal lengths and duplicates.
//! * `KSQL_EMPTY_STRUCT()` is ksqlDB's `STRUCT()`, which DataFusion's `named_struct` cannot
//!   build.
//! * `SLICE(list, from, to)` (ksqlDB `Slice`): 1-based and inclusive, null when out of range;
//!   DataFusion's `array_slice` clamps.
//! * `ARRAY_REMOVE(list, x)` (ksqlDB `ArrayRemove`): removes every element equal to `x` by Java's
//!   `equals` (also nulls, and for nested types); DataFusion's removes only the first.
//! * `ARRAY_SORT(list[, 'ASC'|'DESC'])`, `ARRAY_MIN`, `ARRAY_MAX` (ksqlDB `ArraySort`, …): nulls
//!   sort last in both directions and are ignored by min/max; DataFusion sorts nulls first.
//! * `ARRAY_JOIN(list[, delim])` (ksqlDB `ArrayJoin`): joins any primitive elements as Java
//!   prints them, nulls as `null`, with `,` by default; DataFusion's `array_to_string` needs a
//!   delimiter and skips nulls.
//! * `MAP_UNION(a, b)` (ksqlDB `MapUnion`): entries of both, `b` winning; `ENTRIES(map, sorted)`
//!   (ksqlDB `Entries`): the entries as `STRUCT<K, V>`s. DataFusion has neither.

use std::sync::Arc;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, Int32Array, MapArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::compare::values_equal;
use crate::types::is_integer;
use crate::types::{list_item, map_of};
use crate::udf::{as_i64, no_overload, rowwise, KsqlUdf, Typed};

/// Name of the empty-struct constructor.
pub const EMPTY_STRUCT: &str = "KSQL_EMPTY_STRUCT";

/// The collection UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new("ARRAY_LENGTH", type_array_length, eval_array_length).into_udf(),
        KsqlUdf::new("AS_MAP", type_as_map, eval_as_map).into_udf(),
        KsqlUdf::new("SLICE", type_slice, eval_slice).into_udf(),
        KsqlUdf::new("ARRAY_REMOVE", type_remove, eval_remove).into_udf(),
        KsqlUdf::new("ARRAY_SORT", type_sort, eval_sort).into_udf(),
        KsqlUdf::new(
            "ARRAY_MIN",
            |a, _| type_item(a, "ARRAY_MIN"),
            |a, r| eval_extreme(a, r, false),
        )
        .into_udf(),
        KsqlUdf::new(
            "ARRAY_MAX",
            |a, _| type_item(a, "ARRAY_MAX"),
            |a, r| eval_extreme(a, r, true),
        )
        .into_udf(),
        KsqlUdf::new("ARRAY_JOIN", type_join, eval_join).into_udf(),
        KsqlUdf::new("MAP_UNION", type_map_union, eval_map_union).into_udf(),
        KsqlUdf::new(
            EMPTY_STRUCT,
            |args, _| Ok(Typed::new(args, DataType::Struct(Fields::empty()))),
            |a, _| Ok(Arc::new(StructArray::new_empty_fields(a[0].len(), None))),
        )
        .into_udf(),
    ]
}

fn type_array_length(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a] if list_item(a).is_some() || a == &DataType::Null => {
            Ok(Typed::new(args, DataType::Int32))
        }
        _ => no_overload("ARRAY_LENGTH", args),
    }
}

fn eval_array_length(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    if a.data_type() == &DataType::Null {
        return Ok(new_null_array(&DataType::Int32, a.len()));
    }
    let Some(list) = a.as_list_opt::<i32>() else {
        return exec_err!("ARRAY_LENGTH expects an ARRAY");
    };
    let out: Int32Array = (0..list.len())
        .map(|i| (!list.is_null(i)).then(|| list.value_length(i)))
        .collect();
    Ok(Arc::new(out))
}

fn type_as_map(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [k, v] => match (list_item(k), list_item(v)) {
            (Some(DataType::Utf8), Some(vt)) => {
                Ok(Typed::new(args, map_of(DataType::Utf8, vt.clone())))
            }
            _ => no_overload("AS_MAP", args),
        },
        _ => no_overload("AS_MAP", args),
    }
}

fn eval_as_map(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let (Some(keys), Some(values)) = (args[0].as_list_opt::<i32>(), args[1].as_list_opt::<i32>())
    else {
        return exec_err!("AS_MAP expects two ARRAYs");
    };
    let (kvals, vvals) = (keys.values(), values.values());
    let mut key_idx: Vec<u32> = Vec::new();
    let mut val_idx: Vec<u32> = Vec::new();
    let mut offsets = vec![0i32];
    let mut nulls = Vec::with_capacity(keys.len());
    for i in 0..keys.len() {
        if keys.is_null(i) || values.is_null(i) {
            nulls.push(false);
            offsets.push(key_idx.len() as i32);
            continue;
        }
        nulls.push(true);
        let (ks, vs) = (
            keys.value_offsets()[i] as usize,
            values.value_offsets()[i] as usize,
        );
        let n = keys.value_length(i).min(values.value_length(i)) as usize;
        let row_start = key_idx.len();
        for j in 0..n {
            let (k, v) = ((ks + j) as u32, (vs + j) as u32);
            if kvals.is_null(k as usize) {
                continue;
            }
            // A later duplicate key replaces the earlier entry, as Java's Map.put does.
            let mut replaced = false;
            for e in row_start..key_idx.len() {
                if values_equal(kvals, key_idx[e] as usize, kvals, k as usize)? {
                    val_idx[e] = v;
                    replaced = true;
                    break;
                }
            }
            if !replaced {
                key_idx.push(k);
                val_idx.push(v);
            }
        }
        offsets.push(key_idx.len() as i32);
    }
    let k = take(kvals.as_ref(), &UInt32Array::from(key_idx), None)?;
    let v = take(vvals.as_ref(), &UInt32Array::from(val_idx), None)?;
    map_array(ret, k, v, offsets, nulls)
}

fn is_null_type(t: &DataType) -> bool {
    t == &DataType::Null
}

/// The values of a list scalar (None for null).
fn list_values(v: &ScalarValue) -> Option<ArrayRef> {
    match v {
        ScalarValue::List(l) if !l.is_null(0) => Some(l.value(0)),
        _ => None,
    }
}

fn list_scalar(values: ArrayRef) -> ScalarValue {
    ScalarValue::List(Arc::new(
        datafusion::common::utils::SingleRowListArrayBuilder::new(values).build_list_array(),
    ))
}

fn type_slice(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [l, a, b]
            if list_item(l).is_some()
                && (is_integer(a) || is_null_type(a))
                && (is_integer(b) || is_null_type(b)) =>
        {
            Ok(Typed {
                args: vec![l.clone(), DataType::Int32, DataType::Int32],
                ret: l.clone(),
            })
        }
        _ => no_overload("SLICE", args),
    }
}

fn eval_slice(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(values) = list_values(&row[0]) else {
            return Ok(ScalarValue::Null);
        };
        let n = values.len() as i64;
        let start = as_i64(&row[1]).map(|f| f - 1).unwrap_or(0);
        let end = as_i64(&row[2]).unwrap_or(n);
        if start < 0 || start > end || end > n {
            return Ok(ScalarValue::Null);
        }
        Ok(list_scalar(
            values.slice(start as usize, (end - start) as usize),
        ))
    })
}

fn type_remove(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [l, x] => match list_item(l).and_then(|i| crate::types::common_type(i, x)) {
            Some(item) => {
                let lt = crate::types::list_of(item.clone());
                Ok(Typed {
                    args: vec![lt.clone(), item],
                    ret: lt,
                })
            }
            None => no_overload("ARRAY_REMOVE", args),
        },
        _ => no_overload("ARRAY_REMOVE", args),
    }
}

fn eval_remove(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let victims = &args[1];
    let lists = args[0].as_list::<i32>();
    let mut out = Vec::with_capacity(lists.len());
    for i in 0..lists.len() {
        if lists.is_null(i) {
            out.push(ScalarValue::try_from(ret)?);
            continue;
        }
        let values = lists.value(i);
        let mut keep = Vec::with_capacity(values.len());
        for j in 0..values.len() {
            keep.push(!values_equal(&values, j, victims, i)?);
        }
        let kept = datafusion::arrow::compute::filter(values.as_ref(), &keep.into())?;
        out.push(list_scalar(kept));
    }
    if out.is_empty() {
        return Ok(new_null_array(ret, 0));
    }
    ScalarValue::iter_to_array(out)
}

fn type_sort(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [l] if list_item(l).is_some() => Ok(Typed::new(args, l.clone())),
        [l, d] if list_item(l).is_some() && (d == &DataType::Utf8 || is_null_type(d)) => {
            Ok(Typed {
                args: vec![l.clone(), DataType::Utf8],
                ret: l.clone(),
            })
        }
        _ => no_overload("ARRAY_SORT", args),
    }
}

/// `values` sorted with nulls last.
fn sorted(values: &ArrayRef, descending: bool) -> Result<ArrayRef> {
    let opts = datafusion::arrow::compute::SortOptions {
        descending,
        nulls_first: false,
    };
    Ok(datafusion::arrow::compute::sort(
        values.as_ref(),
        Some(opts),
    )?)
}

fn eval_sort(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(values) = list_values(&row[0]) else {
            return Ok(ScalarValue::Null);
        };
        let descending = match row.get(1) {
            None => false,
            Some(d) => match crate::udf::as_str(d).map(|s| s.to_ascii_uppercase()) {
                Some(s) if s == "ASC" => false,
                Some(s) if s == "DESC" => true,
                _ => return Ok(ScalarValue::Null),
            },
        };
        Ok(list_scalar(sorted(&values, descending)?))
    })
}

fn type_item(args: &[DataType], name: &str) -> Result<Typed> {
    match args {
        [l] => match list_item(l) {
            Some(item) => Ok(Typed::new(args, item.clone())),
            None => no_overload(name, args),
        },
        _ => no_overload(name, args),
    }
}

fn eval_extreme(args: &[ArrayRef], ret: &DataType, max: bool) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(values) = list_values(&row[0]) else {
            return Ok(ScalarValue::Null);
        };
        let s = sorted(&values, max)?;
        if s.is_empty() {
            return Ok(ScalarValue::Null);
        }
        ScalarValue::try_from_array(&s, 0)
    })
}

fn type_join(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    let primitive = |t: &DataType| {
        !matches!(
            t,
            DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_)
        )
    };
    match args {
        [l] if list_item(l).is_some_and(primitive) => Ok(Typed {
            args: args.to_vec(),
            ret: DataType::Utf8,
        }),
        [l, d]
            if list_item(l).is_some_and(primitive) && (d == &DataType::Utf8 || is_null_type(d)) =>
        {
            Ok(Typed {
                args: vec![l.clone(), DataType::Utf8],
                ret: DataType::Utf8,
            })
        }
        _ => no_overload("ARRAY_JOIN", args),
    }
}

fn eval_join(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    rowwise(args, ret, |row| {
        let Some(values) = list_values(&row[0]) else {
            return Ok(ScalarValue::Null);
        };
        let delim = match row.get(1) {
            None => ",",
            Some(d) => crate::udf::as_str(d).unwrap_or(""),
        };
        let parts: Vec<String> = (0..values.len())
            .map(|i| {
                crate::format::value_string(values.as_ref(), i).unwrap_or_else(|| "null".into())
            })
            .collect();
        Ok(ScalarValue::from(parts.join(delim)))
    })
}

fn type_map_union(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a, b] => match crate::types::common_type(a, b) {
            Some(t) if crate::types::map_types(&t).is_some() => Ok(Typed {
                args: vec![t.clone(), t.clone()],
                ret: t,
            }),
            _ => no_overload("MAP_UNION", args),
        },
        _ => no_overload("MAP_UNION", args),
    }
}

fn eval_map_union(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let (a, b) = (args[0].as_map(), args[1].as_map());
    // Concatenate both maps' entries and index them: (source, index).
    let keys = datafusion::arrow::compute::concat(&[a.keys().as_ref(), b.keys().as_ref()])?;
    let vals = datafusion::arrow::compute::concat(&[a.values().as_ref(), b.values().as_ref()])?;
    let shift = a.keys().len() as u32;
    let (mut idx, mut offsets, mut nulls) =
        (Vec::<u32>::new(), vec![0i32], Vec::with_capacity(a.len()));
    for i in 0..a.len() {
        if a.is_null(i) && b.is_null(i) {
            nulls.push(false);
            offsets.push(idx.len() as i32);
            continue;
        }
        nulls.push(true);
        let start = idx.len();
        let add = |k: u32, idx: &mut Vec<u32>| -> Result<()> {
            for slot in idx[start..].iter_mut() {
                if values_equal(&keys, *slot as usize, &keys, k as usize)? {
                    *slot = k;
                    return Ok(());
                }
            }
            idx.push(k);
            Ok(())
        };
        if !a.is_null(i) {
            let o = a.value_offsets();
            for k in o[i] as u32..o[i + 1] as u32 {
                add(k, &mut idx)?;
            }
        }
        if !b.is_null(i) {
            let o = b.value_offsets();
            for k in o[i] as u32..o[i + 1] as u32 {
                add(k + shift, &mut idx)?;
            }
        }
        offsets.push(idx.len() as i32);
    }
    let indices = UInt32Array::from(idx);
    map_array(
        ret,
        take(keys.as_ref(), &indices, None)?,
        take(vals.as_ref(), &indices, None)?,
        offsets,
        nulls,
    )
}

/// A MAP array of type `ret` (Riffle's map layout): row `i` holds the entries
/// `offsets[i]..offsets[i + 1]` of `keys`/`values`, and is null where `valid[i]` is false.
pub fn map_array(
    ret: &DataType,
    keys: ArrayRef,
    values: ArrayRef,
    offsets: Vec<i32>,
    valid: Vec<bool>,
) -> Result<ArrayRef> {
    let DataType::Map(entries_field, _) = ret else {
        return exec_err!("expected a MAP result type, got {ret}");
    };
    let DataType::Struct(kv) = entries_field.data_type() else {
        return exec_err!("expected MAP entries, got {}", entries_field.data_type());
    };
    let entries = StructArray::try_new(kv.clone(), vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries_field.clone(),
        OffsetBuffer::new(offsets.into()),
        entries,
        Some(valid.into()),
        false,
    )?))
}
