//! The login page: the PIN keyed here (never in a Slint property, never
//! logged), shown as a mask, sent once as [`Action::Login`]. A refused PIN
//! comes back as the snapshot's error, shown under the mask.

use super::ops::{on0, on1, Ops};
use crate::action::Action;
use crate::generated::{AppWindow, LoginActions, LoginState};
use crate::pin::MAX_PIN;
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::rc::Rc;

/// The PIN being keyed on the login page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Login {
    digits: String,
}

impl Login {
    /// Applies a key (`"0"`..`"9"`, `"back"`, `"clear"`); false if refused.
    pub fn press(&mut self, key: &str) -> bool {
        match key {
            "back" => self.digits.pop().is_some(),
            "clear" => {
                self.digits.clear();
                true
            }
            d if d.len() == 1 && d.bytes().all(|b| b.is_ascii_digit()) => {
                if self.digits.len() >= MAX_PIN {
                    return false;
                }
                self.digits.push_str(d);
                true
            }
            _ => false,
        }
    }

    /// One dot per digit keyed.
    pub fn mask(&self) -> String {
        "●".repeat(self.digits.len())
    }

    /// The PIN keyed, leaving the pad empty; `None` if nothing was keyed.
    pub fn take(&mut self) -> Option<String> {
        if self.digits.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.digits))
        }
    }
}

/// Fills the login page.
pub fn show(ops: &mut Ops, w: &AppWindow) {
    let s = w.global::<LoginState<'_>>();
    s.set_store(ops.seen.store.as_str().into());
    s.set_terminal(ops.seen.terminal.as_str().into());
    s.set_mask(ops.login.mask().into());
    let error = match (&ops.seen.user, &ops.seen.error) {
        (None, Some(e)) => e.as_str().into(),
        _ => SharedString::new(),
    };
    s.set_error(error);
}

fn key(ops: &mut Ops, w: &AppWindow, key: SharedString) {
    if ops.login.press(key.as_str()) {
        w.global::<LoginState<'_>>()
            .set_mask(ops.login.mask().into());
    }
}

fn submit(ops: &mut Ops, w: &AppWindow) {
    if let Some(pin) = ops.login.take() {
        ops.send(Action::Login { pin });
    }
    w.global::<LoginState<'_>>().set_mask(SharedString::new());
}

/// Wires the login page's callbacks.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    let a = w.global::<LoginActions<'_>>();
    a.on_key(on1(ops, w, key));
    a.on_submit(on0(ops, w, submit));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_masked_taken_once_and_capped() {
        let mut l = Login::default();
        for k in ["1", "2", "x", "3", "back", "4"] {
            l.press(k);
        }
        assert_eq!(l.mask(), "●●●");
        assert_eq!(l.take().as_deref(), Some("124"));
        assert_eq!(l.take(), None);
        for _ in 0..MAX_PIN {
            assert!(l.press("9"));
        }
        assert!(!l.press("9"));
        l.press("clear");
        assert_eq!(l.mask(), "");
    }
}
