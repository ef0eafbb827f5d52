//! End-to-end checks: ksql expressions parsed, planned by Riffle's planner (with this crate's
//! UDFs and operator planner) and evaluated on small batches.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::DFSchema;
use riffle_functions::format::value_string;
use riffle_planner::ExprPlanner;

/// Plans `expr` over `columns` and evaluates it; returns the result type and rendered values.
fn eval(expr: &str, columns: &[(&str, ArrayRef)]) -> Result<(String, Vec<String>), String> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let df = DFSchema::try_from(schema.as_ref().clone()).map_err(|e| e.to_string())?;
    let parsed = riffle_sql::parse_expression(expr).map_err(|e| e.to_string())?;
    let planned = ExprPlanner::shared()
        .plan_in(&parsed, &df)
        .map_err(|e| e.to_string())?;
    let arrays: Vec<ArrayRef> = columns.iter().map(|(_, a)| a.clone()).collect();
    let batch = if arrays.is_empty() {
        RecordBatch::try_new_with_options(
            schema,
            vec![],
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
        )
    } else {
        RecordBatch::try_new(schema, arrays)
    }
    .map_err(|e| e.to_string())?;
    let out = planned
        .physical
        .evaluate(&batch)
        .and_then(|v| v.into_array(batch.num_rows()))
        .map_err(|e| format!("eval: {e}"))?;
    let values = (0..out.len())
        .map(|i| value_string(out.as_ref(), i).unwrap_or_else(|| "null".into()))
        .collect();
    Ok((planned.ty.to_string(), values))
}

fn one(expr: &str) -> String {
    match eval(expr, &[]) {
        Ok((ty, v)) => format!("{ty} {}", v.join(",")),
        Err(e) => format!("ERR {e}"),
    }
}

#[test]
fn literals_and_arithmetic() {
    assert_eq!(one("1 + 2"), "INTEGER 3");
    assert_eq!(one("7 / 2"), "INTEGER 3");
    assert_eq!(one("10000000000 + 1"), "BIGINT 10000000001");
    assert_eq!(one("1.5 + 1"), "DECIMAL(12, 1) 2.5");
    assert_eq!(one("1.5E0 * 2"), "DOUBLE 3.0");
    assert_eq!(one("'a' + 'b'"), "STRING ab");
}

#[test]
fn comparisons() {
    assert_eq!(one("1 < 2"), "BOOLEAN true");
    assert_eq!(one("1 = 1.0"), "BOOLEAN true");
    assert_eq!(one("'b' BETWEEN 'a' AND 'c'"), "BOOLEAN true");
    assert_eq!(one("2 IN (1, '2', 3.0)"), "BOOLEAN true");
    assert_eq!(one("ARRAY[1, 2] = ARRAY[1, 2]"), "BOOLEAN true");
    assert_eq!(
        one("MAP('a' := 1, 'b' := 2) = MAP('b' := 2, 'a' := 1)"),
        "BOOLEAN true"
    );
    assert!(
        one("1 > 'a'").contains("Cannot compare 1 (INTEGER) to 'a' (STRING) with GREATER_THAN.")
    );
    assert!(one("NULL <> NULL").contains("Comparison with NULL not supported: NULL <> NULL"));
}

#[test]
fn math_functions() {
    assert_eq!(one("ROUND(1.5E0)"), "BIGINT 2");
    assert_eq!(one("ROUND(-1.5E0)"), "BIGINT -1");
    assert_eq!(one("ROUND(12345.678E0, -1)"), "DOUBLE 12350.0");
    assert_eq!(one("FLOOR(1)"), "INTEGER 1");
    assert_eq!(one("CEIL(1.1)"), "DECIMAL(2, 1) 2.0");
    assert_eq!(one("LOG(13)"), "DOUBLE 2.5649493574615367");
    assert_eq!(one("SQRT(-1)"), "DOUBLE NaN");
}

#[test]
fn casts_and_constructors() {
    assert_eq!(one("CAST(ARRAY[1, 3] AS STRING)"), "STRING [1, 3]");
    assert_eq!(one("CAST('0.99' AS DECIMAL(2, 1))"), "DECIMAL(2, 1) 1.0");
    assert_eq!(one("CAST(STRUCT(A := 1) AS STRING)"), "STRING Struct{A=1}");
    assert_eq!(
        one("ARRAY[NULL, 10, '2e1']"),
        "ARRAY<DECIMAL(10, 0)> [null, 10, 20]"
    );
    assert_eq!(one("MAP('k' := 1)['k']"), "INTEGER 1");
    assert_eq!(one("ARRAY[1, 2, 3][-1]"), "INTEGER 3");
    assert_eq!(one("CASE WHEN 1 < 2 THEN 'a' ELSE 'b' END"), "STRING a");
    assert_eq!(one("SUBSTRING('hello', -3, 2)"), "STRING ll");
}

#[test]
fn null_handling_and_like() {
    assert_eq!(one("COALESCE(NULL, 2, 3)"), "INTEGER 2");
    assert_eq!(one("IFNULL(CAST(NULL AS STRING), 'x')"), "STRING x");
    assert_eq!(
        one("NULLIF(ARRAY[1, 2], ARRAY[1, 2])"),
        "ARRAY<INTEGER> null"
    );
    assert_eq!(one("'%' LIKE '!%' ESCAPE '!'"), "BOOLEAN true");
    assert_eq!(one("'abc' NOT LIKE 'a%'"), "BOOLEAN false");
    assert_eq!(one("AS_VALUE(5)"), "INTEGER 5");
}

#[test]
fn more_functions() {
    assert_eq!(one("UNIX_TIMESTAMP() > 100"), "BOOLEAN true");
    assert_eq!(one("GREATEST(1, 5, NULL, 3)"), "INTEGER 5");
    assert!(
        one("GREATEST(1, 10000000000)").contains("ambiguous method parameters (INTEGER, BIGINT)")
    );
    assert_eq!(
        one("URL_EXTRACT_HOST('http://test@confluent.io:8080')"),
        "STRING confluent.io"
    );
    assert_eq!(one("URL_ENCODE_PARAM('?foo $bar')"), "STRING %3Ffoo+%24bar");
    assert_eq!(one("URL_DECODE_PARAM('%3Ffoo+%24bar')"), "STRING ?foo $bar");
    assert_eq!(one("GENERATE_SERIES(4, 3)"), "ARRAY<INTEGER> [4, 3]");
    assert_eq!(one("SLICE(ARRAY[1, 2, 3], 2, 3)"), "ARRAY<INTEGER> [2, 3]");
    assert_eq!(
        one("ARRAY_SORT(ARRAY[3, NULL, 1], 'DESC')"),
        "ARRAY<INTEGER> [3, 1, null]"
    );
    assert_eq!(one("ARRAY_JOIN(ARRAY[1, NULL])"), "STRING 1,null");
    assert_eq!(
        one("TIMESTAMPADD(MILLISECONDS, 10, FROM_UNIXTIME(10))"),
        "TIMESTAMP 1970-01-01T00:00:00.020"
    );
    assert_eq!(
        one("FORMAT_DATE(FROM_DAYS(-1), 'dd-MM-yyyy')"),
        "STRING 31-12-1969"
    );
}
