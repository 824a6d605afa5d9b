//! Whole flows through the UI layer on a real demo node (journal in a temp
//! dir): the screens' callbacks (manual barcode, keypad, cash, complete, the
//! PIN pad) go through the kiosk's mapping to the bridge, and the asserts read
//! the Slint models and the rendered frame.
//!
//! Amounts are written `euros_cents` (`5_00` is 5.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_kiosk::{DemoCardTerminal, HeadlessKiosk, Kiosk};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{UiAction, UiBridge, UiServices};
use keel_ui::generated::{Page, UiActions, UiState};
use keel_ui::headless::{advance_clock, HeadlessUi};
use slint::{ComponentHandle, Model};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CASHIER: &str = "1111";
const MANAGER: &str = "9999";
const CHOC: &str = "4006381333931";

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

/// A headless kiosk on a fresh demo node, the cashier logged in, a shift open.
fn kiosk(dir: &std::path::Path) -> HeadlessKiosk {
    let bridge = UiBridge::new(open_node(dir), UiServices::default());
    let mut k = HeadlessKiosk::new(
        bridge,
        1024,
        768,
        Some(Box::new(DemoCardTerminal::default())),
    )
    .unwrap();
    // Straight to the bridge (tests/shift_flow.rs logs in and opens the shift on the screens).
    let s = k.send(UiAction::Login {
        pin: CASHIER.into(),
    });
    assert!(s.user.is_some(), "{:?}", s.message);
    let s = k.send(UiAction::ShiftOpen { float: 100_00 });
    assert!(s.shift.is_some(), "{:?}", s.message);
    k
}

fn receipt_lines(state: &UiState<'_>) -> Vec<String> {
    state.get_receipt().iter().map(|s| s.to_string()).collect()
}

/// Scans CHOC on the manual barcode entry, pays 2.00 cash on the keypad, completes.
fn cash_sale(k: &mut HeadlessKiosk) {
    let window = k.window();
    let actions = window.global::<UiActions<'_>>();
    actions.invoke_barcode_entered(CHOC.into());
    k.pump();
    let window = k.window();
    let actions = window.global::<UiActions<'_>>();
    actions.invoke_show_page(Page::Tender);
    for key in ["2", "0", "0"] {
        actions.invoke_keypad(key.into());
    }
    actions.invoke_tender_cash();
    k.pump();
    let window = k.window();
    window.global::<UiActions<'_>>().invoke_complete();
    k.pump();
}

#[test]
fn scan_tender_cash_on_the_keypad_complete_and_the_receipt_shows_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    let window = k.window();
    let actions = window.global::<UiActions<'_>>();
    let state = window.global::<UiState<'_>>();
    assert!(!state.get_has_sale());
    assert!(state.get_status().user.as_str().contains("T01"));

    // Manual barcode entry with no sale open: the kiosk opens one first.
    actions.invoke_barcode_entered(format!("  {CHOC} ").into());
    assert_eq!(k.pump(), 2, "sale new, then the item");
    assert!(k.snapshot().message.is_none(), "{:?}", k.snapshot().message);
    let window = k.window();
    let actions = window.global::<UiActions<'_>>();
    let state = window.global::<UiState<'_>>();
    assert!(state.get_has_sale());
    let lines = state.get_cart();
    assert_eq!(lines.row_count(), 1);
    let l = lines.row_data(0).unwrap();
    assert_eq!(l.amount_text.as_str(), "1.49");
    assert_eq!(state.get_totals().total.as_str(), "1.49");
    // A second scan adds to the open sale (no second sale new).
    actions.invoke_barcode_entered(CHOC.into());
    assert_eq!(k.pump(), 1);
    assert_eq!(state.get_totals().total.as_str(), "2.98");

    // Tender: 5.00 keyed on the cash keypad.
    actions.invoke_show_page(Page::Tender);
    assert_eq!(k.screens().ui().page(), Page::Tender);
    for key in ["5", "0", "0"] {
        actions.invoke_keypad(key.into());
    }
    assert_eq!(state.get_keypad_text().as_str(), "5.00");
    assert_eq!(state.get_keypad_change().as_str(), "Change 2.02");
    actions.invoke_tender_cash();
    assert_eq!(k.pump(), 1);
    let totals = state.get_totals();
    assert!(totals.covered && totals.tendered);
    assert_eq!(
        (totals.paid.as_str(), totals.change.as_str()),
        ("5.00", "2.02")
    );
    assert_eq!(k.screens().ui().page(), Page::Tender);

    // A double tap on Complete: both carry the sale's command id, one sale is made.
    actions.invoke_complete();
    actions.invoke_complete();
    assert_eq!(k.pump(), 2);
    assert_eq!(k.snapshot().shift.as_ref().map(|s| s.sales_count), Some(1));
    assert!(!state.get_has_sale(), "the sale is closed");
    assert_eq!(k.screens().ui().page(), Page::Sale);
    assert!(state.get_has_receipt());
    assert_eq!(state.get_receipt_title().as_str(), "Receipt 1");
    let code = k.snapshot().receipt.clone().expect("preview").verification;
    assert!(!code.is_empty());
    let lines = receipt_lines(&state);
    assert!(
        lines.iter().any(|l| l.contains(&code)),
        "the receipt preview model prints the verification code {code}: {lines:#?}"
    );
    let msg = state.get_message().to_string();
    assert!(msg.contains("receipt 1"), "{msg}");
    // And the frame renders with the preview up.
    let img = k.screens().render().unwrap();
    assert_eq!((img.width(), img.height()), (1024, 768));
}

#[test]
fn a_void_on_the_pin_pad_is_refused_with_a_wrong_pin_and_done_with_the_managers() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    cash_sale(&mut k);
    assert_eq!(k.snapshot().receipt.as_ref().map(|r| r.number), Some(1));

    let key_pin = |k: &mut HeadlessKiosk, pin: &str| {
        let window = k.window();
        let actions = window.global::<UiActions<'_>>();
        let state = window.global::<UiState<'_>>();
        actions.invoke_void_receipt();
        assert!(state.get_pin_visible());
        assert_eq!(
            state.get_pin_title().as_str(),
            "Manager PIN to void receipt 1"
        );
        for d in pin.chars() {
            actions.invoke_pin_key(d.to_string().into());
        }
        assert_eq!(state.get_pin_mask().chars().count(), pin.len());
        actions.invoke_pin_submit();
        assert_eq!(k.pump(), 1);
    };

    key_pin(&mut k, "1234");
    let window = k.window();
    let state = window.global::<UiState<'_>>();
    let msg = state.get_message().to_string();
    assert!(msg.starts_with("manager PIN refused"), "{msg}");
    assert!(!k.snapshot().receipt.as_ref().unwrap().voided);
    assert!(!state.get_pin_visible(), "the pad closes after submitting");
    // The cashier's own PIN is not a manager's either.
    key_pin(&mut k, CASHIER);
    let window = k.window();
    let state = window.global::<UiState<'_>>();
    assert!(state.get_message().as_str().contains("manager"));
    assert!(!k.snapshot().receipt.as_ref().unwrap().voided);

    key_pin(&mut k, MANAGER);
    let window = k.window();
    let state = window.global::<UiState<'_>>();
    let msg = state.get_message().to_string();
    assert!(msg.contains("voided"), "{msg}");
    assert!(k.snapshot().receipt.as_ref().unwrap().voided);
    assert!(
        receipt_lines(&state).iter().any(|l| l.contains("VOID")),
        "the preview shows the void: {:#?}",
        receipt_lines(&state)
    );
    // The cashier is still the one logged in.
    assert!(state.get_status().user.as_str().contains("Cashier"));
}

#[test]
fn a_card_tender_takes_its_token_from_the_demo_card_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    let window = k.window();
    let actions = window.global::<UiActions<'_>>();
    actions.invoke_barcode_entered(CHOC.into());
    k.pump();
    actions.invoke_show_page(Page::Tender);
    actions.invoke_tender_card();
    assert_eq!(k.pump(), 1);
    assert!(k.take_refused().is_empty());
    let state = window.global::<UiState<'_>>();
    assert!(state.get_totals().covered, "{:?}", k.snapshot().message);
    actions.invoke_complete();
    k.pump();
    assert_eq!(state.get_receipt_title().as_str(), "Receipt 1");
    let lines = receipt_lines(&state);
    assert!(lines.iter().any(|l| l.contains("0000")), "{lines:#?}");
}

#[test]
fn the_threaded_kiosk_shows_snapshots_from_the_bridge_thread() {
    let dir = tempfile::tempdir().unwrap();
    keel_ui::headless::install().unwrap();
    let k = Kiosk::start(open_node(dir.path()), UiServices::default(), None, |sink| {
        HeadlessUi::new(1024, 768, sink)
    })
    .unwrap();
    let wait = |k: &Kiosk<HeadlessUi>, done: &dyn Fn(&Kiosk<HeadlessUi>) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(k) {
            assert!(Instant::now() < deadline, "timed out: {:?}", k.snapshot());
            std::thread::sleep(Duration::from_millis(5));
            // The timer polls the channel on this (the UI) thread.
            advance_clock(Duration::from_millis(20));
        }
    };
    wait(&k, &|k| k.snapshot().is_some());
    k.send(UiAction::Login {
        pin: CASHIER.into(),
    })
    .unwrap();
    k.send(UiAction::ShiftOpen { float: 100_00 }).unwrap();
    wait(&k, &|k| k.snapshot().is_some_and(|s| s.shift.is_some()));
    let window = k.screens().ui().window();
    window
        .global::<UiActions<'_>>()
        .invoke_barcode_entered(CHOC.into());
    let state = window.global::<UiState<'_>>();
    wait(&k, &|_| state.get_cart().row_count() == 1);
    assert_eq!(state.get_totals().total.as_str(), "1.49");
}
