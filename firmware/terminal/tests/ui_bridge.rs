//! Whole flows through the UI bridge on a real node (demo store, journal in a
//! temp dir): scan, tender, receipt preview; a void behind the manager's PIN;
//! a kitchen ticket through its states; a whole shift with X and Z reports;
//! the threaded bridge's snapshots following another writer; weighed items
//! weighed on an emulated scale (a pty).
//!
//! Amounts are written `euros_cents` (`100_00` is 100.00 EUR), as in demo.rs.
#![allow(clippy::inconsistent_digit_grouping)]

use keel_terminal::clock::Clock;
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::snapshot::{MessageKind, UiSnapshot};
use keel_terminal::ui_bridge::{AddSource, DiscountValue, Qty, UiAction, UiBridge, UiServices};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CASHIER: &str = "1111";
const MANAGER: &str = "9999";
const CHOC: &str = "4006381333931";

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn new() -> TestClock {
        TestClock(Arc::new(AtomicU64::new(0)))
    }
    fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn uptime_ms(&self) -> u64 {
        0
    }
}

fn open_node(dir: &std::path::Path) -> Arc<Mutex<Node>> {
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    Arc::new(Mutex::new(node))
}

fn bridge(dir: &std::path::Path) -> (UiBridge, Arc<Mutex<Node>>, TestClock) {
    let node = open_node(dir);
    let clock = TestClock::new();
    clock.set(now_ms());
    let services = UiServices {
        clock: Box::new(clock.clone()),
        ..UiServices::default()
    };
    (UiBridge::new(node.clone(), services), node, clock)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Applies `action` and fails the test if it was refused.
fn ok(b: &mut UiBridge, action: UiAction) -> UiSnapshot {
    let what = format!("{action:?}");
    let s = b.apply(action);
    if let Some(m) = &s.message {
        assert_eq!(m.kind, MessageKind::Notice, "{what}: {}", m.text);
    }
    s
}

/// Applies `action` and returns the error it was refused with.
fn refused(b: &mut UiBridge, action: UiAction) -> (UiSnapshot, String) {
    let what = format!("{action:?}");
    let s = b.apply(action);
    let m = s
        .message
        .clone()
        .unwrap_or_else(|| panic!("{what} was not refused"));
    assert_eq!(m.kind, MessageKind::Error, "{what}: {}", m.text);
    (s, m.text)
}

fn scan(code: &str) -> UiAction {
    UiAction::AddItem {
        code: code.into(),
        qty: None,
        source: AddSource::Scan,
    }
}

fn tap(sku: &str, qty: Option<Qty>) -> UiAction {
    UiAction::AddItem {
        code: sku.into(),
        qty,
        source: AddSource::Grid,
    }
}

fn login_and_open_shift(b: &mut UiBridge) {
    let s = ok(
        b,
        UiAction::Login {
            pin: CASHIER.into(),
        },
    );
    let u = s.user.expect("logged in");
    assert_eq!((u.id.as_str(), u.role.as_str()), ("cashier", "cashier"));
    let s = ok(b, UiAction::ShiftOpen { float: 100_00 });
    let shift = s.shift.expect("shift open");
    assert_eq!(shift.float.minor, 100_00);
    assert_eq!(shift.float.text, "100.00");
}

/// One sale of `items`, paid in cash with `cash`; returns the snapshot after completing.
fn cash_sale(b: &mut UiBridge, items: &[UiAction], cash: i64) -> UiSnapshot {
    ok(b, UiAction::SaleNew);
    for i in items {
        ok(b, i.clone());
    }
    ok(b, UiAction::TenderCash { amount: cash });
    ok(b, UiAction::Complete { command_id: None })
}

#[test]
fn scan_tender_complete_shows_the_receipt_with_its_verification_code() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, _node, _clock) = bridge(dir.path());
    let s = b.snapshot();
    assert!(s.user.is_none() && s.shift.is_none() && s.cart.is_none());
    assert_eq!(s.currency, "EUR");
    assert_eq!(s.status.cluster_text, "standalone");
    assert_eq!(s.status.printer, "none");
    assert_eq!(s.status.ai_model, None);
    // Selling needs a login: refused with the reason, nothing written.
    let (_, e) = refused(&mut b, UiAction::SaleNew);
    assert!(e.contains("log"), "{e}");

    login_and_open_shift(&mut b);
    let s = ok(&mut b, UiAction::SaleNew);
    assert_eq!(s.cart.as_ref().map(|c| c.lines.len()), Some(0));
    let s = ok(&mut b, scan(CHOC));
    let cart = s.cart.expect("cart");
    assert_eq!(cart.lines.len(), 1);
    let l = &cart.lines[0];
    assert_eq!(
        (l.sku.as_str(), l.qty, l.amount.minor),
        ("CHOC-100", 1, 1_49)
    );
    assert_eq!(l.amount.text, "1.49");
    let s = ok(&mut b, tap("MILK-1L", Some(Qty::Units(2))));
    let cart = s.cart.expect("cart");
    assert_eq!(cart.total.minor, 1_49 + 2 * 1_19);
    assert_eq!(cart.total.text, "3.87");
    assert!(cart.tax.minor > 0, "inclusive VAT is shown: {cart:?}");
    assert!(!cart.covered);
    // A bad scan is refused with the reason; the cart is unchanged.
    let (s, e) = refused(&mut b, scan("0000000000000"));
    assert!(!e.is_empty());
    assert_eq!(s.cart.map(|c| c.lines.len()), Some(2));

    let s = ok(&mut b, UiAction::TenderCash { amount: 5_00 });
    let cart = s.cart.expect("cart");
    assert!(cart.covered && cart.tendered);
    assert_eq!((cart.paid.minor, cart.change.minor), (5_00, 1_13));
    let s = ok(&mut b, UiAction::Complete { command_id: None });
    assert!(s.cart.is_none(), "the sale is closed");
    let m = s.message.expect("a notice");
    assert!(m.text.contains("receipt 1"), "{}", m.text);
    let r = s.receipt.expect("receipt preview");
    assert_eq!(r.number, 1);
    assert_eq!(r.total.minor, 3_87);
    assert_eq!(r.change.text, "1.13");
    assert!(!r.verification.is_empty());
    assert!(
        r.lines.iter().any(|l| l.contains(&r.verification)),
        "the preview prints the verification code: {:#?}",
        r.lines
    );
    assert!(m.text.contains(&r.verification), "{}", m.text);
    assert_eq!(s.shift.map(|x| x.sales_count), Some(1));
}

#[test]
fn a_void_needs_the_managers_pin_and_the_cashier_stays_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, _node, _clock) = bridge(dir.path());
    login_and_open_shift(&mut b);
    cash_sale(&mut b, &[scan(CHOC)], 2_00);

    let void = |pin: &str| UiAction::VoidReceipt {
        receipt: 1,
        manager_pin: pin.into(),
    };
    let (s, e) = refused(&mut b, void("1234"));
    assert!(e.starts_with("manager PIN refused"), "{e}");
    assert!(!s.receipt.expect("preview").voided);
    // The cashier's own PIN is not a manager's.
    let (s, e) = refused(&mut b, void(CASHIER));
    assert!(e.contains("manager"), "{e}");
    assert!(!s.receipt.expect("preview").voided);
    assert_eq!(s.user.as_ref().map(|u| u.role.as_str()), Some("cashier"));

    let s = ok(&mut b, void(MANAGER));
    let r = s.receipt.expect("preview");
    assert!(r.voided, "the preview shows the void");
    assert!(s.message.expect("notice").text.contains("voided"));
    // Back to the cashier at once: the manager was logged in for that one action.
    assert_eq!(s.user.as_ref().map(|u| u.id.as_str()), Some("cashier"));
    let (_, e) = refused(&mut b, void(MANAGER));
    assert!(e.contains("void"), "voided once only: {e}");

    // A refund and a price override go the same way.
    cash_sale(&mut b, &[tap("MILK-1L", Some(Qty::Units(3)))], 5_00);
    let (_, e) = refused(
        &mut b,
        UiAction::Refund {
            receipt: 2,
            lines: vec![(1, Qty::Units(1))],
            manager_pin: "0001".into(),
        },
    );
    assert!(e.starts_with("manager PIN refused"), "{e}");
    let s = ok(
        &mut b,
        UiAction::Refund {
            receipt: 2,
            lines: vec![(1, Qty::Units(1))],
            manager_pin: MANAGER.into(),
        },
    );
    assert_eq!(s.receipt.map(|r| (r.number, r.refunds)), Some((2, 1)));
    ok(&mut b, UiAction::SaleNew);
    ok(&mut b, scan(CHOC));
    let (_, e) = refused(
        &mut b,
        UiAction::PriceOverride {
            line: 1,
            price: 99,
            reason: "damaged".into(),
            manager_pin: CASHIER.into(),
        },
    );
    assert!(e.contains("manager"), "{e}");
    let s = ok(
        &mut b,
        UiAction::PriceOverride {
            line: 1,
            price: 99,
            reason: "damaged".into(),
            manager_pin: MANAGER.into(),
        },
    );
    let cart = s.cart.expect("cart");
    assert!(cart.lines[0].overridden);
    assert_eq!(cart.lines[0].unit_price.minor, 99);
    assert_eq!(s.user.map(|u| u.role), Some("cashier".to_string()));
}

#[test]
fn a_kitchen_ticket_is_bumped_through_its_states() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, _node, clock) = bridge(dir.path());
    login_and_open_shift(&mut b);
    let start = clock.now_ms();
    let s = cash_sale(
        &mut b,
        &[tap("ESPRESSO", Some(Qty::Units(2))), tap("CHOC-100", None)],
        10_00,
    );
    assert_eq!(s.kitchen.len(), 1, "{:?}", s.kitchen);
    let t = &s.kitchen[0];
    assert_eq!((t.station.as_str(), t.status.as_str()), ("bar", "pending"));
    assert_eq!(t.items.len(), 1);
    assert_eq!((t.items[0].name.as_str(), t.items[0].qty), ("Espresso", 2));
    let id = t.id.clone();
    clock.set(start + 42_500);
    let s = b.snapshot();
    let age = s.kitchen[0].age_s;
    assert!(
        (42..=44).contains(&age),
        "age from the injected clock: {age}"
    );

    let bump = |b: &mut UiBridge| ok(b, UiAction::KitchenBump { ticket: id.clone() });
    assert_eq!(bump(&mut b).kitchen[0].status, "preparing");
    assert_eq!(bump(&mut b).kitchen[0].status, "ready");
    let s = bump(&mut b);
    assert!(
        s.kitchen.is_empty(),
        "served leaves the screen: {:?}",
        s.kitchen
    );
    let s = ok(&mut b, UiAction::KitchenRecall { ticket: id.clone() });
    assert_eq!(s.kitchen.len(), 1);
    assert!(s.kitchen[0].recalled);
    assert_eq!(s.kitchen[0].recalls, 1);
    let s = bump(&mut b);
    assert!(s.kitchen.is_empty());
    let (_, e) = refused(&mut b, UiAction::KitchenBump { ticket: id });
    assert!(e.contains("served"), "{e}");
}

#[test]
fn a_whole_shift_through_the_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, _node, _clock) = bridge(dir.path());
    let s = b.snapshot();
    let cafe = s
        .categories
        .iter()
        .find(|c| c.name == "Cafe")
        .expect("the demo has a cafe");
    assert!(cafe
        .products
        .iter()
        .any(|p| p.sku == "ESPRESSO" && p.price.text == "2.20"));
    let bananas = s
        .categories
        .iter()
        .flat_map(|c| &c.products)
        .find(|p| p.sku == "BANANA")
        .expect("bananas");
    assert!(bananas.by_weight && bananas.price_text.ends_with("/kg"));
    let s = b.apply(UiAction::SwitchCategory {
        category: "Cafe".into(),
    });
    assert_eq!(s.category.as_deref(), Some("Cafe"));
    let s = b.apply(UiAction::ProductSearch {
        query: "chocolate".into(),
    });
    assert_eq!(s.search_results.len(), 1);
    assert_eq!(s.search_results[0].barcode.as_deref(), Some(CHOC));

    login_and_open_shift(&mut b);
    // Sale 1: cash, a weighed item and a whole-sale discount.
    ok(&mut b, UiAction::SaleNew);
    ok(&mut b, tap("BANANA", Some(Qty::Grams(750))));
    let s = ok(
        &mut b,
        UiAction::Discount {
            line: None,
            value: DiscountValue::Percent(10_00),
        },
    );
    let cart = s.cart.expect("cart");
    assert_eq!(cart.lines[0].qty_text, "0.750 kg");
    assert!(cart.discount.minor > 0);
    let due = cart.due.minor;
    ok(&mut b, UiAction::TenderCash { amount: due });
    ok(&mut b, UiAction::Complete { command_id: None });
    // Sale 2: card, a voided line and a quantity change.
    ok(&mut b, UiAction::SaleNew);
    ok(&mut b, scan(CHOC));
    ok(&mut b, tap("SOAP-BAR", None));
    ok(
        &mut b,
        UiAction::SetQty {
            line: 1,
            qty: Qty::Units(3),
        },
    );
    let s = ok(&mut b, UiAction::VoidLine { line: 2 });
    let cart = s.cart.expect("cart");
    assert!(cart.lines[1].voided);
    assert_eq!(cart.lines[1].amount.minor, 0);
    assert_eq!(cart.total.minor, 3 * 1_49);
    ok(
        &mut b,
        UiAction::TenderCard {
            amount: 3 * 1_49,
            token: "tok_demo_1".into(),
            last4: "4242".into(),
            brand: Some("VISA".into()),
        },
    );
    let id = "6f1c0a52-3a56-4e43-9a43-2f3c6f3b7c11".to_string();
    let s = ok(
        &mut b,
        UiAction::Complete {
            command_id: Some(id.clone()),
        },
    );
    assert_eq!(s.receipt.as_ref().map(|r| r.number), Some(2));
    // Sale 3, then the same command id again: the first receipt, no new sale.
    cash_sale(&mut b, &[tap("WATER-15", None)], 1_00);
    let s = ok(
        &mut b,
        UiAction::Complete {
            command_id: Some(id),
        },
    );
    assert_eq!(s.shift.as_ref().map(|x| x.sales_count), Some(3));
    assert_eq!(
        s.receipt.as_ref().map(|r| r.number),
        Some(2),
        "the preview shows the first sale's receipt"
    );
    // A sale abandoned, a no-sale drawer open.
    ok(&mut b, UiAction::SaleNew);
    ok(&mut b, scan(CHOC));
    let s = ok(&mut b, UiAction::Cancel);
    assert!(s.cart.is_none());
    ok(&mut b, UiAction::NoSale);
    // Sale 4: cash with change.
    cash_sale(&mut b, &[tap("CROISSANT", Some(Qty::Units(2)))], 10_00);

    let s = ok(&mut b, UiAction::ReportX);
    let x = s.report.expect("X report");
    assert_eq!((x.z, x.sales_count, x.no_sales), (None, 4, 1));
    assert!(
        x.tenders
            .iter()
            .any(|(k, v)| k == "card" && v.minor == 3 * 1_49),
        "{x:?}"
    );
    let expected = x.expected_cash.minor;
    assert_eq!(
        s.shift.as_ref().map(|x| x.expected_cash.minor),
        Some(expected)
    );
    // The report goes with the next action.
    let s = ok(&mut b, UiAction::Refresh);
    assert!(s.report.is_some(), "a refresh keeps it");
    let s = b.apply(UiAction::DismissMessage);
    assert!(s.message.is_none());

    let s = ok(
        &mut b,
        UiAction::ShiftClose {
            counted: expected + 50,
        },
    );
    let z = s.report.expect("Z report");
    assert_eq!((z.z, z.shift, z.sales_count), (Some(1), 1, 4));
    assert_eq!(z.counted_cash.map(|m| m.minor), Some(expected + 50));
    assert_eq!(z.over_short.map(|m| m.text), Some("0.50".to_string()));
    assert!(s.shift.is_none());
    let (_, e) = refused(&mut b, UiAction::SaleNew);
    assert!(e.contains("shift"), "{e}");
    let s = ok(&mut b, UiAction::Logout);
    assert!(s.user.is_none() && s.report.is_none());
}

#[test]
fn customers_are_looked_up_from_state() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, _node, _clock) = bridge(dir.path());
    ok(
        &mut b,
        UiAction::Login {
            pin: CASHIER.into(),
        },
    );
    ok(
        &mut b,
        UiAction::CustomerSet {
            id: "C-1".into(),
            phone: Some("+49401234".into()),
            name: "Ada Lovelace".into(),
        },
    );
    ok(
        &mut b,
        UiAction::CustomerSet {
            id: "C-2".into(),
            phone: None,
            name: "Grace Hopper".into(),
        },
    );
    let s = ok(
        &mut b,
        UiAction::CustomerLookup {
            query: "ada".into(),
        },
    );
    assert_eq!(s.customers.len(), 1);
    assert_eq!(s.customers[0].phone.as_deref(), Some("+49401234"));
    let s = ok(
        &mut b,
        UiAction::CustomerLookup {
            query: String::new(),
        },
    );
    assert_eq!(s.customers.len(), 2);
}

#[test]
fn the_running_bridge_refreshes_and_follows_other_writers() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(dir.path());
    let services = UiServices {
        refresh: Duration::from_millis(50),
        ..UiServices::default()
    };
    let (actions, snapshots) = UiBridge::start(node.clone(), services).unwrap();
    let first = snapshots.recv_timeout(Duration::from_secs(10)).unwrap();
    // Periodic snapshots come with no action.
    let later = snapshots.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(later.serial > first.serial);

    actions
        .send(UiAction::Login {
            pin: CASHIER.into(),
        })
        .unwrap();
    let wait_for = |pred: &dyn Fn(&UiSnapshot) -> bool| -> UiSnapshot {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let s = snapshots
                .recv_timeout(Duration::from_secs(10))
                .expect("a snapshot");
            if pred(&s) {
                return s;
            }
            assert!(std::time::Instant::now() < deadline, "never came: {s:?}");
        }
    };
    wait_for(&|s| s.user.is_some());

    // Another writer on the same node (here the technician console; in a store, a
    // sale replicated from another terminal) shows on the kitchen display.
    let mut out = Vec::new();
    keel_terminal::console::serve(
        &node,
        keel_terminal::console::Services::default(),
        true,
        false,
        &b"login 1111\nshift open 50.00\nsale new\nsale add SOUP\nsale tender cash 10.00\nsale complete\n"[..],
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("\"ok\":false"), "{text}");
    let s = wait_for(&|s| !s.kitchen.is_empty());
    assert_eq!(s.kitchen[0].station, "kitchen");
    assert_eq!(s.kitchen[0].status, "pending");
    let id = s.kitchen[0].id.clone();
    actions.send(UiAction::KitchenBump { ticket: id }).unwrap();
    wait_for(&|s| s.kitchen.first().is_some_and(|t| t.status == "preparing"));
    drop(actions);
    // The bridge stops when its action channel closes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while snapshots.recv_timeout(Duration::from_secs(10)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the bridge did not stop"
        );
    }
}

#[test]
fn a_weighed_item_tapped_or_scanned_is_weighed_on_the_scale() {
    use keel_devices::emulator::scale::ScaleEmulator;
    use keel_devices::scale::ScaleProtocol;
    use keel_terminal::config::{DevicesConfig, ScaleConfig};
    use keel_terminal::peripherals::Peripherals;

    let dir = tempfile::tempdir().unwrap();
    let (scale, _host) = ScaleEmulator::start(ScaleProtocol::CasRequest).unwrap();
    let node = open_node(dir.path());
    let devices = DevicesConfig {
        scale: Some(ScaleConfig {
            path: scale.path().into(),
            baud: 9600,
            protocol: "cas".into(),
            mode: "request".into(),
        }),
        ..DevicesConfig::default()
    };
    let peripherals = Peripherals::start(node.clone(), &devices, dir.path()).unwrap();
    let clock = TestClock::new();
    clock.set(now_ms());
    let services = UiServices {
        clock: Box::new(clock.clone()),
        devices: Some(Arc::new(peripherals)),
        ..UiServices::default()
    };
    let mut b = UiBridge::new(node.clone(), services);
    login_and_open_shift(&mut b);
    ok(&mut b, UiAction::SaleNew);

    // Nothing on the scale: refused with the reason, nothing added.
    scale.zero();
    let (s, e) = refused(&mut b, tap("BANANA", None));
    assert!(e.contains("zero") && e.contains("nothing added"), "{e}");
    assert!(s.cart.as_ref().is_none_or(|c| c.lines.is_empty()));
    // Still moving: not sold.
    scale.set_weight(750);
    scale.set_unstable(true);
    let (_, e) = refused(&mut b, tap("BANANA", None));
    assert!(e.contains("unstable"), "{e}");
    // Settled: the tap sells the weight on the scale.
    scale.set_unstable(false);
    let s = ok(&mut b, tap("BANANA", None));
    let line = &s.cart.as_ref().unwrap().lines[0];
    assert_eq!(
        (line.sku.as_str(), line.qty, line.by_weight),
        ("BANANA", 750, true)
    );
    assert_eq!(line.qty_text, "0.750 kg");
    // Scanned by SKU too, at the new weight.
    scale.set_weight(1_205);
    let s = ok(&mut b, scan("APPLE"));
    let line = &s.cart.as_ref().unwrap().lines[1];
    assert_eq!((line.sku.as_str(), line.qty), ("APPLE", 1_205));
    // A weight keyed on the pad is taken as keyed: the scale is not asked.
    let asked = scale.requests();
    let s = ok(&mut b, tap("APPLE", Some(Qty::Grams(400))));
    assert_eq!(s.cart.as_ref().unwrap().lines[2].qty, 400);
    // Nor for an item sold by the unit.
    let s = ok(&mut b, scan(CHOC));
    assert_eq!(s.cart.as_ref().unwrap().lines[3].qty, 1);
    assert_eq!(scale.requests(), asked);
    // The weighed lines are on the receipt with their weights.
    ok(&mut b, UiAction::TenderCash { amount: 50_00 });
    let s = ok(&mut b, UiAction::Complete { command_id: None });
    let r = s.receipt.expect("receipt preview");
    let text = r.lines.join("\n");
    for weight in ["0.750", "1.205", "0.400"] {
        assert!(
            text.contains(weight),
            "{weight} kg not on the receipt:\n{text}"
        );
    }
}
