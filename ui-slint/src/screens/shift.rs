//! The shift page: the float (to open a shift) or the counted cash (to close
//! it) keyed on a [`Keypad`], the open shift's figures, and the last X or Z
//! report. Amount texts come from the snapshot (the core's formatter); the
//! keyed entry is the keypad's own ([`crate::keypad`]).

use super::ops::{fill, on0, on1, Ops};
use super::ops_view::{ReportView, ShiftView};
use crate::action::Action;
use crate::generated::{
    AppWindow, Level, NameValue, ReportInfo, ShiftActions, ShiftInfo, ShiftState,
};
use crate::keypad::{Key, Keypad};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::Rc;

/// The amount being keyed and whether it is the counted cash of a close.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShiftPad {
    /// The amount keyed.
    pub keypad: Keypad,
    /// Keying the counted cash to close the shift.
    pub closing: bool,
}

/// The open shift as text.
pub fn shift_info(s: &ShiftView) -> ShiftInfo {
    ShiftInfo {
        number: s.number.to_string().into(),
        opened_by: s.opened_by.as_str().into(),
        float: s.float.text.as_str().into(),
        expected: s.expected_cash.text.as_str().into(),
        sales: s.sales_count.to_string().into(),
    }
}

/// A report as text; over/short is green when even, amber over, red short.
pub fn report_info(r: &ReportView) -> ReportInfo {
    let over_short = r.over_short.as_ref();
    ReportInfo {
        is_z: r.z.is_some(),
        z: r.z.map(|z| z.to_string()).unwrap_or_default().into(),
        shift: r.shift.to_string().into(),
        sales_count: r.sales_count.to_string().into(),
        sales_total: r.sales_total.text.as_str().into(),
        voids: r.voids.to_string().into(),
        refunds: r.refunds.to_string().into(),
        discounts: r.discounts.text.as_str().into(),
        no_sales: r.no_sales.to_string().into(),
        float: r.float.text.as_str().into(),
        expected: r.expected_cash.text.as_str().into(),
        has_counted: r.counted_cash.is_some(),
        counted: r
            .counted_cash
            .as_ref()
            .map(|m| m.text.as_str())
            .unwrap_or_default()
            .into(),
        over_short: over_short
            .map(|m| m.text.as_str())
            .unwrap_or_default()
            .into(),
        over_short_level: match over_short.map(|m| m.minor) {
            Some(0) | None => Level::Ok,
            Some(n) if n > 0 => Level::Warn,
            Some(_) => Level::Bad,
        },
    }
}

fn name_values(list: &[(String, crate::view::MoneyView)]) -> Vec<NameValue> {
    list.iter()
        .map(|(n, m)| NameValue {
            name: n.as_str().into(),
            value: m.text.as_str().into(),
        })
        .collect()
}

/// Fills the shift page.
pub fn show(ops: &mut Ops, w: &AppWindow) {
    let s = w.global::<ShiftState<'_>>();
    let shift = ops.seen.ops.shift.as_ref();
    if shift.is_none() {
        ops.shift.closing = false;
    }
    s.set_open(shift.is_some());
    if let Some(sh) = shift {
        s.set_shift(shift_info(sh));
    }
    let report = ops.seen.ops.report.as_ref();
    s.set_has_report(report.is_some());
    if let Some(r) = report {
        s.set_report(report_info(r));
        fill(s.get_tenders(), name_values(&r.tenders), |m| {
            s.set_tenders(m)
        });
        fill(s.get_taxes(), name_values(&r.taxes), |m| s.set_taxes(m));
    }
    apply_pad(ops, w);
}

fn apply_pad(ops: &Ops, w: &AppWindow) {
    let s = w.global::<ShiftState<'_>>();
    s.set_closing(ops.shift.closing);
    s.set_keypad_text(ops.shift.keypad.text(ops.seen.exponent).into());
}

fn key(ops: &mut Ops, w: &AppWindow, key: SharedString) {
    if let Some(k) = Key::parse(key.as_str()) {
        ops.shift.keypad.press(k);
        apply_pad(ops, w);
    }
}

fn open_shift(ops: &mut Ops, w: &AppWindow) {
    if ops.seen.ops.shift.is_some() {
        return;
    }
    let float = ops.shift.keypad.minor();
    ops.send(Action::ShiftOpen { float });
    ops.shift = ShiftPad::default();
    apply_pad(ops, w);
}

fn report_x(ops: &mut Ops, _w: &AppWindow) {
    if ops.seen.ops.shift.is_some() {
        ops.send(Action::ReportX);
    }
}

fn start_close(ops: &mut Ops, w: &AppWindow) {
    if ops.seen.ops.shift.is_some() {
        ops.shift = ShiftPad {
            keypad: Keypad::new(),
            closing: true,
        };
        apply_pad(ops, w);
    }
}

fn cancel_close(ops: &mut Ops, w: &AppWindow) {
    ops.shift = ShiftPad::default();
    apply_pad(ops, w);
}

fn close_shift(ops: &mut Ops, w: &AppWindow) {
    if !ops.shift.closing || ops.seen.ops.shift.is_none() {
        return;
    }
    let counted = ops.shift.keypad.minor();
    ops.send(Action::ShiftClose { counted });
    ops.shift = ShiftPad::default();
    apply_pad(ops, w);
}

/// Wires the shift page's callbacks.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    let s = w.global::<ShiftState<'_>>();
    s.set_tenders(ModelRc::from(Rc::new(VecModel::<NameValue>::default())));
    s.set_taxes(ModelRc::from(Rc::new(VecModel::<NameValue>::default())));
    let a = w.global::<ShiftActions<'_>>();
    a.on_key(on1(ops, w, key));
    a.on_open_shift(on0(ops, w, open_shift));
    a.on_report_x(on0(ops, w, report_x));
    a.on_start_close(on0(ops, w, start_close));
    a.on_cancel_close(on0(ops, w, cancel_close));
    a.on_close_shift(on0(ops, w, close_shift));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::MoneyView;

    fn m(minor: i64) -> MoneyView {
        MoneyView::new(minor, keel_core::money::format_minor(minor, 2))
    }

    #[test]
    fn over_short_level_and_z_title_fields() {
        let mut r = ReportView {
            z: Some(3),
            shift: 2,
            counted_cash: Some(m(10_000)),
            over_short: Some(m(0)),
            ..ReportView::default()
        };
        let i = report_info(&r);
        assert!(i.is_z && i.has_counted);
        assert_eq!((i.z.as_str(), i.shift.as_str()), ("3", "2"));
        assert_eq!(i.over_short_level, Level::Ok);
        r.over_short = Some(m(-150));
        let i = report_info(&r);
        assert_eq!(
            (i.over_short.as_str(), i.over_short_level),
            ("-1.50", Level::Bad)
        );
        r.over_short = Some(m(20));
        assert_eq!(report_info(&r).over_short_level, Level::Warn);
        r.z = None;
        r.counted_cash = None;
        r.over_short = None;
        let i = report_info(&r);
        assert!(!i.is_z && !i.has_counted);
    }
}
