//! ksqlDB's rules for the WHERE clause of a pull query against a table.
//!
//! Every query may scan the table unless `ksql.query.pull.table.scan.enabled` is false; then
//! each disjunct of the WHERE clause must pin every key column with `=` or `IN` (or a range,
//! when `ksql.query.pull.range.scan.enabled` allows it), comparing the key column itself with
//! an expression that needs no column. Some checks (literals of the wrong type or NULL in a key
//! `IN` list) apply always.

use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Value};
use riffle_types::{LogicalSchema, SqlType};

use crate::{EngineError, Result};

/// Which scans the request allows.
pub(crate) struct ScanSettings {
    /// `ksql.query.pull.table.scan.enabled` (default true).
    pub table_scan: bool,
    /// `ksql.query.pull.range.scan.enabled` (default true).
    pub range_scan: bool,
}

/// Checks `where_clause` of a pull query over a table whose columns are `schema`.
pub(crate) fn validate(
    where_clause: Option<&Expr>,
    schema: &LogicalSchema,
    settings: &ScanSettings,
) -> Result<()> {
    let windowed = schema.column("WINDOWSTART").is_some();
    let keys: Vec<(&str, &SqlType)> = schema
        .key_columns()
        .filter(|c| c.name != "WINDOWSTART" && c.name != "WINDOWEND")
        .map(|c| (c.name.as_str(), &c.ty))
        .collect();
    let Some(w) = where_clause else {
        return require_scan(settings);
    };
    let mut disjuncts = Vec::new();
    split(w, BinaryOperator::Or, &mut disjuncts);
    for d in disjuncts {
        let mut conjuncts = Vec::new();
        split(d, BinaryOperator::And, &mut conjuncts);
        check_in_lists(&conjuncts, &keys)?;
        if settings.table_scan {
            continue;
        }
        let mut pinned: Vec<&str> = Vec::new();
        // ksqlDB reports missing key columns before ranges that need a table scan.
        let mut needs_scan = false;
        for c in &conjuncts {
            let Some((key, range)) = key_comparison(c, &keys)? else {
                continue;
            };
            if pinned.contains(&key) {
                return Err(EngineError::statement(
                    "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate.",
                ));
            }
            // Range scans cover a single STRING key of an unwindowed table; anything else
            // needs a table scan.
            let string_key = keys.len() == 1 && matches!(keys[0].1, SqlType::String);
            if range && (!settings.range_scan || !string_key || windowed) {
                needs_scan = true;
            }
            pinned.push(key);
        }
        if pinned.is_empty() {
            return Err(EngineError::statement(format!(
                "WHERE clause missing key column for disjunct: {}",
                render(d)
            )));
        }
        if pinned.len() < keys.len() {
            return Err(EngineError::statement(
                "Multi-column sources must specify every key in the WHERE clause.",
            ));
        }
        if needs_scan {
            require_scan(settings)?;
        }
    }
    Ok(())
}

fn require_scan(settings: &ScanSettings) -> Result<()> {
    if settings.table_scan {
        Ok(())
    } else {
        Err(EngineError::statement(
            "Query requires table scan to be enabled. Table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true",
        ))
    }
}

fn split<'a>(e: &'a Expr, op: BinaryOperator, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::BinaryOp { left, op: o, right } if *o == op => {
            split(left, op.clone(), out);
            split(right, op, out);
        }
        Expr::Nested(inner) => split(inner, op, out),
        other => out.push(other),
    }
}

fn render(e: &Expr) -> String {
    match e {
        Expr::BinaryOp { .. } => format!("({e})"),
        other => other.to_string(),
    }
}

fn column_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Identifier(id) => Some(id.value.as_str()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.as_str()),
        Expr::Nested(inner) => column_name(inner),
        _ => None,
    }
}

fn mentions_key<'a>(e: &Expr, keys: &[(&'a str, &SqlType)]) -> Option<&'a str> {
    let text = e.to_string().to_ascii_uppercase();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    keys.iter()
        .map(|(k, _)| *k)
        .find(|k| words.iter().any(|w| w.eq_ignore_ascii_case(k)))
}

fn has_columns(e: &Expr) -> bool {
    let mut found = false;
    let mut e = e.clone();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut e, |x| {
        if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// The key column a conjunct constrains, and whether it is a range; None when it does not
/// mention a key column.
fn key_comparison<'a>(e: &Expr, keys: &[(&'a str, &SqlType)]) -> Result<Option<(&'a str, bool)>> {
    let Some(key) = mentions_key(e, keys) else {
        return Ok(None);
    };
    let (left, op, right) = match e {
        Expr::BinaryOp { left, op, right } => (left.as_ref(), op, right.as_ref()),
        Expr::InList { expr, list, .. } => {
            if column_name(expr) != Some(key) {
                return Err(EngineError::statement(
                    "A comparison must directly reference a key column.",
                ));
            }
            if list.iter().any(has_columns) {
                return Err(EngineError::statement(
                    "A comparison must be between a key column and a resolvable expression.",
                ));
            }
            return Ok(Some((key, false)));
        }
        _ => {
            return Err(EngineError::statement(
                "A comparison must directly reference a key column.",
            ))
        }
    };
    let range = match op {
        BinaryOperator::Eq => false,
        BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq => {
            true
        }
        _ => {
            return Err(EngineError::statement(
                "A comparison must directly reference a key column.",
            ))
        }
    };
    let other = if column_name(left) == Some(key) {
        right
    } else if column_name(right) == Some(key) {
        left
    } else {
        return Err(EngineError::statement(
            "A comparison must directly reference a key column.",
        ));
    };
    if has_columns(other) {
        return Err(EngineError::statement(
            "A comparison must be between a key column and a resolvable expression.",
        ));
    }
    Ok(Some((key, range)))
}

/// `KEY IN (...)` lists: NULL and literals of another type are rejected, as in ksqlDB.
fn check_in_lists(conjuncts: &[&Expr], keys: &[(&str, &SqlType)]) -> Result<()> {
    for c in conjuncts {
        let Expr::InList { expr, list, .. } = c else {
            continue;
        };
        let Some((name, ty)) = column_name(expr).and_then(|n| keys.iter().find(|(k, _)| *k == n))
        else {
            continue;
        };
        for item in list {
            let Expr::Value(v) = item else { continue };
            match &v.value {
                Value::Null => {
                    return Err(EngineError::statement(format!(
                        "Primary key columns can not be NULL: ({name} = null)"
                    )))
                }
                Value::SingleQuotedString(s) if ty.is_numeric() => {
                    return Err(EngineError::statement(format!(
                        "'{s}' can not be converted to the type of the key column: {name} {ty} KEY"
                    )))
                }
                _ => {}
            }
        }
    }
    Ok(())
}
