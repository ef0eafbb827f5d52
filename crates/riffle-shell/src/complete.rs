//! Line-editor help: completion of keywords, source, column and function names from the
//! server's catalog, and keyword/string highlighting.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rustyline::completion::Completer;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use serde_json::Value;

/// ksql keywords offered for completion and highlighted.
pub const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "EMIT",
    "CHANGES",
    "FINAL",
    "LIMIT",
    "GROUP",
    "BY",
    "HAVING",
    "PARTITION",
    "WINDOW",
    "TUMBLING",
    "HOPPING",
    "SESSION",
    "SIZE",
    "ADVANCE",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "INNER",
    "ON",
    "WITHIN",
    "AS",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "LIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "CREATE",
    "OR",
    "REPLACE",
    "STREAM",
    "STREAMS",
    "TABLE",
    "TABLES",
    "WITH",
    "INSERT",
    "INTO",
    "VALUES",
    "DROP",
    "DELETE",
    "TOPIC",
    "TOPICS",
    "IF",
    "EXISTS",
    "SHOW",
    "LIST",
    "DESCRIBE",
    "EXTENDED",
    "EXPLAIN",
    "QUERIES",
    "PROPERTIES",
    "FUNCTIONS",
    "FUNCTION",
    "VARIABLES",
    "TERMINATE",
    "ALL",
    "PRINT",
    "SET",
    "UNSET",
    "DEFINE",
    "UNDEFINE",
    "RUN",
    "SCRIPT",
    "OUTPUT",
    "JSON",
    "TABULAR",
    "KEY",
    "PRIMARY",
    "HEADERS",
    "STRUCT",
    "ARRAY",
    "MAP",
    "STRING",
    "VARCHAR",
    "INT",
    "INTEGER",
    "BIGINT",
    "DOUBLE",
    "BOOLEAN",
    "DECIMAL",
    "TIMESTAMP",
    "DATE",
    "TIME",
    "BYTES",
    "EXIT",
    "HELP",
];

/// Names known on the server, refreshed after statements that may change them.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// Stream and table names.
    pub sources: Vec<String>,
    /// Column names of every source.
    pub columns: Vec<String>,
    /// Function names.
    pub functions: Vec<String>,
}

impl Names {
    /// Collects names from `/ksql` entities (`DESCRIBE STREAMS`/`TABLES`, `SHOW FUNCTIONS`).
    pub fn from_entities(entities: &[Value]) -> Names {
        let mut names = Names::default();
        for e in entities {
            let arr = |key: &str| {
                e.get(key)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            for d in arr("sourceDescriptions") {
                push_str(&mut names.sources, d.get("name"));
                for f in d
                    .get("fields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    push_str(&mut names.columns, f.get("name"));
                }
            }
            for key in ["streams", "tables"] {
                for s in arr(key) {
                    push_str(&mut names.sources, s.get("name"));
                }
            }
            for f in arr("functions") {
                push_str(&mut names.functions, f.get("name"));
            }
        }
        for v in [&mut names.sources, &mut names.columns, &mut names.functions] {
            v.sort();
            v.dedup();
        }
        names
    }
}

fn push_str(v: &mut Vec<String>, s: Option<&Value>) {
    if let Some(s) = s.and_then(Value::as_str) {
        v.push(s.to_string());
    }
}

/// The rustyline helper of the shell.
pub struct ShellHelper {
    names: Arc<Mutex<Names>>,
    color: bool,
}

impl ShellHelper {
    /// A helper completing from `names`; `color` turns highlighting on.
    pub fn new(names: Arc<Mutex<Names>>, color: bool) -> Self {
        ShellHelper { names, color }
    }
}

/// Candidates for the word ending at `pos`: (start of the word, matches).
pub fn candidates(line: &str, pos: usize, names: &Names) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    if word.is_empty() {
        return (start, Vec::new());
    }
    let upper = word.to_ascii_uppercase();
    let lower_case = word.chars().all(|c| !c.is_ascii_uppercase());
    let mut out: Vec<String> = Vec::new();
    let names_iter = names
        .sources
        .iter()
        .chain(&names.columns)
        .chain(&names.functions)
        .filter(|n| n.to_ascii_uppercase().starts_with(&upper))
        .cloned();
    let keywords = KEYWORDS.iter().filter(|k| k.starts_with(&upper)).map(|k| {
        if lower_case {
            k.to_ascii_lowercase()
        } else {
            k.to_string()
        }
    });
    for c in names_iter.chain(keywords) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    (start, out)
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        Ok(candidates(line, pos, &names))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Validator for ShellHelper {}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight(line))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Helper for ShellHelper {}

/// Keywords in bold blue, string literals in green (ANSI colours).
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            let mut end = line.len();
            while let Some((j, d)) = chars.next() {
                if d == '\'' {
                    if chars.peek().map(|x| x.1) == Some('\'') {
                        chars.next();
                        continue;
                    }
                    end = j + 1;
                    break;
                }
            }
            out.push_str("\x1b[32m");
            out.push_str(&line[i..end]);
            out.push_str("\x1b[0m");
        } else if c.is_alphabetic() || c == '_' {
            let mut end = line.len();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' {
                    chars.next();
                } else {
                    end = j;
                    break;
                }
            }
            let word = &line[i..end];
            if KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
                out.push_str("\x1b[1;34m");
                out.push_str(word);
                out.push_str("\x1b[0m");
            } else {
                out.push_str(word);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn completes_names_and_keywords() {
        let names = Names::from_entities(&[
            json!({"@type":"source_descriptions","sourceDescriptions":[{"name":"PAGEVIEWS","fields":[{"name":"PAGEID"}]}]}),
            json!({"@type":"function_names","functions":[{"name":"SUBSTRING"}]}),
        ]);
        assert_eq!(
            candidates("SELECT * FROM PA", 16, &names),
            (
                14,
                vec!["PAGEVIEWS".into(), "PAGEID".into(), "PARTITION".into()]
            )
        );
        assert_eq!(candidates("sel", 3, &names).1, vec!["select".to_string()]);
        assert_eq!(
            candidates("SELECT SUBS", 11, &names).1,
            vec!["SUBSTRING".to_string()]
        );
        assert!(candidates("SELECT ", 7, &names).1.is_empty());
    }

    #[test]
    fn highlights_keywords_and_strings() {
        assert_eq!(
            highlight("select 'a' x"),
            "\x1b[1;34mselect\x1b[0m \x1b[32m'a'\x1b[0m x"
        );
    }
}
