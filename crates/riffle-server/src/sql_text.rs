//! Just enough lexing of request SQL for the server's own decisions: splitting a request into
//! statements, spotting `SELECT` / `PRINT` (which belong to the streaming endpoints), telling
//! pull from push queries, and parsing `PRINT`, which the server runs itself.
//!
//! The engine parses statements properly; this lexer only has to agree with it on where strings,
//! quoted identifiers and comments start and end.

/// A lexical token of ksql text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// An unquoted identifier or keyword, as written.
    Word(String),
    /// A back-quoted or double-quoted identifier, unquoted.
    Quoted(String),
    /// A single-quoted string literal, unquoted (`''` becomes `'`).
    Str(String),
    /// An unsigned number literal, as written.
    Number(String),
    /// Any other character.
    Symbol(char),
}

/// One statement of a request.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    /// The statement text, trimmed, with its terminating `;` when it had one.
    pub(crate) text: String,
    /// Its tokens, without the terminating `;`.
    pub(crate) tokens: Vec<Token>,
}

impl Statement {
    /// The first token, upper-cased, when it is a word.
    pub(crate) fn keyword(&self) -> Option<String> {
        match self.tokens.first() {
            Some(Token::Word(w)) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Whether the statement is a query (`SELECT …`).
    pub(crate) fn is_select(&self) -> bool {
        self.keyword().as_deref() == Some("SELECT")
    }

    /// Whether the statement is `PRINT …`.
    pub(crate) fn is_print(&self) -> bool {
        self.keyword().as_deref() == Some("PRINT")
    }

    /// Whether the unquoted word `kw` occurs anywhere in the statement.
    pub(crate) fn has_word(&self, kw: &str) -> bool {
        self.tokens
            .iter()
            .any(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case(kw)))
    }

    /// A `SELECT` without `EMIT` is a pull query: it answers once and ends.
    pub(crate) fn is_pull_query(&self) -> bool {
        self.is_select() && !self.has_word("EMIT")
    }
}

/// Splits `sql` into statements at top-level `;`. Blank statements are dropped.
pub(crate) fn split(sql: &str) -> Vec<Statement> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let finish = |out: &mut Vec<Statement>, tokens: &mut Vec<Token>, from: usize, to: usize| {
        let text: String = chars[from..to].iter().collect();
        let text = text.trim().to_string();
        if !tokens.is_empty() {
            out.push(Statement {
                text,
                tokens: std::mem::take(tokens),
            });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ';' => {
                finish(&mut out, &mut tokens, start, i + 1);
                i += 1;
                start = i;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i = (i + 2).min(chars.len());
            }
            '\'' | '`' | '"' => {
                let (value, next) = quoted(&chars, i, c);
                tokens.push(if c == '\'' {
                    Token::Str(value)
                } else {
                    Token::Quoted(value)
                });
                i = next;
            }
            c if c.is_whitespace() => i += 1,
            c if c.is_ascii_digit() => {
                let begin = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                tokens.push(Token::Number(chars[begin..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let begin = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '@')
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[begin..i].iter().collect()));
            }
            other => {
                tokens.push(Token::Symbol(other));
                i += 1;
            }
        }
    }
    finish(&mut out, &mut tokens, start, chars.len());
    out
}

/// Reads a quoted token starting at `chars[at] == quote`; a doubled quote is an escaped quote.
/// Returns the unquoted text and the index after the closing quote (or the end of input).
fn quoted(chars: &[char], at: usize, quote: char) -> (String, usize) {
    let mut value = String::new();
    let mut i = at + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                value.push(quote);
                i += 2;
                continue;
            }
            return (value, i + 1);
        }
        value.push(chars[i]);
        i += 1;
    }
    (value, i)
}

/// A parsed `PRINT` statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrintTopic {
    /// Topic name, case preserved (ksqlDB treats PRINT topic names as case-sensitive).
    pub(crate) topic: String,
    /// `FROM BEGINNING`.
    pub(crate) from_beginning: bool,
    /// `INTERVAL n` / `SAMPLE n`: print every n-th record (at least 1).
    pub(crate) interval: u64,
    /// `LIMIT n`.
    pub(crate) limit: Option<u64>,
}

/// Parses `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`.
pub(crate) fn parse_print(stmt: &Statement) -> Result<PrintTopic, String> {
    let mut it = stmt.tokens.iter().skip(1).peekable();
    let topic = match it.next() {
        Some(Token::Word(w)) | Some(Token::Quoted(w)) | Some(Token::Str(w)) => w.clone(),
        Some(other) => return Err(format!("Syntax error in PRINT: unexpected {}", show(other))),
        None => return Err("Syntax error in PRINT: missing topic name".into()),
    };
    let mut print = PrintTopic {
        topic,
        from_beginning: false,
        interval: 1,
        limit: None,
    };
    let is_word = |t: Option<&&Token>, kw: &str| matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw));
    if is_word(it.peek(), "FROM") {
        it.next();
        if !is_word(it.peek(), "BEGINNING") {
            return Err("Syntax error in PRINT: expected BEGINNING after FROM".into());
        }
        it.next();
        print.from_beginning = true;
    }
    if is_word(it.peek(), "INTERVAL") || is_word(it.peek(), "SAMPLE") {
        it.next();
        let n = number(it.next(), "INTERVAL")?;
        if n < 1 {
            return Err(format!("INTERVAL must be greater than one, but was: {n}"));
        }
        print.interval = n;
    }
    if is_word(it.peek(), "LIMIT") {
        it.next();
        print.limit = Some(number(it.next(), "LIMIT")?);
    }
    if let Some(extra) = it.next() {
        return Err(format!("Syntax error in PRINT: unexpected {}", show(extra)));
    }
    Ok(print)
}

fn number(token: Option<&Token>, clause: &str) -> Result<u64, String> {
    match token {
        Some(Token::Number(n)) => n
            .parse::<u64>()
            .map_err(|_| format!("Value must be integer for command: {clause}")),
        _ => Err(format!(
            "Syntax error in PRINT: expected a number after {clause}"
        )),
    }
}

fn show(token: &Token) -> String {
    match token {
        Token::Word(w) | Token::Number(w) => format!("'{w}'"),
        Token::Quoted(w) => format!("'`{w}`'"),
        Token::Str(w) => format!("'''{w}'''"),
        Token::Symbol(c) => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let stmts = split(
            "CREATE STREAM A (X STRING) WITH (kafka_topic='a;b'); -- c;\n SELECT `x;y` FROM A; /* ; */",
        );
        assert_eq!(stmts.len(), 2);
        assert_eq!(
            stmts[0].text,
            "CREATE STREAM A (X STRING) WITH (kafka_topic='a;b');"
        );
        assert!(stmts[1].is_select());
        assert!(stmts[1].is_pull_query());
        assert_eq!(stmts[1].tokens[1], Token::Quoted("x;y".into()));
    }

    #[test]
    fn push_queries_have_emit() {
        let s = &split("select * from s emit changes limit 2;")[0];
        assert!(s.is_select() && !s.is_pull_query());
    }

    #[test]
    fn parses_print() {
        let s = &split("PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10;")[0];
        assert_eq!(
            parse_print(s),
            Ok(PrintTopic {
                topic: "my-topic".into(),
                from_beginning: true,
                interval: 2,
                limit: Some(10)
            })
        );
        let s = &split("print pageviews limit 3")[0];
        let p = parse_print(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.topic, "pageviews");
        assert_eq!(p.limit, Some(3));
        assert!(parse_print(&split("PRINT t FROM")[0]).is_err());
        assert!(parse_print(&split("PRINT t INTERVAL 0")[0]).is_err());
    }
}
