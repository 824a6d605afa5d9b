//! A cashier's whole shift through the UI layer only, on a real demo node
//! (journal in a temp dir): every step is a callback the screens invoke
//! (login PIN pad, shift keypad, sale screen, tender, price override dialog,
//! receipts page, manager PIN pad, menu), mapped by the kiosk to the bridge;
//! the asserts read the Slint models. No `send` shortcut is used.
//!
//! Amounts are written `euros_cents` (`5_00` is 5.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_kiosk::{DemoCardTerminal, HeadlessKiosk};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{UiBridge, UiServices};
use keel_ui::generated::{
    CustomersActions, CustomersState, LoginActions, LoginState, NavActions, OverrideActions,
    OverrideState, Page, ReceiptsActions, ReceiptsState, ShiftActions, ShiftState, TechActions,
    TechState, UiActions, UiState,
};
use slint::{ComponentHandle, Model};
use std::sync::{Arc, Mutex};

const CASHIER: &str = "1111";
const MANAGER: &str = "9999";
const CHOC: &str = "4006381333931";

fn kiosk(dir: &std::path::Path) -> HeadlessKiosk {
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    let bridge = UiBridge::new(Arc::new(Mutex::new(node)), UiServices::default());
    HeadlessKiosk::new(
        bridge,
        1024,
        768,
        Some(Box::new(DemoCardTerminal::default())),
    )
    .unwrap()
}

fn page(k: &HeadlessKiosk) -> Page {
    k.screens().ui().page()
}

fn message(k: &HeadlessKiosk) -> String {
    k.window().global::<UiState<'_>>().get_message().to_string()
}

/// Keys `pin` on the login page and submits it.
fn login(k: &mut HeadlessKiosk, pin: &str) {
    let w = k.window();
    let a = w.global::<LoginActions<'_>>();
    for d in pin.chars() {
        a.invoke_key(d.to_string().into());
    }
    assert_eq!(
        w.global::<LoginState<'_>>().get_mask().chars().count(),
        pin.len()
    );
    a.invoke_submit();
    assert_eq!(k.pump(), 1);
}

/// Keys `pin` on the manager PIN pad (already open with `title`) and submits it.
fn manager_pin(k: &mut HeadlessKiosk, title: &str, pin: &str) {
    let w = k.window();
    let s = w.global::<UiState<'_>>();
    assert!(s.get_pin_visible());
    assert_eq!(s.get_pin_title().as_str(), title);
    let a = w.global::<UiActions<'_>>();
    for d in pin.chars() {
        a.invoke_pin_key(d.to_string().into());
    }
    a.invoke_pin_submit();
    assert_eq!(k.pump(), 1);
    assert!(!s.get_pin_visible());
}

fn shift_keys(k: &HeadlessKiosk, keys: &[&str]) {
    let w = k.window();
    let a = w.global::<ShiftActions<'_>>();
    for key in keys {
        a.invoke_key((*key).into());
    }
}

fn go(k: &HeadlessKiosk, to: Page) {
    let w = k.window();
    w.global::<NavActions<'_>>().invoke_toggle();
    w.global::<NavActions<'_>>().invoke_go(to);
    assert_eq!(page(k), to);
}

/// Scans CHOC `n` times on the manual barcode entry (the first opens the sale).
fn scan(k: &mut HeadlessKiosk, n: usize) {
    let w = k.window();
    for _ in 0..n {
        w.global::<UiActions<'_>>()
            .invoke_barcode_entered(CHOC.into());
    }
    assert_eq!(k.pump(), n + 1, "sale new, then the items");
}

fn complete(k: &mut HeadlessKiosk) {
    let w = k.window();
    let s = w.global::<UiState<'_>>();
    assert!(s.get_totals().covered, "{}", message(k));
    w.global::<UiActions<'_>>().invoke_complete();
    assert_eq!(k.pump(), 1);
    assert!(!s.get_has_sale(), "{}", message(k));
}

fn rows(model: slint::ModelRc<keel_ui::generated::NameValue>) -> Vec<(String, String)> {
    model
        .iter()
        .map(|r| (r.name.to_string(), r.value.to_string()))
        .collect()
}

#[test]
fn a_whole_shift_through_the_screens() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    let w = k.window();
    let ui_state = w.global::<UiState<'_>>();
    let shift = w.global::<ShiftState<'_>>();

    // Nobody logged in: the login page. A wrong PIN is refused with the reason.
    assert_eq!(page(&k), Page::Login);
    login(&mut k, "1234");
    assert!(k.snapshot().user.is_none());
    assert_eq!(page(&k), Page::Login);
    let error = w.global::<LoginState<'_>>().get_error().to_string();
    assert!(!error.is_empty() && error == message(&k), "{error:?}");
    assert_eq!(w.global::<LoginState<'_>>().get_mask().as_str(), "");

    // The cashier's PIN: no shift open yet, so the shift page.
    login(&mut k, CASHIER);
    assert!(k.snapshot().user.is_some(), "{}", message(&k));
    assert_eq!(page(&k), Page::Shift);
    assert!(!shift.get_open());
    // The sale screen is not reachable without a shift.
    w.global::<NavActions<'_>>().invoke_go(Page::Sale);
    assert_eq!(page(&k), Page::Shift);

    // Open the shift with a 100.00 float keyed on the keypad.
    shift_keys(&k, &["1", "0", "0", "00"]);
    assert_eq!(shift.get_keypad_text().as_str(), "100.00");
    w.global::<ShiftActions<'_>>().invoke_open_shift();
    assert_eq!(k.pump(), 1);
    assert!(shift.get_open(), "{}", message(&k));
    assert_eq!(shift.get_shift().float.as_str(), "100.00");
    assert_eq!(page(&k), Page::Sale, "a new shift goes to the sale");

    // Sale 1: two bars, 5.00 cash keyed on the tender keypad.
    scan(&mut k, 2);
    assert_eq!(ui_state.get_totals().total.as_str(), "2.98");
    let a = w.global::<UiActions<'_>>();
    a.invoke_show_page(Page::Tender);
    for key in ["5", "0", "0"] {
        a.invoke_keypad(key.into());
    }
    a.invoke_tender_cash();
    assert_eq!(k.pump(), 1);
    complete(&mut k);
    assert_eq!(ui_state.get_receipt_title().as_str(), "Receipt 1");

    // Sale 2: one bar, its price overridden to 1.00 behind the manager PIN, paid by card.
    scan(&mut k, 1);
    let o = w.global::<OverrideActions<'_>>();
    let os = w.global::<OverrideState<'_>>();
    o.invoke_open(1);
    assert!(os.get_visible());
    assert_eq!(os.get_current().as_str(), "1.49");
    for key in ["1", "0", "0"] {
        o.invoke_key(key.into());
    }
    assert_eq!(os.get_entry().as_str(), "1.00");
    assert!(!os.get_ready(), "a reason is needed");
    o.invoke_pick_reason(1);
    assert!(os.get_ready());
    o.invoke_submit();
    assert!(!os.get_visible());
    manager_pin(
        &mut k,
        "Manager PIN to override the price of line 1",
        MANAGER,
    );
    let line = ui_state.get_cart().row_data(0).unwrap();
    assert_eq!(line.unit_price_text.as_str(), "1.00", "{}", message(&k));
    assert_eq!(ui_state.get_totals().total.as_str(), "1.00");
    let cart = k.snapshot().cart.clone().unwrap();
    assert!(cart.lines[0].overridden);
    a.invoke_show_page(Page::Tender);
    a.invoke_tender_card();
    assert_eq!(k.pump(), 1);
    complete(&mut k);
    assert_eq!(ui_state.get_receipt_title().as_str(), "Receipt 2");

    // Receipts page: both receipts listed; refund one bar of receipt 1.
    go(&k, Page::Receipts);
    let rs = w.global::<ReceiptsState<'_>>();
    let ra = w.global::<ReceiptsActions<'_>>();
    let recent: Vec<i32> = rs.get_recent().iter().map(|r| r.number).collect();
    assert_eq!(recent, vec![2, 1]);
    // Look receipt 1 up on the keypad (a slip corrected with the back key).
    for key in ["1", "2", "back"] {
        ra.invoke_key(key.into());
    }
    assert_eq!(rs.get_lookup_text().as_str(), "1");
    ra.invoke_lookup();
    assert_eq!(k.pump(), 1);
    assert_eq!(rs.get_number().as_str(), "1");
    assert!(rs.get_recent().row_data(1).unwrap().selected);
    // Two scans, two lines of one bar each.
    assert_eq!(rs.get_items().row_count(), 2);
    let item = rs.get_items().row_data(0).unwrap();
    assert_eq!((item.sold.as_str(), item.left.as_str()), ("1", "1"));
    assert!(rs.get_preview().iter().any(|l| l.contains("TOTAL")));
    ra.invoke_refund_more(1);
    assert_eq!(rs.get_chosen_lines(), 1);
    assert_eq!(rs.get_items().row_data(0).unwrap().chosen.as_str(), "1");
    // A wrong manager PIN is refused with the reason; nothing is refunded.
    ra.invoke_refund();
    manager_pin(
        &mut k,
        "Manager PIN to refund 1 line(s) of receipt 1",
        "1234",
    );
    let msg = message(&k);
    assert!(msg.starts_with("manager PIN refused"), "{msg}");
    assert_eq!(rs.get_items().row_data(0).unwrap().left.as_str(), "1");
    assert_eq!(rs.get_chosen_lines(), 1, "the selection stays for a retry");
    // The manager's PIN: refunded.
    ra.invoke_refund();
    manager_pin(
        &mut k,
        "Manager PIN to refund 1 line(s) of receipt 1",
        MANAGER,
    );
    assert_eq!(
        rs.get_items().row_data(0).unwrap().left.as_str(),
        "0",
        "{}",
        message(&k)
    );
    assert!(!rs.get_items().row_data(0).unwrap().can_more);
    assert_eq!(rs.get_items().row_data(1).unwrap().left.as_str(), "1");
    assert_eq!(rs.get_chosen_lines(), 0);
    assert!(rs.get_recent().row_data(1).unwrap().refunded);
    // Reprint previews it again (no printer here: the preview still shows it).
    ra.invoke_reprint();
    assert_eq!(k.pump(), 1);
    assert_eq!(rs.get_number().as_str(), "1");

    // X report: the counts so far, the shift still open.
    go(&k, Page::Shift);
    w.global::<ShiftActions<'_>>().invoke_report_x();
    assert_eq!(k.pump(), 1);
    assert!(shift.get_has_report(), "{}", message(&k));
    let x = shift.get_report();
    assert!(!x.is_z && !x.has_counted);
    assert_eq!(x.sales_count.as_str(), "2");
    assert_eq!(x.sales_total.as_str(), "3.98");
    assert_eq!(x.refunds.as_str(), "1");
    assert_eq!(x.voids.as_str(), "0");
    assert_eq!(x.float.as_str(), "100.00");
    let tenders = rows(shift.get_tenders());
    assert!(
        tenders.contains(&("card".into(), "1.00".into())),
        "{tenders:?}"
    );
    assert!(
        tenders.contains(&("cash".into(), "2.98".into())),
        "{tenders:?}"
    );
    assert!(!rows(shift.get_taxes()).is_empty());
    // 100.00 float + 2.98 cash - 1.49 refunded in cash.
    assert_eq!(x.expected.as_str(), "101.49");
    assert_eq!(shift.get_shift().expected.as_str(), "101.49");
    assert!(shift.get_open());

    // Close with 101.00 counted: the Z report, 0.49 short.
    let sa = w.global::<ShiftActions<'_>>();
    sa.invoke_start_close();
    assert!(shift.get_closing());
    shift_keys(&k, &["1", "0", "1", "00"]);
    assert_eq!(shift.get_keypad_text().as_str(), "101.00");
    sa.invoke_close_shift();
    assert_eq!(k.pump(), 1);
    assert!(!shift.get_open(), "{}", message(&k));
    assert!(!shift.get_closing());
    assert_eq!(page(&k), Page::Shift);
    let z = shift.get_report();
    assert!(z.is_z && z.has_counted, "{}", message(&k));
    assert_eq!(z.z.as_str(), "1");
    assert_eq!(z.sales_count.as_str(), "2");
    assert_eq!(z.sales_total.as_str(), "3.98");
    assert_eq!(z.refunds.as_str(), "1");
    assert_eq!(z.expected.as_str(), "101.49");
    assert_eq!(z.counted.as_str(), "101.00");
    assert_eq!(z.over_short.as_str(), "-0.49");
    assert_eq!(z.over_short_level, keel_ui::generated::Level::Bad);
    assert!(rows(shift.get_tenders()).contains(&("card".into(), "1.00".into())));
    // The frame renders with the Z report up.
    let img = k.screens().render().unwrap();
    assert_eq!((img.width(), img.height()), (1024, 768));

    // Log out from the menu: back to the login page.
    w.global::<NavActions<'_>>().invoke_toggle();
    w.global::<NavActions<'_>>().invoke_logout();
    assert_eq!(k.pump(), 1);
    assert!(k.snapshot().user.is_none());
    assert_eq!(page(&k), Page::Login);
}

#[test]
fn customer_lookup_register_and_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    login(&mut k, CASHIER);
    let w = k.window();
    go(&k, Page::Customers);
    assert_eq!(k.pump(), 1, "the page lists the customers on opening");
    let s = w.global::<CustomersState<'_>>();
    let a = w.global::<CustomersActions<'_>>();
    let before = s.get_results().row_count();

    // Register a customer on the form.
    s.set_form_id("C-9001".into());
    s.set_form_name("Rina Wijaya".into());
    // A phone with a space is refused with the reason; nothing is saved.
    s.set_form_phone("0812 555".into());
    a.invoke_save();
    assert_eq!(k.pump(), 1);
    assert!(message(&k).contains("phone"), "{}", message(&k));
    assert_eq!(s.get_results().row_count(), 0);
    s.set_form_phone("0812555".into());
    a.invoke_save();
    assert_eq!(k.pump(), 1);
    assert_eq!(
        k.snapshot().message.as_ref().map(|m| m.kind),
        Some(keel_terminal::ui_bridge::snapshot::MessageKind::Notice),
        "{}",
        message(&k)
    );
    let found: Vec<_> = s.get_results().iter().collect();
    assert_eq!(found.len(), 1, "{found:?} {}", message(&k));
    assert_eq!(found[0].name.as_str(), "Rina Wijaya");
    assert_eq!(found[0].phone.as_str(), "0812555");
    assert!(found[0].selected);

    // Search by name and by phone.
    s.set_query("rina".into());
    a.invoke_search();
    k.pump();
    assert_eq!(s.get_results().row_count(), 1);
    s.set_query("555".into());
    a.invoke_search();
    k.pump();
    assert_eq!(s.get_results().row_count(), 1);
    s.set_query("nobody here".into());
    a.invoke_search();
    k.pump();
    assert_eq!(s.get_results().row_count(), 0);
    assert!(s.get_searched());
    s.set_query("".into());
    a.invoke_search();
    k.pump();
    assert_eq!(s.get_results().row_count(), before + 1);

    // Pick her and change the name.
    a.invoke_pick("C-9001".into());
    assert!(s.get_editing());
    assert_eq!(s.get_form_name().as_str(), "Rina Wijaya");
    s.set_form_name("Rina W. Santoso".into());
    a.invoke_save();
    k.pump();
    let found: Vec<_> = s.get_results().iter().collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name.as_str(), "Rina W. Santoso");
    // A new form is empty.
    a.invoke_new_customer();
    assert!(!s.get_editing());
    assert_eq!(s.get_form_id().as_str(), "");
}

#[test]
fn the_technician_page_verifies_the_chain_and_shows_what_the_terminal_has() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    // A cashier sees the page but may not run the journal check (as on the console).
    login(&mut k, CASHIER);
    let w = k.window();
    let t = w.global::<TechState<'_>>();
    assert_eq!(t.get_info().chain.text.as_str(), "not verified yet");
    go(&k, Page::Technician);
    assert_eq!(k.pump(), 1, "opening the page asks for a chain check");
    assert!(
        message(&k).contains("needs a technician or a manager"),
        "{}",
        message(&k)
    );
    assert_eq!(t.get_info().chain.text.as_str(), "not verified yet");
    w.global::<NavActions<'_>>().invoke_logout();
    k.pump();
    login(&mut k, MANAGER);
    go(&k, Page::Technician);
    assert_eq!(k.pump(), 1, "opening the page asks for a chain check");
    let i = t.get_info();
    assert!(i.chain.text.starts_with("ok, "), "{:?}", i.chain.text);
    assert_eq!(i.chain.level, keel_ui::generated::Level::Ok);
    assert_eq!(i.terminal.as_str(), "T01");
    assert_eq!(i.firmware.as_str(), keel_terminal::node::FIRMWARE_VERSION);
    assert_eq!(i.cluster.text.as_str(), "standalone");
    assert_eq!(i.printer.text.as_str(), "none");
    assert_eq!(i.ai.as_str(), "none");
    assert_eq!(i.data_dir.as_str(), dir.path().display().to_string());
    let seq = k.snapshot().diagnostics.journal_last_seq;
    assert!(seq > 0);
    assert!(i.journal.as_str().contains(&seq.to_string()));
    w.global::<TechActions<'_>>().invoke_verify();
    assert_eq!(k.pump(), 1);
    assert!(message(&k).starts_with("journal ok"), "{}", message(&k));
}

#[test]
fn the_menu_reaches_every_page_and_the_sale_needs_a_shift() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    login(&mut k, CASHIER);
    let w = k.window();
    let nav = w.global::<NavActions<'_>>();
    let nav_state = w.global::<keel_ui::generated::NavState<'_>>();
    assert_eq!(page(&k), Page::Shift);
    // No shift: receipts and customers are reachable, the sale is not.
    go(&k, Page::Receipts);
    nav.invoke_go(Page::Sale);
    assert_eq!(page(&k), Page::Receipts);
    go(&k, Page::Shift);
    shift_keys(&k, &["5", "0", "00"]);
    w.global::<ShiftActions<'_>>().invoke_open_shift();
    k.pump();
    assert_eq!(page(&k), Page::Sale);
    w.global::<UiActions<'_>>().invoke_dismiss_message();
    k.pump();
    // A finger on the sale screen's Menu button opens the drawer.
    k.screens().render().unwrap();
    k.screens().tap(60.0, 72.0);
    assert!(nav_state.get_open(), "the menu button at the top left");
    for p in [
        Page::Kitchen,
        Page::Customers,
        Page::Technician,
        Page::Receipts,
    ] {
        nav.invoke_go(p);
        assert_eq!(page(&k), p);
        assert!(!nav_state.get_open(), "going closes the drawer");
        k.pump();
        assert_eq!(page(&k), p, "a snapshot keeps the page");
    }
    go(&k, Page::Sale);
    k.pump();
    assert_eq!(page(&k), Page::Sale);

    // A sale, then voided from the receipts page behind the manager PIN.
    scan(&mut k, 1);
    let a = w.global::<UiActions<'_>>();
    a.invoke_show_page(Page::Tender);
    a.invoke_tender_cash();
    assert_eq!(k.pump(), 1);
    complete(&mut k);
    go(&k, Page::Receipts);
    let rs = w.global::<ReceiptsState<'_>>();
    w.global::<ReceiptsActions<'_>>().invoke_select(1);
    assert_eq!(k.pump(), 1);
    assert!(!rs.get_voided());
    w.global::<ReceiptsActions<'_>>().invoke_void_receipt();
    manager_pin(&mut k, "Manager PIN to void receipt 1", MANAGER);
    assert!(rs.get_voided(), "{}", message(&k));
    assert!(rs.get_recent().row_data(0).unwrap().voided);
    let item = rs.get_items().row_data(0).unwrap();
    assert_eq!(item.left.as_str(), "0", "nothing left to refund on a void");
    assert!(!item.can_more);
}
