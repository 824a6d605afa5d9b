//! The decoder's model of the printer: modes in force, the line being
//! filled, the QR symbol storage, and what has come out so far.

use super::{Decoded, Element, Line};
use crate::escpos::barcode::BarcodeKind;
use crate::escpos::codepage::CodePage;
use crate::escpos::kick::DrawerPin;
use crate::escpos::paper::CutKind;
use crate::escpos::style::{Align, TextSize};

/// Tab stops every this many columns (the power-on default).
const TAB: usize = 8;

/// Printer modes and output while decoding.
pub(super) struct State {
    bold: bool,
    underline: bool,
    size: TextSize,
    align: Align,
    /// `None` after `ESC t` selected a table Keel does not know.
    page: Option<CodePage>,
    line: Line,
    line_started: bool,
    /// Data stored by `GS ( k` function 180, printed by 181.
    pub(super) qr_store: Option<Vec<u8>>,
    out: Decoded,
}

impl Default for State {
    /// A printer just powered on: CP437, left aligned, normal text.
    fn default() -> Self {
        State {
            bold: false,
            underline: false,
            size: TextSize::NORMAL,
            align: Align::Left,
            page: Some(CodePage::Cp437),
            line: Line::default(),
            line_started: false,
            qr_store: None,
            out: Decoded::default(),
        }
    }
}

impl State {
    /// Counts something skipped.
    pub(super) fn unknown(&mut self) {
        self.out.unknown += 1;
    }

    /// `ESC @`: the buffer is discarded and every mode reset.
    pub(super) fn initialize(&mut self) {
        self.bold = false;
        self.underline = false;
        self.size = TextSize::NORMAL;
        self.align = Align::Left;
        self.page = Some(CodePage::Cp437);
        self.line = Line::default();
        self.line_started = false;
        self.out.order.push(Element::Initialize);
    }

    pub(super) fn set_bold(&mut self, on: bool) {
        self.bold = on;
    }

    pub(super) fn set_underline(&mut self, on: bool) {
        self.underline = on;
    }

    pub(super) fn set_size(&mut self, size: TextSize) {
        self.size = size;
    }

    pub(super) fn set_align(&mut self, align: Align) {
        self.align = align;
    }

    /// `ESC t n`.
    pub(super) fn select_page(&mut self, n: u8) {
        self.page = CodePage::from_esc_t(n);
        let i = self.out.code_pages.len();
        self.out.code_pages.push(n);
        self.out.order.push(Element::CodePage(i));
    }

    fn push_char(&mut self, c: char) {
        if !self.line_started {
            self.line_started = true;
            self.line.align = self.align;
        }
        if c != ' ' {
            self.line.bold |= self.bold;
            self.line.underline |= self.underline;
            self.line.double_width |= self.size.width >= 2;
            self.line.double_height |= self.size.height >= 2;
        }
        self.line.text.push(c);
    }

    /// A text byte, through the code page in force.
    pub(super) fn print_byte(&mut self, b: u8) {
        let c = self.page.and_then(|p| p.char_of(b)).unwrap_or(if b < 0x80 {
            char::from(b)
        } else {
            '\u{FFFD}'
        });
        self.push_char(c);
    }

    /// `HT`: spaces to the next tab stop.
    pub(super) fn tab(&mut self) {
        let n = self.line.text.chars().count();
        for _ in 0..(TAB - n % TAB) {
            self.push_char(' ');
        }
    }

    /// `LF`: the line (blank or not) is printed.
    pub(super) fn line_feed(&mut self) {
        if !self.line_started {
            self.line.align = self.align;
        }
        let line = std::mem::take(&mut self.line);
        self.line_started = false;
        let i = self.out.lines.len();
        self.out.lines.push(line);
        self.out.order.push(Element::Line(i));
    }

    /// Prints the buffer if it holds anything (a feed in dots, a cut, ...).
    pub(super) fn flush_line(&mut self) {
        if self.line_started {
            self.line_feed();
        }
    }

    /// `ESC d n`: the buffer and then blank lines, `n` feeds in all.
    pub(super) fn feed_lines(&mut self, n: u8) {
        if n == 0 {
            self.flush_line();
        }
        for _ in 0..n {
            self.line_feed();
        }
    }

    pub(super) fn qr_printed(&mut self) {
        match self.qr_store.as_deref() {
            Some(data) => {
                let text = String::from_utf8_lossy(data).into_owned();
                self.flush_line();
                let i = self.out.qr_codes.len();
                self.out.qr_codes.push(text);
                self.out.order.push(Element::Qr(i));
            }
            // Printing with nothing stored prints nothing.
            None => self.unknown(),
        }
    }

    pub(super) fn barcode(&mut self, kind: BarcodeKind, text: String) {
        self.flush_line();
        let i = self.out.barcodes.len();
        self.out.barcodes.push((kind, text));
        self.out.order.push(Element::Barcode(i));
    }

    pub(super) fn image(&mut self, width: u32, height: u32) {
        self.flush_line();
        let i = self.out.images.len();
        self.out.images.push((width, height));
        self.out.order.push(Element::Image(i));
    }

    pub(super) fn cut(&mut self, kind: CutKind) {
        self.flush_line();
        let i = self.out.cuts.len();
        self.out.cuts.push(kind);
        self.out.order.push(Element::Cut(i));
    }

    pub(super) fn kick(&mut self, pin: DrawerPin, on_ms: u16, off_ms: u16) {
        let i = self.out.kicks.len();
        self.out.kicks.push((pin, on_ms, off_ms));
        self.out.order.push(Element::Kick(i));
    }

    pub(super) fn status_request(&mut self, n: u8) {
        self.out.status_requests.push(n);
    }

    /// The result, with a line still in the buffer reported last.
    pub(super) fn finish(mut self) -> Decoded {
        self.flush_line();
        self.out
    }
}
