//! The operations pages' half of the mapping (see [`crate::map`]): the
//! snapshot's shift, report, receipts, customers and diagnostics into
//! keel-ui's [`OpsView`] (field copies; money keeps the core's text), and the
//! operations actions (login, shift, reports, receipts, customers,
//! diagnostics, refunds and price overrides behind the manager PIN) into
//! bridge actions. Pure: no business rules, no I/O.

use keel_core::receipt::format_utc;
use keel_terminal::ui_bridge::snapshot as bridge;
use keel_terminal::ui_bridge::{Qty, UiAction, UiSnapshot};
use keel_ui::action::{Action, PinPurpose, RefundLine};
use keel_ui::screens::ops_view as ops;
use keel_ui::view::MoneyView;

fn money(m: &bridge::MoneyView) -> MoneyView {
    MoneyView::new(m.minor, m.text.clone())
}

fn named(list: &[(String, bridge::MoneyView)]) -> Vec<(String, MoneyView)> {
    list.iter().map(|(n, m)| (n.clone(), money(m))).collect()
}

/// A receipt's time as the recent list shows it: `HH:MM` on the snapshot's
/// day, `MM-DD` before (UTC, as the receipts print it).
pub fn receipt_time(time_ms: u64, now_ms: u64) -> String {
    let (at, today) = (format_utc(time_ms), format_utc(now_ms));
    match (at.get(..10), today.get(..10)) {
        (Some(d), Some(t)) if d == t => at.get(11..).unwrap_or_default().to_string(),
        _ => at.get(5..10).unwrap_or_default().to_string(),
    }
}

fn report(r: &bridge::ReportView) -> ops::ReportView {
    ops::ReportView {
        z: r.z,
        shift: r.shift,
        sales_count: r.sales_count,
        sales_total: money(&r.sales_total),
        tenders: named(&r.tenders),
        taxes: named(&r.taxes),
        voids: r.voids,
        refunds: r.refunds,
        discounts: money(&r.discounts),
        no_sales: r.no_sales,
        float: money(&r.float),
        expected_cash: money(&r.expected_cash),
        counted_cash: r.counted_cash.as_ref().map(money),
        over_short: r.over_short.as_ref().map(money),
    }
}

fn diagnostics(d: &bridge::DiagnosticsView) -> ops::DiagnosticsView {
    ops::DiagnosticsView {
        firmware: d.firmware.clone(),
        terminal: d.terminal.clone(),
        store_id: d.store_id.clone(),
        data_dir: d.data_dir.clone(),
        journal_last_seq: d.journal_last_seq,
        journal_head: d.journal_head.clone(),
        chain: d.chain.as_ref().map(|c| ops::ChainView {
            ok: c.ok,
            records: c.records,
            detail: c.detail.clone(),
        }),
        cluster: d.cluster.clone(),
        raft: d.raft.clone(),
        peers: d
            .peers
            .iter()
            .map(|p| ops::PeerView {
                terminal: p.terminal.clone(),
                addr: p.addr.clone(),
                connected: p.connected,
                last_seen_ms: p.last_seen_ms,
                lag: p.lag,
            })
            .collect(),
        uplink_state: d.uplink_state.clone(),
        uplink_pending: d.uplink_pending,
        last_sync_age_s: d.last_sync_age_s,
        uplink_error: d.uplink_error.clone(),
        printer: d.printer.clone(),
        scanner: d.scanner.clone(),
        ai_model: d.ai_model.clone(),
    }
}

/// The operations pages' view of `s`.
pub fn ops_view(s: &UiSnapshot) -> ops::OpsView {
    ops::OpsView {
        role: s.user.as_ref().map(|u| u.role.clone()),
        shift: s.shift.as_ref().map(|sh| ops::ShiftView {
            number: sh.number,
            opened_by: sh.opened_by.clone(),
            float: money(&sh.float),
            expected_cash: money(&sh.expected_cash),
            sales_count: sh.sales_count,
        }),
        report: s.report.as_ref().map(report),
        recent_receipts: s
            .recent_receipts
            .iter()
            .map(|r| ops::ReceiptSummaryView {
                number: r.number,
                time_text: receipt_time(r.time_ms, s.now_ms),
                total: money(&r.total),
                voided: r.voided,
                refunds: r.refunds,
            })
            .collect(),
        receipt_items: s
            .receipt
            .as_ref()
            .map(|r| {
                r.items
                    .iter()
                    .map(|i| ops::ReceiptItemView {
                        line: i.line,
                        name: i.name.clone(),
                        qty_text: i.qty_text.clone(),
                        by_weight: i.by_weight,
                        amount: money(&i.amount),
                        refundable: i.refundable,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        receipt_voided: s.receipt.as_ref().is_some_and(|r| r.voided),
        customers: s
            .customers
            .iter()
            .map(|c| ops::CustomerView {
                id: c.id.clone(),
                name: c.name.clone(),
                phone: c.phone.clone(),
            })
            .collect(),
        diagnostics: diagnostics(&s.diagnostics),
    }
}

fn refund_qty(l: &RefundLine) -> (u32, Qty) {
    (
        l.line,
        if l.by_weight {
            Qty::Grams(l.qty)
        } else {
            Qty::Units(l.qty)
        },
    )
}

/// The bridge action for a manager action authorised with `pin` (`None` for
/// a card approval, which needs the card terminal's token: [`crate::map::Mapper`] maps it).
pub fn manager(purpose: PinPurpose, pin: String) -> Option<UiAction> {
    Some(match purpose {
        PinPurpose::VoidReceipt { receipt } => UiAction::VoidReceipt {
            receipt,
            manager_pin: pin,
        },
        PinPurpose::Refund { receipt, lines } => UiAction::Refund {
            receipt,
            lines: lines.iter().map(refund_qty).collect(),
            manager_pin: pin,
        },
        PinPurpose::PriceOverride {
            line,
            price,
            reason,
        } => UiAction::PriceOverride {
            line,
            price,
            reason,
            manager_pin: pin,
        },
        PinPurpose::CardApproval { .. } => return None,
    })
}

/// The bridge actions for an operations action (`None` for the sale's own
/// actions, which [`crate::map::Mapper`] maps).
pub fn actions(action: &Action) -> Option<Vec<UiAction>> {
    Some(vec![match action {
        Action::Login { pin } => UiAction::Login { pin: pin.clone() },
        Action::Logout => UiAction::Logout,
        Action::ShiftOpen { float } => UiAction::ShiftOpen { float: *float },
        Action::ReportX => UiAction::ReportX,
        Action::ShiftClose { counted } => UiAction::ShiftClose { counted: *counted },
        Action::PreviewReceipt { receipt } => UiAction::PreviewReceipt { receipt: *receipt },
        Action::Reprint { receipt } => UiAction::Reprint {
            receipt: Some(*receipt),
        },
        Action::CustomerLookup { query } => UiAction::CustomerLookup {
            query: query.clone(),
        },
        Action::CustomerSet { id, name, phone } => UiAction::CustomerSet {
            id: id.clone(),
            phone: phone.clone(),
            name: name.clone(),
        },
        Action::Diagnose => UiAction::Diagnose,
        _ => return None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_times_are_hours_today_and_dates_before() {
        // 2026-11-23 10:42 UTC and the day before.
        let today = 1_795_430_520_000;
        assert_eq!(receipt_time(today, today + 3_600_000), "10:42");
        assert_eq!(receipt_time(today - 86_400_000, today), "11-22");
    }

    #[test]
    fn refunds_and_overrides_carry_the_pin_and_weighed_lines_go_in_grams() {
        let r = manager(
            PinPurpose::Refund {
                receipt: 4,
                lines: vec![
                    RefundLine {
                        line: 1,
                        qty: 2,
                        by_weight: false,
                    },
                    RefundLine {
                        line: 3,
                        qty: 750,
                        by_weight: true,
                    },
                ],
            },
            "9999".into(),
        );
        assert_eq!(
            r,
            Some(UiAction::Refund {
                receipt: 4,
                lines: vec![(1, Qty::Units(2)), (3, Qty::Grams(750))],
                manager_pin: "9999".into()
            })
        );
        let o = manager(
            PinPurpose::PriceOverride {
                line: 2,
                price: 100,
                reason: "Price match".into(),
            },
            "9999".into(),
        );
        assert_eq!(o.as_ref().and_then(|o| o.manager_pin()), Some("9999"));
        // A card approval needs the card terminal: the mapper makes it.
        let card = PinPurpose::CardApproval {
            amount: 500,
            amount_text: "5.00".into(),
        };
        assert_eq!(manager(card, "9999".into()), None);
        assert_eq!(actions(&Action::Cancel), None);
        assert_eq!(
            actions(&Action::Reprint { receipt: 7 }),
            Some(vec![UiAction::Reprint { receipt: Some(7) }])
        );
    }
}
