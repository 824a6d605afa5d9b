//! Screenshot tests of the layouts beyond the two base sizes: the large
//! landscape screen (1920x1080, Theme scale 1.4) and the portraits
//! (768x1024, 800x1280, 1080x1920: products above the cart, figures above
//! the keypad), for the sale, tender and PIN pad screens with the status
//! bar; and the sale and tender screens in Indonesian. Compared with the
//! references in tests/screenshots/ (keel_ui::screenshot; accept new ones
//! with KEEL_ACCEPT_SCREENSHOTS=1 after looking at them).

use keel_ui::demo;
use keel_ui::generated::{Page, UiActions};
use keel_ui::headless::HeadlessUi;
use keel_ui::i18n;
use keel_ui::screenshot::{check, Outcome, Tolerance};
use keel_ui::Ui;
use slint::ComponentHandle;
use std::path::PathBuf;

/// The sizes laid out beyond the base ones (tests/screenshots.rs has
/// 1024x768 and 1280x800).
const SIZES: [(u32, u32); 4] = [(1920, 1080), (768, 1024), (800, 1280), (1080, 1920)];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

/// Renders `name` at each of `sizes` in `lang` after `setup`; fails listing
/// every mismatch.
fn screen(name: &str, lang: &str, sizes: &[(u32, u32)], setup: impl Fn(&Ui)) {
    let mut failures = Vec::new();
    for &(w, h) in sizes {
        i18n::select_language(lang).unwrap();
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

fn tender(ui: &Ui) {
    // The first snapshot settles the page after login (the sale screen);
    // the next one of a tendered sale moves to the tender screen.
    ui.show(demo::tender());
    ui.show(demo::tender());
    assert_eq!(ui.page(), Page::Tender);
    let actions = ui.window().global::<UiActions<'_>>();
    for key in ["1", "0", "00"] {
        actions.invoke_keypad(key.into());
    }
}

fn pin_pad(ui: &Ui) {
    ui.show(demo::idle());
    let actions = ui.window().global::<UiActions<'_>>();
    actions.invoke_void_receipt();
    for key in ["4", "2"] {
        actions.invoke_pin_key(key.into());
    }
}

#[test]
fn sale_screen_large_and_portrait() {
    screen("sale", "en", &SIZES, |ui| ui.show(demo::sale()));
}

#[test]
fn tender_screen_large_and_portrait() {
    screen("tender", "en", &SIZES, tender);
}

#[test]
fn pin_pad_large_and_portrait() {
    screen("pin-pad", "en", &[(1920, 1080), (768, 1024)], pin_pad);
}

#[test]
fn sale_screen_in_indonesian() {
    screen("sale-id", "id", &[(1024, 768), (768, 1024)], |ui| {
        ui.show(demo::sale())
    });
}

#[test]
fn tender_screen_in_indonesian() {
    screen("tender-id", "id", &[(1024, 768)], tender);
}

/// docs/ui.md shows the screens from these references only: every
/// reference image is linked there and every image linked there exists.
#[test]
fn docs_show_every_reference_image() {
    let docs =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/ui.md"))
            .unwrap();
    let prefix = "../ui-slint/tests/screenshots/";
    let mut references: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png") && !n.ends_with(".actual.png") && !n.ends_with(".diff.png"))
        .collect();
    references.sort();
    let unlinked: Vec<&String> = references
        .iter()
        .filter(|n| !docs.contains(&format!("{prefix}{n}")))
        .collect();
    assert!(
        unlinked.is_empty(),
        "reference images docs/ui.md does not show: {unlinked:?}"
    );
    for link in docs.split(prefix).skip(1) {
        let name = link.split(['"', ')']).next().unwrap();
        assert!(
            references.iter().any(|r| r == name),
            "docs/ui.md links {name}, which no screenshot test makes"
        );
    }
}
