//! A serial scanner's reader thread: opens the port by path, reads lines,
//! and reopens the port when it vanishes (a USB-serial scanner unplugged).
//!
//! This module owns the port's lifecycle only. It must not frame lines (that
//! is [`super::serial`]) nor decide what a scan means.

use super::serial::{SerialScanner, SerialScannerConfig};
use super::source::SourceError;
use super::stream::{ScanStream, Shared};
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// A serial scanner on a device path, not yet started.
#[derive(Debug, Clone)]
pub struct SerialScannerSource {
    path: PathBuf,
    baud: u32,
    config: SerialScannerConfig,
    reconnect_interval: Duration,
}

impl SerialScannerSource {
    /// A scanner on `path` at `baud` (8N1, no flow control); reconnects every 500 ms.
    pub fn new(path: impl Into<PathBuf>, baud: u32, config: SerialScannerConfig) -> Self {
        SerialScannerSource {
            path: path.into(),
            baud,
            config,
            reconnect_interval: Duration::from_millis(500),
        }
    }

    /// How often a vanished or missing port is looked for.
    pub fn reconnect_interval(mut self, every: Duration) -> Self {
        self.reconnect_interval = every;
        self
    }

    /// Starts the reader thread; it ends only when stopped.
    pub fn spawn(self) -> Result<ScanStream, SourceError> {
        ScanStream::spawn("keel-serial-scanner", move |tx, shared| {
            self.run(&tx, &shared);
            Ok(())
        })
    }

    fn run(&self, tx: &Sender<super::ScanOutcome>, shared: &Shared) {
        let path = self.path.display().to_string();
        let mut last_error: Option<String> = None;
        while !shared.stopped() {
            let port = serialport::new(path.as_str(), self.baud)
                .timeout(Duration::from_millis(50))
                .open_native();
            match port {
                Ok(port) => {
                    last_error = None;
                    log::info!("scanner: reading serial scanner {path}");
                    shared.set_connected(true);
                    let mut scanner = SerialScanner::new(port, self.config.clone());
                    while !shared.stopped() {
                        match scanner.next_scan(Duration::from_millis(100)) {
                            Ok(Some(outcome)) => {
                                if tx.send(outcome).is_err() {
                                    return;
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                log::warn!("scanner: {path} vanished ({e}); waiting for it");
                                break;
                            }
                        }
                    }
                    shared.set_connected(false);
                }
                Err(e) => {
                    let text = e.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        log::warn!("scanner: cannot open {path}: {text}; retrying");
                        last_error = Some(text);
                    }
                }
            }
            shared.pause(self.reconnect_interval);
        }
    }
}
