//! `keel_store::ledger`: the commit logic the terminal and the simulator share.
//! Dots and HLCs are stamped after the journal's head (even when the wall clock
//! goes back), the fold's derived writes land with the records, a reopened
//! journal recovers the same state, and a commit the store refuses leaves the
//! state as the disk has it.
mod common;

use common::*;
use keel_core::event::EventBody;
use keel_core::ids::CommandId;
use keel_core::ids::Sku;
use keel_store::ledger::{
    commit_local, committed_records, load_state, recover_state, replication_heads,
};
use keel_store::CommitError;

fn received(sku: &str, delta: i64) -> EventBody {
    EventBody::StockAdjusted {
        sku: Sku(sku.into()),
        delta,
        reason: "delivery".into(),
    }
}

#[test]
fn local_commits_stamp_after_the_head_fold_and_recover_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let mut journal = open(&path);
    let mut state = recover_state(&mut journal).unwrap();
    assert_eq!(state.counters.last_seq, 1);
    let first = commit_local(
        &mut journal,
        &mut state,
        vec![received("APPLES", 10), received("BREAD", 4)],
        None,
        5_000,
    )
    .unwrap();
    // The wall clock goes back: the HLC still moves forward.
    let second = commit_local(
        &mut journal,
        &mut state,
        vec![received("APPLES", -3)],
        None,
        10,
    )
    .unwrap();
    let seqs: Vec<u64> = first
        .iter()
        .chain(&second)
        .map(|e| e.event.dot.seq)
        .collect();
    assert_eq!(seqs, vec![2, 3, 4]);
    let hlcs: Vec<_> = first.iter().chain(&second).map(|e| e.event.hlc).collect();
    assert!(hlcs.windows(2).all(|w| w[0] < w[1]), "{hlcs:?}");
    assert_eq!(state.counters.last_seq, 4);
    assert_eq!(state.stock.get(&Sku("APPLES".into())), Some(&7));
    let records = committed_records(&second);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, 4);
    assert_eq!(records[0].2, journal.head());
    let heads = replication_heads(&journal).unwrap();
    assert_eq!(heads[&identity().terminal].seq, 4);
    assert_eq!(heads.len(), 1);
    // Nothing to commit: nothing written.
    assert!(commit_local(&mut journal, &mut state, vec![], None, 20)
        .unwrap()
        .is_empty());
    assert_eq!(journal.last_seq(), 4);
    drop(journal);
    let mut reopened = open(&path);
    assert_eq!(recover_state(&mut reopened).unwrap(), state);
    assert_eq!(load_state(&reopened).unwrap(), state);
}

#[test]
fn a_refused_commit_leaves_the_state_the_disk_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = open(&dir.path().join("journal.redb"));
    let mut state = recover_state(&mut journal).unwrap();
    let id = CommandId([7; 16]);
    commit_local(
        &mut journal,
        &mut state,
        vec![received("APPLES", 10)],
        Some((id, b"ok".to_vec())),
        2_000,
    )
    .unwrap();
    let before = state.clone();
    // The same command again: the store refuses it after the fold already ran.
    let again = commit_local(
        &mut journal,
        &mut state,
        vec![received("APPLES", 5)],
        Some((id, b"ok".to_vec())),
        3_000,
    );
    assert!(
        matches!(again, Err(CommitError::DuplicateCommand { .. })),
        "{again:?}"
    );
    assert_eq!(state, before);
    assert_eq!(journal.last_seq(), 2);
    commit_local(
        &mut journal,
        &mut state,
        vec![received("APPLES", 1)],
        None,
        4_000,
    )
    .unwrap();
    assert_eq!(state.stock.get(&Sku("APPLES".into())), Some(&11));
    assert_eq!(load_state(&journal).unwrap(), state);
}
