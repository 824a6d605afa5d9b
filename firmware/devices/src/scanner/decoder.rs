//! The scan decoder: key events in, whole barcodes out.
//!
//! This module owns framing (prefix, suffix, terminator), the timing rule that
//! tells a scanner from a person typing, and length limits. It is pure: time
//! comes from the events' own timestamps, so a recorded stream decodes the
//! same way every time. It must not read devices or clocks (that is
//! [`super::source`]).
//!
//! # The timing rule
//!
//! Key presses that type something form a *run* while each follows the
//! previous one within `max_gap_ms`. A slower press starts a new run and the
//! unfinished one is dropped (it was typed by hand, or is the tail of a scan
//! cut short). The terminator ends the run: if it too came within
//! `max_gap_ms`, the run is a scan; if it came late the entry is rejected as
//! typed. Releases, modifiers and autorepeats (a held key: a scanner never
//! holds one) do not count as presses. A terminator with nothing before it is
//! ignored. Timestamps that go backwards count as a gap of zero.

use super::event::{InputEvent, EV_KEY, EV_SYN, SYN_DROPPED};
use super::keymap::{Keyboard, Keystroke, Layout};
use serde::{Deserialize, Serialize};

/// Longest code accepted, in characters; longer runs are rejected.
pub const MAX_CODE_LEN: usize = 256;

/// The key that ends a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Terminator {
    /// Enter (main or keypad).
    #[default]
    Enter,
    /// Tab.
    Tab,
}

impl Terminator {
    /// The terminator for a config name: `enter` or `tab`.
    pub fn from_name(name: &str) -> Option<Terminator> {
        match name.trim().to_ascii_lowercase().as_str() {
            "enter" => Some(Terminator::Enter),
            "tab" => Some(Terminator::Tab),
            _ => None,
        }
    }
}

/// How the scanner is programmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// Keyboard layout the scanner types in.
    pub layout: Layout,
    /// Characters the scanner sends before each code (stripped).
    pub prefix: String,
    /// Characters the scanner sends after each code, before the terminator (stripped).
    pub suffix: String,
    /// The key that ends a scan.
    pub terminator: Terminator,
    /// Longest pause between two keys of one scan, in milliseconds.
    pub max_gap_ms: u32,
    /// Shortest code accepted (after stripping), in characters.
    pub min_len: usize,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            layout: Layout::Us,
            prefix: String::new(),
            suffix: String::new(),
            terminator: Terminator::Enter,
            max_gap_ms: 50,
            min_len: 4,
        }
    }
}

/// Why an entry was not taken as a scan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// The terminator came too long after the last key: a person typed it.
    #[error("typed, not scanned: {gap_ms} ms before the terminator (at most {max_gap_ms} ms)")]
    TooSlow {
        /// The pause before the terminator.
        gap_ms: i64,
        /// The configured limit.
        max_gap_ms: u32,
    },
    /// The code is shorter than `min_len`.
    #[error("code too short: {len} characters, at least {min_len}")]
    TooShort {
        /// Characters after stripping prefix and suffix.
        len: usize,
        /// The configured minimum.
        min_len: usize,
    },
    /// The code is longer than [`MAX_CODE_LEN`].
    #[error("code too long: more than {MAX_CODE_LEN} characters")]
    TooLong,
    /// The configured prefix was not at the start.
    #[error("configured prefix missing")]
    MissingPrefix,
    /// The configured suffix was not at the end.
    #[error("configured suffix missing")]
    MissingSuffix,
    /// A serial scanner sent bytes that are not text.
    #[error("not text: control or non-ASCII bytes in the line")]
    NotText,
    /// A different terminator than the configured one ended the entry.
    #[error("ended by the wrong terminator")]
    WrongTerminator,
}

/// What the decoder made of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutcome {
    /// A barcode, prefix and suffix stripped.
    Scan {
        /// The code's characters.
        code: String,
        /// When the terminator was pressed (the event's clock, milliseconds).
        at_ms: i64,
    },
    /// An entry that was not a scan.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

/// Decodes key events into scans; see the module docs for the rule.
#[derive(Debug, Clone)]
pub struct ScanDecoder {
    config: ScannerConfig,
    keyboard: Keyboard,
    run: String,
    run_len: usize,
    overflow: bool,
    last_press_us: Option<i64>,
    dropped_keys: u64,
}

impl ScanDecoder {
    /// A decoder with an empty buffer.
    pub fn new(config: ScannerConfig) -> Self {
        ScanDecoder {
            keyboard: Keyboard::new(config.layout),
            config,
            run: String::new(),
            run_len: 0,
            overflow: false,
            last_press_us: None,
            dropped_keys: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ScannerConfig {
        &self.config
    }

    /// Key presses that typed nothing (unknown keys, dead keys, Ctrl/Alt chords).
    pub fn ignored_keys(&self) -> u64 {
        self.keyboard.ignored_keys()
    }

    /// Characters dropped because a slow key started a new run.
    pub fn dropped_keys(&self) -> u64 {
        self.dropped_keys
    }

    /// Drops the unfinished entry and held modifiers (after a reconnect or
    /// lost events).
    pub fn reset(&mut self) {
        self.clear_run();
        self.last_press_us = None;
        self.keyboard.release_all();
    }

    /// One event; returns an outcome when it ended an entry.
    pub fn feed(&mut self, event: &InputEvent) -> Option<ScanOutcome> {
        match event.kind {
            EV_KEY => {}
            EV_SYN if event.code == SYN_DROPPED => {
                log::warn!("scanner: the kernel dropped events; partial entry discarded");
                self.reset();
                return None;
            }
            _ => return None,
        }
        let stroke = self.keyboard.key(event.code, event.value)?;
        let now = event.at_us();
        let gap_us = self
            .last_press_us
            .map(|last| now.saturating_sub(last).max(0))
            .unwrap_or(0);
        self.last_press_us = Some(now);
        let slow = gap_us > i64::from(self.config.max_gap_ms).saturating_mul(1_000);
        match stroke {
            Keystroke::Char(c) => {
                if slow && self.run_len > 0 {
                    log::debug!(
                        "scanner: {} ms pause, {} typed characters dropped",
                        gap_us / 1_000,
                        self.run_len
                    );
                    self.dropped_keys += self.run_len as u64;
                    self.clear_run();
                }
                self.push(c);
                None
            }
            Keystroke::Enter | Keystroke::Tab => {
                if self.run_len == 0 {
                    return None;
                }
                let outcome = self.finish(stroke, slow, gap_us, event.at_ms());
                self.clear_run();
                Some(outcome)
            }
        }
    }

    fn push(&mut self, c: char) {
        self.run_len += 1;
        if self.run_len > MAX_CODE_LEN {
            self.overflow = true;
        } else {
            self.run.push(c);
        }
    }

    fn clear_run(&mut self) {
        self.run.clear();
        self.run_len = 0;
        self.overflow = false;
    }

    fn finish(&self, stroke: Keystroke, slow: bool, gap_us: i64, at_ms: i64) -> ScanOutcome {
        let reject = |reason| ScanOutcome::Rejected { reason };
        let wanted = match self.config.terminator {
            Terminator::Enter => Keystroke::Enter,
            Terminator::Tab => Keystroke::Tab,
        };
        if slow {
            return reject(RejectReason::TooSlow {
                gap_ms: gap_us / 1_000,
                max_gap_ms: self.config.max_gap_ms,
            });
        }
        if stroke != wanted {
            return reject(RejectReason::WrongTerminator);
        }
        if self.overflow {
            return reject(RejectReason::TooLong);
        }
        let Some(rest) = self.run.strip_prefix(self.config.prefix.as_str()) else {
            return reject(RejectReason::MissingPrefix);
        };
        let Some(code) = rest.strip_suffix(self.config.suffix.as_str()) else {
            return reject(RejectReason::MissingSuffix);
        };
        let len = code.chars().count();
        if len < self.config.min_len {
            return reject(RejectReason::TooShort {
                len,
                min_len: self.config.min_len,
            });
        }
        ScanOutcome::Scan {
            code: code.to_string(),
            at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::keymap::{KEY_ENTER, KEY_LEFTSHIFT, KEY_TAB};
    use super::*;

    /// Presses and releases for `keys` (code, shift) every `gap_ms`, then Enter.
    fn typed(start_us: i64, gap_ms: i64, keys: &[(u16, bool)], end: u16) -> Vec<InputEvent> {
        let mut t = start_us;
        let mut v = Vec::new();
        for &(code, shift) in keys.iter().chain([(end, false)].iter()) {
            if shift {
                v.push(InputEvent::key(t, KEY_LEFTSHIFT, 1));
            }
            v.push(InputEvent::key(t, code, 1));
            v.push(InputEvent::syn(t));
            v.push(InputEvent::key(t + 2_000, code, 0));
            if shift {
                v.push(InputEvent::key(t + 2_000, KEY_LEFTSHIFT, 0));
            }
            t += gap_ms * 1_000;
        }
        v
    }

    fn run(d: &mut ScanDecoder, events: &[InputEvent]) -> Vec<ScanOutcome> {
        events.iter().filter_map(|e| d.feed(e)).collect()
    }

    #[test]
    fn terminator_names() {
        assert_eq!(Terminator::from_name("Tab"), Some(Terminator::Tab));
        assert_eq!(Terminator::from_name("enter"), Some(Terminator::Enter));
        assert_eq!(Terminator::from_name("space"), None);
    }

    const DIGITS_1234: [(u16, bool); 4] = [(2, false), (3, false), (4, false), (5, false)];

    #[test]
    fn fast_entry_is_a_scan_slow_is_rejected() {
        let mut d = ScanDecoder::new(ScannerConfig::default());
        let out = run(&mut d, &typed(1_000_000, 8, &DIGITS_1234, KEY_ENTER));
        assert_eq!(
            out,
            vec![ScanOutcome::Scan {
                code: "1234".into(),
                at_ms: 1_032
            }]
        );
        let out = run(&mut d, &typed(5_000_000, 180, &DIGITS_1234, KEY_ENTER));
        assert_eq!(
            out,
            vec![ScanOutcome::Rejected {
                reason: RejectReason::TooSlow {
                    gap_ms: 180,
                    max_gap_ms: 50
                }
            }]
        );
        assert_eq!(d.dropped_keys(), 3);
    }

    #[test]
    fn stray_key_before_a_scan_is_dropped() {
        let mut d = ScanDecoder::new(ScannerConfig::default());
        let mut events = typed(0, 8, &[(30, false)], 30);
        events.extend(typed(2_000_000, 8, &DIGITS_1234, KEY_ENTER));
        let out = run(&mut d, &events);
        assert!(matches!(&out[..], [ScanOutcome::Scan { code, .. }] if code == "1234"));
    }

    #[test]
    fn prefix_suffix_tab_and_empty_terminators() {
        let mut d = ScanDecoder::new(ScannerConfig {
            prefix: "A".into(),
            suffix: "Z".into(),
            terminator: Terminator::Tab,
            ..Default::default()
        });
        let mut keys = vec![(30, true)];
        keys.extend(DIGITS_1234);
        keys.push((44, true));
        let mut events = typed(0, 5, &[], KEY_TAB);
        events.extend(typed(1_000_000, 5, &keys, KEY_TAB));
        events.extend(typed(2_000_000, 5, &DIGITS_1234, KEY_TAB));
        events.extend(typed(3_000_000, 5, &keys, KEY_ENTER));
        let out = run(&mut d, &events);
        assert_eq!(
            out,
            vec![
                ScanOutcome::Scan {
                    code: "1234".into(),
                    at_ms: 1_030
                },
                ScanOutcome::Rejected {
                    reason: RejectReason::MissingPrefix
                },
                ScanOutcome::Rejected {
                    reason: RejectReason::WrongTerminator
                },
            ]
        );
    }

    #[test]
    fn repeats_do_not_type_and_short_or_long_codes_are_rejected() {
        let mut d = ScanDecoder::new(ScannerConfig::default());
        let mut events = vec![InputEvent::key(0, 2, 1)];
        for i in 1..20 {
            events.push(InputEvent::key(250_000 + i * 33_000, 2, 2));
        }
        events.push(InputEvent::key(900_000, 2, 0));
        events.push(InputEvent::key(910_000, KEY_ENTER, 1));
        let out = run(&mut d, &events);
        assert!(matches!(
            &out[..],
            [ScanOutcome::Rejected {
                reason: RejectReason::TooSlow { .. }
            }]
        ));
        let out = run(&mut d, &typed(2_000_000, 5, &DIGITS_1234[..3], KEY_ENTER));
        assert!(matches!(
            &out[..],
            [ScanOutcome::Rejected {
                reason: RejectReason::TooShort { len: 3, min_len: 4 }
            }]
        ));
        let long: Vec<(u16, bool)> = (0..MAX_CODE_LEN + 1).map(|_| (2, false)).collect();
        let out = run(&mut d, &typed(3_000_000, 1, &long, KEY_ENTER));
        assert!(matches!(
            &out[..],
            [ScanOutcome::Rejected {
                reason: RejectReason::TooLong
            }]
        ));
    }
}
