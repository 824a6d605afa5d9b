//! Screenshot tests of the product pictures: the sale grid and the
//! self-order kiosk with pictures for some products (the others keep their
//! fallback: text only on the sale grid, the initial on a colour on the
//! kiosk), at the base sizes, large and portrait. The pictures are painted
//! here (a coloured box with stripes per SKU), decoded through
//! `keel_ui::pictures` as the kiosk's loader does.

use keel_ui::demo;
use keel_ui::generated::{Page, SelfOrderActions, UiState};
use keel_ui::headless::HeadlessUi;
use keel_ui::image::Image;
use keel_ui::mode::ScreenMode;
use keel_ui::pictures::{decode_png, PictureBuffers};
use keel_ui::screenshot::{check, Outcome, Tolerance};
use keel_ui::{Ui, ViewModel};
use slint::{ComponentHandle, Model};
use std::path::PathBuf;

const SIZES: [(u32, u32); 4] = [(1024, 768), (1280, 800), (1920, 1080), (768, 1024)];

/// The colour of a painted picture's box.
const BOX: [u8; 3] = [214, 40, 140];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

/// A 128x128 "package": white, a box in [`BOX`], a dark band whose height
/// depends on `n`, so pictures differ.
fn painted(n: u32) -> Vec<u8> {
    let side = 128;
    let mut rgba = Vec::new();
    for y in 0..side {
        for x in 0..side {
            let inside = (16..112).contains(&x) && (12..116).contains(&y);
            let band = inside && (40 + 6 * n..56 + 6 * n).contains(&y);
            let px = match (inside, band) {
                (true, true) => [30, 30, 60, 255],
                (true, false) => [BOX[0], BOX[1], BOX[2], 255],
                _ => [255, 255, 255, 255],
            };
            rgba.extend(px);
        }
    }
    Image::new(side, side, rgba).to_png().unwrap()
}

/// Pictures for some of the demo café's products (not all: the others keep
/// the fallback).
fn pictures() -> PictureBuffers {
    [
        "BAGEL",
        "CROISSANT",
        "MUFFIN",
        "SOURDOUGH",
        "CAPPU",
        "LATTE",
        "TEA",
    ]
    .iter()
    .enumerate()
    .map(|(i, sku)| {
        let n = u32::try_from(i).unwrap();
        (sku.to_string(), decode_png(&painted(n), sku).unwrap())
    })
    .collect()
}

fn screen(name: &str, setup: impl Fn(&Ui)) {
    let mut failures = Vec::new();
    for (w, h) in SIZES {
        let (ui, _rx) = HeadlessUi::with_channel(w, h).unwrap();
        setup(ui.ui());
        let image = ui.render().unwrap();
        // The pictures are on screen: their box colour is there.
        let boxed = (0..h)
            .step_by(2)
            .flat_map(|y| (0..w).step_by(2).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                image
                    .pixel(x, y)
                    .is_some_and(|p| p[..3].iter().zip(BOX).all(|(a, b)| a.abs_diff(b) <= 6))
            })
            .count();
        assert!(boxed > 500, "{name} {w}x{h}: pictures not drawn ({boxed})");
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
fn sale_grid_with_pictures() {
    screen("sale-pictures", |ui| {
        ui.set_pictures(pictures());
        ui.show(demo::sale());
        assert_eq!(ui.page(), Page::Sale);
        let tiles = ui.window().global::<UiState<'_>>().get_products();
        let with: Vec<String> = tiles
            .iter()
            .filter(|t| t.has_picture)
            .map(|t| t.sku.to_string())
            .collect();
        assert_eq!(with, ["BAGEL", "CROISSANT", "MUFFIN", "SOURDOUGH"]);
        assert!(tiles
            .iter()
            .all(|t| t.has_picture == (t.picture.size().width > 0)));
    });
}

#[test]
fn self_order_with_pictures() {
    screen("self-order-pictures", |ui| {
        ui.set_mode(ScreenMode::SelfOrder);
        // Pictures arriving after the snapshot redraw the tiles too.
        ui.show(ViewModel {
            serial: 1,
            category: Some("Drinks".into()),
            ..demo::sale()
        });
        ui.window().global::<SelfOrderActions<'_>>().invoke_start();
        ui.set_pictures(pictures());
    });
}
