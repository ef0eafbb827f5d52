//! Helpers that reproduce the Java library behaviour ksqlDB's serializers rely on: number
//! formatting (`Double.toString`, `BigDecimal.toString`/`toPlainString`), number parsing
//! (`Double.parseDouble`, `new BigDecimal(String)`, Jackson's `NumericNode.longValue()`),
//! `DecimalUtil.ensureFit`, and base64.

/// `Double.toString(d)`: shortest round-tripping digits, plain between 1e-3 and 1e7, otherwise
/// computerized scientific notation (`1.0E7`, `1.5E-5`).
pub(crate) fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    let mut sci = format!("{:e}", d.abs());
    if !sci.contains('.') {
        // Java prints at least two significant digits, correctly rounded from the exact value:
        // 4.9E-324 where the shortest round-tripping form is 5E-324.
        sci = format!("{:.1e}", d.abs());
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0".to_string(),
        t => t.to_string(),
    };
    let mut out = String::with_capacity(digits.len() + 8);
    if d < 0.0 {
        out.push('-');
    }
    let abs = d.abs();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() > int_len {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            } else {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// `Double.parseDouble(s)`: surrounding whitespace trimmed, optional `d`/`f` suffix,
/// `NaN` and `Infinity` spelled as Java does.
pub(crate) fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let t = t
        .strip_suffix(['d', 'D', 'f', 'F'])
        .filter(|r| r.ends_with(|c: char| c.is_ascii_digit() || c == '.'))
        .unwrap_or(t);
    let (sign, body) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// Jackson's `NumericNode.longValue()` for a JSON number's text: the integer part (fraction
/// truncated toward zero), keeping only the low 64 bits as `BigInteger.longValue()` does.
pub(crate) fn java_long_value(text: &str) -> i64 {
    let Ok(bd) = BigDec::parse(text) else {
        return 0;
    };
    // value = digits × 10^(-scale); the integer part has (len - scale) digits.
    let len = bd.digits.len() as i64;
    let int_digits = len.saturating_sub(bd.scale);
    if int_digits <= 0 || bd.is_zero() {
        return 0;
    }
    let mut acc: u64 = 0;
    let bytes = bd.digits.as_bytes();
    // 10^64 is a multiple of 2^64: more than 64 extra zeros leave nothing in the low bits.
    if int_digits > len + 64 {
        return 0;
    }
    for i in 0..int_digits as usize {
        let d = bytes.get(i).map_or(0, |b| (b - b'0') as u64);
        acc = acc.wrapping_mul(10).wrapping_add(d);
    }
    let v = if bd.neg { acc.wrapping_neg() } else { acc };
    v as i64
}

/// Jackson's `asText()` of a JSON number: integers print canonically, other numbers are
/// `BigDecimal`s (ksqlDB reads floats as exact decimals) and print with `BigDecimal.toString()`.
pub(crate) fn json_number_text(text: &str) -> String {
    let is_integer = !text.contains(['.', 'e', 'E']);
    match BigDec::parse(text) {
        Ok(bd) if is_integer => {
            if bd.is_zero() {
                "0".to_string()
            } else {
                bd.to_plain_string()
            }
        }
        Ok(bd) => bd.to_java_string(),
        Err(_) => text.to_string(),
    }
}

/// The simple class name Jackson gives a JSON number node (`IntNode`, `LongNode`,
/// `BigIntegerNode`, or `DecimalNode` for anything with a fraction or exponent).
pub(crate) fn json_number_node(text: &str) -> &'static str {
    if text.contains(['.', 'e', 'E']) {
        "DecimalNode"
    } else if text.parse::<i32>().is_ok() {
        "IntNode"
    } else if text.parse::<i64>().is_ok() {
        "LongNode"
    } else {
        "BigIntegerNode"
    }
}

/// A `java.math.BigDecimal`: `(-1)^neg × digits × 10^(-scale)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BigDec {
    /// Sign.
    pub neg: bool,
    /// Unscaled value's decimal digits without leading zeros (`"0"` for zero).
    pub digits: String,
    /// Scale, as Java counts it (negative for exponents beyond the digits).
    pub scale: i64,
}

impl BigDec {
    /// `new BigDecimal(String)`: `[+-]? (d+ [.d*] | .d+) ([eE][+-]?d+)?`.
    pub(crate) fn parse(s: &str) -> Result<BigDec, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if let Some(&c) = b.first() {
            if c == b'-' || c == b'+' {
                neg = c == b'-';
                i = 1;
            }
        }
        let mut digits = String::new();
        let mut frac = 0i64;
        let mut seen_point = false;
        let mut any_digit = false;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                any_digit = true;
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c as char);
                }
                if seen_point {
                    frac += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else if c == b'e' || c == b'E' {
                break;
            } else {
                return Err(bad_char(s, i));
            }
            i += 1;
        }
        if !any_digit {
            return Err(format!("Character array is missing \"digits\": {s}"));
        }
        let mut exp = 0i64;
        if i < b.len() {
            // exponent
            i += 1;
            let mut eneg = false;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                eneg = b[i] == b'-';
                i += 1;
            }
            if i >= b.len() {
                return Err("No exponent digits.".to_string());
            }
            while i < b.len() {
                let c = b[i];
                if !c.is_ascii_digit() {
                    return Err(bad_char(s, i));
                }
                exp = exp.saturating_mul(10).saturating_add((c - b'0') as i64);
                i += 1;
            }
            if eneg {
                exp = -exp;
            }
        }
        if exp.abs() > i32::MAX as i64 {
            return Err("Exponent overflow.".to_string());
        }
        if digits.is_empty() {
            digits.push('0');
        }
        let neg = neg && digits != "0";
        Ok(BigDec {
            neg,
            digits,
            scale: frac - exp,
        })
    }

    /// True for zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.digits == "0"
    }

    /// `BigDecimal.precision()`: the number of digits of the unscaled value.
    pub(crate) fn precision(&self) -> usize {
        self.digits.len()
    }

    /// `BigDecimal.toPlainString()` (capped at 10 000 zeros to bound memory).
    pub(crate) fn to_plain_string(&self) -> String {
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        let len = self.digits.len() as i64;
        if self.scale <= 0 {
            out.push_str(&self.digits);
            if !self.is_zero() || self.scale < 0 {
                out.extend(std::iter::repeat_n('0', (-self.scale).min(10_000) as usize));
            }
        } else if len > self.scale {
            let p = (len - self.scale) as usize;
            out.push_str(&self.digits[..p]);
            out.push('.');
            out.push_str(&self.digits[p..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n(
                '0',
                (self.scale - len).min(10_000) as usize,
            ));
            out.push_str(&self.digits);
        }
        out
    }

    /// `BigDecimal.toString()`: plain unless the scale is negative or the adjusted exponent is
    /// below -6, then scientific (`1E+3`, `1.5E-7`).
    pub(crate) fn to_java_string(&self) -> String {
        let len = self.digits.len() as i64;
        let adjusted = len - 1 - self.scale;
        if self.scale >= 0 && adjusted >= -6 {
            return self.to_plain_string();
        }
        let mut out = String::new();
        if self.neg {
            out.push('-');
        }
        out.push_str(&self.digits[..1]);
        if len > 1 {
            out.push('.');
            out.push_str(&self.digits[1..]);
        }
        out.push('E');
        if adjusted >= 0 {
            out.push('+');
        }
        out.push_str(&adjusted.to_string());
        out
    }

    /// `DecimalUtil.ensureFit(value, precision, scale)`: the unscaled value at `scale`, or
    /// ksqlDB's error when the value overflows or would need rounding.
    pub(crate) fn fit(&self, precision: u8, scale: i8) -> Result<i128, String> {
        let (p, s) = (precision as i64, scale as i64);
        let len = self.digits.len() as i64;
        if !self.is_zero() && len - 1 - self.scale >= p - s {
            return Err(format!(
                "Numeric field overflow: A field with precision {p} and scale {s} must round to \
                 an absolute value less than 10^{}. Got {}",
                p - s,
                self.to_plain_string()
            ));
        }
        let digits: &str;
        let mut pad = 0usize;
        if self.scale > s {
            let drop = (self.scale - s).min(len) as usize;
            let keep = len as usize - drop;
            if self.digits[keep..].bytes().any(|c| c != b'0') {
                return Err(format!(
                    "Cannot fit decimal '{}' into DECIMAL({p}, {s}) without rounding. \
                     (Requires {},{})",
                    self.to_plain_string(),
                    self.precision(),
                    self.scale
                ));
            }
            digits = if keep == 0 { "0" } else { &self.digits[..keep] };
        } else {
            digits = &self.digits;
            if !self.is_zero() {
                pad = (s - self.scale) as usize;
            }
        }
        let mut v: i128 = 0;
        for c in digits.bytes().chain(std::iter::repeat_n(b'0', pad)) {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((c - b'0') as i128))
                .ok_or_else(|| format!("Cannot fit decimal '{}'", self.to_plain_string()))?;
        }
        Ok(if self.neg { -v } else { v })
    }
}

fn bad_char(s: &str, i: usize) -> String {
    let c = s[i..].chars().next().unwrap_or('?');
    format!(
        "Character {c} is neither a decimal digit number, decimal point, nor \"e\" notation \
         exponential mark."
    )
}

/// An unscaled decimal at `scale`, as `BigDecimal.toPlainString()` prints it (`1.50`, `-0.05`).
pub(crate) fn decimal_to_string(unscaled: i128, scale: i8) -> String {
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 3);
    if neg {
        out.push('-');
    }
    let s = scale as i64;
    let len = digits.len() as i64;
    if s <= 0 {
        out.push_str(&digits);
        if unscaled != 0 {
            out.extend(std::iter::repeat_n('0', (-s) as usize));
        }
    } else if len > s {
        let p = (len - s) as usize;
        out.push_str(&digits[..p]);
        out.push('.');
        out.push_str(&digits[p..]);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (s - len) as usize));
        out.push_str(&digits);
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (`java.util.Base64.getEncoder()`, Jackson's default variant).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Standard base64 decoding; padding is optional, as `java.util.Base64.getDecoder()` allows.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_double_formatting() {
        assert_eq!(double_to_string(10.0), "10.0");
        assert_eq!(double_to_string(1234.589), "1234.589");
        assert_eq!(double_to_string(1e7), "1.0E7");
        assert_eq!(double_to_string(12345678.9), "1.23456789E7");
        assert_eq!(double_to_string(0.001), "0.001");
        assert_eq!(double_to_string(0.0001), "1.0E-4");
        assert_eq!(double_to_string(-1.5e-10), "-1.5E-10");
        assert_eq!(double_to_string(f64::from_bits(1)), "4.9E-324");
        assert_eq!(double_to_string(-f64::from_bits(4)), "-2.0E-323");
        assert_eq!(double_to_string(100.0), "100.0");
        assert_eq!(double_to_string(1e10), "1.0E10");
        assert_eq!(double_to_string(-0.0), "-0.0");
        assert_eq!(double_to_string(f64::NAN), "NaN");
        assert_eq!(double_to_string(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(double_to_string(100.0), "100.0");
        assert_eq!(double_to_string(532.8738323), "532.8738323");
    }

    #[test]
    fn java_double_parsing() {
        assert_eq!(parse_java_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_java_double("1.5d"), Some(1.5));
        assert_eq!(parse_java_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_java_double("NaN").unwrap().is_nan());
        assert_eq!(parse_java_double("inf"), None);
        assert_eq!(parse_java_double("abc"), None);
        assert_eq!(parse_java_double(""), None);
        assert_eq!(parse_java_double("1e3"), Some(1000.0));
    }

    #[test]
    fn long_value_truncates_and_wraps() {
        assert_eq!(java_long_value("1.9"), 1);
        assert_eq!(java_long_value("-1.9"), -1);
        assert_eq!(java_long_value("1.5e3"), 1500);
        assert_eq!(java_long_value("0.5"), 0);
        assert_eq!(java_long_value("18446744073709551617"), 1);
        assert_eq!(java_long_value("1e100"), 0);
        assert_eq!(java_long_value("9223372036854775807"), i64::MAX);
        assert_eq!(java_long_value("-9223372036854775808"), i64::MIN);
        assert_eq!(java_long_value("2147483648") as i32, i32::MIN);
    }

    #[test]
    fn big_decimal_parse_and_print() {
        let d = BigDec::parse("1.50").unwrap();
        assert_eq!((d.digits.as_str(), d.scale, d.precision()), ("150", 2, 3));
        assert_eq!(d.to_java_string(), "1.50");
        assert_eq!(BigDec::parse("1e2").unwrap().to_java_string(), "1E+2");
        assert_eq!(BigDec::parse("1e2").unwrap().to_plain_string(), "100");
        assert_eq!(
            BigDec::parse("0.00000001").unwrap().to_java_string(),
            "1E-8"
        );
        assert_eq!(BigDec::parse(".12").unwrap().to_plain_string(), "0.12");
        assert_eq!(BigDec::parse("-0.0").unwrap().to_plain_string(), "0.0");
        assert!(BigDec::parse("1.2.3").is_err());
        assert!(BigDec::parse("").is_err());
        assert!(BigDec::parse("e5").is_err());
        assert!(BigDec::parse("1e").is_err());
        assert_eq!(json_number_text("-0"), "0");
        assert_eq!(json_number_text("12"), "12");
        assert_eq!(json_number_node("12"), "IntNode");
        assert_eq!(json_number_node("12345678901"), "LongNode");
        assert_eq!(json_number_node("1.0"), "DecimalNode");
    }

    #[test]
    fn ensure_fit() {
        assert_eq!(BigDec::parse("10").unwrap().fit(6, 4), Ok(100000));
        assert_eq!(BigDec::parse("12.3650").unwrap().fit(6, 4), Ok(123650));
        assert_eq!(BigDec::parse("-0.05").unwrap().fit(12, 2), Ok(-5));
        assert_eq!(BigDec::parse("0").unwrap().fit(2, 1), Ok(0));
        assert_eq!(
            BigDec::parse("100").unwrap().fit(4, 2).unwrap_err(),
            "Numeric field overflow: A field with precision 4 and scale 2 must round to an \
             absolute value less than 10^2. Got 100"
        );
        assert_eq!(
            BigDec::parse("1.234").unwrap().fit(4, 2).unwrap_err(),
            "Cannot fit decimal '1.234' into DECIMAL(4, 2) without rounding. (Requires 4,3)"
        );
        assert_eq!(BigDec::parse("1.2300").unwrap().fit(4, 2), Ok(123));
        assert_eq!(
            BigDec::parse("12345678987654321.2345678987654321")
                .unwrap()
                .fit(33, 16),
            Ok(123456789876543212345678987654321)
        );
    }

    #[test]
    fn decimal_printing() {
        assert_eq!(decimal_to_string(150, 2), "1.50");
        assert_eq!(decimal_to_string(-5, 2), "-0.05");
        assert_eq!(decimal_to_string(0, 4), "0.0000");
        assert_eq!(decimal_to_string(12, 0), "12");
    }

    #[test]
    fn base64_round_trip() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"variations",
            &[0xff, 0, 0x80],
        ] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"variations"), "dmFyaWF0aW9ucw==");
        assert_eq!(base64_decode("IQ").unwrap(), b"!");
        assert_eq!(base64_decode("not base64!"), None);
        assert_eq!(base64_decode("A"), None);
    }
}
