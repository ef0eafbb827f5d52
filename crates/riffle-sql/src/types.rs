//! ksqlDB column types: parsing, custom type references, and CAST targets.

use std::fmt;

use riffle_types::{SqlType, StructField};
use sqlparser::ast::{DataType, ExactNumberInfo, Ident, ObjectName, ObjectNamePart};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

use crate::error::{located, ParseError};
use crate::parser::helpers::{ident_name, ParserExt};

/// Deepest type nesting accepted (`ARRAY<ARRAY<...>>`), to bound recursion on hostile input.
const MAX_TYPE_DEPTH: usize = 64;

/// A type as written in a statement: either fully known, or mentioning custom type names
/// registered with `CREATE TYPE`, which only the engine can resolve.
///
/// The parser keeps the tree canonical: `Array`, `Map` and `Struct` are used only when some
/// part inside them is `Custom`; a type without custom names is always `Known`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// A type with no custom names in it.
    Known(SqlType),
    /// A custom type name (upper-cased unless it was quoted).
    Custom(String),
    /// `ARRAY<T>` where `T` mentions a custom type.
    Array(Box<TypeRef>),
    /// `MAP<K, V>` where `K` or `V` mentions a custom type.
    Map(Box<TypeRef>, Box<TypeRef>),
    /// `STRUCT<...>` where some field type mentions a custom type.
    Struct(Vec<(String, TypeRef)>),
}

impl TypeRef {
    /// `ARRAY<item>`, kept canonical.
    pub fn array(item: TypeRef) -> TypeRef {
        match item {
            TypeRef::Known(t) => TypeRef::Known(SqlType::Array(Box::new(t))),
            other => TypeRef::Array(Box::new(other)),
        }
    }

    /// `MAP<key, value>`, kept canonical.
    pub fn map(key: TypeRef, value: TypeRef) -> TypeRef {
        match (key, value) {
            (TypeRef::Known(k), TypeRef::Known(v)) => {
                TypeRef::Known(SqlType::Map(Box::new(k), Box::new(v)))
            }
            (k, v) => TypeRef::Map(Box::new(k), Box::new(v)),
        }
    }

    /// `STRUCT<fields>`, kept canonical.
    pub fn structure(fields: Vec<(String, TypeRef)>) -> TypeRef {
        if fields.iter().all(|(_, t)| matches!(t, TypeRef::Known(_))) {
            let fields = fields
                .into_iter()
                .filter_map(|(name, t)| match t {
                    TypeRef::Known(ty) => Some(StructField { name, ty }),
                    _ => None,
                })
                .collect();
            TypeRef::Known(SqlType::Struct(fields))
        } else {
            TypeRef::Struct(fields)
        }
    }

    /// The type, if it mentions no custom type.
    pub fn known(&self) -> Option<&SqlType> {
        match self {
            TypeRef::Known(t) => Some(t),
            _ => None,
        }
    }

    /// Resolves custom type names through `lookup`; the error names the first unknown type.
    pub fn resolve(&self, lookup: &dyn Fn(&str) -> Option<SqlType>) -> Result<SqlType, String> {
        Ok(match self {
            TypeRef::Known(t) => t.clone(),
            TypeRef::Custom(name) => lookup(name).ok_or_else(|| name.clone())?,
            TypeRef::Array(item) => SqlType::Array(Box::new(item.resolve(lookup)?)),
            TypeRef::Map(k, v) => {
                SqlType::Map(Box::new(k.resolve(lookup)?), Box::new(v.resolve(lookup)?))
            }
            TypeRef::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|(name, t)| {
                        Ok(StructField {
                            name: name.clone(),
                            ty: t.resolve(lookup)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        })
    }
}

/// Quotes a name with back-quotes unless it reads back unchanged without them.
fn quote_if_needed(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if plain && base_type(name).is_none() && !is_type_keyword(name) {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

fn is_type_keyword(name: &str) -> bool {
    matches!(name, "ARRAY" | "MAP" | "STRUCT" | "DECIMAL")
}

impl fmt::Display for TypeRef {
    /// ksqlDB's spelling; parses back to the same `TypeRef`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Known(t) => write!(f, "{t}"),
            TypeRef::Custom(name) => f.write_str(&quote_if_needed(name)),
            TypeRef::Array(t) => write!(f, "ARRAY<{t}>"),
            TypeRef::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            TypeRef::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}` {t}", name.replace('`', "``"))?;
                }
                f.write_str(">")
            }
        }
    }
}

/// The built-in scalar type of an (upper-case) base type name.
fn base_type(name: &str) -> Option<SqlType> {
    Some(match name {
        "BOOLEAN" => SqlType::Boolean,
        "INT" | "INTEGER" => SqlType::Int,
        "BIGINT" => SqlType::Bigint,
        "DOUBLE" => SqlType::Double,
        "STRING" | "VARCHAR" => SqlType::String,
        "BYTES" => SqlType::Bytes,
        "DATE" => SqlType::Date,
        "TIME" => SqlType::Time,
        "TIMESTAMP" => SqlType::Timestamp,
        _ => return None,
    })
}

/// Skips the `(param, ...)` ksqlDB's grammar allows after any base type name (e.g. the legacy
/// `VARCHAR(STRING)`); parameters are integers or `STRING` and carry no meaning.
fn skip_type_parameters(p: &mut Parser) -> Result<(), ParserError> {
    if !p.consume_token(&Token::LParen) {
        return Ok(());
    }
    loop {
        match &p.peek_token_ref().token {
            Token::Number(..) => p.advance_token(),
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("STRING") => {
                p.advance_token()
            }
            _ => return p.fail("an integer or 'STRING' type parameter"),
        }
        if !p.consume_token(&Token::Comma) {
            return p.expect_tok(&Token::RParen, "',' or ')'");
        }
    }
}

/// Parses a ksqlDB type at the parser's position.
pub(crate) fn parse_type(p: &mut Parser) -> Result<TypeRef, ParserError> {
    let mut tp = TypeParser {
        pending_gt: 0,
        last_shift: None,
    };
    let t = tp.parse(p, 0)?;
    if tp.pending_gt > 0 {
        let loc = tp.last_shift.unwrap_or(Location::new(0, 0));
        return Err(located("mismatched input '>' expecting ',' or ')'", loc));
    }
    Ok(t)
}

/// Type parser state: `>>` is one token to sqlparser, so closing two nested types with it
/// leaves one `>` pending for the enclosing type.
struct TypeParser {
    pending_gt: usize,
    last_shift: Option<Location>,
}

impl TypeParser {
    fn open(&mut self, p: &mut Parser) -> Result<(), ParserError> {
        if self.pending_gt > 0 {
            return p.fail("'<'");
        }
        p.expect_tok(&Token::Lt, "'<'")
    }

    fn close(&mut self, p: &mut Parser) -> Result<(), ParserError> {
        if self.pending_gt > 0 {
            self.pending_gt -= 1;
            return Ok(());
        }
        let tok = p.peek_token();
        match tok.token {
            Token::Gt => {
                p.advance_token();
                Ok(())
            }
            Token::ShiftRight => {
                p.advance_token();
                self.pending_gt += 1;
                self.last_shift = Some(tok.span.start);
                Ok(())
            }
            _ => p.fail("'>'"),
        }
    }

    fn comma(&mut self, p: &mut Parser) -> Result<bool, ParserError> {
        if self.pending_gt > 0 {
            return Ok(false);
        }
        Ok(p.consume_token(&Token::Comma))
    }

    fn parse(&mut self, p: &mut Parser, depth: usize) -> Result<TypeRef, ParserError> {
        if depth > MAX_TYPE_DEPTH {
            return p.fail_msg("type is too deeply nested");
        }
        let tok = p.peek_token();
        let (value, quote) = match &tok.token {
            // NULL is a reserved word, never a type name.
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NULL") => {
                return p.fail("a data type")
            }
            Token::Word(w) => (w.value.clone(), w.quote_style),
            _ => return p.fail("a data type"),
        };
        p.advance_token();
        let upper = value.to_uppercase();
        if quote.is_some() {
            // A quoted name is always a custom type, case kept.
            return Ok(TypeRef::Custom(value));
        }
        match upper.as_str() {
            "ARRAY" => {
                self.open(p)?;
                let item = self.parse(p, depth + 1)?;
                self.close(p)?;
                Ok(TypeRef::array(item))
            }
            "MAP" => {
                self.open(p)?;
                let k = self.parse(p, depth + 1)?;
                if !self.comma(p)? {
                    return p.fail("','");
                }
                let v = self.parse(p, depth + 1)?;
                self.close(p)?;
                Ok(TypeRef::map(k, v))
            }
            "STRUCT" => {
                if self.pending_gt == 0 && p.consume_token(&Token::Neq) {
                    return Ok(TypeRef::structure(vec![]));
                }
                self.open(p)?;
                let mut fields = Vec::new();
                if !matches!(p.peek_token_ref().token, Token::Gt | Token::ShiftRight) {
                    loop {
                        let name = p.parse_name("a struct field name")?;
                        let t = self.parse(p, depth + 1)?;
                        fields.push((name, t));
                        if !self.comma(p)? {
                            break;
                        }
                    }
                }
                self.close(p)?;
                Ok(TypeRef::structure(fields))
            }
            "DECIMAL" => {
                p.expect_tok(&Token::LParen, "'('")?;
                let loc = p.peek_token_ref().span.start;
                let precision = p.parse_uint("the DECIMAL precision")?;
                p.expect_tok(&Token::Comma, "','")?;
                let scale = p.parse_uint("the DECIMAL scale")?;
                p.expect_tok(&Token::RParen, "')'")?;
                let (pr, sc) = (u8::try_from(precision), i8::try_from(scale));
                match (pr, sc) {
                    (Ok(pr), Ok(sc)) => SqlType::decimal(pr, sc)
                        .map(TypeRef::Known)
                        .map_err(|e| located(e, loc)),
                    _ => Err(located(
                        format!(
                            "DECIMAL precision must be between 1 and 38 and scale between 0 \
                             and precision, got DECIMAL({precision}, {scale})"
                        ),
                        loc,
                    )),
                }
            }
            other => {
                skip_type_parameters(p)?;
                match base_type(other) {
                    Some(t) => Ok(TypeRef::Known(t)),
                    None => Ok(TypeRef::Custom(ident_name(&value, quote))),
                }
            }
        }
    }
}

/// The sqlparser [`DataType`] this crate puts in `Expr::Cast` for a ksqlDB CAST target.
///
/// Every CAST produced by [`crate::parse_expression`] and the statement parser carries
/// `DataType::Custom(ObjectName([Ident(text)]), [])` where `text` is the canonical ksqlDB
/// spelling of the target type (`INTEGER`, `DECIMAL(4, 2)`, ``STRUCT<`A` INTEGER>``,
/// `ARRAY<MY_TYPE>`, ...). Read it back with [`cast_target_type`] / [`cast_target_type_ref`].
pub fn cast_data_type(t: &TypeRef) -> DataType {
    DataType::Custom(ObjectName::from(vec![Ident::new(t.to_string())]), vec![])
}

/// The ksqlDB type of any CAST target: the `DataType::Custom` form this crate produces (see
/// [`cast_data_type`]) or a plain sqlparser type (`INT`, `BIGINT`, `DOUBLE`, `BOOLEAN`,
/// `VARCHAR`/`STRING`/`TEXT`, `BYTES`/`BYTEA`, `DATE`, `TIME`, `TIMESTAMP`, `DECIMAL(p, s)`).
/// `None` when the target names a custom type (use [`cast_target_type_ref`]) or is not a
/// ksqlDB type.
pub fn cast_target_type(dt: &DataType) -> Option<SqlType> {
    match cast_target_type_ref(dt)? {
        TypeRef::Known(t) => Some(t),
        _ => None,
    }
}

/// Like [`cast_target_type`] but keeps custom type names for the engine to resolve.
pub fn cast_target_type_ref(dt: &DataType) -> Option<TypeRef> {
    let known = |t: SqlType| Some(TypeRef::Known(t));
    match dt {
        DataType::Custom(name, modifiers) if modifiers.is_empty() => match name.0.as_slice() {
            [ObjectNamePart::Identifier(id)] => crate::parse_type_ref(&id.value).ok(),
            _ => None,
        },
        DataType::Int(_) | DataType::Integer(_) | DataType::Int32 => known(SqlType::Int),
        DataType::BigInt(_) | DataType::Int64 => known(SqlType::Bigint),
        DataType::Double(_) | DataType::Float64 => known(SqlType::Double),
        DataType::Boolean | DataType::Bool => known(SqlType::Boolean),
        DataType::Varchar(_) | DataType::String(_) | DataType::Text => known(SqlType::String),
        DataType::Bytes(_) | DataType::Bytea => known(SqlType::Bytes),
        DataType::Date => known(SqlType::Date),
        DataType::Time(..) => known(SqlType::Time),
        DataType::Timestamp(..) => known(SqlType::Timestamp),
        DataType::Decimal(ExactNumberInfo::PrecisionAndScale(p, s))
        | DataType::Numeric(ExactNumberInfo::PrecisionAndScale(p, s)) => {
            let (p, s) = (u8::try_from(*p).ok()?, i8::try_from(*s).ok()?);
            SqlType::decimal(p, s).ok().map(TypeRef::Known)
        }
        _ => None,
    }
}

/// Parses a type from text (helper for [`crate::parse_data_type`]).
pub(crate) fn parse_type_text(s: &str) -> Result<TypeRef, ParseError> {
    crate::parser::parse_fragment(s, parse_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_data_type, parse_type_ref};

    fn int() -> SqlType {
        SqlType::Int
    }

    #[test]
    fn scalars_and_aliases() {
        for (s, t) in [
            ("INT", int()),
            ("integer", int()),
            ("BIGINT", SqlType::Bigint),
            ("double", SqlType::Double),
            ("BOOLEAN", SqlType::Boolean),
            ("VARCHAR", SqlType::String),
            ("STRING", SqlType::String),
            ("BYTES", SqlType::Bytes),
            ("DATE", SqlType::Date),
            ("TIME", SqlType::Time),
            ("TIMESTAMP", SqlType::Timestamp),
            ("DECIMAL(4,2)", SqlType::decimal(4, 2).unwrap()),
            ("VARCHAR(STRING)", SqlType::String),
            ("INT(10)", int()),
        ] {
            assert_eq!(parse_data_type(s).unwrap(), t, "{s}");
        }
    }

    #[test]
    fn nested_types_and_shift_right() {
        let t = parse_data_type("ARRAY<STRUCT<`a` INT, b MAP<STRING, ARRAY<INT>>>>").unwrap();
        assert_eq!(
            t.to_string(),
            "ARRAY<STRUCT<`a` INTEGER, `B` MAP<STRING, ARRAY<INTEGER>>>>"
        );
        assert_eq!(
            parse_data_type("STRUCT<>").unwrap(),
            SqlType::Struct(vec![])
        );
        assert_eq!(
            parse_data_type("ARRAY<STRUCT<>>").unwrap(),
            SqlType::Array(Box::new(SqlType::Struct(vec![])))
        );
        assert!(parse_data_type("ARRAY<INT>>").is_err());
        assert!(parse_data_type("ARRAY<INT").is_err());
        assert!(parse_data_type("MAP<INT>").is_err());
    }

    #[test]
    fn custom_types() {
        let t = parse_type_ref("ARRAY<my_type>").unwrap();
        assert_eq!(
            t,
            TypeRef::Array(Box::new(TypeRef::Custom("MY_TYPE".into())))
        );
        assert_eq!(t.to_string(), "ARRAY<MY_TYPE>");
        assert_eq!(parse_type_ref(&t.to_string()).unwrap(), t);
        let q = parse_type_ref("`Mixed`").unwrap();
        assert_eq!(q, TypeRef::Custom("Mixed".into()));
        assert_eq!(parse_type_ref(&q.to_string()).unwrap(), q);
        let resolved = t
            .resolve(&|n| (n == "MY_TYPE").then_some(SqlType::Int))
            .unwrap();
        assert_eq!(resolved, SqlType::Array(Box::new(int())));
        let err = parse_data_type("FOO").unwrap_err();
        assert!(err.to_string().contains("FOO"), "{err}");
    }

    #[test]
    fn decimal_errors() {
        let e = parse_data_type("DECIMAL(0, 0)").unwrap_err();
        assert!(e.message.contains("precision"), "{e}");
        assert!(parse_data_type("DECIMAL(400, 1)").is_err());
        assert!(parse_data_type("DECIMAL").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "ARRAY<".repeat(5000) + "INT" + &">".repeat(5000);
        assert!(parse_data_type(&s).is_err());
    }

    #[test]
    fn cast_targets_round_trip() {
        let t = parse_type_ref("MAP<STRING, DECIMAL(4, 2)>").unwrap();
        let dt = cast_data_type(&t);
        assert_eq!(cast_target_type_ref(&dt), Some(t.clone()));
        assert_eq!(cast_target_type(&dt), t.known().cloned());
        assert_eq!(
            cast_target_type(&DataType::BigInt(None)),
            Some(SqlType::Bigint)
        );
    }
}
