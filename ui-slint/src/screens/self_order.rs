//! The self-order kiosk's Rust side: fills `SelfOrderState`
//! (ui/self_order.slint) from the view-model and keeps the only state that
//! exists on this screen alone: which stage the customer is at (welcome,
//! browsing, paying, thank-you), the thank-you timer back to welcome and the
//! idle timer that cancels an order left untouched ([`IDLE_TIMEOUT`]).
//! `SelfOrderActions` taps become sale actions on the sink: add, quantity,
//! void line, cancel, "pay by card" as [`Action::TenderCard`] for what
//! remains followed by [`Action::Complete`] (the kiosk's card terminal
//! supplies the token), and "pay at the counter" as
//! [`Action::PlaceCounterOrder`]: the order goes to the cashiers' counter
//! orders page under its number (`K2-7`), shown on the thank-you screen.
//!
//! It must not hold business rules (the engine prices and refuses) nor reach
//! any cashier or manager function; it never waits on I/O.

use crate::action::{Action, AddSource};
use crate::generated::{
    AppWindow, CategoryTab, OrderLine, OrderTile, SelfOrderActions, SelfOrderStage, SelfOrderState,
};
use crate::models::sync_rows;
use crate::view::{MessageKind, ProductView, ViewModel};
use slint::{ComponentHandle, ModelRc, SharedString, Timer, TimerMode, VecModel};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

/// How long the thank-you screen stays before the welcome screen is back.
pub const THANKS_TIMEOUT: Duration = Duration::from_secs(15);
/// An order left untouched this long is cancelled and the welcome screen is
/// back (the customer walked away).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Colours in `Theme.picture-colors` (ui/theme.slint).
pub const PICTURE_COLOURS: u32 = 8;

/// The picture colour of a product without an image: fixed per SKU.
pub fn picture_colour(sku: &str) -> i32 {
    // FNV-1a: stable across runs and machines.
    let h = sku.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i32::try_from(h % PICTURE_COLOURS).unwrap_or(0)
}

/// The picture's letter: the name's first letter, upper case.
pub fn initial(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

fn tile(p: &ProductView, pictures: &crate::pictures::Pictures) -> OrderTile {
    let (picture, has_picture) = pictures.tile(&p.sku);
    OrderTile {
        picture,
        has_picture,
        sku: p.sku.as_str().into(),
        name: p.name.as_str().into(),
        price_text: p.price_text.as_str().into(),
        initial: initial(&p.name).into(),
        colour: picture_colour(&p.sku),
    }
}

/// The customer's stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The attract screen.
    Welcome,
    /// Choosing and editing the order.
    Browse,
    /// Card tender and completion sent; waiting for the receipt.
    Paying,
    /// The order number, until [`THANKS_TIMEOUT`] or Done.
    Thanks,
}

impl Stage {
    fn slint(self) -> SelfOrderStage {
        match self {
            Stage::Welcome => SelfOrderStage::Welcome,
            Stage::Browse => SelfOrderStage::Browse,
            Stage::Paying => SelfOrderStage::Paying,
            Stage::Thanks => SelfOrderStage::Thanks,
        }
    }
}

/// The self-order kiosk's screen-local state and models.
pub struct SelfOrder {
    stage: Stage,
    view: ViewModel,
    /// The receipt previewed when payment was sent (the order's own receipt
    /// is the next one to show).
    receipt_before: Option<u64>,
    /// The last counter order placed here when "pay at the counter" was sent.
    counter_before: Option<String>,
    /// Paying at the counter (not by card).
    at_counter: bool,
    /// The number on the thank-you screen: the receipt's, or the counter order's.
    order_number: Option<String>,
    problem: String,
    timer: Timer,
    /// Restarted by every tap while browsing; cancels an abandoned order.
    idle: Timer,
    me: Weak<RefCell<SelfOrder>>,
    window: slint::Weak<AppWindow>,
    sink: Rc<dyn Fn(Action)>,
    categories: Rc<VecModel<CategoryTab>>,
    products: Rc<VecModel<OrderTile>>,
    lines: Rc<VecModel<OrderLine>>,
    /// Product pictures by SKU (the initial on a colour where there is none).
    pictures: crate::pictures::Pictures,
}

impl SelfOrder {
    /// The kiosk at its welcome screen, models set on `SelfOrderState`,
    /// callbacks wired to `sink`.
    pub fn attach(window: &AppWindow, sink: Rc<dyn Fn(Action)>) -> Rc<RefCell<SelfOrder>> {
        let this = Rc::new_cyclic(|me| {
            RefCell::new(SelfOrder {
                stage: Stage::Welcome,
                view: ViewModel::default(),
                receipt_before: None,
                counter_before: None,
                at_counter: false,
                order_number: None,
                problem: String::new(),
                timer: Timer::default(),
                idle: Timer::default(),
                me: me.clone(),
                window: window.as_weak(),
                sink,
                categories: Rc::new(VecModel::default()),
                products: Rc::new(VecModel::default()),
                lines: Rc::new(VecModel::default()),
                pictures: crate::pictures::Pictures::default(),
            })
        });
        {
            let s = this.borrow();
            let st = window.global::<SelfOrderState<'_>>();
            st.set_categories(ModelRc::from(s.categories.clone()));
            st.set_products(ModelRc::from(s.products.clone()));
            st.set_lines(ModelRc::from(s.lines.clone()));
        }
        wire(window, &this);
        this.borrow().redraw();
        this
    }

    /// The stage on screen.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The order number on the thank-you screen (the receipt number, or the
    /// counter order's number such as `K2-7`).
    pub fn order_number(&self) -> Option<&str> {
        self.order_number.as_deref()
    }

    /// Sets the product pictures and redraws the tiles with them.
    pub fn set_pictures(&mut self, pictures: crate::pictures::Pictures) {
        self.pictures = pictures;
        self.redraw();
    }

    /// The order is being paid at the counter (not by card).
    pub fn at_counter(&self) -> bool {
        self.at_counter
    }

    /// Back to the welcome screen (also when the kiosk mode is entered).
    pub fn reset(&mut self) {
        self.timer.stop();
        self.idle.stop();
        self.stage = Stage::Welcome;
        self.order_number = None;
        self.at_counter = false;
        self.problem.clear();
        self.redraw();
    }

    fn send(&self, action: Action) {
        log::debug!("self-order: {}", action.name());
        (self.sink)(action);
    }

    /// Takes in a snapshot: a payment answered moves on to the thank-you
    /// screen (or back to the order with the refusal), then redraws.
    pub fn show(&mut self, view: &ViewModel) {
        self.view = view.clone();
        if self.stage == Stage::Paying {
            let receipt = view.receipt.as_ref().map(|r| r.number);
            let error = view
                .message
                .as_ref()
                .filter(|m| m.kind == MessageKind::Error);
            let placed = view.last_counter_order.clone();
            if self.at_counter
                && view.cart.is_none()
                && placed.is_some()
                && placed != self.counter_before
            {
                self.order_number = placed;
                self.stage = Stage::Thanks;
                self.problem.clear();
                self.start_timer();
            } else if !self.at_counter
                && view.cart.is_none()
                && receipt.is_some()
                && receipt != self.receipt_before
            {
                self.order_number = receipt.map(|n| n.to_string());
                self.stage = Stage::Thanks;
                self.problem.clear();
                self.start_timer();
            } else if let Some(e) = error {
                log::info!("self-order: payment refused: {}", e.text);
                self.problem = e.text.clone();
                self.stage = Stage::Browse;
            }
        } else if self.stage == Stage::Browse {
            self.problem = view
                .message
                .as_ref()
                .filter(|m| m.kind == MessageKind::Error)
                .map(|m| m.text.clone())
                .unwrap_or_default();
        }
        self.redraw();
    }

    fn start_timer(&self) {
        let me = self.me.clone();
        self.timer
            .start(TimerMode::SingleShot, THANKS_TIMEOUT, move || {
                if let Some(me) = me.upgrade() {
                    let mut s = me.borrow_mut();
                    if s.stage == Stage::Thanks {
                        s.reset();
                    }
                }
            });
    }

    /// Restarts the idle timer while browsing (every tap calls it).
    fn touch(&self) {
        if self.stage != Stage::Browse {
            return;
        }
        let me = self.me.clone();
        self.idle
            .start(TimerMode::SingleShot, IDLE_TIMEOUT, move || {
                if let Some(me) = me.upgrade() {
                    let mut s = me.borrow_mut();
                    if s.stage == Stage::Browse {
                        log::info!("self-order: order abandoned; back to welcome");
                        s.cancel();
                    }
                }
            });
    }

    fn start(&mut self) {
        if self.stage == Stage::Welcome {
            self.stage = Stage::Browse;
            self.problem.clear();
            self.redraw();
        }
    }

    fn step(&self, line: i32, delta: i64) {
        let Some(cart) = &self.view.cart else { return };
        let Some(l) = cart
            .lines
            .iter()
            .find(|l| i64::from(l.line) == i64::from(line) && !l.voided)
        else {
            return;
        };
        if l.by_weight || cart.tendered {
            return;
        }
        let qty = l.qty.saturating_add(delta);
        match u32::try_from(qty) {
            Ok(0) => self.send(Action::VoidLine { line: l.line }),
            Ok(qty) => self.send(Action::SetQty { line: l.line, qty }),
            Err(_) => {}
        }
    }

    fn remove(&self, line: i32) {
        if let Ok(line) = u32::try_from(line) {
            if self.view.cart.as_ref().is_some_and(|c| !c.tendered) {
                self.send(Action::VoidLine { line });
            }
        }
    }

    fn pay_card(&mut self) {
        let Some(cart) = &self.view.cart else { return };
        if self.stage != Stage::Browse || !cart.lines.iter().any(|l| !l.voided) {
            return;
        }
        let remaining = cart.remaining.minor;
        if remaining > 0 {
            self.send(Action::TenderCard { amount: remaining });
        }
        self.send(Action::Complete);
        self.at_counter = false;
        self.receipt_before = self.view.receipt.as_ref().map(|r| r.number);
        self.stage = Stage::Paying;
        self.problem.clear();
        self.redraw();
    }

    fn pay_counter(&mut self) {
        let Some(cart) = &self.view.cart else { return };
        if self.stage != Stage::Browse || cart.tendered || !cart.lines.iter().any(|l| !l.voided) {
            return;
        }
        self.send(Action::PlaceCounterOrder);
        self.counter_before = self.view.last_counter_order.clone();
        self.at_counter = true;
        self.stage = Stage::Paying;
        self.problem.clear();
        self.redraw();
    }

    fn cancel(&mut self) {
        if self.stage != Stage::Browse {
            return;
        }
        if self.view.cart.as_ref().is_some_and(|c| !c.tendered) {
            self.send(Action::Cancel);
        }
        self.reset();
    }

    fn redraw(&self) {
        let Some(w) = self.window.upgrade() else {
            return;
        };
        let st = w.global::<SelfOrderState<'_>>();
        let view = &self.view;
        st.set_stage(self.stage.slint());
        st.set_store(view.store_name.as_str().into());
        sync_rows(
            &self.categories,
            view.categories
                .iter()
                .map(|c| CategoryTab {
                    name: c.name.as_str().into(),
                    selected: view.category.as_deref() == Some(&c.name),
                })
                .collect(),
        );
        let selected = view
            .category
            .as_deref()
            .and_then(|name| view.categories.iter().find(|c| c.name == name));
        sync_rows(
            &self.products,
            selected
                .map(|c| c.products.iter().map(|p| tile(p, &self.pictures)).collect())
                .unwrap_or_default(),
        );
        let cart = view.cart.as_ref();
        let live: Vec<OrderLine> = cart
            .map(|c| {
                c.lines
                    .iter()
                    .filter(|l| !l.voided)
                    .map(|l| OrderLine {
                        line: i32::try_from(l.line).unwrap_or(i32::MAX),
                        name: l.name.as_str().into(),
                        qty_text: l.qty_text.as_str().into(),
                        amount_text: l.amount.text.as_str().into(),
                        can_step: !l.by_weight && !c.tendered,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let units: i64 = cart
            .map(|c| {
                c.lines
                    .iter()
                    .filter(|l| !l.voided)
                    .map(|l| if l.by_weight { 1 } else { l.qty })
                    .sum()
            })
            .unwrap_or(0);
        st.set_item_count(i32::try_from(units).unwrap_or(i32::MAX));
        st.set_can_pay(!live.is_empty());
        sync_rows(&self.lines, live);
        st.set_total(
            cart.map(|c| SharedString::from(c.total.text.as_str()))
                .unwrap_or_default(),
        );
        st.set_order_number(self.order_number.as_deref().unwrap_or("").into());
        st.set_at_counter(self.at_counter);
        st.set_problem(self.problem.as_str().into());
    }
}

/// Wires `SelfOrderActions` to the kiosk state. Taps send and return.
fn wire(window: &AppWindow, this: &Rc<RefCell<SelfOrder>>) {
    let actions = window.global::<SelfOrderActions<'_>>();
    // Every tap restarts the idle timer (when still browsing after it).
    let on = |f: fn(&mut SelfOrder)| {
        let me = Rc::downgrade(this);
        move || {
            if let Some(me) = me.upgrade() {
                let mut s = me.borrow_mut();
                f(&mut s);
                s.touch();
            }
        }
    };
    let on_int = |f: fn(&mut SelfOrder, i32)| {
        let me = Rc::downgrade(this);
        move |n: i32| {
            if let Some(me) = me.upgrade() {
                let mut s = me.borrow_mut();
                f(&mut s, n);
                s.touch();
            }
        }
    };
    let on_str = |f: fn(&mut SelfOrder, &str)| {
        let me = Rc::downgrade(this);
        move |t: SharedString| {
            if let Some(me) = me.upgrade() {
                let mut s = me.borrow_mut();
                f(&mut s, t.as_str());
                s.touch();
            }
        }
    };
    actions.on_start(on(SelfOrder::start));
    actions.on_category(on_str(|s, c| {
        s.send(Action::SwitchCategory {
            category: c.to_string(),
        })
    }));
    actions.on_add(on_str(|s, sku| {
        if s.stage == Stage::Browse && !s.view.cart.as_ref().is_some_and(|c| c.tendered) {
            s.send(Action::AddItem {
                code: sku.to_string(),
                source: AddSource::Grid,
            });
        }
    }));
    actions.on_plus(on_int(|s, l| s.step(l, 1)));
    actions.on_minus(on_int(|s, l| s.step(l, -1)));
    actions.on_remove(on_int(|s, l| s.remove(l)));
    actions.on_pay_card(on(SelfOrder::pay_card));
    actions.on_pay_counter(on(SelfOrder::pay_counter));
    actions.on_cancel(on(SelfOrder::cancel));
    actions.on_done(on(|s| {
        if s.stage == Stage::Thanks {
            s.reset();
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_stable_per_product() {
        assert_eq!(picture_colour("ESPRESSO"), picture_colour("ESPRESSO"));
        let colours: std::collections::HashSet<i32> = ["A", "B", "C", "D", "E", "F", "G", "H"]
            .iter()
            .map(|s| picture_colour(s))
            .collect();
        assert!(colours.len() > 3, "{colours:?}");
        assert!(colours
            .iter()
            .all(|c| (0..PICTURE_COLOURS as i32).contains(c)));
        assert_eq!(initial("espresso"), "E");
        assert_eq!(initial("  (x) bagel"), "X");
        assert_eq!(initial(""), "");
    }
}
