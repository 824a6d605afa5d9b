//! Translations: every translatable text in the sources (`@tr` in ui/*.slint,
//! `tr`/`trf`/`trn` in the Rust that builds screen texts) has an Indonesian
//! translation with the same placeholders, the template is current, and a
//! screen selected to Indonesian shows Indonesian (texts built in Rust, read
//! back from the window's properties; the `@tr` texts, by the rendered
//! pixels changing and changing back when the language does).

use keel_ui::demo;
use keel_ui::generated::UiState;
use keel_ui::headless::HeadlessUi;
use keel_ui::i18n::{self, extract, po};
use keel_ui::image::Image;
use keel_ui::screenshot::{compare, Tolerance};
use slint::{ComponentHandle, Model};
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn catalogue(lang: &str) -> Vec<po::PoEntry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("lang")
        .join(lang)
        .join("LC_MESSAGES/keel-ui.po");
    let text = std::fs::read_to_string(&path).unwrap();
    po::parse(&text).unwrap()
}

/// The placeholders of a template (`{}`, `{0}`, `{n}`), sorted.
fn placeholders(s: &str) -> Vec<String> {
    let s = s.replace("{{", "").replace("}}", "");
    let mut out = Vec::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find('{') {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        out.push(rest[i..=i + end].to_string());
        rest = &rest[i + end + 1..];
    }
    out.sort();
    out
}

/// The bottom `rows` rows of an image.
fn bottom(image: &Image, rows: u32) -> Image {
    let (w, h) = (image.width(), image.height());
    let start = ((h - rows) * w * 4) as usize;
    Image::new(w, rows, image.rgba()[start..].to_vec())
}

#[test]
fn every_text_has_an_indonesian_translation_with_its_placeholders() {
    let messages = extract::extract_tree(&workspace()).unwrap();
    assert!(
        messages.len() > 40,
        "only {} texts found: is the extractor reading ui/?",
        messages.len()
    );
    let id = catalogue("id");
    let missing: Vec<String> = extract::untranslated(&messages, &id)
        .iter()
        .map(|m| format!("{:?} ({})", m.msgid, m.references.join(" ")))
        .collect();
    assert!(
        missing.is_empty(),
        "untranslated in lang/id (run `cargo xtask i18n --merge` and translate):\n{}",
        missing.join("\n")
    );
    for m in &messages {
        let entry = id
            .iter()
            .find(|e| e.context == m.context && e.msgid == m.msgid)
            .unwrap();
        for form in &entry.msgstr {
            assert_eq!(
                placeholders(form),
                placeholders(&m.msgid),
                "placeholders of {:?} in its translation {form:?}",
                m.msgid
            );
        }
    }
}

#[test]
fn the_template_is_current() {
    let messages = extract::extract_tree(&workspace()).unwrap();
    let pot =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lang/keel-ui.pot"))
            .unwrap();
    assert!(
        pot == extract::pot(&messages, "keel-ui"),
        "lang/keel-ui.pot is out of date: run `cargo xtask i18n`"
    );
}

#[test]
fn indonesian_screens_show_indonesian() {
    let (ui, _rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    ui.ui().show(demo::sale());
    let english = ui.render().unwrap();
    let state = ui.ui().window().global::<UiState<'_>>();
    assert_eq!(state.get_status().cloud.label, "Offline");
    assert_eq!(state.get_totals().items, "3 items");

    // Selected while the window is up: the @tr texts switch at once, the
    // texts built in Rust with the next snapshot.
    i18n::select_language("id").unwrap();
    assert_eq!(i18n::language(), "id");
    ui.ui().show(demo::sale());
    assert_eq!(state.get_status().cloud.label, "Luring");
    assert_eq!(state.get_status().pending.label, "12 belum sinkron");
    assert_eq!(state.get_totals().items, "3 barang");
    assert!(state.get_grid_title().ends_with("9 produk"));
    let indonesian = ui.render().unwrap();
    // The bottom row holds only @tr texts ("Cancel sale", "Pay {}").
    let diff = compare(
        &bottom(&indonesian, 72),
        &bottom(&english, 72),
        Tolerance::default(),
    );
    assert!(
        !diff.within(Tolerance::default()),
        "the @tr buttons did not change in Indonesian"
    );

    // The receipt preview's title and the PIN pad's.
    ui.ui().show(demo::idle());
    assert!(state.get_receipt_title().starts_with("Struk "));
    assert!(state.get_receipt().row_count() > 0);

    // And back: the same pixels as before.
    i18n::select_language("en").unwrap();
    ui.ui().show(demo::sale());
    assert_eq!(state.get_status().cloud.label, "Offline");
    let again = ui.render().unwrap();
    let diff = compare(&again, &english, Tolerance::default());
    assert!(
        diff.within(Tolerance::default()),
        "back in English the screen differs: {diff:?}"
    );
}

#[test]
fn a_window_created_after_selecting_shows_the_language() {
    i18n::select_language("id_ID.UTF-8").unwrap();
    let (ui, _rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    ui.ui().show(demo::sale());
    let state = ui.ui().window().global::<UiState<'_>>();
    assert_eq!(state.get_status().printer.label, "Printer siap");
    assert_eq!(state.get_status().cluster.label, "Pemimpin T01, 2/2 rekan");
}

#[test]
fn an_unknown_language_is_refused_and_changes_nothing() {
    i18n::select_language("id").unwrap();
    let err = i18n::select_language("fr").unwrap_err();
    assert_eq!(err.to_string(), "unknown language `fr` (available: en, id)");
    assert_eq!(i18n::language(), "id");
    assert_eq!(i18n::languages(), vec!["en", "id"]);
}
