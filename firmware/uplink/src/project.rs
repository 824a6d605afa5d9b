//! The cloud's projections of ingested records, pure: what each new record adds
//! to sales per store and day (by tender and by tax rate), stock per SKU, the
//! order list, and which records need review (a sale below the central price,
//! stock gone negative, an order number another store already used).
//!
//! Storage adapters apply a [`ProjectionDelta`] in the same transaction as the
//! records it came from, so projections count each record exactly once. This
//! module must not touch storage; what depends on rows already stored (current
//! stock, order numbers in use) is decided by the small rules at the end,
//! which the adapters call with what they read.

use crate::ingest::IngestRecord;
use keel_core::event::EventBody;
use keel_core::ids::{Sku, TerminalId};
use keel_core::receipt::format_utc;
use std::collections::BTreeMap;

/// Totals of one store and day (UTC) in one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayTotals {
    /// Sales completed.
    pub sales: i64,
    /// Sum of amounts due of the sales (total + cash rounding), minor units.
    pub gross_minor: i64,
    /// Tax included in those sales, minor units.
    pub tax_minor: i64,
    /// Voids, count.
    pub voids: i64,
    /// Amount voided, minor units.
    pub voided_minor: i64,
    /// Refunds, count.
    pub refunds: i64,
    /// Amount refunded, minor units.
    pub refunded_minor: i64,
}

/// Key of a day's totals: (day `YYYY-MM-DD` UTC, currency code).
pub type DayKey = (String, String);

/// A sale as the cloud lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRow {
    /// Terminal that sold it.
    pub terminal: TerminalId,
    /// Dot sequence of the sale record.
    pub seq: u64,
    /// Human-readable order number (`ORD-<terminal>-<receipt, 3+ digits>`).
    pub order_no: String,
    /// Amount due, minor units.
    pub total_minor: i64,
    /// Currency code.
    pub currency: String,
    /// HLC wall time of the sale, ms since the epoch.
    pub at_ms: u64,
    /// Sold below (or above) the central price in force at the time.
    pub price_override: bool,
}

/// Something for the operator to review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewFlag {
    /// `price-override`, `negative-stock` or `order-number`.
    pub kind: String,
    /// The terminal of the record that raised it.
    pub terminal: TerminalId,
    /// Its sequence number.
    pub seq: u64,
    /// SKU concerned, if any.
    pub sku: Option<Sku>,
    /// What happened, in words.
    pub detail: String,
    /// When (HLC wall ms of the record).
    pub at_ms: u64,
}

/// What a set of new records adds to the projections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectionDelta {
    /// Per day and currency.
    pub days: BTreeMap<DayKey, DayTotals>,
    /// Per (day, currency, tender kind): amount taken, net of change.
    pub tenders: BTreeMap<(String, String, String), i64>,
    /// Per (day, currency, tax class, rate bp): (net, tax) minor units.
    pub taxes: BTreeMap<(String, String, String, u32), (i64, i64)>,
    /// Stock change per SKU (units or grams).
    pub stock: BTreeMap<Sku, i64>,
    /// New orders.
    pub orders: Vec<OrderRow>,
    /// Review flags decided from the records alone (price overrides).
    pub flags: Vec<ReviewFlag>,
    /// Newest sealed record per customer among the records (the cloud keeps the
    /// newest by time; personal fields stay sealed, readable only with the
    /// customer's key).
    pub customers: BTreeMap<String, (keel_core::pii::SealedCustomer, u64)>,
}

/// The central price book: per SKU, the prices published (time, minor units), oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceBook {
    /// Publications per SKU, sorted by time.
    pub prices: BTreeMap<Sku, Vec<(u64, i64)>>,
}

impl PriceBook {
    /// Records a publication.
    pub fn add(&mut self, sku: Sku, at_ms: u64, price_minor: i64) {
        let v = self.prices.entry(sku).or_default();
        v.push((at_ms, price_minor));
        v.sort();
    }

    /// The central price of `sku` in force at `at_ms`, if one was published by then.
    pub fn at(&self, sku: &Sku, at_ms: u64) -> Option<i64> {
        self.prices
            .get(sku)?
            .iter()
            .take_while(|(t, _)| *t <= at_ms)
            .last()
            .map(|(_, p)| *p)
    }
}

/// The day (UTC) of a wall time.
pub fn day_of(at_ms: u64) -> String {
    format_utc(at_ms).chars().take(10).collect()
}

/// The human-readable order number of a receipt.
pub fn order_number(terminal: TerminalId, receipt_no: u64) -> String {
    format!("ORD-{}-{:03}", terminal.0, receipt_no)
}

/// The display name of an order number already used `earlier` times by other
/// orders: the first keeps it, the next get `-B`, `-C`, ... `-Z`, then `-AA`...
pub fn display_number(order_no: &str, earlier: u64) -> String {
    if earlier == 0 {
        return order_no.to_string();
    }
    // earlier = 1 -> B (index 1 in A..Z), so the suffix is the bijective base-26 of earlier+1.
    let mut n = earlier + 1;
    let mut suffix = Vec::new();
    while n > 0 {
        n -= 1;
        suffix.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    suffix.reverse();
    format!("{order_no}-{}", String::from_utf8_lossy(&suffix))
}

/// Whether moving stock from `before` by `delta` newly takes it below zero
/// (the item is then flagged for reconciliation).
pub fn goes_negative(before: i64, delta: i64) -> bool {
    before >= 0 && before.saturating_add(delta) < 0
}

/// Folds new `records` into a delta, flagging sale lines priced differently from `prices`.
pub fn project(records: &[IngestRecord], prices: &PriceBook) -> ProjectionDelta {
    let mut d = ProjectionDelta::default();
    for r in records {
        let at = r.at_ms();
        let day = day_of(at);
        match &r.event.body {
            EventBody::SaleCompleted(sale) => {
                let cur = sale.total.currency.code().to_string();
                let due = sale.amount_due().minor;
                let t = d.days.entry((day.clone(), cur.clone())).or_default();
                t.sales += 1;
                t.gross_minor += due;
                t.tax_minor += sale.tax_total.minor;
                let mut cash_change = sale.change.minor;
                for tender in &sale.tenders {
                    let mut amount = tender.amount().minor;
                    if tender.kind() == "cash" && cash_change > 0 {
                        let c = cash_change.min(amount);
                        amount -= c;
                        cash_change -= c;
                    }
                    *d.tenders
                        .entry((day.clone(), cur.clone(), tender.kind().to_string()))
                        .or_default() += amount;
                }
                for tax in &sale.taxes {
                    let e = d
                        .taxes
                        .entry((day.clone(), cur.clone(), tax.class.clone(), tax.rate_bp))
                        .or_default();
                    e.0 += tax.net.minor;
                    e.1 += tax.tax.minor;
                }
                let mut overridden = false;
                for line in &sale.lines {
                    *d.stock.entry(line.sku.clone()).or_default() -= line.qty;
                    if let Some(central) = prices.at(&line.sku, at) {
                        if line.list_price.minor != central {
                            overridden = true;
                            d.flags.push(ReviewFlag {
                                kind: "price-override".into(),
                                terminal: r.origin,
                                seq: r.seq,
                                sku: Some(line.sku.clone()),
                                detail: format!(
                                    "receipt {} sold {} at {} while the central price was {}; the price paid stands",
                                    sale.receipt_no, line.sku.0, line.list_price.minor, central
                                ),
                                at_ms: at,
                            });
                        }
                    }
                }
                d.orders.push(OrderRow {
                    terminal: r.origin,
                    seq: r.seq,
                    order_no: order_number(r.origin, sale.receipt_no.0),
                    total_minor: due,
                    currency: cur,
                    at_ms: at,
                    price_override: overridden,
                });
            }
            EventBody::SaleVoided(v) => {
                let t = d
                    .days
                    .entry((day.clone(), v.amount.currency.code().to_string()))
                    .or_default();
                t.voids += 1;
                t.voided_minor += v.amount.minor;
                for (sku, qty) in &v.restock {
                    *d.stock.entry(sku.clone()).or_default() += qty;
                }
            }
            EventBody::RefundIssued(rf) => {
                let t = d
                    .days
                    .entry((day.clone(), rf.total.currency.code().to_string()))
                    .or_default();
                t.refunds += 1;
                t.refunded_minor += rf.total.minor;
                for l in &rf.lines {
                    *d.stock.entry(l.sku.clone()).or_default() += l.qty;
                }
            }
            EventBody::StockAdjusted { sku, delta, .. } => {
                *d.stock.entry(sku.clone()).or_default() += delta;
            }
            EventBody::CustomerSealed(c) => {
                let newer = d.customers.get(&c.id).is_none_or(|(_, t)| *t <= at);
                if newer {
                    d.customers.insert(c.id.clone(), (c.clone(), at));
                }
            }
            _ => {}
        }
    }
    d.stock.retain(|_, v| *v != 0);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_numbers_follow_the_seed() {
        assert_eq!(display_number("ORD-1-001", 0), "ORD-1-001");
        assert_eq!(display_number("ORD-1-001", 1), "ORD-1-001-B");
        assert_eq!(display_number("ORD-1-001", 2), "ORD-1-001-C");
        assert_eq!(display_number("ORD-1-001", 25), "ORD-1-001-Z");
        assert_eq!(display_number("ORD-1-001", 26), "ORD-1-001-AA");
        assert_eq!(order_number(TerminalId(2), 7), "ORD-2-007");
        assert_eq!(order_number(TerminalId(2), 1234), "ORD-2-1234");
    }

    #[test]
    fn price_book_and_negative_stock_rules() {
        let mut b = PriceBook::default();
        b.add(Sku("A".into()), 100, 25_000);
        b.add(Sku("A".into()), 200, 27_000);
        assert_eq!(b.at(&Sku("A".into()), 50), None);
        assert_eq!(b.at(&Sku("A".into()), 150), Some(25_000));
        assert_eq!(b.at(&Sku("A".into()), 200), Some(27_000));
        assert!(goes_negative(1, -2));
        assert!(!goes_negative(2, -2));
        assert!(!goes_negative(-1, -1), "already flagged");
        assert_eq!(day_of(0), "1970-01-01");
    }
}
