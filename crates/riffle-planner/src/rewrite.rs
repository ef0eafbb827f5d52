//! Rewrites ksqlDB-only syntax in a parsed expression into SQL that DataFusion plans.
//!
//! Constructs whose typing needs the row schema (`IN`, `MAP(...)`, `IS [NOT] DISTINCT FROM`) become
//! custom binary operators that `riffle_functions::KsqlExprPlanner` plans; `CAST` becomes the
//! `KSQL_CAST` UDF (ksqlDB's cast semantics); ksqlDB function names map to DataFusion's or to
//! Riffle's UDFs (see `functions.rs`).

use std::ops::ControlFlow;

use riffle_functions::CustomOp;
use sqlparser::ast::{
    BinaryOperator, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, TypedString, UnaryOperator, Value,
    ValueWithSpan, VisitMut, VisitorMut,
};

use crate::functions::datafusion_name;
use crate::{PlanError, Result};

/// Rewrites `expr` in place: `a->b` to `get_field(a, 'b')`, `STRUCT(a := x)` to
/// `named_struct('a', x)`, `MAP(k := v)`, `IN` and `IS [NOT] DISTINCT FROM` to Riffle's custom
/// operators, `BETWEEN` to two comparisons, `CAST` to `KSQL_CAST`, DOUBLE literals (`1.5E0`) to
/// typed strings, and ksqlDB function names to DataFusion's.
pub(crate) fn rewrite(expr: &mut Expr) -> Result<()> {
    let mut v = Rewriter { error: None };
    let _ = expr.visit(&mut v);
    match v.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct Rewriter {
    error: Option<PlanError>,
}

impl VisitorMut for Rewriter {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match rewrite_one(expr) {
            Ok(Some(new)) => *expr = new,
            Ok(None) => {}
            Err(e) => {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn rewrite_one(expr: &Expr) -> Result<Option<Expr>> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Arrow,
            right,
        } => {
            let field = match right.as_ref() {
                Expr::Identifier(id) => id.value.clone(),
                other => {
                    return Err(PlanError::Invalid(format!(
                        "Expected a field name after '->', found {other}"
                    )))
                }
            };
            Ok(Some(call(
                "get_field",
                vec![left.as_ref().clone(), string_lit(&field)],
            )))
        }
        Expr::Function(f) => rewrite_function(f),
        Expr::Cast {
            expr, data_type, ..
        } => {
            let Some(target) = riffle_sql::cast_target_type(data_type) else {
                return Err(PlanError::Invalid(format!("Unknown type: {data_type}")));
            };
            Ok(Some(call(
                riffle_functions::cast::CAST_UDF,
                vec![expr.as_ref().clone(), string_lit(&target.to_string())],
            )))
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let op = if *negated {
                CustomOp::NotIn
            } else {
                CustomOp::In
            };
            Ok(Some(custom(
                expr.as_ref().clone(),
                op,
                call(riffle_functions::ARGS_UDF, list.clone()),
            )))
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let both = Expr::BinaryOp {
                left: Box::new(Expr::Nested(Box::new(Expr::BinaryOp {
                    left: expr.clone(),
                    op: BinaryOperator::GtEq,
                    right: low.clone(),
                }))),
                op: BinaryOperator::And,
                right: Box::new(Expr::Nested(Box::new(Expr::BinaryOp {
                    left: expr.clone(),
                    op: BinaryOperator::LtEq,
                    right: high.clone(),
                }))),
            };
            let both = Expr::Nested(Box::new(both));
            Ok(Some(if *negated {
                Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr: Box::new(both),
                }
            } else {
                both
            }))
        }
        Expr::IsDistinctFrom(a, b) => Ok(Some(custom(
            a.as_ref().clone(),
            CustomOp::IsDistinctFrom,
            b.as_ref().clone(),
        ))),
        Expr::IsNotDistinctFrom(a, b) => Ok(Some(custom(
            a.as_ref().clone(),
            CustomOp::IsNotDistinctFrom,
            b.as_ref().clone(),
        ))),
        Expr::Case {
            conditions,
            else_result,
            ..
        } => {
            let all_null = conditions.iter().all(|c| is_null(&c.result))
                && else_result.as_deref().is_none_or(is_null);
            if all_null {
                return Err(PlanError::Invalid(
                    "Invalid Case expression. All case branches have NULL type".into(),
                ));
            }
            Ok(None)
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![expr.as_ref().clone()];
            args.extend(substring_from.iter().map(|e| e.as_ref().clone()));
            args.extend(substring_for.iter().map(|e| e.as_ref().clone()));
            Ok(Some(call(&datafusion_name("SUBSTRING"), args)))
        }
        Expr::Trim {
            expr,
            trim_where: None,
            trim_what: None,
            trim_characters: None,
        } => Ok(Some(call(
            &datafusion_name("TRIM"),
            vec![expr.as_ref().clone()],
        ))),
        Expr::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char,
        } => {
            let mut args = vec![expr.as_ref().clone(), pattern.as_ref().clone()];
            if let Some(esc) = escape_char {
                match &esc.value {
                    Value::SingleQuotedString(s) => args.push(string_lit(s)),
                    other => {
                        return Err(PlanError::Invalid(format!(
                            "LIKE escape must be a string, got {other}"
                        )))
                    }
                }
            }
            let like = call(riffle_functions::conditional::LIKE_UDF, args);
            Ok(Some(if *negated {
                Expr::UnaryOp {
                    op: UnaryOperator::Not,
                    expr: Box::new(like),
                }
            } else {
                like
            }))
        }
        Expr::Value(v) => match &v.value {
            Value::Number(text, _) => number(text),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// ksqlDB's numeric literals: digits only are INT or BIGINT (and must fit 64 bits), an exponent
/// makes a DOUBLE, and a decimal point alone a DECIMAL (DataFusion's default here).
fn number(text: &str) -> Result<Option<Expr>> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        if text.parse::<i64>().is_err() {
            return Err(PlanError::Invalid(format!(
                "Invalid numeric literal: {text}"
            )));
        }
        return Ok(None);
    }
    if text.contains(['e', 'E']) {
        return Ok(Some(Expr::TypedString(TypedString {
            data_type: DataType::Double(sqlparser::ast::ExactNumberInfo::None),
            value: ValueWithSpan::from(Value::SingleQuotedString(text.to_string())),
            uses_odbc_syntax: false,
        })));
    }
    Ok(None)
}

fn is_null(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => v.value == Value::Null,
        Expr::Nested(inner) => is_null(inner),
        _ => false,
    }
}

fn rewrite_function(f: &Function) -> Result<Option<Expr>> {
    let Some(ObjectNamePart::Identifier(id)) = f.name.0.last() else {
        return Ok(None);
    };
    let upper = id.value.to_ascii_uppercase();
    let args = match &f.args {
        FunctionArguments::List(list) => list.args.clone(),
        _ => Vec::new(),
    };
    match upper.as_str() {
        "STRUCT" => {
            let mut out = Vec::new();
            let mut names: Vec<String> = Vec::new();
            for a in args {
                match a {
                    FunctionArg::Named {
                        name,
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => {
                        if names.contains(&name.value) {
                            return Err(PlanError::Invalid(
                                "Duplicate field names found in STRUCT".into(),
                            ));
                        }
                        names.push(name.value.clone());
                        out.push(string_lit(&name.value));
                        out.push(e);
                    }
                    _ => {
                        return Err(PlanError::Invalid(
                            "STRUCT fields must be named: STRUCT(name := value, ...)".into(),
                        ))
                    }
                }
            }
            if out.is_empty() {
                return Ok(Some(call(
                    riffle_functions::collections::EMPTY_STRUCT,
                    Vec::new(),
                )));
            }
            Ok(Some(call("named_struct", out)))
        }
        "MAP" => {
            let (mut keys, mut values) = (Vec::new(), Vec::new());
            for a in args {
                match a {
                    FunctionArg::Named {
                        name,
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => {
                        keys.push(string_lit(&name.value));
                        values.push(e);
                    }
                    FunctionArg::ExprNamed {
                        name,
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => {
                        keys.push(name);
                        values.push(e);
                    }
                    _ => {
                        return Err(PlanError::Invalid(
                            "MAP entries must be written MAP(key := value, ...)".into(),
                        ))
                    }
                }
            }
            Ok(Some(custom(
                call(riffle_functions::ARGS_UDF, keys),
                CustomOp::Map,
                call(riffle_functions::ARGS_UDF, values),
            )))
        }
        _ => {
            let df = datafusion_name(&upper);
            if df == id.value && id.quote_style.is_some() {
                return Ok(None);
            }
            let mut g = f.clone();
            g.name = function_name(&df);
            if let Some(unit) = time_unit_argument(f) {
                // The time unit keyword (`MILLISECONDS`) is passed as a string.
                if let FunctionArguments::List(list) = &mut g.args {
                    if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) =
                        list.args.first_mut()
                    {
                        *e = string_lit(&unit.value);
                    }
                }
            }
            Ok(Some(Expr::Function(g)))
        }
    }
}

/// The time unit keyword that is the first argument of `TIMESTAMPADD(MILLISECONDS, ...)` and
/// its kin (`riffle_functions::temporal::UNIT_FUNCTIONS`): a keyword, not a column.
pub(crate) fn time_unit_argument(f: &Function) -> Option<&Ident> {
    let Some(ObjectNamePart::Identifier(id)) = f.name.0.last() else {
        return None;
    };
    let name = id.value.to_ascii_uppercase();
    if !riffle_functions::temporal::UNIT_FUNCTIONS.contains(&name.as_str()) {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.first() {
        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(unit))))
            if riffle_functions::temporal::is_time_unit(&unit.value) =>
        {
            Some(unit)
        }
        _ => None,
    }
}

fn string_lit(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

/// A function name DataFusion looks up as written (quoted, so that it is not lower-cased).
fn function_name(name: &str) -> ObjectName {
    ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote(
        '"', name,
    ))])
}

/// `left <op> right` for one of Riffle's custom operators.
fn custom(left: Expr, op: CustomOp, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::Custom(op.name().to_string()),
        right: Box::new(right),
    }
}

/// A call of function `name` with positional arguments.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: function_name(name),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}
