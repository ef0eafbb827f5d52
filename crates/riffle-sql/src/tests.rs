//! Statement- and expression-level tests of the public API.

mod expressions;
mod robustness;
mod statements;

use crate::{parse_statements, Statement};

/// Parses exactly one statement.
fn one(sql: &str) -> Statement {
    let mut v = parse_statements(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(v.len(), 1, "{sql}");
    v.remove(0).statement
}

/// The error message of a statement that must not parse.
fn err(sql: &str) -> String {
    match parse_statements(sql) {
        Ok(v) => panic!("{sql} parsed: {v:?}"),
        Err(e) => e.to_string(),
    }
}
