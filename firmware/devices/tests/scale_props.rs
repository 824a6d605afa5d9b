//! Property tests: scale frame parsing never panics on any bytes, and every
//! reading the encoders can send comes back unchanged through the framer.

use keel_devices::scale::{cas, toledo, FrameParser, ScaleProtocol, ScaleReading, ScaleState};
use proptest::prelude::*;

const PROTOCOLS: [ScaleProtocol; 4] = [
    ScaleProtocol::ToledoContinuous,
    ScaleProtocol::Toledo8217,
    ScaleProtocol::CasContinuous,
    ScaleProtocol::CasRequest,
];

fn state() -> impl Strategy<Value = ScaleState> {
    prop_oneof![
        Just(ScaleState::Stable),
        Just(ScaleState::Unstable),
        Just(ScaleState::Zero),
        Just(ScaleState::Overload),
        Just(ScaleState::UnderZero),
    ]
}

/// Bytes that look like frames often enough to reach the parsers.
fn noisy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            Just(0x02u8),
            Just(b'\r'),
            Just(b'\n'),
            Just(b','),
            Just(b'.'),
            prop::sample::select(b"0123456789STUGOLNkgb +-?".to_vec()),
        ],
        0..3_000,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn framer_never_panics(bytes in noisy()) {
        for protocol in PROTOCOLS {
            let mut p = FrameParser::new(protocol);
            for b in &bytes {
                let _ = p.push(*b);
            }
        }
        let _ = toledo::parse_continuous(&bytes);
        let _ = toledo::parse_demand(&bytes);
        let _ = cas::parse(&bytes);
    }

    #[test]
    fn encoded_readings_come_back(state in state(), grams in -999_999i64..=999_999) {
        let grams = match state {
            ScaleState::Zero => 0,
            ScaleState::Stable => grams.abs().max(1),
            ScaleState::UnderZero => -(grams.abs()),
            ScaleState::Overload => 0,
            ScaleState::Unstable => grams,
        };
        let r = ScaleReading { state, grams };
        // Toledo continuous carries every state and weight.
        let mut p = FrameParser::new(ScaleProtocol::ToledoContinuous);
        let got: Vec<_> = toledo::encode_continuous(&r).iter().filter_map(|b| p.push(*b)).collect();
        prop_assert_eq!(got, vec![Ok(r)]);
        // CAS carries the weight except under overload.
        let mut p = FrameParser::new(ScaleProtocol::CasContinuous);
        let got: Vec<_> = cas::encode(&r).iter().filter_map(|b| p.push(*b)).collect();
        prop_assert_eq!(got, vec![Ok(r)]);
    }
}
