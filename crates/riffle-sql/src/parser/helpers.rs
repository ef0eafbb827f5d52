//! Small token-level helpers on top of sqlparser's [`Parser`], shared by the statement parser,
//! the type parser and the dialect hooks.
//!
//! ksqlDB keywords are matched by spelling (case-insensitively, unquoted words only) rather than
//! through sqlparser's keyword table, since many ksqlDB keywords (`EMIT`, `TUMBLING`, `GRACE`,
//! `BEGINNING`, ...) are not sqlparser keywords.

use sqlparser::ast::Ident;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Word};

use crate::error::located;

/// Applies ksqlDB's identifier rule: unquoted names are upper-cased, quoted names keep their case.
pub(crate) fn ident_name(value: &str, quote_style: Option<char>) -> String {
    if quote_style.is_some() {
        value.to_string()
    } else {
        value.to_uppercase()
    }
}

/// The sqlparser [`Ident`] of a word token, keeping its quote style.
pub(crate) fn word_ident(w: &Word, tok: &TokenWithSpan) -> Ident {
    Ident {
        value: w.value.clone(),
        quote_style: w.quote_style,
        span: tok.span,
    }
}

/// True when `tok` is the unquoted word `kw` (any case).
pub(crate) fn is_kw(tok: &Token, kw: &str) -> bool {
    matches!(tok, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// Token-level helpers for ksqlDB parsing.
pub(crate) trait ParserExt {
    /// True when the next token is the keyword `kw`.
    fn peek_kw(&self, kw: &str) -> bool;
    /// True when the `n`-th next token (0-based) is the keyword `kw`.
    fn peek_nth_kw(&self, n: usize, kw: &str) -> bool;
    /// Consumes the keyword `kw` if it is next.
    fn eat_kw(&mut self, kw: &str) -> bool;
    /// Consumes the keywords `kws` if they are all next, in order; otherwise consumes nothing.
    fn eat_kws(&mut self, kws: &[&str]) -> bool;
    /// Consumes the keyword `kw` or fails.
    fn expect_kw(&mut self, kw: &str) -> Result<(), ParserError>;
    /// Consumes the token `tok` or fails, naming it as `what`.
    fn expect_tok(&mut self, tok: &Token, what: &str) -> Result<(), ParserError>;
    /// Fails with "expected `what`" at the next token.
    fn fail<T>(&self, what: &str) -> Result<T, ParserError>;
    /// Fails with a free-form message at the next token.
    fn fail_msg<T>(&self, msg: &str) -> Result<T, ParserError>;
    /// Parses an identifier, applying the identifier rule.
    fn parse_name(&mut self, what: &str) -> Result<String, ParserError>;
    /// Parses an identifier, keeping its case (back-quotes removed).
    fn parse_name_keep_case(&mut self, what: &str) -> Result<String, ParserError>;
    /// Parses a single-quoted string literal, returning its content.
    fn parse_string_lit(&mut self, what: &str) -> Result<String, ParserError>;
    /// Parses an unsigned integer literal.
    fn parse_uint(&mut self, what: &str) -> Result<u64, ParserError>;
}

impl ParserExt for Parser<'_> {
    fn peek_kw(&self, kw: &str) -> bool {
        is_kw(&self.peek_token_ref().token, kw)
    }

    fn peek_nth_kw(&self, n: usize, kw: &str) -> bool {
        is_kw(&self.peek_nth_token_ref(n).token, kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek_kw(kw) {
            self.advance_token();
            true
        } else {
            false
        }
    }

    fn eat_kws(&mut self, kws: &[&str]) -> bool {
        if kws
            .iter()
            .enumerate()
            .all(|(i, kw)| self.peek_nth_kw(i, kw))
        {
            for _ in kws {
                self.advance_token();
            }
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), ParserError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.fail(&format!("'{kw}'"))
        }
    }

    fn expect_tok(&mut self, tok: &Token, what: &str) -> Result<(), ParserError> {
        if self.consume_token(tok) {
            Ok(())
        } else {
            self.fail(what)
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, ParserError> {
        self.expected(what, self.peek_token())
    }

    fn fail_msg<T>(&self, msg: &str) -> Result<T, ParserError> {
        Err(located(msg, self.peek_token_ref().span.start))
    }

    fn parse_name(&mut self, what: &str) -> Result<String, ParserError> {
        match &self.peek_token_ref().token {
            Token::Word(w) => {
                let name = ident_name(&w.value, w.quote_style);
                self.advance_token();
                Ok(name)
            }
            _ => self.fail(what),
        }
    }

    fn parse_name_keep_case(&mut self, what: &str) -> Result<String, ParserError> {
        match &self.peek_token_ref().token {
            Token::Word(w) => {
                let name = w.value.clone();
                self.advance_token();
                Ok(name)
            }
            _ => self.fail(what),
        }
    }

    fn parse_string_lit(&mut self, what: &str) -> Result<String, ParserError> {
        match &self.peek_token_ref().token {
            Token::SingleQuotedString(s) => {
                let s = s.clone();
                self.advance_token();
                Ok(s)
            }
            _ => self.fail(what),
        }
    }

    fn parse_uint(&mut self, what: &str) -> Result<u64, ParserError> {
        match &self.peek_token_ref().token {
            Token::Number(n, _) => match n.parse::<u64>() {
                Ok(v) => {
                    self.advance_token();
                    Ok(v)
                }
                Err(_) => self.fail(what),
            },
            _ => self.fail(what),
        }
    }
}
