//! A plain-text view of a decoded job for people: one row per printed line
//! with its justification and style, and one bracketed row per code, image,
//! kick or cut, in stream order. Golden files and the printer emulator's
//! logs use it; it is a view only, nothing parses it back.

use super::{Decoded, Element, Line};
use crate::escpos::paper::CutKind;
use crate::escpos::style::Align;
use std::fmt;

fn flag(on: bool, c: char) -> char {
    if on {
        c
    } else {
        '-'
    }
}

fn line(f: &mut fmt::Formatter<'_>, l: &Line) -> fmt::Result {
    let a = match l.align {
        Align::Left => 'L',
        Align::Center => 'C',
        Align::Right => 'R',
    };
    writeln!(
        f,
        "{a} {}{}{}{} |{}",
        flag(l.bold, 'B'),
        flag(l.double_width, 'W'),
        flag(l.double_height, 'H'),
        flag(l.underline, 'U'),
        l.text
    )
}

impl fmt::Display for Decoded {
    /// Rows like `C BWH- |Keel Café` (align, bold, double width, double
    /// height, underline, then the text) and `[qr "ABCD1234"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.order {
            match *e {
                Element::Initialize => writeln!(f, "[initialize]")?,
                Element::Line(i) => {
                    if let Some(l) = self.lines.get(i) {
                        line(f, l)?;
                    }
                }
                Element::Qr(i) => writeln!(
                    f,
                    "[qr {:?}]",
                    self.qr_codes.get(i).map(String::as_str).unwrap_or("")
                )?,
                Element::Barcode(i) => {
                    if let Some((k, t)) = self.barcodes.get(i) {
                        writeln!(f, "[barcode {k:?} {t:?}]")?;
                    }
                }
                Element::Image(i) => {
                    if let Some((w, h)) = self.images.get(i) {
                        writeln!(f, "[image {w}x{h}]")?;
                    }
                }
                Element::Cut(i) => {
                    let kind = match self.cuts.get(i) {
                        Some(CutKind::Full) => "full",
                        _ => "partial",
                    };
                    writeln!(f, "[cut {kind}]")?;
                }
                Element::Kick(i) => {
                    if let Some((pin, on, off)) = self.kicks.get(i) {
                        writeln!(f, "[kick pin {} {on} ms on, {off} ms off]", pin.number())?;
                    }
                }
                Element::CodePage(i) => {
                    if let Some(n) = self.code_pages.get(i) {
                        writeln!(f, "[code page ESC t {n}]")?;
                    }
                }
            }
        }
        if self.unknown > 0 {
            writeln!(f, "[{} unknown]", self.unknown)?;
        }
        Ok(())
    }
}
