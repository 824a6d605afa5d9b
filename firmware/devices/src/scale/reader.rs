//! Reading a scale over a port: request, wait, skip garbage, time out.
//!
//! This module owns the wait for a settled reading and its deadline. It must
//! not open ports (the caller passes one, with a short read timeout of its
//! own, e.g. 50 ms) nor decide what a weight costs.

use super::framer::FrameParser;
use super::{ScaleError, ScaleProtocol, ScaleReading, ScaleState};
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// How long to wait for a reply before asking again (request modes).
const REQUEST_RETRY: Duration = Duration::from_millis(250);
/// Pause before asking again after an unsettled reply (request modes).
const REQUEST_PACE: Duration = Duration::from_millis(100);

/// Reads serial scales; stateless, everything it needs is in the arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scale;

impl Scale {
    /// Waits up to `timeout` for a settled reading: stable weight, zero,
    /// overload or under zero (the caller decides what it can sell). In the
    /// request modes the request byte is sent, and sent again after an
    /// unsettled reply or silence. Malformed frames are skipped.
    ///
    /// Clear the port's input buffer first (serialport's
    /// `clear(ClearBuffer::Input)`): frames or replies queued while nobody
    /// read may be stale.
    pub fn read<P: Read + Write + ?Sized>(
        port: &mut P,
        protocol: ScaleProtocol,
        timeout: Duration,
    ) -> Result<ScaleReading, ScaleError> {
        let start = Instant::now();
        let deadline = start
            .checked_add(timeout)
            .unwrap_or_else(|| start + Duration::from_secs(3_000_000_000));
        let mut parser = FrameParser::new(protocol);
        let mut last: Option<ScaleReading> = None;
        let mut malformed: u32 = 0;
        let mut next_request = Some(start);
        let mut buf = [0u8; 128];
        loop {
            let now = Instant::now();
            if now >= deadline {
                let waited_ms =
                    u64::try_from(now.duration_since(start).as_millis()).unwrap_or(u64::MAX);
                return Err(match last {
                    Some(last) => ScaleError::StillUnstable { last, waited_ms },
                    None => ScaleError::NoReply {
                        waited_ms,
                        malformed,
                    },
                });
            }
            if let (Some(request), Some(at)) = (protocol.request_byte(), next_request) {
                if now >= at {
                    port.write_all(&[request]).map_err(ScaleError::Io)?;
                    port.flush().map_err(ScaleError::Io)?;
                    next_request = Some(now + REQUEST_RETRY);
                }
            }
            let n = match port.read(&mut buf) {
                Ok(0) => return Err(ScaleError::Closed),
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(ScaleError::Io(e)),
            };
            for byte in buf.iter().take(n) {
                match parser.push(*byte) {
                    None => {}
                    Some(Err(e)) => {
                        malformed = malformed.saturating_add(1);
                        log::debug!("scale: malformed frame skipped: {e}");
                    }
                    Some(Ok(reading)) if reading.state == ScaleState::Unstable => {
                        last = Some(reading);
                        if next_request.is_some() {
                            next_request = Some(Instant::now() + REQUEST_PACE);
                        }
                    }
                    Some(Ok(reading)) => return Ok(reading),
                }
            }
        }
    }
}
