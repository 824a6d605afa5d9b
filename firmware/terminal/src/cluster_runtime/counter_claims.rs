//! Counter order takes decided by the store's raft log: a terminal that takes
//! a counter order proposes an opaque `counter.take` entry, and every terminal
//! folds every committed one, in log order, into the same claims map (the
//! runtime starts raft with `applied: 0`, so a restart folds the log again
//! from the compacted log's snapshot on: see `consensus_state`). The first committed take of an order wins; a later take of the same
//! order by another terminal is refused with the winner named. A take by the
//! winner itself again is granted (a retry after its journaling failed).
//!
//! This module owns the command's encoding and the fold; it must not journal
//! anything (the taking terminal journals its take once granted).

use keel_cluster::raft::{Committed, CommittedKind, StoreCommand};
use std::collections::BTreeMap;

/// The `kind` of the opaque raft command carrying a counter order take.
pub const COUNTER_TAKE_KIND: &str = "counter.take";

/// Which terminal won each counter order, by order number (`K2-7`).
pub type Claims = BTreeMap<String, u32>;

/// The raft command asking for `order` to be taken by `terminal`.
pub fn command(order: &str, terminal: u32) -> StoreCommand {
    StoreCommand::Opaque {
        kind: COUNTER_TAKE_KIND.to_string(),
        // Invariant: postcard serialises a (String, u32) into a Vec without failing.
        payload: postcard::to_stdvec(&(order, terminal)).unwrap_or_default(),
    }
}

/// Folds a committed entry into `claims`: `None` if it is not a take, else
/// whether this take is granted (first, or the winner again) or refused.
pub fn apply(claims: &mut Claims, committed: &Committed) -> Option<Result<(), String>> {
    let CommittedKind::Command(StoreCommand::Opaque { kind, payload }) = &committed.kind else {
        return None;
    };
    if kind != COUNTER_TAKE_KIND {
        return None;
    }
    let (order, terminal): (String, u32) = match postcard::from_bytes(payload) {
        Ok(v) => v,
        Err(e) => {
            log::warn!(
                "raft entry {}: counter order take unreadable, refused: {e}",
                committed.index
            );
            return Some(Err(format!("counter order take unreadable: {e}")));
        }
    };
    let winner = *claims.entry(order.clone()).or_insert(terminal);
    if winner == terminal {
        Some(Ok(()))
    } else {
        Some(Err(format!(
            "counter order {order} was already taken by T{winner:02}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(index: u64, order: &str, terminal: u32) -> Committed {
        Committed {
            index,
            term: 1,
            kind: CommittedKind::Command(command(order, terminal)),
            proposal: None,
            local: false,
        }
    }

    #[test]
    fn the_first_committed_take_wins() {
        let mut claims = Claims::new();
        assert_eq!(apply(&mut claims, &committed(1, "K2-1", 1)), Some(Ok(())));
        let second = apply(&mut claims, &committed(2, "K2-1", 3));
        assert_eq!(
            second,
            Some(Err("counter order K2-1 was already taken by T01".into()))
        );
        // The winner may retry; another order is independent.
        assert_eq!(apply(&mut claims, &committed(3, "K2-1", 1)), Some(Ok(())));
        assert_eq!(apply(&mut claims, &committed(4, "K2-2", 3)), Some(Ok(())));
    }

    #[test]
    fn other_entries_are_not_takes() {
        let mut claims = Claims::new();
        let c = Committed {
            index: 1,
            term: 1,
            kind: CommittedKind::Command(StoreCommand::DayClose {
                day: "2026-11-23".into(),
                by: 1,
            }),
            proposal: None,
            local: false,
        };
        assert_eq!(apply(&mut claims, &c), None);
        assert!(claims.is_empty());
    }
}
