//! Screenshot tests of the cashier's operations pages (login, shift with the
//! X and Z reports, receipts with a refund selection, customers, technician,
//! the price override dialog and the menu), each rendered headless from the
//! fixed café data of `keel_ui::screens::ops_demo` at 1024x768 and 1280x800
//! and compared with tests/screenshots/ (see keel_ui::screenshot for the
//! tolerance; accept with KEEL_ACCEPT_SCREENSHOTS=1).

use keel_ui::demo;
use keel_ui::generated::{
    LoginActions, NavActions, OverrideActions, Page, ReceiptsActions, ShiftActions,
};
use keel_ui::headless::HeadlessUi;
use keel_ui::screens::ops_demo;
use keel_ui::screenshot::{check, Outcome, Tolerance};
use keel_ui::Ui;
use slint::ComponentHandle;
use std::path::PathBuf;

const SIZES: [(u32, u32); 2] = [(1024, 768), (1280, 800)];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

/// Renders after `setup` at every size, checks each; fails listing all mismatches.
fn screen(name: &str, setup: impl Fn(&Ui)) {
    screen_at(name, &SIZES, setup);
}

/// Renders after `setup` at `sizes`, checks each; fails listing all mismatches.
fn screen_at(name: &str, sizes: &[(u32, u32)], setup: impl Fn(&Ui)) {
    let mut failures = Vec::new();
    for &(w, h) in sizes {
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

fn go(ui: &Ui, page: Page) {
    ui.window().global::<NavActions<'_>>().invoke_go(page);
    assert_eq!(ui.page(), page);
}

#[test]
fn login_page_after_a_wrong_pin() {
    screen("login", |ui| {
        ui.show(ops_demo::logged_out());
        assert_eq!(ui.page(), Page::Login);
        let a = ui.window().global::<LoginActions<'_>>();
        for k in ["1", "1"] {
            a.invoke_key(k.into());
        }
    });
}

#[test]
fn shift_page_with_the_x_report() {
    screen("shift-x", |ui| {
        ui.show(ops_demo::x_report());
        go(ui, Page::Shift);
    });
}

#[test]
fn shift_page_closing_with_counted_cash_keyed() {
    screen("shift-closing", |ui| {
        ui.show(demo::idle());
        go(ui, Page::Shift);
        let a = ui.window().global::<ShiftActions<'_>>();
        a.invoke_start_close();
        for k in ["2", "4", "5", "8", "0"] {
            a.invoke_key(k.into());
        }
    });
}

#[test]
fn shift_page_after_close_with_the_z_report() {
    screen("shift-z", |ui| {
        ui.show(demo::idle());
        go(ui, Page::Shift);
        ui.show(ops_demo::z_report());
        assert_eq!(ui.page(), Page::Shift);
    });
}

#[test]
fn receipts_page_with_a_refund_chosen() {
    screen("receipts", |ui| {
        ui.show(ops_demo::receipts());
        go(ui, Page::Receipts);
        let a = ui.window().global::<ReceiptsActions<'_>>();
        a.invoke_refund_more(1);
        a.invoke_key("4".into());
    });
}

#[test]
fn receipts_page_in_portrait() {
    screen_at("receipts", &[(768, 1024)], |ui| {
        ui.show(ops_demo::receipts());
        go(ui, Page::Receipts);
        ui.window()
            .global::<ReceiptsActions<'_>>()
            .invoke_refund_more(2);
    });
}

#[test]
fn customers_page_with_results() {
    screen("customers", |ui| {
        ui.show(ops_demo::customers_found());
        go(ui, Page::Customers);
        ui.window()
            .global::<keel_ui::generated::CustomersActions<'_>>()
            .invoke_pick("C-1001".into());
    });
}

#[test]
fn technician_page() {
    screen("technician", |ui| {
        ui.show(demo::sale());
        go(ui, Page::Technician);
    });
}

#[test]
fn price_override_dialog() {
    screen("price-override", |ui| {
        ui.show(demo::sale());
        let a = ui.window().global::<OverrideActions<'_>>();
        a.invoke_open(2);
        for k in ["2", "00"] {
            a.invoke_key(k.into());
        }
        a.invoke_pick_reason(0);
    });
}

#[test]
fn menu_drawer() {
    screen("menu", |ui| {
        ui.show(demo::sale());
        ui.window().global::<NavActions<'_>>().invoke_toggle();
    });
}
