//! The ksqlDB SQL dialect: statements, expressions and types, parsed on top of sqlparser.
//!
//! * [`parse_statements`] splits a request on top-level `;` and parses each statement into the
//!   [`Statement`] AST.
//! * [`parse_expression`], [`parse_data_type`], [`parse_type_ref`] and [`parse_schema`] parse
//!   fragments (used by test files and the engine).
//! * [`substitute_variables`] applies `DEFINE`d variables (`${name}`) to statement text.
//! * [`split_statements`] splits a request into statement texts without parsing them, so that
//!   variables defined by earlier statements can be substituted into later ones first.
//!
//! Identifier rule (ksqlDB): unquoted identifiers are upper-cased, back-quoted (or
//! double-quoted) identifiers keep their case. Every name in the AST and every
//! `sqlparser::ast::Ident` inside returned expressions carries its final name in `.value` with
//! `quote_style = None`. See [`KsqlDialect`] for how ksqlDB-specific expressions (`->`,
//! `STRUCT(a := 1)`, `MAP(k := v)`, lambdas, `CAST`, numbers) are represented.

#![warn(missing_docs)]

mod dialect;
mod error;
mod normalize;
mod parser;
mod split;
mod statement;
mod types;
mod variables;

#[cfg(test)]
mod tests;

use std::panic::{catch_unwind, AssertUnwindSafe};

use riffle_types::{LogicalSchema, SqlType};
use sqlparser::ast::Expr;

pub use dialect::KsqlDialect;
pub use error::{ParseError, ParseErrorKind};
pub use statement::{
    ColumnDef, CreateAsSelect, CreateSource, Emit, ExplainTarget, JoinKind, ParsedStatement,
    Properties, PropertyValue, Query, Relation, SelectItem, SourceKind, Statement, TerminateTarget,
    WindowExpr, WithinExpr,
};
pub use types::{cast_data_type, cast_target_type, cast_target_type_ref, TypeRef};
pub use variables::substitute_variables;

/// Runs a parsing function, turning an (unexpected) panic inside sqlparser into an error.
fn guard<T>(f: impl FnOnce() -> Result<T, ParseError>) -> Result<T, ParseError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(ParseError::new("internal parser error", 1, 1)))
}

/// Parses every statement of a request. Statements are split on top-level `;` (not inside
/// strings, quoted identifiers or comments); the last one may omit its `;`.
///
/// Error locations are relative to the whole of `sql`.
pub fn parse_statements(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    guard(|| {
        let src = split::Source::new(sql);
        split::split(&src, sql)?
            .iter()
            .map(|raw| {
                Ok(ParsedStatement {
                    statement: parser::parse_raw(raw, &src)?,
                    text: src.slice(raw.start, raw.end),
                })
            })
            .collect()
    })
}

/// Splits a request into its statements' texts (each with its `;`, trimmed) without parsing
/// them; fails only on lexical errors such as an unterminated string.
pub fn split_statements(sql: &str) -> Result<Vec<String>, ParseError> {
    guard(|| {
        let src = split::Source::new(sql);
        Ok(split::split(&src, sql)?
            .iter()
            .map(|raw| src.slice(raw.start, raw.end))
            .collect())
    })
}

/// Parses a single expression, e.g. `a->b + 1`, with identifiers normalised.
pub fn parse_expression(s: &str) -> Result<Expr, ParseError> {
    guard(|| parser::parse_fragment(s, parser::parse_expr))
}

/// Parses a type that may mention custom type names, e.g. ``ARRAY<STRUCT<`a` MY_TYPE>>``.
pub fn parse_type_ref(s: &str) -> Result<TypeRef, ParseError> {
    guard(|| types::parse_type_text(s))
}

/// The first custom type name in a type.
fn first_custom(t: &TypeRef) -> Option<&str> {
    match t {
        TypeRef::Known(_) => None,
        TypeRef::Custom(n) => Some(n),
        TypeRef::Array(i) => first_custom(i),
        TypeRef::Map(k, v) => first_custom(k).or_else(|| first_custom(v)),
        TypeRef::Struct(fields) => fields.iter().find_map(|(_, t)| first_custom(t)),
    }
}

fn unknown_type(t: &TypeRef) -> ParseError {
    let name = first_custom(t).unwrap_or("?");
    ParseError::new(format!("Unknown type: {name}"), 1, 1)
}

/// Parses a built-in type, e.g. ``ARRAY<STRUCT<`a` INT>>``; custom type names are an error.
pub fn parse_data_type(s: &str) -> Result<SqlType, ParseError> {
    let t = parse_type_ref(s)?;
    match t {
        TypeRef::Known(t) => Ok(t),
        other => Err(unknown_type(&other)),
    }
}

/// Parses a schema string such as ``"`K` STRING KEY, `V` INT, `H` BYTES HEADER('x')"``
/// (`PRIMARY KEY` also makes a key column). An empty string is an empty schema.
pub fn parse_schema(s: &str) -> Result<LogicalSchema, ParseError> {
    if s.trim().is_empty() {
        return Ok(LogicalSchema::default());
    }
    let defs = guard(|| parser::parse_fragment(s, parser::parse_column_list))?;
    let columns = defs
        .iter()
        .map(|d| d.to_column().ok_or_else(|| unknown_type(&d.ty)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LogicalSchema::new(columns))
}
