//! The cashier's "Counter orders" page (ui/counter_orders.slint): fills
//! `CounterOrdersState` from the view-model's open counter orders and turns
//! a Take into [`Action::TakeCounterOrder`]. The only state kept here is the
//! order a Take was sent for: once the snapshot shows this till's sale with
//! its lines the sale screen comes up (then the normal tender); a refusal
//! comes back as the snapshot's message and the page stays.
//!
//! It must not decide whether an order may be taken (the terminal does, and
//! in a cluster the store's consensus) and never waits on I/O.

use crate::action::Action;
use crate::generated::{AppWindow, CounterOrderRow, CounterOrdersActions, CounterOrdersState};
use crate::generated::{Page, UiState};
use crate::mode::ScreenMode;
use crate::models::sync_rows;
use crate::view::{MessageKind, MoneyView, ViewModel};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::Rc;

/// One item of a counter order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterItemView {
    /// Item name.
    pub name: String,
    /// Quantity as shown (`2`, `0.350 kg`).
    pub qty_text: String,
}

/// An open counter order, shaped like the terminal snapshot's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterOrderView {
    /// Order number (`K2-7`).
    pub number: String,
    /// Terminal where it was placed.
    pub terminal: u32,
    /// Items.
    pub items: Vec<CounterItemView>,
    /// Total at today's prices; `None` when an item can no longer be sold.
    pub total: Option<MoneyView>,
    /// Seconds since it was placed.
    pub age_s: u64,
}

/// Waiting time as `m:ss`.
pub fn age_text(age_s: u64) -> String {
    format!("{}:{:02}", age_s / 60, age_s % 60)
}

/// A row of the page for `o`.
pub fn row(o: &CounterOrderView) -> CounterOrderRow {
    let items = o
        .items
        .iter()
        .map(|i| format!("{} × {}", i.qty_text, i.name))
        .collect::<Vec<_>>()
        .join(", ");
    CounterOrderRow {
        number: o.number.as_str().into(),
        terminal: format!("T{:02}", o.terminal).into(),
        items: items.into(),
        total: o
            .total
            .as_ref()
            .map(|t| SharedString::from(t.text.as_str()))
            .unwrap_or_default(),
        age: age_text(o.age_s).into(),
    }
}

/// The page's screen-local state.
pub struct CounterOrders {
    sink: Rc<dyn Fn(Action)>,
    mode: ScreenMode,
    /// The order a Take was sent for, until the snapshot answers.
    taking: Option<String>,
    orders: Rc<VecModel<CounterOrderRow>>,
}

impl CounterOrders {
    /// The page attached to `window`, Take going to `sink`.
    pub fn attach(window: &AppWindow, sink: Rc<dyn Fn(Action)>) -> Rc<RefCell<CounterOrders>> {
        let this = Rc::new(RefCell::new(CounterOrders {
            sink,
            mode: ScreenMode::Cashier,
            taking: None,
            orders: Rc::new(VecModel::default()),
        }));
        let st = window.global::<CounterOrdersState<'_>>();
        st.set_orders(ModelRc::from(this.borrow().orders.clone()));
        let me = Rc::downgrade(&this);
        let w = window.as_weak();
        window
            .global::<CounterOrdersActions<'_>>()
            .on_take(move |number| {
                if let (Some(me), Some(w)) = (me.upgrade(), w.upgrade()) {
                    me.borrow_mut().take(&w, number.as_str());
                }
            });
        this
    }

    /// The order a Take is on its way for.
    pub fn taking(&self) -> Option<&str> {
        self.taking.as_deref()
    }

    fn take(&mut self, w: &AppWindow, number: &str) {
        if self.mode != ScreenMode::Cashier || self.taking.is_some() {
            return;
        }
        log::debug!("counter orders: take {number}");
        self.taking = Some(number.to_string());
        w.global::<CounterOrdersState<'_>>()
            .set_taking(number.into());
        (self.sink)(Action::TakeCounterOrder {
            number: number.to_string(),
        });
    }

    /// Shows a snapshot: the open orders; a Take answered with this till's
    /// sale goes to the sale screen, a refusal leaves the page as it is.
    pub fn show(&mut self, w: &AppWindow, view: &ViewModel, mode: ScreenMode) {
        self.mode = mode;
        if self.taking.is_some() {
            let refused = view
                .message
                .as_ref()
                .is_some_and(|m| m.kind == MessageKind::Error);
            let sale = view
                .cart
                .as_ref()
                .is_some_and(|c| c.lines.iter().any(|l| !l.voided));
            let still_open = view
                .counter_orders
                .iter()
                .any(|o| Some(&o.number) == self.taking.as_ref());
            if sale && !still_open {
                self.taking = None;
                let state = w.global::<UiState<'_>>();
                if state.get_page() == Page::CounterOrders {
                    state.set_page(Page::Sale);
                }
            } else if refused {
                self.taking = None;
            }
        }
        sync_rows(&self.orders, view.counter_orders.iter().map(row).collect());
        w.global::<CounterOrdersState<'_>>()
            .set_taking(self.taking.as_deref().unwrap_or("").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_items_total_and_age() {
        let o = CounterOrderView {
            number: "K2-7".into(),
            terminal: 2,
            items: vec![
                CounterItemView {
                    name: "Latte".into(),
                    qty_text: "2".into(),
                },
                CounterItemView {
                    name: "Bagel".into(),
                    qty_text: "1".into(),
                },
            ],
            total: Some(MoneyView::new(960, "9.60")),
            age_s: 125,
        };
        let r = row(&o);
        assert_eq!(r.items.as_str(), "2 × Latte, 1 × Bagel");
        assert_eq!(r.total.as_str(), "9.60");
        assert_eq!(r.age.as_str(), "2:05");
        assert_eq!(r.terminal.as_str(), "T02");
        let unpriced = CounterOrderView { total: None, ..o };
        assert_eq!(row(&unpriced).total.as_str(), "");
    }
}
