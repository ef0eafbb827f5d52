//! ksqlDB's implicit casts for `INSERT INTO … SELECT`: a numeric literal written into a DECIMAL
//! sink column becomes that DECIMAL when its digits fit, so `SELECT 1 AS PRICE` can feed a
//! `PRICE DECIMAL(5, 2)` column.

use riffle_sql::{Query, SelectItem};
use riffle_types::{LogicalSchema, SqlType};
use sqlparser::ast::{CastKind, DataType, ExactNumberInfo, Expr, UnaryOperator, Value};

/// Wraps the numeric literals of `query`'s select list that go to DECIMAL columns of `sink`
/// (matched by output name) in casts to the column's type.
pub(crate) fn cast_literals_to_sink(query: &Query, sink: &LogicalSchema) -> Query {
    let mut query = query.clone();
    for item in query.select.iter_mut() {
        let SelectItem::Expr { expr, alias } = item else {
            continue;
        };
        let name = match (alias.as_ref(), &*expr) {
            (Some(a), _) => a.clone(),
            (None, Expr::Identifier(id)) => id.value.clone(),
            _ => continue,
        };
        let Some(SqlType::Decimal { precision, scale }) = sink.column(&name).map(|c| &c.ty) else {
            continue;
        };
        let Some((lit_precision, lit_scale)) = literal_decimal(expr) else {
            continue;
        };
        // ksqlDB's `DecimalUtil.canImplicitlyCast`: no digits are lost on either side of the point.
        let (p, s) = (i64::from(*precision), i64::from(*scale));
        if lit_scale <= s && lit_precision - lit_scale <= p - s {
            *expr = Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(expr.clone()),
                data_type: DataType::Decimal(ExactNumberInfo::PrecisionAndScale(
                    u64::from(*precision),
                    s,
                )),
                array: false,
                format: None,
            };
        }
    }
    query
}

/// Precision and scale of an integer or decimal literal (not one with an exponent), as Java's
/// `BigDecimal` counts them.
fn literal_decimal(e: &Expr) -> Option<(i64, i64)> {
    match e {
        Expr::Nested(inner) => literal_decimal(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => literal_decimal(expr),
        Expr::Value(v) => match &v.value {
            Value::Number(text, _) => {
                if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    return None;
                }
                let (int, frac) = text.split_once('.').unwrap_or((text, ""));
                let digits = format!("{int}{frac}");
                let significant = digits.trim_start_matches('0').len().max(1) as i64;
                Some((significant.max(frac.len() as i64), frac.len() as i64))
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> Expr {
        Expr::Value(Value::Number(text.into(), false).into())
    }

    #[test]
    fn counts_digits_like_big_decimal() {
        assert_eq!(literal_decimal(&lit("1")), Some((1, 0)));
        assert_eq!(literal_decimal(&lit("2.0")), Some((2, 1)));
        assert_eq!(literal_decimal(&lit("0.05")), Some((2, 2)));
        assert_eq!(literal_decimal(&lit("1e3")), None);
    }
}
