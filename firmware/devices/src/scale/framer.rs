//! Byte stream to frames: finds frame boundaries for each protocol and
//! hands the body to the protocol's parser.
//!
//! This module owns resynchronisation after garbage (a new STX restarts a
//! Toledo frame; a CAS line ends at LF) and the length limits. It must not
//! do I/O or wait (that is [`super::reader`]).

use super::toledo::{self, CR, STX};
use super::{cas, FrameError, ScaleProtocol, ScaleReading};

/// Longest frame body accepted.
const MAX_BODY: usize = 64;

/// Toledo framing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for STX (Toledo) or collecting a line (CAS).
    Idle,
    /// Inside a frame.
    Body,
    /// Too long or not text: skipping to the end of the frame.
    Skip(FrameError),
}

/// Splits bytes into frames and parses them.
#[derive(Debug, Clone)]
pub struct FrameParser {
    protocol: ScaleProtocol,
    body: Vec<u8>,
    phase: Phase,
}

impl FrameParser {
    /// A parser waiting for the start of a frame.
    pub fn new(protocol: ScaleProtocol) -> Self {
        FrameParser {
            protocol,
            body: Vec::new(),
            phase: Phase::Idle,
        }
    }

    /// One byte; a reading or a malformed-frame error when it ended a frame.
    pub fn push(&mut self, byte: u8) -> Option<Result<ScaleReading, FrameError>> {
        match self.protocol {
            ScaleProtocol::ToledoContinuous | ScaleProtocol::Toledo8217 => self.push_toledo(byte),
            ScaleProtocol::CasContinuous | ScaleProtocol::CasRequest => self.push_cas(byte),
        }
    }

    fn push_toledo(&mut self, byte: u8) -> Option<Result<ScaleReading, FrameError>> {
        if byte == STX {
            let cut = self.phase == Phase::Body && !self.body.is_empty();
            self.body.clear();
            self.phase = Phase::Body;
            return cut.then_some(Err(FrameError::Cut));
        }
        match self.phase {
            Phase::Idle => None,
            Phase::Skip(e) if byte == CR => {
                self.phase = Phase::Idle;
                Some(Err(e))
            }
            Phase::Skip(_) => None,
            Phase::Body if byte == CR => {
                self.phase = Phase::Idle;
                Some(match self.protocol {
                    ScaleProtocol::Toledo8217 => toledo::parse_demand(&self.body),
                    _ => toledo::parse_continuous(&self.body),
                })
            }
            Phase::Body if self.body.len() < MAX_BODY => {
                self.body.push(byte);
                None
            }
            Phase::Body => {
                self.phase = Phase::Skip(FrameError::TooLong);
                None
            }
        }
    }

    fn push_cas(&mut self, byte: u8) -> Option<Result<ScaleReading, FrameError>> {
        match byte {
            b'\n' => {
                let phase = std::mem::replace(&mut self.phase, Phase::Idle);
                let body = std::mem::take(&mut self.body);
                match phase {
                    Phase::Skip(e) => Some(Err(e)),
                    _ if body.is_empty() => None,
                    _ => Some(cas::parse(&body)),
                }
            }
            b'\r' => None,
            _ if matches!(self.phase, Phase::Skip(_)) => None,
            0x20..=0x7e if self.body.len() < MAX_BODY => {
                self.body.push(byte);
                None
            }
            0x20..=0x7e => {
                self.phase = Phase::Skip(FrameError::TooLong);
                None
            }
            _ => {
                self.phase = Phase::Skip(FrameError::NotText);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ScaleState;
    use super::*;

    fn all(protocol: ScaleProtocol, bytes: &[u8]) -> Vec<Result<ScaleReading, FrameError>> {
        let mut p = FrameParser::new(protocol);
        bytes.iter().filter_map(|b| p.push(*b)).collect()
    }

    #[test]
    fn toledo_resyncs_on_stx() {
        let good = toledo::encode_continuous(&ScaleReading {
            state: ScaleState::Stable,
            grams: 1234,
        });
        let mut bytes = b"junk\x02\x2d\x30".to_vec();
        bytes.extend_from_slice(&good);
        bytes.extend_from_slice(&[STX; 1]);
        bytes.extend_from_slice(&[b'9'; 100]);
        bytes.push(CR);
        bytes.extend_from_slice(&good);
        let out = all(ScaleProtocol::ToledoContinuous, &bytes);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[0], Err(FrameError::Cut));
        assert_eq!(out[1].as_ref().map(|r| r.grams), Ok(1234));
        assert_eq!(out[2], Err(FrameError::TooLong));
        assert_eq!(out[3].as_ref().map(|r| r.grams), Ok(1234));
    }

    #[test]
    fn cas_lines() {
        let mut bytes = b"\r\n\x00\x01ST,GS,+  1.234kg\r\nST,GS,+  1.234kg\r\n\r\n".to_vec();
        bytes.extend_from_slice(&[b'a'; 100]);
        bytes.extend_from_slice(b"\nUS,GS,+  0.100kg\r\n");
        let out = all(ScaleProtocol::CasContinuous, &bytes);
        assert_eq!(out.len(), 4, "{out:?}");
        assert_eq!(out[0], Err(FrameError::NotText));
        assert_eq!(out[1].as_ref().map(|r| r.grams), Ok(1234));
        assert_eq!(out[2], Err(FrameError::TooLong));
        assert_eq!(out[3].as_ref().map(|r| r.state), Ok(ScaleState::Unstable));
    }
}
