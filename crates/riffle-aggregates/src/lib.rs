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
mod collect;
mod distinct;
mod error;
mod numeric;
mod offset;
mod stats;
mod topk;
mod value;

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
    /// Whether [`undo`](Self::undo) is supported, i.e. the function may aggregate a table
    /// (ksqlDB's `TableAggregationFunction`); see [`table_source_error`].
    fn supports_undo(&self) -> bool {
        true
    }
}

/// ksqlDB's error for aggregating a table with functions that cannot undo, `None` when all of
/// `functions` can. Names are listed once each, in call order.
pub fn table_source_error(functions: &[Arc<dyn AggregateFunction>]) -> Option<AggregateError> {
    let mut names: Vec<&str> = Vec::new();
    for f in functions.iter().filter(|f| !f.supports_undo()) {
        if !names.contains(&f.name()) {
            names.push(f.name());
        }
    }
    let (last, rest) = names.split_last()?;
    let (plural, list) = if rest.is_empty() {
        ("", last.to_string())
    } else {
        ("s", format!("{} and {last}", rest.join(", ")))
    };
    Some(AggregateError::BadArguments(format!(
        "The aggregation function{plural} {list} cannot be applied to a table source, only to \
         a stream source."
    )))
}

/// Server properties that change aggregate behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateConfig {
    /// `ksql.functions.collect_list.limit`: most entries COLLECT_LIST keeps; further values are
    /// silently ignored. `None` is unlimited (ksqlDB's reading of a negative setting).
    pub collect_list_limit: Option<usize>,
    /// `ksql.functions.collect_set.limit`, as `collect_list_limit` for COLLECT_SET.
    pub collect_set_limit: Option<usize>,
}

impl AggregateConfig {
    /// ksqlDB's reading of a limit property: negative means unlimited.
    pub fn limit_from_property(value: i64) -> Option<usize> {
        usize::try_from(value).ok()
    }
}

impl Default for AggregateConfig {
    /// ksqlDB's defaults: both collect limits are 1000.
    fn default() -> Self {
        AggregateConfig {
            collect_list_limit: Some(1000),
            collect_set_limit: Some(1000),
        }
    }
}

/// Every aggregate name this crate resolves, upper case.
pub const NAMES: &[&str] = &[
    "COUNT",
    "SUM",
    "SUM_LIST",
    "AVG",
    "MIN",
    "MAX",
    "COUNT_DISTINCT",
    "COLLECT_LIST",
    "COLLECT_SET",
    "HISTOGRAM",
    "ATTR",
    "EARLIEST_BY_OFFSET",
    "LATEST_BY_OFFSET",
    "TOPK",
    "TOPKDISTINCT",
    "STDDEV_SAMP",
    "STDDEV_SAMPLE",
    "CORRELATION",
];

/// Whether `name` (any case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// How many of the trailing arguments of a call `name(a1, ..., a<arg_count>)` are literal
/// parameters (ksqlDB's UDAF "init args") rather than column arguments; see [`resolve`].
pub fn literal_params(name: &str, arg_count: usize) -> usize {
    match name.to_ascii_uppercase().as_str() {
        // TOPK(col, [other cols...,] k) and TOPKDISTINCT(col, k): k is last.
        "TOPK" | "TOPKDISTINCT" => usize::from(arg_count >= 2),
        // (col), (col, ignoreNulls), (col, n), (col, n, ignoreNulls).
        "EARLIEST_BY_OFFSET" | "LATEST_BY_OFFSET" => arg_count.saturating_sub(1).min(2),
        _ => 0,
    }
}

/// Resolves the aggregate `name` (any case) for column arguments of `args` types and literal
/// parameters `params` (e.g. the `k` of `TOPK(col, k)`) with the default [`AggregateConfig`],
/// failing with ksqlDB's messages.
///
/// A call's trailing literal arguments (ksqlDB's UDAF "init args") are `params`, all others are
/// column arguments evaluated per record; [`literal_params`] gives how many trailing arguments
/// are literals. Per function (undo: whether table retractions are supported):
///
/// | function | column args (`args`) | literal params (`params`) | result | undo |
/// |---|---|---|---|---|
/// | `COUNT` | `()` (`COUNT(*)`) or `(any)` | — | BIGINT | yes |
/// | `SUM` | `(INT\|BIGINT\|DOUBLE\|DECIMAL)` | — | the argument type | yes |
/// | `SUM_LIST` | `(ARRAY<INT\|BIGINT\|DOUBLE>)` | — | the element type | yes |
/// | `AVG` | `(INT\|BIGINT\|DOUBLE)` | — | DOUBLE | yes |
/// | `MIN`, `MAX` | `(INT\|BIGINT\|DOUBLE\|DECIMAL\|STRING\|BYTES\|DATE\|TIME\|TIMESTAMP)` | — | the argument type | no |
/// | `COUNT_DISTINCT` | `(any)` | — | BIGINT | no |
/// | `COLLECT_LIST` | `(any)` | — | `ARRAY<T>` | yes |
/// | `COLLECT_SET` | `(any)` | — | `ARRAY<T>` | no |
/// | `HISTOGRAM` | `(STRING)` | — | `MAP<STRING, BIGINT>` | yes |
/// | `ATTR` | `(any)` | — | the argument type | yes |
/// | `EARLIEST_BY_OFFSET`, `LATEST_BY_OFFSET` | `(any)` | `()`, `(ignoreNulls BOOLEAN)`, `(n INT)` or `(n INT, ignoreNulls BOOLEAN)`; n = 1 and ignoreNulls = true by default | T, or `ARRAY<T>` when n > 1 | no |
/// | `TOPK` | `(comparable T[, other columns...])` | `(k INT)`, always the last argument | `ARRAY<T>`, or with other columns `ARRAY<STRUCT<sort_col T, col0 ..., col1 ...>>` | no |
/// | `TOPKDISTINCT` | `(comparable T)` | `(k INT)` | `ARRAY<T>` | no |
/// | `STDDEV_SAMP`, `STDDEV_SAMPLE` | `(INT\|BIGINT\|DOUBLE)` | — | DOUBLE | yes |
/// | `CORRELATION` | `(x, y)`, numeric, taken as DOUBLE | — | DOUBLE | yes |
pub fn resolve(
    name: &str,
    args: &[SqlType],
    params: &[ScalarValue],
) -> Result<Arc<dyn AggregateFunction>> {
    resolve_with(name, args, params, &AggregateConfig::default())
}

/// [`resolve`] with server properties (the COLLECT_LIST / COLLECT_SET limits).
pub fn resolve_with(
    name: &str,
    args: &[SqlType],
    params: &[ScalarValue],
    config: &AggregateConfig,
) -> Result<Arc<dyn AggregateFunction>> {
    let upper = name.to_ascii_uppercase();
    let resolvers: [Resolver; 7] = [
        basic::resolve,
        numeric::resolve,
        collect::resolve,
        distinct::resolve,
        offset::resolve,
        topk::resolve,
        stats::resolve,
    ];
    for resolver in resolvers {
        if let Some(f) = resolver(&upper, args, params, config)? {
            return Ok(f);
        }
    }
    Err(AggregateError::UnknownFunction(upper))
}

/// A module's resolver: `Ok(None)` when the name is not one of its functions.
type Resolver = fn(
    &str,
    &[SqlType],
    &[ScalarValue],
    &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_and_params_split() {
        assert!(is_aggregate("topkdistinct"));
        assert!(!is_aggregate("ABS"));
        assert_eq!(literal_params("topk", 2), 1);
        assert_eq!(literal_params("TOPK", 4), 1);
        assert_eq!(literal_params("latest_by_offset", 1), 0);
        assert_eq!(literal_params("LATEST_BY_OFFSET", 3), 2);
        assert_eq!(literal_params("COLLECT_LIST", 1), 0);
        let lat = resolve("LATEST_BY_OFFSET", &[SqlType::Int], &[]).unwrap();
        let min = resolve("MIN", &[SqlType::Int], &[]).unwrap();
        let sum = resolve("SUM", &[SqlType::Int], &[]).unwrap();
        assert!(table_source_error(std::slice::from_ref(&sum)).is_none());
        assert_eq!(
            table_source_error(&[lat.clone(), sum, min.clone(), lat.clone()])
                .unwrap()
                .to_string(),
            "The aggregation functions LATEST_BY_OFFSET and MIN cannot be applied to a table \
             source, only to a stream source."
        );
        assert_eq!(
            table_source_error(std::slice::from_ref(&min))
                .unwrap()
                .to_string(),
            "The aggregation function MIN cannot be applied to a table source, only to a stream \
             source."
        );
        assert!(matches!(
            resolve("NOPE", &[], &[]),
            Err(AggregateError::UnknownFunction(_))
        ));
    }
}
