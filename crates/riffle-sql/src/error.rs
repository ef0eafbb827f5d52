//! Parse errors in ksqlDB's style: `line L:C: <what was wrong>`.

use std::fmt;

use sqlparser::parser::ParserError;
use sqlparser::tokenizer::{Location, TokenizerError};

/// A statement, expression or type that could not be parsed.
///
/// Displays like ksqlDB's `ParsingException`: `line 1:8: mismatched input 'FOO' expecting ...`.
/// Line and column are 1-based and count characters from the start of the text handed to the
/// parsing function (for [`crate::parse_statements`], the whole request, not a single statement).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// What was wrong, without the location prefix.
    pub message: String,
    /// 1-based line of the offending token.
    pub line: u64,
    /// 1-based column (in characters) of the offending token.
    pub column: u64,
    /// What kind of error it is, which decides how it is displayed.
    pub kind: ParseErrorKind,
}

/// The kinds of [`ParseError`]; ksqlDB words each differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseErrorKind {
    /// The text does not follow the grammar: `line L:C: Syntax Error\n<what was expected>`.
    Syntax,
    /// Parsed, but not accepted (an unsupported statement, a type too deeply nested, ...):
    /// `line L:C: <message>`.
    #[default]
    Other,
    /// Found while building the statement from its syntax tree (an integer literal beyond
    /// BIGINT): `Failed to prepare statement: line L:C: <message>`.
    Prepare,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::Syntax => write!(
                f,
                "line {}:{}: Syntax Error\n{}",
                self.line, self.column, self.message
            ),
            ParseErrorKind::Other => {
                write!(f, "line {}:{}: {}", self.line, self.column, self.message)
            }
            ParseErrorKind::Prepare => write!(
                f,
                "Failed to prepare statement: line {}:{}: {}",
                self.line, self.column, self.message
            ),
        }
    }
}

impl ParseError {
    /// Builds an error at a location.
    pub fn new(message: impl Into<String>, line: u64, column: u64) -> Self {
        ParseError {
            message: message.into(),
            line,
            column,
            kind: ParseErrorKind::Other,
        }
    }

    /// Builds an error at a sqlparser location; an unknown location (line 0) becomes `fallback`.
    pub(crate) fn at(message: impl Into<String>, loc: Location, fallback: Location) -> Self {
        let loc = if loc.line == 0 { fallback } else { loc };
        ParseError::new(message, loc.line.max(1), loc.column.max(1))
    }

    /// Converts a tokenizer error.
    pub(crate) fn from_tokenizer(e: TokenizerError) -> Self {
        let msg = format!("token recognition error: {}", e.message.to_lowercase());
        let mut err = ParseError::at(msg, e.location, Location::new(1, 1));
        err.kind = ParseErrorKind::Syntax;
        err
    }

    /// Converts a sqlparser error (whose message carries ` at Line: L, Column: C`) into
    /// ksqlDB's wording; `fallback` is used when sqlparser did not say where.
    pub(crate) fn from_parser(e: ParserError, fallback: Location) -> Self {
        let raw = match e {
            ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
            ParserError::RecursionLimitExceeded => {
                return ParseError::at(
                    "statement is too deeply nested",
                    Location::new(0, 0),
                    fallback,
                )
            }
        };
        let (body, loc) = split_location(&raw);
        if let Some(body) = body.strip_prefix(PREPARE_MARKER) {
            let mut e = ParseError::at(body, loc, fallback);
            e.kind = ParseErrorKind::Prepare;
            return e;
        }
        let (text, syntax) = reword(body);
        let mut e = ParseError::at(text, loc, fallback);
        if syntax {
            e.kind = ParseErrorKind::Syntax;
        }
        e
    }
}

/// Splits sqlparser's ` at Line: L, Column: C` suffix off a message.
fn split_location(raw: &str) -> (&str, Location) {
    if let Some((body, rest)) = raw.rsplit_once(" at Line: ") {
        if let Some((l, c)) = rest.split_once(", Column: ") {
            if let (Ok(line), Ok(column)) = (l.trim().parse::<u64>(), c.trim().parse::<u64>()) {
                return (body, Location::new(line, column));
            }
        }
    }
    (raw, Location::new(0, 0))
}

/// Rewrites sqlparser's `Expected: X, found: Y` into ANTLR's `mismatched input 'Y' expecting X`,
/// which is what ksqlDB prints. The flag tells whether the message is a syntax error.
fn reword(body: &str) -> (String, bool) {
    if let Some(rest) = body.strip_prefix("Expected: ") {
        if let Some((expected, found)) = rest.rsplit_once(", found: ") {
            let expected = if !expected.is_empty()
                && expected.len() <= 2
                && !expected.chars().any(char::is_alphanumeric)
            {
                format!("'{expected}'")
            } else {
                expected.to_string()
            };
            return (
                format!(
                    "mismatched input {} expecting {expected}",
                    quote_found(found)
                ),
                true,
            );
        }
    }
    (body.to_string(), body.starts_with("mismatched input"))
}

/// Quotes the text of an offending token as ANTLR does; end of input is `'<EOF>'`.
pub(crate) fn quote_found(found: &str) -> String {
    if found == "EOF" {
        "'<EOF>'".to_string()
    } else {
        format!("'{found}'")
    }
}

/// Starts the message of a sqlparser error that stands for a statement-building error (see
/// [`ParseError::while_preparing`]); never shown to users.
pub(crate) const PREPARE_MARKER: &str = "\u{1}prepare\u{1}";

/// Builds a sqlparser error carrying a location, in the format [`ParseError::from_parser`] reads.
pub(crate) fn located(message: impl fmt::Display, loc: Location) -> ParserError {
    ParserError::ParserError(format!("{message}{loc}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewords_expected_found() {
        let e = ParserError::ParserError(
            "Expected: an expression, found: FOO at Line: 1, Column: 8".into(),
        );
        let pe = ParseError::from_parser(e, Location::new(1, 1));
        assert_eq!(
            pe.to_string(),
            "line 1:8: Syntax Error\nmismatched input 'FOO' expecting an expression"
        );
        assert_eq!((pe.line, pe.column), (1, 8));
    }

    #[test]
    fn eof_and_fallback_location() {
        let e = ParserError::ParserError("Expected: ), found: EOF".into());
        let pe = ParseError::from_parser(e, Location::new(2, 5));
        assert_eq!(
            pe.to_string(),
            "line 2:5: Syntax Error\nmismatched input '<EOF>' expecting ')'"
        );
        let pe = ParseError::from_parser(ParserError::RecursionLimitExceeded, Location::new(1, 1));
        assert_eq!(pe.line, 1);
    }
}
