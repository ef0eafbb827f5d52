//! ksqlDB's null-handling functions and `LIKE`.
//!
//! * `COALESCE(a, ...)`, `IFNULL(a, b)` (ksqlDB `Coalesce`, `IfNull`): the first non-null
//!   argument; all arguments must share a type (with numeric widening). DataFusion's `coalesce`
//!   must be simplified into a `CASE` before it can run, which Riffle's expression path does not
//!   do, and it coerces mismatched types to STRING where ksqlDB fails.
//! * `NULLIF(a, b)` (ksqlDB `NullIf`): null when `a` equals `b` by Java's `equals` (deep for
//!   arrays, maps and structs).
//! * `AS_VALUE(x)` (ksqlDB `AsValue`): `x` itself; it only marks a key column copied into the
//!   value.
//! * `KSQL_LIKE(value, pattern[, escape])` (ksqlDB `LikeEvaluator`): `%` and `_` wildcards over
//!   the whole string, with any escape character; DataFusion's LIKE only escapes with `\`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{is_not_null, nullif};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use crate::compare::values_equal;
use crate::types::{common_type, is_string};
use crate::udf::{no_overload, KsqlUdf, Typed};

/// Name of the LIKE UDF.
pub const LIKE_UDF: &str = "KSQL_LIKE";

/// The conditional UDFs.
pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        KsqlUdf::new(
            "COALESCE",
            |a, _| type_same("COALESCE", a, 1, usize::MAX),
            eval_coalesce,
        )
        .into_udf(),
        KsqlUdf::new("IFNULL", |a, _| type_same("IFNULL", a, 2, 2), eval_coalesce).into_udf(),
        KsqlUdf::new("NULLIF", |a, _| type_same("NULLIF", a, 2, 2), eval_nullif).into_udf(),
        KsqlUdf::new(
            "AS_VALUE",
            |a, _| match a {
                [t] => Ok(Typed::new(a, t.clone())),
                _ => no_overload("AS_VALUE", a),
            },
            |a, _| Ok(a[0].clone()),
        )
        .into_udf(),
        KsqlUdf::new(LIKE_UDF, type_like, eval_like).into_udf(),
    ]
}

/// Arguments of one common type, which is also the result type.
fn type_same(name: &str, args: &[DataType], min: usize, max: usize) -> Result<Typed> {
    if args.len() < min || args.len() > max {
        return no_overload(name, args);
    }
    let mut common = DataType::Null;
    for a in args {
        match common_type(&common, a) {
            Some(c) => common = c,
            None => return no_overload(name, args),
        }
    }
    Ok(Typed {
        args: vec![common.clone(); args.len()],
        ret: common,
    })
}

fn eval_coalesce(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let mut out = args[0].clone();
    for next in &args[1..] {
        if out.null_count() == 0 {
            break;
        }
        let present = is_not_null(out.as_ref())?;
        out = zip(&present, &out, next)?;
    }
    Ok(out)
}

fn eval_nullif(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (a, b) = (&args[0], &args[1]);
    let mut same = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        same.push(!a.is_null(i) && !b.is_null(i) && values_equal(a, i, b, i)?);
    }
    Ok(nullif(a.as_ref(), &BooleanArray::from(same))?)
}

fn type_like(args: &[DataType], _: &[Option<ScalarValue>]) -> Result<Typed> {
    let ok = args.len() >= 2
        && args.len() <= 3
        && args.iter().all(|t| is_string(t) || t == &DataType::Null);
    if !ok {
        return no_overload("LIKE", args);
    }
    Ok(Typed {
        args: vec![DataType::Utf8; args.len()],
        ret: DataType::Boolean,
    })
}

fn eval_like(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let (v, p) = (args[0].as_string::<i32>(), args[1].as_string::<i32>());
    let esc = args.get(2).map(|a| a.as_string::<i32>());
    let mut out = Vec::with_capacity(v.len());
    for i in 0..v.len() {
        if v.is_null(i) || p.is_null(i) {
            out.push(None);
            continue;
        }
        let escape = match esc {
            Some(e) if !e.is_null(i) => {
                let s = e.value(i);
                let mut cs = s.chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => Some(c),
                    _ => return exec_err!("LIKE escape must be a single character, got '{s}'"),
                }
            }
            _ => None,
        };
        out.push(Some(like(v.value(i), p.value(i), escape)));
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

/// One token of a LIKE pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Any,
    One,
    Char(char),
}

/// Whether `value` matches the whole LIKE `pattern`.
pub fn like(value: &str, pattern: &str, escape: Option<char>) -> bool {
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char(c)),
            }
        } else if c == '%' {
            toks.push(Tok::Any);
        } else if c == '_' {
            toks.push(Tok::One);
        } else {
            toks.push(Tok::Char(c));
        }
    }
    let text: Vec<char> = value.chars().collect();
    // Iterative wildcard matching with backtracking to the last `%`.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::One) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_whole_string() {
        assert!(like("barfoobaz", "%foo%", None));
        assert!(like("foo", "f_o", None));
        assert!(!like("bar", "foo", None));
        assert!(like("%", "!%", Some('!')));
        assert!(!like("x", "!%", Some('!')));
        assert!(like("foobar", "%oba%", None));
        assert!(!like("foobar", "%obz%", None));
    }
}
