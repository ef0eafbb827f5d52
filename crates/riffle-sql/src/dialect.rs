//! The ksqlDB dialect for sqlparser's expression parser.

use std::cell::Cell;

use sqlparser::ast::{
    CastKind, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgOperator,
    FunctionArgumentList, FunctionArguments, Ident, LambdaFunction, LambdaFunctionParameter,
    LambdaSyntax, ObjectName, OneOrManyWithParens,
};
use sqlparser::dialect::{Dialect, Precedence};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::error::located;
use crate::parser::helpers::{word_ident, ParserExt};
use crate::types::{cast_data_type, parse_type};

/// sqlparser [`Dialect`] for ksqlDB expressions.
///
/// Identifiers are quoted with back-quotes (`` `My Col` ``) or double quotes; string literals are
/// single-quoted with `''` as the escape; adjacent string literals concatenate.
///
/// ksqlDB-specific expressions come out of this crate's parsing functions as follows. (They
/// post-process sqlparser's output: with this dialect alone, [`Parser::parse_expr`] leaves
/// identifiers un-normalised, returns `Expr::JsonAccess` for subscripts that follow
/// non-identifiers, and does not check that `->` is followed by a field name.)
///
/// * **Struct dereference** `a->b` is `Expr::BinaryOp { left: a, op: BinaryOperator::Arrow,
///   right: Expr::Identifier(b) }`. The right side is always a single identifier; `->` binds as
///   tightly as a subscript and associates to the left, so `a->b->c` is `(a->b)->c`,
///   `a[1]->b` is `(a[1])->b` and `a->b[1]` is `(a->b)[1]`.
/// * **Subscripts** `a[1]`, `m['k']` are `Expr::CompoundFieldAccess { root, access_chain:
///   [AccessExpr::Subscript(Subscript::Index { index })] }` (successive subscripts extend the
///   chain).
/// * **`STRUCT(a := 1, b := 'x')`** is `Expr::Function` named `STRUCT` whose arguments are
///   `FunctionArg::Named { name: a, arg, operator: FunctionArgOperator::Assignment }`.
/// * **`MAP('k' := 1, ...)`** is `Expr::Function` named `MAP` whose arguments are
///   `FunctionArg::ExprNamed { name: <key expr>, arg: <value>, operator: Assignment }`.
/// * **`ARRAY[1, 2]`** / `ARRAY[]` is `Expr::Array(Array { elem, named: true })`.
/// * **Lambdas** `x => x + 1` and `(x, y) => x + y` (ksqlDB's `=>`) are `Expr::Lambda` with
///   `OneOrManyWithParens::One`/`Many` parameters (no data types) and `LambdaSyntax::Arrow`
///   (sqlparser displays it with `->`, which is only cosmetic).
/// * **`CAST(x AS T)`** is `Expr::Cast { kind: CastKind::Cast, data_type:
///   DataType::Custom(ObjectName([Ident("<canonical ksqlDB type>")]), []) }` for every target
///   type; read it with [`crate::cast_target_type`].
/// * **Numbers** keep their text in `Value::Number(text, false)`: `1` (INT), `10000000000`
///   (BIGINT), `1.5` (DECIMAL in ksqlDB), `1.5E0` (DOUBLE); typing is the planner's job.
///   A leading `-` is a `UnaryOp::Minus`.
/// * `:=` and `=>` are not operators anywhere else; `INTERVAL` is an ordinary identifier, and
///   so are words starting with digits such as `1R` (ksqlDB's digit identifiers).
/// * Functions sqlparser would parse with special syntax (`SUBSTRING`, `TRIM`, `CEIL`, `FLOOR`,
///   `EXTRACT`, `POSITION`, ...) are ordinary `Expr::Function` calls with positional arguments,
///   as every ksqlDB function is.
#[derive(Debug, Default, Clone, Copy)]
pub struct KsqlDialect;

/// Words sqlparser gives special syntax (`TRIM(x FROM y)`, `CEIL(x TO DAY)`, `EXISTS(SELECT`,
/// `CURRENT_DATE`, ...) that are ordinary function names or identifiers in ksqlDB: followed by
/// `(` they are parsed as plain function calls, otherwise as identifiers (except `ARRAY`,
/// whose `ARRAY[...]` constructor is kept).
const SQL_SPECIAL_WORDS: &[&str] = &[
    "ARRAY",
    "CEIL",
    "CONVERT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "EXISTS",
    "EXTRACT",
    "FLOOR",
    "INTERVAL",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "OVERLAY",
    "POSITION",
    "SAFE_CAST",
    "SUBSTR",
    "SUBSTRING",
    "TRIM",
    "TRY_CAST",
    "TRY_CONVERT",
];

thread_local! {
    /// Infix operations still allowed in the expression being parsed; `None` = unlimited
    /// (when the dialect is used outside this crate's entry points).
    static INFIX_BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs `f` with at most `budget` infix operations allowed (see [`KsqlDialect::parse_infix`]).
pub(crate) fn with_infix_budget<T>(budget: u32, f: impl FnOnce() -> T) -> T {
    let prev = INFIX_BUDGET.with(|b| b.replace(Some(budget)));
    let result = f();
    INFIX_BUDGET.with(|b| b.set(prev));
    result
}

/// Uses up one infix operation; false when none is left.
fn spend_infix() -> bool {
    INFIX_BUDGET.with(|b| match b.get() {
        None => true,
        Some(0) => false,
        Some(n) => {
            b.set(Some(n - 1));
            true
        }
    })
}

impl Dialect for KsqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '@'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || ch == '"'
    }

    fn identifier_quote_style(&self, _identifier: &str) -> Option<char> {
        Some('`')
    }

    fn supports_numeric_prefix(&self) -> bool {
        // ksqlDB's DIGIT_IDENTIFIER: `1R` is an identifier (`1`, `1.5`, `1E3` stay numbers).
        true
    }

    fn supports_string_literal_concatenation(&self) -> bool {
        true
    }

    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        false
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        let t0 = parser.peek_token_ref().token.clone();
        let t1 = parser.peek_nth_token_ref(1).token.clone();
        match (&t0, &t1) {
            (Token::Word(_), Token::RArrow) => Some(parse_single_lambda(parser)),
            (Token::Word(w), Token::LParen) if w.quote_style.is_none() => {
                match w.value.to_ascii_uppercase().as_str() {
                    "STRUCT" => Some(parse_struct(parser)),
                    "MAP" => Some(parse_map(parser)),
                    "CAST" => Some(parse_cast(parser)),
                    u if SQL_SPECIAL_WORDS.contains(&u) => {
                        let tok = parser.next_token();
                        let name = ObjectName::from(vec![word_ident(w, &tok)]);
                        Some(parser.parse_function(name))
                    }
                    _ => None,
                }
            }
            (Token::Word(w), _)
                if w.quote_style.is_none()
                    && !w.value.eq_ignore_ascii_case("ARRAY")
                    && SQL_SPECIAL_WORDS.contains(&w.value.to_ascii_uppercase().as_str()) =>
            {
                let tok = parser.next_token();
                Some(Ok(Expr::Identifier(word_ident(w, &tok))))
            }
            (Token::LParen, Token::Word(_)) if is_multi_lambda(parser) => {
                Some(parse_multi_lambda(parser))
            }
            _ => None,
        }
    }

    fn supports_partiql(&self) -> bool {
        // Makes sqlparser parse `expr[index]` after any expression (as `Expr::JsonAccess`,
        // which the crate rewrites into `Expr::CompoundFieldAccess`).
        true
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        _expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        // sqlparser builds operator chains (`a + b + c ...`) iteratively into left-deep
        // trees; cap their length so hostile input cannot build trees too deep to drop.
        if spend_infix() {
            None
        } else {
            Some(Err(located(
                "expression has too many operators",
                parser.peek_token_ref().span.start,
            )))
        }
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        match parser.peek_token_ref().token {
            // `s->*` is a select item, not an expression: stop before it.
            Token::Arrow if parser.peek_nth_token_ref(1).token == Token::Mul => Some(Ok(0)),
            Token::Arrow => Some(Ok(self.prec_value(Precedence::DoubleColon))),
            Token::Assignment | Token::RArrow => Some(Ok(0)),
            _ => None,
        }
    }
}

/// A function call expression with the given name and arguments.
fn function(name: &str, args: Vec<FunctionArg>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args,
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// Parses `( [item (, item)*] )` after the constructor keyword, which is consumed first.
fn parse_constructor_args(
    p: &mut Parser,
    mut item: impl FnMut(&mut Parser) -> Result<FunctionArg, ParserError>,
) -> Result<Vec<FunctionArg>, ParserError> {
    p.advance_token(); // STRUCT / MAP
    p.expect_tok(&Token::LParen, "'('")?;
    let mut args = Vec::new();
    if p.consume_token(&Token::RParen) {
        return Ok(args);
    }
    loop {
        args.push(item(p)?);
        if p.consume_token(&Token::Comma) {
            continue;
        }
        p.expect_tok(&Token::RParen, "',' or ')'")?;
        return Ok(args);
    }
}

/// `STRUCT(name := expr, ...)`.
fn parse_struct(p: &mut Parser) -> Result<Expr, ParserError> {
    let args = parse_constructor_args(p, |p| {
        let tok = p.peek_token();
        let name = match &tok.token {
            Token::Word(w) => word_ident(w, &tok),
            _ => return p.fail("a struct field name"),
        };
        p.advance_token();
        p.expect_tok(&Token::Assignment, "':='")?;
        let arg = FunctionArgExpr::Expr(p.parse_expr()?);
        Ok(FunctionArg::Named {
            name,
            arg,
            operator: FunctionArgOperator::Assignment,
        })
    })?;
    Ok(function("STRUCT", args))
}

/// `MAP(key := value, ...)`.
fn parse_map(p: &mut Parser) -> Result<Expr, ParserError> {
    let args = parse_constructor_args(p, |p| {
        let name = p.parse_expr()?;
        p.expect_tok(&Token::Assignment, "':='")?;
        let arg = FunctionArgExpr::Expr(p.parse_expr()?);
        Ok(FunctionArg::ExprNamed {
            name,
            arg,
            operator: FunctionArgOperator::Assignment,
        })
    })?;
    Ok(function("MAP", args))
}

/// `CAST(expr AS type)` with ksqlDB types.
fn parse_cast(p: &mut Parser) -> Result<Expr, ParserError> {
    p.advance_token(); // CAST
    p.expect_tok(&Token::LParen, "'('")?;
    let expr = p.parse_expr()?;
    p.expect_kw("AS")?;
    let ty = parse_type(p)?;
    p.expect_tok(&Token::RParen, "')'")?;
    Ok(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type: cast_data_type(&ty),
        array: false,
        format: None,
    })
}

/// `x => body`.
fn parse_single_lambda(p: &mut Parser) -> Result<Expr, ParserError> {
    let tok = p.next_token();
    let name = match &tok.token {
        Token::Word(w) => word_ident(w, &tok),
        _ => return p.expected("a lambda parameter", tok),
    };
    p.expect_tok(&Token::RArrow, "'=>'")?;
    let body = p.parse_expr()?;
    Ok(Expr::Lambda(LambdaFunction {
        params: OneOrManyWithParens::One(LambdaFunctionParameter {
            name,
            data_type: None,
        }),
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

/// True when the tokens ahead read `( w [, w]* ) =>`.
fn is_multi_lambda(p: &Parser) -> bool {
    let mut n = 1;
    loop {
        if !matches!(p.peek_nth_token_ref(n).token, Token::Word(_)) {
            return false;
        }
        match p.peek_nth_token_ref(n + 1).token {
            Token::Comma => n += 2,
            Token::RParen => return p.peek_nth_token_ref(n + 2).token == Token::RArrow,
            _ => return false,
        }
    }
}

/// `(x, y) => body`.
fn parse_multi_lambda(p: &mut Parser) -> Result<Expr, ParserError> {
    p.expect_tok(&Token::LParen, "'('")?;
    let mut params = Vec::new();
    loop {
        let tok = p.next_token();
        match &tok.token {
            Token::Word(w) => params.push(LambdaFunctionParameter {
                name: word_ident(w, &tok),
                data_type: None,
            }),
            _ => return p.expected("a lambda parameter", tok),
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_tok(&Token::RParen, "')'")?;
    p.expect_tok(&Token::RArrow, "'=>'")?;
    let body = p.parse_expr()?;
    Ok(Expr::Lambda(LambdaFunction {
        params: OneOrManyWithParens::Many(params),
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}
