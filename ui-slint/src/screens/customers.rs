//! The customers page: the lookup (name, phone or id), its results, and the
//! form to register a customer or change the one picked (its fields are
//! edited on screen, in `CustomersState`, and read here on Save). Lookups and
//! saves are actions; the results come back in the snapshot.

use super::ops::{fill, on0, on1, Ops};
use crate::action::Action;
use crate::generated::{AppWindow, CustomerRow, CustomersActions, CustomersState};
use slint::{ComponentHandle, SharedString};
use std::cell::RefCell;
use std::rc::Rc;

/// The customer picked from the results, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Customers {
    /// Id of the customer picked.
    pub picked: Option<String>,
    /// A lookup was sent.
    pub searched: bool,
}

/// Fills the customers page.
pub fn show(ops: &mut Ops, w: &AppWindow) {
    let s = w.global::<CustomersState<'_>>();
    let rows: Vec<CustomerRow> = ops
        .seen
        .ops
        .customers
        .iter()
        .map(|c| CustomerRow {
            id: c.id.as_str().into(),
            name: c.name.as_str().into(),
            phone: c.phone.as_deref().unwrap_or("").into(),
            selected: ops.customers.picked.as_deref() == Some(c.id.as_str()),
        })
        .collect();
    fill(s.get_results(), rows, |m| s.set_results(m));
    s.set_searched(ops.customers.searched);
    s.set_editing(ops.customers.picked.is_some());
}

fn search(ops: &mut Ops, w: &AppWindow) {
    let query = w.global::<CustomersState<'_>>().get_query();
    ops.customers.searched = true;
    ops.send(Action::CustomerLookup {
        query: query.trim().to_string(),
    });
}

fn pick(ops: &mut Ops, w: &AppWindow, id: SharedString) {
    let Some(c) = ops.seen.ops.customers.iter().find(|c| c.id == id.as_str()) else {
        return;
    };
    let s = w.global::<CustomersState<'_>>();
    s.set_form_id(c.id.as_str().into());
    s.set_form_name(c.name.as_str().into());
    s.set_form_phone(c.phone.as_deref().unwrap_or("").into());
    ops.customers.picked = Some(c.id.clone());
    show(ops, w);
}

fn new_customer(ops: &mut Ops, w: &AppWindow) {
    let s = w.global::<CustomersState<'_>>();
    s.set_form_id(SharedString::new());
    s.set_form_name(SharedString::new());
    s.set_form_phone(SharedString::new());
    ops.customers.picked = None;
    show(ops, w);
}

fn save(ops: &mut Ops, w: &AppWindow) {
    let s = w.global::<CustomersState<'_>>();
    let id = s.get_form_id().trim().to_string();
    let name = s.get_form_name().trim().to_string();
    let phone = s.get_form_phone().trim().to_string();
    if id.is_empty() || name.is_empty() {
        return;
    }
    ops.send(Action::CustomerSet {
        id: id.clone(),
        name,
        phone: (!phone.is_empty()).then_some(phone),
    });
    // The terminal lists the customer as saved.
    ops.customers.picked = Some(id.clone());
    ops.customers.searched = true;
    s.set_query(id.into());
}

/// Wires the customers page's callbacks.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    let a = w.global::<CustomersActions<'_>>();
    a.on_search(on0(ops, w, search));
    a.on_pick(on1(ops, w, pick));
    a.on_new_customer(on0(ops, w, new_customer));
    a.on_save(on0(ops, w, save));
}
