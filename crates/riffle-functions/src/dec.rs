//! Exact decimal arithmetic on Arrow's `i128` unscaled values, with Java `BigDecimal`'s rounding
//! modes, and Java's `BigDecimal.valueOf(double)` view of doubles.

/// Java's `RoundingMode`s that ksqlDB uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards zero.
    Down,
    /// Away from zero.
    Up,
    /// Towards negative infinity.
    Floor,
    /// Towards positive infinity.
    Ceiling,
    /// To nearest, ties away from zero.
    HalfUp,
    /// To nearest, ties towards zero.
    HalfDown,
    /// To nearest, ties to even.
    HalfEven,
    /// Exact only: rounding is an error.
    Unnecessary,
}

/// 10^n as i128, if it fits.
pub fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Number of decimal digits of `v` (1 for zero), as `BigDecimal.precision()` counts them.
pub fn digits(v: i128) -> u32 {
    let mut n = v.unsigned_abs();
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Divides `v` by 10^`shift` rounding with `mode`; None when the mode is `Unnecessary` and
/// digits would be lost.
fn shift_right(v: i128, shift: u32, mode: Rounding) -> Option<i128> {
    let Some(div) = pow10(shift) else {
        // Everything is shifted out.
        return match mode {
            Rounding::Unnecessary if v != 0 => None,
            Rounding::Up if v != 0 => Some(v.signum()),
            Rounding::Floor if v < 0 => Some(-1),
            Rounding::Ceiling if v > 0 => Some(1),
            _ => Some(0),
        };
    };
    let q = v / div;
    let r = v % div;
    if r == 0 {
        return Some(q);
    }
    let sign = v.signum();
    let twice = r.unsigned_abs() * 2;
    let half_cmp = twice.cmp(&div.unsigned_abs());
    let away = match mode {
        Rounding::Unnecessary => return None,
        Rounding::Down => false,
        Rounding::Up => true,
        Rounding::Floor => sign < 0,
        Rounding::Ceiling => sign > 0,
        Rounding::HalfUp => half_cmp != std::cmp::Ordering::Less,
        Rounding::HalfDown => half_cmp == std::cmp::Ordering::Greater,
        Rounding::HalfEven => match half_cmp {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => q % 2 != 0,
        },
    };
    Some(if away { q + sign } else { q })
}

/// `BigDecimal.setScale`: changes the scale of `v` from `from` to `to`.
pub fn rescale(v: i128, from: i32, to: i32, mode: Rounding) -> Option<i128> {
    if to >= from {
        v.checked_mul(pow10((to - from) as u32)?)
    } else {
        shift_right(v, (from - to) as u32, mode)
    }
}

/// Rounds `v` (at scale `scale`) to `places` decimal places and returns it at its own scale,
/// as ksqlDB's ROUND/TRUNC on DECIMAL do (`setScale(places).setScale(scale)`).
pub fn round_keep_scale(v: i128, scale: i32, places: i32, mode: Rounding) -> Option<i128> {
    if places >= scale {
        return Some(v);
    }
    let r = rescale(v, scale, places, mode)?;
    rescale(r, places, scale, Rounding::Unnecessary)
}

/// Whether `v` fits a DECIMAL of `precision` digits.
pub fn fits(v: i128, precision: u8) -> bool {
    digits(v) <= precision as u32
}

/// Java's `BigDecimal.toPlainString()` of `v` at `scale`.
pub fn to_plain_string(v: i128, scale: i32) -> String {
    let neg = v < 0;
    let mut s = v.unsigned_abs().to_string();
    if scale <= 0 {
        for _ in 0..(-scale) {
            s.push('0');
        }
    } else {
        let scale = scale as usize;
        if s.len() <= scale {
            s = format!("{}{}", "0".repeat(scale - s.len() + 1), s);
        }
        s.insert(s.len() - scale, '.');
    }
    if neg {
        s.insert(0, '-');
    }
    s
}

/// Parses a decimal number (`-12.5`, `1e3`, `.5`) into its unscaled value and scale, the way
/// `new BigDecimal(text)` does; None for anything else or values beyond 38 digits.
pub fn parse(text: &str) -> Option<(i128, i32)> {
    let t = text.trim();
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (neg, body) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = match body.find('.') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let all = format!("{int_part}{frac_part}");
    let trimmed = all.trim_start_matches('0');
    if trimmed.len() > 38 {
        return None;
    }
    let mut v: i128 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    if neg {
        v = -v;
    }
    Some((v, frac_part.len() as i32 - exp))
}

/// Java's `BigDecimal.valueOf(d)`: the decimal of `Double.toString(d)` (the shortest digits that
/// read back as `d`); None for NaN, infinities and values beyond 38 digits.
pub fn from_f64(d: f64) -> Option<(i128, i32)> {
    if !d.is_finite() {
        return None;
    }
    // `{:e}` prints the shortest round-tripping digits, as Java's Double.toString does.
    let (v, scale) = parse(&format!("{d:e}"))?;
    // Java keeps at least one decimal place (1.0), but a negative scale is fine for arithmetic.
    Some((v, scale))
}

/// The double nearest to `v` at `scale`.
pub fn to_f64(v: i128, scale: i32) -> f64 {
    format!("{v}e{}", -scale).parse().unwrap_or(f64::NAN)
}

/// `v` at `scale` as an integer, truncating (Java's `longValue()`), wrapping like Java on overflow.
pub fn to_i64_wrapping(v: i128, scale: i32) -> i64 {
    let t = rescale(v, scale, 0, Rounding::Down).unwrap_or(0);
    t as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_big_decimal() {
        assert_eq!(rescale(15, 1, 0, Rounding::HalfUp), Some(2));
        assert_eq!(rescale(-15, 1, 0, Rounding::HalfUp), Some(-2));
        assert_eq!(rescale(-15, 1, 0, Rounding::HalfDown), Some(-1));
        assert_eq!(rescale(-11, 1, 0, Rounding::Floor), Some(-2));
        assert_eq!(rescale(11, 1, 0, Rounding::Ceiling), Some(2));
        assert_eq!(rescale(11, 1, 0, Rounding::Unnecessary), None);
        assert_eq!(
            round_keep_scale(12345678, 3, -1, Rounding::HalfUp),
            Some(12350000)
        );
        assert_eq!(to_plain_string(5, 3), "0.005");
        assert_eq!(to_plain_string(-1234, 2), "-12.34");
        assert_eq!(to_plain_string(12, -2), "1200");
        assert_eq!(parse("2e1"), Some((2, -1)));
        assert_eq!(parse(" -0.10 "), Some((-10, 2)));
        assert_eq!(parse("abc"), None);
        assert_eq!(from_f64(1.234567), Some((1234567, 6)));
        assert_eq!(to_f64(123, 2), 1.23);
    }
}
