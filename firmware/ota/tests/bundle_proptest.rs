//! Properties: no byte string makes the header parser panic, and no single
//! changed, dropped or added byte of a good bundle gets installed.

mod bundle_support;

use bundle_support::*;
use keel_ota::install::install;
use keel_ota::keys::SigningKey;
use keel_ota::manifest::BundleKind;
use keel_ota::verify::{parse_header, read_header, HeaderParse};
use proptest::prelude::*;
use std::sync::OnceLock;

fn fixture() -> &'static (SigningKey, Vec<u8>) {
    static FIXTURE: OnceLock<(SigningKey, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = key();
        let bundle = firmware_bundle(&key, &spec(BundleKind::Firmware, "1.2.0"), &bytes(3000, 9));
        (key, bundle)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (key, _) = fixture();
        let _ = read_header(&mut &data[..], &policy(key, "1.0.0"));
        let _ = parse_header(&data);
    }

    #[test]
    fn bytes_after_a_valid_prefix_never_panic(
        cut in 0usize..200,
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let (key, bundle) = fixture();
        let mut data = bundle[..cut.min(bundle.len())].to_vec();
        data.extend_from_slice(&tail);
        let mut sink = Recorder::new(BundleKind::Firmware);
        let result = install(&mut &data[..], &policy(key, "1.0.0"), &mut sink);
        prop_assert!(result.is_err());
        prop_assert!(!sink.committed());
    }

    #[test]
    fn every_single_byte_change_is_refused(at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let (key, bundle) = fixture();
        let mut data = bundle.clone();
        let at = at.index(data.len());
        data[at] ^= xor;
        let mut sink = Recorder::new(BundleKind::Firmware);
        let result = install(&mut &data[..], &policy(key, "1.0.0"), &mut sink);
        prop_assert!(result.is_err(), "byte {} ^ {:#x} installed", at, xor);
        prop_assert!(!sink.committed());
        if at < payload_offset(bundle) {
            prop_assert!(sink.calls.is_empty(), "header byte {} changed, sink saw {:?}", at, sink.calls);
        } else {
            prop_assert!(sink.aborted());
        }
    }
}

#[test]
fn the_parser_asks_for_exactly_the_header() {
    let (_, bundle) = fixture();
    let end = payload_offset(bundle);
    let mut have = 0;
    let mut asks = Vec::new();
    loop {
        match parse_header(&bundle[..have]).unwrap() {
            HeaderParse::NeedMore { total, part } => {
                assert!(total > have);
                asks.push((total, part.to_string()));
                have = total;
            }
            HeaderParse::Complete(raw) => {
                assert_eq!(raw.len(), end as u64);
                break;
            }
        }
    }
    let parts: Vec<&str> = asks.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(parts, ["magic", "header length", "manifest", "signature"]);
    assert_eq!(asks.last().unwrap().0, end);
}
