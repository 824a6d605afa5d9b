//! Barcodes to the key events a scanner sends, with the delay before each
//! (pure: no device, no clock).

use keel_devices::scanner::keymap::Layout;
use keel_devices::scanner::record::{Recorder, Timing};
use keel_devices::scanner::{InputEvent, Terminator};
use std::time::Duration;

/// One event to write and how long to wait before writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The wait since the previous event.
    pub wait: Duration,
    /// The event (its timestamp is ignored by uinput: the kernel stamps it).
    pub event: InputEvent,
}

/// Why a barcode cannot be typed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A character the layout has no key for, or an empty barcode.
    #[error("cannot type barcode `{code}` on the {layout:?} layout: {why}")]
    Untypeable {
        /// The barcode.
        code: String,
        /// The layout.
        layout: Layout,
        /// What is wrong.
        why: String,
    },
}

/// The paced events that type `code` then Enter, as a scanner does.
pub fn scan_steps(code: &str, layout: Layout, seed: u64) -> Result<Vec<Step>, PlanError> {
    let untypeable = |why: String| PlanError::Untypeable {
        code: code.to_string(),
        layout,
        why,
    };
    if code.is_empty() {
        return Err(untypeable("empty".into()));
    }
    let mut rec = Recorder::new(layout, Timing::scanner(seed), 0);
    rec.scan(code, Terminator::Enter)
        .map_err(|e| untypeable(e.to_string()))?;
    let mut last = 0i64;
    Ok(rec
        .events()
        .iter()
        .map(|e| {
            let at = e.at_us();
            let wait = Duration::from_micros(u64::try_from(at - last).unwrap_or(0));
            last = at;
            Step { wait, event: *e }
        })
        .collect())
}

/// Every key code the steps press (for `UI_SET_KEYBIT`), sorted, once each.
pub fn key_codes(steps: &[Step]) -> Vec<u16> {
    let mut codes: Vec<u16> = steps
        .iter()
        .filter(|s| s.event.kind == crate::uinput::EV_KEY)
        .map(|s| s.event.code)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_devices::scanner::{ScanDecoder, ScanOutcome, ScannerConfig};

    #[test]
    fn the_steps_decode_back_to_the_barcode_as_a_scan() {
        let steps = scan_steps("4006381333931", Layout::Us, 7).unwrap();
        let mut decoder = ScanDecoder::new(ScannerConfig::default());
        let mut got = Vec::new();
        for s in &steps {
            if let Some(out) = decoder.feed(&s.event) {
                got.push(out);
            }
        }
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            matches!(&got[0], ScanOutcome::Scan { code, .. } if code == "4006381333931"),
            "{got:?}"
        );
        // A scanner types fast: the whole scan well under a second.
        let total: Duration = steps.iter().map(|s| s.wait).sum();
        assert!(total < Duration::from_millis(500), "{total:?}");
    }

    #[test]
    fn the_keys_of_a_scan_include_shift_and_enter() {
        let steps = scan_steps("Ab1", Layout::Us, 1).unwrap();
        let codes = key_codes(&steps);
        for code in [30u16, 48, 2, 42, 28] {
            assert!(codes.contains(&code), "{code} in {codes:?}");
        }
    }

    #[test]
    fn empty_and_untypeable_barcodes_are_refused() {
        assert!(scan_steps("", Layout::Us, 1).is_err());
        assert!(scan_steps("caf\u{e9}", Layout::Us, 1).is_err());
    }
}
