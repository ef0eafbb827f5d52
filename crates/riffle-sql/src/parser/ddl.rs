//! `CREATE`, `DROP` and `ALTER` statements, column lists and `WITH` properties.

use riffle_types::ColumnKind;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use super::helpers::ParserExt;
use super::query::parse_query;
use super::unsupported;
use crate::statement::{
    ColumnDef, CreateAsSelect, CreateSource, Properties, PropertyValue, SourceKind, Statement,
};
use crate::types::parse_type;

/// `STREAM` or `TABLE`.
fn parse_source_kind(p: &mut Parser) -> Result<SourceKind, ParserError> {
    if p.eat_kw("STREAM") {
        Ok(SourceKind::Stream)
    } else if p.eat_kw("TABLE") {
        Ok(SourceKind::Table)
    } else {
        p.fail("'STREAM' or 'TABLE'")
    }
}

/// `CREATE ...`.
pub(super) fn parse_create(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("CREATE")?;
    let or_replace = p.eat_kws(&["OR", "REPLACE"]);
    if !or_replace && p.peek_kw("TYPE") {
        p.advance_token();
        let if_not_exists = p.eat_kws(&["IF", "NOT", "EXISTS"]);
        let name = p.parse_name("a type name")?;
        p.expect_kw("AS")?;
        let ty = parse_type(p)?;
        return Ok(Statement::CreateType {
            name,
            ty,
            if_not_exists,
        });
    }
    if (p.peek_kw("SOURCE") || p.peek_kw("SINK")) && p.peek_nth_kw(1, "CONNECTOR") {
        return unsupported(p, "CREATE CONNECTOR");
    }
    let is_source = p.eat_kw("SOURCE");
    let kind = parse_source_kind(p)?;
    let if_not_exists = p.eat_kws(&["IF", "NOT", "EXISTS"]);
    let name = p.parse_name("a source name")?;
    let columns = if p.peek_token_ref().token == Token::LParen {
        Some(parse_table_elements(p)?)
    } else {
        None
    };
    let properties = parse_with_properties(p)?;
    if columns.is_none() && !is_source && p.eat_kw("AS") {
        let query = parse_query(p)?;
        return Ok(Statement::CreateAsSelect(CreateAsSelect {
            kind,
            name,
            or_replace,
            if_not_exists,
            properties,
            query,
        }));
    }
    Ok(Statement::CreateSource(CreateSource {
        kind,
        name,
        or_replace,
        if_not_exists,
        is_source,
        columns: columns.unwrap_or_default(),
        properties,
    }))
}

/// `( element, ... )` of `CREATE STREAM|TABLE`.
fn parse_table_elements(p: &mut Parser) -> Result<Vec<ColumnDef>, ParserError> {
    p.expect_tok(&Token::LParen, "'('")?;
    let cols = parse_column_list(p)?;
    p.expect_tok(&Token::RParen, "',' or ')'")?;
    Ok(cols)
}

/// `name type [KEY | PRIMARY KEY | HEADERS | HEADER('key')], ...` (at least one element).
pub(crate) fn parse_column_list(p: &mut Parser) -> Result<Vec<ColumnDef>, ParserError> {
    let mut cols = Vec::new();
    loop {
        cols.push(parse_column_def(p)?);
        if !p.consume_token(&Token::Comma) {
            return Ok(cols);
        }
    }
}

fn parse_column_def(p: &mut Parser) -> Result<ColumnDef, ParserError> {
    let start = p.peek_token_ref().span.start;
    let location = (start.line > 0).then_some((start.line, start.column));
    let name = p.parse_name("a column name")?;
    let ty = parse_type(p)?;
    let mut primary_key = false;
    let kind = if p.eat_kws(&["PRIMARY", "KEY"]) {
        primary_key = true;
        ColumnKind::Key
    } else if p.eat_kw("KEY") {
        ColumnKind::Key
    } else if p.eat_kw("HEADERS") {
        ColumnKind::Header(None)
    } else if p.eat_kw("HEADER") {
        p.expect_tok(&Token::LParen, "'('")?;
        let key = p.parse_string_lit("a header key string")?;
        p.expect_tok(&Token::RParen, "')'")?;
        ColumnKind::Header(Some(key))
    } else {
        ColumnKind::Value
    };
    Ok(ColumnDef {
        name,
        ty,
        kind,
        primary_key,
        location,
    })
}

/// `[WITH (name = value, ...)]`.
pub(super) fn parse_with_properties(p: &mut Parser) -> Result<Properties, ParserError> {
    if !p.eat_kw("WITH") {
        return Ok(Properties::default());
    }
    p.expect_tok(&Token::LParen, "'('")?;
    let mut props = Vec::new();
    loop {
        let name = match &p.peek_token_ref().token {
            Token::Word(w) => w.value.to_uppercase(),
            Token::SingleQuotedString(s) => s.to_uppercase(),
            _ => return p.fail("a property name"),
        };
        p.advance_token();
        p.expect_tok(&Token::Eq, "'='")?;
        let value = parse_property_value(p)?;
        props.push((name, value));
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_tok(&Token::RParen, "',' or ')'")?;
    Ok(Properties(props))
}

fn parse_property_value(p: &mut Parser) -> Result<PropertyValue, ParserError> {
    let negative = p.consume_token(&Token::Minus);
    let value = match &p.peek_token_ref().token {
        Token::Number(n, _) => {
            PropertyValue::Number(if negative { format!("-{n}") } else { n.clone() })
        }
        Token::SingleQuotedString(s) if !negative => PropertyValue::String(s.clone()),
        Token::Word(w) if !negative && w.quote_style.is_none() => {
            match w.value.to_ascii_uppercase().as_str() {
                "TRUE" => PropertyValue::Boolean(true),
                "FALSE" => PropertyValue::Boolean(false),
                _ => return p.fail("a string, number or boolean literal"),
            }
        }
        _ => return p.fail("a string, number or boolean literal"),
    };
    p.advance_token();
    Ok(value)
}

/// `DROP STREAM|TABLE|TYPE ...`.
pub(super) fn parse_drop(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("DROP")?;
    if p.eat_kw("TYPE") {
        let if_exists = p.eat_kws(&["IF", "EXISTS"]);
        let name = p.parse_name("a type name")?;
        return Ok(Statement::DropType { name, if_exists });
    }
    if p.peek_kw("CONNECTOR") {
        return unsupported(p, "DROP CONNECTOR");
    }
    let kind = parse_source_kind(p)?;
    let if_exists = p.eat_kws(&["IF", "EXISTS"]);
    let name = p.parse_name("a source name")?;
    let delete_topic = p.eat_kws(&["DELETE", "TOPIC"]);
    Ok(Statement::Drop {
        kind,
        name,
        if_exists,
        delete_topic,
    })
}

/// `ALTER STREAM|TABLE name ADD [COLUMN] col type, ...`.
pub(super) fn parse_alter(p: &mut Parser) -> Result<Statement, ParserError> {
    p.expect_kw("ALTER")?;
    if p.peek_kw("SYSTEM") {
        return unsupported(p, "ALTER SYSTEM");
    }
    let kind = parse_source_kind(p)?;
    let name = p.parse_name("a source name")?;
    let mut columns = Vec::new();
    loop {
        p.expect_kw("ADD")?;
        let _ = p.eat_kw("COLUMN");
        let col = p.parse_name("a column name")?;
        let ty = parse_type(p)?;
        columns.push((col, ty));
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    Ok(Statement::AlterSource {
        kind,
        name,
        columns,
    })
}
