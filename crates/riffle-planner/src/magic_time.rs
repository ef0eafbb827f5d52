//! ksqlDB's "magic timestamp" rewrite: a string literal compared with `ROWTIME`, `WINDOWSTART`
//! or `WINDOWEND` (`WHERE ROWTIME >= '2024-01-01T08:00'`) stands for that instant in epoch
//! milliseconds. The text may be partial (missing trailing parts are the start of the period:
//! `'2024-01'` is January 1st, 00:00) and may end with a zone offset (`Z`, `+0445`, `-01:00`);
//! without one it is UTC. Text that is not such a timestamp is left alone (and then fails type
//! checking with ksqlDB's "Cannot compare" message).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Value, VisitMut, VisitorMut};

/// The pseudo columns that hold epoch milliseconds.
const TIME_COLUMNS: [&str; 3] = ["ROWTIME", "WINDOWSTART", "WINDOWEND"];

/// Rewrites, in place, the string literals compared with a time pseudo column.
pub(crate) fn rewrite(expr: &mut Expr) {
    let _ = expr.visit(&mut MagicTime);
}

struct MagicTime;

impl VisitorMut for MagicTime {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                if is_time_column(left) {
                    to_millis(right);
                } else if is_time_column(right) {
                    to_millis(left);
                }
            }
            Expr::Between {
                expr, low, high, ..
            } if is_time_column(expr) => {
                to_millis(low);
                to_millis(high);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

fn is_time_column(e: &Expr) -> bool {
    let name = match e {
        Expr::Identifier(id) => &id.value,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(id) => &id.value,
            None => return false,
        },
        _ => return false,
    };
    TIME_COLUMNS.iter().any(|c| name.eq_ignore_ascii_case(c))
}

/// Replaces a string literal holding a timestamp with its epoch milliseconds.
fn to_millis(e: &mut Expr) {
    let Expr::Value(v) = e else { return };
    let Value::SingleQuotedString(text) = &v.value else {
        return;
    };
    if let Some(ms) = riffle_functions::temporal::partial_timestamp_millis(text) {
        *e = Expr::value(Value::Number(ms.to_string(), false));
    }
}
