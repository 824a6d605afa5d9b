//! The cloud uplink's high-water marks as the store replicates them through
//! raft: the leader proposes the marks the cloud last acknowledged as an
//! opaque `uplink.marks` command, and every terminal merges every committed
//! one (its own proposals, other leaders', and after a restart the log again,
//! since the runtime starts raft with `applied: 0`, from the compacted log's
//! snapshot on: see `consensus_state`) into one shared
//! value. So a new leader resumes where the old one stopped, and any terminal
//! can tell how much of the store the cloud still lacks.
//!
//! This module owns the encoding of that command and the merge; it must not
//! talk to the cloud (that is the uplink runtime) and marks only move forward.

use keel_cluster::raft::{Committed, CommittedKind, StoreCommand};
use keel_uplink::UplinkMarks;
use std::sync::Mutex;

/// The `kind` of the opaque raft command carrying uplink marks.
pub const UPLINK_MARKS_KIND: &str = "uplink.marks";

/// The raft command replicating `marks`.
pub fn command(marks: &UplinkMarks) -> StoreCommand {
    StoreCommand::Opaque {
        kind: UPLINK_MARKS_KIND.to_string(),
        payload: marks.encode(),
    }
}

/// Merges the marks a committed entry carries, if it carries any, into
/// `shared`. Returns whether it did. An undecodable payload (newer firmware) is
/// logged and skipped: the next proposal carries the marks again.
pub fn apply(shared: &Mutex<UplinkMarks>, committed: &Committed) -> bool {
    let CommittedKind::Command(StoreCommand::Opaque { kind, payload }) = &committed.kind else {
        return false;
    };
    if kind != UPLINK_MARKS_KIND {
        return false;
    }
    match UplinkMarks::decode(payload) {
        Ok(m) => {
            let mut g = match shared.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            g.merge(&m);
            true
        }
        Err(e) => {
            log::warn!(
                "raft entry {}: uplink marks unreadable, skipped: {e}",
                committed.index
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::single_voter::open;
    use super::*;
    use keel_cluster::raft::RaftNode;
    use keel_core::ids::TerminalId;
    use keel_uplink::OriginMark;

    fn marks(t1: u64, t2: u64, downlink: u64) -> UplinkMarks {
        let mut m = UplinkMarks::default();
        m.origins.insert(
            TerminalId(1),
            OriginMark {
                bodies: t1,
                chain: t1,
            },
        );
        m.origins.insert(
            TerminalId(2),
            OriginMark {
                bodies: t2,
                chain: t2,
            },
        );
        m.downlink = downlink;
        m
    }

    /// Ticks a single-voter node until it leads, applying whatever commits.
    fn lead(node: &mut RaftNode, shared: &Mutex<UplinkMarks>) {
        for _ in 0..100 {
            node.tick();
            for c in node.advance().unwrap().committed {
                apply(shared, &c);
            }
            if node.is_leader() {
                return;
            }
        }
        panic!("a single voter did not become leader");
    }

    #[test]
    fn committed_marks_merge_forward_and_are_rebuilt_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raft.redb");
        let shared = Mutex::new(UplinkMarks::default());
        {
            let mut node = open(&path, 1);
            lead(&mut node, &shared);
            for m in [marks(5, 2, 1), marks(9, 2, 3), marks(7, 4, 2)] {
                node.propose(command(&m)).unwrap();
                let out = node.advance().unwrap();
                assert!(out.committed.iter().any(|c| apply(&shared, c)));
            }
            // Other opaque commands and other commands are not marks.
            node.propose(StoreCommand::Opaque {
                kind: "something.else".into(),
                payload: vec![1, 2, 3],
            })
            .unwrap();
            node.propose(StoreCommand::Opaque {
                kind: UPLINK_MARKS_KIND.into(),
                payload: vec![99, 1],
            })
            .unwrap();
            let out = node.advance().unwrap();
            assert_eq!(out.committed.len(), 2);
            assert!(out.committed.iter().all(|c| !apply(&shared, c)));
        }
        let expected = marks(9, 4, 3);
        assert_eq!(
            *shared.lock().unwrap(),
            expected,
            "stale marks never move back"
        );
        // A restarted terminal (applied 0) gets the whole log again and rebuilds
        // the same marks before it hears from anyone.
        let rebuilt = Mutex::new(UplinkMarks::default());
        let mut node = open(&path, 2);
        let out = node.advance().unwrap();
        let applied = out.committed.iter().filter(|c| apply(&rebuilt, c)).count();
        assert_eq!(
            applied, 3,
            "every committed marks entry is handed out again"
        );
        assert!(out.committed.iter().all(|c| !c.local));
        assert_eq!(*rebuilt.lock().unwrap(), expected);
    }
}
