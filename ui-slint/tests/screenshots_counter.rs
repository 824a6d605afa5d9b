//! The cashier's "Counter orders" page: screenshots at 1024x768 and 1280x800
//! (orders waiting, a Take on its way, nothing waiting), compared with
//! tests/screenshots/ (accept with KEEL_ACCEPT_SCREENSHOTS=1), and its
//! behaviour: reached from the menu, Take sends the order's number once and
//! the sale screen comes up when the snapshot shows the sale; a refusal
//! leaves the page.

use keel_ui::action::Action;
use keel_ui::demo;
use keel_ui::generated::{CounterOrdersActions, NavActions, Page};
use keel_ui::headless::HeadlessUi;
use keel_ui::screens::counter_orders::{CounterItemView, CounterOrderView};
use keel_ui::screenshot::{check, Outcome, Tolerance};
use keel_ui::view::{MessageKind, MessageView, MoneyView, ViewModel};
use keel_ui::Ui;
use slint::ComponentHandle;
use std::path::PathBuf;

const SIZES: [(u32, u32); 2] = [(1024, 768), (1280, 800)];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

fn item(qty: &str, name: &str) -> CounterItemView {
    CounterItemView {
        name: name.into(),
        qty_text: qty.into(),
    }
}

/// Three orders from the self-order kiosk (T02), oldest first; the last
/// holds an item no longer sold.
fn orders() -> Vec<CounterOrderView> {
    vec![
        CounterOrderView {
            number: "K2-14".into(),
            terminal: 2,
            items: vec![item("2", "Cappuccino"), item("1", "Croissant")],
            total: Some(MoneyView::new(940, "9.40")),
            age_s: 312,
        },
        CounterOrderView {
            number: "K2-15".into(),
            terminal: 2,
            items: vec![
                item("1", "Latte macchiato"),
                item("2", "Blueberry muffin"),
                item("1", "Orange juice"),
                item("3", "Scone with jam"),
            ],
            total: Some(MoneyView::new(2_040, "20.40")),
            age_s: 95,
        },
        CounterOrderView {
            number: "K2-16".into(),
            terminal: 2,
            items: vec![item("1", "Espresso"), item("1", "Seasonal tart")],
            total: None,
            age_s: 8,
        },
    ]
}

/// The till with a shift open and no sale, with `orders` waiting.
fn view(orders: Vec<CounterOrderView>) -> ViewModel {
    let mut v = demo::idle();
    v.message = None;
    v.receipt = None;
    v.counter_orders = orders;
    v
}

fn go(ui: &Ui) {
    ui.window()
        .global::<NavActions<'_>>()
        .invoke_go(Page::CounterOrders);
    assert_eq!(ui.page(), Page::CounterOrders);
}

fn screen(name: &str, setup: impl Fn(&Ui)) {
    let mut failures = Vec::new();
    for &(w, h) in &SIZES {
        let (ui, _rx) = HeadlessUi::with_channel(w, h).unwrap();
        setup(ui.ui());
        let image = ui.render().unwrap();
        match check(
            &format!("{name}-{w}x{h}"),
            &image,
            &dir(),
            Tolerance::default(),
        )
        .unwrap()
        {
            Outcome::Matched(_) => {}
            Outcome::Accepted(p) => eprintln!("accepted {}", p.display()),
            Outcome::Failed(m) => failures.push(m),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn counter_orders_waiting() {
    screen("counter-orders", |ui| {
        ui.show(view(orders()));
        go(ui);
    });
}

#[test]
fn counter_order_being_taken() {
    screen("counter-orders-taking", |ui| {
        ui.show(view(orders()));
        go(ui);
        ui.window()
            .global::<CounterOrdersActions<'_>>()
            .invoke_take("K2-15".into());
    });
}

#[test]
fn no_counter_orders() {
    screen("counter-orders-empty", |ui| {
        ui.show(view(Vec::new()));
        go(ui);
    });
}

#[test]
fn take_sends_once_and_the_sale_screen_follows() {
    let (h, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let ui = h.ui();
    ui.show(view(orders()));
    go(ui);
    let take = ui.window().global::<CounterOrdersActions<'_>>();
    take.invoke_take("K2-14".into());
    // A second tap while the first is on its way sends nothing.
    take.invoke_take("K2-15".into());
    let sent: Vec<Action> = rx.try_iter().collect();
    assert_eq!(
        sent,
        vec![Action::TakeCounterOrder {
            number: "K2-14".into()
        }]
    );
    assert_eq!(ui.counter_taking().as_deref(), Some("K2-14"));
    // The terminal answers with the sale holding the order's lines.
    let mut taken = demo::sale();
    taken.counter_orders = orders().split_off(1);
    ui.show(taken);
    assert_eq!(ui.page(), Page::Sale);
    assert_eq!(ui.counter_taking(), None);
}

#[test]
fn a_refused_take_leaves_the_page() {
    let (h, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let ui = h.ui();
    ui.show(view(orders()));
    go(ui);
    ui.window()
        .global::<CounterOrdersActions<'_>>()
        .invoke_take("K2-14".into());
    assert_eq!(rx.try_iter().count(), 1);
    let mut refused = view(orders().split_off(1));
    refused.message = Some(MessageView {
        kind: MessageKind::Error,
        text: "counter order K2-14 was already taken by T03".into(),
    });
    ui.show(refused);
    assert_eq!(ui.page(), Page::CounterOrders);
    assert_eq!(ui.counter_taking(), None);
}
