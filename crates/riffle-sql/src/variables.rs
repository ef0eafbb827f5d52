//! ksqlDB variable substitution: `${name}` references to `DEFINE`d variables.
//!
//! Behaviour (after ksqlDB's `VariableSubstitutor`):
//! * names match `[A-Za-z_][A-Za-z0-9_@]*` and are looked up case-insensitively;
//! * outside quotes, a reference is replaced by the value as written; the value must read as a
//!   single literal or identifier (a quoted string, a number, `TRUE`/`FALSE`, or a plain,
//!   back-quoted or double-quoted identifier), so a value cannot inject extra SQL; an unknown
//!   variable is an error naming it;
//! * inside a single-quoted string, a known reference is replaced with its value's quotes
//!   doubled (so the string stays one literal) and an unknown one is left as written, as
//!   ksqlDB does (`'${not_defined}'` is an ordinary string);
//! * inside quoted identifiers known references are replaced and unknown ones left alone;
//!   comments are left untouched;
//! * `$${name}` escapes a reference: it yields the text `${name}`.

use std::collections::HashMap;

use crate::error::ParseError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Code,
    Str,
    Quoted(char),
    LineComment,
    BlockComment,
}

/// Replaces `${var}` references in `sql` (see the module docs for the rules).
pub fn substitute_variables(
    sql: &str,
    vars: &HashMap<String, String>,
) -> Result<String, ParseError> {
    let lookup = |name: &str| {
        vars.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let (mut line, mut col) = (1u64, 1u64);
    let mut mode = Mode::Code;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let mut consumed = 1;
        match mode {
            Mode::Code | Mode::Str | Mode::Quoted(_) if c == '$' => {
                if next == Some('$') && chars.get(i + 2) == Some(&'{') {
                    out.push('$');
                    consumed = 2; // `$$` → `$`, then `{` is copied as text
                } else if let Some((name, len)) = reference_at(&chars, i) {
                    match (lookup(&name), mode) {
                        (Some(v), Mode::Str) => out.push_str(&v.replace('\'', "''")),
                        (Some(v), Mode::Code) => {
                            if !is_single_token(v) {
                                return Err(ParseError::new(
                                    format!("Illegal argument for variable '{name}'. Got: '{v}'"),
                                    line,
                                    col,
                                ));
                            }
                            out.push_str(v);
                        }
                        (Some(v), _) => out.push_str(v),
                        (None, Mode::Code) => {
                            return Err(ParseError::new(
                                format!("Variable '{name}' is not defined"),
                                line,
                                col,
                            ))
                        }
                        (None, _) => out.extend(&chars[i..i + len]),
                    }
                    consumed = len;
                } else {
                    out.push(c);
                }
            }
            _ => {
                out.push(c);
                mode = next_mode(mode, c, next, &mut consumed, &mut out);
            }
        }
        for &ch in &chars[i..(i + consumed).min(chars.len())] {
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        i += consumed;
    }
    Ok(out)
}

/// The lexer state after `c` (already copied to `out`); may copy and consume `next` too.
fn next_mode(
    mode: Mode,
    c: char,
    next: Option<char>,
    consumed: &mut usize,
    out: &mut String,
) -> Mode {
    let mut take_next = |out: &mut String| {
        if let Some(n) = next {
            out.push(n);
            *consumed = 2;
        }
    };
    match mode {
        Mode::Code => match (c, next) {
            ('\'', _) => Mode::Str,
            ('`', _) | ('"', _) => Mode::Quoted(c),
            ('-', Some('-')) => {
                take_next(out);
                Mode::LineComment
            }
            ('/', Some('*')) => {
                take_next(out);
                Mode::BlockComment
            }
            _ => Mode::Code,
        },
        Mode::Str | Mode::Quoted(_) => {
            let q = if let Mode::Quoted(q) = mode { q } else { '\'' };
            if c != q {
                mode
            } else if next == Some(q) {
                take_next(out); // doubled quote: still inside
                mode
            } else {
                Mode::Code
            }
        }
        Mode::LineComment if c == '\n' => Mode::Code,
        Mode::BlockComment if c == '*' && next == Some('/') => {
            take_next(out);
            Mode::Code
        }
        other => other,
    }
}

/// A `${name}` reference starting at `i`: its name and length in chars.
fn reference_at(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i + 1) != Some(&'{') {
        return None;
    }
    let mut j = i + 2;
    let first = *chars.get(j)?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    while let Some(&c) = chars.get(j) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '@' {
            j += 1;
        } else {
            break;
        }
    }
    if chars.get(j) != Some(&'}') {
        return None;
    }
    Some((chars[i + 2..j].iter().collect(), j + 1 - i))
}

/// True when `v` reads as exactly one literal or identifier token.
fn is_single_token(v: &str) -> bool {
    let v = v.trim();
    let quoted = |q: char| {
        v.len() >= 2
            && v.starts_with(q)
            && v.ends_with(q)
            && !v[1..v.len() - 1]
                .replace(&format!("{q}{q}"), "")
                .contains(q)
    };
    if quoted('\'') || quoted('`') || quoted('"') {
        return true;
    }
    let ident = v
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && v.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '@');
    let number = v.strip_prefix('-').unwrap_or(v);
    let number = !number.is_empty()
        && number.parse::<f64>().is_ok_and(f64::is_finite)
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || ".eE+-".contains(c));
    ident || number
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_identifiers_literals_and_strings() {
        let v = vars(&[
            ("topic", "t1"),
            ("Stream", "s1"),
            ("n", "42"),
            ("q", "it's"),
        ]);
        let sql =
            "CREATE STREAM ${stream} WITH (kafka_topic='${TOPIC}', partitions=${n}, x='${q}');";
        assert_eq!(
            substitute_variables(sql, &v).unwrap(),
            "CREATE STREAM s1 WITH (kafka_topic='t1', partitions=42, x='it''s');"
        );
    }

    #[test]
    fn unknown_variables() {
        let v = vars(&[]);
        let e = substitute_variables("SELECT ${missing} FROM s;", &v).unwrap_err();
        assert!(e.message.contains("missing"), "{e}");
        assert_eq!((e.line, e.column), (1, 8));
        assert_eq!(
            substitute_variables("SELECT '${missing}' FROM s;", &v).unwrap(),
            "SELECT '${missing}' FROM s;"
        );
    }

    #[test]
    fn escapes_comments_and_injection() {
        let v = vars(&[("x", "1; DROP STREAM s"), ("y", "`a b`")]);
        assert_eq!(
            substitute_variables("SELECT $${x}, ${y} -- ${x}\n FROM s;", &v).unwrap(),
            "SELECT ${x}, `a b` -- ${x}\n FROM s;"
        );
        assert!(substitute_variables("SELECT ${x} FROM s;", &v).is_err());
        assert_eq!(
            substitute_variables("a $ {b} ${", &v).unwrap(),
            "a $ {b} ${"
        );
    }
}
