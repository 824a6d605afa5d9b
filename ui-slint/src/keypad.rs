//! The cash keypad's entry: digits keyed by the cashier read as integer minor
//! units in the store currency (`1`,`2`,`5`,`0` is 12.50 in EUR, 1250 in IDR),
//! the quick amounts offered for a remaining balance, and the change preview.
//! Pure and synchronous; this is the one place the UI formats an amount (what
//! is being keyed exists nowhere else yet), with keel-core's formatter.

use keel_core::money::format_minor;

/// Most digits the keypad accepts (enough for any till, far below i64).
pub const MAX_DIGITS: usize = 12;

/// Most quick-amount buttons shown.
pub const MAX_QUICK: usize = 4;

/// A keypad key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// A digit 0-9.
    Digit(u8),
    /// Two zeros.
    DoubleZero,
    /// Remove the last digit.
    Back,
    /// Clear the entry.
    Clear,
}

impl Key {
    /// The key a keypad button names (`"0"`..`"9"`, `"00"`, `"back"`, `"clear"`).
    pub fn parse(name: &str) -> Option<Key> {
        match name {
            "00" => Some(Key::DoubleZero),
            "back" => Some(Key::Back),
            "clear" => Some(Key::Clear),
            d if d.len() == 1 => d
                .chars()
                .next()
                .and_then(|c| c.to_digit(10))
                .and_then(|v| u8::try_from(v).ok())
                .map(Key::Digit),
            _ => None,
        }
    }
}

/// The amount being keyed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keypad {
    /// Minor units keyed so far.
    minor: i64,
    /// Digits keyed (leading zeros do not count).
    digits: usize,
}

impl Keypad {
    /// An empty entry.
    pub fn new() -> Keypad {
        Keypad::default()
    }

    /// Applies one key; returns false when it was refused (too many digits).
    pub fn press(&mut self, key: Key) -> bool {
        match key {
            Key::Digit(d) => self.push(d),
            Key::DoubleZero => {
                if self.digits + 2 > MAX_DIGITS {
                    return false;
                }
                self.push(0) && self.push(0)
            }
            Key::Back => {
                self.minor /= 10;
                self.digits = self.digits.saturating_sub(1);
                if self.minor == 0 {
                    self.digits = 0;
                }
                true
            }
            Key::Clear => {
                *self = Keypad::default();
                true
            }
        }
    }

    fn push(&mut self, d: u8) -> bool {
        if self.digits >= MAX_DIGITS {
            return false;
        }
        // MAX_DIGITS keeps this far below i64::MAX.
        self.minor = self.minor * 10 + i64::from(d % 10);
        if self.minor != 0 {
            self.digits += 1;
        }
        true
    }

    /// Sets the entry to an amount (a quick amount), replacing what was keyed.
    pub fn set(&mut self, minor: i64) {
        let minor = minor.max(0);
        self.minor = minor;
        self.digits = if minor == 0 {
            0
        } else {
            minor.to_string().len()
        };
    }

    /// The entry in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// True when nothing is keyed.
    pub fn is_empty(&self) -> bool {
        self.minor == 0
    }

    /// The entry as text in a currency with `exponent` decimals.
    pub fn text(&self, exponent: u8) -> String {
        format_minor(self.minor, exponent)
    }
}

/// The change line under the keypad: the change the keyed cash would give, or
/// what it would leave to pay. Empty when nothing is keyed.
pub fn change_preview(keyed: i64, remaining: i64, exponent: u8) -> (String, bool) {
    if keyed <= 0 {
        return (String::new(), false);
    }
    let diff = keyed.saturating_sub(remaining);
    if diff >= 0 {
        (
            crate::i18n::trf("Change {}", &[&format_minor(diff, exponent)]),
            true,
        )
    } else {
        (
            crate::i18n::trf("Still to pay {}", &[&format_minor(-diff, exponent)]),
            false,
        )
    }
}

/// Quick amounts for a remaining balance: the exact amount, then the next
/// whole notes above it (each note rounded up to: `remaining` rounded up to a
/// multiple of that note), distinct, at most [`MAX_QUICK`].
pub fn quick_amounts(remaining: i64, notes: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    if remaining <= 0 {
        return out;
    }
    out.push(remaining);
    for &note in notes.iter().filter(|n| **n > 0) {
        let rounded = remaining
            .checked_add(note - 1)
            .map(|v| v / note * note)
            .unwrap_or(remaining);
        if !out.contains(&rounded) {
            out.push(rounded);
        }
        if out.len() >= MAX_QUICK {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(keys: &[&str]) -> Keypad {
        let mut k = Keypad::new();
        for name in keys {
            assert!(k.press(Key::parse(name).unwrap()), "{name}");
        }
        k
    }

    #[test]
    fn digits_read_as_minor_units() {
        let k = keyed(&["1", "2", "5", "0"]);
        assert_eq!(k.minor(), 1250);
        assert_eq!(k.text(2), "12.50");
        assert_eq!(k.text(0), "1250");
        let k = keyed(&["0", "0", "5", "00"]);
        assert_eq!((k.minor(), k.text(2)), (500, "5.00".to_string()));
    }

    #[test]
    fn back_and_clear() {
        let mut k = keyed(&["1", "2", "3", "back"]);
        assert_eq!(k.minor(), 12);
        k.press(Key::Clear);
        assert!(k.is_empty());
        assert_eq!(k.text(2), "0.00");
        k.press(Key::Back);
        assert!(k.is_empty());
    }

    #[test]
    fn too_many_digits_are_refused() {
        let mut k = Keypad::new();
        for _ in 0..MAX_DIGITS {
            assert!(k.press(Key::Digit(9)));
        }
        assert!(!k.press(Key::Digit(9)));
        assert!(!k.press(Key::DoubleZero));
        assert_eq!(k.minor(), 999_999_999_999);
    }

    #[test]
    fn unknown_keys() {
        assert_eq!(Key::parse("x"), None);
        assert_eq!(Key::parse("10"), None);
        assert_eq!(Key::parse(""), None);
    }

    #[test]
    fn quick_amounts_round_up_to_notes() {
        assert_eq!(
            quick_amounts(1234, &[500, 1000, 2000, 5000]),
            vec![1234, 1500, 2000, 5000]
        );
        assert_eq!(quick_amounts(2000, &[500, 1000, 2000]), vec![2000]);
        assert!(quick_amounts(0, &[500]).is_empty());
    }

    #[test]
    fn change_preview_says_change_or_remaining() {
        assert_eq!(change_preview(2000, 1234, 2), ("Change 7.66".into(), true));
        assert_eq!(
            change_preview(1000, 1234, 2),
            ("Still to pay 2.34".into(), false)
        );
        assert_eq!(change_preview(0, 1234, 2), (String::new(), false));
    }
}
