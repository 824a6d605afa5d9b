//! The kitchen display's sound on each new order. Slint has no audio, so a
//! [`Chime`] is rung by [`crate::screens::kitchen`] once per ticket id it
//! sees for the first time (never for the tickets already there when the
//! display starts, never again on later snapshots).
//!
//! This module owns the trait and its implementations: [`AplayChime`] plays
//! an embedded WAV through `aplay` on a thread of its own (the UI thread only
//! spawns it; a missing `aplay` is logged once and the chime stays silent),
//! [`CountingChime`] counts rings for tests, [`SilentChime`] does nothing.
//! It must not block the caller: `ring` returns at once.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The chime: a short two-tone WAV (16 kHz, 16-bit mono, about half a second).
pub const CHIME_WAV: &[u8] = include_bytes!("../../ui/sounds/chime.wav");

/// A sound for a new order. `ring` must return at once (never wait on I/O).
pub trait Chime {
    /// Plays the sound once.
    fn ring(&self);
}

/// No sound (the default until a chime is set).
#[derive(Clone, Copy, Debug, Default)]
pub struct SilentChime;

impl Chime for SilentChime {
    fn ring(&self) {}
}

/// Counts rings (for tests); clones share the count.
#[derive(Clone, Debug, Default)]
pub struct CountingChime {
    rings: Arc<AtomicUsize>,
}

impl CountingChime {
    /// A counter at zero.
    pub fn new() -> CountingChime {
        CountingChime::default()
    }

    /// Rings so far.
    pub fn count(&self) -> usize {
        self.rings.load(Ordering::SeqCst)
    }
}

impl Chime for CountingChime {
    fn ring(&self) {
        self.rings.fetch_add(1, Ordering::SeqCst);
    }
}

/// Plays [`CHIME_WAV`] through `aplay -q -` (the WAV on its stdin), on a
/// thread per ring that writes the sound and reaps the player. A player that
/// cannot be started (no `aplay` on the machine) is logged once; after that
/// the chime is silent.
#[derive(Debug)]
pub struct AplayChime {
    program: String,
    args: Vec<String>,
    missing: Arc<AtomicBool>,
}

impl Default for AplayChime {
    fn default() -> AplayChime {
        AplayChime::new()
    }
}

impl AplayChime {
    /// `aplay -q -`.
    pub fn new() -> AplayChime {
        AplayChime::with_program("aplay", &["-q", "-"])
    }

    /// Another player reading the WAV on its stdin (tests, other sound systems).
    pub fn with_program(program: &str, args: &[&str]) -> AplayChime {
        AplayChime {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            missing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True once the player failed to start (then rings are silent).
    pub fn is_missing(&self) -> bool {
        self.missing.load(Ordering::SeqCst)
    }

    /// Starts the player and feeds it the WAV; returns when it has exited.
    fn play(program: &str, args: &[String], missing: &AtomicBool) {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                if !missing.swap(true, Ordering::SeqCst) {
                    log::warn!(
                        "kitchen chime: cannot start {program} ({e}); new orders are silent"
                    );
                }
                return;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            if let Err(e) = stdin.write_all(CHIME_WAV) {
                log::debug!("kitchen chime: {program} stopped reading: {e}");
            }
        }
        match child.wait() {
            Ok(s) if !s.success() => log::debug!("kitchen chime: {program} exited with {s}"),
            Ok(_) => {}
            Err(e) => log::debug!("kitchen chime: waiting for {program}: {e}"),
        }
    }
}

impl Chime for AplayChime {
    fn ring(&self) {
        if self.is_missing() {
            return;
        }
        let (program, args, missing) = (
            self.program.clone(),
            self.args.clone(),
            Arc::clone(&self.missing),
        );
        let spawned = std::thread::Builder::new()
            .name("keel-chime".into())
            .spawn(move || AplayChime::play(&program, &args, &missing));
        if let Err(e) = spawned {
            log::warn!("kitchen chime: cannot start its thread: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait_until(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_embedded_sound_is_a_wav() {
        assert_eq!(&CHIME_WAV[0..4], b"RIFF");
        assert_eq!(&CHIME_WAV[8..12], b"WAVE");
        assert!(CHIME_WAV.len() > 1000);
    }

    #[test]
    fn the_player_gets_the_whole_wav_on_its_stdin() {
        let dir = std::env::temp_dir().join(format!("keel-chime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("played.wav");
        let out_s = out.to_str().unwrap().to_string();
        let chime = AplayChime::with_program("tee", &[out_s.as_str()]);
        chime.ring();
        wait_until("the player's output", || {
            std::fs::read(&out)
                .map(|b| b.len() == CHIME_WAV.len())
                .unwrap_or(false)
        });
        assert_eq!(std::fs::read(&out).unwrap(), CHIME_WAV);
        assert!(!chime.is_missing());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_player_is_noted_and_rings_stay_silent() {
        let chime = AplayChime::with_program("/nonexistent/keel-no-aplay", &[]);
        let start = Instant::now();
        chime.ring();
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "ring returns at once"
        );
        wait_until("the missing player noted", || chime.is_missing());
        chime.ring();
        assert!(chime.is_missing());
    }

    #[test]
    fn counting_chime_clones_share_the_count() {
        let a = CountingChime::new();
        let b = a.clone();
        a.ring();
        b.ring();
        assert_eq!(a.count(), 2);
    }
}
