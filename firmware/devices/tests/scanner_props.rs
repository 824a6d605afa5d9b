//! Property tests: the scanner's decoders never panic on anything, and what
//! a scanner types at scanner speed decodes to exactly itself.

use keel_devices::scanner::decoder::MAX_CODE_LEN;
use keel_devices::scanner::event::{parse_events, EventBuffer, InputEvent, EVENT_SIZE};
use keel_devices::scanner::record::{Recorder, Timing};
use keel_devices::scanner::serial::LineDecoder;
use keel_devices::scanner::source::decode_reader;
use keel_devices::scanner::{
    Layout, ScanDecoder, ScanOutcome, ScannerConfig, SerialScannerConfig, Terminator,
};
use proptest::prelude::*;

fn configs() -> Vec<ScannerConfig> {
    vec![
        ScannerConfig::default(),
        ScannerConfig {
            layout: Layout::German,
            prefix: "]".into(),
            suffix: "ß".into(),
            terminator: Terminator::Tab,
            max_gap_ms: 0,
            min_len: 0,
        },
        ScannerConfig {
            max_gap_ms: u32::MAX,
            min_len: usize::MAX,
            ..Default::default()
        },
    ]
}

/// Events biased towards plausible ones (key codes that type, small values,
/// close timestamps) with wild ones mixed in.
fn event() -> impl Strategy<Value = InputEvent> {
    prop_oneof![
        (0i64..5_000_000, 0u16..130, 0i32..3).prop_map(|(t, c, v)| InputEvent::key(t, c, v)),
        (0i64..5_000_000).prop_map(InputEvent::syn),
        (
            any::<i64>(),
            any::<i64>(),
            any::<u16>(),
            any::<u16>(),
            any::<i32>()
        )
            .prop_map(|(sec, usec, kind, code, value)| InputEvent {
                sec,
                usec,
                kind,
                code,
                value
            }),
    ]
}

fn check_outcomes(config: &ScannerConfig, out: &[ScanOutcome]) {
    for o in out {
        if let ScanOutcome::Scan { code, .. } = o {
            let n = code.chars().count();
            assert!(n >= config.min_len && n <= MAX_CODE_LEN);
            assert!(!code.contains(['\n', '\t']));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoder_never_panics_on_any_events(events in prop::collection::vec(event(), 0..400)) {
        for config in configs() {
            let mut d = ScanDecoder::new(config.clone());
            let out: Vec<ScanOutcome> = events.iter().filter_map(|e| d.feed(e)).collect();
            check_outcomes(&config, &out);
        }
    }

    #[test]
    fn decoder_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4_000)) {
        for config in configs() {
            let _ = decode_reader(&bytes[..], config);
        }
        let whole = parse_events(&bytes);
        prop_assert_eq!(whole.is_ok(), bytes.len() % EVENT_SIZE == 0);
    }

    #[test]
    fn records_split_anywhere_reassemble(bytes in prop::collection::vec(any::<u8>(), 0..2_000), cuts in prop::collection::vec(1usize..100, 1..50)) {
        let mut buf = EventBuffer::new();
        let mut got = Vec::new();
        let mut rest = &bytes[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at((*cut).min(rest.len()));
            got.extend(buf.push(piece));
            rest = tail;
        }
        let whole: Vec<InputEvent> = bytes.chunks_exact(EVENT_SIZE)
            .map(|c| InputEvent::from_bytes(c.try_into().unwrap()))
            .collect();
        prop_assert_eq!(got, whole);
        prop_assert_eq!(buf.finish().is_ok(), bytes.len() % EVENT_SIZE == 0);
    }

    #[test]
    fn serial_lines_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        let mut d = LineDecoder::new(SerialScannerConfig { prefix: "]C".into(), suffix: String::new(), min_len: 1 });
        for b in bytes {
            let _ = d.push(b, 0);
        }
    }

    #[test]
    fn scanned_text_decodes_to_itself(
        german in any::<bool>(),
        text in "[A-Za-z0-9 !#$%&()*+,./:;<=>?_-]{4,60}",
        seed in any::<u64>(),
        tab in any::<bool>(),
    ) {
        let layout = if german { Layout::German } else { Layout::Us };
        let terminator = if tab { Terminator::Tab } else { Terminator::Enter };
        let mut r = Recorder::new(layout, Timing::scanner(seed), 1_000_000);
        r.scan(&text, terminator).unwrap();
        let mut d = ScanDecoder::new(ScannerConfig { layout, terminator, ..Default::default() });
        let out: Vec<ScanOutcome> = r.events().iter().filter_map(|e| d.feed(e)).collect();
        prop_assert_eq!(out.len(), 1);
        match &out[0] {
            ScanOutcome::Scan { code, .. } => prop_assert_eq!(code, &text),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn typed_text_is_never_a_scan(text in "[0-9A-Za-z]{4,20}", seed in any::<u64>()) {
        let mut r = Recorder::new(Layout::Us, Timing::person(seed), 1_000_000);
        r.scan(&text, Terminator::Enter).unwrap();
        let mut d = ScanDecoder::new(ScannerConfig::default());
        let out: Vec<ScanOutcome> = r.events().iter().filter_map(|e| d.feed(e)).collect();
        prop_assert!(matches!(&out[..], [ScanOutcome::Rejected { .. }]), "{:?}", out);
    }
}
