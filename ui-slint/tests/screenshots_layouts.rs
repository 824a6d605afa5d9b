//! Screenshot tests of the layouts beyond the two base sizes: the large
//! landscape screen (1920x1080, Theme scale 1.4) and the portraits
//! (768x1024, 800x1280, 1080x1920: products above the cart, figures above
//! the keypad), for the sale, tender and PIN pad screens with the status
//! bar; and the sale and tender screens in Indonesian. Compared with the
//! references in tests/screenshots/ (keel_ui::screenshot; accept new ones
//! with KEEL_ACCEPT_SCREENSHOTS=1 after looking at them). Also: the Theme
//! breakpoints per size, the portrait screens driven by taps, and docs/ui.md
//! showing every reference image.

use keel_ui::action::{Action, AddSource};
use keel_ui::demo;
use keel_ui::generated::{Page, Theme, UiActions, UiState};
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

/// The breakpoints follow the window's size: scale 1.4 when the short side
/// is at least 1000 px, portrait when taller than wide, touch targets never
/// under 48 px.
#[test]
fn breakpoints_follow_the_window_size() {
    for (w, h, scale, portrait) in [
        (1024, 768, 1.0, false),
        (1280, 800, 1.0, false),
        (1920, 1080, 1.4, false),
        (768, 1024, 1.0, true),
        (800, 1280, 1.0, true),
        (1080, 1920, 1.4, true),
    ] {
        let (ui, _rx) = HeadlessUi::with_channel(w, h).unwrap();
        ui.render().unwrap();
        let theme = ui.ui().window().global::<Theme<'_>>();
        assert_eq!(
            (theme.get_scale(), theme.get_portrait()),
            (scale, portrait),
            "{w}x{h}"
        );
        assert!(theme.get_touch_min() >= 48.0, "{w}x{h}");
        assert!(theme.get_font_body() >= 17.0, "{w}x{h}");
    }
}

/// The portrait sale and tender screens work by touch: a tile above, the
/// cart's buttons and Pay below, then the keypad and Cash on the tender
/// screen, and back.
#[test]
fn portrait_screens_work_by_touch() {
    let (h, rx) = HeadlessUi::with_channel(768, 1024).unwrap();
    h.ui().show(demo::sale());
    h.render().unwrap();
    h.tap(98.0, 255.0); // the Bagel tile
    h.tap(567.0, 693.0); // + on the Cappuccino line
    h.tap(266.0, 96.0); // the Drinks tab
    let sent: Vec<Action> = rx.try_iter().collect();
    assert_eq!(
        sent,
        vec![
            Action::AddItem {
                code: "BAGEL".into(),
                source: AddSource::Grid
            },
            Action::SetQty { line: 1, qty: 3 },
            Action::SwitchCategory {
                category: "Drinks".into()
            },
        ]
    );
    h.tap(450.0, 976.0); // Pay
    assert_eq!(h.ui().page(), Page::Tender);
    h.render().unwrap();
    for (x, y) in [(383.0, 673.0), (383.0, 752.0), (138.0, 752.0)] {
        h.tap(x, y); // 2, 0, 00
    }
    let state = h.ui().window().global::<UiState<'_>>();
    assert_eq!(state.get_keypad_text().as_str(), "20.00");
    h.tap(498.0, 828.0); // Cash 20.00
    let sent: Vec<Action> = rx.try_iter().collect();
    assert_eq!(sent, vec![Action::TenderCash { amount: 2000 }]);
    h.tap(74.0, 984.0); // Back to sale (nothing tendered in this snapshot)
    assert_eq!(h.ui().page(), Page::Sale);
}
