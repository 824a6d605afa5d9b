//! The decoder never panics: arbitrary bytes, bytes built from command
//! prefixes, every prefix of a real job and mutated jobs all give a
//! `Decoded` or a `DecodeError`.

use keel_devices::escpos::decode::{decode, decode_partial, DecodeError};
use keel_devices::escpos::{test_page, LayoutOptions, PaperWidth};
use proptest::prelude::*;

/// Pieces that steer random input into the command parsers.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        Just(vec![0x1B]),
        Just(vec![0x1D]),
        Just(vec![0x1C]),
        Just(vec![0x10]),
        Just(vec![0x0A]),
        Just(b"\x1d(k".to_vec()),
        Just(b"\x1d(k\x03\x001Q0".to_vec()),
        Just(b"\x1dv0\x00".to_vec()),
        Just(b"\x1dk".to_vec()),
        Just(b"\x1dV".to_vec()),
        Just(b"\x1b*".to_vec()),
        Just(b"\x1b&".to_vec()),
        Just(b"\x1cq".to_vec()),
        Just(b"\x1d8L".to_vec()),
        Just(b"\x10\x14".to_vec()),
        Just(b"\x1bt".to_vec()),
    ]
}

fn check(bytes: &[u8]) {
    let (partial, err) = decode_partial(bytes);
    match decode(bytes) {
        Ok(d) => {
            assert!(err.is_none());
            assert_eq!(d, partial);
        }
        Err(e) => {
            assert_eq!(Some(e.clone()), err);
            let DecodeError::Truncated { offset, .. } = e;
            assert!(offset < bytes.len());
        }
    }
    // The view never panics either.
    let _ = partial.to_string();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }

    #[test]
    fn command_soup(pieces in prop::collection::vec(piece(), 0..64)) {
        check(&pieces.concat());
    }

    #[test]
    fn mutated_test_page(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = test_page(&LayoutOptions::new(PaperWidth::Mm58));
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        check(&bytes);
    }
}

#[test]
fn every_prefix_of_a_job_decodes_or_reports_truncation() {
    let job = test_page(&LayoutOptions::new(PaperWidth::Mm80));
    let whole = decode(&job).unwrap();
    for n in 0..job.len() {
        check(&job[..n]);
        let (d, _) = decode_partial(&job[..n]);
        assert!(d.lines.len() <= whole.lines.len() + 1);
    }
}

#[test]
fn huge_length_fields_allocate_nothing() {
    // A raster header claiming 65535 x 65535 bytes with no data.
    let e = decode(b"\x1dv0\x00\xff\xff\xff\xff").unwrap_err();
    assert!(matches!(e, DecodeError::Truncated { offset: 0, .. }));
    let e = decode(b"\x1d8L\xff\xff\xff\xff0p").unwrap_err();
    assert!(matches!(e, DecodeError::Truncated { offset: 0, .. }));
    let e = decode(b"\x1cq\x01\xff\xff\xff\xff").unwrap_err();
    assert!(matches!(e, DecodeError::Truncated { offset: 0, .. }));
}
