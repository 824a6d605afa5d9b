//! The receipts page's data read from the journal: this terminal's most
//! recent receipts and, for a receipt, its sold lines with what is left to
//! refund. Reads only; must not write, lock the node itself, or decide
//! whether a refund is allowed (the engine does).

use super::snapshot::{MoneyView, ReceiptItemView, ReceiptSummaryView};
use super::view::qty_text;
use crate::node::{Node, SaleRecord};
use keel_core::ids::ReceiptNo;
use std::collections::BTreeMap;

/// Receipts the recent list shows.
pub const RECENT_RECEIPTS: usize = 8;

/// This terminal's last [`RECENT_RECEIPTS`] receipts, newest first (a
/// receipt that cannot be read is logged and skipped).
pub fn recent(node: &Node) -> Vec<ReceiptSummaryView> {
    let last = node.state.counters.last_receipt;
    let mut out = Vec::new();
    let mut no = last;
    while no > 0 && out.len() < RECENT_RECEIPTS {
        match node.sale(ReceiptNo(no)) {
            Ok(Some(r)) => out.push(ReceiptSummaryView {
                number: no,
                time_ms: r.time_ms,
                total: r.sale.total.into(),
                lines: r.sale.lines.len(),
                voided: r.voided,
                refunds: r.refunds.len(),
            }),
            Ok(None) => {}
            Err(e) => log::warn!("ui: receipt {no} cannot be read: {e}"),
        }
        no -= 1;
    }
    out
}

/// A receipt's sold lines with the quantity not refunded yet (nothing is
/// refundable on a voided receipt).
pub fn items(rec: &SaleRecord) -> Vec<ReceiptItemView> {
    let mut refunded: BTreeMap<u32, i64> = BTreeMap::new();
    for r in &rec.refunds {
        for l in &r.lines {
            *refunded.entry(l.line_no).or_insert(0) += l.qty;
        }
    }
    rec.sale
        .lines
        .iter()
        .map(|l| {
            let done = refunded.get(&l.line_no).copied().unwrap_or(0);
            ReceiptItemView {
                line: l.line_no,
                name: l.name.clone(),
                qty: l.qty,
                qty_text: qty_text(l.qty, l.sold_by),
                by_weight: l.sold_by == keel_core::catalog::SoldBy::Weight,
                amount: MoneyView::from(l.amount),
                refundable: if rec.voided { 0 } else { (l.qty - done).max(0) },
            }
        })
        .collect()
}
