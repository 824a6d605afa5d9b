//! The price override dialog: opened from a cart line (not voided, no tender
//! yet), the new unit price keyed on a [`Keypad`] and a reason picked from
//! [`REASONS`]; OK hands it to the manager PIN pad as
//! [`PinPurpose::PriceOverride`]. The engine decides whether it is allowed.

use super::ops::{fill, on0, on1, Ops};
use crate::action::PinPurpose;
use crate::generated::{AppWindow, OverrideActions, OverrideState};
use crate::keypad::{Key, Keypad};
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::rc::Rc;

/// The reasons offered, as journaled with the override (English, like the
/// journal's other texts; the screen shows them translated).
pub const REASONS: [&str; 4] = [
    crate::i18n::mark("Damaged item"),
    crate::i18n::mark("Price match"),
    crate::i18n::mark("Wrong shelf label"),
    crate::i18n::mark("Manager discretion"),
];

/// The dialog's state while open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Editing {
    /// Cart line.
    pub line: u32,
    /// The new unit price keyed.
    pub keypad: Keypad,
    /// Index into [`REASONS`].
    pub reason: Option<usize>,
}

/// The price override dialog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriceOverride {
    /// Open for a line.
    pub editing: Option<Editing>,
}

impl Editing {
    /// The manager action this asks for, once a price and a reason are set.
    pub fn purpose(&self) -> Option<PinPurpose> {
        let reason = REASONS.get(self.reason?)?;
        (self.keypad.minor() > 0).then(|| PinPurpose::PriceOverride {
            line: self.line,
            price: self.keypad.minor(),
            reason: reason.to_string(),
        })
    }
}

/// Fills the dialog (closes it if its line is gone or can no longer change).
pub fn show(ops: &mut Ops, w: &AppWindow) {
    if let Some(e) = &ops.price.editing {
        let live = ops.seen.lines.iter().any(|l| l.line == e.line && !l.voided);
        if !live || ops.seen.tendered || ops.seen.user.is_none() {
            ops.price.editing = None;
        }
    }
    apply(ops, w);
}

fn apply(ops: &Ops, w: &AppWindow) {
    let s = w.global::<OverrideState<'_>>();
    let Some(e) = &ops.price.editing else {
        s.set_visible(false);
        return;
    };
    let line = ops.seen.lines.iter().find(|l| l.line == e.line);
    s.set_visible(true);
    s.set_line_name(line.map(|l| l.name.as_str()).unwrap_or("").into());
    s.set_current(
        line.map(|l| l.unit_price.text.as_str())
            .unwrap_or("")
            .into(),
    );
    s.set_entry(e.keypad.text(ops.seen.exponent).into());
    s.set_reason(e.reason.and_then(|r| i32::try_from(r).ok()).unwrap_or(-1));
    s.set_ready(e.purpose().is_some());
    let reasons: Vec<SharedString> = REASONS.iter().map(|r| crate::i18n::tr(r).into()).collect();
    fill(s.get_reasons(), reasons, |m| s.set_reasons(m));
}

fn open(ops: &mut Ops, w: &AppWindow, line: i32) {
    let Ok(line) = u32::try_from(line) else {
        return;
    };
    let ok = ops.seen.lines.iter().any(|l| l.line == line && !l.voided);
    if ok && !ops.seen.tendered {
        ops.price.editing = Some(Editing {
            line,
            ..Editing::default()
        });
        apply(ops, w);
    }
}

fn key(ops: &mut Ops, w: &AppWindow, key: SharedString) {
    if let (Some(e), Some(k)) = (ops.price.editing.as_mut(), Key::parse(key.as_str())) {
        e.keypad.press(k);
        apply(ops, w);
    }
}

fn pick_reason(ops: &mut Ops, w: &AppWindow, i: i32) {
    if let (Some(e), Ok(i)) = (ops.price.editing.as_mut(), usize::try_from(i)) {
        if i < REASONS.len() {
            e.reason = Some(i);
            apply(ops, w);
        }
    }
}

fn submit(ops: &mut Ops, w: &AppWindow) {
    let Some(purpose) = ops.price.editing.as_ref().and_then(Editing::purpose) else {
        return;
    };
    ops.price.editing = None;
    apply(ops, w);
    ops.ask_manager(purpose);
}

fn cancel(ops: &mut Ops, w: &AppWindow) {
    ops.price.editing = None;
    apply(ops, w);
}

/// Wires the dialog's callbacks.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    let a = w.global::<OverrideActions<'_>>();
    a.on_open(on1(ops, w, open));
    a.on_key(on1(ops, w, key));
    a.on_pick_reason(on1(ops, w, pick_reason));
    a.on_submit(on0(ops, w, submit));
    a.on_cancel(on0(ops, w, cancel));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_and_a_reason_make_the_manager_action() {
        let mut e = Editing {
            line: 2,
            ..Editing::default()
        };
        assert_eq!(e.purpose(), None);
        for k in ["1", "0", "0"] {
            e.keypad.press(Key::parse(k).unwrap());
        }
        assert_eq!(e.purpose(), None, "no reason yet");
        e.reason = Some(1);
        assert_eq!(
            e.purpose(),
            Some(PinPurpose::PriceOverride {
                line: 2,
                price: 100,
                reason: "Price match".into()
            })
        );
        e.keypad = Keypad::new();
        assert_eq!(e.purpose(), None, "no price");
    }
}
