use std::sync::{Arc, OnceLock};

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionConfig;
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, ExprWithAlias};
use riffle_types::SqlType;

use crate::rewrite::rewrite;
use crate::typecheck::Clause;
use crate::{PlanError, Result, RowSchema};

/// A ksql expression planned against a row schema.
#[derive(Debug, Clone)]
pub struct PlannedExpr {
    /// DataFusion's logical expression, coerced.
    pub logical: Expr,
    /// Evaluable form.
    pub physical: Arc<dyn PhysicalExpr>,
    /// Result type, in ksqlDB's terms.
    pub ty: SqlType,
}

/// Plans expressions with one shared DataFusion session: its function registry and settings
/// (identifiers are not normalised — the ksql parser already did — and decimal literals stay
/// DECIMAL, as in ksqlDB).
#[derive(Clone)]
pub struct ExprPlanner {
    state: SessionState,
}

impl std::fmt::Debug for ExprPlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExprPlanner")
    }
}

impl Default for ExprPlanner {
    fn default() -> Self {
        Self::shared()
    }
}

impl ExprPlanner {
    /// The process-wide planner; building DataFusion's function registry once saves time per engine.
    pub fn shared() -> ExprPlanner {
        static PLANNER: OnceLock<ExprPlanner> = OnceLock::new();
        PLANNER
            .get_or_init(|| {
                let mut config = SessionConfig::new();
                let opts = config.options_mut();
                opts.sql_parser.enable_ident_normalization = false;
                opts.sql_parser.parse_float_as_decimal = true;
                // Riffle's UDFs and operator planner give ksqlDB's semantics where DataFusion's
                // differ (see the riffle-functions crate).
                let state = riffle_functions::configure(
                    SessionStateBuilder::new()
                        .with_config(config)
                        .with_default_features(),
                )
                .build();
                ExprPlanner { state }
            })
            .clone()
    }

    /// Plans `expr` over rows of `row`.
    pub fn plan(&self, expr: &SqlExpr, row: &RowSchema) -> Result<PlannedExpr> {
        self.plan_in(expr, &row.df)
    }

    /// Plans `expr`, found in `clause`, over rows of `row`, with ksqlDB's semantic checks.
    pub fn plan_clause(
        &self,
        expr: &SqlExpr,
        row: &RowSchema,
        clause: Clause,
    ) -> Result<PlannedExpr> {
        let mut expr = expr.clone();
        crate::magic_time::rewrite(&mut expr);
        crate::typecheck::check(self, &expr, &row.df, clause)?;
        self.plan_unchecked(&expr, &row.df)
    }

    /// Plans `expr` over an arbitrary DataFusion schema.
    pub fn plan_in(&self, expr: &SqlExpr, schema: &DFSchema) -> Result<PlannedExpr> {
        let mut expr = expr.clone();
        crate::magic_time::rewrite(&mut expr);
        crate::typecheck::check(self, &expr, schema, Clause::Other)?;
        self.plan_unchecked(&expr, schema)
    }

    /// Plans `expr` without ksqlDB's semantic checks.
    pub(crate) fn plan_unchecked(&self, expr: &SqlExpr, schema: &DFSchema) -> Result<PlannedExpr> {
        let mut e = expr.clone();
        qualify_at_names(&mut e, schema);
        rewrite(&mut e)?;
        let logical = self
            .state
            .create_logical_expr_from_sql_expr(
                ExprWithAlias {
                    expr: e,
                    alias: None,
                },
                schema,
            )
            .map_err(|err| PlanError::from(err).in_expression(expr))?;
        let logical = narrow_integer_literals(logical)?;
        let simplifier = ExprSimplifier::new(
            datafusion::optimizer::simplify_expressions::SimplifyContext::builder()
                .with_schema(Arc::new(schema.clone()))
                .build(),
        );
        let logical = simplifier
            .coerce(logical, schema)
            .map_err(|err| PlanError::from(err).in_expression(expr))?;
        let dt = logical.get_type(schema)?;
        let ty = SqlType::from_arrow(&dt)?;
        let physical = self.state.create_physical_expr(logical.clone(), schema)?;
        Ok(PlannedExpr {
            logical,
            physical,
            ty,
        })
    }
}

/// DataFusion reads a bare identifier starting with `@` as a session variable; ksqlDB allows
/// such column names (`` `@TIMESTAMP` ``), so references to them get the schema's qualifier.
fn qualify_at_names(e: &mut SqlExpr, schema: &DFSchema) {
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(e, |x| {
        if let SqlExpr::Identifier(id) = x {
            if id.value.starts_with('@') {
                let qualifier = schema
                    .iter()
                    .find(|(_, f)| f.name() == &id.value)
                    .and_then(|(q, _)| q.map(|q| q.table().to_string()));
                if let Some(q) = qualifier {
                    *x = SqlExpr::CompoundIdentifier(vec![
                        datafusion::sql::sqlparser::ast::Ident::new(q),
                        id.clone(),
                    ]);
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// ksqlDB types an integer literal that fits 32 bits as INT; DataFusion makes every one BIGINT.
fn narrow_integer_literals(e: Expr) -> Result<Expr> {
    Ok(e.transform_up(|e| match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), meta) if i32::try_from(v).is_ok() => Ok(
            Transformed::yes(Expr::Literal(ScalarValue::Int32(Some(v as i32)), meta)),
        ),
        other => Ok(Transformed::no(other)),
    })?
    .data)
}

impl PlanError {
    fn in_expression(self, _expr: &SqlExpr) -> PlanError {
        self
    }
}
