//! Rewrites ksqlDB-only syntax in a parsed expression into SQL that DataFusion plans.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Value, VisitMut, VisitorMut,
};

use crate::functions::datafusion_name;
use crate::{PlanError, Result};

/// Rewrites `expr` in place: `a->b` to `get_field(a, 'b')`, `STRUCT(a := x)` to
/// `named_struct('a', x)`, `MAP(k := v)` to `map([k], [v])`, and ksqlDB function names to
/// DataFusion's.
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
        _ => Ok(None),
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
            for a in args {
                match a {
                    FunctionArg::Named {
                        name,
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => {
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
                return Err(PlanError::Unsupported("An empty STRUCT()".into()));
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
            Ok(Some(call(
                "map",
                vec![call("make_array", keys), call("make_array", values)],
            )))
        }
        _ => {
            let df = datafusion_name(&upper);
            if df == id.value {
                return Ok(None);
            }
            let mut g = f.clone();
            g.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(df))]);
            Ok(Some(Expr::Function(g)))
        }
    }
}

fn string_lit(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

/// A call of DataFusion function `name` with positional arguments.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
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
