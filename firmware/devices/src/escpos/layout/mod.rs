//! Layouts: receipts, kitchen tickets and the printer test page as complete
//! ESC/POS jobs.
//!
//! Owns how Keel's paper looks: which lines are bold or large, what is
//! centred, where the QR code, the drawer kick and the cut go. Content comes
//! from the core's models (`keel_core::receipt::Receipt`,
//! `keel_core::kitchen::Ticket`), with money already formatted there: no
//! arithmetic on amounts happens here, and nothing here decides whether a
//! receipt is printed or a drawer opened (the caller passes the kick in).
//!
//! Every job starts with `ESC @` and the code page, so it prints the same
//! whatever the printer did before, and ends with the optional kick and
//! a feed-and-cut.

mod kitchen;
mod receipt;
mod test_page;
mod text;

pub use kitchen::write_kitchen_ticket;
pub use receipt::write_receipt;
pub use test_page::write_test_page;

use super::bitmap::Bitmap;
use super::codepage::CodePage;
use super::encoder::Encoder;
use super::kick::{DrawerPin, DEFAULT_OFF_MS, DEFAULT_ON_MS};
use super::paper::{CutKind, PaperWidth};
use keel_core::kitchen::Ticket;
use keel_core::receipt::Receipt;
use std::io::{self, Write};

/// How a job is laid out and finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutOptions {
    /// Paper roll width: sets the columns (32 or 48).
    pub width: PaperWidth,
    /// Code page selected at the start of the job; text it lacks prints `?`.
    pub code_page: CodePage,
    /// Logo printed centred at the top of receipts, if any (images wider
    /// than the paper are skipped rather than clipped).
    pub logo: Option<Bitmap>,
    /// Pulse this drawer pin (50 ms on, 500 ms off) just before the cut.
    pub kick: Option<DrawerPin>,
    /// How the job is cut.
    pub cut: CutKind,
    /// The receipt is a reprint: it says `*** COPY ***` under the header, so
    /// a duplicate cannot pass for the original.
    pub copy: bool,
}

impl Default for LayoutOptions {
    /// 80 mm, CP858 (Latin-1 letters, `€` and box drawing), no logo, no
    /// kick, partial cut.
    fn default() -> Self {
        LayoutOptions {
            width: PaperWidth::Mm80,
            code_page: CodePage::Cp858,
            logo: None,
            kick: None,
            cut: CutKind::Partial,
            copy: false,
        }
    }
}

impl LayoutOptions {
    /// The defaults on `width` paper.
    pub fn new(width: PaperWidth) -> LayoutOptions {
        LayoutOptions {
            width,
            ..LayoutOptions::default()
        }
    }

    /// These options with a drawer kick on `pin` before the cut.
    pub fn with_kick(mut self, pin: DrawerPin) -> LayoutOptions {
        self.kick = Some(pin);
        self
    }

    /// These options with `page` as the code page.
    pub fn with_code_page(mut self, page: CodePage) -> LayoutOptions {
        self.code_page = page;
        self
    }

    /// These options with `logo` on receipts.
    pub fn with_logo(mut self, logo: Bitmap) -> LayoutOptions {
        self.logo = Some(logo);
        self
    }

    /// These options cutting with `cut`.
    pub fn with_cut(mut self, cut: CutKind) -> LayoutOptions {
        self.cut = cut;
        self
    }

    /// These options marking a receipt as a copy (a reprint).
    pub fn as_copy(mut self) -> LayoutOptions {
        self.copy = true;
        self
    }

    /// Columns per line at normal width.
    pub fn columns(&self) -> usize {
        self.width.columns()
    }
}

/// `ESC @` and the code page: every job starts from a known state.
fn start<W: Write>(e: &mut Encoder<W>, opts: &LayoutOptions) -> io::Result<()> {
    e.initialize()?.code_page(opts.code_page)?;
    Ok(())
}

/// The optional drawer kick, then feed to the cutter and cut.
fn finish<W: Write>(e: &mut Encoder<W>, opts: &LayoutOptions) -> io::Result<()> {
    if let Some(pin) = opts.kick {
        e.kick(pin, DEFAULT_ON_MS, DEFAULT_OFF_MS)?;
    }
    e.feed_and_cut(opts.cut, 0)?;
    Ok(())
}

/// Runs a layout into a byte vector.
///
/// Invariant: writing to a `Vec` cannot fail, and the layouts pass the
/// encoder only arguments checked beforehand (fixed sizes, QR data checked
/// against its capacity, bitmaps valid by construction), so `f` cannot
/// fail. Were that ever broken, the bytes so far are returned and the error
/// logged rather than panicking in a sale's path.
fn render(f: impl FnOnce(&mut Encoder<&mut Vec<u8>>) -> io::Result<()>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out);
    if let Err(e) = f(&mut enc) {
        log::error!("escpos layout stopped early: {e}");
    }
    out
}

/// The ESC/POS job printing `receipt`.
pub fn receipt(receipt: &Receipt, opts: &LayoutOptions) -> Vec<u8> {
    render(|e| write_receipt(e, receipt, opts))
}

/// The ESC/POS job printing the kitchen `ticket`.
pub fn kitchen_ticket(ticket: &Ticket, opts: &LayoutOptions) -> Vec<u8> {
    render(|e| write_kitchen_ticket(e, ticket, opts))
}

/// The ESC/POS job of the printer test page (`printer test`).
pub fn test_page(opts: &LayoutOptions) -> Vec<u8> {
    render(|e| write_test_page(e, opts))
}
