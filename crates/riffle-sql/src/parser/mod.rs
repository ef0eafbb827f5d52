//! The statement parser: ksqlDB's grammar driven over sqlparser's [`Parser`].

mod ddl;
pub(crate) mod helpers;
mod misc;
mod query;

use sqlparser::ast::Expr;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::dialect::{with_infix_budget, KsqlDialect};
use crate::error::{located, ParseError};
use crate::normalize::normalize_expr;
use crate::split::{eof_at, tokenize, RawStatement, Source};
use crate::statement::Statement;

pub(crate) use ddl::parse_column_list;
use helpers::ParserExt;

/// The dialect every parser of this crate uses.
static DIALECT: KsqlDialect = KsqlDialect;

/// Nesting limit of sqlparser's recursive descent (its default is 50).
const RECURSION_LIMIT: usize = 100;

/// Most infix operations in one expression (see [`crate::dialect::with_infix_budget`]).
const INFIX_BUDGET: u32 = 2_000;

/// What a statement parser needs besides its tokens.
pub(crate) struct Ctx<'a, 's> {
    /// The whole request text.
    pub src: &'a Source<'s>,
    /// Location just past the current statement (including its `;`).
    pub end: Location,
}

fn new_parser(tokens: Vec<TokenWithSpan>) -> Parser<'static> {
    Parser::new(&DIALECT)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
}

/// Parses an expression and applies the identifier rule to it.
pub(crate) fn parse_expr(p: &mut Parser) -> Result<Expr, ParserError> {
    let mut e = with_infix_budget(INFIX_BUDGET, || p.parse_expr())?;
    normalize_expr(&mut e)?;
    Ok(e)
}

/// Runs `f` over the tokens of `s`, requiring it to consume all of them.
pub(crate) fn parse_fragment<T>(
    s: &str,
    f: impl FnOnce(&mut Parser) -> Result<T, ParserError>,
) -> Result<T, ParseError> {
    let src = Source::new(s);
    let end = src.end_location();
    let mut tokens = tokenize(s)?;
    tokens.push(eof_at(end));
    let mut p = new_parser(tokens);
    let result = f(&mut p).and_then(|v| {
        if p.peek_token_ref().token == Token::EOF {
            Ok(v)
        } else {
            p.fail("<EOF>")
        }
    });
    result.map_err(|e| ParseError::from_parser(e, end))
}

/// Parses one statement split off a request.
pub(crate) fn parse_raw(raw: &RawStatement, src: &Source<'_>) -> Result<Statement, ParseError> {
    let mut p = new_parser(raw.tokens.clone());
    let ctx = Ctx { src, end: raw.end };
    let result = parse_statement(&mut p, &ctx).and_then(|s| {
        let _ = p.consume_token(&Token::SemiColon);
        if p.peek_token_ref().token == Token::EOF {
            Ok(s)
        } else {
            p.fail("';'")
        }
    });
    result.map_err(|e| ParseError::from_parser(e, raw.end))
}

/// Fails with "`what` is not supported" at the next token.
fn unsupported<T>(p: &Parser, what: &str) -> Result<T, ParserError> {
    Err(located(
        format!("{what} is not supported"),
        p.peek_token_ref().span.start,
    ))
}

/// Parses a statement (without its `;`).
pub(crate) fn parse_statement(p: &mut Parser, ctx: &Ctx<'_, '_>) -> Result<Statement, ParserError> {
    let word = match &p.peek_token_ref().token {
        Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    };
    match word.as_str() {
        "SELECT" => Ok(Statement::Query(query::parse_query(p)?)),
        "CREATE" => ddl::parse_create(p),
        "DROP" => ddl::parse_drop(p),
        "ALTER" => ddl::parse_alter(p),
        "INSERT" => misc::parse_insert(p),
        "LIST" | "SHOW" => misc::parse_list(p),
        "DESCRIBE" => misc::parse_describe(p),
        "EXPLAIN" => misc::parse_explain(p, ctx),
        "TERMINATE" => misc::parse_terminate(p),
        "SET" | "UNSET" => misc::parse_set(p),
        "DEFINE" | "UNDEFINE" => misc::parse_define(p),
        "PRINT" => misc::parse_print(p),
        "RUN" => misc::parse_run_script(p),
        "ASSERT" => unsupported(p, "ASSERT"),
        _ => p.fail("a statement"),
    }
}
