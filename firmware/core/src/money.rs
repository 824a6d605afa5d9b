//! Money: integer minor units tagged with an ISO 4217 currency.
//!
//! This module owns the currency table, checked arithmetic that refuses to mix
//! currencies, and the decimal-string form used on consoles and receipts
//! ("12.50", "15000" for IDR, "1.250" for KWD). It must never use floating point.

use core::fmt;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An ISO 4217 currency: its three-letter code and its minor-unit exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Currencies Keel knows, with their ISO 4217 minor-unit exponents.
const KNOWN: &[(&str, u8)] = &[
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("AUD", 2),
    ("CAD", 2),
    ("SGD", 2),
    ("MYR", 2),
    ("THB", 2),
    ("PHP", 2),
    ("INR", 2),
    ("IDR", 0),
    ("JPY", 0),
    ("KRW", 0),
    ("VND", 0),
    ("KWD", 3),
    ("BHD", 3),
    ("OMR", 3),
];

/// Errors from looking up a currency code.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CurrencyError {
    /// The code is not a currency Keel knows.
    #[error("unknown currency code {0:?} (known: USD, EUR, GBP, IDR, JPY, KWD, ...)")]
    Unknown(String),
}

impl Currency {
    /// US dollar (exponent 2).
    pub const USD: Currency = Currency {
        code: *b"USD",
        exponent: 2,
    };
    /// Euro (exponent 2).
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };
    /// Indonesian rupiah (exponent 0).
    pub const IDR: Currency = Currency {
        code: *b"IDR",
        exponent: 0,
    };
    /// Japanese yen (exponent 0).
    pub const JPY: Currency = Currency {
        code: *b"JPY",
        exponent: 0,
    };
    /// Kuwaiti dinar (exponent 3).
    pub const KWD: Currency = Currency {
        code: *b"KWD",
        exponent: 3,
    };

    /// Looks up a currency by its ISO 4217 code (case-insensitive).
    pub fn from_code(code: &str) -> Result<Currency, CurrencyError> {
        let upper = code.trim().to_ascii_uppercase();
        KNOWN
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|(c, e)| {
                let b = c.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    exponent: *e,
                }
            })
            .ok_or(CurrencyError::Unknown(code.to_string()))
    }

    /// The three-letter code, e.g. "EUR".
    pub fn code(&self) -> &str {
        // Invariant: `code` is only ever built from the ASCII table above.
        core::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Number of decimal digits in the minor unit (2 for EUR, 0 for IDR, 3 for KWD).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// 10^exponent: how many minor units make one major unit.
    pub fn minor_per_major(&self) -> i64 {
        10i64.pow(u32::from(self.exponent))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Errors from money arithmetic and parsing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    /// The result does not fit in 64-bit minor units.
    #[error("amount overflow")]
    Overflow,
    /// The text is not a decimal amount.
    #[error(
        "not an amount: {0:?} (expected digits with an optional '.' and at most {1} decimals)"
    )]
    Malformed(String, u8),
    /// The amount has more decimals than the currency allows.
    #[error("{0:?} has more than {1} decimals for this currency")]
    TooManyDecimals(String, u8),
    /// A negative amount where only zero or more is allowed.
    #[error("amount must not be negative: {0}")]
    Negative(String),
}

/// An amount of money: signed integer minor units in one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Signed amount in minor units (cents for EUR, rupiah for IDR).
    pub minor: i64,
    /// The currency of `minor`.
    pub currency: Currency,
}

impl Money {
    /// An amount of `minor` units of `currency`.
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// Parses a decimal amount ("12.50", "-3", "15000") in `currency`.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        parse_minor(text, currency.exponent).map(|minor| Money { minor, currency })
    }

    /// Parses a decimal amount that must be zero or more.
    pub fn parse_non_negative(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let m = Money::parse(text, currency)?;
        if m.minor < 0 {
            return Err(MoneyError::Negative(text.to_string()));
        }
        Ok(m)
    }

    /// `self + other`, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money {
                minor,
                currency: self.currency,
            })
            .ok_or(MoneyError::Overflow)
    }

    /// `self - other`, refusing mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money {
                minor,
                currency: self.currency,
            })
            .ok_or(MoneyError::Overflow)
    }

    /// `-self`.
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        self.minor
            .checked_neg()
            .map(|minor| Money {
                minor,
                currency: self.currency,
            })
            .ok_or(MoneyError::Overflow)
    }

    /// Errors unless `other` is in the same currency.
    pub fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        Ok(())
    }

    /// True when the amount is zero.
    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    /// The decimal text of the amount without the currency code ("12.50").
    pub fn amount_text(self) -> String {
        format_minor(self.minor, self.currency.exponent)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_text(), self.currency)
    }
}

/// Parses a decimal string into minor units with `exponent` decimals.
pub fn parse_minor(text: &str, exponent: u8) -> Result<i64, MoneyError> {
    let t = text.trim();
    let malformed = || MoneyError::Malformed(text.to_string(), exponent);
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(malformed());
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed());
    }
    if digits.contains('.') && frac_part.is_empty() {
        return Err(malformed());
    }
    if frac_part.len() > usize::from(exponent) {
        return Err(MoneyError::TooManyDecimals(text.to_string(), exponent));
    }
    let mut value: i64 = 0;
    for b in int_part.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyError::Overflow)?;
    }
    for i in 0..usize::from(exponent) {
        let d = frac_part
            .as_bytes()
            .get(i)
            .map(|b| i64::from(b - b'0'))
            .unwrap_or(0);
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(MoneyError::Overflow)?;
    }
    Ok(if negative { -value } else { value })
}

/// Formats minor units as a decimal string with `exponent` decimals.
pub fn format_minor(minor: i64, exponent: u8) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(u32::from(exponent));
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = usize::from(exponent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_formats_per_exponent() {
        assert_eq!(Money::parse("12.50", Currency::EUR).unwrap().minor, 1250);
        assert_eq!(Money::parse("12.5", Currency::EUR).unwrap().minor, 1250);
        assert_eq!(Money::parse("15000", Currency::IDR).unwrap().minor, 15000);
        assert_eq!(Money::parse("1.250", Currency::KWD).unwrap().minor, 1250);
        assert_eq!(Money::new(-5, Currency::USD).amount_text(), "-0.05");
        assert_eq!(Money::new(15000, Currency::IDR).amount_text(), "15000");
        assert_eq!(Money::new(1250, Currency::KWD).amount_text(), "1.250");
    }

    #[test]
    fn refuses_bad_text() {
        for bad in ["", "abc", "1.2.3", "1.", ".", "1e3", "--1", "12,50"] {
            assert!(Money::parse(bad, Currency::EUR).is_err(), "{bad}");
        }
        assert!(matches!(
            Money::parse("1.5", Currency::IDR),
            Err(MoneyError::TooManyDecimals(..))
        ));
        assert!(matches!(
            Money::parse_non_negative("-1", Currency::EUR),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            Money::parse("99999999999999999999", Currency::EUR),
            Err(MoneyError::Overflow)
        ));
    }

    #[test]
    fn refuses_mixed_currencies() {
        let e = Money::new(1, Currency::EUR);
        let u = Money::new(1, Currency::USD);
        assert_eq!(
            e.checked_add(u),
            Err(MoneyError::CurrencyMismatch(Currency::EUR, Currency::USD))
        );
        assert!(Currency::from_code("XXX").is_err());
        assert_eq!(Currency::from_code("idr").unwrap(), Currency::IDR);
    }

    proptest! {
        #[test]
        fn format_then_parse_roundtrips(minor in -1_000_000_000_000i64..1_000_000_000_000, exp in 0u8..4) {
            let text = format_minor(minor, exp);
            prop_assert_eq!(parse_minor(&text, exp).unwrap(), minor);
        }
    }
}
