//! The parts of a snapshot read from beyond the folded state: the receipt
//! preview (from the journal), X and Z reports, customers (through the key
//! ring) and the sync counts (the node's heads against the uplink marks).
//! Reads only; must not write or wait on a runtime.

use super::screen::Outside;
use super::snapshot::{CustomerView, MoneyView, ReceiptView, ReportView};
use crate::console::render::CONSOLE_WIDTH;
use crate::node::Node;
use keel_core::ids::ReceiptNo;
use keel_core::pii::PiiError;
use keel_core::receipt::Receipt;
use keel_core::shift::ShiftReport;

/// Most customers a lookup lists (as the console's `customers`).
pub const MAX_CUSTOMERS: usize = 50;

/// The receipt to preview: `wanted`, else this terminal's last one.
pub fn receipt_preview(node: &Node, wanted: Option<u64>) -> Option<ReceiptView> {
    let no = wanted.unwrap_or(node.state.counters.last_receipt);
    if no == 0 {
        return None;
    }
    let rec = match node.sale(ReceiptNo(no)) {
        Ok(Some(r)) => r,
        Ok(None) => return None,
        Err(e) => {
            log::warn!("ui: receipt {no} cannot be read: {e}");
            return None;
        }
    };
    let mut r = Receipt::from_sale(&node.profile, &rec.sale, rec.seq, &rec.hash, rec.time_ms);
    r.voided = rec.voided;
    Some(ReceiptView {
        number: no,
        verification: r.verification_code.clone(),
        total: r.total.into(),
        change: r.change.into(),
        voided: r.voided,
        refunds: rec.refunds.len(),
        lines: r.render_text(CONSOLE_WIDTH),
        items: super::history::items(&rec),
    })
}

/// An X or Z report for the screen.
pub fn report(r: &ShiftReport) -> ReportView {
    let t = &r.totals;
    ReportView {
        z: r.z_no,
        shift: r.shift_no,
        sales_count: t.sales_count,
        sales_total: t.sales_total.into(),
        tenders: t
            .tenders
            .iter()
            .map(|(k, v)| (k.clone(), MoneyView::from(*v)))
            .collect(),
        taxes: t
            .taxes
            .iter()
            .map(|(k, v)| (k.clone(), MoneyView::from(v.tax)))
            .collect(),
        voids: t.voids_count,
        refunds: t.refunds_count,
        discounts: t.discounts_total.into(),
        no_sales: t.no_sales,
        float: r.float.into(),
        expected_cash: r.expected_cash.into(),
        counted_cash: r.counted_cash.map(MoneyView::from),
        over_short: r.over_short.map(MoneyView::from),
    }
}

/// Readable customers matching `query` (erased ones and ones whose key has
/// not arrived never match), as the console's `customers` lists them.
pub fn customers(node: &Node, query: &str) -> Vec<CustomerView> {
    let keys = match node.key_ring() {
        Ok(k) => k,
        Err(e) => {
            log::warn!("ui: customer keys cannot be read: {e}");
            return Vec::new();
        }
    };
    let q = query.trim().to_lowercase();
    node.state
        .customer_ids()
        .iter()
        .filter_map(|id| match node.state.customer(id, &keys)? {
            Ok(c) => Some(c),
            Err(PiiError::Erased(_)) | Err(PiiError::KeyMissing(_)) => None,
            Err(e) => {
                log::warn!("ui: customer record {id} cannot be opened: {e}");
                None
            }
        })
        .filter(|c| {
            q.is_empty()
                || c.id.to_lowercase().contains(&q)
                || c.name.to_lowercase().contains(&q)
                || c.phone.as_deref().is_some_and(|p| p.contains(&q))
        })
        .take(MAX_CUSTOMERS)
        .map(|c| CustomerView {
            id: c.id,
            name: c.name,
            phone: c.phone,
        })
        .collect()
}

/// Records the cloud does not hold and the last acknowledged sync, as
/// `cloud status` counts them (`None` without a cloud).
pub fn sync_counts(node: &Node, outside: &Outside) -> (Option<u64>, Option<u64>) {
    let Some(u) = outside.uplink.as_ref() else {
        return (None, None);
    };
    let replicated = outside
        .cluster
        .as_ref()
        .map(|c| c.uplink_marks.clone())
        .unwrap_or_default();
    let marks = u.best_marks(&replicated);
    let last = u
        .last_sync_ms
        .max((marks.acked_at_ms > 0).then_some(marks.acked_at_ms));
    (crate::uplink_runtime::pending_of(node, &marks), last)
}
