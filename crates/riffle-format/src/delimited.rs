//! The DELIMITED format: one CSV record per Kafka record, parsed and printed as ksqlDB does with
//! commons-csv's `CSVFormat.DEFAULT.withDelimiter(d)` (`KsqlDelimitedDeserializer`,
//! `KsqlDelimitedSerializer`).
//!
//! Parsing: `"` quotes, `""` inside quotes is a quote, empty lines before the record are skipped,
//! only the first record is used, an empty field is null. Printing uses commons-csv's minimal
//! quoting, including its rule that quotes a record's first field when it does not start with a
//! letter or digit (so `-5` is written as `"-5"` when it is the first column).

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimestampMillisecondType,
};
use riffle_types::{Column, SqlType};

use crate::builder::ColumnBuilder;
use crate::java::{self, BigDec};
use crate::{FormatError, RowDecoder};

/// Splits a text into CSV records (commons-csv `Lexer` semantics, no escape character).
pub(crate) fn parse_records(text: &str, delim: char) -> Result<Vec<Vec<String>>, String> {
    let b = text.as_bytes();
    let n = b.len();
    let mut dbuf = [0u8; 4];
    let d: &[u8] = delim.encode_utf8(&mut dbuf).as_bytes();
    let is_delim = |i: usize| b[i..].starts_with(d);
    let mut records = Vec::new();
    let mut i = 0;
    let mut line = 1usize;
    loop {
        // Skip empty lines at the start of a record.
        while i < n && (b[i] == b'\n' || b[i] == b'\r') {
            line += eol(b, &mut i);
        }
        if i >= n {
            break;
        }
        let mut record = Vec::new();
        loop {
            let mut end_of_record = false;
            let field = if i < n && b[i] == b'"' {
                let start_line = line;
                let mut field = String::new();
                i += 1;
                let mut seg = i;
                loop {
                    if i >= n {
                        return Err(format!(
                            "(startline {start_line}) EOF reached before encapsulated token \
                             finished"
                        ));
                    }
                    if b[i] == b'"' {
                        field.push_str(&text[seg..i]);
                        if i + 1 < n && b[i + 1] == b'"' {
                            field.push('"');
                            i += 2;
                            seg = i;
                            continue;
                        }
                        i += 1;
                        // After the closing quote only whitespace may precede the delimiter.
                        loop {
                            if i >= n {
                                end_of_record = true;
                                break;
                            }
                            if is_delim(i) {
                                i += d.len();
                                break;
                            }
                            if b[i] == b'\n' || b[i] == b'\r' {
                                line += eol(b, &mut i);
                                end_of_record = true;
                                break;
                            }
                            let c = text[i..].chars().next().unwrap_or('\0');
                            if !is_java_whitespace(c) {
                                return Err(format!(
                                    "(line {line}) invalid char between encapsulated token and \
                                     delimiter"
                                ));
                            }
                            i += c.len_utf8();
                        }
                        break;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                field
            } else {
                let start = i;
                loop {
                    if i >= n {
                        end_of_record = true;
                        break;
                    }
                    if is_delim(i) {
                        break;
                    }
                    if b[i] == b'\n' || b[i] == b'\r' {
                        end_of_record = true;
                        break;
                    }
                    i += 1;
                }
                let field = text[start..i].to_string();
                if end_of_record {
                    if i < n {
                        line += eol(b, &mut i);
                    }
                } else {
                    i += d.len();
                }
                field
            };
            record.push(field);
            if end_of_record {
                break;
            }
        }
        records.push(record);
    }
    Ok(records)
}

/// Consumes one end of line (`\r\n`, `\r` or `\n`) at `i`; returns 1.
fn eol(b: &[u8], i: &mut usize) -> usize {
    if b[*i] == b'\r' && b.get(*i + 1) == Some(&b'\n') {
        *i += 1;
    }
    *i += 1;
    1
}

/// `Character.isWhitespace`.
fn is_java_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}'
    ) || (c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}' | '\u{85}'))
}

/// Decodes delimited records.
pub(crate) struct DelimitedDecoder<'a> {
    pub(crate) columns: &'a [Column],
    pub(crate) delimiter: char,
}

impl RowDecoder for DelimitedDecoder<'_> {
    fn decode_row(&mut self, bytes: &[u8], builders: &mut [ColumnBuilder]) -> Result<bool, String> {
        let text = String::from_utf8_lossy(bytes);
        let records = parse_records(&text, self.delimiter)?;
        let Some(record) = records.into_iter().next() else {
            return Err("No fields in record".to_string());
        };
        if record.len() != self.columns.len() {
            return Err(format!(
                "Column count mismatch on deserialization. expected: {}, got: {}",
                self.columns.len(),
                record.len()
            ));
        }
        for ((field, col), b) in record.iter().zip(self.columns).zip(builders.iter_mut()) {
            if field.is_empty() {
                b.append_null();
            } else {
                parse_field(&col.ty, field, b)?;
            }
        }
        Ok(true)
    }
}

fn number_error(s: &str) -> String {
    format!("For input string: \"{s}\"")
}

fn parse_field(ty: &SqlType, s: &str, b: &mut ColumnBuilder) -> Result<(), String> {
    match ty {
        // Boolean.parseBoolean: anything but "true" (any case) is false.
        SqlType::Boolean => b.push_bool(s.eq_ignore_ascii_case("true")),
        SqlType::Int | SqlType::Date | SqlType::Time => {
            b.push_i32(s.parse::<i32>().map_err(|_| number_error(s))?)
        }
        SqlType::Bigint | SqlType::Timestamp => {
            b.push_i64(s.parse::<i64>().map_err(|_| number_error(s))?)
        }
        SqlType::Double => b.push_f64(java::parse_java_double(s).ok_or_else(|| number_error(s))?),
        SqlType::Decimal { precision, scale } => {
            b.push_i128(BigDec::parse(s).and_then(|d| d.fit(*precision, *scale))?)
        }
        SqlType::String => b.push_str(s),
        SqlType::Bytes => b.push_bytes(
            &java::base64_decode(s)
                .ok_or_else(|| format!("Value is not a valid Base64 encoded string: {s}"))?,
        ),
        SqlType::Array(_) | SqlType::Map(_, _) | SqlType::Struct(_) => {
            return Err(format!(
                "The 'DELIMITED' format does not support type '{}'",
                crate::validate::base_type_name(ty)
            ))
        }
    }
    Ok(())
}

/// Serializes each row as one delimited line (no line terminator).
pub(crate) fn encode(
    columns: &[Column],
    arrays: &[ArrayRef],
    num_rows: usize,
    delimiter: char,
) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
    if columns.is_empty() {
        return Ok(vec![None; num_rows]);
    }
    let mut out = Vec::with_capacity(num_rows);
    let mut field = String::new();
    for row in 0..num_rows {
        let mut line = String::new();
        for (i, (col, a)) in columns.iter().zip(arrays).enumerate() {
            if i > 0 {
                line.push(delimiter);
            }
            if a.is_null(row) {
                continue;
            }
            field.clear();
            field_text(&col.ty, a.as_ref(), row, &mut field)?;
            print_quoted(&mut line, &field, i == 0, delimiter);
        }
        out.push(Some(line.into_bytes()));
    }
    Ok(out)
}

fn field_text(
    ty: &SqlType,
    a: &dyn Array,
    row: usize,
    out: &mut String,
) -> Result<(), FormatError> {
    use std::fmt::Write;
    match ty {
        SqlType::Boolean => out.push_str(if a.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        SqlType::Int => {
            let _ = write!(out, "{}", a.as_primitive::<Int32Type>().value(row));
        }
        SqlType::Date => {
            let _ = write!(out, "{}", a.as_primitive::<Date32Type>().value(row));
        }
        SqlType::Time => {
            let _ = write!(
                out,
                "{}",
                a.as_primitive::<Time32MillisecondType>().value(row)
            );
        }
        SqlType::Bigint => {
            let _ = write!(out, "{}", a.as_primitive::<Int64Type>().value(row));
        }
        SqlType::Timestamp => {
            let _ = write!(
                out,
                "{}",
                a.as_primitive::<TimestampMillisecondType>().value(row)
            );
        }
        SqlType::Double => out.push_str(&java::double_to_string(
            a.as_primitive::<Float64Type>().value(row),
        )),
        SqlType::Decimal { scale, .. } => out.push_str(&java::decimal_to_string(
            a.as_primitive::<Decimal128Type>().value(row),
            *scale,
        )),
        SqlType::String => out.push_str(a.as_string::<i32>().value(row)),
        SqlType::Bytes => out.push_str(&java::base64_encode(a.as_binary::<i32>().value(row))),
        SqlType::Array(_) | SqlType::Map(_, _) | SqlType::Struct(_) => {
            return Err(FormatError::Serialization(format!(
                "The 'DELIMITED' format does not support type '{}'",
                crate::validate::base_type_name(ty)
            )))
        }
    }
    Ok(())
}

/// commons-csv `printAndQuote` with `QuoteMode.MINIMAL`.
fn print_quoted(out: &mut String, value: &str, new_record: bool, delim: char) {
    let quote = match value.chars().next() {
        None => new_record,
        // A record's first field must start with a letter or digit; any field starting at or
        // below '#' is quoted; otherwise only special characters or a trailing space quote.
        Some(c) => {
            (new_record && !c.is_ascii_alphanumeric())
                || c <= '#'
                || value
                    .chars()
                    .any(|c| c == '\n' || c == '\r' || c == '"' || c == delim)
                || value.chars().last().is_some_and(|c| c <= ' ')
        }
    };
    if !quote {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Vec<String> {
        parse_records(text, ',')
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
    }

    #[test]
    fn parses_like_commons_csv() {
        assert_eq!(rec("a,b,c"), ["a", "b", "c"]);
        assert_eq!(rec("\"foo\",\"bar\""), ["foo", "bar"]);
        assert_eq!(rec("\"a \"\"q\"\" b\",x"), ["a \"q\" b", "x"]);
        assert_eq!(rec("a,"), ["a", ""]);
        assert_eq!(rec(",a"), ["", "a"]);
        assert_eq!(rec("\n\na,b\r\nc,d"), ["a", "b"]);
        assert_eq!(rec("\"multi\nline\",b"), ["multi\nline", "b"]);
        assert_eq!(rec("\"x\"  ,y"), ["x", "y"]);
        assert_eq!(rec("a\"b,c"), ["a\"b", "c"]);
        assert!(parse_records("", ',').unwrap().is_empty());
        assert!(parse_records("\n\n", ',').unwrap().is_empty());
        assert!(parse_records("\"open", ',')
            .unwrap_err()
            .contains("EOF reached"));
        assert!(parse_records("\"a\"b,c", ',')
            .unwrap_err()
            .contains("invalid char"));
        assert_eq!(
            parse_records("foo,bar;baz", ';').unwrap()[0],
            ["foo,bar", "baz"]
        );
    }

    #[test]
    fn quotes_minimally() {
        let q = |v: &str, first: bool| {
            let mut s = String::new();
            print_quoted(&mut s, v, first, ',');
            s
        };
        assert_eq!(q("abc", true), "abc");
        assert_eq!(q("-5", true), "\"-5\"");
        assert_eq!(q("-5", false), "-5");
        assert_eq!(q("!", false), "\"!\"");
        assert_eq!(q("a,b", false), "\"a,b\"");
        assert_eq!(q("say \"hi\"", false), "\"say \"\"hi\"\"\"");
        assert_eq!(q("", true), "\"\"");
        assert_eq!(q("", false), "");
        assert_eq!(q("trailing ", false), "\"trailing \"");
        assert_eq!(q("IQ==", false), "IQ==");
        assert_eq!(q("0.12", true), "0.12");
    }
}
