//! ksqlDB's arithmetic operators (`ArithmeticBinaryExpression` as typed by
//! `ExpressionTypeManager` and compiled by `SqlToJavaVisitor`).
//!
//! DataFusion differs in result types: ksqlDB's `INT + INT` is INT (DataFusion widens literals to
//! BIGINT), any DOUBLE operand makes a DOUBLE (DECIMALs are converted to DOUBLE, where DataFusion
//! makes DECIMALs), and DECIMAL results follow ksqlDB's `SqlDecimal` rules, computed exactly and
//! failing (null, logged) when the result does not fit, as `MathContext(p, UNNECESSARY)` does.
//! `STRING + STRING` concatenates.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use datafusion::common::{exec_err, plan_err, DFSchema, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{binary_expr, lit, Expr, ExprSchemable, Operator, ScalarUDF};

use crate::dec::{self, Rounding};
use crate::planner::{call, cast_to, ty};
use crate::text::ksql_text;
use crate::types::{
    as_decimal, decimal, is_decimal, is_double, is_numeric, is_string, type_name, BIGINT, DOUBLE,
    INT,
};
use crate::udf::{KsqlUdf, Typed};

/// Name of the DECIMAL arithmetic UDF: `KSQL_DECIMAL_OP(a, b, '+')`.
pub const DECIMAL_OP: &str = "KSQL_DECIMAL_OP";

/// The arithmetic UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![KsqlUdf::new(DECIMAL_OP, type_decimal_op, eval_decimal_op).into_udf()]
}

/// ksqlDB's result type of `l op r` for numeric operands.
pub fn result_type(op: Operator, l: &DataType, r: &DataType) -> DataType {
    if is_double(l) || is_double(r) {
        return DOUBLE;
    }
    if is_decimal(l) || is_decimal(r) {
        let (a, b) = (
            as_decimal(l).unwrap_or((10, 0)),
            as_decimal(r).unwrap_or((10, 0)),
        );
        return decimal_result(op, a, b);
    }
    let wide = |t: &DataType| matches!(t, DataType::Int64 | DataType::UInt32 | DataType::UInt64);
    if wide(l) || wide(r) {
        BIGINT
    } else {
        INT
    }
}

/// ksqlDB's `SqlDecimal.add/subtract/multiply/divide/modulus` result types.
fn decimal_result(op: Operator, (p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> DataType {
    let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
    match op {
        Operator::Multiply => decimal(p1 + p2 + 1, s1 + s2),
        Operator::Divide => {
            let scale = 6.max(s1 + p2 + 1);
            decimal(p1 - s1 + s2 + scale, scale)
        }
        Operator::Modulo => decimal((p1 - s1).min(p2 - s2) + s1.max(s2), s1.max(s2)),
        _ => decimal(s1.max(s2) + (p1 - s1).max(p2 - s2) + 1, s1.max(s2)),
    }
}

/// Plans `l op r` with ksqlDB's types.
pub fn plan_arithmetic(op: Operator, l: Expr, r: Expr, schema: &DFSchema) -> Result<Expr> {
    let (lt, rt) = (ty(&l, schema)?, ty(&r, schema)?);
    // ksqlDB types a bare NULL literal as "no type" and refuses arithmetic on it, even
    // `NULL + NULL`; a typed null (`CAST(NULL AS INT)`) is fine.
    if lt == DataType::Null || rt == DataType::Null {
        let name = |t: &DataType| {
            if t == &DataType::Null {
                "null".to_string()
            } else {
                type_name(t)
            }
        };
        return plan_err!(
            "Error processing expression: {}. Arithmetic on types {} and {} are not supported.",
            ksql_text(&binary_expr(l.clone(), op, r.clone())),
            name(&lt),
            name(&rt)
        );
    }
    if op == Operator::Plus && is_string(&lt) && is_string(&rt) {
        return Ok(binary_expr(l, Operator::StringConcat, r));
    }
    if !is_numeric(&lt) || !is_numeric(&rt) {
        return plan_err!(
            "Error processing expression: {}. Unsupported arithmetic types. {} {}",
            ksql_text(&binary_expr(l.clone(), op, r.clone())),
            type_name(&lt),
            type_name(&rt)
        );
    }
    let result = result_type(op, &lt, &rt);
    if is_decimal(&result) {
        let symbol = op.to_string();
        return call(DECIMAL_OP, vec![l, r, lit(symbol)]);
    }
    let l = cast_to(l, &lt, &result)?;
    let r = cast_to(r, &rt, &result)?;
    let e = binary_expr(l, op, r);
    // Keep INT arithmetic INT even where DataFusion would widen.
    match e.get_type(schema) {
        Ok(t) if t != result => cast_to(e, &t, &result),
        _ => Ok(e),
    }
}

fn type_decimal_op(args: &[DataType], scalars: &[Option<ScalarValue>]) -> Result<Typed> {
    let [l, r, _] = args else {
        return plan_err!("{DECIMAL_OP} takes two operands and an operator");
    };
    let op = match scalars.get(2) {
        Some(Some(ScalarValue::Utf8(Some(op)))) => parse_op(op)?,
        _ => Operator::Plus,
    };
    let dl = as_decimal(l).map(|(p, s)| DataType::Decimal128(p, s));
    let dr = as_decimal(r).map(|(p, s)| DataType::Decimal128(p, s));
    match (dl, dr) {
        (Some(a), Some(b)) => Ok(Typed {
            ret: result_type(op, &a, &b),
            args: vec![a, b, DataType::Utf8],
        }),
        _ => plan_err!("{DECIMAL_OP} takes DECIMAL operands"),
    }
}

fn parse_op(op: &str) -> Result<Operator> {
    Ok(match op {
        "+" => Operator::Plus,
        "-" => Operator::Minus,
        "*" => Operator::Multiply,
        "/" => Operator::Divide,
        "%" => Operator::Modulo,
        other => return plan_err!("Unknown arithmetic operator {other}"),
    })
}

fn eval_decimal_op(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let DataType::Decimal128(p, s) = ret else {
        return exec_err!("{DECIMAL_OP} must return a DECIMAL");
    };
    let ops = args[2].as_string::<i32>();
    let (a, b) = (
        args[0].as_primitive::<Decimal128Type>(),
        args[1].as_primitive::<Decimal128Type>(),
    );
    let (sa, sb) = (scale_of(a.data_type()), scale_of(b.data_type()));
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) || b.is_null(i) || ops.is_null(i) {
            out.push(None);
            continue;
        }
        let op = parse_op(ops.value(i))?;
        let v = decimal_op(op, (a.value(i), sa), (b.value(i), sb), *p, *s as i32)?;
        out.push(Some(v));
    }
    Ok(Arc::new(
        Decimal128Array::from(out).with_precision_and_scale(*p, *s)?,
    ))
}

fn scale_of(dt: &DataType) -> i32 {
    match dt {
        DataType::Decimal128(_, s) => *s as i32,
        _ => 0,
    }
}

fn overflow() -> DataFusionError {
    DataFusionError::Execution("Rounding necessary".into())
}

/// `a op b` exactly, at `scale` with at most `precision` digits.
fn decimal_op(
    op: Operator,
    (a, sa): (i128, i32),
    (b, sb): (i128, i32),
    precision: u8,
    scale: i32,
) -> Result<i128> {
    let common = sa.max(sb);
    let align =
        |v: i128, s: i32| dec::rescale(v, s, common, Rounding::Unnecessary).ok_or_else(overflow);
    let (v, vs) = match op {
        Operator::Plus => (
            align(a, sa)?
                .checked_add(align(b, sb)?)
                .ok_or_else(overflow)?,
            common,
        ),
        Operator::Minus => (
            align(a, sa)?
                .checked_sub(align(b, sb)?)
                .ok_or_else(overflow)?,
            common,
        ),
        Operator::Multiply => (a.checked_mul(b).ok_or_else(overflow)?, sa + sb),
        Operator::Modulo => {
            if b == 0 {
                return exec_err!("Division by zero");
            }
            (align(a, sa)? % align(b, sb)?, common)
        }
        Operator::Divide => {
            if b == 0 {
                return exec_err!("Division by zero");
            }
            // a / b at `scale`: (a * 10^(scale + sb - sa)) / b, which must be exact.
            let shift = scale + sb - sa;
            let n = if shift >= 0 {
                a.checked_mul(dec::pow10(shift as u32).ok_or_else(overflow)?)
                    .ok_or_else(overflow)?
            } else {
                return exec_err!("Rounding necessary");
            };
            if n % b != 0 {
                return exec_err!("Rounding necessary");
            }
            (n / b, scale)
        }
        _ => return exec_err!("Unsupported DECIMAL operator {op}"),
    };
    let r = dec::rescale(v, vs, scale, Rounding::Unnecessary).ok_or_else(overflow)?;
    if dec::fits(r, precision) {
        Ok(r)
    } else {
        Err(overflow())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_types_follow_ksql() {
        let d = DataType::Decimal128(4, 2);
        assert_eq!(
            result_type(Operator::Plus, &d, &d),
            DataType::Decimal128(5, 2)
        );
        assert_eq!(
            result_type(Operator::Multiply, &d, &d),
            DataType::Decimal128(9, 4)
        );
        assert_eq!(
            result_type(Operator::Divide, &d, &d),
            DataType::Decimal128(11, 7)
        );
        assert_eq!(
            result_type(Operator::Modulo, &d, &d),
            DataType::Decimal128(4, 2)
        );
        assert_eq!(
            result_type(Operator::Plus, &INT, &d),
            DataType::Decimal128(13, 2)
        );
        assert_eq!(result_type(Operator::Plus, &INT, &INT), INT);
        assert_eq!(
            decimal_op(Operator::Divide, (1010, 2), (200, 2), 11, 7).unwrap(),
            50_500_000
        );
        assert!(decimal_op(Operator::Divide, (1010, 2), (0, 2), 11, 7).is_err());
    }
}
