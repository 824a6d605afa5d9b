//! The kitchen ticket: readable at arm's length on a busy pass.
//!
//! Station and a big ticket number on top, the receipt it came from and the
//! order time, a recall mark when it was recalled, then each item with its
//! quantity in double height. No prices: the kitchen does not need them.

use super::text::{rule, wrap};
use super::{finish, start, LayoutOptions};
use crate::escpos::encoder::Encoder;
use crate::escpos::style::{Align, TextSize};
use keel_core::kitchen::Ticket;
use keel_core::receipt::format_utc;
use std::io::{self, Write};

/// Magnification of the ticket number: triple when it fits, else double.
fn number_size(number: &str, cols: usize) -> TextSize {
    let triple = TextSize {
        width: 3,
        height: 3,
    };
    if number.chars().count() <= triple.columns_of(cols) {
        triple
    } else {
        TextSize::DOUBLE
    }
}

/// Writes the kitchen ticket job for `t` to `e`.
pub fn write_kitchen_ticket<W: Write>(
    e: &mut Encoder<W>,
    t: &Ticket,
    opts: &LayoutOptions,
) -> io::Result<()> {
    let cols = opts.columns();
    start(e, opts)?;
    e.align(Align::Center)?;
    e.bold(true)?.size(TextSize::DOUBLE)?;
    for l in wrap(&t.station.to_uppercase(), TextSize::DOUBLE.columns_of(cols)) {
        e.line(&l)?;
    }
    let number = format!("#{}", t.id);
    let size = number_size(&number, cols);
    e.size(size)?;
    for l in wrap(&number, size.columns_of(cols)) {
        e.line(&l)?;
    }
    e.size(TextSize::NORMAL)?.bold(false)?;
    e.line(&format!("Receipt {}", t.receipt_no))?;
    e.line(&format_utc(t.created_ms))?;
    if t.recalls > t.dismissed_recalls {
        e.bold(true)?.line("*** RECALL ***")?.bold(false)?;
    }
    e.align(Align::Left)?;
    e.line(&rule(cols))?;
    e.bold(true)?.size(TextSize::TALL)?;
    for item in &t.items {
        let qty = format!("{} x ", item.qty);
        let indent = " ".repeat(qty.chars().count());
        let body = wrap(&item.name, cols.saturating_sub(qty.chars().count()).max(8));
        for (i, l) in body.iter().enumerate() {
            let lead = if i == 0 {
                qty.as_str()
            } else {
                indent.as_str()
            };
            e.line(&format!("{lead}{l}"))?;
        }
    }
    e.size(TextSize::NORMAL)?.bold(false)?;
    e.line(&rule(cols))?;
    finish(e, opts)
}
