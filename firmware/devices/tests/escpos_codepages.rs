//! Code pages through the encoder and back through the decoder: the euro
//! sign, accented letters, box drawing, and `?` for what a page lacks.

use keel_devices::escpos::codepage::REPLACEMENT;
use keel_devices::escpos::{decode, CodePage, Encoder};
use proptest::prelude::*;

/// Prints `text` on `page` and reads the line back.
fn round_trip(page: CodePage, text: &str) -> (Vec<u8>, String) {
    let mut e = Encoder::new(Vec::new());
    e.code_page(page).unwrap().line(text).unwrap();
    let bytes = e.into_inner();
    let d = decode(&bytes).unwrap();
    assert_eq!(d.code_pages, [page.esc_t()]);
    assert_eq!(d.unknown, 0);
    (bytes, d.lines[0].text.clone())
}

/// Text bytes only: drops the 3-byte `ESC t n` and the final LF.
fn text_bytes(bytes: &[u8]) -> &[u8] {
    &bytes[3..bytes.len() - 1]
}

#[test]
fn euro_sign_per_page() {
    let (b, t) = round_trip(CodePage::Cp858, "€");
    assert_eq!((text_bytes(&b), t.as_str()), (&[0xD5][..], "€"));
    let (b, t) = round_trip(CodePage::Wpc1252, "€");
    assert_eq!((text_bytes(&b), t.as_str()), (&[0x80][..], "€"));
    let (b, t) = round_trip(CodePage::Cp437, "€");
    assert_eq!((text_bytes(&b), t.as_str()), (&[REPLACEMENT][..], "?"));
}

#[test]
fn accented_letters_on_every_page() {
    // ü é ñ are on all three pages, at different bytes.
    let expect = [
        (CodePage::Cp437, [0x81, 0x82, 0xA4]),
        (CodePage::Cp858, [0x81, 0x82, 0xA4]),
        (CodePage::Wpc1252, [0xFC, 0xE9, 0xF1]),
    ];
    for (page, bytes) in expect {
        let (b, t) = round_trip(page, "üéñ");
        assert_eq!(text_bytes(&b), bytes, "{page}");
        assert_eq!(t, "üéñ", "{page}");
    }
}

#[test]
fn box_drawing() {
    let boxes = "┌─┐│└┘═║╔╗╚╝░▒▓█";
    let (_, t) = round_trip(CodePage::Cp437, boxes);
    assert_eq!(t, boxes);
    // CP858 gave up the mixed single/double boxes for letters but keeps these.
    let (_, t) = round_trip(CodePage::Cp858, boxes);
    assert_eq!(t, boxes);
    // Windows-1252 has no box drawing at all.
    let (_, t) = round_trip(CodePage::Wpc1252, boxes);
    assert_eq!(t, "?".repeat(boxes.chars().count()));
}

#[test]
fn characters_a_page_lacks_print_as_question_marks() {
    // CP437 lacks the euro sign, ø, Ã; CP858 lacks the Greek letters of
    // CP437; WPC1252 lacks box drawing; none has CJK or emoji.
    let cases = [
        (CodePage::Cp437, "€øÃ", "???"),
        (CodePage::Cp858, "αΣπ", "???"),
        (CodePage::Wpc1252, "╬▒", "??"),
        (CodePage::Cp858, "饭🙂", "??"),
    ];
    for (page, text, want) in cases {
        let (b, t) = round_trip(page, text);
        assert_eq!(t, want, "{page} {text}");
        assert_eq!(text_bytes(&b).len(), text.chars().count(), "one byte each");
    }
}

#[test]
fn typographic_characters_on_wpc1252() {
    let s = "“Keel” – 5 € • Œuvre";
    let (_, t) = round_trip(CodePage::Wpc1252, s);
    assert_eq!(t, s);
    let (_, t) = round_trip(CodePage::Cp858, s);
    assert_eq!(t, "?Keel? ? 5 € ? ?uvre");
}

#[test]
fn names_and_numbers() {
    for page in CodePage::ALL {
        assert_eq!(CodePage::from_name(page.name()), Some(page));
        assert_eq!(CodePage::from_esc_t(page.esc_t()), Some(page));
    }
    assert_eq!(CodePage::from_name("Windows-1252"), Some(CodePage::Wpc1252));
    assert_eq!(
        [
            CodePage::Cp437.esc_t(),
            CodePage::Cp858.esc_t(),
            CodePage::Wpc1252.esc_t()
        ],
        [0, 19, 16]
    );
}

proptest! {
    /// Any text: one byte per character, and what the page has comes back
    /// unchanged while everything else comes back as `?`.
    #[test]
    fn any_text_round_trips_or_is_replaced(text in "[^\n\t]{0,40}", which in 0usize..3) {
        let page = CodePage::ALL[which];
        let mut e = Encoder::new(Vec::new());
        e.code_page(page).unwrap().line(&text).unwrap();
        let bytes = e.into_inner();
        prop_assert_eq!(bytes.len(), 3 + text.chars().count() + 1);
        let d = decode(&bytes).unwrap();
        let want: String = text.chars().map(|c| if page.has(c) { c } else { '?' }).collect();
        prop_assert_eq!(d.lines.len(), 1);
        prop_assert_eq!(&d.lines[0].text, &want);
    }
}
