//! Barcodes: validating and classifying the retail codes a scanner reads.
//!
//! This module owns the GS1 mod-10 check digit, recognising EAN-13, EAN-8 and
//! UPC-A, the GS1 price/measure verifier digit, and decoding in-store
//! variable-measure EAN-13 codes (GS1 prefixes 20-29) that carry a price or a
//! weight. It must not look anything up in the catalog, do I/O, or panic on any
//! input: every scanner string, however malformed, yields a value or an error.
//!
//! # In-store (variable-measure) layout
//!
//! GS1 leaves the meaning of prefixes 20-29 to each country or retailer, so the
//! layout is configurable through [`EmbeddedLayout`]. The default, modelled on
//! the widespread European scale-label practice (and the default nomenclature
//! of several open-source POS systems), is:
//!
//! ```text
//!   P P I I I I I V V V V V C
//!   ^^^ ^^^^^^^^^ ^^^^^^^^^ ^
//!   |   item code  value    EAN-13 check digit
//!   prefix: 21, 22 = weight in grams (00000-99999 g)
//!           23, 24 = price in minor units (00000-99999, e.g. EUR 0.00-999.99)
//!           20, 25-29 = plain in-store article numbers (no embedded value)
//! ```
//!
//! A layout may instead use a 4-digit value preceded by a GS1 price/measure
//! verifier digit (`P P I I I I I K V V V V C`).
//!
//! # Catalog keys for embedded codes
//!
//! The catalog stores a variable-measure item under its *zero-value key*: the
//! same prefix and item code with every value (and verifier) digit set to 0 and
//! the EAN-13 check digit recomputed, so the key is itself a valid EAN-13 and
//! passes import validation. [`Barcode::embedded_lookup_key`] produces it, e.g.
//! the label `2112345012346` (item 12345, 1234 g) looks up `2112345000008`.

use thiserror::Error;

/// Errors from validating or classifying a barcode.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BarcodeError {
    /// The code is empty (after trimming surrounding whitespace).
    #[error("empty barcode")]
    Empty,
    /// The code contains a character that is not an ASCII digit.
    #[error("barcode contains non-digit {found:?} at position {position}")]
    NonDigit {
        /// 1-based character position of the offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The code is not 8 (EAN-8), 12 (UPC-A) or 13 (EAN-13) digits long.
    #[error("barcode has {0} digits; expected 8 (EAN-8), 12 (UPC-A) or 13 (EAN-13)")]
    WrongLength(usize),
    /// The final GS1 check digit does not match the other digits.
    #[error("bad check digit: expected {expected}, found {found}")]
    BadCheckDigit {
        /// The check digit the other digits require.
        expected: u8,
        /// The check digit actually present.
        found: u8,
    },
    /// The price/measure verifier digit of an in-store code does not match its value digits.
    #[error("bad price/weight verifier digit: expected {expected}, found {found}")]
    BadVerifierDigit {
        /// The verifier digit the value digits require.
        expected: u8,
        /// The verifier digit actually present.
        found: u8,
    },
    /// The [`EmbeddedLayout`] is inconsistent (digit counts or prefixes).
    #[error("invalid in-store barcode layout: {0}")]
    InvalidLayout(String),
}

/// The symbology (format) of a product barcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Symbology {
    /// EAN-13 / GTIN-13: 13 digits.
    Ean13,
    /// EAN-8 / GTIN-8: 8 digits.
    Ean8,
    /// UPC-A / GTIN-12: 12 digits.
    UpcA,
}

/// A scanned code, validated and classified.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Barcode {
    /// A product code to look up in the catalog. `code` is the scanned digits;
    /// a UPC-A also matches as the EAN-13 with a leading 0 and vice versa, so
    /// look it up with [`Barcode::lookup_keys`].
    Product {
        /// The validated digits as scanned (whitespace trimmed).
        code: String,
        /// Which format the code is.
        symbology: Symbology,
    },
    /// In-store EAN-13 (prefix 20-29) carrying a price: item code + price in minor units.
    PriceEmbedded {
        /// The item-code digits (e.g. `"12345"`), without the prefix.
        item_code: String,
        /// The embedded price in minor units of the store currency.
        price_minor: i64,
        /// The full 13-digit code as scanned.
        code: String,
    },
    /// In-store EAN-13 (prefix 20-29) carrying a weight in grams.
    WeightEmbedded {
        /// The item-code digits (e.g. `"12345"`), without the prefix.
        item_code: String,
        /// The embedded weight in grams.
        grams: i64,
        /// The full 13-digit code as scanned.
        code: String,
    },
}

/// How in-store EAN-13 codes (GS1 prefixes 20-29) embed a price or weight.
///
/// The 13 digits are: 2-digit prefix, `item_digits` item code, an optional
/// verifier digit, `value_digits` value, and the EAN-13 check digit, so
/// `2 + item_digits + verifier + value_digits + 1` must equal 13. A prefix in
/// neither list is a plain in-store article number ([`Barcode::Product`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedLayout {
    /// Two-digit prefixes (20-29) whose value is a price in minor units.
    pub price_prefixes: Vec<u8>,
    /// Two-digit prefixes (20-29) whose value is a weight in grams.
    pub weight_prefixes: Vec<u8>,
    /// Number of item-code digits after the prefix.
    pub item_digits: usize,
    /// Number of value digits (price or grams).
    pub value_digits: usize,
    /// Whether a GS1 price/measure verifier digit precedes the value (value must then be 4 or 5 digits).
    pub verifier_digit: bool,
}

impl Default for EmbeddedLayout {
    /// Prefixes 21-22 weight (grams), 23-24 price (minor units); 5-digit item, 5-digit value, no verifier.
    fn default() -> Self {
        EmbeddedLayout {
            price_prefixes: vec![23, 24],
            weight_prefixes: vec![21, 22],
            item_digits: 5,
            value_digits: 5,
            verifier_digit: false,
        }
    }
}

impl EmbeddedLayout {
    /// Checks that the digit counts add up to 13 and the prefixes are distinct values in 20-29.
    pub fn validate(&self) -> Result<(), BarcodeError> {
        let bad = |m: String| Err(BarcodeError::InvalidLayout(m));
        let total = self
            .item_digits
            .saturating_add(self.value_digits)
            .saturating_add(usize::from(self.verifier_digit) + 3);
        if total != 13 {
            return bad(format!(
                "prefix 2 + item {} + verifier {} + value {} + check 1 = {total}, must be 13",
                self.item_digits,
                usize::from(self.verifier_digit),
                self.value_digits
            ));
        }
        if self.item_digits == 0 || self.value_digits == 0 {
            return bad("item and value digits must both be at least 1".to_string());
        }
        if self.verifier_digit && !(4..=5).contains(&self.value_digits) {
            return bad(format!(
                "a verifier digit needs a 4- or 5-digit value, not {}",
                self.value_digits
            ));
        }
        for p in self.price_prefixes.iter().chain(&self.weight_prefixes) {
            if !(20..=29).contains(p) {
                return bad(format!("prefix {p} is outside the in-store range 20-29"));
            }
        }
        if let Some(p) = self
            .price_prefixes
            .iter()
            .find(|p| self.weight_prefixes.contains(p))
        {
            return bad(format!("prefix {p} is listed for both price and weight"));
        }
        Ok(())
    }
}

/// GS1 mod-10 check digit for `digits_without_check` (weights 3,1,3,... from
/// the right). `None` if the input is empty or contains a non-digit.
pub fn check_digit(digits_without_check: &str) -> Option<u8> {
    if digits_without_check.is_empty() {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, b) in digits_without_check.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        let w = if i % 2 == 0 { 3 } else { 1 };
        sum = (sum + d * w) % 10;
    }
    // `sum` is in 0..10, so the result is a single digit.
    Some(((10 - sum) % 10) as u8)
}

/// True when `code` is all digits and its last digit is the GS1 check digit of the rest.
pub fn has_valid_check_digit(code: &str) -> bool {
    match code.as_bytes().split_last() {
        Some((last, rest)) if last.is_ascii_digit() && !rest.is_empty() => {
            let rest = core::str::from_utf8(rest).unwrap_or("x");
            check_digit(rest) == Some(last - b'0')
        }
        _ => false,
    }
}

const TWO_MINUS: [u32; 10] = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
const THREE: [u32; 10] = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
const FIVE_PLUS: [u32; 10] = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
const FIVE_MINUS: [u32; 10] = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];
const INVERSE_FIVE_MINUS: [u8; 10] = [0, 9, 7, 5, 3, 1, 8, 6, 4, 2];

/// GS1 price/measure verifier digit (General Specifications 7.9.3) for a 4- or
/// 5-digit value field. `None` for any other length or a non-digit.
pub fn verifier_digit(value_digits: &str) -> Option<u8> {
    let digits: Vec<usize> = value_digits
        .bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                Some(usize::from(b - b'0'))
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    let weights: &[&[u32; 10]] = match digits.len() {
        4 => &[&TWO_MINUS, &TWO_MINUS, &THREE, &FIVE_MINUS],
        5 => &[&FIVE_PLUS, &TWO_MINUS, &FIVE_MINUS, &FIVE_PLUS, &TWO_MINUS],
        _ => return None,
    };
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(d, w)| w.get(*d).copied().unwrap_or(0))
        .sum();
    if digits.len() == 4 {
        Some(((sum * 3) % 10) as u8)
    } else {
        INVERSE_FIVE_MINUS
            .get(((10 - sum % 10) % 10) as usize)
            .copied()
    }
}

/// Validates and classifies a scanned code with the default [`EmbeddedLayout`].
pub fn classify(code: &str) -> Result<Barcode, BarcodeError> {
    classify_with(code, &EmbeddedLayout::default())
}

/// Validates a code's digits, length and check digit; returns the trimmed code and its symbology.
pub fn validate(code: &str) -> Result<(&str, Symbology), BarcodeError> {
    let code = code.trim();
    if code.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if let Some((i, c)) = code.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(BarcodeError::NonDigit {
            position: i + 1,
            found: c,
        });
    }
    let symbology = match code.len() {
        8 => Symbology::Ean8,
        12 => Symbology::UpcA,
        13 => Symbology::Ean13,
        n => return Err(BarcodeError::WrongLength(n)),
    };
    let (body, last) = code.split_at(code.len() - 1);
    let found = last.bytes().next().map(|b| b - b'0').unwrap_or(0);
    let expected = check_digit(body).ok_or(BarcodeError::Empty)?;
    if expected != found {
        return Err(BarcodeError::BadCheckDigit { expected, found });
    }
    Ok((code, symbology))
}

/// Validates and classifies a scanned code using `layout` for in-store codes.
/// Surrounding whitespace (e.g. a scanner's trailing CR) is ignored.
pub fn classify_with(code: &str, layout: &EmbeddedLayout) -> Result<Barcode, BarcodeError> {
    let (code, symbology) = validate(code)?;
    let product = || Barcode::Product {
        code: code.to_string(),
        symbology,
    };
    if symbology != Symbology::Ean13 {
        return Ok(product());
    }
    let prefix = code
        .get(..2)
        .and_then(|p| p.parse::<u8>().ok())
        .unwrap_or(0);
    let is_price = layout.price_prefixes.contains(&prefix);
    let is_weight = layout.weight_prefixes.contains(&prefix);
    if !is_price && !is_weight {
        return Ok(product());
    }
    layout.validate()?;
    let item_end = 2 + layout.item_digits;
    let value_start = item_end + usize::from(layout.verifier_digit);
    let item_code = code.get(2..item_end).unwrap_or_default().to_string();
    let value_text = code
        .get(value_start..value_start + layout.value_digits)
        .unwrap_or_default();
    if layout.verifier_digit {
        let found = code.as_bytes().get(item_end).map(|b| b - b'0').unwrap_or(0);
        let expected = verifier_digit(value_text).unwrap_or(0);
        if expected != found {
            return Err(BarcodeError::BadVerifierDigit { expected, found });
        }
    }
    // At most 10 ASCII digits (layout validated), so this always fits in i64.
    let value = value_text
        .bytes()
        .fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    let code = code.to_string();
    Ok(if is_price {
        Barcode::PriceEmbedded {
            item_code,
            price_minor: value,
            code,
        }
    } else {
        Barcode::WeightEmbedded {
            item_code,
            grams: value,
            code,
        }
    })
}

impl Barcode {
    /// The full code as scanned.
    pub fn code(&self) -> &str {
        match self {
            Barcode::Product { code, .. }
            | Barcode::PriceEmbedded { code, .. }
            | Barcode::WeightEmbedded { code, .. } => code,
        }
    }

    /// The catalog keys to try, in order. A UPC-A yields itself and its EAN-13
    /// form (`"0"` + code); an EAN-13 starting with 0 yields itself and its
    /// UPC-A form; an embedded code yields its [`Barcode::embedded_lookup_key`].
    pub fn lookup_keys(&self) -> Vec<String> {
        match self {
            Barcode::Product {
                code,
                symbology: Symbology::UpcA,
            } => vec![code.clone(), format!("0{code}")],
            Barcode::Product {
                code,
                symbology: Symbology::Ean13,
            } => match code.strip_prefix('0') {
                Some(upc) => vec![code.clone(), upc.to_string()],
                None => vec![code.clone()],
            },
            Barcode::Product {
                code,
                symbology: Symbology::Ean8,
            } => vec![code.clone()],
            Barcode::PriceEmbedded { .. } | Barcode::WeightEmbedded { .. } => {
                vec![self.embedded_lookup_key()]
            }
        }
    }

    /// The catalog key for an in-store embedded code: the same prefix and item
    /// code, every value/verifier digit 0, and a recomputed (valid) EAN-13 check
    /// digit. For a [`Barcode::Product`] this is the code unchanged.
    pub fn embedded_lookup_key(&self) -> String {
        match self {
            Barcode::Product { code, .. } => code.clone(),
            Barcode::PriceEmbedded {
                item_code, code, ..
            }
            | Barcode::WeightEmbedded {
                item_code, code, ..
            } => {
                let prefix = code.get(..2).unwrap_or("2");
                let zeros = 12usize.saturating_sub(prefix.len() + item_code.len());
                let body = format!("{prefix}{item_code}{}", "0".repeat(zeros));
                let check = check_digit(&body).unwrap_or(0);
                format!("{body}{check}")
            }
        }
    }

    /// The canonical identity used to detect duplicates: the 13-digit EAN form
    /// of a product code (UPC-A gets a leading 0), or the embedded lookup key.
    pub fn canonical_key(&self) -> String {
        match self {
            Barcode::Product {
                code,
                symbology: Symbology::UpcA,
            } => format!("0{code}"),
            _ => self.embedded_lookup_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_real_codes() {
        assert_eq!(check_digit("400638133393"), Some(1));
        assert_eq!(
            classify("4006381333931").unwrap(),
            Barcode::Product {
                code: "4006381333931".into(),
                symbology: Symbology::Ean13
            }
        );
        assert_eq!(
            classify("96385074").unwrap(),
            Barcode::Product {
                code: "96385074".into(),
                symbology: Symbology::Ean8
            }
        );
        assert_eq!(
            classify(" 036000291452\r\n").unwrap(),
            Barcode::Product {
                code: "036000291452".into(),
                symbology: Symbology::UpcA
            }
        );
    }

    #[test]
    fn upc_and_ean13_forms_match() {
        let upc = classify("036000291452").unwrap();
        assert_eq!(
            upc.lookup_keys(),
            vec!["036000291452".to_string(), "0036000291452".to_string()]
        );
        let ean = classify("0036000291452").unwrap();
        assert_eq!(
            ean.lookup_keys(),
            vec!["0036000291452".to_string(), "036000291452".to_string()]
        );
        assert_eq!(upc.canonical_key(), ean.canonical_key());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(classify(""), Err(BarcodeError::Empty));
        assert_eq!(
            classify("40063813a3931"),
            Err(BarcodeError::NonDigit {
                position: 9,
                found: 'a'
            })
        );
        assert_eq!(classify("12345"), Err(BarcodeError::WrongLength(5)));
        assert_eq!(
            classify("4006381333932"),
            Err(BarcodeError::BadCheckDigit {
                expected: 1,
                found: 2
            })
        );
        let msg = classify("4006381333932").unwrap_err().to_string();
        assert!(
            msg.contains("expected 1") && msg.contains("found 2"),
            "{msg}"
        );
        assert_eq!(check_digit(""), None);
        assert_eq!(check_digit("12a"), None);
    }

    fn with_check(body: &str) -> String {
        format!("{body}{}", check_digit(body).unwrap())
    }

    #[test]
    fn weight_embedded_default_layout() {
        let code = with_check("211234501234");
        assert_eq!(code, "2112345012346");
        let b = classify(&code).unwrap();
        assert_eq!(
            b,
            Barcode::WeightEmbedded {
                item_code: "12345".into(),
                grams: 1234,
                code: code.clone()
            }
        );
        let key = b.embedded_lookup_key();
        assert_eq!(key, with_check("211234500000"));
        assert_eq!(key, "2112345000008");
        assert_eq!(b.lookup_keys(), vec![key.clone()]);
        // The key is itself valid and classifies as the same item with zero weight.
        assert_eq!(
            classify(&key).unwrap(),
            Barcode::WeightEmbedded {
                item_code: "12345".into(),
                grams: 0,
                code: key
            }
        );
    }

    #[test]
    fn price_embedded_default_layout() {
        let code = with_check("230042001299");
        let b = classify(&code).unwrap();
        assert_eq!(
            b,
            Barcode::PriceEmbedded {
                item_code: "00420".into(),
                price_minor: 1299,
                code: code.clone()
            }
        );
        assert_eq!(b.embedded_lookup_key(), with_check("230042000000"));
    }

    #[test]
    fn other_in_store_prefixes_are_plain_products() {
        let code = with_check("200000012345");
        assert_eq!(
            classify(&code).unwrap(),
            Barcode::Product {
                code,
                symbology: Symbology::Ean13
            }
        );
    }

    #[test]
    fn verifier_digit_matches_gs1_examples() {
        // Hand-computed per GS1 General Specifications 7.9.3:
        // 2875: 2-(2)=4, 2-(8)=5, 3(7)=1, 5-(5)=3 -> 13 * 3 = 39 -> 9.
        assert_eq!(verifier_digit("2875"), Some(9));
        // 14685: 5+(1)=5, 2-(4)=8, 5-(6)=7, 5+(8)=4, 2-(5)=9 -> 33; 10-3=7; 5-(6)=7 -> 6.
        assert_eq!(verifier_digit("14685"), Some(6));
        assert_eq!(verifier_digit("0000"), Some(0));
        assert_eq!(verifier_digit("00000"), Some(0));
        assert_eq!(verifier_digit("123"), None);
    }

    #[test]
    fn layout_with_verifier_digit() {
        let layout = EmbeddedLayout {
            price_prefixes: vec![22],
            weight_prefixes: vec![],
            item_digits: 5,
            value_digits: 4,
            verifier_digit: true,
        };
        let code = with_check("221234592875");
        assert_eq!(
            classify_with(&code, &layout).unwrap(),
            Barcode::PriceEmbedded {
                item_code: "12345".into(),
                price_minor: 2875,
                code: code.clone()
            }
        );
        let bad = with_check("221234512875");
        assert_eq!(
            classify_with(&bad, &layout),
            Err(BarcodeError::BadVerifierDigit {
                expected: 9,
                found: 1
            })
        );
        let key = classify_with(&code, &layout).unwrap().embedded_lookup_key();
        assert_eq!(key, with_check("221234500000"));
    }

    #[test]
    fn inconsistent_layouts_are_refused() {
        let mut l = EmbeddedLayout::default();
        l.item_digits = 6;
        assert!(matches!(l.validate(), Err(BarcodeError::InvalidLayout(_))));
        let mut l = EmbeddedLayout::default();
        l.weight_prefixes.push(23);
        assert!(matches!(l.validate(), Err(BarcodeError::InvalidLayout(_))));
        let mut l = EmbeddedLayout::default();
        l.price_prefixes.push(30);
        assert!(matches!(l.validate(), Err(BarcodeError::InvalidLayout(_))));
        assert!(matches!(
            classify_with(&with_check("231234500000"), &l),
            Err(BarcodeError::InvalidLayout(_))
        ));
        assert_eq!(EmbeddedLayout::default().validate(), Ok(()));
    }

    proptest! {
        #[test]
        fn appended_check_digit_validates(body in "[0-9]{1,20}") {
            let full = with_check(&body);
            prop_assert!(has_valid_check_digit(&full));
        }

        #[test]
        fn any_single_digit_change_fails(body in "[0-9]{1,20}", pos in any::<prop::sample::Index>(), delta in 1u8..10) {
            let full = with_check(&body);
            let i = pos.index(full.len());
            let mut bytes = full.into_bytes();
            bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(!has_valid_check_digit(&changed));
        }

        #[test]
        fn real_lengths_roundtrip(body in prop::sample::select(vec![7usize, 11, 12]).prop_flat_map(|n| proptest::string::string_regex(&format!("[0-9]{{{n}}}")).unwrap())) {
            let full = with_check(&body);
            prop_assert!(classify(&full).is_ok());
        }

        #[test]
        fn classify_never_panics(s in any::<String>()) {
            let _ = classify(&s);
        }

        #[test]
        fn classify_never_panics_on_digits(s in "[0-9 ]{0,16}", p in any::<Vec<u8>>(), w in any::<Vec<u8>>(), i in 0usize..14, v in 0usize..14, k in any::<bool>()) {
            let layout = EmbeddedLayout { price_prefixes: p, weight_prefixes: w, item_digits: i, value_digits: v, verifier_digit: k };
            let _ = classify_with(&s, &layout);
            if let Ok(b) = classify_with(&s, &layout) {
                let _ = b.lookup_keys();
            }
        }
    }
}
