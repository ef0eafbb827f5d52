//! DataFusion expression-planner hooks that give operators ksqlDB's typing.
//!
//! [`KsqlExprPlanner`] is consulted by DataFusion's SQL planner for every binary operator and
//! array literal, with the operands already planned and the row schema at hand, so it can type
//! them the way ksqlDB's `ExpressionTypeManager` does and fail with ksqlDB's messages. Operators
//! DataFusion's SQL planner has no hook for are rewritten by Riffle's planner into
//! [custom binary operators](CustomOp) that land here.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{plan_err, DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::{Case, ScalarFunction};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{binary_expr, lit, Expr, ExprSchemable, Operator};
use sqlparser::ast::BinaryOperator;

use crate::arith::plan_arithmetic;
use crate::cast::{check_cast, CAST_UDF};
use crate::coerce::{coerce_list, Coerced};
use crate::compare::plan_comparison;
use crate::types::{is_decimal, is_numeric, type_name};
use crate::udf_by_name;

/// ksqlDB constructs that Riffle's planner passes to [`KsqlExprPlanner`] as
/// `BinaryOperator::Custom(name)` operators (`left <op> KSQL_ARGS(...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomOp {
    /// `left IN (KSQL_ARGS(values))`.
    In,
    /// `left NOT IN (KSQL_ARGS(values))`.
    NotIn,
    /// `KSQL_ARGS(keys) MAP KSQL_ARGS(values)`: the `MAP(k := v, ...)` constructor.
    Map,
    /// `left IS DISTINCT FROM right`.
    IsDistinctFrom,
    /// `left IS NOT DISTINCT FROM right`.
    IsNotDistinctFrom,
}

impl CustomOp {
    /// The operator name used in `BinaryOperator::Custom`.
    pub fn name(self) -> &'static str {
        match self {
            CustomOp::In => "KSQL_IN",
            CustomOp::NotIn => "KSQL_NOT_IN",
            CustomOp::Map => "KSQL_MAP",
            CustomOp::IsDistinctFrom => "KSQL_IS_DISTINCT_FROM",
            CustomOp::IsNotDistinctFrom => "KSQL_IS_NOT_DISTINCT_FROM",
        }
    }

    fn parse(name: &str) -> Option<CustomOp> {
        [
            CustomOp::In,
            CustomOp::NotIn,
            CustomOp::Map,
            CustomOp::IsDistinctFrom,
            CustomOp::IsNotDistinctFrom,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }
}

/// Name of the placeholder function holding an argument list for a [`CustomOp`].
pub const ARGS_UDF: &str = "KSQL_ARGS";

/// The expression planner with ksqlDB's operator semantics.
#[derive(Debug, Default)]
pub struct KsqlExprPlanner;

impl ExprPlanner for KsqlExprPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let RawBinaryExpr { op, left, right } = expr;
        let (left, right) = (narrow_literals(left), narrow_literals(right));
        let planned = match &op {
            BinaryOperator::Plus => plan_arithmetic(Operator::Plus, left, right, schema)?,
            BinaryOperator::Minus => plan_arithmetic(Operator::Minus, left, right, schema)?,
            BinaryOperator::Multiply => plan_arithmetic(Operator::Multiply, left, right, schema)?,
            BinaryOperator::Divide => plan_arithmetic(Operator::Divide, left, right, schema)?,
            BinaryOperator::Modulo => plan_arithmetic(Operator::Modulo, left, right, schema)?,
            BinaryOperator::Eq => plan_comparison(Operator::Eq, left, right, schema)?,
            BinaryOperator::NotEq => plan_comparison(Operator::NotEq, left, right, schema)?,
            BinaryOperator::Lt => plan_comparison(Operator::Lt, left, right, schema)?,
            BinaryOperator::LtEq => plan_comparison(Operator::LtEq, left, right, schema)?,
            BinaryOperator::Gt => plan_comparison(Operator::Gt, left, right, schema)?,
            BinaryOperator::GtEq => plan_comparison(Operator::GtEq, left, right, schema)?,
            BinaryOperator::Custom(name) => match CustomOp::parse(name) {
                Some(CustomOp::IsDistinctFrom) => {
                    plan_comparison(Operator::IsDistinctFrom, left, right, schema)?
                }
                Some(CustomOp::IsNotDistinctFrom) => {
                    plan_comparison(Operator::IsNotDistinctFrom, left, right, schema)?
                }
                Some(CustomOp::In) => plan_in(left, args_of(right)?, false, schema)?,
                Some(CustomOp::NotIn) => plan_in(left, args_of(right)?, true, schema)?,
                Some(CustomOp::Map) => plan_map(args_of(left)?, args_of(right)?, schema)?,
                None => {
                    return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right }));
                }
            },
            _ => return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right })),
        };
        Ok(PlannerResult::Planned(planned))
    }

    fn plan_array_literal(
        &self,
        exprs: Vec<Expr>,
        schema: &DFSchema,
    ) -> Result<PlannerResult<Vec<Expr>>> {
        let exprs: Vec<Expr> = exprs.into_iter().map(narrow_literals).collect();
        Ok(PlannerResult::Planned(plan_array(exprs, schema)?))
    }
}

/// The arguments of a `KSQL_ARGS(...)` placeholder.
fn args_of(e: Expr) -> Result<Vec<Expr>> {
    match e {
        Expr::ScalarFunction(f) if f.name() == ARGS_UDF => Ok(f.args),
        other => Ok(vec![other]),
    }
}

/// `ARRAY[...]`: elements coerced to their common type as ksqlDB's `CoercionUtil` does.
pub fn plan_array(exprs: Vec<Expr>, schema: &DFSchema) -> Result<Expr> {
    if exprs.is_empty() {
        return plan_err!(
            "Array constructor cannot be empty. Please supply at least one element (see https://github.com/confluentinc/ksql/issues/4239)."
        );
    }
    let Coerced { common, exprs } = coerce_list(exprs, schema)?;
    if common.is_none() {
        return plan_err!(
            "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type."
        );
    }
    Ok(datafusion::functions_nested::make_array::make_array(exprs))
}

/// `MAP(k := v, ...)`: keys and values each coerced to a common type.
fn plan_map(keys: Vec<Expr>, values: Vec<Expr>, schema: &DFSchema) -> Result<Expr> {
    if keys.is_empty() {
        return plan_err!(
            "Map constructor cannot be empty. Please supply at least one key value pair (see https://github.com/confluentinc/ksql/issues/4239)."
        );
    }
    let keys: Vec<Expr> = keys.into_iter().map(narrow_literals).collect();
    let values: Vec<Expr> = values.into_iter().map(narrow_literals).collect();
    let k = coerce_list(keys, schema)?;
    if k.common.is_none() {
        return plan_err!("Cannot construct a map with all NULL keys");
    }
    let v = coerce_list(values, schema)?;
    if v.common.is_none() {
        return plan_err!("Cannot construct a map with all NULL values");
    }
    Ok(datafusion::functions_nested::map::map(k.exprs, v.exprs))
}

/// `x [NOT] IN (list)`: the list coerced with `x` to a common type; never null.
fn plan_in(value: Expr, list: Vec<Expr>, negated: bool, schema: &DFSchema) -> Result<Expr> {
    let mut all = vec![value];
    all.extend(list.into_iter().map(narrow_literals));
    let coerced =
        coerce_list(all, schema).map_err(|e| crate::prefix_error("Invalid Predicate: ", e))?;
    let mut exprs = coerced.exprs.into_iter();
    let Some(value) = exprs.next() else {
        return plan_err!("IN needs a value");
    };
    let mut any: Option<Expr> = None;
    for item in exprs {
        let eq = plan_comparison(Operator::Eq, value.clone(), item, schema)?;
        any = Some(match any {
            Some(a) => binary_expr(a, Operator::Or, eq),
            None => eq,
        });
    }
    let any = any.unwrap_or_else(|| lit(false));
    Ok(if negated {
        Expr::Not(Box::new(any))
    } else {
        any
    })
}

/// The (uncoerced) type of `e`.
pub fn ty(e: &Expr, schema: &DFSchema) -> Result<DataType> {
    e.get_type(schema)
}

/// A call of Riffle UDF `name`.
pub fn call(name: &str, args: Vec<Expr>) -> Result<Expr> {
    match udf_by_name(name) {
        Some(udf) => Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))),
        None => plan_err!("Unknown Riffle function {name}"),
    }
}

/// `e` (of type `from`) as type `to`: DataFusion's cast between integer and double types, where
/// it agrees with Java, and ksqlDB's cast otherwise.
pub fn cast_to(e: Expr, from: &DataType, to: &DataType) -> Result<Expr> {
    if from == to {
        return Ok(e);
    }
    if from == &DataType::Null {
        if let Expr::Literal(_, _) = e {
            return Ok(match ScalarValue::try_from(to) {
                Ok(v) => Expr::Literal(v, None),
                Err(_) => e,
            });
        }
    }
    let widening = is_numeric(from)
        && is_numeric(to)
        && !is_decimal(from)
        && !is_decimal(to)
        && crate::types::can_implicitly_cast(from, to);
    if widening {
        return Ok(Expr::Cast(datafusion::logical_expr::Cast::new(
            Box::new(e),
            to.clone(),
        )));
    }
    let target = riffle_types::SqlType::from_arrow(to)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| type_name(to));
    call(CAST_UDF, vec![e, lit(target)])
}

/// Checks that `from` casts to `to` (planning-time validation of internal casts).
pub fn validate_cast(from: &DataType, to: &DataType) -> Result<()> {
    check_cast(from, to)
}

/// ksqlDB types integer literals that fit 32 bits as INT; DataFusion's SQL planner makes them
/// BIGINT, so operands are narrowed before they are typed here.
pub fn narrow_literals(e: Expr) -> Expr {
    let original = e.clone();
    e.transform_up(|e| match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), meta) if i32::try_from(v).is_ok() => Ok(
            Transformed::yes(Expr::Literal(ScalarValue::Int32(Some(v as i32)), meta)),
        ),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
    .unwrap_or(original)
}

/// `e` with null treated as false (ksqlDB's comparisons and predicates are never null):
/// `CASE WHEN e THEN true ELSE false END`.
pub fn null_as_false(e: Expr) -> Expr {
    Expr::Case(Case::new(
        None,
        vec![(Box::new(e), Box::new(lit(true)))],
        Some(Box::new(lit(false))),
    ))
}
