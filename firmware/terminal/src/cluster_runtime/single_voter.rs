//! Test support: a one-voter raft group on a real redb file, for the tests of
//! what the runtime folds from committed entries. Test-only (its unwraps are
//! test assertions).
#![cfg(test)]

use keel_cluster::raft::{RaftNode, RaftNodeConfig, RedbRaftStorage};

/// Opens (or reopens) node 1, the only voter, at `path`; its caller starts
/// from applied 0 as the runtime does.
pub fn open(path: &std::path::Path, session: u64) -> RaftNode {
    let storage = RedbRaftStorage::open(path, &[1]).unwrap();
    RaftNode::new(
        RaftNodeConfig {
            id: 1,
            applied: 0,
            session,
        },
        storage,
    )
    .unwrap()
}
