//! ksqlDB's built-in scalar functions and operators for DataFusion.
//!
//! Riffle plans ksqlDB expressions with DataFusion's SQL planner. Where DataFusion's functions and
//! operators behave like ksqlDB's, Riffle's planner maps names onto them; where they differ, this
//! crate provides:
//!
//! * UDFs named after ksqlDB's functions (upper case, as the ksql parser leaves function names),
//!   each documented with the ksqlDB class it mirrors and why DataFusion's differs — math
//!   ([`math`]), casts ([`cast`]), DECIMAL arithmetic ([`arith`]), deep equality ([`compare`]),
//!   strings ([`string`]), collections ([`collections`]) and JSON text ([`json_fns`]);
//! * [`KsqlExprPlanner`], an expression planner that types operators (`+`, `=`, `IN`, `ARRAY[]`,
//!   `MAP()`) the way ksqlDB does and fails with ksqlDB's messages.
//!
//! [`configure`] installs both into a DataFusion session.

pub mod arith;
pub mod cast;
pub mod coerce;
pub mod collections;
pub mod compare;
pub mod conditional;
pub mod datetime;
pub mod dec;
pub mod format;
pub mod javatime;
pub mod json_fns;
pub mod math;
pub mod misc;
pub mod planner;
pub mod string;
pub mod temporal;
pub mod text;
pub mod text_fns;
pub mod types;
pub mod udf;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use datafusion::common::{exec_err, DataFusionError};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::planner::ExprPlanner;
use datafusion::logical_expr::ScalarUDF;

pub use planner::{CustomOp, KsqlExprPlanner, ARGS_UDF};

/// Every Riffle UDF.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    let mut v = Vec::new();
    v.extend(math::udfs());
    v.extend(cast::udfs());
    v.extend(arith::udfs());
    v.extend(compare::udfs());
    v.extend(conditional::udfs());
    v.extend(string::udfs());
    v.extend(collections::udfs());
    v.extend(temporal::udfs());
    v.extend(misc::udfs());
    v.extend(json_fns::udfs());
    v.push(
        udf::KsqlUdf::new(
            ARGS_UDF,
            |args, _| {
                Ok(udf::Typed::new(
                    args,
                    datafusion::arrow::datatypes::DataType::Null,
                ))
            },
            |_, _| exec_err!("{ARGS_UDF} is a planning placeholder"),
        )
        .into_udf(),
    );
    v
}

/// The Riffle UDF called `name`, if any.
pub fn udf_by_name(name: &str) -> Option<Arc<ScalarUDF>> {
    static BY_NAME: OnceLock<HashMap<String, Arc<ScalarUDF>>> = OnceLock::new();
    BY_NAME
        .get_or_init(|| {
            udfs()
                .into_iter()
                .map(|u| (u.name().to_string(), u))
                .collect()
        })
        .get(name)
        .cloned()
}

/// Whether ksqlDB function `name` (upper case) is implemented by a Riffle UDF of that name.
pub fn is_riffle_udf(name: &str) -> bool {
    udf_by_name(name).is_some()
}

/// Adds Riffle's UDFs and expression planner to a session being built (call after
/// `with_default_features`, so that Riffle's planner runs before DataFusion's own).
pub fn configure(mut builder: SessionStateBuilder) -> SessionStateBuilder {
    let planners = builder.expr_planners().get_or_insert_with(Vec::new);
    planners.insert(0, Arc::new(KsqlExprPlanner) as Arc<dyn ExprPlanner>);
    let functions = builder.scalar_functions().get_or_insert_with(Vec::new);
    functions.extend(udfs());
    builder
}

/// `e` with `prefix` put before its message (planning errors keep their kind).
pub(crate) fn prefix_error(prefix: &str, e: DataFusionError) -> DataFusionError {
    match e {
        DataFusionError::Plan(m) => DataFusionError::Plan(format!("{prefix}{m}")),
        DataFusionError::Execution(m) => DataFusionError::Execution(format!("{prefix}{m}")),
        other => DataFusionError::Plan(format!("{prefix}{}", other.strip_backtrace())),
    }
}
