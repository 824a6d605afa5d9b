//! Serial scales for items sold by weight.
//!
//! This module owns talking to a scale: the Toledo and CAS frame formats,
//! continuous or on request, and the wait for a settled reading. Weights are
//! integer grams, never floating point. It must not price anything (the core
//! does, including weight-embedded barcodes) nor open ports (the caller
//! passes one).
//!
//! - [`weight`]: decimal text and units to grams.
//! - [`toledo`], [`cas`]: the frame formats, parsed and encoded.
//! - [`framer`]: byte stream to frames, skipping garbage.
//! - [`reader`]: [`Scale::read`], the wait with a deadline.

pub mod cas;
pub mod framer;
pub mod reader;
pub mod toledo;
pub mod weight;

pub use framer::FrameParser;
pub use reader::Scale;

use serde::{Deserialize, Serialize};
use std::io;
use thiserror::Error;

/// What the scale says about the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleState {
    /// A settled, positive weight.
    Stable,
    /// The load is moving; the weight is not final.
    Unstable,
    /// Settled at zero: nothing on the platter.
    Zero,
    /// More than the scale can weigh.
    Overload,
    /// Below zero (platter lifted, zero lost); `grams` is negative or 0 if unknown.
    UnderZero,
}

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScaleReading {
    /// The state.
    pub state: ScaleState,
    /// The weight in grams (as reported; meaningful for `Stable` and `Unstable`).
    pub grams: i64,
}

impl ScaleReading {
    /// The weight to sell: `Some` only for a stable, positive weight.
    pub fn sellable_grams(&self) -> Option<i64> {
        (self.state == ScaleState::Stable && self.grams > 0).then_some(self.grams)
    }
}

/// The protocol a scale speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleProtocol {
    /// Mettler Toledo continuous output: frames sent unasked, several a second.
    ToledoContinuous,
    /// Toledo 8213/8217 demand mode: send `W`, one reply.
    Toledo8217,
    /// CAS frames sent unasked.
    CasContinuous,
    /// CAS frames on request: send `W`, one reply.
    CasRequest,
}

impl ScaleProtocol {
    /// The protocol for config names: format `toledo` or `cas`, mode
    /// `continuous` or `request`.
    pub fn from_names(format: &str, mode: &str) -> Option<ScaleProtocol> {
        let format = format.trim().to_ascii_lowercase();
        let mode = mode.trim().to_ascii_lowercase();
        match (format.as_str(), mode.as_str()) {
            ("toledo", "continuous") => Some(ScaleProtocol::ToledoContinuous),
            ("toledo", "request") => Some(ScaleProtocol::Toledo8217),
            ("cas", "continuous") => Some(ScaleProtocol::CasContinuous),
            ("cas", "request") => Some(ScaleProtocol::CasRequest),
            _ => None,
        }
    }

    /// The byte that asks for a reading, for request protocols.
    pub fn request_byte(self) -> Option<u8> {
        match self {
            ScaleProtocol::Toledo8217 => Some(toledo::REQUEST),
            ScaleProtocol::CasRequest => Some(cas::REQUEST),
            ScaleProtocol::ToledoContinuous | ScaleProtocol::CasContinuous => None,
        }
    }
}

/// A frame that could not be read (skipped by [`Scale::read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The body has the wrong length for the format.
    #[error("frame body of {0} bytes")]
    Length(usize),
    /// Status bytes with impossible bits.
    #[error("bad status bytes")]
    Status,
    /// The weight field is not a number.
    #[error("bad weight field")]
    Weight,
    /// A unit Keel does not convert.
    #[error("unknown or unsupported unit")]
    Unit,
    /// A CAS line without the expected state and kind fields.
    #[error("bad header fields")]
    Header,
    /// Longer than any valid frame.
    #[error("frame too long")]
    TooLong,
    /// Control or non-ASCII bytes in a text frame.
    #[error("control bytes in a text frame")]
    NotText,
    /// A new frame started before this one ended.
    #[error("frame cut short by the next one")]
    Cut,
}

/// Errors of [`Scale::read`].
#[derive(Debug, Error)]
pub enum ScaleError {
    /// Nothing readable arrived in time.
    #[error("no reply from the scale within {waited_ms} ms ({malformed} unreadable frames)")]
    NoReply {
        /// How long it waited.
        waited_ms: u64,
        /// Malformed frames seen meanwhile.
        malformed: u32,
    },
    /// The scale answered but never settled.
    #[error("scale still unstable after {waited_ms} ms (last reading {} g)", last.grams)]
    StillUnstable {
        /// The last reading (state `Unstable`).
        last: ScaleReading,
        /// How long it waited.
        waited_ms: u64,
    },
    /// The port reported the end of its stream.
    #[error("the scale's port closed")]
    Closed,
    /// The port failed.
    #[error("scale port error: {0}")]
    Io(#[source] io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names() {
        assert_eq!(
            ScaleProtocol::from_names("toledo", "request"),
            Some(ScaleProtocol::Toledo8217)
        );
        assert_eq!(
            ScaleProtocol::from_names("CAS", "continuous"),
            Some(ScaleProtocol::CasContinuous)
        );
        assert_eq!(ScaleProtocol::from_names("cas", "sometimes"), None);
        assert_eq!(ScaleProtocol::CasRequest.request_byte(), Some(b'W'));
        let r = ScaleReading {
            state: ScaleState::Stable,
            grams: 0,
        };
        assert_eq!(r.sellable_grams(), None);
    }
}
