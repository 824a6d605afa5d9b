//! Decimal weight text and units to integer grams.
//!
//! This module owns the arithmetic (exact, integer, rounded half away from
//! zero to the gram). It must not know frame layouts (that is
//! [`super::toledo`] and [`super::cas`]).

/// A unit a scale reports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Kilograms.
    Kilograms,
    /// Grams.
    Grams,
    /// Avoirdupois pounds (453.59237 g).
    Pounds,
    /// Avoirdupois ounces (28.349523125 g).
    Ounces,
}

impl Unit {
    /// Grams per unit as an exact fraction (numerator, denominator).
    fn grams_per_unit(self) -> (i128, i128) {
        match self {
            Unit::Kilograms => (1_000, 1),
            Unit::Grams => (1, 1),
            Unit::Pounds => (45_359_237, 100_000),
            Unit::Ounces => (28_349_523_125, 1_000_000_000),
        }
    }

    /// The unit for a CAS-style suffix (`kg`, `g`, `lb`, `oz`, any case).
    pub fn from_suffix(s: &str) -> Option<Unit> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kg" => Some(Unit::Kilograms),
            "g" => Some(Unit::Grams),
            "lb" | "lbs" => Some(Unit::Pounds),
            "oz" => Some(Unit::Ounces),
            _ => None,
        }
    }
}

/// Most digits a weight may have (keeps every product far inside `i128`).
const MAX_DIGITS: usize = 12;

/// `mantissa × 10^exponent` units in grams, rounded; `None` if it does not fit.
pub fn scaled_to_grams(mantissa: i64, exponent: i32, unit: Unit) -> Option<i64> {
    if !(-12..=12).contains(&exponent) {
        return None;
    }
    let (num, den) = unit.grams_per_unit();
    let pow = 10i128.checked_pow(exponent.unsigned_abs())?;
    let (n, d) = if exponent >= 0 {
        (
            i128::from(mantissa).checked_mul(num)?.checked_mul(pow)?,
            den,
        )
    } else {
        (
            i128::from(mantissa).checked_mul(num)?,
            den.checked_mul(pow)?,
        )
    };
    i64::try_from(round_div(n, d)).ok()
}

/// `n / d` rounded half away from zero (`d > 0`).
fn round_div(n: i128, d: i128) -> i128 {
    let q = (n.abs() * 2 + d) / (2 * d);
    if n < 0 {
        -q
    } else {
        q
    }
}

/// Parses unsigned decimal text (`"1.234"`, `"  12"`, `".5"`) into
/// `(mantissa, exponent)`; leading spaces allowed, nothing else.
pub fn parse_decimal(text: &str) -> Option<(i64, i32)> {
    let t = text.trim_start_matches(' ');
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty())
        || !all_digits(int)
        || !all_digits(frac)
        || int.len() + frac.len() > MAX_DIGITS
    {
        return None;
    }
    let mut mantissa: i64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa * 10 + i64::from(b - b'0');
    }
    let exponent = -i32::try_from(frac.len()).ok()?;
    Some((mantissa, exponent))
}

/// Signed decimal text in `unit` to grams.
pub fn text_to_grams(negative: bool, text: &str, unit: Unit) -> Option<i64> {
    let (m, e) = parse_decimal(text)?;
    scaled_to_grams(if negative { -m } else { m }, e, unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(text_to_grams(false, "  1.234", Unit::Kilograms), Some(1234));
        assert_eq!(text_to_grams(true, "0.010", Unit::Kilograms), Some(-10));
        assert_eq!(text_to_grams(false, "1.2345", Unit::Kilograms), Some(1235));
        assert_eq!(text_to_grams(false, "1.2344", Unit::Kilograms), Some(1234));
        assert_eq!(text_to_grams(false, "250", Unit::Grams), Some(250));
        assert_eq!(text_to_grams(false, "1.00", Unit::Pounds), Some(454));
        assert_eq!(text_to_grams(false, "16", Unit::Ounces), Some(454));
        assert_eq!(text_to_grams(false, ".5", Unit::Kilograms), Some(500));
        assert_eq!(scaled_to_grams(12, 2, Unit::Kilograms), Some(1_200_000));
        for bad in ["", ".", "1.2.3", "1,2", "-1", "1 2", "1234567890123"] {
            assert_eq!(text_to_grams(false, bad, Unit::Kilograms), None, "{bad}");
        }
        assert_eq!(scaled_to_grams(i64::MAX, 12, Unit::Kilograms), None);
    }
}
