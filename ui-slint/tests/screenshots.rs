//! Screenshot tests: each screen rendered headless from a fixed snapshot at
//! 1024x768 and 1280x800, compared with the reference PNGs in
//! tests/screenshots/ (see keel_ui::screenshot for the tolerance and how to
//! accept new images: KEEL_ACCEPT_SCREENSHOTS=1).

use keel_ui::demo;
use keel_ui::generated::{Page, UiActions, UiState};
use keel_ui::headless::HeadlessUi;
use keel_ui::image::Image;
use keel_ui::pictures::{decode_png, PictureBuffers};
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

/// A 96x96 "package" picture in colour `rgb` on white, as a PNG.
fn package(rgb: [u8; 3]) -> Vec<u8> {
    let side = 96;
    let mut rgba = Vec::new();
    for y in 0..side {
        for x in 0..side {
            let inside = (12..84).contains(&x) && (8..88).contains(&y);
            rgba.extend(if inside {
                [rgb[0], rgb[1], rgb[2], 255]
            } else {
                [255, 255, 255, 255]
            });
        }
    }
    Image::new(side, side, rgba).to_png().unwrap()
}

#[test]
fn camera_picker_with_the_top_three() {
    screen("camera-picker", |ui| {
        // Pictures for two of the three (the catalog has none for the bagel).
        let pictures: PictureBuffers = [("CROISSANT", [214, 150, 40]), ("MUFFIN", [60, 70, 170])]
            .iter()
            .map(|(sku, rgb)| (sku.to_string(), decode_png(&package(*rgb), sku).unwrap()))
            .collect();
        ui.set_pictures(pictures);
        ui.show(demo::picker());
        let state = ui.window().global::<UiState<'_>>();
        assert!(state.get_picker_visible());
        assert_eq!(
            state.get_message().as_str(),
            "Not sure what this is: pick the product"
        );
    });
}

#[test]
fn card_approval_pin_pad_at_high_risk() {
    screen("card-approval", |ui| {
        ui.show(demo::card_approval());
        assert_eq!(ui.page(), Page::Tender);
        let state = ui.window().global::<UiState<'_>>();
        assert!(state.get_pin_visible());
        assert_eq!(
            state.get_pin_title().as_str(),
            "Manager PIN to approve the card payment of 5.67"
        );
        assert_eq!(
            state.get_pin_error().as_str(),
            "manager PIN refused: wrong PIN"
        );
        ui.window()
            .global::<UiActions<'_>>()
            .invoke_pin_key("9".into());
    });
}
