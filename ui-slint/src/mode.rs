//! Which screens a terminal's window shows ([`ScreenMode`]) and the
//! mode-specific screens behind it: the kitchen display
//! ([`crate::screens::kitchen`]) and the self-order kiosk
//! ([`crate::screens::self_order`]). The binary parses the mode from its
//! config ([`ScreenMode::parse`]) and sets it with `Ui::set_mode`.
//!
//! - Cashier: the sale screens (and whatever the cashier's menu reaches,
//!   the kitchen page among them).
//! - Kitchen: the kitchen display only (status bar kept; no cashier pages).
//! - SelfOrder: the customer-facing kiosk only, no status bar, no cashier or
//!   manager function reachable.
//!
//! Both pinned modes start on the cashier's login page (and the kiosk on its
//! shift page) until staff have set them up: see [`ScreenMode::page_for`].
//!
//! This module owns the mode and which page it pins; it must not hold any
//! screen's content (each screen module fills its own global).

use crate::action::Action;
use crate::error::UiError;
use crate::generated::{AppWindow, Page, UiState};
use crate::screens::chime::Chime;
use crate::screens::kitchen::{self, Kitchen};
use crate::screens::self_order::SelfOrder;
use crate::view::ViewModel;
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// What the window is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScreenMode {
    /// A till: sale and tender screens and the cashier's menu.
    #[default]
    Cashier,
    /// A kitchen display: ticket cards only.
    Kitchen,
    /// A customer-facing self-order kiosk.
    SelfOrder,
}

impl ScreenMode {
    /// Parses `cashier`, `kitchen` or `self-order` (surrounding spaces and
    /// case ignored).
    pub fn parse(text: &str) -> Result<ScreenMode, UiError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cashier" => Ok(ScreenMode::Cashier),
            "kitchen" => Ok(ScreenMode::Kitchen),
            "self-order" => Ok(ScreenMode::SelfOrder),
            _ => Err(UiError::UnknownMode(text.to_string())),
        }
    }

    /// The name [`ScreenMode::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            ScreenMode::Cashier => "cashier",
            ScreenMode::Kitchen => "kitchen",
            ScreenMode::SelfOrder => "self-order",
        }
    }

    /// The page the mode pins (`None`: the cashier's pages move freely).
    pub fn pinned_page(self) -> Option<Page> {
        match self {
            ScreenMode::Cashier => None,
            ScreenMode::Kitchen => Some(Page::Kitchen),
            ScreenMode::SelfOrder => Some(Page::SelfOrder),
        }
    }

    /// The page the mode shows for `view` (`None`: the cashier's pages move
    /// freely). Staff set a kitchen display or a self-order kiosk up on the
    /// cashier's login page (the kitchen needs someone allowed to bump
    /// tickets) and, for the kiosk, its shift page (sales need an open
    /// shift); from then on only the mode's own page shows.
    pub fn page_for(self, view: &ViewModel) -> Option<Page> {
        let pinned = self.pinned_page()?;
        Some(if view.user.is_none() {
            Page::Login
        } else if self == ScreenMode::SelfOrder && view.ops.shift.is_none() {
            Page::Shift
        } else {
            pinned
        })
    }
}

impl fmt::Display for ScreenMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mode and the screens that depend on it, owned by `Ui`.
pub(crate) struct ModeScreens {
    mode: ScreenMode,
    kitchen: Rc<RefCell<Kitchen>>,
    self_order: Rc<RefCell<SelfOrder>>,
}

impl ModeScreens {
    /// The kitchen and self-order screens attached to `window`, their taps
    /// going to `sink`; cashier mode.
    pub(crate) fn attach(window: &AppWindow, sink: Rc<dyn Fn(Action)>) -> ModeScreens {
        let kitchen = Rc::new(RefCell::new(Kitchen::attach(window)));
        kitchen::wire(window, &kitchen, Rc::clone(&sink));
        let self_order = SelfOrder::attach(window, sink);
        ModeScreens {
            mode: ScreenMode::Cashier,
            kitchen,
            self_order,
        }
    }

    /// The mode.
    pub(crate) fn mode(&self) -> ScreenMode {
        self.mode
    }

    /// Switches mode: pins its page (cashier mode goes back to the sale screen).
    pub(crate) fn set_mode(&mut self, window: &AppWindow, mode: ScreenMode) {
        log::info!("ui: {mode} mode");
        self.mode = mode;
        self.self_order.borrow_mut().reset();
        let state = window.global::<UiState<'_>>();
        state.set_page(mode.pinned_page().unwrap_or(Page::Sale));
    }

    /// Takes in a snapshot (after the cashier screens did), keeping the
    /// mode's page pinned. The kitchen takes every snapshot in every mode, so
    /// it knows which tickets were there before it was opened.
    pub(crate) fn show(&self, window: &AppWindow, view: &ViewModel) {
        self.kitchen.borrow_mut().show(window, view);
        self.self_order.borrow_mut().show(view);
        let state = window.global::<UiState<'_>>();
        if let Some(page) = self.mode.page_for(view) {
            if state.get_page() != page {
                state.set_page(page);
            }
        }
        if self.mode.page_for(view) == Some(Page::SelfOrder) {
            // The customer sees refusals on the order panel, not the message line.
            state.set_message(SharedString::new());
        }
    }

    /// The product pictures the self-order kiosk shows.
    pub(crate) fn set_pictures(&self, pictures: crate::pictures::Pictures) {
        self.self_order.borrow_mut().set_pictures(pictures);
    }

    /// The sound for each new kitchen order.
    pub(crate) fn set_chime(&self, chime: Box<dyn Chime>) {
        self.kitchen.borrow_mut().set_chime(chime);
    }

    /// The kitchen display's state (station filter).
    pub(crate) fn kitchen(&self) -> std::cell::Ref<'_, Kitchen> {
        self.kitchen.borrow()
    }

    /// The self-order kiosk's state (stage, order number).
    pub(crate) fn self_order(&self) -> std::cell::Ref<'_, SelfOrder> {
        self.self_order.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_log_in_and_open_the_kiosks_shift_before_the_modes_page() {
        let mut v = crate::demo::sale();
        assert!(v.user.is_some() && v.ops.shift.is_some());
        assert_eq!(ScreenMode::Cashier.page_for(&v), None);
        assert_eq!(ScreenMode::Kitchen.page_for(&v), Some(Page::Kitchen));
        assert_eq!(ScreenMode::SelfOrder.page_for(&v), Some(Page::SelfOrder));
        v.ops.shift = None;
        assert_eq!(ScreenMode::Kitchen.page_for(&v), Some(Page::Kitchen));
        assert_eq!(ScreenMode::SelfOrder.page_for(&v), Some(Page::Shift));
        v.user = None;
        assert_eq!(ScreenMode::Kitchen.page_for(&v), Some(Page::Login));
        assert_eq!(ScreenMode::SelfOrder.page_for(&v), Some(Page::Login));
    }

    #[test]
    fn modes_parse_from_config_text() {
        assert_eq!(ScreenMode::parse("cashier").unwrap(), ScreenMode::Cashier);
        assert_eq!(ScreenMode::parse(" Kitchen ").unwrap(), ScreenMode::Kitchen);
        assert_eq!(
            ScreenMode::parse("self-order").unwrap(),
            ScreenMode::SelfOrder
        );
        for m in [
            ScreenMode::Cashier,
            ScreenMode::Kitchen,
            ScreenMode::SelfOrder,
        ] {
            assert_eq!(ScreenMode::parse(m.as_str()).unwrap(), m);
        }
        assert_eq!(ScreenMode::SelfOrder.to_string(), "self-order");
        let e = ScreenMode::parse("selforder").unwrap_err();
        assert!(e.to_string().contains("selforder"), "{e}");
    }
}
