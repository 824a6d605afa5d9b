//! The money invariants of one terminal's own journal: refunds and voids never
//! exceed the sale they return, card tenders stay within the offline approval
//! limits, and every Z report equals the sum of its
//! shift's sales by tender, net of voids and refunds, as keel-core's
//! `TerminalState` defines the shift totals. Pure functions over event bodies
//! in journal order; they must not read a journal or change anything.

use keel_core::event::EventBody;
use keel_core::tender::Tender;
use std::collections::BTreeMap;

/// Every void or refund that returns more than its sale (per line, in units,
/// and in money), a refund after a void, a void after a refund, a second void,
/// or a return of a receipt the journal does not hold before it.
pub fn returns_within_sales(events: &[&EventBody]) -> Vec<String> {
    let mut out = Vec::new();
    // receipt -> (line -> sold qty, amount due, voided, refunded qty per line, refunded amount)
    struct Seen {
        lines: BTreeMap<u32, i64>,
        due: i64,
        voided: bool,
        refunded: BTreeMap<u32, i64>,
        refunded_minor: i64,
    }
    let mut sales: BTreeMap<u64, Seen> = BTreeMap::new();
    for body in events {
        match body {
            EventBody::SaleCompleted(s) => {
                sales.insert(
                    s.receipt_no.0,
                    Seen {
                        lines: s.lines.iter().map(|l| (l.line_no, l.qty)).collect(),
                        due: s.amount_due().minor,
                        voided: false,
                        refunded: BTreeMap::new(),
                        refunded_minor: 0,
                    },
                );
            }
            EventBody::SaleVoided(v) => {
                let no = v.receipt_no.0;
                let Some(s) = sales.get_mut(&no) else {
                    out.push(format!("void of receipt {no}, which it never sold"));
                    continue;
                };
                if s.voided {
                    out.push(format!("receipt {no} voided twice"));
                }
                if s.refunded_minor > 0 || !s.refunded.is_empty() {
                    out.push(format!("receipt {no} voided after a refund"));
                }
                if v.amount.minor != s.due {
                    out.push(format!(
                        "void of receipt {no} returns {}, the sale was {}",
                        v.amount.minor, s.due
                    ));
                }
                s.voided = true;
            }
            EventBody::RefundIssued(r) => {
                let no = r.original.0;
                let Some(s) = sales.get_mut(&no) else {
                    out.push(format!("refund of receipt {no}, which it never sold"));
                    continue;
                };
                if s.voided {
                    out.push(format!("refund of receipt {no} after its void"));
                }
                for l in &r.lines {
                    let done = s.refunded.entry(l.line_no).or_insert(0);
                    *done += l.qty;
                    let sold = s.lines.get(&l.line_no).copied().unwrap_or(0);
                    if *done > sold {
                        out.push(format!(
                            "receipt {no} line {}: {} refunded of {sold} sold",
                            l.line_no, *done
                        ));
                    }
                }
                s.refunded_minor += r.total.minor;
                if s.refunded_minor > s.due {
                    out.push(format!(
                        "receipt {no}: {} refunded of a {} sale",
                        s.refunded_minor, s.due
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Every card tender over the per-transaction offline limit, and every
/// moment the card total held offline (card sales minus voided card sales, as
/// keel-core's `Counters::card_offline_minor` keeps it) went over the total
/// offline limit.
pub fn cards_within_offline_limits(
    events: &[&EventBody],
    limits: &keel_core::tender::CardLimits,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut held: i64 = 0;
    let mut card_of: BTreeMap<u64, i64> = BTreeMap::new();
    for body in events {
        match body {
            EventBody::SaleCompleted(s) => {
                let card: i64 = s
                    .tenders
                    .iter()
                    .filter(|t| matches!(t, Tender::Card(_)))
                    .map(|t| t.amount().minor)
                    .sum();
                if card > limits.per_transaction.minor {
                    out.push(format!(
                        "receipt {}: card tender {card} over the per-transaction offline limit {}",
                        s.receipt_no.0, limits.per_transaction.minor
                    ));
                }
                held += card;
                card_of.insert(s.receipt_no.0, card);
                if held > limits.total_offline.minor {
                    out.push(format!(
                        "receipt {}: {held} held offline on cards, over the limit {}",
                        s.receipt_no.0, limits.total_offline.minor
                    ));
                }
            }
            EventBody::SaleVoided(v) => {
                held -= card_of.get(&v.receipt_no.0).copied().unwrap_or(0);
            }
            _ => {}
        }
    }
    out
}

/// The totals the journal's own events give one shift.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ShiftSums {
    sales: u64,
    sales_minor: i64,
    cash: i64,
    card: i64,
    voids: u64,
    voids_minor: i64,
    refunds: u64,
    refunds_minor: i64,
}

/// Every Z report whose totals differ from the sum of its shift's events:
/// count and amount of sales, cash (net of change) and card tenders, voids,
/// refunds, and net sales (sales − voids − refunds).
pub fn z_reports_match(events: &[&EventBody]) -> Vec<String> {
    let mut out = Vec::new();
    let mut per_shift: BTreeMap<u64, ShiftSums> = BTreeMap::new();
    for body in events {
        match body {
            EventBody::SaleCompleted(s) => {
                let e = per_shift.entry(s.shift_no).or_default();
                e.sales += 1;
                e.sales_minor += s.amount_due().minor;
                let cash: i64 = s
                    .tenders
                    .iter()
                    .filter(|t| matches!(t, Tender::Cash { .. }))
                    .map(|t| t.amount().minor)
                    .sum();
                let card: i64 = s
                    .tenders
                    .iter()
                    .filter(|t| matches!(t, Tender::Card(_)))
                    .map(|t| t.amount().minor)
                    .sum();
                e.cash += cash
                    - if cash > 0 || card == 0 {
                        s.change.minor
                    } else {
                        0
                    };
                e.card += card;
            }
            EventBody::SaleVoided(v) => {
                let e = per_shift.entry(v.shift_no).or_default();
                e.voids += 1;
                e.voids_minor += v.amount.minor;
            }
            EventBody::RefundIssued(r) => {
                let e = per_shift.entry(r.shift_no).or_default();
                e.refunds += 1;
                e.refunds_minor += r.total.minor;
            }
            EventBody::ShiftClosed(z) => {
                let want = per_shift.get(&z.shift_no).cloned().unwrap_or_default();
                let t = &z.totals;
                let tender = |k: &str| t.tenders.get(k).map_or(0, |m| m.minor);
                let got = ShiftSums {
                    sales: t.sales_count,
                    sales_minor: t.sales_total.minor,
                    cash: tender("cash"),
                    card: tender("card"),
                    voids: t.voids_count,
                    voids_minor: t.voids_total.minor,
                    refunds: t.refunds_count,
                    refunds_minor: t.refunds_total.minor,
                };
                if got != want {
                    out.push(format!(
                        "Z {:?} of shift {} says {got:?}, its events sum to {want:?}",
                        z.z_no, z.shift_no
                    ));
                }
                let net = want.sales_minor - want.voids_minor - want.refunds_minor;
                if t.net_sales().minor != net {
                    out.push(format!(
                        "Z {:?} of shift {}: net sales {}, sales - voids - refunds = {net}",
                        z.z_no,
                        z.shift_no,
                        t.net_sales().minor
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::disk::CrashDisk;
    use crate::terminal::SimTerminal;
    use keel_core::engine::{AddRequest, Engine, RefundRequest};
    use keel_core::ids::TerminalId;
    use std::collections::BTreeSet;

    /// A real shift on a real journal: a cash sale, a card sale, a partial
    /// refund of the first, a void of the second, the Z report.
    fn real_shift() -> Vec<EventBody> {
        let members: BTreeSet<TerminalId> = [TerminalId(1)].into();
        let disk = CrashDisk::new(false);
        let now = 1_790_000_000_000;
        let mut t = SimTerminal::open(
            catalog::profile(1),
            &disk,
            &members,
            now,
            catalog::seed_events(),
        )
        .unwrap();
        let p = t.profile.clone();
        let (cashier, manager) = (&p.users[0], &p.users[1]);
        macro_rules! run {
            ($e:expr) => {{
                let ev = {
                    let engine = Engine::new(&p, &t.state);
                    $e(engine)
                };
                t.commit(ev, now).unwrap();
            }};
        }
        run!(|e: Engine| e.open_shift(Some(manager), "100.00").unwrap());
        for card in [false, true] {
            run!(|e: Engine| e.new_sale(Some(cashier)).unwrap());
            for key in ["BREAD", "COFFEE"] {
                run!(|e: Engine| e
                    .add_item(
                        Some(cashier),
                        AddRequest {
                            key,
                            qty: Some("2"),
                            now_ms: now
                        }
                    )
                    .unwrap());
            }
            run!(|e: Engine| {
                let due = keel_core::money::format_minor(e.priced().unwrap().total.minor, 2);
                if card {
                    e.tender_card(Some(cashier), &due, "sim-tok", "4242", None)
                        .unwrap()
                } else {
                    e.tender_cash(Some(cashier), "50.00").unwrap()
                }
            });
            run!(|e: Engine| e.complete(Some(cashier)).unwrap().0);
        }
        let r1 =
            crate::cashier::sale_record(&t.journal, TerminalId(1), keel_core::ids::ReceiptNo(1))
                .unwrap()
                .unwrap();
        run!(|e: Engine| e
            .refund(
                Some(manager),
                &r1.sale,
                false,
                &[],
                &[RefundRequest {
                    line_no: 1,
                    qty: "1"
                }]
            )
            .unwrap()
            .0);
        let r2 =
            crate::cashier::sale_record(&t.journal, TerminalId(1), keel_core::ids::ReceiptNo(2))
                .unwrap()
                .unwrap();
        run!(|e: Engine| e.void_sale(Some(manager), &r2.sale, false, &[]).unwrap());
        run!(|e: Engine| e.close_shift(Some(manager), "100.00", now).unwrap().0);
        t.journal
            .range(1, t.journal.last_seq())
            .unwrap()
            .into_iter()
            .map(|s| s.event.body)
            .collect()
    }

    #[test]
    fn a_real_shift_with_cash_card_refund_and_void_passes() {
        let events = real_shift();
        let refs: Vec<&EventBody> = events.iter().collect();
        assert!(returns_within_sales(&refs).is_empty());
        assert!(
            z_reports_match(&refs).is_empty(),
            "{:?}",
            z_reports_match(&refs)
        );
        let z = events
            .iter()
            .find_map(|e| match e {
                EventBody::ShiftClosed(z) => Some(z.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            (
                z.totals.sales_count,
                z.totals.voids_count,
                z.totals.refunds_count
            ),
            (2, 1, 1)
        );
        assert!(z.totals.tenders.get("card").is_some_and(|m| m.minor > 0));
    }

    #[test]
    fn a_refund_beyond_the_sale_is_reported() {
        let mut events = real_shift();
        let refund = events
            .iter()
            .find(|e| matches!(e, EventBody::RefundIssued(_)))
            .cloned()
            .unwrap();
        // The same one unit refunded twice more: line 1 sold 2, 3 refunded.
        events.push(refund.clone());
        events.push(refund);
        let refs: Vec<&EventBody> = events.iter().collect();
        let v = returns_within_sales(&refs);
        assert!(
            v.iter().any(|s| s.contains("3 refunded of 2 sold")),
            "{v:?}"
        );
    }

    #[test]
    fn card_tenders_over_the_offline_limits_are_reported() {
        let events = real_shift();
        let refs: Vec<&EventBody> = events.iter().collect();
        let limits = catalog::profile(1).card_limits;
        assert!(cards_within_offline_limits(&refs, &limits).is_empty());
        let tight = keel_core::tender::CardLimits {
            per_transaction: keel_core::money::Money::new(1, limits.per_transaction.currency),
            total_offline: keel_core::money::Money::new(1, limits.total_offline.currency),
        };
        let v = cards_within_offline_limits(&refs, &tight);
        assert!(v.iter().any(|s| s.contains("per-transaction")), "{v:?}");
        assert!(v.iter().any(|s| s.contains("held offline")), "{v:?}");
    }

    #[test]
    fn a_twice_voided_sale_is_reported() {
        let mut events = real_shift();
        let void = events
            .iter()
            .find(|e| matches!(e, EventBody::SaleVoided(_)))
            .cloned()
            .unwrap();
        events.push(void);
        let refs: Vec<&EventBody> = events.iter().collect();
        let v = returns_within_sales(&refs);
        assert!(v.iter().any(|s| s.contains("voided twice")), "{v:?}");
    }

    #[test]
    fn a_z_report_off_by_one_cent_of_card_or_counting_a_void_is_reported() {
        for tamper in 0..2 {
            let mut events = real_shift();
            for e in &mut events {
                if let EventBody::ShiftClosed(z) = e {
                    if tamper == 0 {
                        if let Some(m) = z.totals.tenders.get_mut("card") {
                            m.minor += 1;
                        }
                    } else {
                        // A void left in the net sales.
                        z.totals.voids_total.minor = 0;
                    }
                }
            }
            let refs: Vec<&EventBody> = events.iter().collect();
            assert!(
                !z_reports_match(&refs).is_empty(),
                "tamper {tamper} not caught"
            );
        }
    }
}
