//! COLLECT_LIST, COLLECT_SET, HISTOGRAM and ATTR: aggregates that keep the values themselves.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::ScalarValue;
use riffle_types::{SqlType, StructField};

use crate::value::{
    bad_args, coerce, first, internal, java_eq, list_items, make_list, make_string_count_map,
    one_arg, string_count_entries, struct_fields, struct_values, typed_null,
};
use crate::{AggregateConfig, AggregateFunction, Result};

/// HISTOGRAM keeps at most this many distinct strings (ksqlDB's fixed limit).
const HISTOGRAM_LIMIT: usize = 1000;

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    _params: &[ScalarValue],
    config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    Ok(Some(match name {
        "COLLECT_LIST" | "COLLECT_SET" => {
            let ty = one_arg(name, args)?;
            let set = name == "COLLECT_SET";
            Arc::new(Collect {
                set,
                item: ty.to_arrow(),
                ty: ty.clone(),
                limit: if set {
                    config.collect_set_limit
                } else {
                    config.collect_list_limit
                }
                .unwrap_or(usize::MAX),
            })
        }
        "HISTOGRAM" => {
            if one_arg(name, args)? != &SqlType::String {
                return Err(bad_args(name, args));
            }
            Arc::new(Histogram)
        }
        "ATTR" => {
            let ty = one_arg(name, args)?;
            let entry = SqlType::Struct(vec![
                StructField {
                    name: "VALUE".into(),
                    ty: ty.clone(),
                },
                StructField {
                    name: "COUNT".into(),
                    ty: SqlType::Int,
                },
            ]);
            Arc::new(Attr {
                ty: ty.clone(),
                fields: struct_fields(name, &entry)?,
                entry,
            })
        }
        _ => return Ok(None),
    }))
}

/// `COLLECT_LIST(x)` / `COLLECT_SET(x)`: the values (NULLs included) in arrival order, distinct
/// for the set, capped at the configured limit (later values are silently dropped). A list undo
/// removes the last equal entry; ksqlDB's COLLECT_SET has no undo.
#[derive(Debug)]
struct Collect {
    set: bool,
    ty: SqlType,
    item: DataType,
    limit: usize,
}

impl Collect {
    fn items(&self, state: &ScalarValue) -> Result<Vec<ScalarValue>> {
        list_items(self.name(), state)
    }
    fn build(&self, items: &[ScalarValue]) -> Result<ScalarValue> {
        make_list(self.name(), items, &self.item)
    }
}

impl AggregateFunction for Collect {
    fn name(&self) -> &str {
        if self.set {
            "COLLECT_SET"
        } else {
            "COLLECT_LIST"
        }
    }
    fn return_type(&self) -> SqlType {
        SqlType::Array(Box::new(self.ty.clone()))
    }
    fn state_type(&self) -> SqlType {
        self.return_type()
    }
    fn initial(&self) -> ScalarValue {
        self.build(&[])
            .unwrap_or_else(|_| typed_null(&self.state_type().to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let mut items = self.items(state)?;
        if items.len() >= self.limit {
            return Ok(());
        }
        let v = coerce(self.name(), first(args), &self.item)?;
        if self.set && items.iter().any(|i| java_eq(i, &v)) {
            return Ok(());
        }
        items.push(v);
        *state = self.build(&items)?;
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if self.set {
            return Ok(false);
        }
        let mut items = self.items(state)?;
        let v = coerce(self.name(), first(args), &self.item)?;
        // ksqlDB removes the last equal value; absent means it was beyond the limit.
        if let Some(pos) = items.iter().rposition(|i| java_eq(i, &v)) {
            items.remove(pos);
            *state = self.build(&items)?;
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let mut items = self.items(a)?;
        for v in self.items(b)? {
            if items.len() >= self.limit {
                break;
            }
            if !(self.set && items.iter().any(|i| java_eq(i, &v))) {
                items.push(v);
            }
        }
        self.build(&items)
    }
    fn supports_undo(&self) -> bool {
        !self.set
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

/// `HISTOGRAM(s)`: how often each distinct string occurs, as `MAP<STRING, BIGINT>`, with at
/// most 1000 keys (counts of known keys still grow). NULL strings are skipped: a map key cannot
/// be NULL. Undo decrements and drops keys that reach 0.
#[derive(Debug)]
struct Histogram;

impl Histogram {
    fn bump(entries: &mut Vec<(String, i64)>, key: &str, by: i64) {
        if let Some(e) = entries.iter_mut().find(|(k, _)| k == key) {
            e.1 += by;
        } else if entries.len() < HISTOGRAM_LIMIT {
            entries.push((key.to_string(), by));
        }
    }
}

impl AggregateFunction for Histogram {
    fn name(&self) -> &str {
        "HISTOGRAM"
    }
    fn return_type(&self) -> SqlType {
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint))
    }
    fn state_type(&self) -> SqlType {
        self.return_type()
    }
    fn initial(&self) -> ScalarValue {
        make_string_count_map("HISTOGRAM", &[])
            .unwrap_or_else(|_| typed_null(&self.state_type().to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        if let ScalarValue::Utf8(Some(key)) = &coerce("HISTOGRAM", first(args), &DataType::Utf8)? {
            let mut entries = string_count_entries("HISTOGRAM", state)?;
            Self::bump(&mut entries, key, 1);
            *state = make_string_count_map("HISTOGRAM", &entries)?;
        }
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        if let ScalarValue::Utf8(Some(key)) = &coerce("HISTOGRAM", first(args), &DataType::Utf8)? {
            let mut entries = string_count_entries("HISTOGRAM", state)?;
            if let Some(pos) = entries.iter().position(|(k, _)| k == key) {
                entries[pos].1 -= 1;
                if entries[pos].1 < 1 {
                    entries.remove(pos);
                }
                *state = make_string_count_map("HISTOGRAM", &entries)?;
            }
        }
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let mut entries = string_count_entries("HISTOGRAM", a)?;
        for (k, c) in string_count_entries("HISTOGRAM", b)? {
            Self::bump(&mut entries, &k, c);
        }
        make_string_count_map("HISTOGRAM", &entries)
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(state.clone())
    }
}

/// `ATTR(x)`: x's value when the group holds exactly one distinct value (NULL counts as a
/// value), otherwise NULL. The state is ksqlDB's `ARRAY<STRUCT<VALUE x, COUNT INT>>` of
/// value counts, so table retractions can undo.
#[derive(Debug)]
struct Attr {
    ty: SqlType,
    entry: SqlType,
    fields: Fields,
}

impl Attr {
    fn entries(&self, state: &ScalarValue) -> Result<Vec<(ScalarValue, i32)>> {
        list_items("ATTR", state)?
            .iter()
            .map(|e| match struct_values("ATTR", e)?.as_deref() {
                Some([v, ScalarValue::Int32(c)]) => Ok((v.clone(), c.unwrap_or(0))),
                _ => Err(internal("ATTR", "malformed state entry")),
            })
            .collect()
    }

    fn build(&self, entries: &[(ScalarValue, i32)]) -> Result<ScalarValue> {
        let structs = entries
            .iter()
            .map(|(v, c)| {
                crate::value::make_struct(
                    "ATTR",
                    &self.fields,
                    &[v.clone(), ScalarValue::Int32(Some(*c))],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        make_list("ATTR", &structs, &self.entry.to_arrow())
    }

    fn update(&self, state: &ScalarValue, v: &ScalarValue, by: i32) -> Result<ScalarValue> {
        let mut entries = self.entries(state)?;
        let mut found = false;
        for e in entries.iter_mut().filter(|e| java_eq(&e.0, v)) {
            found = true;
            e.1 = e.1.saturating_add(by).max(0);
        }
        if !found && by > 0 {
            entries.push((v.clone(), by));
        }
        self.build(&entries)
    }
}

impl AggregateFunction for Attr {
    fn name(&self) -> &str {
        "ATTR"
    }
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn state_type(&self) -> SqlType {
        SqlType::Array(Box::new(self.entry.clone()))
    }
    fn initial(&self) -> ScalarValue {
        self.build(&[])
            .unwrap_or_else(|_| typed_null(&self.state_type().to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let v = coerce("ATTR", first(args), &self.ty.to_arrow())?;
        *state = self.update(state, &v, 1)?;
        Ok(())
    }
    fn undo(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<bool> {
        let v = coerce("ATTR", first(args), &self.ty.to_arrow())?;
        *state = self.update(state, &v, -1)?;
        Ok(true)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let mut merged = a.clone();
        for (v, c) in self.entries(b)? {
            merged = self.update(&merged, &v, c)?;
        }
        Ok(merged)
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        let live: Vec<_> = self
            .entries(state)?
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .collect();
        Ok(match live.as_slice() {
            [(v, _)] => v.clone(),
            _ => typed_null(&self.ty.to_arrow()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{resolve_with, AggregateConfig};

    fn s(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.into()))
    }

    #[test]
    fn collect_list_keeps_nulls_limit_and_undo() {
        let cfg = AggregateConfig {
            collect_list_limit: Some(3),
            ..AggregateConfig::default()
        };
        let f = resolve_with("collect_list", &[SqlType::String], &[], &cfg).unwrap();
        let mut st = f.initial();
        for v in [s("b"), ScalarValue::Utf8(None), s("a"), s("c")] {
            f.add(&mut st, &[v]).unwrap();
        }
        let want = make_list(
            "T",
            &[s("b"), ScalarValue::Utf8(None), s("a")],
            &DataType::Utf8,
        );
        assert_eq!(f.result(&st).unwrap(), want.unwrap());
        assert!(f.undo(&mut st, &[s("b")]).unwrap());
        assert_eq!(
            list_items("T", &st).unwrap(),
            vec![ScalarValue::Utf8(None), s("a")]
        );
        let other = make_list("T", &[s("x"), s("y")], &DataType::Utf8).unwrap();
        let merged = f.merge(&st, &other).unwrap();
        assert_eq!(list_items("T", &merged).unwrap().len(), 3);
    }

    #[test]
    fn collect_set_is_distinct_and_has_no_undo() {
        let f = crate::resolve("COLLECT_SET", &[SqlType::Int], &[]).unwrap();
        let mut st = f.initial();
        for v in [1, 2, 1, 3, 2] {
            f.add(&mut st, &[ScalarValue::Int32(Some(v))]).unwrap();
        }
        let got = list_items("T", &st).unwrap();
        assert_eq!(got, [1, 2, 3].map(|v| ScalarValue::Int32(Some(v))).to_vec());
        assert!(!f.undo(&mut st, &[ScalarValue::Int32(Some(1))]).unwrap());
    }

    #[test]
    fn collect_list_of_structs() {
        let ty = SqlType::Struct(vec![StructField {
            name: "N".into(),
            ty: SqlType::Int,
        }]);
        let f = crate::resolve("COLLECT_LIST", std::slice::from_ref(&ty), &[]).unwrap();
        let fields = struct_fields("T", &ty).unwrap();
        let v = crate::value::make_struct("T", &fields, &[ScalarValue::Int32(Some(7))]).unwrap();
        let mut st = f.initial();
        f.add(&mut st, std::slice::from_ref(&v)).unwrap();
        f.add(&mut st, &[ScalarValue::Null]).unwrap();
        assert_eq!(st.data_type(), f.state_type().to_arrow());
        assert_eq!(list_items("T", &st).unwrap()[0], v);
    }

    #[test]
    fn collect_maps_and_arrays() {
        let map_ty = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint));
        let f = crate::resolve("COLLECT_SET", std::slice::from_ref(&map_ty), &[]).unwrap();
        let m1 = make_string_count_map("T", &[("a".into(), 1)]).unwrap();
        let m2 = make_string_count_map("T", &[("b".into(), 2)]).unwrap();
        let mut st = f.initial();
        for v in [&m1, &m2, &m1] {
            f.add(&mut st, std::slice::from_ref(v)).unwrap();
        }
        assert_eq!(st.data_type(), f.state_type().to_arrow());
        assert_eq!(list_items("T", &st).unwrap(), vec![m1, m2]);

        let arr_ty = SqlType::Array(Box::new(SqlType::Int));
        let f = crate::resolve("COLLECT_LIST", std::slice::from_ref(&arr_ty), &[]).unwrap();
        let a = make_list("T", &[ScalarValue::Int32(Some(1))], &DataType::Int32).unwrap();
        let mut st = f.initial();
        f.add(&mut st, std::slice::from_ref(&a)).unwrap();
        f.add(&mut st, &[ScalarValue::Null]).unwrap();
        assert_eq!(st.data_type(), f.state_type().to_arrow());
        let items = list_items("T", &st).unwrap();
        assert_eq!(items[0], a);
        assert!(items[1].is_null());
    }

    #[test]
    fn histogram_counts_and_undoes() {
        let f = crate::resolve("HISTOGRAM", &[SqlType::String], &[]).unwrap();
        let mut st = f.initial();
        for v in [s("x"), s("y"), s("x"), ScalarValue::Utf8(None)] {
            f.add(&mut st, &[v]).unwrap();
        }
        f.undo(&mut st, &[s("y")]).unwrap();
        assert_eq!(
            string_count_entries("T", &st).unwrap(),
            vec![("x".to_string(), 2)]
        );
        assert!(crate::resolve("HISTOGRAM", &[SqlType::Int], &[]).is_err());
    }

    #[test]
    fn attr_single_value_or_null() {
        let f = crate::resolve("ATTR", &[SqlType::String], &[]).unwrap();
        let mut st = f.initial();
        f.add(&mut st, &[s("k")]).unwrap();
        f.add(&mut st, &[s("k")]).unwrap();
        assert_eq!(f.result(&st).unwrap(), s("k"));
        f.add(&mut st, &[s("other")]).unwrap();
        assert_eq!(f.result(&st).unwrap(), ScalarValue::Utf8(None));
        f.undo(&mut st, &[s("other")]).unwrap();
        assert_eq!(f.result(&st).unwrap(), s("k"));
    }
}
