//! COUNT and SUM: the aggregates the engine's own tests rely on.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use riffle_types::SqlType;

use crate::{AggregateError, AggregateFunction, Result};

/// Names of the aggregates this module resolves.
pub(crate) const NAMES: &[&str] = &["COUNT", "SUM"];

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    _params: &[ScalarValue],
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    Ok(Some(match name {
        "COUNT" => Arc::new(Count {
            star: args.is_empty(),
        }),
        "SUM" => {
            let [ty] = args else {
                return Err(AggregateError::BadArguments(format!(
                    "Function 'SUM' does not accept parameters ({}).",
                    list(args)
                )));
            };
            if !ty.is_numeric() {
                return Err(AggregateError::BadArguments(format!(
                    "Function 'SUM' does not accept parameters ({ty})."
                )));
            }
            Arc::new(Sum { ty: ty.clone() })
        }
        _ => return Ok(None),
    }))
}

fn list(args: &[SqlType]) -> String {
    args.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn internal(function: &str, message: impl std::fmt::Display) -> AggregateError {
    AggregateError::Internal {
        function: function.to_string(),
        message: message.to_string(),
    }
}

/// `COUNT(*)` counts records; `COUNT(col)` counts non-null values.
#[derive(Debug)]
struct Count {
    star: bool,
}

impl Count {
    fn counts(&self, args: &[ScalarValue]) -> bool {
        self.star || args.first().is_some_and(|a| !a.is_null())
    }
}

impl AggregateFunction for Count {
    fn name(&self) -> &str {
        "COUNT"
    }
    fn return_type(&self) -> SqlType {
        SqlType::Bigint
    }
    fn state_type(&self) -> SqlType {
        SqlType::Bigint
    }
    fn initial(&self) -> ScalarValue {
        ScalarValue::Int64(Some(0))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        if self.counts(args) {
            if let ScalarValue::Int64(Some(n)) = state {
                *n += 1;
            }
        }
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if self.counts(args) {
            if let ScalarValue::Int64(Some(n)) = state {
                *n -= 1;
            }
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        a.add(b).map_err(|e| internal("COUNT", e))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

/// `SUM(x)`: the sum of non-null values, of x's type; 0 for a group of nulls.
#[derive(Debug)]
struct Sum {
    ty: SqlType,
}

impl AggregateFunction for Sum {
    fn name(&self) -> &str {
        "SUM"
    }
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn state_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn initial(&self) -> ScalarValue {
        ScalarValue::new_zero(&self.ty.to_arrow()).unwrap_or(ScalarValue::Null)
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        if let Some(v) = args.first().filter(|v| !v.is_null()) {
            *state = state.add(v).map_err(|e| internal("SUM", e))?;
        }
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if let Some(v) = args.first().filter(|v| !v.is_null()) {
            *state = state.sub(v).map_err(|e| internal("SUM", e))?;
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        a.add(b).map_err(|e| internal("SUM", e))
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_sum_add_and_undo() {
        let count = crate::resolve("count", &[SqlType::Int], &[]).unwrap();
        let mut s = count.initial();
        count.add(&mut s, &[ScalarValue::Int32(Some(1))]).unwrap();
        count.add(&mut s, &[ScalarValue::Int32(None)]).unwrap();
        assert_eq!(count.result(&s).unwrap(), ScalarValue::Int64(Some(1)));
        let sum = crate::resolve("SUM", &[SqlType::Int], &[]).unwrap();
        let mut s = sum.initial();
        sum.add(&mut s, &[ScalarValue::Int32(Some(5))]).unwrap();
        sum.add(&mut s, &[ScalarValue::Int32(Some(2))]).unwrap();
        sum.undo(&mut s, &[ScalarValue::Int32(Some(5))]).unwrap();
        assert_eq!(sum.result(&s).unwrap(), ScalarValue::Int32(Some(2)));
        assert!(crate::resolve("SUM", &[SqlType::String], &[]).is_err());
    }
}
