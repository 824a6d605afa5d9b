//! The store's consensus state as a raft snapshot. Every terminal folds the
//! committed raft entries into two values: the cloud uplink's marks
//! (`uplink_marks`) and the counter order claims (`counter_claims`). Prices,
//! settings and day closes are journaled when they commit, so the journal, not
//! the raft log, keeps them. When the raft log is compacted, these two values
//! become the snapshot that replaces the dropped entries; a terminal starting
//! from a compacted log, or installing a leader's snapshot, starts from them.
//!
//! This module owns that encoding, the restore, and when to compact
//! ([`COMPACT_EVERY`] applied entries, or after a membership change). It must
//! not fold entries itself (the two modules above do) or touch the journal.

use super::counter_claims::Claims;
use keel_cluster::raft::{CompactError, RaftNode};
use keel_uplink::UplinkMarks;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Applied raft entries between two compactions. Marks are proposed at most
/// every 2 s while the uplink runs, so a busy day stays within a few
/// compactions and a restart replays at most this many entries.
pub const COMPACT_EVERY: u64 = 1_000;

/// Version byte in front of the encoded state.
const STATE_VERSION: u8 = 1;

/// Why a snapshot's consensus state could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConsensusStateError {
    /// Written by a newer firmware.
    #[error("consensus state version {0} is newer than this firmware reads ({STATE_VERSION})")]
    NewerVersion(u8),
    /// The bytes do not decode.
    #[error("consensus state does not decode: {0}")]
    Malformed(String),
}

/// What is stored (behind the version byte).
#[derive(Serialize, Deserialize)]
struct Stored {
    /// `UplinkMarks::encode` bytes (they carry their own version).
    marks: Vec<u8>,
    /// Counter order claims.
    claims: Claims,
}

/// The consensus state as snapshot bytes.
pub fn encode(marks: &UplinkMarks, claims: &Claims) -> Vec<u8> {
    let stored = Stored {
        marks: marks.encode(),
        claims: claims.clone(),
    };
    // Invariant: postcard serialises owned plain data into a Vec without failing.
    postcard::to_extend(&stored, vec![STATE_VERSION]).unwrap_or_default()
}

/// The consensus state in snapshot bytes; empty bytes (a log never
/// compacted) are the empty state.
pub fn decode(data: &[u8]) -> Result<(UplinkMarks, Claims), ConsensusStateError> {
    let Some((&version, rest)) = data.split_first() else {
        return Ok((UplinkMarks::default(), Claims::new()));
    };
    if version != STATE_VERSION {
        return Err(ConsensusStateError::NewerVersion(version));
    }
    let stored: Stored =
        postcard::from_bytes(rest).map_err(|e| ConsensusStateError::Malformed(e.to_string()))?;
    let marks = UplinkMarks::decode(&stored.marks)
        .map_err(|e| ConsensusStateError::Malformed(format!("uplink marks: {e}")))?;
    Ok((marks, stored.claims))
}

/// The consensus state a terminal starts from: the snapshot in its raft
/// storage (the entries after it are handed out again by the next advance).
/// An unreadable snapshot is logged and the state starts empty: marks only
/// move forward and the leader proposes them again.
pub fn restore(raft: &RaftNode) -> (UplinkMarks, Claims) {
    let snapshot = raft.storage().stored_snapshot();
    match decode(&snapshot.data) {
        Ok(state) => {
            let index = snapshot.get_metadata().index;
            if index > 0 {
                log::info!("raft: consensus state restored from the snapshot at index {index}");
            }
            state
        }
        Err(e) => {
            log::error!(
                "raft: the stored snapshot's consensus state is unreadable ({e}); starting empty"
            );
            (UplinkMarks::default(), Claims::new())
        }
    }
}

/// Compacts the raft log when it is due (see [`RaftNode::should_compact`]),
/// with the state folded so far (which must be as of the applied index: call
/// right after applying an advance's committed entries). Returns whether it
/// compacted.
pub fn compact_if_due(
    raft: &mut RaftNode,
    every: u64,
    marks: &UplinkMarks,
    claims: &Claims,
) -> Result<bool, CompactError> {
    if !raft.should_compact(every) {
        return Ok(false);
    }
    raft.compact(encode(marks, claims))?;
    log::info!("raft: log compacted up to index {}", raft.status().applied);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::single_voter::open;
    use super::super::{counter_claims, uplink_marks};
    use super::*;
    use keel_core::ids::TerminalId;
    use keel_uplink::OriginMark;
    use std::sync::Mutex;

    fn marks(t1: u64, downlink: u64) -> UplinkMarks {
        let mut m = UplinkMarks::default();
        m.origins.insert(
            TerminalId(1),
            OriginMark {
                bodies: t1,
                chain: t1,
            },
        );
        m.downlink = downlink;
        m
    }

    #[test]
    fn state_round_trips_and_bad_bytes_are_refused() {
        let mut claims = Claims::new();
        claims.insert("K2-7".into(), 2);
        let bytes = encode(&marks(40, 3), &claims);
        assert_eq!(decode(&bytes).unwrap(), (marks(40, 3), claims));
        assert_eq!(
            decode(&[]).unwrap(),
            (UplinkMarks::default(), Claims::new())
        );
        assert_eq!(
            decode(&[9, 1, 2]),
            Err(ConsensusStateError::NewerVersion(9))
        );
        assert!(matches!(
            decode(&[STATE_VERSION, 0xff, 0xff, 0xff]),
            Err(ConsensusStateError::Malformed(_))
        ));
        // Marks bytes of a newer version inside a readable envelope.
        let stored = Stored {
            marks: vec![77, 1],
            claims: Claims::new(),
        };
        let bytes = postcard::to_extend(&stored, vec![STATE_VERSION]).unwrap();
        assert!(matches!(
            decode(&bytes),
            Err(ConsensusStateError::Malformed(_))
        ));
    }

    /// The runtime's fold of one advance: marks and claims.
    fn apply_all(node: &mut RaftNode, shared: &Mutex<UplinkMarks>, claims: &mut Claims) -> usize {
        let out = node.advance().unwrap();
        if let Some(s) = out.snapshot {
            let (m, c) = decode(&s.data).unwrap();
            shared.lock().unwrap().merge(&m);
            *claims = c;
        }
        for c in &out.committed {
            uplink_marks::apply(shared, c);
            counter_claims::apply(claims, c);
        }
        out.committed.len()
    }

    #[test]
    fn a_compacted_log_restarts_from_the_snapshot_with_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raft.redb");
        let shared = Mutex::new(UplinkMarks::default());
        let mut claims = Claims::new();
        let mut compactions = 0;
        {
            let mut node = open(&path, 1);
            for _ in 0..100 {
                node.tick();
                apply_all(&mut node, &shared, &mut claims);
                if node.is_leader() {
                    break;
                }
            }
            assert!(node.is_leader());
            for i in 1..=25u64 {
                node.propose(uplink_marks::command(&marks(i * 10, i)))
                    .unwrap();
                if i % 5 == 0 {
                    node.propose(counter_claims::command(&format!("K1-{i}"), 1))
                        .unwrap();
                }
                apply_all(&mut node, &shared, &mut claims);
                let g = shared.lock().unwrap().clone();
                if compact_if_due(&mut node, 7, &g, &claims).unwrap() {
                    compactions += 1;
                }
            }
            // Entries after the last compaction, so a restart has some to replay.
            node.propose(uplink_marks::command(&marks(260, 26)))
                .unwrap();
            apply_all(&mut node, &shared, &mut claims);
        }
        assert!(compactions >= 3, "compacted {compactions} times");
        let expected_marks = marks(260, 26);
        assert_eq!(*shared.lock().unwrap(), expected_marks);
        assert_eq!(claims.len(), 5);

        // Restart: the state comes back from the snapshot plus the entries after it.
        let node_path = path.clone();
        let mut node = open(&node_path, 2);
        let (restored, restored_claims) = restore(&node);
        assert!(restored.downlink > 0, "the snapshot carried no marks");
        let rebuilt = Mutex::new(restored);
        let mut rebuilt_claims = restored_claims;
        let replayed = apply_all(&mut node, &rebuilt, &mut rebuilt_claims);
        assert!(
            replayed < 10,
            "replayed {replayed} entries after compaction"
        );
        assert_eq!(*rebuilt.lock().unwrap(), expected_marks);
        assert_eq!(rebuilt_claims, claims);
        // A second take of a claimed order is still refused after the restart.
        node.tick();
        for _ in 0..100 {
            node.tick();
            apply_all(&mut node, &rebuilt, &mut rebuilt_claims);
            if node.is_leader() {
                break;
            }
        }
        node.propose(counter_claims::command("K1-5", 2)).unwrap();
        let out = node.advance().unwrap();
        let verdicts: Vec<_> = out
            .committed
            .iter()
            .filter_map(|c| counter_claims::apply(&mut rebuilt_claims, c))
            .collect();
        assert_eq!(verdicts.len(), 1);
        assert!(verdicts[0].is_err(), "{verdicts:?}");
    }
}
