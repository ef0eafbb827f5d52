//! Key lookups for pull queries: when `WHERE` pins a table's single key column to literals
//! (`K = v`, `v = K`, `K IN (…)` in a conjunct), only those keys need to be read. The full
//! WHERE clause is still evaluated on the rows found, so this only narrows the scan.

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Value};
use serde_json::Value as Json;

use crate::catalog::Source;

/// The serialized keys `where_clause` restricts `source` to, or None when it does not.
pub(crate) fn pinned_keys(where_clause: Option<&Expr>, source: &Source) -> Option<Vec<Vec<u8>>> {
    let columns: Vec<riffle_types::Column> = source.schema.key_columns().cloned().collect();
    let [key] = columns.as_slice() else {
        return None;
    };
    let mut conjuncts = Vec::new();
    split_and(where_clause?, &mut conjuncts);
    for c in conjuncts {
        let literals: Vec<&Expr> = match c {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                if is_column(left, &key.name) {
                    vec![right.as_ref()]
                } else if is_column(right, &key.name) {
                    vec![left.as_ref()]
                } else {
                    continue;
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } if is_column(expr, &key.name) => list.iter().collect(),
            _ => continue,
        };
        let mut keys = Vec::with_capacity(literals.len());
        for l in literals {
            let json = literal_json(l)?;
            let bytes = source
                .key_format
                .json_to_bytes(std::slice::from_ref(key), &json, true)
                .ok()??;
            keys.push(bytes);
        }
        return Some(keys);
    }
    None
}

fn split_and<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(inner) => split_and(inner, out),
        other => out.push(other),
    }
}

fn is_column(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Identifier(id) => id.value == name,
        Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| p.value == name),
        Expr::Nested(inner) => is_column(inner, name),
        _ => false,
    }
}

/// A literal's JSON form, as the key format serializes it; None for anything else.
fn literal_json(e: &Expr) -> Option<Json> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => serde_json::from_str(n).ok(),
            Value::SingleQuotedString(s) => Some(Json::String(s.clone())),
            Value::Boolean(b) => Some(Json::Bool(*b)),
            _ => None,
        },
        Expr::UnaryOp {
            op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => match literal_json(expr)? {
            Json::Number(n) => serde_json::from_str(&format!("-{n}")).ok(),
            _ => None,
        },
        Expr::Nested(inner) => literal_json(inner),
        _ => None,
    }
}
