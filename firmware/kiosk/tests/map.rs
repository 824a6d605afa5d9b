//! The kiosk's two translations on a real demo node's snapshots: every field
//! the screens draw is copied (money as minor units with the core's text),
//! and each screen action becomes the bridge actions that carry it out.

use keel_core::money::Currency;
use keel_kiosk::map::{cash_notes, view_model, Mapper};
use keel_kiosk::{DemoCardTerminal, KioskError};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{AddSource, Qty, UiAction, UiBridge, UiServices};
use keel_ui::action::{self as ui, Action, PinPurpose};
use std::sync::{Arc, Mutex};

fn bridge(dir: &std::path::Path) -> UiBridge {
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    UiBridge::new(Arc::new(Mutex::new(node)), UiServices::default())
}

#[test]
fn a_snapshot_maps_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = bridge(dir.path());
    b.apply(UiAction::Login { pin: "1111".into() });
    b.apply(UiAction::ShiftOpen { float: 10000 });
    b.apply(UiAction::SaleNew);
    let s = b.apply(UiAction::AddItem {
        code: "4006381333931".into(),
        qty: Some(Qty::Units(2)),
        source: AddSource::Scan,
    });
    let v = view_model(&s);
    assert_eq!(v.store_name, s.store_name);
    assert_eq!(v.terminal, "T01");
    assert_eq!(v.user, s.user.as_ref().map(|u| u.name.clone()));
    assert_eq!(v.currency_exponent, 2);
    assert_eq!(v.cash_notes, vec![500, 1000, 2000, 5000]);
    assert_eq!(v.categories.len(), s.categories.len());
    assert_eq!(v.category, s.category);
    let (c, sc) = (v.cart.unwrap(), s.cart.unwrap());
    assert_eq!(c.lines.len(), 1);
    assert_eq!((c.lines[0].qty, c.lines[0].qty_text.as_str()), (2, "2"));
    assert_eq!(c.lines[0].amount.minor, sc.lines[0].amount.minor);
    assert_eq!(c.lines[0].amount.text, sc.lines[0].amount.text);
    assert_eq!((c.total.minor, c.total.text.as_str()), (298, "2.98"));
    assert_eq!(c.tax.minor, sc.tax.minor);
    assert_eq!((c.covered, c.tendered), (false, false));
    assert!(v.status.standalone);
    assert_eq!(v.status.printer, "none");
    assert!(v.message.is_none());
}

#[test]
fn quick_amount_notes_follow_the_currency() {
    assert_eq!(cash_notes(Currency::EUR), vec![500, 1000, 2000, 5000]);
    assert_eq!(
        cash_notes(Currency::IDR),
        vec![10_000, 20_000, 50_000, 100_000]
    );
}

#[test]
fn actions_map_to_the_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = bridge(dir.path());
    let mut m = Mapper::new(None);
    m.seen(&b.snapshot());
    let add = |code: &str| Action::AddItem {
        code: code.into(),
        source: ui::AddSource::Grid,
    };
    let bridge_add = UiAction::AddItem {
        code: "MILK-1L".into(),
        qty: None,
        source: AddSource::Grid,
    };
    // No sale open: the first item opens one; the next goes straight in.
    assert_eq!(
        m.actions(add("MILK-1L")).unwrap(),
        vec![UiAction::SaleNew, bridge_add.clone()]
    );
    assert_eq!(m.actions(add("MILK-1L")).unwrap(), vec![bridge_add]);
    assert_eq!(
        m.actions(Action::ManagerAuthorised {
            purpose: PinPurpose::VoidReceipt { receipt: 7 },
            pin: "9999".into(),
        })
        .unwrap(),
        vec![UiAction::VoidReceipt {
            receipt: 7,
            manager_pin: "9999".into()
        }]
    );
    assert_eq!(
        m.actions(Action::SetQty { line: 2, qty: 3 }).unwrap(),
        vec![UiAction::SetQty {
            line: 2,
            qty: Qty::Units(3)
        }]
    );
    // No card terminal: refused here, nothing sent.
    assert!(matches!(
        m.actions(Action::TenderCard { amount: 100 }),
        Err(KioskError::NoCardTerminal)
    ));
    // Complete carries one id per sale, so a double tap makes one sale.
    let first = m.actions(Action::Complete).unwrap();
    assert_eq!(m.actions(Action::Complete).unwrap(), first);
    assert!(matches!(
        &first[..],
        [UiAction::Complete {
            command_id: Some(_)
        }]
    ));
    // A snapshot with no sale (the sale closed) starts afresh.
    m.seen(&b.apply(UiAction::DismissMessage));
    assert_ne!(m.actions(Action::Complete).unwrap(), first);
}

#[test]
fn the_demo_card_terminal_hands_out_tokens_never_card_numbers() {
    let mut m = Mapper::new(Some(Box::new(DemoCardTerminal::default())));
    let got = m.actions(Action::TenderCard { amount: 250 }).unwrap();
    assert_eq!(
        got,
        vec![UiAction::TenderCard {
            amount: 250,
            token: "demo-token-1".into(),
            last4: "0000".into(),
            brand: Some("DEMO".into()),
        }]
    );
}
