use std::sync::Arc;

use datafusion::physical_expr::PhysicalExpr;
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Ident};
use riffle_sql::{Query, SelectItem};
use riffle_types::{Column, ColumnKind, LogicalSchema, SqlType};

use crate::row::{ROWOFFSET, ROWPARTITION, ROWTIME};
use crate::{Clause, ExprPlanner, PlanError, Result, RowSchema};

/// The source a query reads, as the catalog knows it.
#[derive(Debug, Clone)]
pub struct SourceRef {
    /// Catalog name.
    pub name: String,
    /// Alias in the query, if any.
    pub alias: Option<String>,
    /// Its columns.
    pub schema: LogicalSchema,
}

/// One output column of a planned SELECT.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    /// Column name (alias, column name, or `KSQL_COL_n`).
    pub name: String,
    /// Result type.
    pub ty: SqlType,
    /// Key or value in the sink (always `Value` for push queries).
    pub kind: ColumnKind,
    /// How to compute it from an input row.
    pub expr: Arc<dyn PhysicalExpr>,
}

/// A stateless SELECT: filter, then projection, over one source.
#[derive(Debug, Clone)]
pub struct SelectPlan {
    /// Input row shape.
    pub input: RowSchema,
    /// WHERE, if any.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// Output columns in select order.
    pub columns: Vec<OutputColumn>,
    /// Output schema (keys first, as ksqlDB orders sinks).
    pub output: LogicalSchema,
    /// Whether the output key was re-computed (PARTITION BY), so records are re-partitioned.
    pub repartitioned: bool,
    /// LIMIT, if any.
    pub limit: Option<u64>,
}

/// Settings that change how a SELECT is planned.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectOptions {
    /// `ksql.new.query.planner.enabled`: a projection that omits the source's key columns makes
    /// a key-less sink instead of an error.
    pub drop_missing_keys: bool,
}

/// Plans `query` over `source`. `sink` is the name of the persistent query's sink (None for push
/// queries, whose columns are all plain output columns).
pub fn plan_select(
    planner: &ExprPlanner,
    query: &Query,
    source: &SourceRef,
    sink: Option<&str>,
) -> Result<SelectPlan> {
    plan_select_with(planner, query, source, sink, SelectOptions::default())
}

/// [`plan_select`] with explicit [`SelectOptions`].
pub fn plan_select_with(
    planner: &ExprPlanner,
    query: &Query,
    source: &SourceRef,
    sink: Option<&str>,
    options: SelectOptions,
) -> Result<SelectPlan> {
    if !query.group_by.is_empty() || query.window.is_some() || query.having.is_some() {
        return Err(PlanError::Unsupported(
            "Aggregation (GROUP BY, WINDOW, HAVING)".into(),
        ));
    }
    let qualifier = source.alias.clone().unwrap_or_else(|| source.name.clone());
    let input = RowSchema::new(&qualifier, &source.schema)?;
    let filter = match &query.where_clause {
        Some(w) => {
            let p = planner.plan_clause(w, &input, Clause::Where)?;
            if p.ty != SqlType::Boolean {
                let text = match w {
                    SqlExpr::BinaryOp { .. } => format!("({w})"),
                    _ => w.to_string(),
                };
                return Err(PlanError::Invalid(format!(
                    "Type error in WHERE expression: Should evaluate to boolean but is {text} ({}) instead.",
                    p.ty
                )));
            }
            Some(p.physical)
        }
        None => None,
    };

    let repartitioning = !query.partition_by.is_empty();
    let has_wildcard = query
        .select
        .iter()
        .any(|i| matches!(i, SelectItem::Wildcard | SelectItem::QualifiedWildcard(_)));
    // Expand the select list into (name, expression) pairs.
    let mut items: Vec<(String, SqlExpr, bool)> = Vec::new(); // (name, expr, is_generated_name)
    for item in &query.select {
        match item {
            SelectItem::Wildcard => {
                for c in star_columns(&source.schema, repartitioning) {
                    items.push((c.clone(), column_expr(&c), false));
                }
            }
            SelectItem::QualifiedWildcard(q) => {
                if q != &qualifier && q != &source.name {
                    return Err(PlanError::Invalid(format!(
                        "'{q}' is not a valid stream/table name or alias."
                    )));
                }
                for c in star_columns(&source.schema, repartitioning) {
                    items.push((c.clone(), column_expr(&c), false));
                }
            }
            SelectItem::StructWildcard(expr) => {
                let planned = planner.plan(expr, &input)?;
                let SqlType::Struct(fields) = planned.ty else {
                    return Err(PlanError::Invalid(format!(
                        "Expected a STRUCT before '->*', but {expr} is {}",
                        planned.ty
                    )));
                };
                for f in fields {
                    let deref = SqlExpr::BinaryOp {
                        left: Box::new(expr.clone()),
                        op: datafusion::sql::sqlparser::ast::BinaryOperator::Arrow,
                        right: Box::new(column_expr(&f.name)),
                    };
                    items.push((f.name.clone(), deref, false));
                }
            }
            SelectItem::Expr { expr, alias } => match alias {
                Some(a) => items.push((a.clone(), expr.clone(), false)),
                None => match column_name(expr) {
                    Some(n) => items.push((n, expr.clone(), false)),
                    None => items.push((String::new(), expr.clone(), true)),
                },
            },
        }
    }
    // Unaliased expressions are named in select order, avoiding the source's column names.
    let mut aliases = AliasGenerator::new(&source.schema);
    for (name, expr, generated) in items.iter_mut() {
        if *generated {
            *name = aliases.alias_for(expr);
        }
    }

    let mut columns = Vec::with_capacity(items.len());
    for (name, expr, _) in &items {
        if sink.is_some() && is_reserved(name) && implicit_name(expr).as_deref() != Some(name) {
            // An alias (`x AS ROWTIME`) rather than the system column itself.
            return Err(PlanError::Invalid(format!(
                "`{name}` is a reserved column name. You cannot use it as an alias for a column."
            )));
        }
        if sink.is_some() && is_reserved(name) {
            return Err(PlanError::Invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
        if columns.iter().any(|c: &OutputColumn| &c.name == name) {
            return Err(PlanError::Invalid(format!(
                "Duplicate value columns found in schema: `{name}`"
            )));
        }
        let p = planner
            .plan_clause(expr, &input, Clause::Select)
            .map_err(codegen_error)?;
        columns.push(OutputColumn {
            name: name.clone(),
            ty: p.ty,
            kind: ColumnKind::Value,
            expr: p.physical,
        });
    }

    let mut repartitioned = false;
    if let Some(sink) = sink {
        let implicit = KeyContext {
            has_wildcard,
            aliases,
            drop_missing_keys: options.drop_missing_keys,
        };
        repartitioned = assign_keys(
            planner,
            query,
            source,
            &input,
            sink,
            &items,
            &mut columns,
            implicit,
        )?;
        if !columns.iter().any(|c| c.kind == ColumnKind::Value) {
            return Err(PlanError::Invalid(
                "The projection contains no value columns.".into(),
            ));
        }
    }
    let mut out_cols: Vec<Column> = columns
        .iter()
        .filter(|c| c.kind == ColumnKind::Key)
        .chain(columns.iter().filter(|c| c.kind != ColumnKind::Key))
        .map(|c| Column {
            name: c.name.clone(),
            ty: c.ty.clone(),
            kind: c.kind.clone(),
        })
        .collect();
    out_cols.dedup_by(|a, b| a.name == b.name);
    Ok(SelectPlan {
        input,
        filter,
        columns,
        output: LogicalSchema::new(out_cols),
        repartitioned,
        limit: limit(query)?,
    })
}

/// The query's LIMIT; only pull queries (which do not plan through here) explain a negative one.
pub(crate) fn limit(query: &Query) -> Result<Option<u64>> {
    match query.limit {
        Some(n) => u64::try_from(n).map(Some).map_err(|_| {
            PlanError::Invalid(
                "Push queries don't support negative integers in the LIMIT clause.".into(),
            )
        }),
        None => Ok(None),
    }
}

/// ksqlDB reports errors it finds while generating a select expression's code (unsupported
/// casts) as "Invalid Select: …"; errors of earlier phases keep their own wording.
fn codegen_error(e: PlanError) -> PlanError {
    match e {
        PlanError::DataFusion(m)
            if m.starts_with(riffle_functions::cast::UNSUPPORTED_CAST_PREFIX)
                && m.ends_with("is not supported") =>
        {
            PlanError::Invalid(format!("Invalid Select: {m}"))
        }
        other => other,
    }
}

/// What `assign_keys` needs to add keys the projection leaves out.
struct KeyContext {
    has_wildcard: bool,
    aliases: AliasGenerator,
    /// Leave source key columns the projection omits out of the sink's key instead of failing.
    drop_missing_keys: bool,
}

/// Decides which output columns are the sink's key: the source's key columns when the key is kept,
/// or the PARTITION BY expressions. Returns whether the key changed.
#[allow(clippy::too_many_arguments)]
fn assign_keys(
    planner: &ExprPlanner,
    query: &Query,
    source: &SourceRef,
    input: &RowSchema,
    sink: &str,
    items: &[(String, SqlExpr, bool)],
    columns: &mut Vec<OutputColumn>,
    mut ctx: KeyContext,
) -> Result<bool> {
    let (key_exprs, repartitioned): (Vec<SqlExpr>, bool) = if query.partition_by.is_empty() {
        (
            source
                .schema
                .key_columns()
                .map(|c| column_expr(&c.name))
                .collect(),
            false,
        )
    } else if query.partition_by.len() == 1 && is_null_literal(&query.partition_by[0]) {
        (Vec::new(), true)
    } else {
        for e in &query.partition_by {
            planner.plan_clause(e, input, Clause::PartitionBy)?;
        }
        (query.partition_by.clone(), true)
    };
    let mut missing = Vec::new();
    let mut added = Vec::new();
    for key in &key_exprs {
        let found: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, (_, e, _))| same_expr(e, key, &input.qualifier))
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [i] => columns[*i].kind = ColumnKind::Key,
            [] if repartitioned && ctx.has_wildcard => {
                let name = implicit_name(key).unwrap_or_else(|| ctx.aliases.alias_for(key));
                let p = planner.plan_clause(key, input, Clause::PartitionBy)?;
                added.push(OutputColumn {
                    name,
                    ty: p.ty,
                    kind: ColumnKind::Key,
                    expr: p.physical,
                });
            }
            [] => missing.push(key.clone()),
            many => {
                let names: Vec<&str> = many.iter().map(|i| items[*i].0.as_str()).collect();
                let first = strip_qualifier(key, &input.qualifier);
                return Err(PlanError::Invalid(format!(
                    "The projection contains a key column (`{first}`) more than once, aliased as: {}.",
                    and_list(&names)
                )));
            }
        }
    }
    // A value column named like an added key would clash; the key wins, as in ksqlDB.
    for a in added.into_iter().rev() {
        columns.retain(|c| c.name != a.name);
        columns.insert(0, a);
    }
    if !missing.is_empty() && !repartitioned && ctx.drop_missing_keys {
        // ksqlDB's new query planner makes the sink key-less rather than rejecting the query.
        for c in columns.iter_mut() {
            c.kind = ColumnKind::Value;
        }
        return Ok(false);
    }
    if !missing.is_empty() {
        let texts: Vec<String> = if repartitioned {
            missing.iter().map(|e| qualify(e, input)).collect()
        } else {
            // The message lists every key column, not only the missing ones.
            key_exprs.iter().map(|e| e.to_string()).collect()
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let what = if repartitioned {
            "partitioning expression"
        } else if texts.len() == 1 {
            "key column"
        } else {
            "key columns"
        };
        return Err(missing_from_projection(sink, what, &refs));
    }
    Ok(repartitioned)
}

/// ksqlDB's error for a key (or grouping/partitioning) expression the projection leaves out.
pub(crate) fn missing_from_projection(sink: &str, what: &str, texts: &[&str]) -> PlanError {
    PlanError::Invalid(format!(
        "The query used to build `{sink}` must include the {what} {} in its projection (eg, SELECT {}...).",
        and_list(texts),
        texts.join(", ")
    ))
}

/// "a", "a and b", "a, b and c".
pub(crate) fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The columns `*` stands for: the source's columns, or when re-keying, values before keys
/// (ksqlDB's order, since the old key becomes a value column).
fn star_columns(schema: &riffle_types::LogicalSchema, repartitioning: bool) -> Vec<String> {
    if repartitioning {
        schema
            .columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Key)
            .chain(schema.key_columns())
            .map(|c| c.name.clone())
            .collect()
    } else {
        schema.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// Renders `e` with column references qualified by the source, as ksqlDB prints expressions.
fn qualify(e: &SqlExpr, input: &RowSchema) -> String {
    let mut e = e.clone();
    let q = input.qualifier.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if let SqlExpr::Identifier(id) = x {
            if input.df.has_column_with_unqualified_name(&id.value) {
                *x = SqlExpr::CompoundIdentifier(vec![Ident::new(q.clone()), id.clone()]);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    e.to_string()
}

fn is_null_literal(e: &SqlExpr) -> bool {
    matches!(e, SqlExpr::Value(v) if v.value == datafusion::sql::sqlparser::ast::Value::Null)
}

/// Whether two expressions denote the same thing, ignoring a source qualifier.
fn same_expr(a: &SqlExpr, b: &SqlExpr, qualifier: &str) -> bool {
    strip_qualifier(a, qualifier) == strip_qualifier(b, qualifier)
}

pub(crate) fn strip_qualifier(e: &SqlExpr, qualifier: &str) -> String {
    match e {
        SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 && parts[0].value == qualifier => {
            parts[1].value.clone()
        }
        SqlExpr::Identifier(id) => id.value.clone(),
        SqlExpr::Nested(inner) => strip_qualifier(inner, qualifier),
        other => other.to_string(),
    }
}

pub(crate) fn column_expr(name: &str) -> SqlExpr {
    SqlExpr::Identifier(Ident::new(name))
}

/// The name of an unaliased select expression that is a column reference; others are named by
/// [`AliasGenerator`].
fn column_name(e: &SqlExpr) -> Option<String> {
    match e {
        SqlExpr::Identifier(id) => Some(id.value.clone()),
        SqlExpr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        SqlExpr::Nested(inner) => column_name(inner),
        _ => None,
    }
}

/// The field name of a struct dereference `a->b` (`b`), possibly parenthesised.
fn dereferenced_field(e: &SqlExpr) -> Option<String> {
    match e {
        SqlExpr::BinaryOp {
            op: datafusion::sql::sqlparser::ast::BinaryOperator::Arrow,
            right,
            ..
        } => match right.as_ref() {
            SqlExpr::Identifier(id) => Some(id.value.clone()),
            _ => None,
        },
        SqlExpr::Nested(inner) => dereferenced_field(inner),
        _ => None,
    }
}

/// ksqlDB's `ColumnAliasGenerator`: a struct dereference is named after its field, other
/// expressions `KSQL_COL_n`; either gets a suffix or the next number when the name is taken by
/// a source column or an earlier generated name.
struct AliasGenerator {
    used: std::collections::HashSet<String>,
    next_generated: usize,
    next_suffix: std::collections::HashMap<String, usize>,
}

impl AliasGenerator {
    fn new(schema: &LogicalSchema) -> AliasGenerator {
        AliasGenerator {
            used: schema.columns.iter().map(|c| c.name.clone()).collect(),
            next_generated: 0,
            next_suffix: Default::default(),
        }
    }

    fn alias_for(&mut self, e: &SqlExpr) -> String {
        let name = match dereferenced_field(e) {
            Some(field) if !self.used.contains(&field) => field,
            Some(field) => loop {
                let n = self.next_suffix.entry(field.clone()).or_insert(1);
                let candidate = format!("{field}_{n}");
                *n += 1;
                if !self.used.contains(&candidate) {
                    break candidate;
                }
            },
            None => loop {
                let candidate = format!("KSQL_COL_{}", self.next_generated);
                self.next_generated += 1;
                if !self.used.contains(&candidate) {
                    break candidate;
                }
            },
        };
        self.used.insert(name.clone());
        name
    }
}

/// The name ksqlDB gives an unaliased key expression, if it is not a generated name: a
/// column's name or a dereferenced struct field's.
pub(crate) fn implicit_name(e: &SqlExpr) -> Option<String> {
    column_name(e).or_else(|| dereferenced_field(e))
}

pub(crate) fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        ROWTIME | ROWPARTITION | ROWOFFSET | "WINDOWSTART" | "WINDOWEND"
    )
}
