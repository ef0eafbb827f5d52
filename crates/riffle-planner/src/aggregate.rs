//! Plans aggregations (`GROUP BY`, aggregate functions, `HAVING`, `WINDOW`) in three steps,
//! as ksqlDB's physical plan does:
//!
//! 1. over each input row: the WHERE filter, the grouping expressions and the arguments of every
//!    aggregate call (DataFusion physical expressions over the source's [`RowSchema`]);
//! 2. per group (and window): the aggregate functions' states (`riffle-aggregates`), updated one
//!    record at a time by the runtime, which emits an *aggregate row* per update: the grouping
//!    values (`KSQL_GK_i`), the aggregate results (`KSQL_AGG_i`) and, when windowed,
//!    `WINDOWSTART`/`WINDOWEND`;
//! 3. over aggregate rows: HAVING and the projection, as an ordinary [`SelectPlan`] whose input
//!    is the aggregate row.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    VisitMut, VisitorMut,
};
use riffle_aggregates::AggregateFunction;
use riffle_sql::{Emit, Query, SelectItem, WindowExpr};
use riffle_types::{Column, ColumnKind, LogicalSchema, SqlType};

use crate::select::{
    implicit_name, is_reserved, missing_from_projection, OutputColumn, SelectPlan, SourceRef,
};
use crate::{Clause, ExprPlanner, PlanError, Result, RowSchema};

/// Column of the aggregate row holding a window's start (epoch millis).
pub const WINDOWSTART: &str = "WINDOWSTART";
/// Column of the aggregate row holding a window's end (epoch millis).
pub const WINDOWEND: &str = "WINDOWEND";

/// One grouping expression.
#[derive(Debug, Clone)]
pub struct GroupExpr {
    /// Its type.
    pub ty: SqlType,
    /// How to compute it from an input row.
    pub expr: Arc<dyn PhysicalExpr>,
    /// Text, for messages.
    pub text: String,
}

/// One aggregate call, such as `SUM(AMOUNT)` or `TOPK(X, 3)`.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    /// The resolved function.
    pub function: Arc<dyn AggregateFunction>,
    /// Its column arguments, computed from the input row.
    pub args: Vec<Arc<dyn PhysicalExpr>>,
    /// Text, for messages.
    pub text: String,
}

/// A planned aggregation query.
#[derive(Debug, Clone)]
pub struct AggregatePlan {
    /// Input row shape.
    pub input: RowSchema,
    /// WHERE, applied before grouping.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// GROUP BY expressions, in order.
    pub group_by: Vec<GroupExpr>,
    /// Aggregate calls; the `i`th result is column `KSQL_AGG_i` of the aggregate row.
    pub aggregates: Vec<AggregateCall>,
    /// The window, if any.
    pub window: Option<WindowExpr>,
    /// `EMIT FINAL`: one result per window, when it closes.
    pub emit_final: bool,
    /// HAVING over the aggregate row; rows failing it become tombstones.
    pub having: Option<Arc<dyn PhysicalExpr>>,
    /// The projection over the aggregate row (`post.input`), with the sink's key columns marked.
    pub post: SelectPlan,
}

fn group_column(i: usize) -> String {
    format!("KSQL_GK_{i}")
}

fn agg_column(i: usize) -> String {
    format!("KSQL_AGG_{i}")
}

/// Whether `query` aggregates: GROUP BY, a window, HAVING, or an aggregate call in the select.
pub fn is_aggregation(query: &Query) -> bool {
    if !query.group_by.is_empty() || query.window.is_some() || query.having.is_some() {
        return true;
    }
    query.select.iter().any(|item| match item {
        SelectItem::Expr { expr, .. } => contains_aggregate(expr),
        _ => false,
    })
}

fn function_name(e: &SqlExpr) -> Option<String> {
    match e {
        SqlExpr::Function(f) => Some(f.name.to_string().to_ascii_uppercase()),
        _ => None,
    }
}

fn contains_aggregate(e: &SqlExpr) -> bool {
    let mut found = false;
    let mut e = e.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if function_name(x).is_some_and(|n| riffle_aggregates::is_aggregate(&n)) {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Renders `e` without the source qualifier, as ksqlDB prints expressions in messages.
fn normalize(e: &SqlExpr, qualifier: &str, source: &str) -> String {
    let mut e = e.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if let SqlExpr::CompoundIdentifier(parts) = x {
            if parts.len() == 2 && (parts[0].value == qualifier || parts[0].value == source) {
                *x = SqlExpr::Identifier(parts[1].clone());
            }
        }
        ControlFlow::<()>::Continue(())
    });
    match e {
        SqlExpr::BinaryOp { .. } => format!("({e})"),
        other => other.to_string(),
    }
}

/// Replaces grouping expressions and aggregate calls by the aggregate row's columns, collecting
/// the calls it meets.
struct Replacer<'a> {
    groups: &'a [String],
    qualifier: &'a str,
    source: &'a str,
    calls: &'a mut Vec<(String, SqlExpr)>,
}

impl VisitorMut for Replacer<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
        if let SqlExpr::CompoundIdentifier(parts) = e {
            if parts.len() == 2
                && (parts[0].value == self.qualifier || parts[0].value == self.source)
            {
                *e = SqlExpr::Identifier(parts[1].clone());
            }
        }
        let text = normalize(e, self.qualifier, self.source);
        if let Some(i) = self.groups.iter().position(|g| *g == text) {
            *e = SqlExpr::Identifier(Ident::new(group_column(i)));
            return ControlFlow::Continue(());
        }
        if function_name(e).is_some_and(|n| riffle_aggregates::is_aggregate(&n)) {
            let i = match self.calls.iter().position(|(t, _)| *t == text) {
                Some(i) => i,
                None => {
                    self.calls.push((text, e.clone()));
                    self.calls.len() - 1
                }
            };
            *e = SqlExpr::Identifier(Ident::new(agg_column(i)));
        }
        ControlFlow::Continue(())
    }
}

/// Whether a rewritten expression references columns the aggregate row does not have.
fn leftover_columns(e: &SqlExpr, allowed: &[String]) -> bool {
    !leftover_names(e, allowed).is_empty()
}

/// `WINDOWSTART` or `WINDOWEND` if `e` references one.
fn window_bound(e: &SqlExpr) -> Option<&'static str> {
    let names = leftover_names(e, &[]);
    [WINDOWSTART, WINDOWEND]
        .into_iter()
        .find(|b| names.iter().any(|n| n.eq_ignore_ascii_case(b)))
}

/// Column references left in a rewritten expression that the aggregate row does not have.
fn leftover_names(e: &SqlExpr, allowed: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    let mut e = e.clone();
    // Field names after `->` are not column references.
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if let SqlExpr::BinaryOp {
            op: BinaryOperator::Arrow,
            right,
            ..
        } = x
        {
            **right = SqlExpr::Value(datafusion::sql::sqlparser::ast::Value::Null.into());
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        match x {
            SqlExpr::Identifier(id)
                if !allowed.contains(&id.value) && !left.contains(&id.value) =>
            {
                left.push(id.value.clone());
            }
            SqlExpr::CompoundIdentifier(parts) => {
                let name = parts.last().map(|p| p.value.clone()).unwrap_or_default();
                if !left.contains(&name) {
                    left.push(name);
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    left
}

/// Plans an aggregation `query` over `source` for the sink `sink` (None for push queries).
pub fn plan_aggregate(
    planner: &ExprPlanner,
    query: &Query,
    source: &SourceRef,
    sink: Option<&str>,
) -> Result<AggregatePlan> {
    let qualifier = source.alias.clone().unwrap_or_else(|| source.name.clone());
    let input = RowSchema::new(&qualifier, &source.schema)?;
    let filter = match &query.where_clause {
        Some(w) => {
            if query.window.is_some() {
                crate::typecheck::check_window_bounds_in_where(w, &input.df)?;
            }
            Some(planner.plan_clause(w, &input, Clause::Where)?.physical)
        }
        None => None,
    };
    if query.group_by.is_empty() && sink.is_some() {
        let calls: Vec<String> = query
            .select
            .iter()
            .filter_map(|i| match i {
                SelectItem::Expr { expr, .. } if contains_aggregate(expr) => {
                    Some(normalize(expr, &qualifier, &source.name))
                }
                _ => None,
            })
            .collect();
        return Err(PlanError::Invalid(format!(
            "CREATE TABLE AS SELECT statement does not support aggregate function [{}] without a GROUP BY clause.",
            calls.join(", ")
        )));
    }

    for e in query.group_by.iter().chain(query.having.iter()) {
        if let Some(bound) = window_bound(e) {
            return Err(PlanError::Invalid(format!(
                "Window bounds column {bound} can only be used in the SELECT clause of windowed aggregations"
            )));
        }
    }
    // Grouping expressions.
    let mut group_texts: Vec<String> = Vec::new();
    let mut group_by = Vec::new();
    for g in &query.group_by {
        if let Some(name) = first_aggregate(g) {
            return Err(PlanError::Invalid(format!(
                "GROUP BY does not support aggregate functions: {name} is an aggregate function."
            )));
        }
        let text = normalize(g, &qualifier, &source.name);
        if group_texts.contains(&text) {
            return Err(PlanError::Invalid(format!(
                "Duplicate GROUP BY expression: {qualifier}.{text}"
            )));
        }
        let p = planner.plan_clause(g, &input, Clause::GroupBy)?;
        group_by.push(GroupExpr {
            ty: p.ty,
            expr: p.physical,
            text: text.clone(),
        });
        group_texts.push(text);
    }

    // Select items, rewritten over the aggregate row.
    let mut calls: Vec<(String, SqlExpr)> = Vec::new();
    let mut items: Vec<(String, SqlExpr, SqlExpr, bool)> = Vec::new(); // name, original, rewritten, generated
    for item in &query.select {
        match item {
            SelectItem::Expr { expr, alias } => {
                let mut rewritten = expr.clone();
                let _ = rewritten.visit(&mut Replacer {
                    groups: &group_texts,
                    qualifier: &qualifier,
                    source: &source.name,
                    calls: &mut calls,
                });
                let (name, generated) = match alias {
                    Some(a) => (a.clone(), false),
                    None => match implicit_name(expr) {
                        Some(n) => (n, false),
                        None => (String::new(), true),
                    },
                };
                items.push((name, expr.clone(), rewritten, generated));
            }
            _ => {
                return Err(PlanError::Unsupported(
                    "SELECT * in an aggregation".to_string(),
                ))
            }
        }
    }
    let mut having = query.having.clone();
    if let Some(h) = having.as_mut() {
        let _ = h.visit(&mut Replacer {
            groups: &group_texts,
            qualifier: &qualifier,
            source: &source.name,
            calls: &mut calls,
        });
    }
    if calls.is_empty() {
        return Err(PlanError::Invalid(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.".into(),
        ));
    }

    // Columns of the aggregate row.
    let mut allowed: Vec<String> = (0..group_by.len()).map(group_column).collect();
    allowed.extend((0..calls.len()).map(agg_column));
    if query.window.is_some() {
        allowed.push(WINDOWSTART.to_string());
        allowed.push(WINDOWEND.to_string());
    }
    let offending: Vec<String> = items
        .iter()
        .filter(|(_, _, rewritten, _)| leftover_columns(rewritten, &allowed))
        .map(|(_, original, _, _)| normalize(original, &qualifier, &source.name))
        .collect();
    if !offending.is_empty() {
        return Err(PlanError::Invalid(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
            offending.join(", ")
        )));
    }
    if let Some(h) = &having {
        let names = leftover_names(h, &allowed);
        if !names.is_empty() {
            return Err(PlanError::Invalid(format!(
                "Non-aggregate HAVING expression not part of GROUP BY: {}",
                names.join(", ")
            )));
        }
    }

    // Aggregate calls.
    let mut aggregates = Vec::with_capacity(calls.len());
    for (text, call) in &calls {
        aggregates.push(plan_call(planner, call, text, &input)?);
    }
    let mut agg_cols: Vec<Column> = group_by
        .iter()
        .enumerate()
        .map(|(i, g)| value_column(group_column(i), g.ty.clone()))
        .collect();
    agg_cols.extend(
        aggregates
            .iter()
            .enumerate()
            .map(|(i, a)| value_column(agg_column(i), a.function.return_type())),
    );
    if query.window.is_some() {
        agg_cols.push(value_column(WINDOWSTART.into(), SqlType::Bigint));
        agg_cols.push(value_column(WINDOWEND.into(), SqlType::Bigint));
    }
    let agg_row = RowSchema::new("", &LogicalSchema::new(agg_cols))?;

    let having = match &having {
        Some(h) => Some(planner.plan_clause(h, &agg_row, Clause::Having)?.physical),
        None => None,
    };
    let mut next_generated = 0;
    let mut columns: Vec<OutputColumn> = Vec::with_capacity(items.len());
    for (name, _, rewritten, generated) in items.iter_mut() {
        if *generated {
            *name = format!("KSQL_COL_{next_generated}");
            next_generated += 1;
        }
        if sink.is_some() && is_reserved(name) {
            return Err(PlanError::Invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
        let p = planner.plan_clause(rewritten, &agg_row, Clause::Select)?;
        columns.push(OutputColumn {
            name: name.clone(),
            ty: p.ty,
            kind: ColumnKind::Value,
            expr: p.physical,
        });
    }
    if let Some(sink) = sink {
        assign_group_keys(&group_texts, &items, &mut columns, sink)?;
    }
    // Key columns in GROUP BY order, as ksqlDB lays out the key.
    let mut key_order: Vec<(usize, &OutputColumn)> = columns
        .iter()
        .zip(&items)
        .filter(|(c, _)| c.kind == ColumnKind::Key)
        .map(|(c, (_, _, r, _))| {
            let g = match r {
                SqlExpr::Identifier(id) => (0..group_texts.len())
                    .position(|i| group_column(i) == id.value)
                    .unwrap_or(usize::MAX),
                _ => usize::MAX,
            };
            (g, c)
        })
        .collect();
    key_order.sort_by_key(|(g, _)| *g);
    let out_cols: Vec<Column> = key_order
        .into_iter()
        .map(|(_, c)| c)
        .chain(columns.iter().filter(|c| c.kind != ColumnKind::Key))
        .map(|c| Column {
            name: c.name.clone(),
            ty: c.ty.clone(),
            kind: c.kind.clone(),
        })
        .collect();
    for (i, c) in out_cols.iter().enumerate() {
        if out_cols[..i].iter().any(|o| o.name == c.name) {
            return Err(PlanError::Invalid(format!(
                "Duplicate value columns found in schema: `{}`",
                c.name
            )));
        }
    }
    Ok(AggregatePlan {
        input,
        filter,
        group_by,
        aggregates,
        window: query.window,
        emit_final: query.emit == Some(Emit::Final),
        having,
        post: SelectPlan {
            input: agg_row,
            filter: None,
            columns,
            output: LogicalSchema::new(out_cols),
            repartitioned: true,
            limit: crate::select::limit(query)?,
        },
    })
}

fn value_column(name: String, ty: SqlType) -> Column {
    Column {
        name,
        ty,
        kind: ColumnKind::Value,
    }
}

fn first_aggregate(e: &SqlExpr) -> Option<String> {
    let mut found = None;
    let mut e = e.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if let Some(n) = function_name(x).filter(|n| riffle_aggregates::is_aggregate(n)) {
            found.get_or_insert(n);
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Marks the select items that are exactly a grouping expression as the sink's key columns.
fn assign_group_keys(
    groups: &[String],
    items: &[(String, SqlExpr, SqlExpr, bool)],
    columns: &mut [OutputColumn],
    sink: &str,
) -> Result<()> {
    let mut missing = Vec::new();
    for (g, text) in groups.iter().enumerate() {
        let target = group_column(g);
        let found: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, (_, _, r, _))| matches!(r, SqlExpr::Identifier(id) if id.value == target))
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [] => missing.push(text.as_str()),
            [i] => columns[*i].kind = ColumnKind::Key,
            [a, b, ..] => {
                return Err(PlanError::Invalid(format!(
                    "The projection contains a key column more than once: `{}` and `{}`.",
                    items[*a].0, items[*b].0
                )))
            }
        }
    }
    if !missing.is_empty() {
        let what = if missing.len() == 1 {
            "grouping expression"
        } else {
            "grouping expressions"
        };
        return Err(missing_from_projection(sink, what, &missing));
    }
    if !columns.iter().any(|c| c.kind == ColumnKind::Value) {
        return Err(PlanError::Invalid(
            "The projection contains no value columns.".into(),
        ));
    }
    Ok(())
}

/// Plans one aggregate call: column arguments become physical expressions over the input row,
/// trailing literal parameters (e.g. TOPK's k) become values.
fn plan_call(
    planner: &ExprPlanner,
    call: &SqlExpr,
    text: &str,
    input: &RowSchema,
) -> Result<AggregateCall> {
    let SqlExpr::Function(f) = call else {
        return Err(PlanError::Invalid(format!("not an aggregate call: {text}")));
    };
    let name = f.name.to_string().to_ascii_uppercase();
    let mut arg_exprs: Vec<SqlExpr> = Vec::new();
    if let FunctionArguments::List(list) = &f.args {
        for a in &list.args {
            match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => arg_exprs.push(e.clone()),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {}
                other => {
                    return Err(PlanError::Invalid(format!(
                        "Unsupported argument {other} in {text}"
                    )))
                }
            }
        }
    }
    if arg_exprs.iter().any(contains_aggregate) {
        return Err(PlanError::Invalid(format!(
            "Aggregate functions can not be nested: {text}"
        )));
    }
    let n_params = riffle_aggregates::literal_params(&name, arg_exprs.len());
    let split = arg_exprs.len().saturating_sub(n_params);
    let mut args = Vec::new();
    let mut types = Vec::new();
    for e in &arg_exprs[..split] {
        let p = planner.plan_clause(e, input, Clause::Select)?;
        types.push(p.ty);
        args.push(p.physical);
    }
    let mut params = Vec::new();
    for e in &arg_exprs[split..] {
        params.push(literal(planner, e, input)?);
    }
    let function = riffle_aggregates::resolve(&name, &types, &params)
        .map_err(|e| PlanError::Invalid(e.to_string()))?;
    Ok(AggregateCall {
        function,
        args,
        text: text.to_string(),
    })
}

/// Evaluates a constant argument.
fn literal(planner: &ExprPlanner, e: &SqlExpr, input: &RowSchema) -> Result<ScalarValue> {
    let p = planner.plan(e, input)?;
    let empty = datafusion::arrow::record_batch::RecordBatch::new_empty(input.arrow.clone());
    let one = datafusion::arrow::compute::concat_batches(&input.arrow, [&empty])
        .map_err(|err| PlanError::Invalid(err.to_string()))?;
    // A constant evaluates to a scalar without looking at rows.
    match p.physical.evaluate(&one) {
        Ok(datafusion::logical_expr::ColumnarValue::Scalar(s)) => Ok(s),
        _ => Err(PlanError::Invalid(format!(
            "Parameter {e} must be a literal."
        ))),
    }
}
