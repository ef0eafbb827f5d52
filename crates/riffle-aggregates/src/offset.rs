//! EARLIEST_BY_OFFSET and LATEST_BY_OFFSET: the first / last value(s) of a group in processing
//! order, remembered with a sequence number so merged session windows keep the right ones.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::ScalarValue;
use riffle_types::{SqlType, StructField};

use crate::value::{
    coerce, first, internal, list_items, make_list, make_struct, param_bool, param_int,
    struct_fields, struct_values, typed_null,
};
use crate::{AggregateConfig, AggregateError, AggregateFunction, Result};

/// The process-wide processing sequence (ksqlDB's static `AtomicLong`): later records get
/// larger numbers, which is all the merge needs.
static SEQUENCE: AtomicI64 = AtomicI64::new(0);

fn next_sequence() -> i64 {
    SEQUENCE.fetch_add(1, AtomicOrdering::Relaxed)
}

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    params: &[ScalarValue],
    _config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    let latest = match name {
        "EARLIEST_BY_OFFSET" => false,
        "LATEST_BY_OFFSET" => true,
        _ => return Ok(None),
    };
    let ty = crate::value::one_arg(name, args)?;
    // ksqlDB's init args: (), (ignoreNulls), (n) or (n, ignoreNulls); defaults n = 1, true.
    let bad = || crate::value::bad_args(name, &[args, &param_types(params)].concat());
    let (n, ignore_nulls) = match params {
        [] => (1, true),
        [p] => match (param_int(p), param_bool(p)) {
            (Some(n), _) => (n, true),
            (_, Some(b)) => (1, b),
            _ => return Err(bad()),
        },
        [n, b] => match (param_int(n), param_bool(b)) {
            (Some(n), Some(b)) => (n, b),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    if n < 1 {
        // ksqlDB's two functions word this differently.
        return Err(AggregateError::BadArguments(if latest {
            "latestN must be 1 or greater".to_string()
        } else {
            format!("For EarliestByOffset, n must be positive.  It was {n}")
        }));
    }
    let entry = SqlType::Struct(vec![
        StructField {
            name: "SEQ".into(),
            ty: SqlType::Bigint,
        },
        StructField {
            name: "VAL".into(),
            ty: ty.clone(),
        },
    ]);
    Ok(Some(Arc::new(ByOffset {
        latest,
        n: usize::try_from(n).unwrap_or(usize::MAX),
        ignore_nulls,
        ty: ty.clone(),
        fields: struct_fields(name, &entry)?,
        entry,
    })))
}

/// The types of literal params, for error messages.
fn param_types(params: &[ScalarValue]) -> Vec<SqlType> {
    params
        .iter()
        .map(|p| SqlType::from_arrow(&p.data_type()).unwrap_or(SqlType::String))
        .collect()
}

/// One EARLIEST/LATEST_BY_OFFSET call. With n = 1 the state is a nullable
/// `STRUCT<SEQ BIGINT, VAL T>` and the result T; with n > 1 the state is an array of those
/// and the result `ARRAY<T>`. ksqlDB has no undo for either.
#[derive(Debug)]
struct ByOffset {
    latest: bool,
    n: usize,
    ignore_nulls: bool,
    ty: SqlType,
    entry: SqlType,
    fields: Fields,
}

/// An entry's sequence number and value.
type Entry = (i64, ScalarValue);

impl ByOffset {
    fn fname(&self) -> &'static str {
        if self.latest {
            "LATEST_BY_OFFSET"
        } else {
            "EARLIEST_BY_OFFSET"
        }
    }

    fn entry_of(&self, v: &ScalarValue) -> Result<Option<Entry>> {
        match struct_values(self.fname(), v)?.as_deref() {
            None => Ok(None),
            Some([ScalarValue::Int64(seq), val]) => Ok(Some((seq.unwrap_or(0), val.clone()))),
            Some(_) => Err(internal(self.fname(), "malformed state entry")),
        }
    }

    fn entry_value(&self, e: &Entry) -> Result<ScalarValue> {
        make_struct(
            self.fname(),
            &self.fields,
            &[ScalarValue::Int64(Some(e.0)), e.1.clone()],
        )
    }

    fn entries(&self, state: &ScalarValue) -> Result<Vec<Entry>> {
        list_items(self.fname(), state)?
            .iter()
            .filter_map(|v| self.entry_of(v).transpose())
            .collect()
    }

    fn build_list(&self, entries: &[Entry]) -> Result<ScalarValue> {
        let values = entries
            .iter()
            .map(|e| self.entry_value(e))
            .collect::<Result<Vec<_>>>()?;
        make_list(self.fname(), &values, &self.entry.to_arrow())
    }

    /// ksqlDB's sequence order, where a negative sequence next to a non-negative one has
    /// wrapped around and so is the later.
    fn seq_cmp(a: i64, b: i64) -> Ordering {
        match (a < 0, b < 0) {
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => a.cmp(&b),
        }
    }

    /// The single-value merge order: by sequence, except that for LATEST with ignoreNulls a NULL
    /// value loses to any non-null one.
    fn cmp(&self, a: &Entry, b: &Entry) -> Ordering {
        if self.latest && self.ignore_nulls {
            match (a.1.is_null(), b.1.is_null()) {
                (true, true) => return Ordering::Equal,
                (true, false) => return Ordering::Less,
                (false, true) => return Ordering::Greater,
                _ => {}
            }
        }
        Self::seq_cmp(a.0, b.0)
    }

    fn item_type(&self) -> DataType {
        self.ty.to_arrow()
    }
}

impl AggregateFunction for ByOffset {
    fn name(&self) -> &str {
        self.fname()
    }
    fn return_type(&self) -> SqlType {
        if self.n == 1 {
            self.ty.clone()
        } else {
            SqlType::Array(Box::new(self.ty.clone()))
        }
    }
    fn state_type(&self) -> SqlType {
        if self.n == 1 {
            self.entry.clone()
        } else {
            SqlType::Array(Box::new(self.entry.clone()))
        }
    }
    fn initial(&self) -> ScalarValue {
        if self.n == 1 {
            typed_null(&self.entry.to_arrow())
        } else {
            self.build_list(&[])
                .unwrap_or_else(|_| typed_null(&self.state_type().to_arrow()))
        }
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let v = coerce(self.fname(), first(args), &self.item_type())?;
        if v.is_null() && self.ignore_nulls {
            return Ok(());
        }
        if self.n == 1 {
            // EARLIEST keeps its first entry; LATEST replaces it every time.
            if !self.latest && self.entry_of(state)?.is_some() {
                return Ok(());
            }
            *state = self.entry_value(&(next_sequence(), v))?;
            return Ok(());
        }
        let mut entries = self.entries(state)?;
        if self.latest {
            entries.push((next_sequence(), v));
            if entries.len() > self.n {
                entries.drain(..entries.len() - self.n);
            }
        } else if entries.len() < self.n {
            entries.push((next_sequence(), v));
        } else {
            return Ok(());
        }
        *state = self.build_list(&entries)?;
        Ok(())
    }
    fn undo(&self, _state: &mut ScalarValue, _args: &[ScalarValue]) -> Result<bool> {
        Ok(false)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        if self.n == 1 {
            let (Some(x), Some(y)) = (self.entry_of(a)?, self.entry_of(b)?) else {
                return Ok(if a.is_null() { b.clone() } else { a.clone() });
            };
            let keep_a = if self.latest {
                self.cmp(&x, &y) != Ordering::Less
            } else {
                self.cmp(&x, &y) == Ordering::Less
            };
            return Ok(if keep_a { a.clone() } else { b.clone() });
        }
        let mut all = self.entries(a)?;
        all.extend(self.entries(b)?);
        // A stable sort by sequence alone (Java's List.sort with ksqlDB's plain comparator),
        // keeping the first n: current ksqlDB does this for LATEST too, so a merge of more than
        // n values keeps the oldest ones (the record being added afterwards still goes last).
        all.sort_by(|x, y| Self::seq_cmp(x.0, y.0));
        all.truncate(self.n);
        self.build_list(&all)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        if self.n == 1 {
            return Ok(match self.entry_of(state)? {
                Some((_, v)) => v,
                None => typed_null(&self.item_type()),
            });
        }
        let values: Vec<_> = self.entries(state)?.into_iter().map(|e| e.1).collect();
        make_list(self.fname(), &values, &self.item_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(v: i32) -> ScalarValue {
        ScalarValue::Int32(Some(v))
    }
    const NULL: ScalarValue = ScalarValue::Int32(None);

    fn run(name: &str, params: &[ScalarValue], values: &[ScalarValue]) -> ScalarValue {
        let f = crate::resolve(name, &[SqlType::Int], params).unwrap();
        let mut s = f.initial();
        assert_eq!(s.data_type(), f.state_type().to_arrow());
        for v in values {
            f.add(&mut s, std::slice::from_ref(v)).unwrap();
            assert_eq!(s.data_type(), f.state_type().to_arrow());
        }
        f.result(&s).unwrap()
    }

    fn list(values: &[ScalarValue]) -> ScalarValue {
        make_list("T", values, &DataType::Int32).unwrap()
    }

    #[test]
    fn single_values_and_nulls() {
        let vals = [NULL, i(1), i(2), NULL];
        assert_eq!(run("EARLIEST_BY_OFFSET", &[], &vals), i(1));
        assert_eq!(run("LATEST_BY_OFFSET", &[], &vals), i(2));
        let no = [ScalarValue::Boolean(Some(false))];
        assert_eq!(run("EARLIEST_BY_OFFSET", &no, &vals), NULL);
        assert_eq!(run("LATEST_BY_OFFSET", &no, &vals), NULL);
        assert_eq!(run("LATEST_BY_OFFSET", &[], &[]), NULL);
    }

    #[test]
    fn n_values() {
        let vals = [i(5), NULL, i(6), i(7)];
        let two = ScalarValue::Int32(Some(2));
        let f = crate::resolve(
            "LATEST_BY_OFFSET",
            &[SqlType::Int],
            std::slice::from_ref(&two),
        )
        .unwrap();
        assert_eq!(f.return_type(), SqlType::Array(Box::new(SqlType::Int)));
        assert_eq!(
            run("LATEST_BY_OFFSET", std::slice::from_ref(&two), &vals),
            list(&[i(6), i(7)])
        );
        assert_eq!(
            run("EARLIEST_BY_OFFSET", std::slice::from_ref(&two), &vals),
            list(&[i(5), i(6)])
        );
        let keep = [two, ScalarValue::Boolean(Some(false))];
        assert_eq!(run("EARLIEST_BY_OFFSET", &keep, &vals), list(&[i(5), NULL]));
        assert_eq!(run("LATEST_BY_OFFSET", &keep, &vals), list(&[i(6), i(7)]));
        let err = crate::resolve("LATEST_BY_OFFSET", &[SqlType::Int], &[i(0)]).unwrap_err();
        assert_eq!(err.to_string(), "latestN must be 1 or greater");
        let err = crate::resolve("EARLIEST_BY_OFFSET", &[SqlType::Int], &[i(-1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "For EarliestByOffset, n must be positive.  It was -1"
        );
    }

    #[test]
    fn structured_values() {
        let ty = SqlType::Struct(vec![StructField {
            name: "A".into(),
            ty: SqlType::Array(Box::new(SqlType::String)),
        }]);
        let fields = struct_fields("T", &ty).unwrap();
        let arr = make_list("T", &[ScalarValue::Utf8(Some("x".into()))], &DataType::Utf8);
        let v = make_struct("T", &fields, &[arr.unwrap()]).unwrap();
        for params in [vec![], vec![i(3)]] {
            let f =
                crate::resolve("EARLIEST_BY_OFFSET", std::slice::from_ref(&ty), &params).unwrap();
            let mut s = f.initial();
            f.add(&mut s, std::slice::from_ref(&v)).unwrap();
            assert_eq!(s.data_type(), f.state_type().to_arrow());
            let r = f.result(&s).unwrap();
            assert_eq!(r.data_type(), f.return_type().to_arrow());
        }
    }

    #[test]
    fn merges_by_processing_order() {
        let f = crate::resolve("LATEST_BY_OFFSET", &[SqlType::Int], &[]).unwrap();
        let (mut a, mut b) = (f.initial(), f.initial());
        f.add(&mut a, &[i(1)]).unwrap();
        f.add(&mut b, &[i(2)]).unwrap();
        assert_eq!(f.result(&f.merge(&b, &a).unwrap()).unwrap(), i(2));
        assert_eq!(f.result(&f.merge(&a, &f.initial()).unwrap()).unwrap(), i(1));
        let e = crate::resolve("EARLIEST_BY_OFFSET", &[SqlType::Int], &[i(2)]).unwrap();
        let (mut x, mut y) = (e.initial(), e.initial());
        e.add(&mut x, &[i(1)]).unwrap();
        e.add(&mut y, &[i(2)]).unwrap();
        e.add(&mut x, &[i(3)]).unwrap();
        assert_eq!(
            e.result(&e.merge(&y, &x).unwrap()).unwrap(),
            list(&[i(1), i(2)])
        );
    }
}
