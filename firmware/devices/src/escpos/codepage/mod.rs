//! Code pages: which byte a character prints as, and back.
//!
//! This module owns the three character tables Keel selects with `ESC t n`
//! and the `n` each is selected by (Epson TM series numbering: 0 = PC437,
//! 19 = PC858, 16 = WPC1252). ASCII (0x20-0x7E) is the same on every page;
//! the upper half comes from [`tables`]. A character a page lacks encodes as
//! `?`, and every character encodes as exactly one byte, so column counts in
//! characters are column counts on paper. It must not emit control bytes for
//! text: the encoder relies on that to keep text from injecting commands.

mod tables;

use std::fmt;

/// The byte printed for a character the active code page lacks.
pub const REPLACEMENT: u8 = b'?';

/// A character table the printer can be switched to with `ESC t n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CodePage {
    /// IBM PC 437 (USA, standard Europe): the printer's power-on table; box
    /// drawing, some accented letters, no euro sign. `ESC t 0`.
    #[default]
    Cp437,
    /// IBM PC 858: PC 850 (multilingual Latin-1) with `€` at 0xD5; keeps the
    /// main single and double box-drawing characters. `ESC t 19`.
    Cp858,
    /// Windows-1252: `€` at 0x80, all Latin-1 letters, typographic quotes,
    /// no box drawing. `ESC t 16`.
    Wpc1252,
}

impl CodePage {
    /// Every page Keel knows, in `ESC t` order of preference for Western Europe.
    pub const ALL: [CodePage; 3] = [CodePage::Cp437, CodePage::Cp858, CodePage::Wpc1252];

    /// The `n` of `ESC t n` selecting this page on Epson TM printers (and the
    /// many compatibles that follow Epson's numbering).
    pub fn esc_t(self) -> u8 {
        match self {
            CodePage::Cp437 => 0,
            CodePage::Cp858 => 19,
            CodePage::Wpc1252 => 16,
        }
    }

    /// The page selected by `ESC t n`, if it is one Keel knows.
    pub fn from_esc_t(n: u8) -> Option<CodePage> {
        CodePage::ALL.into_iter().find(|p| p.esc_t() == n)
    }

    /// Short name as in configuration files: `cp437`, `cp858`, `wpc1252`.
    pub fn name(self) -> &'static str {
        match self {
            CodePage::Cp437 => "cp437",
            CodePage::Cp858 => "cp858",
            CodePage::Wpc1252 => "wpc1252",
        }
    }

    /// The page named `name` (case-insensitive; `cp1252` and `windows-1252`
    /// are accepted for WPC1252).
    pub fn from_name(name: &str) -> Option<CodePage> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cp437" | "pc437" | "437" => Some(CodePage::Cp437),
            "cp858" | "pc858" | "858" => Some(CodePage::Cp858),
            "wpc1252" | "cp1252" | "windows-1252" | "1252" => Some(CodePage::Wpc1252),
            _ => None,
        }
    }

    fn upper(self) -> &'static [char; 128] {
        match self {
            CodePage::Cp437 => &tables::CP437,
            CodePage::Cp858 => &tables::CP858,
            CodePage::Wpc1252 => &tables::WPC1252,
        }
    }

    /// The byte for `c` on this page, or `None` when the page lacks it.
    /// Control characters (C0, DEL, C1) have no byte: they would be commands.
    pub fn byte_of(self, c: char) -> Option<u8> {
        if (' '..='~').contains(&c) {
            return u8::try_from(u32::from(c)).ok();
        }
        if c.is_control() {
            return None;
        }
        self.upper()
            .iter()
            .position(|&t| t == c)
            .and_then(|i| u8::try_from(i + 0x80).ok())
    }

    /// The byte for `c`, or [`REPLACEMENT`] (`?`) when the page lacks it.
    pub fn encode_char(self, c: char) -> u8 {
        self.byte_of(c).unwrap_or(REPLACEMENT)
    }

    /// `text` as bytes on this page, one byte per character.
    pub fn encode(self, text: &str) -> Vec<u8> {
        text.chars().map(|c| self.encode_char(c)).collect()
    }

    /// The character byte `b` prints as, or `None` for control bytes and the
    /// bytes this page leaves undefined.
    pub fn char_of(self, b: u8) -> Option<char> {
        match b {
            0x20..=0x7E => Some(char::from(b)),
            0x80..=0xFF => self
                .upper()
                .get(usize::from(b - 0x80))
                .copied()
                .filter(|&c| c != '\0'),
            _ => None,
        }
    }

    /// True when the page can print `c` as itself.
    pub fn has(self, c: char) -> bool {
        self.byte_of(c).is_some()
    }
}

impl fmt::Display for CodePage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_byte_round_trips() {
        for page in CodePage::ALL {
            for b in 0x20..=0xFFu8 {
                if let Some(c) = page.char_of(b) {
                    assert_eq!(page.byte_of(c), Some(b), "{page} {b:#04x} {c:?}");
                }
            }
        }
    }

    #[test]
    fn esc_t_numbers_are_epsons() {
        assert_eq!(CodePage::from_esc_t(0), Some(CodePage::Cp437));
        assert_eq!(CodePage::from_esc_t(19), Some(CodePage::Cp858));
        assert_eq!(CodePage::from_esc_t(16), Some(CodePage::Wpc1252));
        assert_eq!(CodePage::from_esc_t(2), None);
    }

    #[test]
    fn euro_placement() {
        assert_eq!(CodePage::Cp858.byte_of('€'), Some(0xD5));
        assert_eq!(CodePage::Wpc1252.byte_of('€'), Some(0x80));
        assert_eq!(CodePage::Cp437.encode_char('€'), b'?');
    }

    #[test]
    fn controls_never_encode_as_themselves() {
        for c in ['\u{1b}', '\u{1d}', '\u{10}', '\n', '\u{7f}', '\u{85}'] {
            for page in CodePage::ALL {
                assert_eq!(page.encode_char(c), b'?');
            }
        }
    }
}
