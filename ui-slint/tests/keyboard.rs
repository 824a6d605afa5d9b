//! The on-screen keyboard on a headless window: a tap on a text field brings it
//! up, its keys type into that field (the search sends its query, the manual
//! barcode adds on Enter), Hide takes the focus away and the keyboard with it.

use keel_ui::action::{Action, AddSource};
use keel_ui::demo;
use keel_ui::generated::{KeyboardActions, KeyboardState};
use keel_ui::headless::HeadlessUi;
use slint::ComponentHandle;
use std::sync::mpsc::Receiver;

fn drain(rx: &Receiver<Action>) -> Vec<Action> {
    rx.try_iter().collect()
}

fn press(ui: &HeadlessUi, keys: &[&str]) {
    let w = ui.ui().window();
    for k in keys {
        w.global::<KeyboardActions<'_>>().invoke_key((*k).into());
    }
}

#[test]
fn a_tapped_field_brings_up_the_keyboard_whose_keys_type_into_it() {
    let (ui, rx) = HeadlessUi::with_channel(1280, 800).unwrap();
    ui.ui().show(demo::sale());
    let kb = || ui.ui().window().global::<KeyboardState<'_>>().get_visible();
    assert!(!kb(), "no field focused, no keyboard");
    let _ = ui.render().unwrap();
    drain(&rx);

    // The search field (top left of the sale screen).
    ui.tap(200.0, 128.0);
    assert!(kb(), "the focused search field brings up the keyboard");
    press(&ui, &["c", "r", "o", "x", "backspace"]);
    let searches: Vec<String> = drain(&rx)
        .into_iter()
        .filter_map(|a| match a {
            Action::ProductSearch { query } => Some(query),
            _ => None,
        })
        .collect();
    assert_eq!(searches, ["c", "cr", "cro", "crox", "cro"]);

    // The keyboard is drawn over the bottom of the window.
    let img = ui.render().unwrap();
    assert_ne!(
        img.pixel(640, 795).unwrap(),
        img.pixel(640, 400).unwrap(),
        "keyboard at the bottom"
    );

    // The manual barcode field: digits and Enter add the item.
    ui.tap(560.0, 128.0);
    assert!(kb());
    press(&ui, &["4", "0", "0", "6", "enter"]);
    let adds: Vec<(String, AddSource)> = drain(&rx)
        .into_iter()
        .filter_map(|a| match a {
            Action::AddItem { code, source } => Some((code, source)),
            _ => None,
        })
        .collect();
    assert_eq!(adds, [("4006".to_string(), AddSource::Scan)]);

    // Hide: the field lets go of the focus and the keyboard goes away.
    let w = ui.ui().window();
    let st = w.global::<KeyboardState<'_>>();
    st.set_dismiss(st.get_dismiss() + 1);
    let _ = ui.render().unwrap();
    assert!(!kb());
    press(&ui, &["9"]);
    assert!(
        drain(&rx).is_empty(),
        "with no field focused a key goes nowhere"
    );

    // A page change with a field focused takes the keyboard away too.
    ui.tap(200.0, 128.0);
    assert!(kb());
    w.global::<keel_ui::generated::UiState<'_>>()
        .set_page(keel_ui::generated::Page::Tender);
    let _ = ui.render().unwrap();
    assert!(!kb(), "no keyboard over the next page");
}

/// The sale screen with the keyboard up, at the two sizes every screen is
/// checked at (reference images in tests/screenshots/, shown in docs/ui.md).
#[test]
fn keyboard_screenshots() {
    use keel_ui::screenshot::{check, Outcome, Tolerance};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    let mut failures = Vec::new();
    for (w, h) in [(1024u32, 768u32), (1280, 800)] {
        let (ui, _rx) = HeadlessUi::with_channel(w, h).unwrap();
        ui.ui().show(demo::sale());
        let _ = ui.render().unwrap();
        ui.tap(150.0, 128.0);
        press(&ui, &["c", "r", "o"]);
        let image = ui.render().unwrap();
        match check(
            &format!("sale-keyboard-{w}x{h}"),
            &image,
            &dir,
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
