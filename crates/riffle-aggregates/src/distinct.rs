//! COUNT_DISTINCT: ksqlDB's HyperLogLog estimate of the number of distinct non-null values.
//!
//! ksqlDB uses stream-lib's `HyperLogLog` with 2^14 registers of 5 bits packed six to a 32-bit
//! word, offering values hashed with stream-lib's MurmurHash (MurmurHash2, 32 bit). Riffle
//! reproduces registers, hashing and the estimate so that counts, exact for small groups and
//! approximate (standard error < 1%) for large ones, come out as ksqlDB's. The state is the
//! packed register words as `ARRAY<INT>`, as in ksqlDB.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use riffle_types::SqlType;

use crate::value::{bad_args, first, list_items, make_list, typed_null};
use crate::{AggregateConfig, AggregateFunction, Result};

/// log2 of the register count.
const LOG2M: u32 = 14;
/// Number of registers.
const M: usize = 1 << LOG2M;
/// Registers per 32-bit word.
const PER_WORD: usize = 6;
/// Bits per register.
const REGISTER_BITS: usize = 5;
/// Words holding all registers (stream-lib's `RegisterSet.getSizeForCount`).
const WORDS: usize = M.div_ceil(PER_WORD);

/// Resolves the aggregates of this module; `Ok(None)` when `name` is not one of them.
pub(crate) fn resolve(
    name: &str,
    args: &[SqlType],
    _params: &[ScalarValue],
    _config: &AggregateConfig,
) -> Result<Option<Arc<dyn AggregateFunction>>> {
    if name != "COUNT_DISTINCT" {
        return Ok(None);
    }
    if args.len() != 1 {
        return Err(bad_args(name, args));
    }
    Ok(Some(Arc::new(CountDistinct)))
}

/// `COUNT_DISTINCT(x)` of any type; BIGINT result; no undo (as ksqlDB).
#[derive(Debug)]
struct CountDistinct;

impl CountDistinct {
    fn words(state: &ScalarValue) -> Result<Vec<u32>> {
        let mut words: Vec<u32> = list_items("COUNT_DISTINCT", state)?
            .iter()
            .map(|v| match v {
                ScalarValue::Int32(Some(w)) => *w as u32,
                _ => 0,
            })
            .collect();
        words.resize(WORDS, 0);
        Ok(words)
    }

    fn build(words: &[u32]) -> Result<ScalarValue> {
        let values: Vec<_> = words
            .iter()
            .map(|w| ScalarValue::Int32(Some(*w as i32)))
            .collect();
        make_list("COUNT_DISTINCT", &values, &DataType::Int32)
    }
}

fn register(words: &[u32], position: usize) -> u32 {
    let shift = REGISTER_BITS * (position % PER_WORD);
    (words[position / PER_WORD] >> shift) & 0x1f
}

fn set_if_greater(words: &mut [u32], position: usize, value: u32) {
    let word = position / PER_WORD;
    let shift = REGISTER_BITS * (position % PER_WORD);
    let mask = 0x1f << shift;
    if (words[word] & mask) >> shift < value {
        words[word] = (words[word] & !mask) | (value << shift);
    }
}

/// stream-lib's `HyperLogLog.offerHashed`.
fn offer(words: &mut [u32], hash: u32) {
    let j = (hash >> (32 - LOG2M)) as usize;
    let r = ((hash << LOG2M) | ((1 << (LOG2M - 1)) + 1)).leading_zeros() + 1;
    set_if_greater(words, j, r);
}

/// stream-lib's `HyperLogLog.cardinality`: raw estimate, or linear counting while small.
fn cardinality(words: &[u32]) -> i64 {
    let m = M as f64;
    let alpha_mm = 0.7213 / (1.0 + 1.079 / m) * m * m;
    let (mut sum, mut zeros) = (0.0f64, 0.0f64);
    for j in 0..M {
        let v = register(words, j);
        sum += 1.0 / f64::from(1u32 << v);
        if v == 0 {
            zeros += 1.0;
        }
    }
    let estimate = alpha_mm * (1.0 / sum);
    if estimate <= 2.5 * m {
        // Java's Math.round: floor(x + 0.5).
        (m * (m / zeros).ln() + 0.5).floor() as i64
    } else {
        (estimate + 0.5).floor() as i64
    }
}

/// stream-lib's `MurmurHash.hash(byte[])`: MurmurHash2 with seed -1, Java's signed bytes in
/// the tail.
fn murmur_bytes(data: &[u8]) -> u32 {
    const MUL: u32 = 0x5bd1_e995;
    let mut h: u32 = 0xffff_ffff ^ data.len() as u32;
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(MUL);
        k ^= k >> 24;
        k = k.wrapping_mul(MUL);
        h = h.wrapping_mul(MUL);
        h ^= k;
    }
    let signed = |b: u8| i32::from(b as i8) as u32;
    // stream-lib indexes the tail from the end of the data (unlike the C original).
    let n = data.len();
    if !tail.is_empty() {
        if tail.len() >= 3 {
            h ^= signed(data[n - 3]) << 16;
        }
        if tail.len() >= 2 {
            h ^= signed(data[n - 2]) << 8;
        }
        h ^= signed(data[n - 1]);
        h = h.wrapping_mul(MUL);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(MUL);
    h ^= h >> 15;
    h
}

/// stream-lib's `MurmurHash.hashLong`.
fn murmur_long(data: i64) -> u32 {
    const MUL: u32 = 0x5bd1_e995;
    let mut k = (data as u32).wrapping_mul(MUL);
    k ^= k >> 24;
    let mut h = k.wrapping_mul(MUL);
    k = ((data >> 32) as u32).wrapping_mul(MUL);
    k ^= k >> 24;
    h = h.wrapping_mul(MUL);
    h ^= k.wrapping_mul(MUL);
    h ^= h >> 13;
    h = h.wrapping_mul(MUL);
    h ^= h >> 15;
    h
}

/// The hash stream-lib gives the Java object ksqlDB passes for `v`: numbers by value, strings
/// by their UTF-8 bytes, anything else by its `toString()` (reproduced for BOOLEAN, DECIMAL,
/// DATE, TIME and TIMESTAMP; approximated by Riffle's rendering for structured values).
fn hash(v: &ScalarValue) -> u32 {
    match v {
        ScalarValue::Int32(Some(x)) => murmur_long(i64::from(*x)),
        ScalarValue::Int64(Some(x)) => murmur_long(*x),
        ScalarValue::Float64(Some(x)) => murmur_long(x.to_bits() as i64),
        ScalarValue::Utf8(Some(s)) => murmur_bytes(s.as_bytes()),
        // A ByteBuffer's toString() shows only its position, limit and capacity.
        ScalarValue::Binary(Some(b)) => murmur_bytes(
            format!("java.nio.HeapByteBuffer[pos=0 lim={0} cap={0}]", b.len()).as_bytes(),
        ),
        other => murmur_bytes(java_to_string(other).as_bytes()),
    }
}

/// Java's `toString()` of the object ksqlDB holds for `v`, where Riffle can reproduce it.
fn java_to_string(v: &ScalarValue) -> String {
    const DAY_MS: i64 = 86_400_000;
    match v {
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        ScalarValue::Decimal128(Some(x), _, scale) => plain_decimal(*x, i32::from(*scale)),
        // java.sql.Date: yyyy-mm-dd.
        ScalarValue::Date32(Some(days)) => civil_date(i64::from(*days)),
        // java.sql.Time: HH:mm:ss, milliseconds dropped.
        ScalarValue::Time32Millisecond(Some(ms)) => {
            let secs = i64::from(*ms).rem_euclid(DAY_MS) / 1000;
            format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
        }
        // java.sql.Timestamp (UTC server): yyyy-mm-dd HH:mm:ss.f, fraction without trailing
        // zeros but at least one digit.
        ScalarValue::TimestampMillisecond(Some(ms), _) => {
            let (days, rem) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
            let secs = rem / 1000;
            let mut frac = format!("{:03}", rem % 1000);
            while frac.len() > 1 && frac.ends_with('0') {
                frac.pop();
            }
            format!(
                "{} {:02}:{:02}:{:02}.{frac}",
                civil_date(days),
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
        other => other.to_string(),
    }
}

/// `unscaled × 10^-scale` as `BigDecimal.toString` prints values of ordinary magnitude.
fn plain_decimal(unscaled: i128, scale: i32) -> String {
    let sign = if unscaled < 0 { "-" } else { "" };
    let digits = unscaled.unsigned_abs().to_string();
    if scale <= 0 {
        return format!("{sign}{digits}");
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// The proleptic Gregorian `yyyy-mm-dd` of a day count since 1970-01-01.
fn civil_date(days: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

impl AggregateFunction for CountDistinct {
    fn name(&self) -> &str {
        "COUNT_DISTINCT"
    }
    fn return_type(&self) -> SqlType {
        SqlType::Bigint
    }
    fn state_type(&self) -> SqlType {
        SqlType::Array(Box::new(SqlType::Int))
    }
    fn initial(&self) -> ScalarValue {
        Self::build(&[0; WORDS]).unwrap_or_else(|_| typed_null(&self.state_type().to_arrow()))
    }
    fn add(&self, state: &mut ScalarValue, args: &[ScalarValue]) -> Result<()> {
        let v = first(args);
        if v.is_null() {
            return Ok(());
        }
        let mut words = Self::words(state)?;
        offer(&mut words, hash(v));
        *state = Self::build(&words)?;
        Ok(())
    }
    fn undo(&self, _state: &mut ScalarValue, _args: &[ScalarValue]) -> Result<bool> {
        Ok(false)
    }
    fn merge(&self, a: &ScalarValue, b: &ScalarValue) -> Result<ScalarValue> {
        let (mut x, y) = (Self::words(a)?, Self::words(b)?);
        for j in 0..M {
            set_if_greater(&mut x, j, register(&y, j));
        }
        Self::build(&x)
    }
    fn supports_undo(&self) -> bool {
        false
    }
    fn result(&self, state: &ScalarValue) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(cardinality(&Self::words(state)?))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_small_groups_exactly() {
        let f = crate::resolve("COUNT_DISTINCT", &[SqlType::String], &[]).unwrap();
        let mut s = f.initial();
        assert_eq!(s.data_type(), f.state_type().to_arrow());
        assert_eq!(f.result(&s).unwrap(), ScalarValue::Int64(Some(0)));
        for v in ["a", "b", "a", "c", "b"] {
            f.add(&mut s, &[ScalarValue::Utf8(Some(v.into()))]).unwrap();
        }
        f.add(&mut s, &[ScalarValue::Utf8(None)]).unwrap();
        assert_eq!(f.result(&s).unwrap(), ScalarValue::Int64(Some(3)));
        let mut t = f.initial();
        f.add(&mut t, &[ScalarValue::Utf8(Some("z".into()))])
            .unwrap();
        f.add(&mut t, &[ScalarValue::Utf8(Some("a".into()))])
            .unwrap();
        let m = f.merge(&s, &t).unwrap();
        assert_eq!(f.result(&m).unwrap(), ScalarValue::Int64(Some(4)));
    }

    #[test]
    fn estimates_large_groups_closely() {
        let f = crate::resolve("COUNT_DISTINCT", &[SqlType::Bigint], &[]).unwrap();
        let mut words = vec![0u32; WORDS];
        for v in 0..20_000i64 {
            offer(&mut words, hash(&ScalarValue::Int64(Some(v))));
        }
        let s = CountDistinct::build(&words).unwrap();
        let ScalarValue::Int64(Some(n)) = f.result(&s).unwrap() else {
            panic!("not a count")
        };
        assert!((19_000..21_000).contains(&n), "{n}");
    }

    #[test]
    fn java_renderings() {
        assert_eq!(java_to_string(&ScalarValue::Date32(Some(0))), "1970-01-01");
        assert_eq!(
            java_to_string(&ScalarValue::Date32(Some(19_723))),
            "2024-01-01"
        );
        assert_eq!(java_to_string(&ScalarValue::Date32(Some(-1))), "1969-12-31");
        assert_eq!(
            java_to_string(&ScalarValue::Time32Millisecond(Some(3_723_456))),
            "01:02:03"
        );
        assert_eq!(
            java_to_string(&ScalarValue::TimestampMillisecond(Some(1_500), None)),
            "1970-01-01 00:00:01.5"
        );
        assert_eq!(
            java_to_string(&ScalarValue::TimestampMillisecond(Some(0), None)),
            "1970-01-01 00:00:00.0"
        );
        assert_eq!(plain_decimal(-5, 2), "-0.05");
        assert_eq!(plain_decimal(1234, 1), "123.4");
    }

    #[test]
    fn hashes_are_deterministic_and_spread() {
        assert_eq!(murmur_bytes(b"abc"), murmur_bytes(b"abc"));
        assert_ne!(murmur_bytes(b"abc"), murmur_bytes(b"abd"));
        assert_ne!(murmur_long(1), murmur_long(2));
        assert!(!CountDistinct
            .undo(&mut CountDistinct.initial(), &[])
            .unwrap());
    }
}
