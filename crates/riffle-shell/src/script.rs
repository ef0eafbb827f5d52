//! Statement text as the shell sees it: where statements end, and which of them the shell runs
//! itself (`SET`, `DEFINE`, `RUN SCRIPT`, …) rather than sending to the server.
//!
//! The server parses statements properly; this lexer only has to agree with it on where strings,
//! quoted identifiers and comments start and end, so that a `;` inside them does not end a
//! statement.

/// Splits `text` into complete statements (each with its `;`) and the unfinished rest.
///
/// Comments are kept inside statements (the server ignores them); text that is only whitespace
/// or comments between statements is dropped.
pub fn split(text: &str) -> (Vec<String>, String) {
    let mut statements = Vec::new();
    let mut start = 0;
    let mut lexer = Lexer::new(text);
    while let Some(end) = lexer.next_semicolon() {
        let stmt = text[start..=end].trim();
        if !only_comments(stmt.trim_end_matches(';')) {
            statements.push(stmt.to_string());
        }
        start = end + 1;
    }
    let rest = text[start..].trim();
    let rest = if only_comments(rest) { "" } else { rest };
    (statements, rest.to_string())
}

/// True when `text` is blank or holds nothing but comments.
fn only_comments(text: &str) -> bool {
    strip_comments(text).trim().is_empty()
}

/// `text` without `--` and `/* */` comments (strings and quoted identifiers kept as they are).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'`' | b'"') => {
                let end = quoted_end(b, i, q);
                out.push_str(&text[i..end]);
                i = end;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                out.push(' ');
            }
            _ => {
                let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + ch_len]);
                i += ch_len;
            }
        }
    }
    out
}

/// Index just past the quote that closes the one at `start` (doubled quotes escape it).
fn quoted_end(b: &[u8], start: usize, q: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Finds top-level semicolons.
struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            b: text.as_bytes(),
            i: 0,
        }
    }

    /// Byte index of the next `;` outside strings, quoted identifiers and comments.
    fn next_semicolon(&mut self) -> Option<usize> {
        let b = self.b;
        while self.i < b.len() {
            match b[self.i] {
                q @ (b'\'' | b'`' | b'"') => self.i = quoted_end(b, self.i, q),
                b'-' if b.get(self.i + 1) == Some(&b'-') => {
                    while self.i < b.len() && b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'/' if b.get(self.i + 1) == Some(&b'*') => {
                    let mut j = self.i + 2;
                    while j + 1 < b.len() && !(b[j] == b'*' && b[j + 1] == b'/') {
                        j += 1;
                    }
                    self.i = (j + 2).min(b.len());
                }
                b';' => {
                    self.i += 1;
                    return Some(self.i - 1);
                }
                _ => self.i += 1,
            }
        }
        None
    }
}

/// What the shell does with one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `SET 'name' = 'value'`: a property for later statements and queries.
    Set(String, String),
    /// `UNSET 'name'`.
    Unset(String),
    /// `DEFINE name = 'value'`: a variable sent as `sessionVariables`.
    Define(String, String),
    /// `UNDEFINE name`.
    Undefine(String),
    /// `RUN SCRIPT 'file'`.
    RunScript(String),
    /// `OUTPUT` (show) or `OUTPUT JSON|TABULAR`.
    Output(Option<String>),
    /// `EXIT` / `QUIT`.
    Exit,
    /// `HELP`.
    Help,
    /// A `SELECT` or `PRINT`: sent to `/query-stream`.
    Query,
    /// Anything else: sent to `/ksql`.
    Statement,
}

/// Decides what to do with one statement (with or without its `;`). Malformed shell commands
/// come back as an error message.
pub fn classify(statement: &str) -> Result<Action, String> {
    let text = strip_comments(statement);
    let text = text.trim().trim_end_matches(';').trim();
    let words = words(text);
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let first = upper.first().map(String::as_str).unwrap_or("");
    Ok(match first {
        "SET" => {
            let (name, value) =
                assignment(&text[3..]).ok_or("Usage: SET 'property' = 'value';".to_string())?;
            Action::Set(name, value)
        }
        "UNSET" => {
            Action::Unset(unquote(text[5..].trim()).ok_or("Usage: UNSET 'property';".to_string())?)
        }
        "DEFINE" => {
            let (name, value) =
                assignment(&text[6..]).ok_or("Usage: DEFINE name = 'value';".to_string())?;
            Action::Define(name, value)
        }
        "UNDEFINE" => {
            let name = text[8..].trim();
            if name.is_empty() {
                return Err("Usage: UNDEFINE name;".into());
            }
            Action::Undefine(name.to_string())
        }
        "RUN" if upper.get(1).map(String::as_str) == Some("SCRIPT") => {
            let rest = text[3..].trim_start()[6..].trim();
            Action::RunScript(unquote(rest).ok_or("Usage: RUN SCRIPT 'file.sql';".to_string())?)
        }
        "OUTPUT" => match upper.get(1).map(String::as_str) {
            None => Action::Output(None),
            Some(f @ ("JSON" | "TABULAR")) if upper.len() == 2 => Action::Output(Some(f.into())),
            Some(_) => return Err("Usage: OUTPUT [JSON|TABULAR]".into()),
        },
        "EXIT" | "QUIT" if upper.len() == 1 => Action::Exit,
        "HELP" if upper.len() == 1 => Action::Help,
        "SELECT" | "PRINT" => Action::Query,
        _ => Action::Statement,
    })
}

/// Shell commands that, as in ksqlDB's CLI, need no `;`.
pub fn is_bare_command(line: &str) -> bool {
    let t = line.trim().trim_end_matches(';').trim();
    let upper = t.to_ascii_uppercase();
    let first = upper.split_whitespace().next().unwrap_or("");
    matches!(first, "EXIT" | "QUIT" | "HELP" | "OUTPUT") && upper.split_whitespace().count() <= 2
}

/// Whitespace-separated words, for keyword checks.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// `'name' = 'value'` or `name = 'value'` → (name, value).
fn assignment(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    let (name, rest) = if text.starts_with('\'') {
        let end = quoted_end(text.as_bytes(), 0, b'\'');
        (unquote(&text[..end])?, &text[end..])
    } else {
        let end = text.find(|c: char| c == '=' || c.is_whitespace())?;
        (text[..end].to_string(), &text[end..])
    };
    let value = rest.trim().strip_prefix('=')?.trim();
    Some((name, unquote(value)?))
}

/// `'it''s'` → `it's`; anything not a single-quoted literal is `None`.
fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_top_level_semicolons() {
        let (s, rest) = split("SELECT 'a;b' FROM `x;y`; -- c;\nSHOW STREAMS; /* ; */ DESCRIBE");
        assert_eq!(s, vec!["SELECT 'a;b' FROM `x;y`;", "-- c;\nSHOW STREAMS;"]);
        assert_eq!(rest, "/* ; */ DESCRIBE");
        let (s, rest) = split("SHOW STREAMS;\n-- trailing comment\n");
        assert_eq!(s.len(), 1);
        assert_eq!(rest, "");
    }

    #[test]
    fn classifies_shell_statements() {
        assert_eq!(
            classify("SET 'auto.offset.reset' = 'earliest';"),
            Ok(Action::Set("auto.offset.reset".into(), "earliest".into()))
        );
        assert_eq!(classify("unset 'a.b'"), Ok(Action::Unset("a.b".into())));
        assert_eq!(
            classify("DEFINE t = 'it''s';"),
            Ok(Action::Define("t".into(), "it's".into()))
        );
        assert_eq!(
            classify("RUN SCRIPT '/tmp/a.sql';"),
            Ok(Action::RunScript("/tmp/a.sql".into()))
        );
        assert_eq!(
            classify("output json"),
            Ok(Action::Output(Some("JSON".into())))
        );
        assert_eq!(
            classify("-- hi\nselect * from s emit changes;"),
            Ok(Action::Query)
        );
        assert_eq!(classify("SHOW STREAMS;"), Ok(Action::Statement));
        assert!(classify("SET foo;").is_err());
        assert!(is_bare_command("exit"));
        assert!(!is_bare_command("SHOW STREAMS"));
    }
}
