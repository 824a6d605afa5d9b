//! Navigation between the cashier's pages: the menu drawer (`NavState`,
//! `NavActions` in ui/menu.slint) and the rules that settle the page after
//! each snapshot ([`settle`]): nobody logged in shows the login page, no
//! shift open shows the shift page instead of the sale, a shift just opened
//! goes to the sale. Page changes are screen state; only pages that need
//! fresh data ask for it (the technician page a chain check, the customers
//! page a lookup). Pages of other modes (kitchen display, self-order) are
//! left alone.

use super::ops::{on0, on1, Ops};
use crate::action::Action;
use crate::generated::{AppWindow, CustomersState, NavActions, NavState, Page, UiState};
use crate::mode::ScreenMode;
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::rc::Rc;

/// The menu's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nav {
    /// The drawer is open.
    pub open: bool,
    /// A shift was open in the previous snapshot.
    had_shift: bool,
}

/// The pages that need a cashier logged in.
pub fn cashier_page(page: Page) -> bool {
    matches!(
        page,
        Page::Sale
            | Page::Tender
            | Page::Login
            | Page::Shift
            | Page::Receipts
            | Page::Customers
            | Page::Technician
            | Page::CounterOrders
    )
}

/// The page to show after a snapshot, from the page up, whether someone is
/// logged in, whether a shift is open and whether it opened just now.
pub fn settle(page: Page, user: bool, shift: bool, opened_now: bool) -> Page {
    if !cashier_page(page) {
        return page;
    }
    if !user {
        return Page::Login;
    }
    match page {
        Page::Login if shift => Page::Sale,
        Page::Login => Page::Shift,
        Page::Sale | Page::Tender if !shift => Page::Shift,
        Page::Shift if opened_now => Page::Sale,
        p => p,
    }
}

/// Settles the page and fills the menu.
pub fn show(ops: &mut Ops, w: &AppWindow) {
    let state = w.global::<UiState<'_>>();
    let user = ops.seen.user.is_some();
    let shift = ops.seen.ops.shift.is_some();
    let opened_now = shift && !ops.nav.had_shift;
    ops.nav.had_shift = shift;
    if ops.mode == ScreenMode::Cashier {
        let page = match settle(state.get_page(), user, shift, opened_now) {
            // A sale with a tender goes on on the tender screen.
            Page::Sale if ops.seen.tendered => Page::Tender,
            p => p,
        };
        if page != state.get_page() {
            state.set_page(page);
        }
    }
    if !user {
        ops.nav.open = false;
    }
    let nav = w.global::<NavState<'_>>();
    nav.set_user(ops.seen.user.as_deref().unwrap_or("").into());
    nav.set_shift_open(shift);
    nav.set_cashier(ops.mode == ScreenMode::Cashier);
    nav.set_open(ops.nav.open);
}

fn toggle(ops: &mut Ops, w: &AppWindow) {
    ops.nav.open = !ops.nav.open && ops.seen.user.is_some() && ops.mode == ScreenMode::Cashier;
    w.global::<NavState<'_>>().set_open(ops.nav.open);
}

fn go(ops: &mut Ops, w: &AppWindow, page: Page) {
    ops.nav.open = false;
    w.global::<NavState<'_>>().set_open(false);
    if ops.mode != ScreenMode::Cashier || ops.seen.user.is_none() {
        return;
    }
    if page == Page::Sale && ops.seen.ops.shift.is_none() {
        return;
    }
    let state = w.global::<UiState<'_>>();
    // A sale with a tender goes on on the tender screen.
    let page = if page == Page::Sale && ops.seen.tendered {
        Page::Tender
    } else {
        page
    };
    state.set_page(page);
    match page {
        Page::Technician => ops.send(Action::Diagnose),
        Page::Customers => {
            let query = w.global::<CustomersState<'_>>().get_query();
            ops.send(Action::CustomerLookup {
                query: query.trim().to_string(),
            });
        }
        _ => {}
    }
}

fn logout(ops: &mut Ops, w: &AppWindow) {
    ops.nav.open = false;
    w.global::<NavState<'_>>().set_open(false);
    ops.login = Default::default();
    ops.shift = Default::default();
    ops.receipts = Default::default();
    ops.price = Default::default();
    ops.send(Action::Logout);
    w.global::<UiState<'_>>().set_page(Page::Login);
    w.global::<NavState<'_>>().set_user(SharedString::new());
}

/// Wires the menu's callbacks.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    let a = w.global::<NavActions<'_>>();
    a.on_toggle(on0(ops, w, toggle));
    a.on_go(on1(ops, w, go));
    a.on_logout(on0(ops, w, logout));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_logged_in_is_the_login_page() {
        for p in [Page::Sale, Page::Tender, Page::Shift, Page::Receipts] {
            assert_eq!(settle(p, false, true, false), Page::Login);
        }
    }

    #[test]
    fn after_login_the_sale_or_the_shift_page() {
        assert_eq!(settle(Page::Login, true, true, false), Page::Sale);
        assert_eq!(settle(Page::Login, true, false, false), Page::Shift);
    }

    #[test]
    fn no_sale_without_a_shift_and_a_new_shift_goes_to_the_sale() {
        assert_eq!(settle(Page::Sale, true, false, false), Page::Shift);
        assert_eq!(settle(Page::Tender, true, false, false), Page::Shift);
        assert_eq!(settle(Page::Shift, true, true, true), Page::Sale);
        // The shift page stays after an X report or a Z report.
        assert_eq!(settle(Page::Shift, true, true, false), Page::Shift);
        assert_eq!(settle(Page::Shift, true, false, false), Page::Shift);
        assert_eq!(settle(Page::Receipts, true, false, false), Page::Receipts);
    }

    #[test]
    fn other_modes_pages_are_left_alone() {
        assert_eq!(settle(Page::Kitchen, false, false, false), Page::Kitchen);
        assert_eq!(
            settle(Page::SelfOrder, false, false, false),
            Page::SelfOrder
        );
    }
}
