//! 1-D barcodes (`GS k`): the symbologies, what data each accepts, and the
//! bytes that carry it.
//!
//! Owns validation and the `GS k` data form of each symbology (check digits
//! left to the printer, CODE128 code set B with `{` escaped) and its inverse
//! for the decoder: the text a person reads under the bars. Sends nothing.

use super::error::EncodeError;
use keel_core::barcode::check_digit;

/// A 1-D symbology `GS k` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BarcodeKind {
    /// UPC-A: 11 digits plus check digit.
    UpcA,
    /// UPC-E: 6, 7, 8, 11 or 12 digits.
    UpcE,
    /// EAN-13 (JAN-13): 12 digits plus check digit.
    Ean13,
    /// EAN-8 (JAN-8): 7 digits plus check digit.
    Ean8,
    /// CODE39: digits, upper-case letters, space and `$%+-./`.
    Code39,
    /// Interleaved 2 of 5: an even number of digits.
    Itf,
    /// CODABAR (NW-7): start and stop A-D around digits and `-$:/.+`.
    Codabar,
    /// CODE93: printable ASCII.
    Code93,
    /// CODE128: printable ASCII (sent in code set B).
    Code128,
}

impl BarcodeKind {
    /// The `m` of `GS k m n d1...dn` (function B, length-prefixed data).
    pub fn m(self) -> u8 {
        match self {
            BarcodeKind::UpcA => 65,
            BarcodeKind::UpcE => 66,
            BarcodeKind::Ean13 => 67,
            BarcodeKind::Ean8 => 68,
            BarcodeKind::Code39 => 69,
            BarcodeKind::Itf => 70,
            BarcodeKind::Codabar => 71,
            BarcodeKind::Code93 => 72,
            BarcodeKind::Code128 => 73,
        }
    }

    /// The symbology of `GS k m`, for function A (`m` 0-6, NUL-terminated
    /// data) or function B (`m` 65-73, length-prefixed).
    pub fn from_m(m: u8) -> Option<BarcodeKind> {
        Some(match m {
            0 | 65 => BarcodeKind::UpcA,
            1 | 66 => BarcodeKind::UpcE,
            2 | 67 => BarcodeKind::Ean13,
            3 | 68 => BarcodeKind::Ean8,
            4 | 69 => BarcodeKind::Code39,
            5 | 70 => BarcodeKind::Itf,
            6 | 71 => BarcodeKind::Codabar,
            72 => BarcodeKind::Code93,
            73 => BarcodeKind::Code128,
            _ => return None,
        })
    }
}

/// Where the human-readable interpretation (HRI) is printed (`GS H n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Hri {
    /// Not printed.
    None,
    /// Above the bars.
    Above,
    /// Below the bars (the usual place).
    #[default]
    Below,
    /// Above and below.
    Both,
}

impl Hri {
    /// The `n` of `GS H n`.
    pub fn n(self) -> u8 {
        match self {
            Hri::None => 0,
            Hri::Above => 1,
            Hri::Below => 2,
            Hri::Both => 3,
        }
    }
}

/// How a barcode is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BarcodeOptions {
    /// Where the digits go.
    pub hri: Hri,
    /// Bar height in dots (`GS h`, 1-255).
    pub height: u8,
    /// Narrow module width in dots (`GS w`, 2-6).
    pub module: u8,
}

impl Default for BarcodeOptions {
    fn default() -> Self {
        BarcodeOptions {
            hri: Hri::Below,
            height: 80,
            module: 2,
        }
    }
}

impl BarcodeOptions {
    /// Checks the geometry against what `GS h` and `GS w` accept.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if self.height == 0 || !(2..=6).contains(&self.module) {
            return Err(EncodeError::BarcodeGeometry {
                height: self.height,
                module: self.module,
            });
        }
        Ok(())
    }
}

const CODE39_CHARS: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%+-./";
const CODABAR_BODY: &str = "0123456789-$:/.+";

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn printable(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

/// Digits with an optional check digit: `n` digits are sent as they are, and
/// `n + 1` only when the last one is the right check digit (it is then left
/// for the printer to add).
fn gtin(data: &str, n: usize) -> Option<Vec<u8>> {
    if !digits(data) {
        return None;
    }
    if data.len() == n {
        return Some(data.as_bytes().to_vec());
    }
    if data.len() == n + 1 {
        let (body, check) = data.split_at(n);
        let expected = check_digit(body)?;
        if check.as_bytes().first().map(|b| b - b'0') == Some(expected) {
            return Some(body.as_bytes().to_vec());
        }
    }
    None
}

/// The `d1...dn` of `GS k` for `data`, or why the symbology cannot take it.
pub fn payload(kind: BarcodeKind, data: &str) -> Result<Vec<u8>, EncodeError> {
    let refuse = |expected: &'static str| EncodeError::Barcode {
        kind,
        data: data.to_string(),
        expected,
    };
    let bytes = match kind {
        BarcodeKind::UpcA => {
            gtin(data, 11).ok_or_else(|| refuse("11 digits, or 12 with a correct check digit"))?
        }
        BarcodeKind::Ean13 => {
            gtin(data, 12).ok_or_else(|| refuse("12 digits, or 13 with a correct check digit"))?
        }
        BarcodeKind::Ean8 => {
            gtin(data, 7).ok_or_else(|| refuse("7 digits, or 8 with a correct check digit"))?
        }
        BarcodeKind::UpcE => {
            if !digits(data) || ![6, 7, 8, 11, 12].contains(&data.len()) {
                return Err(refuse("6, 7, 8, 11 or 12 digits"));
            }
            data.as_bytes().to_vec()
        }
        BarcodeKind::Code39 => {
            if data.is_empty()
                || data.len() > 255
                || !data.chars().all(|c| CODE39_CHARS.contains(c))
            {
                return Err(refuse("1-255 of 0-9, A-Z, space and $%+-./"));
            }
            data.as_bytes().to_vec()
        }
        BarcodeKind::Itf => {
            if !digits(data) || !data.len().is_multiple_of(2) || data.len() > 254 {
                return Err(refuse("an even number of digits, at most 254"));
            }
            data.as_bytes().to_vec()
        }
        BarcodeKind::Codabar => {
            let b = data.as_bytes();
            let stop = |c: Option<&u8>| matches!(c.map(u8::to_ascii_uppercase), Some(b'A'..=b'D'));
            let body = b.get(1..b.len().saturating_sub(1)).unwrap_or_default();
            let ok = (2..=255).contains(&b.len())
                && stop(b.first())
                && stop(b.last())
                && body.iter().all(|c| CODABAR_BODY.as_bytes().contains(c));
            if !ok {
                return Err(refuse("start and stop A-D around digits and -$:/.+"));
            }
            data.as_bytes().to_vec()
        }
        BarcodeKind::Code93 => {
            if !printable(data) || data.len() > 255 {
                return Err(refuse("1-255 printable ASCII characters"));
            }
            data.as_bytes().to_vec()
        }
        BarcodeKind::Code128 => {
            if !printable(data) {
                return Err(refuse("printable ASCII characters"));
            }
            let mut out = b"{B".to_vec();
            for b in data.bytes() {
                if b == b'{' {
                    out.push(b'{');
                }
                out.push(b);
            }
            if out.len() > 255 {
                return Err(refuse("at most 253 bytes once '{' is escaped"));
            }
            out
        }
    };
    Ok(bytes)
}

fn ascii_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..=0x7E).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

fn with_check(bytes: &[u8], n: usize) -> String {
    let text = ascii_text(bytes);
    if bytes.len() == n {
        if let Some(c) = check_digit(&text) {
            return format!("{text}{c}");
        }
    }
    text
}

/// Decodes CODE128 `GS k` data: `{A`/`{B`/`{C` select the code set, `{{` is
/// a literal brace, other `{x` (shifts, FNC1-4) print nothing.
fn code128_text(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut set_c = false;
    let mut it = bytes.iter().copied();
    while let Some(b) = it.next() {
        if b == b'{' {
            match it.next() {
                Some(b'{') => out.push('{'),
                Some(b'C') => set_c = true,
                Some(b'A') | Some(b'B') => set_c = false,
                _ => {}
            }
        } else if set_c {
            if b < 100 {
                out.push_str(&format!("{b:02}"));
            } else {
                out.push('?');
            }
        } else if (0x20..=0x7E).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('?');
        }
    }
    out
}

/// The text printed under the bars for `GS k` data `bytes`: check digits the
/// printer adds are added, CODE128 code sets undone, anything unprintable `?`.
pub fn hri_text(kind: BarcodeKind, bytes: &[u8]) -> String {
    match kind {
        BarcodeKind::UpcA => with_check(bytes, 11),
        BarcodeKind::Ean13 => with_check(bytes, 12),
        BarcodeKind::Ean8 => with_check(bytes, 7),
        BarcodeKind::Code128 => code128_text(bytes),
        _ => ascii_text(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_check_digit_is_left_to_the_printer() {
        assert_eq!(
            payload(BarcodeKind::Ean13, "4006381333931").unwrap(),
            b"400638133393"
        );
        assert_eq!(
            payload(BarcodeKind::Ean13, "400638133393").unwrap(),
            b"400638133393"
        );
        assert!(payload(BarcodeKind::Ean13, "4006381333932").is_err());
        assert!(payload(BarcodeKind::Ean13, "40063813339A").is_err());
        assert_eq!(
            hri_text(BarcodeKind::Ean13, b"400638133393"),
            "4006381333931"
        );
    }

    #[test]
    fn code128_escapes_braces() {
        let p = payload(BarcodeKind::Code128, "a{b").unwrap();
        assert_eq!(p, b"{Ba{{b");
        assert_eq!(hri_text(BarcodeKind::Code128, &p), "a{b");
        assert_eq!(hri_text(BarcodeKind::Code128, b"{C\x0c\x22"), "1234");
        assert!(payload(BarcodeKind::Code128, "caf\u{e9}").is_err());
    }

    #[test]
    fn shapes() {
        assert!(payload(BarcodeKind::Itf, "123").is_err());
        assert!(payload(BarcodeKind::Itf, "1234").is_ok());
        assert!(payload(BarcodeKind::Codabar, "A123B").is_ok());
        assert!(payload(BarcodeKind::Codabar, "123").is_err());
        assert!(payload(BarcodeKind::Code39, "KEEL-1").is_ok());
        assert!(payload(BarcodeKind::Code39, "keel").is_err());
    }
}
