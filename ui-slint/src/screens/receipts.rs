//! The receipts page: the receipt number keyed on a [`Keypad`] (read as a
//! whole number), the recent receipts, the previewed receipt and the refund
//! selection (lines and quantities, never more than is left to refund).
//! Preview, reprint, void and refund are actions; void and refund go
//! through the manager PIN pad.

use super::ops::{fill, on0, on1, Ops};
use super::ops_view::ReceiptItemView;
use crate::action::{Action, PinPurpose, RefundLine};
use crate::generated::{AppWindow, ReceiptRow, ReceiptsActions, ReceiptsState, RefundRow};
use crate::keypad::{Key, Keypad};
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The number being keyed and the refund selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipts {
    /// The receipt number keyed.
    pub lookup: Keypad,
    /// The receipt the selection is for, with what was left to refund when
    /// it was made (a refund done or a void clears the selection).
    pub basis: Option<(u64, Vec<(u32, i64)>)>,
    /// Line number -> units (or grams) chosen for refund.
    pub chosen: BTreeMap<u32, i64>,
}

impl Receipts {
    /// One more unit of `item` (a weighed line: all that is left).
    pub fn more(&mut self, item: &ReceiptItemView) {
        let now = self.chosen.get(&item.line).copied().unwrap_or(0);
        let next = if item.by_weight {
            item.refundable
        } else {
            (now + 1).min(item.refundable)
        };
        if next > 0 {
            self.chosen.insert(item.line, next);
        }
    }

    /// One unit less of `item` (a weighed line: none).
    pub fn less(&mut self, item: &ReceiptItemView) {
        let now = self.chosen.get(&item.line).copied().unwrap_or(0);
        let next = if item.by_weight { 0 } else { now - 1 };
        if next > 0 {
            self.chosen.insert(item.line, next);
        } else {
            self.chosen.remove(&item.line);
        }
    }

    /// The refund lines chosen, in line order.
    pub fn lines(&self, items: &[ReceiptItemView]) -> Vec<RefundLine> {
        items
            .iter()
            .filter_map(|i| {
                let qty = u32::try_from(*self.chosen.get(&i.line)?).ok()?;
                (qty > 0).then_some(RefundLine {
                    line: i.line,
                    qty,
                    by_weight: i.by_weight,
                })
            })
            .collect()
    }

    /// Keeps the selection while the receipt and what is left to refund are
    /// unchanged; clears it otherwise.
    pub fn rebase(&mut self, receipt: Option<u64>, items: &[ReceiptItemView]) {
        let basis = receipt.map(|n| (n, items.iter().map(|i| (i.line, i.refundable)).collect()));
        if basis != self.basis {
            self.chosen.clear();
            self.basis = basis;
        }
    }
}

fn chosen_text(item: &ReceiptItemView, qty: i64) -> String {
    match (qty, item.by_weight) {
        (0, _) => String::new(),
        (_, true) => item.qty_text.clone(),
        (n, false) => n.to_string(),
    }
}

fn left_text(item: &ReceiptItemView) -> String {
    if item.by_weight {
        if item.refundable > 0 {
            item.qty_text.clone()
        } else {
            "0".into()
        }
    } else {
        item.refundable.to_string()
    }
}

/// Fills the receipts page.
pub fn show(ops: &mut Ops, w: &AppWindow) {
    let number = ops.seen.receipt.as_ref().map(|(n, _)| *n);
    let items = ops.seen.ops.receipt_items.clone();
    ops.receipts.rebase(number, &items);
    let s = w.global::<ReceiptsState<'_>>();
    let recent: Vec<ReceiptRow> = ops
        .seen
        .ops
        .recent_receipts
        .iter()
        .map(|r| ReceiptRow {
            number: i32::try_from(r.number).unwrap_or(i32::MAX),
            time: r.time_text.as_str().into(),
            total: r.total.text.as_str().into(),
            voided: r.voided,
            refunded: r.refunds > 0,
            selected: Some(r.number) == number,
        })
        .collect();
    fill(s.get_recent(), recent, |m| s.set_recent(m));
    s.set_has_receipt(number.is_some());
    s.set_number(number.map(|n| n.to_string()).unwrap_or_default().into());
    s.set_voided(ops.seen.ops.receipt_voided);
    let preview: Vec<SharedString> = ops
        .seen
        .receipt
        .as_ref()
        .map(|(_, lines)| lines.iter().map(|l| l.as_str().into()).collect())
        .unwrap_or_default();
    fill(s.get_preview(), preview, |m| s.set_preview(m));
    apply_selection(ops, w);
    apply_lookup(ops, w);
}

fn apply_selection(ops: &Ops, w: &AppWindow) {
    let s = w.global::<ReceiptsState<'_>>();
    let rows: Vec<RefundRow> = ops
        .seen
        .ops
        .receipt_items
        .iter()
        .map(|i| {
            let qty = ops.receipts.chosen.get(&i.line).copied().unwrap_or(0);
            RefundRow {
                line: i32::try_from(i.line).unwrap_or(i32::MAX),
                name: i.name.as_str().into(),
                sold: i.qty_text.as_str().into(),
                amount: i.amount.text.as_str().into(),
                left: left_text(i).into(),
                chosen: chosen_text(i, qty).into(),
                can_more: qty < i.refundable,
                can_less: qty > 0,
            }
        })
        .collect();
    fill(s.get_items(), rows, |m| s.set_items(m));
    let n = ops.receipts.lines(&ops.seen.ops.receipt_items).len();
    s.set_chosen_lines(i32::try_from(n).unwrap_or(i32::MAX));
}

fn apply_lookup(ops: &Ops, w: &AppWindow) {
    let text = if ops.receipts.lookup.is_empty() {
        String::new()
    } else {
        ops.receipts.lookup.text(0)
    };
    w.global::<ReceiptsState<'_>>().set_lookup_text(text.into());
}

fn key(ops: &mut Ops, w: &AppWindow, key: SharedString) {
    if let Some(k) = Key::parse(key.as_str()) {
        ops.receipts.lookup.press(k);
        apply_lookup(ops, w);
    }
}

fn lookup(ops: &mut Ops, w: &AppWindow) {
    let n = ops.receipts.lookup.minor();
    if let Ok(receipt) = u64::try_from(n) {
        if receipt > 0 {
            ops.send(Action::PreviewReceipt { receipt });
        }
    }
    ops.receipts.lookup = Keypad::new();
    apply_lookup(ops, w);
}

fn select(ops: &mut Ops, _w: &AppWindow, number: i32) {
    if let Ok(receipt) = u64::try_from(number) {
        ops.send(Action::PreviewReceipt { receipt });
    }
}

fn item(ops: &Ops, line: i32) -> Option<ReceiptItemView> {
    ops.seen
        .ops
        .receipt_items
        .iter()
        .find(|i| i64::from(i.line) == i64::from(line))
        .cloned()
}

fn refund_more(ops: &mut Ops, w: &AppWindow, line: i32) {
    if let Some(i) = item(ops, line) {
        ops.receipts.more(&i);
        apply_selection(ops, w);
    }
}

fn refund_less(ops: &mut Ops, w: &AppWindow, line: i32) {
    if let Some(i) = item(ops, line) {
        ops.receipts.less(&i);
        apply_selection(ops, w);
    }
}

fn current(ops: &Ops) -> Option<u64> {
    ops.seen.receipt.as_ref().map(|(n, _)| *n)
}

fn reprint(ops: &mut Ops, _w: &AppWindow) {
    if let Some(receipt) = current(ops) {
        ops.send(Action::Reprint { receipt });
    }
}

fn void_receipt(ops: &mut Ops, _w: &AppWindow) {
    if let Some(receipt) = current(ops) {
        if !ops.seen.ops.receipt_voided {
            ops.ask_manager(PinPurpose::VoidReceipt { receipt });
        }
    }
}

fn refund(ops: &mut Ops, _w: &AppWindow) {
    let Some(receipt) = current(ops) else { return };
    let lines = ops.receipts.lines(&ops.seen.ops.receipt_items);
    if !lines.is_empty() {
        ops.ask_manager(PinPurpose::Refund { receipt, lines });
    }
}

/// Wires the receipts page's callbacks.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    let a = w.global::<ReceiptsActions<'_>>();
    a.on_key(on1(ops, w, key));
    a.on_lookup(on0(ops, w, lookup));
    a.on_select(on1(ops, w, select));
    a.on_refund_more(on1(ops, w, refund_more));
    a.on_refund_less(on1(ops, w, refund_less));
    a.on_reprint(on0(ops, w, reprint));
    a.on_void_receipt(on0(ops, w, void_receipt));
    a.on_refund(on0(ops, w, refund));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line: u32, refundable: i64, by_weight: bool) -> ReceiptItemView {
        ReceiptItemView {
            line,
            name: format!("item {line}"),
            qty_text: if by_weight {
                "0.750 kg".into()
            } else {
                "3".into()
            },
            by_weight,
            refundable,
            ..ReceiptItemView::default()
        }
    }

    #[test]
    fn never_more_than_is_left_and_weighed_lines_whole() {
        let (a, b, c) = (item(1, 2, false), item(2, 750, true), item(3, 0, false));
        let mut r = Receipts::default();
        for _ in 0..3 {
            r.more(&a);
        }
        r.more(&b);
        r.more(&c);
        assert_eq!(
            r.lines(&[a.clone(), b.clone(), c.clone()]),
            vec![
                RefundLine {
                    line: 1,
                    qty: 2,
                    by_weight: false
                },
                RefundLine {
                    line: 2,
                    qty: 750,
                    by_weight: true
                },
            ]
        );
        r.less(&a);
        r.less(&b);
        assert_eq!(
            r.lines(&[a.clone(), b, c]),
            vec![RefundLine {
                line: 1,
                qty: 1,
                by_weight: false
            }]
        );
        r.less(&a);
        assert!(r.chosen.is_empty());
    }

    #[test]
    fn the_selection_is_cleared_when_the_receipt_or_what_is_left_changes() {
        let a = item(1, 2, false);
        let mut r = Receipts::default();
        r.rebase(Some(4), std::slice::from_ref(&a));
        r.more(&a);
        r.rebase(Some(4), std::slice::from_ref(&a));
        assert_eq!(
            r.chosen.len(),
            1,
            "same receipt, same lines: kept (a refused PIN)"
        );
        r.rebase(Some(4), &[item(1, 1, false)]);
        assert!(r.chosen.is_empty(), "refunded: cleared");
        r.more(&a);
        r.rebase(Some(5), &[a]);
        assert!(r.chosen.is_empty(), "another receipt: cleared");
    }
}
