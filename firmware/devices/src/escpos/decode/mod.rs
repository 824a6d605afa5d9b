//! The ESC/POS decoder: bytes back into what a person would see on paper.
//!
//! Owns the reading side: printed lines with their style and justification,
//! QR codes and barcodes with their content, raster images by size, cuts,
//! drawer kicks, code page changes and status requests, in order. Text is
//! decoded through the code page in force. It must never panic, whatever
//! the input: a command cut off by the end of the input is a
//! [`DecodeError`], anything else it does not understand is skipped and
//! counted in [`Decoded::unknown`]. It allocates nothing in proportion to a
//! length field, only to the input. It sends nothing and keeps no state
//! between calls.
//!
//! Deliberately a model of what an Epson-style printer shows, not a
//! renderer: magnification is reported as double width / double height,
//! column positions and dot spacing are not simulated.

mod cursor;
mod esc;
mod gs;
mod realtime;
mod show;
mod state;

use super::barcode::BarcodeKind;
use super::kick::DrawerPin;
use super::paper::CutKind;
use super::style::Align;
use thiserror::Error;

/// One printed line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Line {
    /// The characters, decoded to Unicode through the code page in force
    /// (tabs expanded to 8-column stops; bytes the page lacks as U+FFFD).
    pub text: String,
    /// Some visible character was printed emphasized.
    pub bold: bool,
    /// Some visible character was printed at twice the width or more.
    pub double_width: bool,
    /// Some visible character was printed at twice the height or more.
    pub double_height: bool,
    /// Some visible character was underlined.
    pub underline: bool,
    /// Justification in force when the line's first character was printed.
    pub align: Align,
}

/// Where each decoded thing came in the stream: an index into its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Element {
    /// `ESC @`.
    Initialize,
    /// [`Decoded::lines`]`[i]`.
    Line(usize),
    /// [`Decoded::qr_codes`]`[i]`.
    Qr(usize),
    /// [`Decoded::barcodes`]`[i]`.
    Barcode(usize),
    /// [`Decoded::images`]`[i]`.
    Image(usize),
    /// [`Decoded::cuts`]`[i]`.
    Cut(usize),
    /// [`Decoded::kicks`]`[i]`.
    Kick(usize),
    /// [`Decoded::code_pages`]`[i]`.
    CodePage(usize),
}

/// A drawer pulse as sent: the pin and its on and off times in milliseconds.
pub type Kick = (DrawerPin, u16, u16);

/// What a byte stream prints and does.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Decoded {
    /// Printed lines, blank ones included (`text` empty).
    pub lines: Vec<Line>,
    /// Content of each QR code printed (its stored bytes, as UTF-8 lossily).
    pub qr_codes: Vec<String>,
    /// Each 1-D barcode printed, with the text under its bars.
    pub barcodes: Vec<(BarcodeKind, String)>,
    /// Each raster or bit image printed, as (width, height) in dots; images
    /// whose size is stored in the printer (NV or downloaded) are (0, 0).
    pub images: Vec<(u32, u32)>,
    /// Each cut.
    pub cuts: Vec<CutKind>,
    /// Each drawer pulse (`ESC p`, or `DLE DC4 1` in 100 ms units).
    pub kicks: Vec<Kick>,
    /// The `n` of each `ESC t n`, in order (see `CodePage::from_esc_t`).
    pub code_pages: Vec<u8>,
    /// The `n` of each real-time status request `DLE EOT n`.
    pub status_requests: Vec<u8>,
    /// Everything above in stream order.
    pub order: Vec<Element>,
    /// Bytes or commands skipped because they were not understood (unknown
    /// commands, parameters out of range, stray control bytes).
    pub unknown: usize,
}

impl Decoded {
    /// The text of every line, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.lines.iter().map(|l| l.text.as_str()).collect()
    }

    /// All lines joined with `\n`, as a person would read the paper.
    pub fn text(&self) -> String {
        self.texts().join("\n")
    }

    /// The first line whose text contains `needle`.
    pub fn find_line(&self, needle: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.text.contains(needle))
    }

    /// Position in [`Decoded::order`] of the first element `wanted` accepts
    /// (handy to check, say, that a kick came before its cut).
    pub fn position(&self, wanted: impl Fn(&Element) -> bool) -> Option<usize> {
        self.order.iter().position(wanted)
    }
}

/// Why a byte stream could not be decoded to its end.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends inside a command (a job cut off mid-transfer).
    #[error("input ends inside {command} that starts at byte {offset}")]
    Truncated {
        /// Offset of the command's first byte.
        offset: usize,
        /// The command, e.g. "GS ( k".
        command: &'static str,
    },
}

/// Decodes a whole job; a command cut off at the end is an error.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    match decode_partial(bytes) {
        (d, None) => Ok(d),
        (_, Some(e)) => Err(e),
    }
}

/// Decodes as much as the bytes allow: what printed before a cut-off command
/// and the error, if any. Text still in the buffer at the end (no line feed
/// yet) is reported as a last line.
/// The printer emulator uses this on a stream that is still arriving.
pub fn decode_partial(bytes: &[u8]) -> (Decoded, Option<DecodeError>) {
    let mut cur = cursor::Cursor::new(bytes);
    let mut st = state::State::default();
    let mut error = None;
    while !cur.at_end() {
        if let Err(e) = step(&mut cur, &mut st) {
            error = Some(e);
            break;
        }
    }
    (st.finish(), error)
}

/// Decodes one byte of text or one command.
fn step(cur: &mut cursor::Cursor<'_>, st: &mut state::State) -> Result<(), DecodeError> {
    use super::commands::{CAN, CR, DLE, ESC, FF, FS, GS, HT, LF};
    let start = cur.pos();
    let Some(b) = cur.next() else {
        return Ok(());
    };
    match b {
        LF => st.line_feed(),
        HT => st.tab(),
        CR | CAN => {}
        FF => st.flush_line(),
        ESC => esc::command(cur, st, start)?,
        GS => gs::command(cur, st, start)?,
        FS => realtime::fs_command(cur, st, start)?,
        DLE => realtime::dle_command(cur, st, start)?,
        0x20..=0x7E | 0x80..=0xFF => st.print_byte(b),
        _ => st.unknown(),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
