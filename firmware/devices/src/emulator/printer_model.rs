//! The emulated printer itself, independent of how bytes reach it: its
//! controllable state (paper, cover, silence, drawer), what it does with each
//! frame it receives, and what tests can observe afterwards.
//!
//! Owns the printer's behaviour:
//! - `DLE EOT n` is answered at once from the state (unless silent);
//! - print data is kept (what [`PrinterModel::received`] returns) while paper
//!   is in and the cover closed, and dropped otherwise, as a stopped printer
//!   prints nothing;
//! - `ESC p` and `DLE DC4 1` pulse the drawer, which opens it, even without
//!   paper (the drawer port does not need paper);
//! - a silent printer keeps printing what it gets but never answers (a cut
//!   return line, a firmware hang of the status task).
//!
//! The drawer switch reads high on pin 3 while the drawer is open (the
//! default [`crate::status::DrawerSensor::OpenWhenHigh`] wiring).
//!
//! It must not own a transport (see [`super::printer`] and
//! [`super::printer_tcp`]); it never blocks except on its own lock.

use super::printer_stream::{Frame, Framer};
use crate::escpos::decode::{decode_partial, Decoded};
use crate::escpos::kick::DrawerPin;
use crate::status::reply::{encode, ErrorByte, OfflineByte, PaperByte, PrinterByte};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// A drawer pulse the emulator received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmulatedKick {
    /// The pin pulsed; `None` for an `m` byte that names no pin.
    pub pin: Option<DrawerPin>,
    /// Pulse on time in ms.
    pub on_ms: u16,
    /// Off time after the pulse in ms.
    pub off_ms: u16,
    /// It came as the real-time `DLE DC4 1` rather than `ESC p`.
    pub real_time: bool,
    /// Paper was out or the cover open when it came (it still pulsed).
    pub while_stopped: bool,
}

#[derive(Debug, Default)]
struct State {
    framer: Framer,
    paper_out: bool,
    paper_near_end: bool,
    cover_open: bool,
    error: bool,
    silent: bool,
    /// Print bytes left on the roll before it runs out (`None`: endless).
    paper_left: Option<usize>,
    /// Print bytes to take before the device is pulled out (`None`: never).
    unplug_left: Option<usize>,
    /// Set when `unplug_left` ran out; the transport takes it.
    unplug_now: bool,
    drawer_open: bool,
    drawer_never_closes: bool,
    received: Vec<u8>,
    wire: Vec<u8>,
    dropped: usize,
    kicks: Vec<EmulatedKick>,
    cuts: usize,
    status_requests: usize,
    connections: usize,
}

impl State {
    fn stopped(&self) -> bool {
        self.paper_out || self.cover_open
    }

    fn reply(&self, n: u8) -> Option<u8> {
        let drawer_pin_high = self.drawer_open || self.drawer_never_closes;
        Some(match n {
            1 => encode::printer(PrinterByte {
                drawer_pin_high,
                offline: self.stopped() || self.error,
            }),
            2 => encode::offline(OfflineByte {
                cover_open: self.cover_open,
                feeding: false,
                paper_end_stop: self.paper_out,
                error: self.error,
            }),
            3 => encode::error(ErrorByte {
                unrecoverable: self.error,
                ..ErrorByte::default()
            }),
            4 => encode::paper(PaperByte {
                near_end: self.paper_near_end || self.paper_out,
                out: self.paper_out,
            }),
            _ => return None,
        })
    }

    /// Keeps as much of `data` as the roll and the plug allow.
    fn print(&mut self, data: &[u8]) -> usize {
        if self.stopped() || self.unplug_now {
            self.dropped += data.len();
            return 0;
        }
        let mut take = data.len();
        if let Some(left) = self.paper_left {
            take = take.min(left);
        }
        if let Some(left) = self.unplug_left {
            take = take.min(left);
        }
        self.received.extend_from_slice(&data[..take]);
        self.dropped += data.len() - take;
        if let Some(left) = &mut self.paper_left {
            *left -= take;
            if *left == 0 {
                self.paper_out = true;
                self.paper_left = None;
                log::debug!("emulated printer: paper ran out");
            }
        }
        if let Some(left) = &mut self.unplug_left {
            *left -= take;
            if *left == 0 {
                self.unplug_now = true;
                self.unplug_left = None;
            }
        }
        take
    }

    fn kick(&mut self, m: u8, on_ms: u16, off_ms: u16, real_time: bool) {
        self.kicks.push(EmulatedKick {
            pin: DrawerPin::from_m(m),
            on_ms,
            off_ms,
            real_time,
            while_stopped: self.stopped(),
        });
        self.drawer_open = true;
    }
}

/// The emulated printer's state and observations, shared by its transport
/// thread and the test. Cloning gives another handle to the same printer.
#[derive(Clone, Debug, Default)]
pub struct PrinterModel {
    state: Arc<Mutex<State>>,
}

impl PrinterModel {
    /// A printer with paper, cover closed, drawer closed, answering.
    pub fn new() -> PrinterModel {
        PrinterModel::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock can only come from a bug in this
        // file; the state is still usable for a test's post-mortem.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Processes received bytes; returns the bytes to send back.
    pub(crate) fn feed(&self, data: &[u8]) -> Vec<u8> {
        let mut st = self.lock();
        st.wire.extend_from_slice(data);
        let mut frames = Vec::new();
        st.framer.push(data, &mut frames);
        let mut reply = Vec::new();
        for frame in frames {
            match frame {
                Frame::Status(n) => {
                    st.status_requests += 1;
                    if !st.silent && !st.unplug_now {
                        reply.extend(st.reply(n));
                    }
                }
                Frame::RealTimeKick { m, t } => {
                    let ms = u16::from(t) * 100;
                    st.kick(m, ms, ms, true);
                }
                Frame::Kick { m, t1, t2 } => {
                    st.kick(m, u16::from(t1) * 2, u16::from(t2) * 2, false);
                    st.print(&[0x1B, b'p', m, t1, t2]);
                }
                Frame::Cut(bytes) => {
                    if st.print(&bytes) == bytes.len() {
                        st.cuts += 1;
                    }
                }
                Frame::Data(bytes) => {
                    st.print(&bytes);
                }
            }
        }
        reply
    }

    /// Whether an `unplug_after` count ran out (the transport then unplugs);
    /// clears the flag.
    pub(crate) fn take_unplug(&self) -> bool {
        std::mem::take(&mut self.lock().unplug_now)
    }

    /// Counts a new connection and forgets any half-received command (a
    /// fresh link starts a fresh stream, as after a printer reset).
    pub(crate) fn connected(&self) {
        let mut st = self.lock();
        st.connections += 1;
        st.framer = Framer::default();
    }

    /// Runs out of paper (`true`) or has paper loaded (`false`).
    pub fn set_paper_out(&self, out: bool) {
        let mut st = self.lock();
        st.paper_out = out;
        st.paper_left = None;
    }

    /// Runs out of paper after printing `bytes` more bytes (0: now).
    pub fn paper_out_after(&self, bytes: usize) {
        let mut st = self.lock();
        if bytes == 0 {
            st.paper_out = true;
            st.paper_left = None;
        } else {
            st.paper_left = Some(bytes);
        }
    }

    /// Reports the roll nearly used up (still prints).
    pub fn set_paper_near_end(&self, near: bool) {
        self.lock().paper_near_end = near;
    }

    /// Opens or closes the cover.
    pub fn set_cover_open(&self, open: bool) {
        self.lock().cover_open = open;
    }

    /// Reports an unrecoverable error (and stops printing) or clears it.
    pub fn set_error(&self, error: bool) {
        self.lock().error = error;
    }

    /// Stops answering status requests (still prints what it gets), or
    /// answers again.
    pub fn set_silent(&self, silent: bool) {
        self.lock().silent = silent;
    }

    /// Gets unplugged after taking `bytes` more print bytes (bytes after that
    /// are lost); `replug` brings it back.
    pub fn unplug_after(&self, bytes: usize) {
        let mut st = self.lock();
        if bytes == 0 {
            st.unplug_now = true;
        } else {
            st.unplug_left = Some(bytes);
        }
    }

    /// Opens or closes the drawer by hand (a kick opens it by itself).
    pub fn set_drawer_open(&self, open: bool) {
        self.lock().drawer_open = open;
    }

    /// A drawer whose switch always reads open, whatever the drawer does (a
    /// broken or missing switch, a drawer jammed open).
    pub fn set_drawer_never_closes(&self, never: bool) {
        self.lock().drawer_never_closes = never;
    }

    /// Whether the drawer is open (physically; see `set_drawer_never_closes`
    /// for what its switch reports).
    pub fn drawer_open(&self) -> bool {
        self.lock().drawer_open
    }

    /// Every print byte the printer took, in order: the paper's content.
    /// Status requests and `DLE DC4` pulses are not in it, nor bytes that
    /// arrived while it was stopped (paper out, cover open).
    pub fn received(&self) -> Vec<u8> {
        self.lock().received.clone()
    }

    /// Every byte that arrived, status requests and dropped bytes included.
    pub fn wire(&self) -> Vec<u8> {
        self.lock().wire.clone()
    }

    /// How many received bytes were dropped (printer stopped or unplugging).
    pub fn dropped(&self) -> usize {
        self.lock().dropped
    }

    /// What [`PrinterModel::received`] shows on paper, through the ESC/POS
    /// decoder (a job cut off mid-command decodes up to the cut-off point).
    pub fn decoded(&self) -> Decoded {
        decode_partial(&self.received()).0
    }

    /// Every drawer pulse received, in order.
    pub fn kicks(&self) -> Vec<EmulatedKick> {
        self.lock().kicks.clone()
    }

    /// How many complete `GS V` cuts were printed.
    pub fn cuts(&self) -> usize {
        self.lock().cuts
    }

    /// How many `DLE EOT` requests arrived (answered or not).
    pub fn status_requests(&self) -> usize {
        self.lock().status_requests
    }

    /// How many connections carried data: TCP connections accepted, or for
    /// the serial emulator, plug-ins (a pty cannot tell when the host reopens).
    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// How many times `job` appears whole in the printed bytes.
    pub fn count_printed(&self, job: &[u8]) -> usize {
        if job.is_empty() {
            return 0;
        }
        let st = self.lock();
        st.received.windows(job.len()).filter(|w| *w == job).count()
    }

    /// Waits (polling) until `done` holds for this printer, at most `timeout`;
    /// returns whether it held.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&PrinterModel) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_status_and_stops_on_paper_out() {
        let p = PrinterModel::new();
        assert_eq!(p.feed(b"\x10\x04\x01\x10\x04\x04"), vec![0x12, 0x12]);
        p.paper_out_after(3);
        assert!(p.feed(b"abcdef").is_empty());
        assert_eq!(p.received(), b"abc");
        assert_eq!(p.dropped(), 3);
        assert_eq!(p.feed(b"\x10\x04\x04"), vec![0x7E]);
        // The drawer still kicks without paper.
        p.feed(b"\x1bp\x00\x19\xfa");
        assert_eq!(p.kicks().len(), 1);
        assert!(p.kicks()[0].while_stopped);
        assert_eq!(p.feed(b"\x10\x04\x01"), vec![0x1E]);
        p.set_silent(true);
        assert!(p.feed(b"\x10\x04\x01").is_empty());
    }

    #[test]
    fn counts_cuts_and_whole_jobs() {
        let p = PrinterModel::new();
        let job = b"\x1b@hi\n\x1dV\x01";
        p.feed(job);
        p.feed(&job[..4]);
        p.feed(job);
        assert_eq!(p.cuts(), 2);
        assert_eq!(p.count_printed(job), 2);
    }
}
