//! ksqlDB's comparisons (`ComparisonExpression`, typed by `ComparisonUtil` and compiled by
//! `SqlToJavaVisitor`).
//!
//! They differ from DataFusion's in that:
//! * incompatible operands are a planning error, `Cannot compare X (TYPE) to Y (TYPE) with OP.`,
//!   where DataFusion coerces (e.g. INT to STRING); collections and structs only support `=`,
//!   `<>` and `IS [NOT] DISTINCT FROM`; comparing with a NULL literal is an error;
//! * a comparison with a null operand is false, never null;
//! * strings compare with TIMESTAMP, DATE and TIME by parsing the string;
//! * maps are equal regardless of entry order (Java's `Map.equals`), via the `KSQL_EQUALS` UDF
//!   that compares arrays, maps and structs deeply.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{binary_expr, lit, Expr, Operator, ScalarUDF};

use crate::planner::{call, cast_to, null_as_false, ty};
use crate::text::ksql_text;
use crate::types::{
    common_type, is_numeric, is_string, list_item, map_types, time, timestamp, type_name,
    wider_numeric,
};
use crate::udf::{KsqlUdf, Typed};

/// Name of the deep-equality UDF: `KSQL_EQUALS(a, b, 'EQUAL' | 'IS_DISTINCT_FROM' | ...)`.
pub const EQUALS_UDF: &str = "KSQL_EQUALS";

/// The comparison UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![KsqlUdf::new(EQUALS_UDF, type_equals, eval_equals).into_udf()]
}

/// ksqlDB's name of a comparison operator.
pub fn op_name(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "EQUAL",
        Operator::NotEq => "NOT_EQUAL",
        Operator::Lt => "LESS_THAN",
        Operator::LtEq => "LESS_THAN_OR_EQUAL",
        Operator::Gt => "GREATER_THAN",
        Operator::GtEq => "GREATER_THAN_OR_EQUAL",
        Operator::IsDistinctFrom => "IS_DISTINCT_FROM",
        Operator::IsNotDistinctFrom => "IS_NOT_DISTINCT_FROM",
        _ => "UNKNOWN",
    }
}

fn op_symbol(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "=",
        Operator::NotEq => "<>",
        Operator::Lt => "<",
        Operator::LtEq => "<=",
        Operator::Gt => ">",
        Operator::GtEq => ">=",
        Operator::IsDistinctFrom => "IS DISTINCT FROM",
        Operator::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
        _ => "?",
    }
}

fn is_nested(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_)
    )
}

fn is_temporal(t: &DataType) -> bool {
    t == &timestamp() || t == &DataType::Date32 || t == &time()
}

/// The type both operands are converted to before comparing, if they are comparable with `op`.
fn comparison_type(op: Operator, l: &DataType, r: &DataType) -> Option<DataType> {
    let equality = matches!(
        op,
        Operator::Eq | Operator::NotEq | Operator::IsDistinctFrom | Operator::IsNotDistinctFrom
    );
    if is_numeric(l) && is_numeric(r) {
        return Some(wider_numeric(l, r));
    }
    if is_string(l) && is_string(r) {
        return Some(DataType::Utf8);
    }
    if l == &DataType::Boolean && r == &DataType::Boolean {
        return equality.then_some(DataType::Boolean);
    }
    if l == &DataType::Binary && r == &DataType::Binary {
        return Some(DataType::Binary);
    }
    if is_temporal(l) || is_temporal(r) {
        return match (l, r) {
            (a, b) if a == b => Some(a.clone()),
            (a, b) if is_string(b) && is_temporal(a) => Some(a.clone()),
            (a, b) if is_string(a) && is_temporal(b) => Some(b.clone()),
            (DataType::Date32, b) | (b, DataType::Date32) if b == &timestamp() => Some(timestamp()),
            _ => None,
        };
    }
    if is_nested(l) || is_nested(r) {
        if !equality {
            return None;
        }
        let same_kind = (list_item(l).is_some() && list_item(r).is_some())
            || (map_types(l).is_some() && map_types(r).is_some())
            || matches!((l, r), (DataType::Struct(_), DataType::Struct(_)));
        return if same_kind { common_type(l, r) } else { None };
    }
    None
}

/// Plans `l op r` with ksqlDB's typing and null semantics.
pub fn plan_comparison(op: Operator, l: Expr, r: Expr, schema: &DFSchema) -> Result<Expr> {
    let (lt, rt) = (ty(&l, schema)?, ty(&r, schema)?);
    let distinct = matches!(op, Operator::IsDistinctFrom | Operator::IsNotDistinctFrom);
    if lt == DataType::Null || rt == DataType::Null {
        if distinct {
            return Ok(binary_expr(l, op, r));
        }
        // ksqlDB names the operand types, the untyped NULL literal as `NULL`.
        return plan_err!(
            "Comparison with NULL not supported: {} {} {}\nUse 'IS NULL' or 'IS NOT NULL' instead.",
            type_name(&lt),
            op_symbol(op),
            type_name(&rt)
        );
    }
    let Some(common) = comparison_type(op, &lt, &rt) else {
        return plan_err!(
            "Cannot compare {} ({}) to {} ({}) with {}.",
            ksql_text(&l),
            type_name(&lt),
            ksql_text(&r),
            type_name(&rt),
            op_name(op)
        );
    };
    let l = cast_to(l, &lt, &common)?;
    let r = cast_to(r, &rt, &common)?;
    if is_nested(&common) {
        let mode = if op == Operator::NotEq {
            Operator::IsDistinctFrom
        } else {
            op
        };
        let e = call(EQUALS_UDF, vec![l, r, lit(op_name(mode))])?;
        return Ok(if distinct { e } else { null_as_false(e) });
    }
    let e = binary_expr(l, op, r);
    Ok(if distinct { e } else { null_as_false(e) })
}

fn type_equals(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    match args {
        [a, b, _] => match common_type(a, b) {
            Some(c) => Ok(Typed {
                args: vec![c.clone(), c, DataType::Utf8],
                ret: DataType::Boolean,
            }),
            None => plan_err!("Cannot compare {} to {}", type_name(a), type_name(b)),
        },
        _ => plan_err!("{EQUALS_UDF} takes two values and a mode"),
    }
}

fn eval_equals(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (a, b) = (&args[0], &args[1]);
    let modes = args[2].as_string::<i32>();
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let mode = if modes.is_null(i) {
            "EQUAL"
        } else {
            modes.value(i)
        };
        let (na, nb) = (a.is_null(i), b.is_null(i));
        out.push(match mode {
            "IS_DISTINCT_FROM" if na || nb => Some(na != nb),
            "IS_NOT_DISTINCT_FROM" if na || nb => Some(na == nb),
            _ if na || nb => None,
            "IS_DISTINCT_FROM" => Some(!values_equal(a, i, b, i)?),
            _ => Some(values_equal(a, i, b, i)?),
        });
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

/// Java's `equals` between row `i` of `a` and row `j` of `b` (of the same type).
pub fn values_equal(a: &ArrayRef, i: usize, b: &ArrayRef, j: usize) -> Result<bool> {
    if a.is_null(i) || b.is_null(j) {
        return Ok(a.is_null(i) && b.is_null(j));
    }
    match a.data_type() {
        DataType::List(_) => {
            let (x, y) = (a.as_list::<i32>().value(i), b.as_list::<i32>().value(j));
            if x.len() != y.len() {
                return Ok(false);
            }
            for k in 0..x.len() {
                if !values_equal(&x, k, &y, k)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        DataType::Struct(_) => {
            let (x, y) = (a.as_struct(), b.as_struct());
            for (cx, cy) in x.columns().iter().zip(y.columns()) {
                if !values_equal(cx, i, cy, j)? {
                    return Ok(false);
                }
            }
            Ok(x.num_columns() == y.num_columns())
        }
        DataType::Map(_, _) => {
            let (x, y) = (a.as_map().value(i), b.as_map().value(j));
            if x.len() != y.len() {
                return Ok(false);
            }
            let (kx, vx, ky, vy) = (x.column(0), x.column(1), y.column(0), y.column(1));
            for k in 0..x.len() {
                let mut found = false;
                for m in 0..y.len() {
                    if values_equal(kx, k, ky, m)? {
                        found = values_equal(vx, k, vy, m)?;
                        break;
                    }
                }
                if !found {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => Ok(ScalarValue::try_from_array(a, i)? == ScalarValue::try_from_array(b, j)?),
    }
}
