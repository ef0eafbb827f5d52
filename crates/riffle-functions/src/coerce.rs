//! ksqlDB's coercion of user-supplied expression lists (`CoercionUtil.coerceUserList`), used by
//! `IN` lists and the `ARRAY[...]` and `MAP(...)` constructors.
//!
//! The common type is found left to right: numeric types widen, string literals holding numbers
//! or booleans adopt the numeric or boolean type (failing with
//! `invalid input syntax for type T: "v".` otherwise), constructors are resolved element-wise and
//! structs take the union of their fields. Literals are then converted to the common type at
//! planning time and other expressions are cast. DataFusion instead coerces to its own common
//! type (often STRING) without these checks.

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{DFSchema, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::Expr;

use crate::cast::{cast, parse_bool_strict};
use crate::dec;
use crate::planner::{cast_to, ty};
use crate::text::ksql_text;
use crate::types::{
    as_decimal, can_implicitly_cast, canonical, is_decimal, is_double, is_numeric, is_string,
    list_item, list_of, map_of, map_types, type_name, widen_decimal, wider_numeric, BIGINT, DOUBLE,
    INT,
};

/// The outcome of coercing a list.
#[derive(Debug)]
pub struct Coerced {
    /// The common type; None when every element is a NULL literal.
    pub common: Option<DataType>,
    /// The elements, converted to the common type.
    pub exprs: Vec<Expr>,
}

/// Why a list could not be coerced: a type mismatch (which an enclosing constructor reports
/// with its own types) or any other error.
enum Failure {
    Mismatch(String),
    Other(DataFusionError),
}

impl From<DataFusionError> for Failure {
    fn from(e: DataFusionError) -> Self {
        Failure::Other(e)
    }
}

type Res<T> = std::result::Result<T, Failure>;

/// The shape of an element, as ksqlDB's coercion distinguishes them.
enum Kind<'a> {
    NullLiteral,
    StringLiteral(&'a str),
    Literal,
    Array(&'a [Expr]),
    Map(&'a [Expr], &'a [Expr]),
    Struct(Vec<(String, &'a Expr)>),
    Other,
}

fn kind(e: &Expr) -> Kind<'_> {
    match e {
        Expr::Literal(v, _) if v.is_null() => Kind::NullLiteral,
        Expr::Literal(ScalarValue::Utf8(Some(s)), _) => Kind::StringLiteral(s),
        Expr::Literal(_, _) => Kind::Literal,
        Expr::ScalarFunction(f) => match f.name() {
            "make_array" => Kind::Array(&f.args),
            "map" => match f.args.as_slice() {
                [Expr::ScalarFunction(k), Expr::ScalarFunction(v)]
                    if k.name() == "make_array" && v.name() == "make_array" =>
                {
                    Kind::Map(&k.args, &v.args)
                }
                _ => Kind::Other,
            },
            "named_struct" => Kind::Struct(
                f.args
                    .chunks(2)
                    .filter_map(|kv| match kv {
                        [Expr::Literal(ScalarValue::Utf8(Some(name)), _), v] => {
                            Some((name.clone(), v))
                        }
                        _ => None,
                    })
                    .collect(),
            ),
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// Coerces `exprs` to their common type.
pub fn coerce_list(exprs: Vec<Expr>, schema: &DFSchema) -> Result<Coerced> {
    let mut common: Option<DataType> = None;
    for e in &exprs {
        common = resolve(e, common, schema).map_err(|f| match f {
            Failure::Mismatch(m) => DataFusionError::Plan(m),
            Failure::Other(e) => e,
        })?;
    }
    let Some(common) = common else {
        return Ok(Coerced {
            common: None,
            exprs,
        });
    };
    let exprs = exprs
        .into_iter()
        .map(|e| convert(e, &common, schema))
        .collect::<Result<Vec<_>>>()?;
    Ok(Coerced {
        common: Some(common),
        exprs,
    })
}

fn type_of(e: &Expr, schema: &DFSchema) -> Result<Option<DataType>> {
    let t = ty(e, schema)?;
    Ok((t != DataType::Null).then(|| canonical(&t)))
}

fn mismatch(e: &Expr, source: &DataType, target: &DataType) -> Failure {
    Failure::Mismatch(format!(
        "operator does not exist: {} = {} ({})\nHint: You might need to add explicit type casts.",
        type_name(target),
        type_name(source),
        ksql_text(e)
    ))
}

fn invalid_syntax(value: &str, target: &DataType) -> Failure {
    let base = match target {
        DataType::Decimal128(_, _) => "DECIMAL".to_string(),
        other => type_name(other),
    };
    Failure::Other(DataFusionError::Plan(format!(
        "invalid input syntax for type {base}: \"{value}\"."
    )))
}

fn resolve(e: &Expr, common: Option<DataType>, schema: &DFSchema) -> Res<Option<DataType>> {
    let t = type_of(e, schema)?;
    let Some(target) = common else {
        return Ok(t);
    };
    let Some(source) = t else {
        return Ok(Some(target));
    };
    let nested = |r: Res<Option<DataType>>| match r {
        Err(Failure::Mismatch(_)) => Err(mismatch(e, &source, &target)),
        other => other,
    };
    match kind(e) {
        Kind::Array(values) => {
            let Some(item) = list_item(&target) else {
                return Err(mismatch(e, &source, &target));
            };
            nested(resolve_structured(item, values, schema)).map(|t| t.map(list_of))
        }
        Kind::Map(keys, values) => {
            let Some((k, v)) = map_types(&target) else {
                return Err(mismatch(e, &source, &target));
            };
            let k = nested(resolve_structured(k, keys, schema))?;
            let v = nested(resolve_structured(v, values, schema))?;
            Ok(k.zip(v).map(|(k, v)| map_of(k, v)))
        }
        Kind::Struct(fields) => {
            let DataType::Struct(target_fields) = &target else {
                return Err(mismatch(e, &source, &target));
            };
            let mut names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            for f in target_fields.iter() {
                if !names.contains(f.name()) {
                    names.push(f.name().clone());
                }
            }
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let value = fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
                let target_type = target_fields
                    .iter()
                    .find(|f| f.name() == &name)
                    .map(|f| f.data_type().clone());
                let t = match (value, target_type) {
                    (Some(v), None) => ty(v, schema)?,
                    (None, Some(t)) => t,
                    (Some(v), Some(t)) => nested(resolve(v, Some(t.clone()), schema))?.unwrap_or(t),
                    (None, None) => DataType::Null,
                };
                out.push(Field::new(name, t, true));
            }
            Ok(Some(DataType::Struct(out.into())))
        }
        Kind::StringLiteral(s) if is_numeric(&target) => numeric_from_string(s, &target).map(Some),
        Kind::StringLiteral(s) if target == DataType::Boolean => match parse_bool_strict(s) {
            Some(_) => Ok(Some(target)),
            None => Err(invalid_syntax(s, &target)),
        },
        k => {
            let lax = matches!(k, Kind::Literal | Kind::StringLiteral(_));
            can_coerce(&source, &target, lax)
                .or_else(|| can_coerce(&target, &source, lax))
                .map(Some)
                .ok_or_else(|| mismatch(e, &source, &target))
        }
    }
}

/// The common type of `target` and the elements of a nested constructor.
fn resolve_structured(
    target: &DataType,
    exprs: &[Expr],
    schema: &DFSchema,
) -> Res<Option<DataType>> {
    if exprs.is_empty() {
        return Ok(Some(target.clone()));
    }
    let mut common = Some(target.clone());
    for e in exprs {
        common = resolve(e, common, schema)?;
    }
    Ok(common)
}

/// ksqlDB's `DefaultSqlValueCoercer.canCoerce` (`lax` for literals).
fn can_coerce(from: &DataType, to: &DataType, lax: bool) -> Option<DataType> {
    if from == to {
        return Some(to.clone());
    }
    if is_numeric(from) && is_numeric(to) {
        return can_implicitly_cast(from, to).then(|| wider_numeric(from, to));
    }
    if lax && is_string(to) && (is_numeric(from) || from == &DataType::Boolean) {
        return Some(DataType::Utf8);
    }
    if let (Some(a), Some(b)) = (list_item(from), list_item(to)) {
        return can_coerce(a, b, false).map(list_of);
    }
    if let (Some((k1, v1)), Some((k2, v2))) = (map_types(from), map_types(to)) {
        return Some(map_of(
            can_coerce(k1, k2, false)?,
            can_coerce(v1, v2, false)?,
        ));
    }
    if let (DataType::Struct(a), DataType::Struct(b)) = (from, to) {
        if a.len() != b.len() {
            return None;
        }
        let mut fields = Vec::with_capacity(b.len());
        for fb in b.iter() {
            let fa = a.iter().find(|f| f.name() == fb.name())?;
            let t = can_coerce(fa.data_type(), fb.data_type(), false)?;
            fields.push(Field::new(fb.name(), t, true));
        }
        return Some(DataType::Struct(fields.into()));
    }
    None
}

/// The numeric type of a string literal joining a numeric list.
fn numeric_from_string(value: &str, target: &DataType) -> Res<DataType> {
    let source = string_numeric_type(value).ok_or_else(|| invalid_syntax(value, target))?;
    if is_double(&source) || is_double(target) {
        return Ok(DOUBLE);
    }
    if is_decimal(&source) || is_decimal(target) {
        if let (Some(a), Some(b)) = (as_decimal(&source), as_decimal(target)) {
            return Ok(widen_decimal(a, b));
        }
    }
    Ok(if can_implicitly_cast(&source, target) {
        target.clone()
    } else {
        source
    })
}

fn string_numeric_type(value: &str) -> Option<DataType> {
    let (v, scale) = dec::parse(value)?;
    let plain = !value.contains(['.', 'e', 'E']);
    if plain && scale == 0 {
        if v > i32::MIN as i128 && v < i32::MAX as i128 {
            return Some(INT);
        }
        if v > i64::MIN as i128 && v < i64::MAX as i128 {
            return Some(BIGINT);
        }
    }
    let (v, scale) = if scale < 0 {
        (dec::rescale(v, scale, 0, dec::Rounding::Unnecessary)?, 0)
    } else {
        (v, scale)
    };
    let digits = dec::digits(v) as i32;
    Some(crate::types::decimal(digits.max(scale), scale))
}

/// `e` converted to `common`: literals now, other expressions by a cast.
fn convert(e: Expr, common: &DataType, schema: &DFSchema) -> Result<Expr> {
    let t = ty(&e, schema)?;
    if &t == common {
        return Ok(e);
    }
    match &e {
        Expr::Literal(v, _) if !v.is_null() => {
            let array = v.to_array()?;
            let converted = cast(&array, common).map_err(|_| {
                let text = match v {
                    ScalarValue::Utf8(Some(s)) => s.clone(),
                    other => other.to_string(),
                };
                match invalid_syntax(&text, common) {
                    Failure::Other(e) => e,
                    Failure::Mismatch(m) => DataFusionError::Plan(m),
                }
            })?;
            if converted.is_null(0) {
                return cast_to(e, &t, common);
            }
            Ok(Expr::Literal(
                ScalarValue::try_from_array(&converted, 0)?,
                None,
            ))
        }
        _ => cast_to(e, &t, common),
    }
}
