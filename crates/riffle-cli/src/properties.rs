//! Java `.properties` files, as ksqlDB's `ksql-server.properties` is written.

use std::collections::BTreeMap;

/// Parses Java properties text: `key=value`, `key: value` or `key value` lines; `#` and `!`
/// comments; `\` line continuations; `\t`, `\n`, `\uXXXX` and other backslash escapes. Later
/// keys override earlier ones.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let mut line = line.trim_start().to_string();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // A line ending in an odd number of backslashes continues on the next line.
        while ends_with_continuation(&line) {
            line.pop();
            logical.push_str(&line);
            line = match lines.next() {
                Some(next) => next.trim_start().to_string(),
                None => String::new(),
            };
        }
        logical.push_str(&line);
        let (key, value) = split_key_value(&logical);
        if !key.is_empty() {
            out.insert(unescape(&key), unescape(&value));
        }
        logical.clear();
    }
    out
}

fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace.
fn split_key_value(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' => {
                let key: String = chars[..i].iter().collect();
                let value: String = chars[i + 1..].iter().collect();
                return (key.trim_end().to_string(), value.trim_start().to_string());
            }
            c if c.is_whitespace() => {
                let key: String = chars[..i].iter().collect();
                let mut rest: String = chars[i..]
                    .iter()
                    .collect::<String>()
                    .trim_start()
                    .to_string();
                if rest.starts_with('=') || rest.starts_with(':') {
                    rest = rest[1..].trim_start().to_string();
                }
                return (key, rest);
            }
            _ => i += 1,
        }
    }
    (line.to_string(), String::new())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_properties() {
        let p = parse(
            "# comment\n! also\nlisteners=http://0.0.0.0:8088\nksql.service.id : my_\n\
             long = a \\\n    b\nspaced value here\nescaped\\=key=v\\tx\nempty=\n",
        );
        assert_eq!(p["listeners"], "http://0.0.0.0:8088");
        assert_eq!(p["ksql.service.id"], "my_");
        assert_eq!(p["long"], "a b");
        assert_eq!(p["spaced"], "value here");
        assert_eq!(p["escaped=key"], "v\tx");
        assert_eq!(p["empty"], "");
    }
}
