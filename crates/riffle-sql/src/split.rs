//! Tokenising a request and splitting it into statements on top-level `;`.

use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use crate::dialect::KsqlDialect;
use crate::error::ParseError;

/// The text being parsed, with a map from sqlparser locations back to byte offsets.
pub(crate) struct Source<'s> {
    sql: &'s str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl<'s> Source<'s> {
    pub(crate) fn new(sql: &'s str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        Source { sql, line_starts }
    }

    /// Byte offset of a 1-based (line, char column) location, clamped to the text.
    pub(crate) fn offset(&self, loc: Location) -> usize {
        let Some(&start) = usize::try_from(loc.line)
            .ok()
            .and_then(|l| l.checked_sub(1))
            .and_then(|l| self.line_starts.get(l))
        else {
            return self.sql.len();
        };
        let line = self.sql.get(start..).unwrap_or("");
        let col = usize::try_from(loc.column.saturating_sub(1)).unwrap_or(usize::MAX);
        match line.char_indices().nth(col) {
            Some((i, _)) => start + i,
            None => self.sql.len(),
        }
    }

    /// The text between two locations, trimmed.
    pub(crate) fn slice(&self, start: Location, end: Location) -> String {
        let (a, b) = (self.offset(start), self.offset(end));
        self.sql.get(a..b.max(a)).unwrap_or("").trim().to_string()
    }

    /// The location just past the end of the text.
    pub(crate) fn end_location(&self) -> Location {
        let line = self.line_starts.len();
        let last = self.line_starts.last().copied().unwrap_or(0);
        let cols = self.sql.get(last..).unwrap_or("").chars().count();
        Location::new(line as u64, cols as u64 + 1)
    }
}

/// One statement's tokens.
pub(crate) struct RawStatement {
    /// Non-whitespace tokens, including the terminating `;` if any, then an `EOF` token located
    /// just past the statement.
    pub tokens: Vec<TokenWithSpan>,
    /// Location of the first token.
    pub start: Location,
    /// Location just past the statement (after its `;`).
    pub end: Location,
}

/// Tokenises `sql` with the ksqlDB dialect, dropping whitespace and comments.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>, ParseError> {
    let dialect = KsqlDialect;
    let tokens = Tokenizer::new(&dialect, sql)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(ParseError::from_tokenizer)?;
    Ok(tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
        .collect())
}

/// An `EOF` token at `loc`.
pub(crate) fn eof_at(loc: Location) -> TokenWithSpan {
    TokenWithSpan::new(Token::EOF, Span::new(loc, loc))
}

/// Splits `sql` into statements on `;` tokens (semicolons inside strings, quoted identifiers
/// and comments do not split). Empty statements are dropped; the last statement may lack `;`.
pub(crate) fn split(src: &Source<'_>, sql: &str) -> Result<Vec<RawStatement>, ParseError> {
    let tokens = tokenize(sql)?;
    let mut out = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    for tok in tokens {
        let is_semi = tok.token == Token::SemiColon;
        if is_semi && current.is_empty() {
            continue;
        }
        current.push(tok);
        if is_semi {
            out.push(finish(std::mem::take(&mut current), src));
        }
    }
    if !current.is_empty() {
        out.push(finish(current, src));
    }
    Ok(out)
}

fn finish(mut tokens: Vec<TokenWithSpan>, src: &Source<'_>) -> RawStatement {
    let start = tokens
        .first()
        .map(|t| t.span.start)
        .unwrap_or_else(|| src.end_location());
    let end = tokens
        .last()
        .map(|t| t.span.end)
        .unwrap_or_else(|| src.end_location());
    tokens.push(eof_at(end));
    RawStatement { tokens, start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_lines_and_chars() {
        let sql = "ab\nçd;\n";
        let src = Source::new(sql);
        assert_eq!(src.offset(Location::new(1, 1)), 0);
        assert_eq!(src.offset(Location::new(2, 1)), 3);
        assert_eq!(src.offset(Location::new(2, 2)), 5);
        assert_eq!(src.offset(Location::new(9, 9)), sql.len());
        assert_eq!(src.slice(Location::new(2, 1), Location::new(2, 4)), "çd;");
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let sql = "SELECT ';' FROM x; -- c;\n /* ; */ DROP STREAM `a;b`;;";
        let src = Source::new(sql);
        let stmts = split(&src, sql).unwrap();
        assert_eq!(stmts.len(), 2);
        let texts: Vec<_> = stmts.iter().map(|s| src.slice(s.start, s.end)).collect();
        assert_eq!(texts, vec!["SELECT ';' FROM x;", "DROP STREAM `a;b`;"]);
    }
}
