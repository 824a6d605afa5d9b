//! High-water marks: how far the cloud holds each terminal's journal, and the
//! newest publication the store applied. The cloud returns them with every ack;
//! the store leader replicates them through raft so a new leader resumes
//! exactly where the old one stopped.

use keel_core::ids::TerminalId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Version byte of the replicated encoding.
pub const MARKS_VERSION: u8 = 1;

/// How far the cloud holds one origin's journal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginMark {
    /// Every record `1..=bodies` is stored in full.
    pub bodies: u64,
    /// The chain is checked through `chain` (records above `bodies` may be stubs).
    pub chain: u64,
}

/// Marks for a whole store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UplinkMarks {
    /// Per origin terminal.
    pub origins: BTreeMap<TerminalId, OriginMark>,
    /// Newest publication applied by the store (0: none).
    pub downlink: u64,
    /// When the cloud last acknowledged (store leader's clock, ms since the epoch; 0: never).
    pub acked_at_ms: u64,
}

/// Why bytes are not encoded marks.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MarksError {
    /// Wrong or missing version byte.
    #[error("uplink marks: unsupported version or empty")]
    Version,
    /// Not a valid encoding.
    #[error("uplink marks: {0}")]
    Malformed(String),
}

impl UplinkMarks {
    /// The mark of one origin (zero when the cloud holds nothing of it).
    pub fn of(&self, origin: TerminalId) -> OriginMark {
        self.origins.get(&origin).copied().unwrap_or_default()
    }

    /// Takes the larger of each mark: marks only move forward, so merging a
    /// stale copy (an old leader's, a delayed raft entry) never moves back.
    pub fn merge(&mut self, other: &UplinkMarks) {
        for (o, m) in &other.origins {
            let e = self.origins.entry(*o).or_default();
            e.bodies = e.bodies.max(m.bodies);
            e.chain = e.chain.max(m.chain).max(e.bodies);
        }
        self.downlink = self.downlink.max(other.downlink);
        self.acked_at_ms = self.acked_at_ms.max(other.acked_at_ms);
    }

    /// Records held (per origin, `heads`) that the cloud does not hold in full.
    pub fn pending(&self, heads: &BTreeMap<TerminalId, u64>) -> u64 {
        heads
            .iter()
            .map(|(o, h)| h.saturating_sub(self.of(*o).bodies))
            .sum()
    }

    /// Version byte + postcard, as carried in a raft entry.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing owned plain data into a Vec cannot fail.
        postcard::to_extend(self, vec![MARKS_VERSION]).unwrap_or_default()
    }

    /// Decodes [`UplinkMarks::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<UplinkMarks, MarksError> {
        match bytes.split_first() {
            Some((&MARKS_VERSION, rest)) => {
                postcard::from_bytes(rest).map_err(|e| MarksError::Malformed(e.to_string()))
            }
            _ => Err(MarksError::Version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_only_moves_forward_and_pending_counts_unheld_records() {
        let mut a = UplinkMarks::default();
        a.origins.insert(
            TerminalId(1),
            OriginMark {
                bodies: 5,
                chain: 9,
            },
        );
        a.downlink = 3;
        let mut stale = UplinkMarks::default();
        stale.origins.insert(
            TerminalId(1),
            OriginMark {
                bodies: 2,
                chain: 2,
            },
        );
        stale.origins.insert(
            TerminalId(2),
            OriginMark {
                bodies: 4,
                chain: 4,
            },
        );
        a.merge(&stale);
        assert_eq!(
            a.of(TerminalId(1)),
            OriginMark {
                bodies: 5,
                chain: 9
            }
        );
        assert_eq!(a.of(TerminalId(2)).bodies, 4);
        assert_eq!(a.downlink, 3);
        let heads = BTreeMap::from([(TerminalId(1), 10), (TerminalId(2), 4), (TerminalId(3), 2)]);
        assert_eq!(
            a.pending(&heads),
            7,
            "5 behind on T01, none on T02, 2 on T03"
        );
        assert_eq!(UplinkMarks::decode(&a.encode()), Ok(a));
        assert_eq!(UplinkMarks::decode(&[]), Err(MarksError::Version));
    }
}
