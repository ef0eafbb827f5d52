//! A column builder for any ksqlDB type that can roll back a partly appended row.
//!
//! Decoders append a record's values straight into these builders; when a value turns out to be
//! invalid half-way through a record, every column is truncated back to the row's start and the
//! row is appended as nulls. The finished arrays have exactly the Arrow types that
//! [`SqlType::to_arrow`] gives, including field names of nested types.

use std::sync::Arc;

use datafusion::arrow::array::{
    new_null_array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, StringArray, StructArray,
    Time32MillisecondArray, TimestampMillisecondArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion::arrow::error::ArrowError;
use riffle_types::SqlType;

/// Builds one Arrow array of a ksqlDB type.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    valid: Vec<bool>,
    data: Data,
    dt: DataType,
}

#[derive(Debug)]
enum Data {
    Boolean(Vec<bool>),
    Int(Vec<i32>),
    Date(Vec<i32>),
    Time(Vec<i32>),
    Bigint(Vec<i64>),
    Timestamp(Vec<i64>),
    Double(Vec<f64>),
    Decimal(Vec<i128>),
    Utf8 {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
    },
    Binary {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
    },
    List {
        offsets: Vec<i32>,
        item: Box<ColumnBuilder>,
        field: FieldRef,
    },
    Map {
        offsets: Vec<i32>,
        keys: Box<ColumnBuilder>,
        values: Box<ColumnBuilder>,
        entries: FieldRef,
    },
    Struct {
        fields: Fields,
        children: Vec<ColumnBuilder>,
    },
}

impl ColumnBuilder {
    /// An empty builder for `ty`.
    pub(crate) fn new(ty: &SqlType, capacity: usize) -> Self {
        let dt = ty.to_arrow();
        let data = match ty {
            SqlType::Boolean => Data::Boolean(Vec::with_capacity(capacity)),
            SqlType::Int => Data::Int(Vec::with_capacity(capacity)),
            SqlType::Date => Data::Date(Vec::with_capacity(capacity)),
            SqlType::Time => Data::Time(Vec::with_capacity(capacity)),
            SqlType::Bigint => Data::Bigint(Vec::with_capacity(capacity)),
            SqlType::Timestamp => Data::Timestamp(Vec::with_capacity(capacity)),
            SqlType::Double => Data::Double(Vec::with_capacity(capacity)),
            SqlType::Decimal { .. } => Data::Decimal(Vec::with_capacity(capacity)),
            SqlType::String => Data::Utf8 {
                offsets: offsets(capacity),
                bytes: Vec::new(),
            },
            SqlType::Bytes => Data::Binary {
                offsets: offsets(capacity),
                bytes: Vec::new(),
            },
            SqlType::Array(item) => {
                let field = match &dt {
                    DataType::List(f) => f.clone(),
                    _ => unreachable_type(),
                };
                Data::List {
                    offsets: offsets(capacity),
                    item: Box::new(ColumnBuilder::new(item, capacity)),
                    field,
                }
            }
            SqlType::Map(k, v) => {
                let entries = match &dt {
                    DataType::Map(f, _) => f.clone(),
                    _ => unreachable_type(),
                };
                Data::Map {
                    offsets: offsets(capacity),
                    keys: Box::new(ColumnBuilder::new(k, capacity)),
                    values: Box::new(ColumnBuilder::new(v, capacity)),
                    entries,
                }
            }
            SqlType::Struct(fs) => {
                let fields = match &dt {
                    DataType::Struct(f) => f.clone(),
                    _ => unreachable_type(),
                };
                Data::Struct {
                    fields,
                    children: fs
                        .iter()
                        .map(|f| ColumnBuilder::new(&f.ty, capacity))
                        .collect(),
                }
            }
        };
        ColumnBuilder {
            valid: Vec::with_capacity(capacity),
            data,
            dt,
        }
    }

    /// Number of rows appended.
    pub(crate) fn len(&self) -> usize {
        self.valid.len()
    }

    /// Appends a null.
    pub(crate) fn append_null(&mut self) {
        self.valid.push(false);
        match &mut self.data {
            Data::Boolean(v) => v.push(false),
            Data::Int(v) | Data::Date(v) | Data::Time(v) => v.push(0),
            Data::Bigint(v) | Data::Timestamp(v) => v.push(0),
            Data::Double(v) => v.push(0.0),
            Data::Decimal(v) => v.push(0),
            Data::Utf8 { offsets, .. } | Data::Binary { offsets, .. } => repeat_last(offsets),
            Data::List { offsets, .. } | Data::Map { offsets, .. } => repeat_last(offsets),
            Data::Struct { children, .. } => children.iter_mut().for_each(|c| c.append_null()),
        }
    }

    /// Drops every row after the first `len`.
    pub(crate) fn truncate(&mut self, len: usize) {
        // Always recurse: a nested builder may hold parts of a row this level never closed.
        let len = len.min(self.valid.len());
        self.valid.truncate(len);
        match &mut self.data {
            Data::Boolean(v) => v.truncate(len),
            Data::Int(v) | Data::Date(v) | Data::Time(v) => v.truncate(len),
            Data::Bigint(v) | Data::Timestamp(v) => v.truncate(len),
            Data::Double(v) => v.truncate(len),
            Data::Decimal(v) => v.truncate(len),
            Data::Utf8 { offsets, bytes } | Data::Binary { offsets, bytes } => {
                offsets.truncate(len + 1);
                bytes.truncate(offsets[len] as usize);
            }
            Data::List { offsets, item, .. } => {
                offsets.truncate(len + 1);
                item.truncate(offsets[len] as usize);
            }
            Data::Map {
                offsets,
                keys,
                values,
                ..
            } => {
                offsets.truncate(len + 1);
                keys.truncate(offsets[len] as usize);
                values.truncate(offsets[len] as usize);
            }
            Data::Struct { children, .. } => children.iter_mut().for_each(|c| c.truncate(len)),
        }
    }

    /// Appends a BOOLEAN.
    pub(crate) fn push_bool(&mut self, b: bool) {
        match &mut self.data {
            Data::Boolean(v) => v.push(b),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// Appends an INT, DATE (days) or TIME (milliseconds).
    pub(crate) fn push_i32(&mut self, x: i32) {
        match &mut self.data {
            Data::Int(v) | Data::Date(v) | Data::Time(v) => v.push(x),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// Appends a BIGINT or TIMESTAMP (milliseconds).
    pub(crate) fn push_i64(&mut self, x: i64) {
        match &mut self.data {
            Data::Bigint(v) | Data::Timestamp(v) => v.push(x),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// Appends a DOUBLE.
    pub(crate) fn push_f64(&mut self, x: f64) {
        match &mut self.data {
            Data::Double(v) => v.push(x),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// Appends a DECIMAL's unscaled value (already at the column's scale).
    pub(crate) fn push_i128(&mut self, x: i128) {
        match &mut self.data {
            Data::Decimal(v) => v.push(x),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// Appends a STRING.
    pub(crate) fn push_str(&mut self, s: &str) {
        match &mut self.data {
            Data::Utf8 { offsets, bytes } => push_bytes(offsets, bytes, s.as_bytes()),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// Appends BYTES.
    pub(crate) fn push_bytes(&mut self, b: &[u8]) {
        match &mut self.data {
            Data::Binary { offsets, bytes } => push_bytes(offsets, bytes, b),
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// The element builder of an ARRAY column; append elements, then call [`Self::end_row`].
    pub(crate) fn list_item(&mut self) -> Option<&mut ColumnBuilder> {
        match &mut self.data {
            Data::List { item, .. } => Some(item),
            _ => None,
        }
    }

    /// The key and value builders of a MAP column; append entries, then call [`Self::end_row`].
    pub(crate) fn map_parts(&mut self) -> Option<(&mut ColumnBuilder, &mut ColumnBuilder)> {
        match &mut self.data {
            Data::Map { keys, values, .. } => Some((keys, values)),
            _ => None,
        }
    }

    /// The field builders of a STRUCT column; append one value (or null) to each, then call
    /// [`Self::end_row`].
    pub(crate) fn struct_children(&mut self) -> Option<&mut [ColumnBuilder]> {
        match &mut self.data {
            Data::Struct { children, .. } => Some(children),
            _ => None,
        }
    }

    /// Closes a non-null ARRAY, MAP or STRUCT row whose parts were appended.
    pub(crate) fn end_row(&mut self) {
        match &mut self.data {
            Data::List { offsets, item, .. } => offsets.push(item.len() as i32),
            Data::Map { offsets, keys, .. } => offsets.push(keys.len() as i32),
            Data::Struct { .. } => {}
            _ => return self.mismatch(),
        }
        self.valid.push(true);
    }

    /// A type mismatch between builder and value is a bug; keep the builder consistent.
    fn mismatch(&mut self) {
        debug_assert!(false, "value appended to a builder of type {}", self.dt);
        self.append_null();
    }

    /// The finished array.
    pub(crate) fn finish(self) -> ArrayRef {
        let len = self.valid.len();
        let dt = self.dt.clone();
        self.try_finish()
            .unwrap_or_else(|_| new_null_array(&dt, len))
    }

    fn try_finish(self) -> Result<ArrayRef, ArrowError> {
        let len = self.valid.len();
        let nulls = Some(NullBuffer::from(self.valid)).filter(|n| n.null_count() > 0);
        Ok(match self.data {
            Data::Boolean(v) => Arc::new(BooleanArray::new(BooleanBuffer::from(v), nulls)),
            Data::Int(v) => Arc::new(Int32Array::try_new(ScalarBuffer::from(v), nulls)?),
            Data::Date(v) => Arc::new(Date32Array::try_new(ScalarBuffer::from(v), nulls)?),
            Data::Time(v) => Arc::new(Time32MillisecondArray::try_new(
                ScalarBuffer::from(v),
                nulls,
            )?),
            Data::Bigint(v) => Arc::new(Int64Array::try_new(ScalarBuffer::from(v), nulls)?),
            Data::Timestamp(v) => Arc::new(TimestampMillisecondArray::try_new(
                ScalarBuffer::from(v),
                nulls,
            )?),
            Data::Double(v) => Arc::new(Float64Array::try_new(ScalarBuffer::from(v), nulls)?),
            Data::Decimal(v) => {
                let (p, s) = match self.dt {
                    DataType::Decimal128(p, s) => (p, s),
                    _ => unreachable_type(),
                };
                Arc::new(
                    Decimal128Array::try_new(ScalarBuffer::from(v), nulls)?
                        .with_precision_and_scale(p, s)?,
                )
            }
            Data::Utf8 { offsets, bytes } => Arc::new(StringArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                Buffer::from_vec(bytes),
                nulls,
            )?),
            Data::Binary { offsets, bytes } => Arc::new(BinaryArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                Buffer::from_vec(bytes),
                nulls,
            )?),
            Data::List {
                offsets,
                item,
                field,
            } => Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                item.finish(),
                nulls,
            )?),
            Data::Map {
                offsets,
                keys,
                values,
                entries,
            } => {
                let fields = match entries.data_type() {
                    DataType::Struct(f) => f.clone(),
                    _ => unreachable_type(),
                };
                let kv = StructArray::try_new(fields, vec![keys.finish(), values.finish()], None)?;
                Arc::new(MapArray::try_new(
                    entries,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    kv,
                    nulls,
                    false,
                )?)
            }
            Data::Struct { fields, children } => {
                if fields.is_empty() {
                    Arc::new(StructArray::new_empty_fields(len, nulls))
                } else {
                    let arrays = children.into_iter().map(|c| c.finish()).collect();
                    Arc::new(StructArray::try_new(fields, arrays, nulls)?)
                }
            }
        })
    }
}

fn offsets(capacity: usize) -> Vec<i32> {
    let mut v = Vec::with_capacity(capacity + 1);
    v.push(0);
    v
}

fn repeat_last(offsets: &mut Vec<i32>) {
    let last = offsets.last().copied().unwrap_or(0);
    offsets.push(last);
}

fn push_bytes(offsets: &mut Vec<i32>, bytes: &mut Vec<u8>, b: &[u8]) {
    bytes.extend_from_slice(b);
    offsets.push(bytes.len() as i32);
}

/// `SqlType::to_arrow` always yields the Arrow type matched here.
fn unreachable_type() -> ! {
    unreachable!("SqlType::to_arrow produced an unexpected Arrow type")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use riffle_types::StructField;

    fn nested() -> SqlType {
        SqlType::Struct(vec![
            StructField {
                name: "A".into(),
                ty: SqlType::Array(Box::new(SqlType::String)),
            },
            StructField {
                name: "m".into(),
                ty: SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            },
        ])
    }

    #[test]
    fn builds_nested_types_with_declared_arrow_type() {
        let ty = nested();
        let mut b = ColumnBuilder::new(&ty, 4);
        {
            let ch = b.struct_children().unwrap();
            let item = ch[0].list_item().unwrap();
            item.push_str("x");
            item.append_null();
            ch[0].end_row();
            let (k, v) = ch[1].map_parts().unwrap();
            k.push_str("a");
            v.push_i32(1);
            ch[1].end_row();
        }
        b.end_row();
        b.append_null();
        let a = b.finish();
        assert_eq!(a.data_type(), &ty.to_arrow());
        assert_eq!(a.len(), 2);
        assert!(a.is_null(1));
        let s = a.as_struct();
        assert_eq!(s.column(0).as_list::<i32>().value(0).len(), 2);
    }

    #[test]
    fn truncate_rolls_back_partial_rows() {
        let ty = nested();
        let mut b = ColumnBuilder::new(&ty, 4);
        b.append_null();
        let mark = b.len();
        {
            let ch = b.struct_children().unwrap();
            let item = ch[0].list_item().unwrap();
            item.push_str("partial");
        }
        b.truncate(mark);
        // the list item appended above must be gone too
        let ch = b.struct_children().unwrap();
        assert_eq!(ch[0].len(), 1);
        assert_eq!(ch[0].list_item().unwrap().len(), 0);
        b.append_null();
        let a = b.finish();
        assert_eq!(a.len(), 2);
        assert_eq!(a.null_count(), 2);
    }
}
