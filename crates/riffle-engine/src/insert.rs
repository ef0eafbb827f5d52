//! `INSERT INTO … VALUES` and `/inserts-stream` rows.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{new_null_array, Array, ArrayRef, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::DFSchema;
use riffle_api::KsqlEntity;
use riffle_format::Format;
use riffle_log::Record;
use riffle_types::{Column, ColumnKind};
use sqlparser::ast::Expr;

use crate::catalog::Source;
use crate::executor::current_status;
use crate::{Engine, EngineError, Result};

/// `INSERT INTO target [(columns)] VALUES (values)`.
pub(crate) fn insert_values(
    engine: &Engine,
    target: &str,
    columns: Option<&[String]>,
    values: &[Expr],
    text: &str,
) -> Result<KsqlEntity> {
    if !engine.catalog().sources.contains_key(target) {
        return Err(unknown_target(engine, target));
    }
    let source = writable(engine, target)?;
    // Without a column list every column is meant, header columns included.
    let names: Vec<String> = match columns {
        Some(c) => c.to_vec(),
        None => source
            .schema
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect(),
    };
    let headers: Vec<&str> = names
        .iter()
        .filter(|n| {
            source
                .schema
                .column(n)
                .is_some_and(|c| matches!(c.kind, ColumnKind::Header(_)))
        })
        .map(String::as_str)
        .collect();
    if !headers.is_empty() {
        return Err(EngineError::statement(format!(
            "Cannot insert into HEADER columns: {}",
            headers.join(", ")
        )));
    }
    // System columns are computed by the log, never written (ROWTIME is writable).
    if let Some(n) = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("ROWPARTITION") || n.eq_ignore_ascii_case("ROWOFFSET"))
    {
        return Err(EngineError::statement(format!(
            "Inserting into column `{}` is not allowed.",
            n.to_uppercase()
        )));
    }
    if columns.is_some() && names.len() != values.len() {
        return Err(EngineError::statement(format!(
            "Failed to prepare statement: Expected number columns and values to match: {}, {}",
            names.len(),
            values.len()
        )));
    }
    if let Some(qualifier) = values.iter().find_map(column_qualifier) {
        // VALUES has no FROM clause, so any qualified column names an unknown source.
        return Err(EngineError::statement(format!(
            "Failed to prepare statement: '{qualifier}' is not a valid stream/table name or alias."
        )));
    }
    if names.len() != values.len() {
        return Err(EngineError::statement(format!(
            "Failed to prepare statement: Expected a value for each column. Expected Columns: [{}]. Got [{}]",
            names.join(", "),
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let empty = DFSchema::empty();
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let mut arrays: Vec<(String, ArrayRef)> = Vec::new();
    for (name, value) in names.iter().zip(values) {
        let planned = engine.inner.planner.plan_in(value, &empty)?;
        let v = planned
            .physical
            .evaluate(&one_row)
            .and_then(|v| v.into_array(1))
            .map_err(|e| {
                EngineError::statement(format!("Failed to insert values into '{target}'. {e}"))
            })?;
        arrays.push((name.clone(), v));
    }
    produce_row(engine, &source, arrays)?;
    Ok(current_status(
        text,
        format!("stream/`{target}`/insert"),
        String::new(),
        None,
        engine.lock_state()?.commands.next_seq,
    ))
}

/// Inserts one JSON object row (column → value).
pub(crate) fn insert_json(engine: &Engine, target: &str, row: &serde_json::Value) -> Result<()> {
    let source = writable(engine, target)?;
    let obj = row
        .as_object()
        .ok_or_else(|| EngineError::statement("Each inserted row must be a JSON object"))?;
    let json = Format::from_name("JSON")?;
    let mut arrays = Vec::new();
    for col in source.schema.columns.iter() {
        let Some((_, v)) = obj
            .iter()
            .find(|(k, _)| *k == &col.name)
            .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(&col.name)))
        else {
            continue;
        };
        let bytes = serde_json::to_vec(&serde_json::json!({ col.name.clone(): v }))
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let single = [Column {
            kind: ColumnKind::Value,
            ..col.clone()
        }];
        let decoded = json.decode(&single, &[Some(&bytes)], false);
        if let Some((_, msg)) = decoded.errors.first() {
            return Err(EngineError::statement(format!(
                "Failed to insert values into '{target}'. Column {}: {msg}",
                col.name
            )));
        }
        if let Some(a) = decoded.arrays.into_iter().next() {
            arrays.push((col.name.clone(), a));
        }
    }
    if let Some((_, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("ROWTIME")) {
        if let Some(t) = v.as_i64() {
            arrays.push((
                "ROWTIME".into(),
                Arc::new(Int64Array::from(vec![t])) as ArrayRef,
            ));
        }
    }
    produce_row(engine, &source, arrays)
}

/// ksqlDB's error for INSERT VALUES into a missing source, with a hint when only the quoting of
/// the name is wrong (`"orders"` while `ORDERS` exists).
fn unknown_target(engine: &Engine, target: &str) -> EngineError {
    let upper = target.to_uppercase();
    let hint = if upper != target && engine.catalog().sources.contains_key(&upper) {
        format!("\nDid you mean {upper}? Hint: try removing double quotes from the source name.")
    } else {
        String::new()
    };
    EngineError::NotFound(format!(
        "Cannot insert values into an unknown stream/table: `{target}`{hint}"
    ))
}

fn writable(engine: &Engine, target: &str) -> Result<Source> {
    let catalog = engine.catalog();
    let source = catalog
        .sources
        .get(target)
        .cloned()
        .ok_or_else(|| EngineError::NotFound(format!("Source {target} does not exist.")))?;
    if source.read_only {
        return Err(EngineError::statement(format!(
            "Cannot insert values into read-only {}: {target}",
            source.source_type.lower()
        )));
    }
    Ok(source)
}

/// Encodes one row given as single-element arrays by column name and appends it.
fn produce_row(engine: &Engine, source: &Source, given: Vec<(String, ArrayRef)>) -> Result<()> {
    let find = |name: &str| {
        given
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.clone())
    };
    for (n, _) in &given {
        if n != "ROWTIME" && source.schema.column(n).is_none() {
            return Err(EngineError::statement(format!(
                "Column name {n} does not exist."
            )));
        }
    }
    let mut keys = Vec::new();
    let mut key_cols = Vec::new();
    let mut values = Vec::new();
    let mut value_cols = Vec::new();
    for col in &source.schema.columns {
        let target_type = col.ty.to_arrow();
        let arr = match find(&col.name) {
            Some(a) if a.data_type() == &target_type => a,
            Some(a) => conform(&a, &target_type).map_err(|e| {
                EngineError::statement(format!(
                    "Failed to insert values into '{}'. Expected type {} for column {} but got {}: {e}",
                    source.name,
                    col.ty,
                    col.name,
                    a.data_type()
                ))
            })?,
            None => new_null_array(&target_type, 1),
        };
        match col.kind {
            ColumnKind::Key => {
                keys.push(arr);
                key_cols.push(col.clone());
            }
            ColumnKind::Value => {
                values.push(arr);
                value_cols.push(col.clone());
            }
            ColumnKind::Header(_) => {}
        }
    }
    let key = if key_cols.is_empty() {
        None
    } else {
        source
            .key_format
            .encode(&key_cols, &keys, true)?
            .into_iter()
            .next()
            .flatten()
    };
    let value = source
        .value_format
        .encode(&value_cols, &values, false)?
        .into_iter()
        .next()
        .flatten();
    let timestamp = find("ROWTIME")
        .and_then(|a| cast(&a, &datafusion::arrow::datatypes::DataType::Int64).ok())
        .and_then(|a| {
            a.as_any()
                .downcast_ref::<Int64Array>()
                .and_then(|t| t.is_valid(0).then(|| t.value(0)))
        })
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    engine.log().produce(
        &source.topic,
        None,
        Record {
            key: key.map(Bytes::from),
            value: value.map(Bytes::from),
            timestamp,
            headers: vec![],
        },
    )?;
    Ok(())
}

/// The qualifier of the first qualified column reference (`FOO.BAR` → `FOO`) in `e`.
fn column_qualifier(e: &Expr) -> Option<String> {
    let mut found = None;
    let _ = sqlparser::ast::visit_expressions(e, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let Some(first) = parts.first() {
                found = Some(match first.quote_style {
                    Some(_) => first.value.clone(),
                    None => first.value.to_uppercase(),
                });
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    found
}

/// Casts `a` to `target`, matching STRUCT fields by name: fields the value lacks are null and
/// fields the target lacks are dropped, as ksqlDB coerces a `STRUCT(...)` literal to the
/// column's type (Arrow's cast needs the same field count).
fn conform(
    a: &ArrayRef,
    target: &datafusion::arrow::datatypes::DataType,
) -> std::result::Result<ArrayRef, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::array::{AsArray, StructArray};
    use datafusion::arrow::datatypes::DataType;
    match (a.data_type(), target) {
        (DataType::Struct(from), DataType::Struct(to)) if from != to => {
            let s = a.as_struct();
            let children = to
                .iter()
                .map(|f| {
                    let child = from.iter().position(|g| g.name() == f.name()).or_else(|| {
                        from.iter()
                            .position(|g| g.name().eq_ignore_ascii_case(f.name()))
                    });
                    match child {
                        Some(i) => conform(s.column(i), f.data_type()),
                        None => Ok(new_null_array(f.data_type(), s.len())),
                    }
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Arc::new(StructArray::try_new_with_length(
                to.clone(),
                children,
                s.nulls().cloned(),
                s.len(),
            )?))
        }
        _ => cast(a, target),
    }
}
