//! What the operator reads about sales: the sales report per store and day (by
//! tender and by tax rate, with cross-store totals) as text and CSV, and the
//! order list, review flags and stock as text.
//!
//! This module only renders rows the store returns; it must not query or write
//! anything. Amounts are integer minor units until printed, then written as
//! exact decimals in the currency's exponent.
//!
//! CSV layout (`/report.csv`): one row per store, day and currency, then one row
//! per day and currency across stores (`store` = `ALL`), then one per currency
//! for the whole period (`store` = `ALL`, `day` = `ALL`). Columns:
//! `store,day,currency,sales,gross,tax,voids,voided,refunds,refunded`, then
//! `tender:<kind>` for every tender kind in the report, then `net:<class>@<rate>%`
//! and `tax:<class>@<rate>%` for every tax class and rate in the report (empty
//! where a row has none).

use crate::status::{render_table, time_text};
use crate::store::{DayRow, ListedOrder, SalesReport, StoreFlag};
use keel_core::ids::Sku;
use keel_core::money::{format_minor, Currency};
use keel_uplink::project::DayTotals;
use std::collections::{BTreeMap, BTreeSet};

/// The `store` (and `day`) of cross-store total rows.
pub const ALL: &str = "ALL";

/// One line of the report: a store's day, or a total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Line {
    store: String,
    day: String,
    currency: String,
    totals: DayTotals,
    tenders: BTreeMap<String, i64>,
    taxes: BTreeMap<(String, u32), (i64, i64)>,
}

impl Line {
    fn add(&mut self, row: &Line) {
        let t = &mut self.totals;
        let r = &row.totals;
        t.sales += r.sales;
        t.gross_minor += r.gross_minor;
        t.tax_minor += r.tax_minor;
        t.voids += r.voids;
        t.voided_minor += r.voided_minor;
        t.refunds += r.refunds;
        t.refunded_minor += r.refunded_minor;
        for (k, v) in &row.tenders {
            *self.tenders.entry(k.clone()).or_default() += v;
        }
        for (k, (n, x)) in &row.taxes {
            let e = self.taxes.entry(k.clone()).or_default();
            e.0 += n;
            e.1 += x;
        }
    }
}

fn line_of(row: &DayRow) -> Line {
    let mut l = Line {
        store: row.store.0.clone(),
        day: row.day.clone(),
        currency: row.currency.clone(),
        totals: row.totals.clone(),
        ..Line::default()
    };
    for (k, v) in &row.tenders {
        *l.tenders.entry(k.clone()).or_default() += v;
    }
    for (class, rate, net, tax) in &row.taxes {
        let e = l.taxes.entry((class.clone(), *rate)).or_default();
        e.0 += net;
        e.1 += tax;
    }
    l
}

/// Store rows, then per-day totals across stores, then per-currency grand totals.
fn lines(report: &SalesReport) -> Vec<Line> {
    let mut out: Vec<Line> = report.rows.iter().map(line_of).collect();
    out.sort_by(|a, b| (&a.store, &a.day, &a.currency).cmp(&(&b.store, &b.day, &b.currency)));
    let mut per_day: BTreeMap<(String, String), Line> = BTreeMap::new();
    let mut grand: BTreeMap<String, Line> = BTreeMap::new();
    for l in &out {
        per_day
            .entry((l.day.clone(), l.currency.clone()))
            .or_insert_with(|| Line {
                store: ALL.into(),
                day: l.day.clone(),
                currency: l.currency.clone(),
                ..Line::default()
            })
            .add(l);
        grand
            .entry(l.currency.clone())
            .or_insert_with(|| Line {
                store: ALL.into(),
                day: ALL.into(),
                currency: l.currency.clone(),
                ..Line::default()
            })
            .add(l);
    }
    out.extend(per_day.into_values());
    out.extend(grand.into_values());
    out
}

/// An amount in minor units of `currency`, as an exact decimal.
pub fn amount(minor: i64, currency: &str) -> String {
    let exponent = Currency::from_code(currency)
        .map(|c| c.exponent())
        .unwrap_or(0);
    format_minor(minor, exponent)
}

/// A rate in basis points as a percentage without trailing zeros (`1900` -> `19`).
pub fn percent(bp: u32) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        whole.to_string()
    } else if frac.is_multiple_of(10) {
        format!("{whole}.{}", frac / 10)
    } else {
        format!("{whole}.{frac:02}")
    }
}

/// Quotes a CSV field when it needs it.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// The sales report as CSV (layout in the module documentation).
pub fn report_csv(report: &SalesReport) -> String {
    let lines = lines(report);
    let tenders: BTreeSet<String> = lines
        .iter()
        .flat_map(|l| l.tenders.keys().cloned())
        .collect();
    let taxes: BTreeSet<(String, u32)> =
        lines.iter().flat_map(|l| l.taxes.keys().cloned()).collect();
    let mut header: Vec<String> = [
        "store", "day", "currency", "sales", "gross", "tax", "voids", "voided", "refunds",
        "refunded",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(tenders.iter().map(|t| format!("tender:{t}")));
    for (class, rate) in &taxes {
        header.push(format!("net:{class}@{}%", percent(*rate)));
        header.push(format!("tax:{class}@{}%", percent(*rate)));
    }
    let mut out = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for l in &lines {
        let c = l.currency.as_str();
        let t = &l.totals;
        let mut row = vec![
            l.store.clone(),
            l.day.clone(),
            l.currency.clone(),
            t.sales.to_string(),
            amount(t.gross_minor, c),
            amount(t.tax_minor, c),
            t.voids.to_string(),
            amount(t.voided_minor, c),
            t.refunds.to_string(),
            amount(t.refunded_minor, c),
        ];
        for k in &tenders {
            row.push(l.tenders.get(k).map(|v| amount(*v, c)).unwrap_or_default());
        }
        for k in &taxes {
            match l.taxes.get(k) {
                Some((net, tax)) => {
                    row.push(amount(*net, c));
                    row.push(amount(*tax, c));
                }
                None => {
                    row.push(String::new());
                    row.push(String::new());
                }
            }
        }
        out.push_str(
            &row.iter()
                .map(|v| csv_field(v))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

/// The sales report as text: totals, then by tender, then by tax rate.
pub fn report_text(report: &SalesReport, from: Option<&str>, to: Option<&str>) -> String {
    let lines = lines(report);
    let mut out = format!(
        "Sales report, {} to {} (days in UTC)\n\n",
        from.unwrap_or("the beginning"),
        to.unwrap_or("today")
    );
    if lines.is_empty() {
        out.push_str("no sales in this period\n");
        return out;
    }
    let mut totals = vec![[
        "STORE", "DAY", "CUR", "SALES", "GROSS", "TAX", "VOIDS", "VOIDED", "REFUNDS", "REFUNDED",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    let mut tenders = vec![["STORE", "DAY", "CUR", "TENDER", "AMOUNT"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    let mut taxes = vec![["STORE", "DAY", "CUR", "CLASS", "RATE", "NET", "TAX"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for l in &lines {
        let c = l.currency.as_str();
        let t = &l.totals;
        totals.push(vec![
            l.store.clone(),
            l.day.clone(),
            l.currency.clone(),
            t.sales.to_string(),
            amount(t.gross_minor, c),
            amount(t.tax_minor, c),
            t.voids.to_string(),
            amount(t.voided_minor, c),
            t.refunds.to_string(),
            amount(t.refunded_minor, c),
        ]);
        for (k, v) in &l.tenders {
            tenders.push(vec![
                l.store.clone(),
                l.day.clone(),
                l.currency.clone(),
                k.clone(),
                amount(*v, c),
            ]);
        }
        for ((class, rate), (net, tax)) in &l.taxes {
            taxes.push(vec![
                l.store.clone(),
                l.day.clone(),
                l.currency.clone(),
                class.clone(),
                format!("{}%", percent(*rate)),
                amount(*net, c),
                amount(*tax, c),
            ]);
        }
    }
    out.push_str(&render_table(&totals));
    out.push_str("\nBy tender\n");
    out.push_str(&render_table(&tenders));
    out.push_str("\nBy tax rate\n");
    out.push_str(&render_table(&taxes));
    out
}

/// Orders as text, newest first; renamed order numbers show the number the
/// terminal printed.
pub fn orders_text(orders: &[ListedOrder], now_ms: u64) -> String {
    if orders.is_empty() {
        return "no orders\n".into();
    }
    let mut rows = vec![[
        "STORE", "ORDER", "TERMINAL", "SEQ", "TIME", "TOTAL", "NOTES",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for o in orders {
        let r = &o.order;
        let mut notes = Vec::new();
        if o.display_no != r.order_no {
            notes.push(format!("renamed (printed as {})", r.order_no));
        }
        if r.price_override {
            notes.push("price-override".to_string());
        }
        rows.push(vec![
            o.store.0.clone(),
            o.display_no.clone(),
            r.terminal.0.to_string(),
            r.seq.to_string(),
            time_text(Some(r.at_ms), now_ms),
            format!("{} {}", amount(r.total_minor, &r.currency), r.currency),
            if notes.is_empty() {
                "-".into()
            } else {
                notes.join("; ")
            },
        ]);
    }
    render_table(&rows)
}

/// Review flags as text, oldest first.
pub fn flags_text(flags: &[StoreFlag], now_ms: u64) -> String {
    if flags.is_empty() {
        return "no flags\n".into();
    }
    let mut rows = vec![["STORE", "KIND", "RECORD", "SKU", "TIME", "DETAIL"]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
    for f in flags {
        let g = &f.flag;
        rows.push(vec![
            f.store.0.clone(),
            g.kind.clone(),
            format!("{}:{}", g.terminal.0, g.seq),
            g.sku
                .as_ref()
                .map(|s| s.0.clone())
                .unwrap_or_else(|| "-".into()),
            time_text(Some(g.at_ms), now_ms),
            g.detail.clone(),
        ]);
    }
    render_table(&rows)
}

/// Stock of one store as text, by SKU; negative stock is marked for reconciliation.
pub fn stock_text(store: &str, stock: &[(Sku, i64)]) -> String {
    if stock.is_empty() {
        return format!("no stock recorded for {store}\n");
    }
    let mut rows = vec![vec!["SKU".to_string(), "QTY".into(), "NOTE".into()]];
    for (sku, qty) in stock {
        rows.push(vec![
            sku.0.clone(),
            qty.to_string(),
            if *qty < 0 {
                "negative: reconcile".into()
            } else {
                "-".into()
            },
        ]);
    }
    render_table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::ids::StoreId;

    fn row(store: &str, day: &str, gross: i64) -> DayRow {
        DayRow {
            store: StoreId(store.into()),
            day: day.into(),
            currency: "EUR".into(),
            totals: DayTotals {
                sales: 1,
                gross_minor: gross,
                tax_minor: gross / 10,
                ..DayTotals::default()
            },
            tenders: vec![("cash".into(), gross)],
            taxes: vec![("standard".into(), 1900, gross - gross / 10, gross / 10)],
        }
    }

    #[test]
    fn csv_has_store_rows_and_cross_store_totals() {
        let report = SalesReport {
            rows: vec![
                row("s2", "2026-11-23", 1000),
                row("s1", "2026-11-23", 250),
                row("s1", "2026-11-24", 1),
            ],
        };
        let csv = report_csv(&report);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "store,day,currency,sales,gross,tax,voids,voided,refunds,refunded,tender:cash,net:standard@19%,tax:standard@19%"
        );
        assert_eq!(
            lines[1],
            "s1,2026-11-23,EUR,1,2.50,0.25,0,0.00,0,0.00,2.50,2.25,0.25"
        );
        assert_eq!(
            lines[3],
            "s2,2026-11-23,EUR,1,10.00,1.00,0,0.00,0,0.00,10.00,9.00,1.00"
        );
        assert_eq!(
            lines[4],
            "ALL,2026-11-23,EUR,2,12.50,1.25,0,0.00,0,0.00,12.50,11.25,1.25"
        );
        assert_eq!(
            lines[6],
            "ALL,ALL,EUR,3,12.51,1.25,0,0.00,0,0.00,12.51,11.26,1.25"
        );
        assert_eq!(lines.len(), 7);
        let text = report_text(&report, Some("2026-11-01"), None);
        assert!(text.contains("By tender") && text.contains("19%"), "{text}");
        assert_eq!(percent(1050), "10.5");
        assert_eq!(percent(1234), "12.34");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(amount(27000, "IDR"), "27000");
    }
}
