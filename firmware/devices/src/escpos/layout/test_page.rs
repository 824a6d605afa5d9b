//! The printer test page (`printer test`): shows at a glance that the paper
//! width, code page, styles, barcodes, QR codes, raster images and the
//! cutter all work on this printer.

use super::text::rule;
use super::{finish, start, LayoutOptions};
use crate::escpos::barcode::{BarcodeKind, BarcodeOptions};
use crate::escpos::encoder::Encoder;
use crate::escpos::logo::keel_logo;
use crate::escpos::qr::QrOptions;
use crate::escpos::style::{Align, TextSize};
use std::io::{self, Write};

/// Sample letters and symbols; those the page lacks print as `?`.
pub(super) const SAMPLE_LETTERS: &str = "€ £ ¥ ü é ñ ß Ä Ö Ü ç ø";
/// Sample box drawing and shading.
pub(super) const SAMPLE_BOX: &str = "┌─┬─┐ ╔═╗ ░▒▓█";
/// Content of the test QR code.
pub(super) const TEST_QR: &str = "KEEL PRINTER TEST";
/// Content of the test EAN-13.
pub(super) const TEST_EAN13: &str = "4006381333931";
/// Content of the test CODE128.
pub(super) const TEST_CODE128: &str = "KEEL-128";

/// `1234567890` repeated across `cols` columns.
fn ruler(cols: usize) -> String {
    (1..=cols)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect()
}

/// Writes the test page job to `e`.
pub fn write_test_page<W: Write>(e: &mut Encoder<W>, opts: &LayoutOptions) -> io::Result<()> {
    let cols = opts.columns();
    start(e, opts)?;
    e.align(Align::Center)?;
    let logo = opts.logo.clone().unwrap_or_else(keel_logo);
    if logo.width() <= opts.width.dots() {
        e.raster(&logo)?;
    }
    e.bold(true)?.size(TextSize::DOUBLE)?.line("TEST PAGE")?;
    e.size(TextSize::NORMAL)?.bold(false)?;
    e.line(&format!("Paper {}, {cols} columns", opts.width))?;
    e.line(&format!(
        "Code page {} (ESC t {})",
        opts.code_page,
        opts.code_page.esc_t()
    ))?;
    e.align(Align::Left)?;
    e.line(&ruler(cols))?;
    e.line(&rule(cols))?;
    e.line("Normal")?;
    e.bold(true)?.line("Bold")?.bold(false)?;
    e.underline(true)?.line("Underline")?.underline(false)?;
    e.size(TextSize::WIDE)?.line("Double width")?;
    e.size(TextSize::TALL)?.line("Double height")?;
    e.size(TextSize::DOUBLE)?.line("Double")?;
    e.size(TextSize::NORMAL)?;
    e.line("Left")?;
    e.align(Align::Center)?.line("Centre")?;
    e.align(Align::Right)?.line("Right")?;
    e.align(Align::Left)?;
    e.line(SAMPLE_LETTERS)?;
    e.line(SAMPLE_BOX)?;
    e.line(&rule(cols))?;
    e.align(Align::Center)?;
    e.barcode(BarcodeKind::Ean13, TEST_EAN13, BarcodeOptions::default())?;
    e.line_feed()?;
    e.barcode(
        BarcodeKind::Code128,
        TEST_CODE128,
        BarcodeOptions::default(),
    )?;
    e.line_feed()?;
    e.qr(TEST_QR, QrOptions::default())?;
    e.line_feed()?;
    e.line("End of test")?;
    e.align(Align::Left)?;
    finish(e, opts)
}
