//! The decisions both adapters take the same way once they have read what the
//! rules depend on: display numbers of new orders (from how many orders used
//! each number before), negative-stock flags (from stock before the batch), and
//! the order in which a batch's review flags are logged.
//!
//! Pure: the adapters read the inputs under their locks and write the outputs
//! in the ingest transaction. Must not touch storage.

use super::codec;
use keel_core::event::EventBody;
use keel_core::ids::{Sku, TerminalId};
use keel_uplink::ingest::{BatchRefusal, IngestRecord, MAX_TERMINAL};
use keel_uplink::project::{display_number, goes_negative, OrderRow, ReviewFlag};
use keel_uplink::wire::Batch;
use std::collections::BTreeMap;

/// Refusals decided before any row is read or written: an empty batch, or a
/// terminal number outside the store's range (so no cursor is ever created for one).
pub(crate) fn precheck(batch: &Batch) -> Option<BatchRefusal> {
    if batch.entries.is_empty() {
        return Some(BatchRefusal::Empty);
    }
    batch
        .entries
        .iter()
        .find(|e| e.origin.0 == 0 || e.origin.0 > MAX_TERMINAL)
        .map(|e| BatchRefusal::UnknownTerminal(e.origin.0))
}

/// A new order with its display number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedOrder {
    /// The order (times clamped as stored).
    pub order: OrderRow,
    /// Its display number.
    pub display_no: String,
}

/// How many of `orders` use each order number.
pub(crate) fn order_counts(orders: &[OrderRow]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for o in orders {
        *m.entry(o.order_no.clone()).or_insert(0) += 1;
    }
    m
}

/// Display numbers of new `orders`, in order, given how many orders used each
/// number before the batch (`uses_before`, missing: none); renamed orders get
/// an `order-number` flag.
pub(crate) fn plan_orders(
    orders: &[OrderRow],
    uses_before: &BTreeMap<String, u64>,
) -> (Vec<PlannedOrder>, Vec<ReviewFlag>) {
    let mut used: BTreeMap<&str, u64> = BTreeMap::new();
    let mut planned = Vec::with_capacity(orders.len());
    let mut flags = Vec::new();
    for o in orders {
        let n = used
            .entry(o.order_no.as_str())
            .or_insert_with(|| uses_before.get(&o.order_no).copied().unwrap_or(0));
        let earlier = *n;
        *n += 1;
        let display_no = display_number(&o.order_no, earlier);
        let mut order = o.clone();
        order.at_ms = clamp(order.at_ms);
        if earlier > 0 {
            flags.push(ReviewFlag {
                kind: "order-number".into(),
                terminal: o.terminal,
                seq: o.seq,
                sku: None,
                detail: format!(
                    "order number {} was already used by {earlier} other order(s); this one is shown as {display_no}",
                    o.order_no
                ),
                at_ms: order.at_ms,
            });
        }
        planned.push(PlannedOrder { order, display_no });
    }
    (planned, flags)
}

/// Negative-stock flags for stock moves of a batch: `(sku, before, delta)` in
/// SKU order. Each flag names the last record of the batch that took the item down.
pub(crate) fn negative_stock_flags(
    records: &[IngestRecord],
    moves: &[(Sku, i64, i64)],
) -> Vec<ReviewFlag> {
    let negative: Vec<&(Sku, i64, i64)> = moves
        .iter()
        .filter(|(_, before, delta)| goes_negative(*before, *delta))
        .collect();
    if negative.is_empty() {
        return Vec::new();
    }
    let mut last_down: BTreeMap<&Sku, (TerminalId, u64, u64)> = BTreeMap::new();
    for r in records {
        let at = (r.origin, r.seq, r.at_ms());
        match &r.event.body {
            EventBody::SaleCompleted(s) => {
                for l in s.lines.iter().filter(|l| l.qty > 0) {
                    last_down.insert(&l.sku, at);
                }
            }
            EventBody::StockAdjusted { sku, delta, .. } if *delta < 0 => {
                last_down.insert(sku, at);
            }
            _ => {}
        }
    }
    negative
        .into_iter()
        .map(|(sku, before, delta)| {
            let (terminal, seq, at_ms) = last_down
                .get(sku)
                .copied()
                .or_else(|| records.last().map(|r| (r.origin, r.seq, r.at_ms())))
                .unwrap_or((TerminalId(0), 0, 0));
            ReviewFlag {
                kind: "negative-stock".into(),
                terminal,
                seq,
                sku: Some(sku.clone()),
                detail: format!(
                    "stock of {sku} went from {before} to {}: sold beyond the stock the cloud knows; reconcile",
                    before.saturating_add(*delta)
                ),
                at_ms: clamp(at_ms),
            }
        })
        .collect()
}

/// A batch's flags in the order they are logged: price overrides (record
/// order), negative stock (SKU order), order numbers (order order).
pub(crate) fn batch_flags(
    price: &[ReviewFlag],
    stock: Vec<ReviewFlag>,
    orders: Vec<ReviewFlag>,
) -> Vec<ReviewFlag> {
    let mut all: Vec<ReviewFlag> = price
        .iter()
        .cloned()
        .map(|mut f| {
            f.at_ms = clamp(f.at_ms);
            f
        })
        .collect();
    all.extend(stock);
    all.extend(orders);
    all
}

fn clamp(at_ms: u64) -> u64 {
    codec::ms(at_ms) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(store_terminal: u32, seq: u64, no: &str) -> OrderRow {
        OrderRow {
            terminal: TerminalId(store_terminal),
            seq,
            order_no: no.into(),
            total_minor: 100,
            currency: "EUR".into(),
            at_ms: 5,
            price_override: false,
        }
    }

    #[test]
    fn later_uses_of_a_number_are_renamed_and_flagged() {
        let orders = vec![order(1, 3, "ORD-1-001"), order(1, 4, "ORD-1-002")];
        let before = BTreeMap::from([("ORD-1-001".to_string(), 1)]);
        let (planned, flags) = plan_orders(&orders, &before);
        assert_eq!(planned[0].display_no, "ORD-1-001-B");
        assert_eq!(planned[1].display_no, "ORD-1-002");
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].kind, "order-number");
        assert_eq!(order_counts(&orders).get("ORD-1-001"), Some(&1));
    }
}
