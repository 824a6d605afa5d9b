//! The manager PIN pad's entry: digits kept here (never in a Slint property,
//! never logged), shown as a mask, handed over once on OK.

use crate::action::PinPurpose;

/// Most digits a PIN may have.
pub const MAX_PIN: usize = 8;

/// An open PIN pad: what it authorises and the digits keyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinEntry {
    /// What the PIN authorises.
    pub purpose: PinPurpose,
    digits: String,
}

impl PinEntry {
    /// A PIN pad for `purpose`, empty.
    pub fn new(purpose: PinPurpose) -> PinEntry {
        PinEntry {
            purpose,
            digits: String::new(),
        }
    }

    /// Applies a key (`"0"`..`"9"`, `"back"`, `"clear"`); false if refused.
    pub fn press(&mut self, key: &str) -> bool {
        match key {
            "back" => {
                self.digits.pop();
                true
            }
            "clear" => {
                self.digits.clear();
                true
            }
            d if d.len() == 1 && d.bytes().all(|b| b.is_ascii_digit()) => {
                if self.digits.len() >= MAX_PIN {
                    return false;
                }
                self.digits.push_str(d);
                true
            }
            _ => false,
        }
    }

    /// One dot per digit keyed.
    pub fn mask(&self) -> String {
        "●".repeat(self.digits.len())
    }

    /// The PIN keyed, if any digit was.
    pub fn take(self) -> Option<(PinPurpose, String)> {
        if self.digits.is_empty() {
            None
        } else {
            Some((self.purpose, self.digits))
        }
    }

    /// The pad's title for its purpose.
    pub fn title(&self) -> String {
        match &self.purpose {
            PinPurpose::VoidReceipt { receipt } => {
                crate::i18n::trf("Manager PIN to void receipt {}", &[receipt])
            }
            PinPurpose::Refund { receipt, lines } => crate::i18n::trf(
                "Manager PIN to refund {} line(s) of receipt {}",
                &[&lines.len(), receipt],
            ),
            PinPurpose::PriceOverride { line, .. } => {
                crate::i18n::trf("Manager PIN to override the price of line {}", &[line])
            }
            PinPurpose::CardApproval { amount_text, .. } => crate::i18n::trf(
                "Manager PIN to approve the card payment of {}",
                &[amount_text],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_masked_and_taken_once() {
        let mut p = PinEntry::new(PinPurpose::VoidReceipt { receipt: 7 });
        for k in ["1", "2", "3", "back", "4", "x"] {
            p.press(k);
        }
        assert_eq!(p.mask(), "●●●");
        assert_eq!(p.title(), "Manager PIN to void receipt 7");
        assert_eq!(
            p.take(),
            Some((PinPurpose::VoidReceipt { receipt: 7 }, "124".to_string()))
        );
    }

    #[test]
    fn empty_pin_is_not_submitted_and_length_is_capped() {
        let mut p = PinEntry::new(PinPurpose::VoidReceipt { receipt: 1 });
        assert_eq!(p.clone().take(), None);
        for _ in 0..MAX_PIN {
            assert!(p.press("9"));
        }
        assert!(!p.press("9"));
        p.press("clear");
        assert_eq!(p.take(), None);
    }
}
