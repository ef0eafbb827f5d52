//! `INSERT`, `LIST`/`SHOW`, `DESCRIBE`, `EXPLAIN`, `TERMINATE`, `SET`/`UNSET`,
//! `DEFINE`/`UNDEFINE`, `PRINT` and `RUN SCRIPT`.

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::ddl::parse_with_properties;
use super::helpers::ParserExt;
use super::query::parse_query;
use super::{parse_expr, parse_statement, unsupported, Ctx};
use crate::statement::{ExplainTarget, ParsedStatement, Statement, TerminateTarget};

/// `INSERT INTO target [(cols)] VALUES (...)` or `INSERT INTO target [WITH (...)] SELECT ...`.
pub(super) fn parse_insert(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("INSERT")?;
    p.expect_kw("INTO")?;
    let target = p.parse_name("a source name")?;
    let columns = if p.consume_token(&Token::LParen) {
        let mut cols = Vec::new();
        loop {
            cols.push(p.parse_name("a column name")?);
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_tok(&Token::RParen, "',' or ')'")?;
        Some(cols)
    } else {
        None
    };
    if p.eat_kw("VALUES") {
        p.expect_tok(&Token::LParen, "'('")?;
        let mut values = Vec::new();
        if !p.consume_token(&Token::RParen) {
            loop {
                values.push(parse_expr(p)?);
                if !p.consume_token(&Token::Comma) {
                    break;
                }
            }
            p.expect_tok(&Token::RParen, "',' or ')'")?;
        }
        return Ok(Statement::InsertValues {
            target,
            columns,
            values,
        });
    }
    if columns.is_some() {
        return p.fail("'VALUES'");
    }
    let properties = parse_with_properties(p)?;
    if !p.peek_kw("SELECT") {
        return p.fail("'VALUES' or 'SELECT'");
    }
    let query = parse_query(p)?;
    Ok(Statement::InsertSelect {
        target,
        properties,
        query,
    })
}

/// `LIST|SHOW ...`.
pub(super) fn parse_list(p: &mut Parser) -> Result<Statement, ParserError> {
    p.advance_token(); // LIST / SHOW
    if p.eat_kw("PROPERTIES") {
        return Ok(Statement::ListProperties);
    }
    if p.eat_kw("FUNCTIONS") {
        return Ok(Statement::ListFunctions);
    }
    if p.eat_kw("TYPES") {
        return Ok(Statement::ListTypes);
    }
    if p.eat_kw("VARIABLES") {
        return Ok(Statement::ListVariables);
    }
    let all = p.eat_kw("ALL");
    if p.eat_kw("TOPICS") {
        let extended = p.eat_kw("EXTENDED");
        return Ok(Statement::ListTopics { all, extended });
    }
    if all {
        return p.fail("'TOPICS'");
    }
    if p.eat_kw("STREAMS") {
        let extended = p.eat_kw("EXTENDED");
        return Ok(Statement::ListStreams { extended });
    }
    if p.eat_kw("TABLES") {
        let extended = p.eat_kw("EXTENDED");
        return Ok(Statement::ListTables { extended });
    }
    if p.eat_kw("QUERIES") {
        let extended = p.eat_kw("EXTENDED");
        return Ok(Statement::ListQueries { extended });
    }
    if ["CONNECTORS", "SOURCE", "SINK", "CONNECTOR"]
        .iter()
        .any(|k| p.peek_kw(k))
    {
        return unsupported(p, "LIST CONNECTORS");
    }
    p.fail("'STREAMS', 'TABLES', 'TOPICS', 'QUERIES', 'PROPERTIES', 'FUNCTIONS', 'TYPES' or 'VARIABLES'")
}

/// `DESCRIBE name [EXTENDED]`, `DESCRIBE STREAMS|TABLES [EXTENDED]`, `DESCRIBE FUNCTION name`.
pub(super) fn parse_describe(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("DESCRIBE")?;
    let ends_after = |p: &Parser, n: usize| {
        matches!(p.peek_nth_token_ref(n).token, Token::SemiColon | Token::EOF)
            || p.peek_nth_kw(n, "EXTENDED")
    };
    if p.peek_kw("STREAMS") && ends_after(p, 1) {
        p.advance_token();
        let extended = p.eat_kw("EXTENDED");
        return Ok(Statement::DescribeStreams { extended });
    }
    if p.peek_kw("TABLES") && ends_after(p, 1) {
        p.advance_token();
        let extended = p.eat_kw("EXTENDED");
        return Ok(Statement::DescribeTables { extended });
    }
    if p.peek_kw("FUNCTION") && !ends_after(p, 1) {
        p.advance_token();
        let name = p.parse_name("a function name")?;
        return Ok(Statement::DescribeFunction { name });
    }
    if p.peek_kw("CONNECTOR") && !ends_after(p, 1) {
        return unsupported(p, "DESCRIBE CONNECTOR");
    }
    let name = p.parse_name("a source name")?;
    let extended = p.eat_kw("EXTENDED");
    Ok(Statement::Describe { name, extended })
}

/// `EXPLAIN query_id` or `EXPLAIN statement`.
pub(super) fn parse_explain(p: &mut Parser, ctx: &Ctx<'_, '_>) -> Result<Statement, ParserError> {
    p.expect_kw("EXPLAIN")?;
    let single_word = matches!(p.peek_token_ref().token, Token::Word(_))
        && matches!(p.peek_nth_token_ref(1).token, Token::SemiColon | Token::EOF);
    if single_word {
        let id = p.parse_name_keep_case("a query id")?;
        return Ok(Statement::Explain(ExplainTarget::QueryId(
            id.to_uppercase(),
        )));
    }
    if p.peek_kw("EXPLAIN") {
        return p.fail("a query id or a statement other than EXPLAIN");
    }
    let start = p.peek_token_ref().span.start;
    let statement = parse_statement(p, ctx)?;
    let text = ctx.src.slice(start, ctx.end);
    Ok(Statement::Explain(ExplainTarget::Statement(Box::new(
        ParsedStatement { statement, text },
    ))))
}

/// `TERMINATE ALL` or `TERMINATE query_id`.
pub(super) fn parse_terminate(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("TERMINATE")?;
    if p.eat_kw("ALL") {
        return Ok(Statement::Terminate(TerminateTarget::All));
    }
    let id = p.parse_name_keep_case("a query id or 'ALL'")?;
    Ok(Statement::Terminate(TerminateTarget::Query(
        id.to_uppercase(),
    )))
}

/// `SET 'name' = 'value'` or `UNSET 'name'`.
pub(super) fn parse_set(p: &mut Parser) -> Result<Statement, ParserError> {
    if p.eat_kw("UNSET") {
        let name = p.parse_string_lit("a quoted property name")?;
        return Ok(Statement::UnsetProperty { name });
    }
    p.expect_kw("SET")?;
    let name = p.parse_string_lit("a quoted property name")?;
    p.expect_tok(&Token::Eq, "'='")?;
    let value = p.parse_string_lit("a quoted property value")?;
    Ok(Statement::SetProperty { name, value })
}

/// `DEFINE name = 'value'` or `UNDEFINE name`.
pub(super) fn parse_define(p: &mut Parser) -> Result<Statement, ParserError> {
    let is_var =
        |p: &Parser| matches!(&p.peek_token_ref().token, Token::Word(w) if w.quote_style.is_none());
    if p.eat_kw("UNDEFINE") {
        if !is_var(p) {
            return p.fail("a variable name");
        }
        let name = p.parse_name_keep_case("a variable name")?;
        return Ok(Statement::UndefineVariable { name });
    }
    p.expect_kw("DEFINE")?;
    if !is_var(p) {
        return p.fail("a variable name");
    }
    let name = p.parse_name_keep_case("a variable name")?;
    p.expect_tok(&Token::Eq, "'='")?;
    let value = p.parse_string_lit("a quoted variable value")?;
    Ok(Statement::DefineVariable { name, value })
}

/// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`.
pub(super) fn parse_print(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("PRINT")?;
    let topic = match &p.peek_token_ref().token {
        Token::SingleQuotedString(s) => s.clone(),
        Token::Word(w) => w.value.clone(),
        _ => return p.fail("a topic name"),
    };
    p.advance_token();
    let from_beginning = p.eat_kws(&["FROM", "BEGINNING"]);
    let interval = if p.eat_kw("INTERVAL") || p.eat_kw("SAMPLE") {
        Some(p.parse_uint("an integer interval")?)
    } else {
        None
    };
    let limit = if p.eat_kw("LIMIT") {
        Some(p.parse_uint("an integer limit")?)
    } else {
        None
    };
    Ok(Statement::Print {
        topic,
        from_beginning,
        interval,
        limit,
    })
}

/// `RUN SCRIPT 'path'`.
pub(super) fn parse_run_script(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("RUN")?;
    p.expect_kw("SCRIPT")?;
    let path = p.parse_string_lit("a quoted script path")?;
    Ok(Statement::RunScript { path })
}
