//! Post-processing of parsed expressions: ksqlDB's identifier rule, subscripts, `->` checks and
//! a depth limit.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AccessExpr, BinaryOperator, Expr, FunctionArg, FunctionArguments, Ident, JsonPathElem,
    ObjectName, ObjectNamePart, OneOrManyWithParens, Spanned, Subscript, VisitMut, VisitorMut,
};
use sqlparser::parser::ParserError;

use crate::error::{located, PREPARE_MARKER};
use crate::parser::helpers::ident_name;

/// Deepest expression nesting accepted. Deeper trees are rejected so that the engine can
/// clone, format and walk any returned expression recursively without exhausting the stack.
pub(crate) const MAX_EXPR_DEPTH: usize = 128;

/// Post-processes a freshly parsed expression tree:
/// * every identifier gets its final name (unquoted names upper-cased, quoted names kept) and
///   `quote_style = None`;
/// * `Expr::JsonAccess` subscripts become `Expr::CompoundFieldAccess` chains;
/// * the right side of `->` must be a field name;
/// * trees deeper than [`MAX_EXPR_DEPTH`] are rejected.
///
/// Must run exactly once per parsed tree (running it again would upper-case names that were
/// quoted).
pub(crate) fn normalize_expr(expr: &mut Expr) -> Result<(), ParserError> {
    match expr.visit(&mut Normalizer { depth: 0 }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

struct Normalizer {
    depth: usize,
}

impl VisitorMut for Normalizer {
    type Break = ParserError;

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<ParserError> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return ControlFlow::Break(located(
                "expression is too deeply nested",
                expr.span().start,
            ));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<ParserError> {
        self.depth = self.depth.saturating_sub(1);
        if let Err(e) = rewrite_node(expr) {
            return ControlFlow::Break(e);
        }
        ControlFlow::Continue(())
    }
}

fn normalize_ident(id: &mut Ident) {
    if id.quote_style.is_none() {
        id.value = id.value.to_uppercase();
    }
    id.quote_style = None;
}

fn normalize_object_name(name: &mut ObjectName) {
    for part in &mut name.0 {
        if let ObjectNamePart::Identifier(id) = part {
            normalize_ident(id);
        }
    }
}

/// Rewrites one node; its children have already been processed.
fn rewrite_node(e: &mut Expr) -> Result<(), ParserError> {
    match e {
        Expr::Identifier(id) => normalize_ident(id),
        Expr::CompoundIdentifier(ids) => ids.iter_mut().for_each(normalize_ident),
        Expr::QualifiedWildcard(name, _) => normalize_object_name(name),
        Expr::Function(f) => {
            normalize_object_name(&mut f.name);
            if let FunctionArguments::List(list) = &mut f.args {
                for arg in &mut list.args {
                    if let FunctionArg::Named { name, .. } = arg {
                        normalize_ident(name);
                    }
                }
            }
        }
        Expr::Lambda(l) => match &mut l.params {
            OneOrManyWithParens::One(p) => normalize_ident(&mut p.name),
            OneOrManyWithParens::Many(ps) => {
                ps.iter_mut().for_each(|p| normalize_ident(&mut p.name))
            }
        },
        Expr::BinaryOp {
            op: BinaryOperator::Arrow,
            right,
            ..
        } if !matches!(**right, Expr::Identifier(_)) => {
            return Err(located(
                "mismatched input after '->' expecting a struct field name",
                right.span().start,
            ));
        }
        Expr::JsonAccess { .. } => json_access_to_subscripts(e),
        Expr::Value(v) => {
            if let sqlparser::ast::Value::Number(text, _) = &v.value {
                // ksqlDB's AST builder rejects integer literals beyond BIGINT; it reports the
                // 1-based column one further right than the literal starts.
                if text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<i64>().is_err() {
                    let mut at = v.span.start;
                    at.column += 1;
                    return Err(located(
                        format!("{PREPARE_MARKER}Invalid numeric literal: {text}"),
                        at,
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `Expr::JsonAccess { value, path }` → `Expr::CompoundFieldAccess { root: value, .. }`,
/// extending the chain when `value` is itself a `CompoundFieldAccess`.
fn json_access_to_subscripts(e: &mut Expr) {
    let placeholder = Expr::Value(sqlparser::ast::Value::Null.into());
    let Expr::JsonAccess { value, path } = std::mem::replace(e, placeholder) else {
        return;
    };
    let (root, mut access_chain) = match *value {
        Expr::CompoundFieldAccess { root, access_chain } => (root, access_chain),
        other => (Box::new(other), Vec::new()),
    };
    for elem in path.path {
        access_chain.push(match elem {
            JsonPathElem::Bracket { key } | JsonPathElem::ColonBracket { key } => {
                AccessExpr::Subscript(Subscript::Index { index: key })
            }
            JsonPathElem::Dot { key, quoted } => {
                let quote = quoted.then_some('`');
                AccessExpr::Dot(Expr::Identifier(Ident::new(ident_name(&key, quote))))
            }
        });
    }
    *e = Expr::CompoundFieldAccess { root, access_chain };
}
