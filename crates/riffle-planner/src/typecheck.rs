//! ksqlDB's semantic checks on expressions that DataFusion would accept (and coerce) silently:
//! unknown columns with ksqlDB's wording, and comparisons between incomparable types.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::common::DFSchema;
use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Visit, Visitor};
use riffle_types::SqlType;

use crate::{ExprPlanner, PlanError, Result};

/// The clause an expression appears in; ksqlDB names it in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    /// The select list.
    Select,
    /// WHERE.
    Where,
    /// HAVING.
    Having,
    /// GROUP BY.
    GroupBy,
    /// PARTITION BY.
    PartitionBy,
    /// JOIN … ON.
    JoinOn,
    /// Anywhere else (INSERT VALUES …).
    Other,
}

impl Clause {
    fn name(self) -> &'static str {
        match self {
            Clause::Select => "SELECT",
            Clause::Where => "WHERE",
            Clause::Having => "HAVING",
            Clause::GroupBy => "GROUP BY",
            Clause::PartitionBy => "PARTITION BY",
            Clause::JoinOn => "JOIN ON",
            Clause::Other => "",
        }
    }
}

/// Runs the checks for `expr` in `clause` over `schema`.
pub(crate) fn check(
    planner: &ExprPlanner,
    expr: &Expr,
    schema: &DFSchema,
    clause: Clause,
) -> Result<()> {
    check_columns(expr, schema, clause)?;
    let mut v = Comparisons {
        planner,
        schema,
        error: None,
        between: false,
    };
    let _ = expr.visit(&mut v);
    match v.error {
        // ksqlDB reports BETWEEN's operand types when it compiles the expression, not when it
        // types the clause.
        Some(msg) if v.between => Err(PlanError::Invalid(format!("Invalid expression: {msg}"))),
        Some(msg) => Err(PlanError::Invalid(match clause {
            Clause::Where | Clause::Having => {
                format!("Error in {} expression: {msg}", clause.name())
            }
            _ => msg,
        })),
        None => Ok(()),
    }
}

/// A windowed aggregation's WHERE runs on the input rows, before any window exists: ksqlDB
/// accepts `WINDOWSTART`/`WINDOWEND` there syntactically (they are columns of the result) but
/// then fails to type them. Sources that have the columns (windowed sources) are fine.
pub(crate) fn check_window_bounds_in_where(expr: &Expr, schema: &DFSchema) -> Result<()> {
    let mut unknown = None;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        if let Expr::Identifier(id) = e {
            let name = if id.quote_style.is_some() {
                id.value.clone()
            } else {
                id.value.to_uppercase()
            };
            let bound =
                name == crate::aggregate::WINDOWSTART || name == crate::aggregate::WINDOWEND;
            if bound && !schema.fields().iter().any(|f| f.name() == &name) {
                unknown = Some(name);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    match unknown {
        Some(name) => Err(PlanError::Invalid(format!(
            "Error in WHERE expression: Unknown column {name}."
        ))),
        None => Ok(()),
    }
}

fn check_columns(expr: &Expr, schema: &DFSchema, clause: Clause) -> Result<()> {
    // Names that are not columns: lambda parameters, struct field names after `->` and the
    // time unit of `TIMESTAMPADD(MILLISECONDS, ...)` and its kin.
    let mut skip = HashSet::new();
    let _ = expr.visit(&mut CollectNonColumns(&mut skip));
    let mut missing = None;
    let _ = expr.visit(&mut FindMissing {
        schema,
        skip: &skip,
        missing: &mut missing,
    });
    match missing {
        Some(name) if clause != Clause::Other => Err(PlanError::Invalid(format!(
            "{} column '{name}' cannot be resolved.",
            clause.name()
        ))),
        _ => Ok(()),
    }
}

struct CollectNonColumns<'a>(&'a mut HashSet<String>);

impl Visitor for CollectNonColumns<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Lambda(l) => {
                for p in l.params.iter() {
                    self.0.insert(p.name.value.clone());
                }
            }
            Expr::BinaryOp {
                op: BinaryOperator::Arrow,
                right,
                ..
            } => {
                if let Expr::Identifier(id) = right.as_ref() {
                    self.0.insert(id.value.clone());
                }
            }
            Expr::Function(f) => {
                if let Some(unit) = crate::rewrite::time_unit_argument(f) {
                    self.0.insert(unit.value.clone());
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

struct FindMissing<'a> {
    schema: &'a DFSchema,
    skip: &'a HashSet<String>,
    missing: &'a mut Option<String>,
}

impl Visitor for FindMissing<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        let name = match e {
            Expr::Identifier(id) if !self.skip.contains(&id.value) => {
                (!self.schema.has_column_with_unqualified_name(&id.value)).then(|| id.value.clone())
            }
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let found = self.schema.iter().any(|(q, f)| {
                    f.name() == &parts[1].value
                        && q.map(|q| q.table() == parts[0].value).unwrap_or(false)
                });
                (!found).then(|| format!("{}.{}", parts[0].value, parts[1].value))
            }
            _ => None,
        };
        match name {
            Some(n) => {
                *self.missing = Some(n);
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    }
}

/// ksqlDB's advice after a comparison with the NULL literal.
const NULL_HINT: &str = "Use 'IS NULL' or 'IS NOT NULL' instead.";

struct Comparisons<'a> {
    planner: &'a ExprPlanner,
    schema: &'a DFSchema,
    error: Option<String>,
    /// The error is about a BETWEEN's bounds.
    between: bool,
}

impl Visitor for Comparisons<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Between {
            expr, low, high, ..
        } = e
        {
            return self.between(expr, low, high);
        }
        let Expr::BinaryOp { left, op, right } = e else {
            return ControlFlow::Continue(());
        };
        let Some(op_name) = comparison_name(op) else {
            return ControlFlow::Continue(());
        };
        let (Ok(l), Ok(r)) = (
            self.planner.plan_unchecked(left, self.schema),
            self.planner.plan_unchecked(right, self.schema),
        ) else {
            return ControlFlow::Continue(());
        };
        let (lt, rt) = (l.ty, r.ty);
        let null = |e: &Expr| matches!(e, Expr::Value(v) if v.value == datafusion::sql::sqlparser::ast::Value::Null);
        if null(left) || null(right) {
            // ksqlDB names the operand types, the untyped NULL literal as `NULL`.
            let name = |e: &Expr, t: &SqlType| {
                if null(e) {
                    "NULL".to_string()
                } else {
                    t.to_string()
                }
            };
            self.error = Some(format!(
                "Comparison with NULL not supported: {} {op} {}\n{NULL_HINT}",
                name(left, &lt),
                name(right, &rt)
            ));
            return ControlFlow::Break(());
        }
        if comparable(&lt, &rt, op) {
            return ControlFlow::Continue(());
        }
        self.error = Some(format!(
            "Cannot compare {left} ({lt}) to {right} ({rt}) with {op_name}."
        ));
        ControlFlow::Break(())
    }
}

impl Comparisons<'_> {
    /// `expr BETWEEN low AND high` compares `expr >= low` and `expr <= high`.
    fn between(&mut self, expr: &Expr, low: &Expr, high: &Expr) -> ControlFlow<()> {
        let Ok(e) = self.planner.plan_unchecked(expr, self.schema) else {
            return ControlFlow::Continue(());
        };
        for (bound, op) in [(low, BinaryOperator::GtEq), (high, BinaryOperator::LtEq)] {
            let Ok(b) = self.planner.plan_unchecked(bound, self.schema) else {
                continue;
            };
            let null = matches!(bound, Expr::Value(v) if v.value == datafusion::sql::sqlparser::ast::Value::Null);
            if !null && !comparable(&e.ty, &b.ty, &op) {
                let name = comparison_name(&op).unwrap_or_default();
                self.error = Some(format!(
                    "Cannot compare {expr} ({}) to {bound} ({}) with {name}.",
                    e.ty, b.ty
                ));
                self.between = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

fn comparison_name(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Eq => "EQUAL",
        BinaryOperator::NotEq => "NOT_EQUAL",
        BinaryOperator::Lt => "LESS_THAN",
        BinaryOperator::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOperator::Gt => "GREATER_THAN",
        BinaryOperator::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => return None,
    })
}

/// ksqlDB's `ComparisonUtil.isValidComparison`.
fn comparable(l: &SqlType, r: &SqlType, op: &BinaryOperator) -> bool {
    use SqlType::*;
    let time = |t: &SqlType| matches!(t, Timestamp | Date | Time);
    let equality = matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq);
    match (l, r) {
        _ if l.is_numeric() && r.is_numeric() => true,
        (String, String) | (Boolean, Boolean) | (Bytes, Bytes) => true,
        _ if time(l) && (time(r) || *r == String) => true,
        _ if time(r) && *l == String => true,
        (Array(_), Array(_)) | (Map(..), Map(..)) | (Struct(_), Struct(_)) => equality && l == r,
        _ => false,
    }
}
