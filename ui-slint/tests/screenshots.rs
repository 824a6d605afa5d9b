//! Screenshot tests: each screen rendered headless from a fixed snapshot at
//! 1024x768 and 1280x800, compared with the reference PNGs in
//! tests/screenshots/ (see keel_ui::screenshot for the tolerance and how to
//! accept new images: KEEL_ACCEPT_SCREENSHOTS=1).

use keel_ui::demo;
use keel_ui::generated::{Page, UiActions};
use keel_ui::headless::HeadlessUi;
use keel_ui::screenshot::{check, Outcome, Tolerance};
use keel_ui::Ui;
use slint::ComponentHandle;
use std::path::PathBuf;

const SIZES: [(u32, u32); 2] = [(1024, 768), (1280, 800)];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

/// Renders `screen` at every size after `setup`, checks each; fails listing all mismatches.
fn screen(name: &str, setup: impl Fn(&Ui)) {
    let mut failures = Vec::new();
    for (w, h) in SIZES {
        let (ui, _rx) = HeadlessUi::with_channel(w, h).unwrap();
        setup(ui.ui());
        let image = ui.render().unwrap();
        assert_eq!((image.width(), image.height()), (w, h));
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
fn sale_screen() {
    screen("sale", |ui| ui.show(demo::sale()));
}

#[test]
fn sale_screen_idle_with_receipt_preview() {
    screen("sale-idle", |ui| ui.show(demo::idle()));
}

#[test]
fn sale_screen_searching() {
    screen("sale-search", |ui| {
        let mut v = demo::sale();
        v.search = "cro".into();
        v.search_results = demo::categories()[0]
            .products
            .iter()
            .filter(|p| p.name.to_lowercase().contains("cro"))
            .cloned()
            .collect();
        ui.show(v);
    });
}

#[test]
fn tender_screen_with_cash_keyed() {
    screen("tender", |ui| {
        ui.show(demo::tender());
        assert_eq!(ui.page(), Page::Tender);
        let actions = ui.window().global::<UiActions<'_>>();
        for key in ["1", "0", "00"] {
            actions.invoke_keypad(key.into());
        }
    });
}

#[test]
fn manager_pin_pad() {
    screen("pin-pad", |ui| {
        ui.show(demo::idle());
        let actions = ui.window().global::<UiActions<'_>>();
        actions.invoke_void_receipt();
        for key in ["4", "2"] {
            actions.invoke_pin_key(key.into());
        }
    });
}
