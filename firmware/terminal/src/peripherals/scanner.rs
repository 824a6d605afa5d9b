//! The scanner's thread: decoded scans become console inputs, as if the
//! cashier had typed `sale add <code>` (or shown while `scanner monitor`
//! runs). Decoding, exclusive grab (EVIOCGRAB) and hot-plug are keel-devices';
//! a keyboard-wedge scanner's event node, a recorded stream and a FIFO all go
//! through the same decoder.

use super::PeripheralsError;
use crate::config::{ScannerConfig, ScannerSource as Source};
use crate::console::Input;
use keel_devices::scanner::{
    Layout, ScanOutcome, ScannerConfig as DecoderConfig, ScannerSource, SerialScannerConfig,
    SerialScannerSource, Terminator,
};

/// Shortest code taken as a scan (shorter is noise).
const MIN_LEN: usize = 4;

/// Starts reading `cfg`'s scanner; returns the console channel scans flow into.
pub fn start(cfg: &ScannerConfig) -> Result<super::ScanChannel, PeripheralsError> {
    let stream = match &cfg.source {
        Source::Events(path) => ScannerSource::new(
            path.clone(),
            DecoderConfig {
                layout: Layout::from_name(&cfg.layout).unwrap_or(Layout::Us),
                prefix: cfg.prefix.clone(),
                suffix: cfg.suffix.clone(),
                terminator: Terminator::from_name(&cfg.terminator).unwrap_or(Terminator::Enter),
                max_gap_ms: u32::try_from(cfg.max_gap_ms).unwrap_or(u32::MAX),
                min_len: MIN_LEN,
            },
        )
        .spawn(),
        Source::Serial { path, baud } => SerialScannerSource::new(
            path.clone(),
            *baud,
            SerialScannerConfig {
                prefix: cfg.prefix.clone(),
                suffix: cfg.suffix.clone(),
                min_len: MIN_LEN,
            },
        )
        .spawn(),
    }
    .map_err(|e| PeripheralsError::Scanner(e.to_string()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let scans = tx.clone();
    std::thread::Builder::new()
        .name("keel-scanner".into())
        .spawn(move || {
            for outcome in stream {
                match outcome {
                    ScanOutcome::Scan { code, .. } => {
                        log::info!("scanner: scanned {code}");
                        if scans.send(Input::Scan(code)).is_err() {
                            return;
                        }
                    }
                    ScanOutcome::Rejected { reason } => {
                        log::info!("scanner: input ignored ({reason:?})");
                    }
                }
            }
            log::info!("scanner: the event stream ended");
        })
        .map_err(PeripheralsError::Thread)?;
    Ok((tx, rx))
}
