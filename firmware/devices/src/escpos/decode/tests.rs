//! Decoder unit tests: hand-written byte streams, including ones Keel's own
//! encoder never produces.

use super::*;

#[test]
fn text_styles_and_alignment() {
    let bytes = b"\x1b@\x1ba\x01\x1bE\x01\x1d!\x11Shop\n\x1bE\x00\x1d!\x00\x1ba\x00plain\n\n";
    let d = decode(bytes).unwrap();
    assert_eq!(d.texts(), ["Shop", "plain", ""]);
    let shop = &d.lines[0];
    assert!(shop.bold && shop.double_width && shop.double_height);
    assert_eq!(shop.align, Align::Center);
    assert!(!d.lines[1].bold && d.lines[1].align == Align::Left);
    assert_eq!(d.unknown, 0);
}

#[test]
fn esc_bang_and_code_pages() {
    let d = decode(b"\x1b!\x38\x1bt\x13\xd5 5\n\x1bt\x10\x80\x81\n\x1bt\x02\x80\n").unwrap();
    assert_eq!(d.texts(), ["€ 5", "€\u{FFFD}", "\u{FFFD}"]);
    assert!(d.lines[0].bold && d.lines[0].double_width && d.lines[0].double_height);
    assert_eq!(d.code_pages, [19, 16, 2]);
}

#[test]
fn feeds_cuts_kicks() {
    let d = decode(b"a\x1bd\x03\x1bp\x00\x19\xfa\x1dVB\x00x\x1dV\x01\x10\x14\x01\x01\x02").unwrap();
    assert_eq!(d.texts(), ["a", "", "", "x"]);
    assert_eq!(d.cuts, [CutKind::Partial, CutKind::Partial]);
    assert_eq!(
        d.kicks,
        [(DrawerPin::Pin2, 50, 500), (DrawerPin::Pin5, 200, 200)]
    );
    let kick = d.position(|e| matches!(e, Element::Kick(0))).unwrap();
    let cut = d.position(|e| matches!(e, Element::Cut(0))).unwrap();
    assert!(kick < cut);
}

#[test]
fn qr_barcode_image() {
    let mut b = b"\x1d(k\x06\x001P0ABC\x1d(k\x03\x001Q0".to_vec();
    b.extend_from_slice(b"\x1dkC\x0c400638133393");
    b.extend_from_slice(b"\x1dk\x04KEEL\x00");
    b.extend_from_slice(b"\x1dv0\x00\x02\x00\x03\x00\xff\xff\xff\xff\xff\xff");
    let d = decode(&b).unwrap();
    assert_eq!(d.qr_codes, ["ABC"]);
    assert_eq!(
        d.barcodes,
        [
            (BarcodeKind::Ean13, "4006381333931".to_string()),
            (BarcodeKind::Code39, "KEEL".to_string())
        ]
    );
    assert_eq!(d.images, [(16, 3)]);
}

#[test]
fn truncated_commands_are_errors_with_what_came_before() {
    let (d, e) = decode_partial(b"ok\n\x1d(k\x10\x0031P0AB");
    assert_eq!(d.texts(), ["ok"]);
    assert_eq!(
        e,
        Some(DecodeError::Truncated {
            offset: 3,
            command: "GS ("
        })
    );
    assert!(decode(b"\x1b").is_err());
    assert!(decode(b"\x1dv0\x00\xff\xff\xff\xff").is_err());
}

#[test]
fn unknown_things_are_counted_not_fatal() {
    let d = decode(b"\x1b\x01x\x00\x1d\x02\x1bt").unwrap_err();
    assert!(matches!(d, DecodeError::Truncated { .. }));
    let d = decode(b"\x1b\x01x\x07y\n").unwrap();
    assert_eq!(d.texts(), ["xy"]);
    assert_eq!(d.unknown, 2);
}

#[test]
fn status_requests_and_kanji_are_not_text() {
    let d = decode(b"\x10\x04\x01\x1c.\x1c&A\n").unwrap();
    assert_eq!(d.status_requests, [1]);
    assert_eq!(d.texts(), ["A"]);
}

#[test]
fn init_discards_the_buffer_and_resets_the_page() {
    let d = decode(b"\x1bt\x13lost\x1b@\xd5\n").unwrap();
    assert_eq!(d.texts(), ["\u{2552}"]);
}

#[test]
fn tabs_expand_to_stops() {
    let d = decode(b"ab\tc\n").unwrap();
    assert_eq!(d.texts(), ["ab      c"]);
}
