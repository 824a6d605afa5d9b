//! The customer receipt: the core's receipt model on paper.
//!
//! Same wording and order as `Receipt::render_text` (the console and the
//! screen show that), with printer styling on top: the store name large and
//! bold, the TOTAL line bold and double height, and the verification code
//! both as text and as a QR code. Money arrives formatted by the core.

use super::text::{left_right, rule, wrap};
use super::{finish, start, LayoutOptions};
use crate::escpos::encoder::Encoder;
use crate::escpos::qr::QrOptions;
use crate::escpos::style::{Align, TextSize};
use keel_core::money::format_minor;
use keel_core::receipt::{format_utc, Receipt};
use keel_core::tax::TaxMode;
use std::io::{self, Write};

fn lines<W: Write>(e: &mut Encoder<W>, lines: Vec<String>) -> io::Result<()> {
    for l in lines {
        e.line(&l)?;
    }
    Ok(())
}

/// The header: logo, store name, address, tax id, void and copy marks; centred.
fn header<W: Write>(e: &mut Encoder<W>, r: &Receipt, opts: &LayoutOptions) -> io::Result<()> {
    let cols = opts.columns();
    e.align(Align::Center)?;
    if let Some(logo) = &opts.logo {
        if logo.width() <= opts.width.dots() {
            e.raster(logo)?;
        } else {
            log::warn!(
                "receipt logo of {} dots is wider than {} paper; skipped",
                logo.width(),
                opts.width
            );
        }
    }
    // Double size when the name fits half the columns on one line, else tall only.
    let size = if r.store_name.chars().count() <= cols / 2 {
        TextSize::DOUBLE
    } else {
        TextSize::TALL
    };
    e.bold(true)?.size(size)?;
    lines(e, wrap(&r.store_name, size.columns_of(cols)))?;
    e.size(TextSize::NORMAL)?.bold(false)?;
    for a in &r.address {
        lines(e, wrap(a, cols))?;
    }
    if let Some(t) = &r.tax_id {
        lines(e, wrap(&format!("Tax ID {t}"), cols))?;
    }
    if r.voided {
        e.bold(true)?.line("*** VOIDED ***")?.bold(false)?;
    }
    if opts.copy {
        e.bold(true)?.line("*** COPY ***")?.bold(false)?;
    }
    e.align(Align::Left)?;
    Ok(())
}

/// The sold lines.
fn items<W: Write>(e: &mut Encoder<W>, r: &Receipt, cols: usize) -> io::Result<()> {
    for l in &r.lines {
        let right = format!("{} {}", l.amount.amount_text(), l.tax_label);
        lines(e, left_right(&l.name, &right, cols))?;
        lines(
            e,
            wrap(
                &format!("  {} x {}", l.qty, l.unit_price.amount_text()),
                cols,
            ),
        )?;
        if l.discount.minor > 0 {
            let d = format!("-{}", l.discount.amount_text());
            lines(e, left_right("  discount", &d, cols))?;
        }
        if let Some(reason) = &l.override_reason {
            lines(e, wrap(&format!("  price override: {reason}"), cols))?;
        }
    }
    Ok(())
}

/// Subtotal, discounts, taxes, TOTAL, rounding, tenders and change.
fn totals<W: Write>(e: &mut Encoder<W>, r: &Receipt, cols: usize) -> io::Result<()> {
    lines(e, left_right("Subtotal", &r.subtotal.amount_text(), cols))?;
    if r.discount_total.minor > 0 {
        let d = format!("-{}", r.discount_total.amount_text());
        lines(e, left_right("Discounts", &d, cols))?;
    }
    let what = match r.tax_mode {
        TaxMode::Inclusive => "incl.",
        TaxMode::Exclusive => "+",
    };
    for t in &r.taxes {
        let label = format!(
            "{} {} {}% of {}",
            t.label,
            what,
            format_minor(i64::from(t.rate_bp), 2),
            t.net.amount_text()
        );
        lines(e, left_right(&label, &t.tax.amount_text(), cols))?;
    }
    e.bold(true)?.size(TextSize::TALL)?;
    let total_label = format!("TOTAL {}", r.total.currency);
    lines(e, left_right(&total_label, &r.total.amount_text(), cols))?;
    e.size(TextSize::NORMAL)?.bold(false)?;
    if r.rounding.minor != 0 {
        lines(
            e,
            left_right("Cash rounding", &r.rounding.amount_text(), cols),
        )?;
    }
    for t in &r.tenders {
        let name = match &t.detail {
            Some(d) => format!("{} {}", t.kind, d),
            None => t.kind.clone(),
        };
        lines(e, left_right(&name, &t.amount.amount_text(), cols))?;
    }
    if r.change.minor > 0 {
        lines(e, left_right("Change", &r.change.amount_text(), cols))?;
    }
    Ok(())
}

/// Receipt number, cashier and time, the verification code as text and QR,
/// the footer.
fn trailer<W: Write>(e: &mut Encoder<W>, r: &Receipt, cols: usize) -> io::Result<()> {
    let receipt_no = format!("Receipt {}", r.receipt_no);
    lines(
        e,
        left_right(&receipt_no, &format!("{} {}", r.store, r.terminal), cols),
    )?;
    let cashier = format!("Cashier {}", r.cashier);
    lines(e, left_right(&cashier, &format_utc(r.time_ms), cols))?;
    lines(e, left_right("Verify", &r.verification_code, cols))?;
    e.align(Align::Center)?;
    let qr = QrOptions::default();
    if !r.verification_code.is_empty() && qr.validate(r.verification_code.as_bytes()).is_ok() {
        e.qr(&r.verification_code, qr)?;
        e.line_feed()?;
    }
    if let Some(f) = &r.footer {
        lines(e, wrap(f, cols))?;
    }
    e.align(Align::Left)?;
    Ok(())
}

/// Writes the receipt job for `r` (start, header, lines, totals, trailer,
/// optional kick, cut) to `e`.
pub fn write_receipt<W: Write>(
    e: &mut Encoder<W>,
    r: &Receipt,
    opts: &LayoutOptions,
) -> io::Result<()> {
    let cols = opts.columns();
    start(e, opts)?;
    header(e, r, opts)?;
    e.line(&rule(cols))?;
    items(e, r, cols)?;
    e.line(&rule(cols))?;
    totals(e, r, cols)?;
    e.line(&rule(cols))?;
    trailer(e, r, cols)?;
    finish(e, opts)
}
