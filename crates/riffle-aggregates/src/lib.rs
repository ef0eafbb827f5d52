//! ksqlDB's aggregate functions.
//!
//! ksqlDB aggregates one record at a time and emits the group's new value after every record
//! (with `cache.max.bytes.buffering=0`), retracts a table row's old value before adding its new
//! one (`undo`), and merges session windows. DataFusion's `Accumulator`s work on whole batches,
//! have no general retraction and no per-row emission, so Riffle implements ksqlDB's UDAFs here
//! over `ScalarValue`s, keeping each group's intermediate state as one typed `ScalarValue` whose
//! ksql type ([`AggregateFunction::state_type`]) lets the engine store it in a changelog topic with
//! the ordinary formats.

mod basic;
mod error;

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use riffle_types::SqlType;

pub use error::{AggregateError, Result};

/// One ksqlDB aggregate function, resolved for its argument types and literal parameters.
///
/// `state` values are always of [`state_type`](Self::state_type); `args` are the values of the
/// call's column arguments for one record, of the types given to [`resolve`].
pub trait AggregateFunction: Send + Sync + Debug {
    /// The function's name as ksqlDB spells it (upper case), for messages and DESCRIBE.
    fn name(&self) -> &str;
    /// Type of the aggregate's result.
    fn return_type(&self) -> SqlType;
    /// Type of the intermediate state kept per group (stored in the changelog).
    fn state_type(&self) -> SqlType;
    /// The state of a group that has seen no record yet.
    fn initial(&self) -> ScalarValue;
    /// Adds one record's arguments to `state`.
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()>;
    /// Removes a record's arguments from `state`, for aggregations over tables (the old row of a
    /// key is retracted before its new row is added). Functions ksqlDB cannot undo return
    /// `Ok(false)` and leave the state unchanged.
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool>;
    /// Combines two states (session windows that merge).
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue>;
    /// The result for `state`.
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue>;
}

/// Whether `name` (any case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    basic::NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Resolves the aggregate `name` (any case) for column arguments of `args` types and literal
/// parameters `params` (e.g. the `k` of `TOPK(col, k)`), failing with ksqlDB's messages.
pub fn resolve(
    name: &str,
    args: &[SqlType],
    params: &[ScalarValue],
) -> Result<Arc<dyn AggregateFunction>> {
    let upper = name.to_ascii_uppercase();
    basic::resolve(&upper, args, params)?.ok_or_else(|| AggregateError::UnknownFunction(upper))
}

/// How many trailing arguments of a call to `name` with `arg_count` arguments are literal
/// parameters rather than columns (e.g. the `k` of `TOPK(col, k)`).
pub fn literal_params(name: &str, arg_count: usize) -> usize {
    let _ = (name, arg_count);
    0
}
