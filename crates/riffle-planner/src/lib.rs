//! Plans ksqlDB queries onto DataFusion.
//!
//! A ksql expression (a sqlparser `Expr` from `riffle-sql`) is first rewritten into the SQL that
//! DataFusion understands (`->` becomes `get_field`, ksql function names map to DataFusion's or to
//! Riffle's own UDFs), then DataFusion's `SqlToRel` turns it into a logical `Expr` over the row
//! schema of the source, with DataFusion's type coercion, and finally into a `PhysicalExpr` that is
//! evaluated on Arrow record batches by the runtime.

mod aggregate;
mod error;
mod eval;
mod expr;
mod functions;
mod magic_time;
mod rewrite;
mod row;
mod select;
mod typecheck;

pub use aggregate::{
    is_aggregation, plan_aggregate, AggregateCall, AggregatePlan, GroupExpr, WINDOWEND, WINDOWSTART,
};
pub use error::PlanError;
pub use eval::{eval_rows as evaluate_rows, select_rows, Evaluated, RowError};
pub use expr::{ExprPlanner, PlannedExpr};
pub use row::{RowSchema, ROWOFFSET, ROWPARTITION, ROWTIME};
pub use select::{
    plan_select, plan_select_with, OutputColumn, SelectOptions, SelectPlan, SourceRef,
};
pub use typecheck::Clause;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, PlanError>;
