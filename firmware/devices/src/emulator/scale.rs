//! An emulated serial scale on the far end of a pseudo-terminal pair.
//!
//! This module owns the fake scale's behaviour (weight, motion, overload,
//! zero, protocol, silence, garbage frames) and its thread. It must not be
//! used outside tests and tools; it encodes frames with [`crate::scale`]'s
//! encoders so both sides agree on the format by construction.

use crate::scale::{cas, toledo, ScaleProtocol, ScaleReading, ScaleState};
use serialport::{SerialPort, TTYPort};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Interval between frames in the continuous protocols.
pub const CONTINUOUS_INTERVAL: Duration = Duration::from_millis(50);

/// What the emulated scale is doing.
#[derive(Debug, Clone, Copy)]
struct Settings {
    protocol: ScaleProtocol,
    grams: i64,
    unstable: bool,
    overload: bool,
    silent: bool,
    garbage: bool,
}

impl Settings {
    fn reading(&self, tick: u64) -> ScaleReading {
        if self.overload {
            return ScaleReading {
                state: ScaleState::Overload,
                grams: 0,
            };
        }
        if self.unstable {
            // The weight wanders a few grams while the load moves.
            let jitter = i64::try_from(tick % 5).unwrap_or(0) * 3 - 6;
            return ScaleReading {
                state: ScaleState::Unstable,
                grams: self.grams.saturating_add(jitter),
            };
        }
        let state = match self.grams {
            0 => ScaleState::Zero,
            g if g < 0 => ScaleState::UnderZero,
            _ => ScaleState::Stable,
        };
        ScaleReading {
            state,
            grams: self.grams,
        }
    }

    fn frame(&self, tick: u64) -> Vec<u8> {
        let reading = self.reading(tick);
        match self.protocol {
            ScaleProtocol::ToledoContinuous => toledo::encode_continuous(&reading),
            ScaleProtocol::Toledo8217 => toledo::encode_demand(&reading),
            ScaleProtocol::CasContinuous | ScaleProtocol::CasRequest => cas::encode(&reading),
        }
    }

    /// A malformed frame for the protocol, sent before a good one.
    fn garbage(&self, tick: u64) -> Vec<u8> {
        match (self.protocol, tick % 3) {
            (ScaleProtocol::ToledoContinuous | ScaleProtocol::Toledo8217, 0) => {
                b"\x02\x2d\x30\x7f99x\r".to_vec()
            }
            (ScaleProtocol::ToledoContinuous | ScaleProtocol::Toledo8217, 1) => {
                b"\xff\x00\x02?\r".to_vec()
            }
            (ScaleProtocol::ToledoContinuous | ScaleProtocol::Toledo8217, _) => {
                b"\x02\x2d".to_vec()
            }
            (_, 0) => b"ST,GS,+ 1.2.3kg\r\n".to_vec(),
            (_, 1) => b"\x00\xff\x1b garbage\r\n".to_vec(),
            (_, _) => b"ZZ,??,\r\n".to_vec(),
        }
    }
}

/// Shared between the handle and the thread.
#[derive(Debug)]
struct Shared {
    settings: Mutex<Settings>,
    stop: AtomicBool,
    requests: AtomicU64,
    frames: AtomicU64,
}

/// A running emulated scale; stops when dropped.
#[derive(Debug)]
pub struct ScaleEmulator {
    shared: Arc<Shared>,
    path: String,
    thread: Option<JoinHandle<()>>,
}

impl ScaleEmulator {
    /// Starts a scale speaking `protocol` with nothing on the platter.
    /// Returns the emulator and the host's end of the line (a pseudo-terminal
    /// that can also be opened by [`ScaleEmulator::path`]).
    pub fn start(protocol: ScaleProtocol) -> serialport::Result<(ScaleEmulator, TTYPort)> {
        let (mut device, host) = TTYPort::pair()?;
        device.set_timeout(Duration::from_millis(10))?;
        let path = host.name().unwrap_or_default();
        let shared = Arc::new(Shared {
            settings: Mutex::new(Settings {
                protocol,
                grams: 0,
                unstable: false,
                overload: false,
                silent: false,
                garbage: false,
            }),
            stop: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            frames: AtomicU64::new(0),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("scale-emulator".into())
            .spawn(move || run(device, &thread_shared))
            .map_err(|e| {
                serialport::Error::new(serialport::ErrorKind::Io(e.kind()), e.to_string())
            })?;
        Ok((
            ScaleEmulator {
                shared,
                path,
                thread: Some(thread),
            },
            host,
        ))
    }

    /// The host end's device path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        lock(&self.shared)
    }

    /// A steady load of `grams` (0 is an empty platter).
    pub fn set_weight(&self, grams: i64) {
        let mut s = self.settings();
        s.grams = grams;
        s.unstable = false;
        s.overload = false;
    }

    /// The load keeps moving (never settles while set).
    pub fn set_unstable(&self, unstable: bool) {
        self.settings().unstable = unstable;
    }

    /// More than the scale can weigh.
    pub fn set_overload(&self, overload: bool) {
        self.settings().overload = overload;
    }

    /// The platter emptied: settled at zero.
    pub fn zero(&self) {
        self.set_weight(0);
    }

    /// Sends nothing at all (a dead or unplugged scale).
    pub fn set_silent(&self, silent: bool) {
        self.settings().silent = silent;
    }

    /// Sends a malformed frame before each good one.
    pub fn set_garbage(&self, garbage: bool) {
        self.settings().garbage = garbage;
    }

    /// Switches protocol (continuous or request, Toledo or CAS).
    pub fn set_protocol(&self, protocol: ScaleProtocol) {
        self.settings().protocol = protocol;
    }

    /// Request bytes received so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Good frames sent so far.
    pub fn frames(&self) -> u64 {
        self.shared.frames.load(Ordering::Relaxed)
    }
}

impl Drop for ScaleEmulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::warn!("scale emulator thread panicked");
            }
        }
    }
}

/// The settings, even if a panicking holder poisoned the lock.
fn lock(shared: &Shared) -> MutexGuard<'_, Settings> {
    shared.settings.lock().unwrap_or_else(|p| p.into_inner())
}

/// The emulator thread: answers requests and streams continuous frames.
///
/// The settings stay locked while a frame is encoded and written, so once a
/// setter returns no frame with the old settings is still on its way.
fn run(mut device: TTYPort, shared: &Shared) {
    let mut tick: u64 = 0;
    let mut next_frame = Instant::now();
    let mut buf = [0u8; 64];
    while !shared.stop.load(Ordering::Relaxed) {
        let mut received = 0;
        match device.read(&mut buf) {
            Ok(n) => received = n,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
            // No host has the line open: wait for one.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
        let settings = lock(shared);
        let due = match settings.protocol.request_byte() {
            Some(request) => {
                let asked = buf.iter().take(received).filter(|b| **b == request).count();
                shared.requests.fetch_add(asked as u64, Ordering::Relaxed);
                asked
            }
            None if Instant::now() >= next_frame => {
                next_frame = Instant::now() + CONTINUOUS_INTERVAL;
                1
            }
            None => 0,
        };
        for _ in 0..due {
            tick += 1;
            if settings.silent {
                continue;
            }
            let mut out = Vec::new();
            if settings.garbage {
                out.extend(settings.garbage(tick));
            }
            out.extend(settings.frame(tick));
            // A host that is not reading lets the buffer fill; dropping a
            // frame then is what a real scale does.
            if device.write_all(&out).is_ok() {
                shared.frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
