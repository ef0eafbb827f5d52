//! `SELECT` queries: projection, relations and joins, and the table-level clauses.

use std::time::Duration;

use sqlparser::ast::Expr;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::helpers::{is_kw, ParserExt};
use super::parse_expr;
use crate::error::located;
use crate::statement::{Emit, JoinKind, Query, Relation, SelectItem, WindowExpr, WithinExpr};

/// Words that end an expression or relation and so are never taken as an implicit alias:
/// ksqlDB's reserved words that can follow one, plus the clause keywords.
const NOT_AN_ALIAS: &[&str] = &[
    "FROM",
    "AS",
    "WHERE",
    "WINDOW",
    "GROUP",
    "HAVING",
    "PARTITION",
    "EMIT",
    "LIMIT",
    "WITHIN",
    "ON",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "INNER",
    "OUTER",
    "AND",
    "OR",
    "NOT",
    "IS",
    "IN",
    "BETWEEN",
    "LIKE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "SELECT",
    "WITH",
    "VALUES",
];

/// Most joins in one query (joins nest, and the engine walks them recursively).
const MAX_JOINS: usize = 64;

/// True when the next token can be an alias written without `AS`.
fn peek_implicit_alias(p: &Parser) -> bool {
    match &p.peek_token_ref().token {
        Token::Word(w) if w.quote_style.is_some() => true,
        Token::Word(w) => !NOT_AN_ALIAS
            .iter()
            .any(|kw| w.value.eq_ignore_ascii_case(kw)),
        _ => false,
    }
}

/// `[AS] alias`.
fn parse_alias(p: &mut Parser) -> Result<Option<String>, ParserError> {
    if p.eat_kw("AS") {
        return p.parse_name("an alias").map(Some);
    }
    if peek_implicit_alias(p) {
        return p.parse_name("an alias").map(Some);
    }
    Ok(None)
}

/// `SELECT items FROM relation [clauses]`.
pub(crate) fn parse_query(p: &mut Parser) -> Result<Query, ParserError> {
    p.expect_kw("SELECT")?;
    let mut select = Vec::new();
    loop {
        select.push(parse_select_item(p)?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_kw("FROM")?;
    let from = parse_relation(p)?;
    let mut q = Query {
        select,
        from,
        where_clause: None,
        window: None,
        group_by: vec![],
        having: None,
        partition_by: vec![],
        emit: None,
        limit: None,
    };
    parse_clauses(p, &mut q)?;
    Ok(q)
}

fn parse_select_item(p: &mut Parser) -> Result<SelectItem, ParserError> {
    if p.consume_token(&Token::Mul) {
        return Ok(SelectItem::Wildcard);
    }
    if matches!(p.peek_token_ref().token, Token::Word(_))
        && p.peek_nth_token_ref(1).token == Token::Period
        && p.peek_nth_token_ref(2).token == Token::Mul
    {
        let name = p.parse_name("a source name")?;
        p.advance_token();
        p.advance_token();
        return Ok(SelectItem::QualifiedWildcard(name));
    }
    let expr = parse_expr(p)?;
    if p.peek_token_ref().token == Token::Arrow && p.peek_nth_token_ref(1).token == Token::Mul {
        p.advance_token();
        p.advance_token();
        return Ok(SelectItem::StructWildcard(expr));
    }
    let alias = parse_alias(p)?;
    Ok(SelectItem::Expr { expr, alias })
}

/// `source [[AS] alias]`.
fn parse_aliased_source(p: &mut Parser) -> Result<Relation, ParserError> {
    let name = p.parse_name("a source name")?;
    let alias = parse_alias(p)?;
    Ok(Relation::Source { name, alias })
}

/// The join type and `JOIN` keyword, if a join follows.
fn parse_join_kind(p: &mut Parser) -> Result<Option<JoinKind>, ParserError> {
    let kind = if p.eat_kw("JOIN") {
        return Ok(Some(JoinKind::Inner));
    } else if p.eat_kw("INNER") {
        JoinKind::Inner
    } else if p.eat_kw("LEFT") {
        JoinKind::Left
    } else if p.eat_kw("RIGHT") {
        JoinKind::Right
    } else if p.eat_kw("FULL") {
        JoinKind::Full
    } else {
        return Ok(None);
    };
    if kind != JoinKind::Inner {
        let _ = p.eat_kw("OUTER");
    }
    p.expect_kw("JOIN")?;
    Ok(Some(kind))
}

/// `source [alias] ([type] JOIN source [alias] [WITHIN ...] ON expr)*`.
fn parse_relation(p: &mut Parser) -> Result<Relation, ParserError> {
    let mut rel = parse_aliased_source(p)?;
    let mut joins = 0;
    while let Some(kind) = parse_join_kind(p)? {
        joins += 1;
        if joins > MAX_JOINS {
            return p.fail_msg("too many joins in one query");
        }
        let right = parse_aliased_source(p)?;
        let within = if p.eat_kw("WITHIN") {
            Some(parse_within(p)?)
        } else {
            None
        };
        p.expect_kw("ON")?;
        let on = parse_expr(p)?;
        rel = Relation::Join {
            left: Box::new(rel),
            right: Box::new(right),
            kind,
            on,
            within,
        };
    }
    Ok(rel)
}

/// After `WITHIN`: `(before, after) [GRACE PERIOD g]` or `size [GRACE PERIOD g]`.
fn parse_within(p: &mut Parser) -> Result<WithinExpr, ParserError> {
    let (before, after) = if p.consume_token(&Token::LParen) {
        let before = parse_duration(p)?;
        p.expect_tok(&Token::Comma, "','")?;
        let after = parse_duration(p)?;
        p.expect_tok(&Token::RParen, "')'")?;
        (before, after)
    } else {
        let size = parse_duration(p)?;
        (size, size)
    };
    let grace = if p.eat_kws(&["GRACE", "PERIOD"]) {
        Some(parse_duration(p)?)
    } else {
        None
    };
    Ok(WithinExpr {
        before,
        after,
        grace,
    })
}

/// `n unit`, e.g. `10 SECONDS`.
pub(crate) fn parse_duration(p: &mut Parser) -> Result<Duration, ParserError> {
    let loc = p.peek_token_ref().span.start;
    let n = p.parse_uint("an integer duration")?;
    let unit_ms: u64 = match &p.peek_token_ref().token {
        Token::Word(w) if w.quote_style.is_none() => match w.value.to_ascii_uppercase().as_str() {
            "MILLISECOND" | "MILLISECONDS" => 1,
            "SECOND" | "SECONDS" => 1_000,
            "MINUTE" | "MINUTES" => 60_000,
            "HOUR" | "HOURS" => 3_600_000,
            "DAY" | "DAYS" => 86_400_000,
            _ => return p.fail("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)"),
        },
        _ => return p.fail("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)"),
    };
    p.advance_token();
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| located("duration is too large", loc))
}

/// `[, RETENTION d] [, GRACE PERIOD g] )` closing a window definition.
fn parse_window_tail(p: &mut Parser) -> Result<(Option<Duration>, Option<Duration>), ParserError> {
    let (mut retention, mut grace) = (None, None);
    while p.consume_token(&Token::Comma) {
        if retention.is_none() && grace.is_none() && p.eat_kw("RETENTION") {
            retention = Some(parse_duration(p)?);
        } else if grace.is_none() && p.eat_kws(&["GRACE", "PERIOD"]) {
            grace = Some(parse_duration(p)?);
        } else {
            return p.fail("'RETENTION' or 'GRACE PERIOD'");
        }
    }
    p.expect_tok(&Token::RParen, "')'")?;
    Ok((retention, grace))
}

/// After `WINDOW`: `[name] TUMBLING|HOPPING|SESSION (...)`.
fn parse_window(p: &mut Parser) -> Result<WindowExpr, ParserError> {
    let is_kind = |t: &Token| {
        ["TUMBLING", "HOPPING", "SESSION"]
            .iter()
            .any(|k| is_kw(t, k))
    };
    if !is_kind(&p.peek_token_ref().token) && is_kind(&p.peek_nth_token_ref(1).token) {
        p.advance_token(); // an optional window name, ignored as in ksqlDB
    }
    if p.eat_kw("TUMBLING") {
        p.expect_tok(&Token::LParen, "'('")?;
        p.expect_kw("SIZE")?;
        let size = parse_duration(p)?;
        let (retention, grace) = parse_window_tail(p)?;
        Ok(WindowExpr::Tumbling {
            size,
            retention,
            grace,
        })
    } else if p.eat_kw("HOPPING") {
        p.expect_tok(&Token::LParen, "'('")?;
        p.expect_kw("SIZE")?;
        let size = parse_duration(p)?;
        p.expect_tok(&Token::Comma, "','")?;
        p.expect_kw("ADVANCE")?;
        p.expect_kw("BY")?;
        let advance = parse_duration(p)?;
        let (retention, grace) = parse_window_tail(p)?;
        Ok(WindowExpr::Hopping {
            size,
            advance,
            retention,
            grace,
        })
    } else if p.eat_kw("SESSION") {
        p.expect_tok(&Token::LParen, "'('")?;
        let gap = parse_duration(p)?;
        let (retention, grace) = parse_window_tail(p)?;
        Ok(WindowExpr::Session {
            gap,
            retention,
            grace,
        })
    } else {
        p.fail("'TUMBLING', 'HOPPING' or 'SESSION'")
    }
}

/// `GROUP BY` / `PARTITION BY` list: `e, e, ...` or `(e, e, ...)` or `()`.
fn parse_expr_list(p: &mut Parser) -> Result<Vec<Expr>, ParserError> {
    if p.peek_token_ref().token == Token::LParen && p.peek_nth_token_ref(1).token == Token::RParen {
        p.advance_token();
        p.advance_token();
        return Ok(vec![]);
    }
    let mut exprs = Vec::new();
    loop {
        exprs.push(parse_expr(p)?);
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    if exprs.len() == 1 {
        match exprs.pop() {
            Some(Expr::Tuple(items)) => return Ok(items),
            Some(Expr::Nested(inner)) => return Ok(vec![*inner]),
            Some(e) => exprs.push(e),
            None => {}
        }
    }
    Ok(exprs)
}

/// Fails on a clause given twice.
fn duplicate<T>(p: &Parser, clause: &str) -> Result<T, ParserError> {
    Err(located(
        format!("{clause} clause given more than once"),
        p.get_current_token().span.start,
    ))
}

/// The clauses after `FROM`, in any order, each at most once: `WHERE`, `WINDOW`, `GROUP BY`,
/// `HAVING`, `PARTITION BY`, `EMIT`, `LIMIT` (ksqlDB's grammar has WINDOW before WHERE and
/// PARTITION BY before HAVING; either order is accepted here).
fn parse_clauses(p: &mut Parser, q: &mut Query) -> Result<(), ParserError> {
    let (mut grouped, mut partitioned) = (false, false);
    loop {
        if p.eat_kw("WHERE") {
            if q.where_clause.is_some() {
                return duplicate(p, "WHERE");
            }
            q.where_clause = Some(parse_expr(p)?);
        } else if p.eat_kw("WINDOW") {
            if q.window.is_some() {
                return duplicate(p, "WINDOW");
            }
            q.window = Some(parse_window(p)?);
        } else if p.eat_kws(&["GROUP", "BY"]) {
            if grouped {
                return duplicate(p, "GROUP BY");
            }
            grouped = true;
            q.group_by = parse_expr_list(p)?;
        } else if p.eat_kw("HAVING") {
            if q.having.is_some() {
                return duplicate(p, "HAVING");
            }
            q.having = Some(parse_expr(p)?);
        } else if p.eat_kws(&["PARTITION", "BY"]) {
            if partitioned {
                return duplicate(p, "PARTITION BY");
            }
            partitioned = true;
            q.partition_by = parse_expr_list(p)?;
        } else if p.eat_kw("EMIT") {
            if q.emit.is_some() {
                return duplicate(p, "EMIT");
            }
            q.emit = Some(if p.eat_kw("CHANGES") {
                Emit::Changes
            } else if p.eat_kw("FINAL") {
                Emit::Final
            } else {
                return p.fail("'CHANGES' or 'FINAL'");
            });
        } else if p.eat_kw("LIMIT") {
            if q.limit.is_some() {
                return duplicate(p, "LIMIT");
            }
            let negative = p.consume_token(&Token::Minus);
            let n = i64::try_from(p.parse_uint("an integer limit")?)
                .or_else(|_| p.fail("an integer limit"))?;
            q.limit = Some(if negative { -n } else { n });
        } else {
            return Ok(());
        }
    }
}
