//! Making recordings: text to the key events a scanner (or a person) would
//! produce, with realistic, seeded timings.
//!
//! This module owns the synthetic side only (recordings committed under
//! `tests/recordings/`, tests, demo streams for the terminal). It must not be
//! used to decode anything; what it writes goes through the same decoder as a
//! real device.
//!
//! Each key is what a USB HID keyboard reports: `MSC_SCAN` with the HID
//! usage, the key press, `SYN_REPORT`, later the release and `SYN_REPORT`.
//! Shift or AltGr goes down before the key and up after it.

use super::decoder::Terminator;
use super::event::{write_events, InputEvent, EV_MSC, KEY_PRESS, KEY_RELEASE};
use super::keymap::{
    Layout, KEY_CAPSLOCK, KEY_ENTER, KEY_LEFTSHIFT, KEY_RIGHTALT, KEY_RIGHTSHIFT, KEY_TAB,
};
use std::io::{self, Write};
use thiserror::Error;

/// `EV_MSC` code carrying the HID usage of the key.
const MSC_SCAN: u16 = 4;

/// Errors making a recording.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    /// The layout has no key for a character.
    #[error("layout {layout:?} cannot type {ch:?}")]
    Untypeable {
        /// The layout.
        layout: Layout,
        /// The character.
        ch: char,
    },
}

/// How fast keys come, in microseconds; each gap is `gap_min_us` plus a
/// seeded random part below `gap_jitter_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Shortest time from one key press to the next.
    pub gap_min_us: i64,
    /// Random extra time on top of the shortest gap.
    pub gap_jitter_us: i64,
    /// How long each key is held down.
    pub hold_us: i64,
    /// Time between a modifier going down and the key going down.
    pub modifier_lead_us: i64,
    /// Seed of the jitter.
    pub seed: u64,
}

impl Timing {
    /// A USB scanner in keyboard mode: a key every 2 to 6 ms.
    pub fn scanner(seed: u64) -> Self {
        Timing {
            gap_min_us: 2_000,
            gap_jitter_us: 4_000,
            hold_us: 1_000,
            modifier_lead_us: 200,
            seed,
        }
    }

    /// A person typing: a key every 150 to 400 ms.
    pub fn person(seed: u64) -> Self {
        Timing {
            gap_min_us: 150_000,
            gap_jitter_us: 250_000,
            hold_us: 90_000,
            modifier_lead_us: 40_000,
            seed,
        }
    }
}

/// Builds a recording key by key.
#[derive(Debug, Clone)]
pub struct Recorder {
    layout: Layout,
    timing: Timing,
    now_us: i64,
    rng: u64,
    right_shift: bool,
    events: Vec<InputEvent>,
}

impl Recorder {
    /// A recording starting at `start_us` (microseconds on the event clock).
    pub fn new(layout: Layout, timing: Timing, start_us: i64) -> Self {
        Recorder {
            layout,
            timing,
            now_us: start_us,
            rng: timing.seed | 1,
            right_shift: false,
            events: Vec::new(),
        }
    }

    /// Changes the timing from the next key on.
    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
    }

    /// Uses the right shift key instead of the left from the next key on.
    pub fn set_right_shift(&mut self, right: bool) {
        self.right_shift = right;
    }

    /// Lets `ms` milliseconds pass.
    pub fn pause_ms(&mut self, ms: i64) {
        self.now_us = self.now_us.saturating_add(ms.saturating_mul(1_000));
    }

    /// Types `text` (no terminator).
    pub fn type_text(&mut self, text: &str) -> Result<(), RecordError> {
        for ch in text.chars() {
            let chord = self.layout.chord_for(ch).ok_or(RecordError::Untypeable {
                layout: self.layout,
                ch,
            })?;
            let modifier = if chord.altgr {
                Some(KEY_RIGHTALT)
            } else if chord.shift && self.right_shift {
                Some(KEY_RIGHTSHIFT)
            } else if chord.shift {
                Some(KEY_LEFTSHIFT)
            } else {
                None
            };
            self.key(chord.code, modifier);
        }
        Ok(())
    }

    /// Presses the terminator.
    pub fn terminate(&mut self, terminator: Terminator) {
        let code = match terminator {
            Terminator::Enter => KEY_ENTER,
            Terminator::Tab => KEY_TAB,
        };
        self.key(code, None);
    }

    /// Types `text` then the terminator: one scan.
    pub fn scan(&mut self, text: &str, terminator: Terminator) -> Result<(), RecordError> {
        self.type_text(text)?;
        self.terminate(terminator);
        Ok(())
    }

    /// Presses and releases caps lock.
    pub fn toggle_caps_lock(&mut self) {
        self.key(KEY_CAPSLOCK, None);
    }

    /// Presses and releases one key, with a modifier held around it.
    pub fn key(&mut self, code: u16, modifier: Option<u16>) {
        let t = self.now_us;
        let lead = if modifier.is_some() {
            self.timing.modifier_lead_us
        } else {
            0
        };
        if let Some(m) = modifier {
            self.report(t, m, KEY_PRESS);
        }
        let down = t.saturating_add(lead);
        self.report(down, code, KEY_PRESS);
        let up = down.saturating_add(self.timing.hold_us);
        self.report(up, code, KEY_RELEASE);
        if let Some(m) = modifier {
            self.report(up.saturating_add(lead / 2), m, KEY_RELEASE);
        }
        let jitter = match self.timing.gap_jitter_us {
            j if j > 0 => i64::try_from(self.next_random() % j.unsigned_abs()).unwrap_or(0),
            _ => 0,
        };
        let gap = self.timing.gap_min_us.saturating_add(jitter);
        // The next key starts after this one is fully released.
        self.now_us = down
            .saturating_add(gap)
            .max(up.saturating_add(lead).saturating_add(1));
    }

    fn report(&mut self, at_us: i64, code: u16, value: i32) {
        if let Some(usage) = hid_usage(code) {
            self.events
                .push(InputEvent::at(at_us, EV_MSC, MSC_SCAN, 0x7_0000 | usage));
        }
        self.events.push(InputEvent::key(at_us, code, value));
        self.events.push(InputEvent::syn(at_us));
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: deterministic, so recordings regenerate byte for byte.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// The events so far.
    pub fn events(&self) -> &[InputEvent] {
        &self.events
    }

    /// The time the next key would start at.
    pub fn now_us(&self) -> i64 {
        self.now_us
    }

    /// The recording as 24-byte records.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.events.len() * super::event::EVENT_SIZE);
        // Writing to a Vec cannot fail.
        let _ = write_events(&mut out, &self.events);
        out
    }

    /// Writes the recording.
    pub fn write_to<W: Write>(&self, out: &mut W) -> io::Result<()> {
        write_events(out, &self.events)
    }
}

/// The HID usage a USB keyboard reports for a Linux key code.
fn hid_usage(code: u16) -> Option<i32> {
    if let Some(c) = Layout::Us.char_for(code, false, false, false) {
        if c.is_ascii_lowercase() && (16..=50).contains(&code) {
            return Some(0x04 + (c as i32 - 'a' as i32));
        }
    }
    Some(match code {
        2..=10 => 0x1e + i32::from(code - 2),
        11 => 0x27,
        KEY_ENTER => 0x28,
        1 => 0x29,
        14 => 0x2a,
        KEY_TAB => 0x2b,
        57 => 0x2c,
        12 => 0x2d,
        13 => 0x2e,
        26 => 0x2f,
        27 => 0x30,
        43 => 0x31,
        39 => 0x33,
        40 => 0x34,
        41 => 0x35,
        51 => 0x36,
        52 => 0x37,
        53 => 0x38,
        KEY_CAPSLOCK => 0x39,
        86 => 0x64,
        29 => 0xe0,
        KEY_LEFTSHIFT => 0xe1,
        56 => 0xe2,
        97 => 0xe4,
        KEY_RIGHTSHIFT => 0xe5,
        KEY_RIGHTALT => 0xe6,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::decoder::{ScanDecoder, ScanOutcome, ScannerConfig};
    use super::*;

    #[test]
    fn recorded_scans_decode() {
        let mut r = Recorder::new(Layout::German, Timing::scanner(7), 1_000_000);
        r.scan("Zy-ß@", Terminator::Enter).unwrap();
        let mut d = ScanDecoder::new(ScannerConfig {
            layout: Layout::German,
            ..Default::default()
        });
        let out: Vec<_> = r.events().iter().filter_map(|e| d.feed(e)).collect();
        assert!(matches!(&out[..], [ScanOutcome::Scan { code, .. }] if code == "Zy-ß@"));
        assert_eq!(hid_usage(30), Some(0x04));
        assert_eq!(hid_usage(44), Some(0x1d));
        assert_eq!(
            Recorder::new(Layout::Us, Timing::scanner(1), 0).type_text("ß"),
            Err(RecordError::Untypeable {
                layout: Layout::Us,
                ch: 'ß'
            })
        );
    }
}
