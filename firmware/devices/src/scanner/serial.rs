//! Serial barcode scanners: ASCII lines ending in CR, LF or CR LF.
//!
//! This module owns line framing, prefix and suffix stripping and the read
//! deadline for scanners on a serial port (or any byte reader). It must not
//! open ports (the caller passes a reader with its own read timeout, as a
//! serial port has) nor decide what a scan means.
//!
//! A line may hold printable ASCII and the GS separator (0x1D, GS1 codes);
//! anything else rejects the line. Empty lines (the LF of CR LF) are skipped.

use super::decoder::{RejectReason, ScanOutcome, MAX_CODE_LEN};
use std::collections::VecDeque;
use std::io::{self, Read};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Group separator, allowed inside GS1 codes.
const GS: u8 = 0x1d;

/// Why a line was rejected beyond [`RejectReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    Ok,
    Binary,
    Long,
}

/// How the serial scanner is programmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SerialScannerConfig {
    /// Characters sent before each code (stripped).
    pub prefix: String,
    /// Characters sent after each code, before the line end (stripped).
    pub suffix: String,
    /// Shortest code accepted (after stripping).
    pub min_len: usize,
}

/// Errors reading a serial scanner.
#[derive(Debug, Error)]
pub enum SerialScanError {
    /// The reader reported the end of its stream (the port went away).
    #[error("the scanner's port closed")]
    Closed,
    /// The port failed.
    #[error("cannot read the scanner's port: {0}")]
    Io(#[from] io::Error),
}

/// Pure line framer: bytes in, outcomes out; time is passed in.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    config: SerialScannerConfig,
    line: Vec<u8>,
    state: LineState,
}

impl LineDecoder {
    /// A framer with an empty line.
    pub fn new(config: SerialScannerConfig) -> Self {
        LineDecoder {
            config,
            line: Vec::new(),
            state: LineState::Ok,
        }
    }

    /// One byte received at `now_ms`; returns an outcome when it ended a line.
    pub fn push(&mut self, byte: u8, now_ms: i64) -> Option<ScanOutcome> {
        match byte {
            b'\r' | b'\n' => {
                if self.line.is_empty() && self.state == LineState::Ok {
                    return None;
                }
                let outcome = self.finish(now_ms);
                self.line.clear();
                self.state = LineState::Ok;
                Some(outcome)
            }
            _ if self.line.len() >= MAX_CODE_LEN => {
                self.state = LineState::Long;
                None
            }
            0x20..=0x7e | GS => {
                self.line.push(byte);
                None
            }
            _ => {
                if self.state == LineState::Ok {
                    self.state = LineState::Binary;
                }
                None
            }
        }
    }

    fn finish(&self, at_ms: i64) -> ScanOutcome {
        let reject = |reason| ScanOutcome::Rejected { reason };
        match self.state {
            LineState::Ok => {}
            LineState::Long => return reject(RejectReason::TooLong),
            LineState::Binary => return reject(RejectReason::NotText),
        }
        // Only ASCII was pushed, so this cannot fail.
        let text = String::from_utf8_lossy(&self.line);
        let Some(rest) = text.strip_prefix(self.config.prefix.as_str()) else {
            return reject(RejectReason::MissingPrefix);
        };
        let Some(code) = rest.strip_suffix(self.config.suffix.as_str()) else {
            return reject(RejectReason::MissingSuffix);
        };
        if code.len() < self.config.min_len {
            return reject(RejectReason::TooShort {
                len: code.len(),
                min_len: self.config.min_len,
            });
        }
        ScanOutcome::Scan {
            code: code.to_string(),
            at_ms,
        }
    }
}

/// A serial scanner over any reader that has its own read timeout.
#[derive(Debug)]
pub struct SerialScanner<R> {
    port: R,
    decoder: LineDecoder,
    pending: VecDeque<u8>,
}

impl<R: Read> SerialScanner<R> {
    /// Wraps a port.
    pub fn new(port: R, config: SerialScannerConfig) -> Self {
        SerialScanner {
            port,
            decoder: LineDecoder::new(config),
            pending: VecDeque::new(),
        }
    }

    /// The next line's outcome, or `Ok(None)` if none ended within `timeout`.
    /// Read timeouts of the port (`TimedOut`, `WouldBlock`) just mean "no
    /// data yet"; the deadline is checked between reads, so the port's own
    /// timeout should be short.
    pub fn next_scan(&mut self, timeout: Duration) -> Result<Option<ScanOutcome>, SerialScanError> {
        let deadline = deadline_after(timeout);
        loop {
            while let Some(byte) = self.pending.pop_front() {
                if let Some(o) = self.decoder.push(byte, wall_ms()) {
                    return Ok(Some(o));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let mut buf = [0u8; 256];
            match self.port.read(&mut buf) {
                Ok(0) => return Err(SerialScanError::Closed),
                Ok(n) => self.pending.extend(buf.iter().take(n)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(SerialScanError::Io(e)),
            }
        }
    }

    /// Gives the port back.
    pub fn into_inner(self) -> R {
        self.port
    }
}

/// `now + timeout`, or about a century away for an absurd timeout.
fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(3_000_000_000))
}

/// Wall-clock milliseconds for a scan's timestamp (0 before 1970).
fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(config: SerialScannerConfig, bytes: &[u8]) -> Vec<ScanOutcome> {
        let mut d = LineDecoder::new(config);
        bytes.iter().filter_map(|b| d.push(*b, 7)).collect()
    }

    #[test]
    fn cr_lf_crlf_prefix_suffix() {
        let config = SerialScannerConfig {
            prefix: "]C1".into(),
            suffix: "#".into(),
            min_len: 2,
        };
        let out = lines(
            config,
            b"]C1ABC#\r\n]C1x1\x1dy#\r]C1qq#\nABC#\n]C1Z#\r\n\x01\x02\n",
        );
        let codes: Vec<String> = out
            .iter()
            .map(|o| match o {
                ScanOutcome::Scan { code, at_ms: 7 } => code.clone(),
                ScanOutcome::Rejected { reason } => format!("{reason:?}"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            codes,
            vec![
                "ABC".to_string(),
                "x1\u{1d}y".into(),
                "qq".into(),
                "MissingPrefix".into(),
                "TooShort { len: 1, min_len: 2 }".into(),
                "NotText".into(),
            ]
        );
    }

    #[test]
    fn reads_with_deadline() {
        let mut s = SerialScanner::new(&b"12345\r\n"[..], SerialScannerConfig::default());
        assert!(matches!(
            s.next_scan(Duration::from_millis(10)).unwrap(),
            Some(ScanOutcome::Scan { code, .. }) if code == "12345"
        ));
        assert!(matches!(
            s.next_scan(Duration::from_millis(10)),
            Err(SerialScanError::Closed)
        ));
    }
}
