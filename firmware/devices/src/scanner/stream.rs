//! The handle of a scanner reader thread: a channel of outcomes, a stop
//! flag, the connection state, and the thread's final result.
//!
//! This module owns the thread's lifecycle (start, stop, join, stop on drop).
//! It must not read anything itself; the evdev/file source and the serial
//! source run inside it.

use super::decoder::ScanOutcome;
use super::source::SourceError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// State a reader thread shares with its handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    stop: AtomicBool,
    connected: AtomicBool,
    ignored_keys: AtomicU64,
}

impl Shared {
    /// The handle asked the thread to stop.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Records whether a device is open.
    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
    }

    /// Records the decoder's count of key presses that typed nothing.
    pub(crate) fn set_ignored_keys(&self, n: u64) {
        self.ignored_keys.store(n, Ordering::Relaxed);
    }

    /// Sleeps up to `total`, in steps, returning early on stop.
    pub(crate) fn pause(&self, total: Duration) {
        let step = Duration::from_millis(20);
        let mut left = total;
        while !left.is_zero() && !self.stopped() {
            let d = left.min(step);
            std::thread::sleep(d);
            left = left.saturating_sub(d);
        }
    }
}

/// A running scanner: an iterator of outcomes, ended by the stream's end or
/// [`ScanStream::stop`] (also on drop).
#[derive(Debug)]
pub struct ScanStream {
    rx: Receiver<ScanOutcome>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<(), SourceError>>>,
}

impl ScanStream {
    /// Starts `body` on a named thread with the sending end and the shared state.
    pub(crate) fn spawn<F>(name: &str, body: F) -> Result<ScanStream, SourceError>
    where
        F: FnOnce(Sender<ScanOutcome>, Arc<Shared>) -> Result<(), SourceError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(tx, thread_shared))
            .map_err(SourceError::Spawn)?;
        Ok(ScanStream {
            rx,
            shared,
            thread: Some(thread),
        })
    }

    /// The next outcome within `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<ScanOutcome, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// The next outcome if one is waiting.
    pub fn try_recv(&self) -> Result<ScanOutcome, TryRecvError> {
        self.rx.try_recv()
    }

    /// A device (or FIFO, file, serial port) is open right now.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }

    /// Key presses that typed nothing so far (unknown keys and the like).
    pub fn ignored_keys(&self) -> u64 {
        self.shared.ignored_keys.load(Ordering::Relaxed)
    }

    /// Stops the reader and returns how it ended.
    pub fn stop(mut self) -> Result<(), SourceError> {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.join_thread()
    }

    /// Waits for the stream to end by itself (the end of a regular file).
    pub fn join(mut self) -> Result<(), SourceError> {
        self.join_thread()
    }

    fn join_thread(&mut self) -> Result<(), SourceError> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| SourceError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Iterator for ScanStream {
    type Item = ScanOutcome;

    /// Blocks for the next outcome; `None` once the stream has ended.
    fn next(&mut self) -> Option<ScanOutcome> {
        self.rx.recv().ok()
    }
}

impl Drop for ScanStream {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Err(e) = self.join_thread() {
            log::warn!("scanner stream ended with: {e}");
        }
    }
}
