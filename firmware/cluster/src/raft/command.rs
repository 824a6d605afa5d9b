//! What the store agrees on through raft: [`StoreCommand`]s (settings, prices,
//! day close) and membership changes ([`MembershipChange`]), each carried with a
//! [`ProposalId`] so the proposer can match the commit to its request.
//!
//! This module owns the byte encoding of a proposal (postcard with a version
//! tag) and nothing else: it must not validate business rules (the lead's
//! replication/terminal code does, before proposing and when applying) and
//! does no I/O.
//!
//! Compatibility rule: postcard tags enum variants by position, so new
//! [`StoreCommand`] variants go at the end; changing a variant's fields needs a
//! new [`PROPOSAL_VERSION`].

use serde::{Deserialize, Serialize};

/// Version tag written before every encoded proposal.
pub const PROPOSAL_VERSION: u8 = 1;

/// Upper bound on an encoded proposal; larger commands are refused when proposed.
pub const MAX_PROPOSAL_BYTES: usize = 64 * 1024;

/// Identifies one proposal: the proposing terminal, the session it was made in
/// (given by the caller at start, e.g. a boot counter, so ids never repeat
/// across restarts) and a per-session sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProposalId {
    /// Raft id (terminal id) of the proposer.
    pub origin: u64,
    /// Caller-chosen session number of the proposer's run.
    pub session: u64,
    /// Sequence number within the session, from 1.
    pub seq: u64,
}

/// A consensus operation of the store. Concrete business commands are defined
/// by the lead; these are the generic shapes the driver carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreCommand {
    /// Set a store setting (last committed write wins, in log order).
    SetSetting {
        /// Setting key.
        key: String,
        /// Encoded value.
        value: Vec<u8>,
    },
    /// Change a price in the store.
    SetPrice {
        /// Product SKU.
        sku: String,
        /// Price in minor units.
        price_minor: i64,
        /// ISO 4217 currency code.
        currency: String,
        /// Terminal where the change was made.
        origin: u64,
        /// Hybrid logical clock of the change, as the core's `Hlc` encodes it.
        hlc: u64,
    },
    /// Close a business day for the whole store.
    DayClose {
        /// The day, `YYYY-MM-DD` in store-local time.
        day: String,
        /// Terminal (or operator id) that asked for it.
        by: u64,
    },
    /// Any other command: a kind label and an opaque payload the lead defines.
    Opaque {
        /// What the payload is (e.g. `"uplink.owner"`).
        kind: String,
        /// The payload bytes.
        payload: Vec<u8>,
    },
}

/// A membership change: add or remove a voting terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Add this terminal as a voter.
    AddNode(u64),
    /// Remove this terminal from the voters.
    RemoveNode(u64),
}

impl MembershipChange {
    /// The terminal the change is about.
    pub fn node(&self) -> u64 {
        match *self {
            MembershipChange::AddNode(n) | MembershipChange::RemoveNode(n) => n,
        }
    }
}

/// A proposed command as stored in a normal raft entry's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandEnvelope {
    /// Who proposed it and which request it answers.
    pub id: ProposalId,
    /// The command.
    pub command: StoreCommand,
}

/// Why bytes are not an encoded proposal (or proposal context).
#[derive(Debug, thiserror::Error)]
pub enum DecodeCommandError {
    /// The input was empty.
    #[error("empty proposal")]
    Empty,
    /// The version tag is newer (or otherwise unknown) to this firmware.
    #[error("proposal version {found} is not supported (this firmware reads version {supported})")]
    UnsupportedVersion {
        /// Tag found.
        found: u8,
        /// The version this firmware reads.
        supported: u8,
    },
    /// The body is not a valid encoding.
    #[error("malformed proposal: {0}")]
    Malformed(String),
    /// Bytes follow a complete proposal.
    #[error("{0} trailing bytes after a proposal")]
    TrailingBytes(usize),
}

fn encode_tagged<T: Serialize>(v: &T) -> Vec<u8> {
    // Invariant: strings, integers and byte vectors always serialise with postcard.
    match postcard::to_extend(v, vec![PROPOSAL_VERSION]) {
        Ok(b) => b,
        Err(e) => unreachable!("postcard encoding of a proposal failed: {e}"),
    }
}

fn decode_tagged<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeCommandError> {
    let (&version, body) = bytes.split_first().ok_or(DecodeCommandError::Empty)?;
    if version != PROPOSAL_VERSION {
        return Err(DecodeCommandError::UnsupportedVersion {
            found: version,
            supported: PROPOSAL_VERSION,
        });
    }
    let (v, rest) = postcard::take_from_bytes(body)
        .map_err(|e| DecodeCommandError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeCommandError::TrailingBytes(rest.len()));
    }
    Ok(v)
}

impl CommandEnvelope {
    /// Encodes as `PROPOSAL_VERSION` then postcard.
    pub fn encode(&self) -> Vec<u8> {
        encode_tagged(self)
    }

    /// Decodes; any malformation or unknown version is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeCommandError> {
        decode_tagged(bytes)
    }
}

/// The context the driver attaches to a conf-change entry: who proposed it.
/// (The change itself is in the entry's data, as raft-rs's protobuf ConfChange.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(dead_code)] // used by the driver, which may be compiled out (see mod.rs)
pub(crate) struct ConfChangeContext {
    pub(crate) id: ProposalId,
}

#[allow(dead_code)] // used by the driver, which may be compiled out (see mod.rs)
impl ConfChangeContext {
    pub(crate) fn encode(&self) -> Vec<u8> {
        encode_tagged(self)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeCommandError> {
        decode_tagged(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let env = CommandEnvelope {
            id: ProposalId {
                origin: 3,
                session: 9,
                seq: 1,
            },
            command: StoreCommand::SetPrice {
                sku: "A1".into(),
                price_minor: 1250,
                currency: "EUR".into(),
                origin: 3,
                hlc: 77,
            },
        };
        let b = env.encode();
        assert_eq!(b[0], PROPOSAL_VERSION);
        assert_eq!(CommandEnvelope::decode(&b).unwrap(), env);
        assert!(matches!(
            CommandEnvelope::decode(&[]),
            Err(DecodeCommandError::Empty)
        ));
        assert!(matches!(
            CommandEnvelope::decode(&[2, 0]),
            Err(DecodeCommandError::UnsupportedVersion { .. })
        ));
        for n in 1..b.len() {
            assert!(CommandEnvelope::decode(&b[..n]).is_err());
        }
        let mut long = b.clone();
        long.push(1);
        assert!(matches!(
            CommandEnvelope::decode(&long),
            Err(DecodeCommandError::TrailingBytes(1))
        ));
    }
}
