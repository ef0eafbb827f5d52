//! ksqlDB's typing rules over Arrow types: names, numeric widening, DECIMAL result types.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use riffle_types::SqlType;

/// ksqlDB's name of an Arrow type (`INTEGER`, `ARRAY<STRING>`, …); `NULL` for an untyped null.
pub fn type_name(dt: &DataType) -> String {
    if dt == &DataType::Null {
        return "NULL".into();
    }
    match SqlType::from_arrow(dt) {
        Ok(t) => t.to_string(),
        Err(_) => dt.to_string(),
    }
}

/// INT.
pub const INT: DataType = DataType::Int32;
/// BIGINT.
pub const BIGINT: DataType = DataType::Int64;
/// DOUBLE.
pub const DOUBLE: DataType = DataType::Float64;
/// STRING.
pub const STRING: DataType = DataType::Utf8;

/// TIMESTAMP as Riffle stores it.
pub fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// TIME as Riffle stores it.
pub fn time() -> DataType {
    DataType::Time32(TimeUnit::Millisecond)
}

/// `ARRAY<item>`.
pub fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// `MAP<key, value>` in Riffle's Arrow layout.
pub fn map_of(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", key, false),
            Field::new("value", value, true),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The item type of an ARRAY.
pub fn list_item(dt: &DataType) -> Option<&DataType> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

/// The key and value types of a MAP.
pub fn map_types(dt: &DataType) -> Option<(&DataType, &DataType)> {
    match dt {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Some((kv[0].data_type(), kv[1].data_type())),
            _ => None,
        },
        _ => None,
    }
}

/// Integer types (INT or BIGINT, including narrower Arrow integers).
pub fn is_integer(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// INT, BIGINT, DOUBLE or DECIMAL.
pub fn is_numeric(dt: &DataType) -> bool {
    is_integer(dt) || is_double(dt) || is_decimal(dt)
}

/// DOUBLE (any Arrow float).
pub fn is_double(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}

/// DECIMAL.
pub fn is_decimal(dt: &DataType) -> bool {
    matches!(dt, DataType::Decimal128(_, _) | DataType::Decimal256(_, _))
}

/// STRING.
pub fn is_string(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The canonical Arrow type for ksqlDB type of `dt` (INT for narrow integers, and so on).
pub fn canonical(dt: &DataType) -> DataType {
    match SqlType::from_arrow(dt) {
        Ok(t) if dt != &DataType::Null => t.to_arrow(),
        _ => dt.clone(),
    }
}

/// The DECIMAL that holds every value of an integer or DECIMAL type (ksqlDB's
/// `DecimalUtil.toSqlDecimal`): INT is DECIMAL(10, 0), BIGINT DECIMAL(19, 0).
pub fn as_decimal(dt: &DataType) -> Option<(u8, i8)> {
    match dt {
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => Some((*p, *s)),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => Some((10, 0)),
        DataType::UInt8 | DataType::UInt16 => Some((10, 0)),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => Some((19, 0)),
        _ => None,
    }
}

/// A DECIMAL type with precision clamped to 1..=38 and scale to 0..=precision.
pub fn decimal(precision: i32, scale: i32) -> DataType {
    let p = precision.clamp(1, 38);
    let s = scale.clamp(0, p);
    DataType::Decimal128(p as u8, s as i8)
}

/// ksqlDB's `DecimalUtil.widen`: the DECIMAL holding both.
pub fn widen_decimal(a: (u8, i8), b: (u8, i8)) -> DataType {
    let whole = (a.0 as i32 - a.1 as i32).max(b.0 as i32 - b.1 as i32);
    let scale = (a.1 as i32).max(b.1 as i32);
    decimal(whole + scale, scale)
}

/// ksqlDB's rank of numeric types for implicit widening.
fn numeric_rank(dt: &DataType) -> u8 {
    if is_double(dt) {
        4
    } else if is_decimal(dt) {
        3
    } else if matches!(dt, DataType::Int64 | DataType::UInt32 | DataType::UInt64) {
        2
    } else {
        1
    }
}

/// The common type of two numeric types: the wider one (DECIMALs widen to hold both, and
/// integers widen into DECIMAL as `DecimalUtil` does).
pub fn wider_numeric(a: &DataType, b: &DataType) -> DataType {
    if is_double(a) || is_double(b) {
        return DOUBLE;
    }
    if is_decimal(a) || is_decimal(b) {
        if let (Some(x), Some(y)) = (as_decimal(a), as_decimal(b)) {
            return widen_decimal(x, y);
        }
    }
    if numeric_rank(a) >= numeric_rank(b) {
        canonical(a)
    } else {
        canonical(b)
    }
}

/// Whether a value of type `from` may be used where `to` is expected without an explicit CAST
/// (ksqlDB's `SqlBaseType.canImplicitlyCast` extended to nested types).
pub fn can_implicitly_cast(from: &DataType, to: &DataType) -> bool {
    if from == &DataType::Null {
        return true;
    }
    if is_numeric(from) && is_numeric(to) {
        return numeric_rank(from) <= numeric_rank(to);
    }
    match (list_item(from), list_item(to)) {
        (Some(a), Some(b)) => return can_implicitly_cast(a, b),
        (None, None) => {}
        _ => return false,
    }
    match (map_types(from), map_types(to)) {
        (Some((k1, v1)), Some((k2, v2))) => {
            return can_implicitly_cast(k1, k2) && can_implicitly_cast(v1, v2)
        }
        (None, None) => {}
        _ => return false,
    }
    if let (DataType::Struct(a), DataType::Struct(b)) = (from, to) {
        return a.iter().all(|fa| {
            b.iter()
                .find(|fb| fb.name() == fa.name())
                .is_some_and(|fb| can_implicitly_cast(fa.data_type(), fb.data_type()))
        });
    }
    SqlType::from_arrow(from).ok() == SqlType::from_arrow(to).ok()
}

/// The common super type of two types under ksqlDB's implicit casts, if any: numeric types widen,
/// collections widen element-wise and structs take the union of their fields.
pub fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == &DataType::Null {
        return Some(b.clone());
    }
    if b == &DataType::Null {
        return Some(a.clone());
    }
    if is_numeric(a) && is_numeric(b) {
        return Some(wider_numeric(a, b));
    }
    if let (Some(x), Some(y)) = (list_item(a), list_item(b)) {
        return common_type(x, y).map(list_of);
    }
    if let (Some((k1, v1)), Some((k2, v2))) = (map_types(a), map_types(b)) {
        return Some(map_of(common_type(k1, k2)?, common_type(v1, v2)?));
    }
    if let (DataType::Struct(fa), DataType::Struct(fb)) = (a, b) {
        let mut fields: Vec<Field> = Vec::new();
        for f in fa.iter() {
            let t = match fb.iter().find(|g| g.name() == f.name()) {
                Some(g) => common_type(f.data_type(), g.data_type())?,
                None => f.data_type().clone(),
            };
            fields.push(Field::new(f.name(), t, true));
        }
        for g in fb.iter() {
            if !fa.iter().any(|f| f.name() == g.name()) {
                fields.push(Field::new(g.name(), g.data_type().clone(), true));
            }
        }
        return Some(DataType::Struct(fields.into()));
    }
    let (x, y) = (SqlType::from_arrow(a).ok()?, SqlType::from_arrow(b).ok()?);
    (x == y).then(|| canonical(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_like_ksql() {
        assert_eq!(
            wider_numeric(&DataType::Decimal128(4, 2), &INT),
            DataType::Decimal128(12, 2)
        );
        assert_eq!(wider_numeric(&INT, &BIGINT), BIGINT);
        assert_eq!(wider_numeric(&DataType::Decimal128(4, 2), &DOUBLE), DOUBLE);
        assert_eq!(type_name(&list_of(INT)), "ARRAY<INTEGER>");
        assert!(can_implicitly_cast(&INT, &DOUBLE));
        assert!(!can_implicitly_cast(&DOUBLE, &INT));
    }
}
