//! One terminal's raft member in the simulator: keel-cluster's sans-IO
//! [`RaftNode`] over its redb raft log, ticked by the virtual clock, with the
//! election timeout raft-rs draws from a thread-local RNG replaced by a seeded
//! draw after every role or term change (so elections replay exactly). Owns the
//! member's committed-entry record the safety invariants read; it must not
//! move bytes (the world does).
//!
//! The raft log lives on its own [`CrashDisk`] (as `raft.redb` is its own file
//! beside the journal in production), opened with
//! `RedbRaftStorage::open_with_backend`: a power cut keeps only what raft synced.

use crate::disk::CrashDisk;
use crate::rng::SimRng;
use keel_cluster::raft::{
    CommittedKind, RaftNode, RaftNodeConfig, RedbRaftStorage, Role, StoreCommand,
};
use std::collections::BTreeMap;

/// A raft member and what it has seen committed.
pub struct Member {
    /// The driver.
    pub node: RaftNode,
    last: (u64, Role),
}

/// Entries seen committed by one terminal, by log index: (term, content), kept
/// across restarts (a committed entry must never change).
pub type CommittedLog = BTreeMap<u64, (u64, String)>;

impl Member {
    /// Opens the raft log on `disk` (bootstrapping `voters` on first open) and starts the driver.
    pub fn open(
        disk: &CrashDisk,
        id: u64,
        voters: &[u64],
        session: u64,
        rng: &mut SimRng,
    ) -> Result<Member, String> {
        let backend = (disk.opener())().map_err(|e| format!("raft disk: {e}"))?;
        let storage = RedbRaftStorage::open_with_backend(
            keel_store::DynBackend(backend),
            &format!("sim-raft-{id}"),
            voters,
        )
        .map_err(|e| format!("raft log: {e}"))?;
        let mut cfg = RaftNodeConfig::new(id);
        cfg.session = session;
        let mut node = RaftNode::new(cfg, storage).map_err(|e| format!("raft start: {e}"))?;
        node.set_randomized_election_timeout(draw(rng));
        let s = node.status();
        Ok(Member {
            node,
            last: (s.term, s.role),
        })
    }

    /// Runs the Ready loop once: returns the messages to send, records what
    /// committed into `log` (reporting a committed entry that changed), notes
    /// the leader of each term in `leaders` (reporting two leaders in one term),
    /// and re-seeds the election timeout after a role or term change.
    pub fn advance(
        &mut self,
        rng: &mut SimRng,
        log: &mut CommittedLog,
        leaders: &mut BTreeMap<u64, u64>,
        violations: &mut Vec<String>,
    ) -> Vec<(u64, Vec<u8>)> {
        let out = match self.node.advance() {
            Ok(o) => o,
            Err(e) => {
                violations.push(format!("raft {}: advance failed: {e}", self.node.id()));
                return Vec::new();
            }
        };
        for c in &out.committed {
            let content = match &c.kind {
                CommittedKind::Command(cmd) => format!("{cmd:?}"),
                other => format!("{other:?}"),
            };
            match log.get(&c.index) {
                Some((term, seen)) if *term != c.term || *seen != content => violations.push(format!(
                    "raft {}: entry {} committed as term {term} {seen} and later as term {} {content}",
                    self.node.id(),
                    c.index,
                    c.term
                )),
                _ => {
                    log.insert(c.index, (c.term, content));
                }
            }
        }
        let s = self.node.status();
        if s.role == Role::Leader {
            match leaders.get(&s.term) {
                Some(l) if *l != s.id => violations.push(format!(
                    "raft: two leaders in term {}: {l} and {}",
                    s.term, s.id
                )),
                _ => {
                    leaders.insert(s.term, s.id);
                }
            }
        }
        if (s.term, s.role) != self.last {
            self.last = (s.term, s.role);
            self.node.set_randomized_election_timeout(draw(rng));
        }
        out.messages
    }

    /// The leader proposes a store setting (a decision that needs a majority).
    pub fn propose_setting(&mut self, n: u64) -> bool {
        self.node.is_leader()
            && self
                .node
                .propose(StoreCommand::SetSetting {
                    key: "sim.decision".into(),
                    value: n.to_be_bytes().to_vec(),
                })
                .is_ok()
    }
}

/// A randomized election timeout in raft-rs's range `[ELECTION_TICK, 2 * ELECTION_TICK)`.
fn draw(rng: &mut SimRng) -> usize {
    let e = keel_cluster::raft::ELECTION_TICK as u64;
    rng.range(e, 2 * e - 1) as usize
}
