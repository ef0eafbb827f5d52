//! TOPK and TOPKDISTINCT: the k greatest values of a group, greatest first.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::ScalarValue;
use riffle_types::{SqlType, StructField};

use crate::value::{
    coerce, internal, is_comparable, java_cmp, java_eq, list_items, make_list, make_struct,
    param_int, struct_fields, struct_values, typed_null,
};
use crate::{AggregateConfig, AggregateError, AggregateFunction, Result};

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    params: &[ScalarValue],
    _config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    let distinct = match name {
        "TOPK" => false,
        "TOPKDISTINCT" => true,
        _ => return Ok(None),
    };
    let Some(sort) = args.first() else {
        return Err(AggregateError::BadArguments(format!(
            "{name} function should have two arguments."
        )));
    };
    // TOPKDISTINCT has no form with extra columns.
    if !is_comparable(sort) || (distinct && args.len() > 1) {
        return Err(AggregateError::BadArguments(format!(
            "No {name} aggregate function with {sort} argument type exists!"
        )));
    }
    let k = match params {
        [p] => param_int(p),
        _ => None,
    };
    let Some(k) = k else {
        return Err(AggregateError::BadArguments(format!(
            "{name} function should have two arguments."
        )));
    };
    if k < 1 {
        return Err(AggregateError::BadArguments(format!(
            "{name} requires a positive k, got {k}."
        )));
    }
    // TOPK(col, other cols..., k) keeps STRUCT<sort_col, col0, col1, ...> rows.
    let item = if args.len() > 1 {
        SqlType::Struct(
            std::iter::once(("sort_col".to_string(), sort.clone()))
                .chain(
                    args[1..]
                        .iter()
                        .enumerate()
                        .map(|(i, t)| (format!("col{i}"), t.clone())),
                )
                .map(|(name, ty)| StructField { name, ty })
                .collect(),
        )
    } else {
        sort.clone()
    };
    let fields = match &item {
        SqlType::Struct(_) => Some(struct_fields(name, &item)?),
        _ => None,
    };
    Ok(Some(Arc::new(TopK {
        distinct,
        k: usize::try_from(k).unwrap_or(usize::MAX),
        arrow: item.to_arrow(),
        sort_arrow: sort.to_arrow(),
        item,
        fields,
    })))
}

/// One TOPK / TOPKDISTINCT call. The state and result are the same `ARRAY<T>` (or array of
/// structs for TOPK with extra columns), sorted greatest first; NULL sort values are ignored.
/// A new value equal to kept ones goes after them, and with k full it only enters when
/// strictly greater than the smallest. ksqlDB cannot undo either.
#[derive(Debug)]
struct TopK {
    distinct: bool,
    k: usize,
    item: SqlType,
    arrow: DataType,
    sort_arrow: DataType,
    /// The struct fields for the form with extra columns.
    fields: Option<Fields>,
}

impl TopK {
    fn fname(&self) -> &'static str {
        if self.distinct {
            "TOPKDISTINCT"
        } else {
            "TOPK"
        }
    }

    /// The value an element sorts by.
    fn key(&self, item: &ScalarValue) -> Result<ScalarValue> {
        if self.fields.is_none() {
            return Ok(item.clone());
        }
        Ok(struct_values(self.fname(), item)?
            .and_then(|v| v.into_iter().next())
            .unwrap_or_else(|| typed_null(&self.sort_arrow)))
    }

    fn cmp(&self, a: &ScalarValue, b: &ScalarValue) -> Result<Ordering> {
        Ok(java_cmp(&self.key(a)?, &self.key(b)?))
    }

    fn build(&self, items: &[ScalarValue]) -> Result<ScalarValue> {
        make_list(self.fname(), items, &self.arrow)
    }
}

impl AggregateFunction for TopK {
    fn name(&self) -> &str {
        self.fname()
    }
    fn return_type(&self) -> SqlType {
        SqlType::Array(Box::new(self.item.clone()))
    }
    fn state_type(&self) -> SqlType {
        self.return_type()
    }
    fn initial(&self) -> ScalarValue {
        self.build(&[])
            .unwrap_or_else(|_| typed_null(&self.state_type().to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let sort = args.first().unwrap_or(&ScalarValue::Null);
        if sort.is_null() {
            return Ok(());
        }
        let value = match &self.fields {
            Some(fields) => make_struct(self.fname(), fields, args)?,
            None => coerce(self.fname(), sort, &self.arrow)?,
        };
        let mut items = list_items(self.fname(), state)?;
        if items.len() >= self.k {
            if let Some(last) = items.last() {
                if self.cmp(&value, last)? != Ordering::Greater {
                    return Ok(());
                }
            }
        }
        if self.distinct && items.iter().any(|i| java_eq(i, &value)) {
            return Ok(());
        }
        // Insert after every element not less than the new one (Java's stable sort of the
        // list with the new value at its end), then drop what exceeds k.
        let mut pos = items.len();
        for (i, it) in items.iter().enumerate() {
            if self.cmp(it, &value)? == Ordering::Less {
                pos = i;
                break;
            }
        }
        items.insert(pos, value);
        items.truncate(self.k);
        *state = self.build(&items)?;
        Ok(())
    }
    fn undo(&self, _state: &mut ScalarValue, _args: &[ScalarValue]) -> Result<bool> {
        Ok(false)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let (one, two) = (list_items(self.fname(), a)?, list_items(self.fname(), b)?);
        let (mut i, mut j) = (0, 0);
        let mut merged = Vec::with_capacity(self.k.min(one.len() + two.len()));
        while merged.len() < self.k {
            match (one.get(i), two.get(j)) {
                (None, None) => break,
                (Some(x), None) => {
                    merged.push(x.clone());
                    i += 1;
                }
                (None, Some(y)) => {
                    merged.push(y.clone());
                    j += 1;
                }
                (Some(x), Some(y)) => match self.cmp(x, y)? {
                    Ordering::Less => {
                        merged.push(y.clone());
                        j += 1;
                    }
                    // TOPKDISTINCT keeps one of two equal values; TOPK keeps both.
                    Ordering::Equal if self.distinct => {
                        merged.push(x.clone());
                        i += 1;
                        j += 1;
                    }
                    _ => {
                        merged.push(x.clone());
                        i += 1;
                    }
                },
            }
        }
        self.build(&merged)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        match state {
            ScalarValue::List(_) => Ok(state.clone()),
            _ => Err(internal(self.fname(), "expected an ARRAY state")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(v: i64) -> ScalarValue {
        ScalarValue::Int64(Some(v))
    }

    fn run(name: &str, values: &[i64]) -> Vec<ScalarValue> {
        let f = crate::resolve(name, &[SqlType::Bigint], &[ScalarValue::Int32(Some(3))]).unwrap();
        let mut s = f.initial();
        for v in values {
            f.add(&mut s, &[i(*v)]).unwrap();
        }
        f.add(&mut s, &[ScalarValue::Int64(None)]).unwrap();
        list_items("T", &f.result(&s).unwrap()).unwrap()
    }

    #[test]
    fn topk_keeps_duplicates_and_distinct_does_not() {
        assert_eq!(run("TOPK", &[5, 50, 40, 8, 50]), vec![i(50), i(50), i(40)]);
        assert_eq!(
            run("TOPKDISTINCT", &[5, 50, 40, 8, 50]),
            vec![i(50), i(40), i(8)]
        );
        assert_eq!(run("topk", &[2]), vec![i(2)]);
    }

    #[test]
    fn topk_with_extra_columns() {
        let args = [SqlType::Double, SqlType::String];
        let f = crate::resolve("TOPK", &args, &[ScalarValue::Int32(Some(2))]).unwrap();
        let s = |v: &str| ScalarValue::Utf8(Some(v.into()));
        let d = |v: f64| ScalarValue::Float64(Some(v));
        let mut st = f.initial();
        f.add(&mut st, &[d(1.5), s("a")]).unwrap();
        f.add(&mut st, &[d(9.0), s("b")]).unwrap();
        f.add(&mut st, &[ScalarValue::Float64(None), s("skip")])
            .unwrap();
        f.add(&mut st, &[d(9.0), ScalarValue::Utf8(None)]).unwrap();
        assert_eq!(st.data_type(), f.state_type().to_arrow());
        let got: Vec<_> = list_items("T", &st)
            .unwrap()
            .iter()
            .map(|v| struct_values("T", v).unwrap().unwrap())
            .collect();
        assert_eq!(
            got,
            vec![vec![d(9.0), s("b")], vec![d(9.0), ScalarValue::Utf8(None)]]
        );
        let SqlType::Array(item) = f.return_type() else {
            panic!("not an array")
        };
        assert_eq!(item.to_string(), "STRUCT<`sort_col` DOUBLE, `col0` STRING>");
    }

    #[test]
    fn merge_and_errors() {
        let f = crate::resolve(
            "TOPKDISTINCT",
            &[SqlType::Bigint],
            &[ScalarValue::Int32(Some(3))],
        )
        .unwrap();
        let a = make_list("T", &[i(9), i(4)], &DataType::Int64).unwrap();
        let b = make_list("T", &[i(9), i(5), i(1)], &DataType::Int64).unwrap();
        let m = f.merge(&a, &b).unwrap();
        assert_eq!(list_items("T", &m).unwrap(), vec![i(9), i(5), i(4)]);
        assert!(!f.undo(&mut f.initial(), &[i(1)]).unwrap());
        let err = crate::resolve("TOPK", &[SqlType::Boolean], &[i(2)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "No TOPK aggregate function with BOOLEAN argument type exists!"
        );
        assert!(crate::resolve("TOPK", &[SqlType::Int], &[]).is_err());
    }
}
