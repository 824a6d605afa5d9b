//! The replication wire format: one version byte, then the postcard encoding of
//! a [`ReplicationMessage`]. Decoding is bounded and never panics.

use super::vv::VersionVector;
use crate::ids::TerminalId;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Wire format version (2: `Records` carry the origin's proof and certificate).
pub const WIRE_VERSION: u8 = 2;
/// Largest message accepted.
pub const MAX_MESSAGE_BYTES: usize = 2 << 20;

/// A replication message between two terminals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicationMessage {
    /// What the sender holds: the receiver answers with what the sender lacks.
    Summary {
        /// Sender's version vector.
        vv: VersionVector,
    },
    /// Consecutive journal records of one origin.
    Records {
        /// Origin terminal.
        origin: TerminalId,
        /// Seq of the first record.
        first_seq: u64,
        /// Exact record bytes, as in the origin's journal.
        records: Vec<Vec<u8>>,
        /// The origin's signature over the last record (`proof.seq` is its seq).
        proof: OriginProof,
        /// The origin's leaf certificate (DER), chaining to the store CA.
        certificate: Vec<u8>,
    },
}

/// An origin's signature over one of its records: since every record links to its
/// predecessor by hash, it authenticates that record and all before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginProof {
    /// Seq of the signed record.
    pub seq: u64,
    /// ECDSA P-256 SHA-256 signature (ASN.1 DER) by the origin's terminal key over
    /// [`super::proof_message`] of that record.
    pub signature: Vec<u8>,
}

/// Errors decoding a replication message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Empty message.
    #[error("empty replication message")]
    Empty,
    /// Larger than allowed.
    #[error("replication message of {0} bytes exceeds {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    /// Unknown version.
    #[error("replication wire version {0} is not supported (this firmware speaks {WIRE_VERSION})")]
    Version(u8),
    /// Payload does not decode.
    #[error("replication message does not decode: {0}")]
    Malformed(String),
}

/// Encodes a message.
pub fn encode(msg: &ReplicationMessage) -> Vec<u8> {
    // Invariant: these plain types always serialise into a Vec.
    postcard::to_extend(msg, vec![WIRE_VERSION]).unwrap_or_else(|_| vec![WIRE_VERSION])
}

/// Decodes a message.
pub fn decode(bytes: &[u8]) -> Result<ReplicationMessage, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(bytes.len()));
    }
    let (&v, payload) = bytes.split_first().ok_or(WireError::Empty)?;
    if v != WIRE_VERSION {
        return Err(WireError::Version(v));
    }
    let (msg, rest) =
        postcard::take_from_bytes(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    Ok(msg)
}
