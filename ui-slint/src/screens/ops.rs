//! The cashier's operations pages behind one handle, [`Ops`]: navigation
//! and the menu ([`super::nav`]), login ([`super::login`]), shift and
//! reports ([`super::shift`]), receipts and refunds ([`super::receipts`]),
//! customers ([`super::customers`]), the technician page
//! ([`super::technician`]) and the price override dialog
//! ([`super::price_override`]). Each module fills its own Slint global from
//! the snapshot and turns its callbacks into [`Action`]s on the sink; the
//! state that exists on screen only (PIN digits, amounts being keyed, refund
//! selection, the open dialog) lives here.
//!
//! Must not wait on I/O (a callback sends and returns) nor decide what the
//! terminal allows (a refused action comes back as the snapshot's message).

use super::ops_view::OpsView;
use super::{customers, login, nav, price_override, receipts, shift, technician};
use crate::action::{Action, PinPurpose};
use crate::generated::AppWindow;
use crate::mode::ScreenMode;
use crate::view::{LineView, MessageKind, ViewModel};
use slint::{ComponentHandle, Model, ModelRc, VecModel};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// Opens the manager PIN pad for a purpose (the PIN pad belongs to `Ui`).
pub type PinOpener = Rc<dyn Fn(PinPurpose)>;

/// What the operations pages keep of the last snapshot.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Store name.
    pub store: String,
    /// This terminal.
    pub terminal: String,
    /// Who is logged in (display name).
    pub user: Option<String>,
    /// Digits after the decimal point in the store currency.
    pub exponent: u8,
    /// The open sale's lines (for the price override).
    pub lines: Vec<LineView>,
    /// The open sale has a tender (lines can no longer change).
    pub tendered: bool,
    /// The previewed receipt's number and text.
    pub receipt: Option<(u64, Vec<String>)>,
    /// The last action's error, if it failed.
    pub error: Option<String>,
    /// The operations pages' data.
    pub ops: OpsView,
}

impl Seen {
    fn from_view(v: &ViewModel) -> Seen {
        Seen {
            store: v.store_name.clone(),
            terminal: v.terminal.clone(),
            user: v.user.clone(),
            exponent: v.currency_exponent,
            lines: v.cart.as_ref().map(|c| c.lines.clone()).unwrap_or_default(),
            tendered: v.cart.as_ref().is_some_and(|c| c.tendered),
            receipt: v.receipt.as_ref().map(|r| (r.number, r.lines.clone())),
            error: v
                .message
                .as_ref()
                .filter(|m| m.kind == MessageKind::Error)
                .map(|m| m.text.clone()),
            ops: v.ops.clone(),
        }
    }
}

/// The operations pages' state.
pub struct Ops {
    sink: Rc<dyn Fn(Action)>,
    open_pin: PinOpener,
    /// The last snapshot's parts these pages read.
    pub seen: Seen,
    /// The window's mode (operations pages exist in cashier mode only).
    pub mode: ScreenMode,
    /// Navigation and the menu.
    pub nav: nav::Nav,
    /// The login PIN being keyed.
    pub login: login::Login,
    /// The float or counted cash being keyed.
    pub shift: shift::ShiftPad,
    /// The receipt number being keyed and the refund selection.
    pub receipts: receipts::Receipts,
    /// The customer picked.
    pub customers: customers::Customers,
    /// The price override dialog, when open.
    pub price: price_override::PriceOverride,
}

impl Ops {
    /// The operations pages attached to `window`: callbacks wired, actions
    /// going to `sink`, manager PINs asked through `open_pin`.
    pub fn attach(
        window: &AppWindow,
        sink: Rc<dyn Fn(Action)>,
        open_pin: PinOpener,
    ) -> Rc<RefCell<Ops>> {
        let ops = Rc::new(RefCell::new(Ops {
            sink,
            open_pin,
            seen: Seen::default(),
            mode: ScreenMode::Cashier,
            nav: nav::Nav::default(),
            login: login::Login::default(),
            shift: shift::ShiftPad::default(),
            receipts: receipts::Receipts::default(),
            customers: customers::Customers::default(),
            price: price_override::PriceOverride::default(),
        }));
        nav::wire(window, &ops);
        login::wire(window, &ops);
        shift::wire(window, &ops);
        receipts::wire(window, &ops);
        customers::wire(window, &ops);
        technician::wire(window, &ops);
        price_override::wire(window, &ops);
        ops
    }

    /// Shows a snapshot on the operations pages and settles the page (login
    /// when nobody is logged in, the shift page when no shift is open).
    pub fn show(&mut self, window: &AppWindow, view: &ViewModel, mode: ScreenMode) {
        self.mode = mode;
        self.seen = Seen::from_view(view);
        nav::show(self, window);
        login::show(self, window);
        shift::show(self, window);
        receipts::show(self, window);
        customers::show(self, window);
        technician::show(self, window);
        price_override::show(self, window);
    }

    /// Sends an action (never blocks).
    pub fn send(&self, action: Action) {
        log::debug!("ui: {}", action.name());
        (self.sink)(action);
    }

    /// Opens the manager PIN pad.
    pub fn ask_manager(&self, purpose: PinPurpose) {
        (self.open_pin)(purpose);
    }
}

/// A callback with no argument calling `f` on the operations state.
pub(crate) fn on0(
    ops: &Rc<RefCell<Ops>>,
    window: &AppWindow,
    f: fn(&mut Ops, &AppWindow),
) -> impl Fn() + 'static {
    let (ops, weak): (Weak<RefCell<Ops>>, _) = (Rc::downgrade(ops), window.as_weak());
    move || {
        if let (Some(o), Some(w)) = (ops.upgrade(), weak.upgrade()) {
            f(&mut o.borrow_mut(), &w);
        }
    }
}

/// A callback with one argument calling `f` on the operations state.
pub(crate) fn on1<A: 'static>(
    ops: &Rc<RefCell<Ops>>,
    window: &AppWindow,
    f: fn(&mut Ops, &AppWindow, A),
) -> impl Fn(A) + 'static {
    let (ops, weak): (Weak<RefCell<Ops>>, _) = (Rc::downgrade(ops), window.as_weak());
    move |a| {
        if let (Some(o), Some(w)) = (ops.upgrade(), weak.upgrade()) {
            f(&mut o.borrow_mut(), &w, a);
        }
    }
}

/// Makes the list model a global holds (`current`) show `rows`: row by row
/// when it is a `VecModel`, else a new `VecModel` given to `set`.
pub(crate) fn fill<T: Clone + PartialEq + 'static>(
    current: ModelRc<T>,
    rows: Vec<T>,
    set: impl FnOnce(ModelRc<T>),
) {
    match current.as_any().downcast_ref::<VecModel<T>>() {
        Some(model) => crate::models::sync_rows(model, rows),
        None => set(ModelRc::from(Rc::new(VecModel::from(rows)))),
    }
}
