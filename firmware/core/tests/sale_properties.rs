//! Property tests over the sale engine: totals equal the sum of lines and taxes,
//! tenders and change add up, refunds never exceed what was sold, and the shift
//! report equals the sum of its sales.

mod harness;

use harness::{item, profile, Harness};
use keel_core::catalog::SoldBy;
use keel_core::engine::{AddRequest, RefundRequest};
use keel_core::money::format_minor;
use keel_core::tax::{RoundingMode, TaxMode, TaxRoundingScope};
use keel_core::tender::Tender;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Basket {
    lines: Vec<(usize, i64)>,
    line_discount: Option<(usize, u32)>,
    cart_discount_bp: Option<u32>,
    card_part: i64,
    extra_cash: i64,
}

fn basket() -> impl Strategy<Value = Basket> {
    (
        proptest::collection::vec((0usize..4, 1i64..20), 1..8),
        proptest::option::of((0usize..8, 1u32..10_000)),
        proptest::option::of(1u32..5_000),
        0i64..10_000,
        0i64..5_000,
    )
        .prop_map(
            |(lines, line_discount, cart_discount_bp, card_part, extra_cash)| Basket {
                lines,
                line_discount,
                cart_discount_bp,
                card_part,
                extra_cash,
            },
        )
}

fn items() -> Vec<keel_core::catalog::CatalogItem> {
    vec![
        item("A", 1_49, "reduced", SoldBy::Unit),
        item("B", 19_99, "standard", SoldBy::Unit),
        item("C", 2_49, "reduced", SoldBy::Weight),
        item("D", 0_33, "standard", SoldBy::Unit),
    ]
}

fn ring_up(h: &mut Harness, b: &Basket) -> u64 {
    let c = h.cashier.clone();
    if h.state.shift.is_none() {
        let ev = h.engine().open_shift(Some(&c), "100.00").unwrap();
        h.apply(ev);
    }
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    for (i, q) in &b.lines {
        let sku = ["A", "B", "C", "D"][*i];
        let qty = if sku == "C" {
            format_minor(*q * 37, 3)
        } else {
            q.to_string()
        };
        let ev = h
            .engine()
            .add_item(
                Some(&c),
                AddRequest {
                    key: sku,
                    qty: Some(&qty),
                    now_ms: 0,
                },
            )
            .unwrap();
        h.apply(ev);
    }
    if let Some((l, bp)) = b.line_discount {
        let line = (l % b.lines.len()) as u32 + 1;
        let ev = h
            .engine()
            .discount(
                Some(&c),
                Some(line),
                &format!("{}%", format_minor(i64::from(bp), 2)),
            )
            .unwrap();
        h.apply(ev);
    }
    if let Some(bp) = b.cart_discount_bp {
        let ev = h
            .engine()
            .discount(
                Some(&c),
                None,
                &format!("{}%", format_minor(i64::from(bp), 2)),
            )
            .unwrap();
        h.apply(ev);
    }
    let priced = h.engine().priced().unwrap();
    let card = b.card_part.min(priced.total.minor);
    if card > 0 {
        let ev = h
            .engine()
            .tender_card(Some(&c), &format_minor(card, 2), "tok_1", "4242", None)
            .unwrap();
        h.apply(ev);
    }
    let priced = h.engine().priced().unwrap();
    if !priced.is_covered() {
        // Cash pays the cash-rounded remainder (what the console shows as due in cash).
        let cash = priced.cash_remaining.minor + b.extra_cash;
        let ev = h
            .engine()
            .tender_cash(Some(&c), &format_minor(cash, 2))
            .unwrap();
        h.apply(ev);
    }
    let (ev, sale) = h.engine().complete(Some(&c)).unwrap();
    h.apply(ev);
    sale.receipt_no.0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn totals_equal_lines_plus_taxes(b in basket(), inclusive in any::<bool>(), per_line in any::<bool>(), even in any::<bool>(), step in prop::sample::select(vec![1i64, 5, 10])) {
        let p = profile(
            if inclusive { TaxMode::Inclusive } else { TaxMode::Exclusive },
            if per_line { TaxRoundingScope::PerLine } else { TaxRoundingScope::PerReceipt },
            if even { RoundingMode::HalfEven } else { RoundingMode::HalfUp },
            step,
        );
        let mut h = Harness::new(p, items());
        let no = ring_up(&mut h, &b);
        let s = h.sales[&no].clone();
        let line_sum: i64 = s.lines.iter().map(|l| l.amount.minor).sum();
        let tax_sum: i64 = s.taxes.iter().map(|t| t.tax.minor).sum();
        prop_assert_eq!(s.subtotal.minor, line_sum);
        prop_assert_eq!(s.tax_total.minor, tax_sum);
        if inclusive {
            prop_assert_eq!(s.total.minor, line_sum);
        } else {
            prop_assert_eq!(s.total.minor, line_sum + tax_sum);
        }
        for l in &s.lines {
            prop_assert_eq!(l.amount.minor, l.gross.minor - l.discount.minor);
            prop_assert!(l.amount.minor >= 0);
        }
        // Tenders and change: paid - change == amount due, change only from cash.
        let paid: i64 = s.tenders.iter().map(|t| t.amount().minor).sum();
        let cash: i64 = s.tenders.iter().filter(|t| matches!(t, Tender::Cash { .. })).map(|t| t.amount().minor).sum();
        prop_assert_eq!(paid - s.change.minor, s.amount_due().minor);
        prop_assert!(s.change.minor <= cash);
        prop_assert!(s.rounding.minor.abs() * 2 <= step);
        // The shift's running totals match the sale.
        let shift = h.state.shift.as_ref().unwrap();
        prop_assert_eq!(shift.totals.sales_total.minor, s.amount_due().minor);
        let tender_sum: i64 = shift.totals.tenders.values().map(|m| m.minor).sum();
        prop_assert_eq!(tender_sum, s.amount_due().minor);
    }

    #[test]
    fn refunds_never_exceed_what_was_sold(b in basket(), attempts in proptest::collection::vec((0usize..8, 1i64..30), 1..12)) {
        let mut h = Harness::new(profile(TaxMode::Inclusive, TaxRoundingScope::PerReceipt, RoundingMode::HalfUp, 1), items());
        let no = ring_up(&mut h, &b);
        let m = h.manager.clone();
        for (line_idx, q) in attempts {
            let sale = h.sales[&no].clone();
            let line = &sale.lines[line_idx % sale.lines.len()];
            let qty = if line.sold_by == SoldBy::Weight { format_minor(q * 11, 3) } else { q.to_string() };
            let earlier = h.refunds.get(&no).cloned().unwrap_or_default();
            let res = h.engine().refund(Some(&m), &sale, false, &earlier, &[RefundRequest { line_no: line.line_no, qty: &qty }]);
            if let Ok((ev, _)) = res {
                h.apply(ev);
            }
        }
        let sale = h.sales[&no].clone();
        let refunds = h.refunds.get(&no).cloned().unwrap_or_default();
        let mut total_refunded = 0;
        for l in &sale.lines {
            let q: i64 = refunds.iter().flat_map(|r| &r.lines).filter(|x| x.line_no == l.line_no).map(|x| x.qty).sum();
            let a: i64 = refunds.iter().flat_map(|r| &r.lines).filter(|x| x.line_no == l.line_no).map(|x| x.amount.minor).sum();
            prop_assert!(q <= l.qty, "line {} refunded {} of {}", l.line_no, q, l.qty);
            prop_assert!(a <= l.amount.minor);
            if q == l.qty { prop_assert_eq!(a, l.amount.minor); }
            total_refunded += a;
        }
        prop_assert!(total_refunded <= sale.subtotal.minor);
        prop_assert_eq!(&h.replayed(), &h.state);
        prop_assert_eq!(&h.loaded(), &h.state);
        prop_assert_eq!(h.state.shift.as_ref().unwrap().totals.refunds_total.minor, total_refunded);
    }

    #[test]
    fn z_report_equals_the_sum_of_its_sales(baskets in proptest::collection::vec(basket(), 1..6), counted in 0i64..100_000) {
        let mut h = Harness::new(profile(TaxMode::Inclusive, TaxRoundingScope::PerLine, RoundingMode::HalfEven, 5), items());
        let mut nos = vec![];
        for b in &baskets { nos.push(ring_up(&mut h, b)); }
        let c = h.cashier.clone();
        let (ev, z) = h.engine().close_shift(Some(&c), &format_minor(counted, 2), h.now).unwrap();
        h.apply(ev);
        let sum: i64 = nos.iter().map(|n| h.sales[n].amount_due().minor).sum();
        prop_assert_eq!(z.totals.sales_total.minor, sum);
        prop_assert_eq!(z.totals.sales_count, nos.len() as u64);
        prop_assert_eq!(z.z_no, Some(1));
        let tax: i64 = nos.iter().map(|n| h.sales[n].tax_total.minor).sum();
        prop_assert_eq!(z.totals.taxes.values().map(|t| t.tax.minor).sum::<i64>(), tax);
        let cash_net: i64 = nos.iter().map(|n| {
            let s = &h.sales[n];
            s.tenders.iter().filter(|t| matches!(t, Tender::Cash{..})).map(|t| t.amount().minor).sum::<i64>() - s.change.minor
        }).sum();
        prop_assert_eq!(z.expected_cash.minor, 100_00 + cash_net);
        prop_assert_eq!(z.over_short.unwrap().minor, counted - z.expected_cash.minor);
        prop_assert!(h.state.shift.is_none());
        // Receipt numbers are gapless from 1.
        prop_assert_eq!(nos, (1..=baskets.len() as u64).collect::<Vec<_>>());
        // Derived state is a pure fold: replaying the journal, or loading the derived
        // tables the store would hold, gives exactly the live state.
        prop_assert_eq!(&h.replayed(), &h.state);
        prop_assert_eq!(&h.loaded(), &h.state);
    }
}
