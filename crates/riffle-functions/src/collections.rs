//! ksqlDB's array, map and struct functions (`io.confluent.ksql.function.udf.array.*`,
//! `...udf.map.*`) where DataFusion's differ.
//!
//! * `ARRAY_LENGTH` (ksqlDB `ArrayLength`) is an INT, and null for a null array; DataFusion's
//!   `cardinality` is an unsigned BIGINT.
//! * `AS_MAP(keys, values)` (ksqlDB `AsMap`) pairs keys with values up to the shorter list and
//!   lets later duplicate keys win; DataFusion's `map` fails on unequal lengths and duplicates.
//! * `KSQL_EMPTY_STRUCT()` is ksqlDB's `STRUCT()`, which DataFusion's `named_struct` cannot
//!   build.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, Int32Array, MapArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::compare::values_equal;
use crate::types::{list_item, map_of};
use crate::udf::{no_overload, KsqlUdf, Typed};

/// Name of the empty-struct constructor.
pub const EMPTY_STRUCT: &str = "KSQL_EMPTY_STRUCT";

/// The collection UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new("ARRAY_LENGTH", type_array_length, eval_array_length).into_udf(),
        KsqlUdf::new("AS_MAP", type_as_map, eval_as_map).into_udf(),
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
            (Some(DataType::Utf8), Some(vt)) => Ok(Typed::new(args, map_of(DataType::Utf8, vt.clone()))),
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
    let DataType::Map(entries_field, _) = ret else {
        return exec_err!("AS_MAP returns a MAP");
    };
    let DataType::Struct(kv) = entries_field.data_type() else {
        return exec_err!("AS_MAP returns a MAP");
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
        let (ks, vs) = (keys.value_offsets()[i] as usize, values.value_offsets()[i] as usize);
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
    let entries = StructArray::try_new(kv.clone(), vec![k, v], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries_field.clone(),
        OffsetBuffer::new(offsets.into()),
        entries,
        Some(nulls.into()),
        false,
    )?))
}
