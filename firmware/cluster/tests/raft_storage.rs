//! `RedbRaftStorage`: the raft-rs `Storage` contract on a real redb file, the
//! write side the Ready loop uses, bootstrap, reopen and schema refusal.

#![allow(clippy::field_reassign_with_default)]

use keel_cluster::raft::{OpenError, RedbRaftStorage, WriteError, RAFT_SCHEMA_VERSION};
use raft::eraftpb::{Entry, HardState, Snapshot};
use raft::{GetEntriesContext, Storage, StorageError};

fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    let mut e = Entry::default();
    e.index = index;
    e.term = term;
    e.data = data.to_vec().into();
    e
}

fn ctx() -> GetEntriesContext {
    GetEntriesContext::empty(false)
}

#[test]
fn bootstrap_keeps_stored_state_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.redb");
    {
        let s = RedbRaftStorage::open(&path, &[3, 1, 2, 2]).unwrap();
        let st = s.initial_state().unwrap();
        assert_eq!(st.conf_state.voters, vec![1, 2, 3]);
        // Bootstrap membership is the first log entries: AddNode 1, 2, 3, term 1, committed.
        assert_eq!(
            (st.hard_state.term, st.hard_state.vote, st.hard_state.commit),
            (1, 0, 3)
        );
        assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (1, 3));
        assert_eq!(s.term(3).unwrap(), 1);
        let boot = s.entries(1, 4, None, ctx()).unwrap();
        assert!(boot
            .iter()
            .all(|e| e.get_entry_type() == raft::eraftpb::EntryType::EntryConfChange));
        assert_eq!(s.conf_index(), 3);
    }
    {
        // Different voters on reopen are ignored: the stored state wins.
        let mut s = RedbRaftStorage::open(&path, &[7]).unwrap();
        assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);
        s.append(&[entry(4, 1, b"a"), entry(5, 1, b"b"), entry(6, 2, b"c")])
            .unwrap();
        let mut hs = HardState::default();
        hs.term = 2;
        hs.vote = 3;
        hs.commit = 2;
        s.set_hard_state(&hs).unwrap();
        let mut cs = s.conf_state().clone();
        cs.voters.push(4);
        s.set_conf_state(&cs, 6).unwrap();
    }
    let s = RedbRaftStorage::open(&path, &[]).unwrap();
    let st = s.initial_state().unwrap();
    assert_eq!(
        (st.hard_state.term, st.hard_state.vote, st.hard_state.commit),
        (2, 3, 2)
    );
    assert_eq!(st.conf_state.voters, vec![1, 2, 3, 4]);
    assert_eq!(s.conf_index(), 6);
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (1, 6));
    let es = s.entries(4, 7, None, ctx()).unwrap();
    assert_eq!(
        es.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(),
        vec![(4, 1), (5, 1), (6, 2)]
    );
    assert_eq!(&es[2].data[..], b"c");
    assert_eq!(s.term(6).unwrap(), 2);
    assert_eq!(
        s.term(7),
        Err(raft::Error::Store(StorageError::Unavailable))
    );
    assert_eq!(s.term(0).unwrap(), 0);
    assert!(matches!(
        RedbRaftStorage::open(dir.path().join("joiner.redb"), &[])
            .unwrap()
            .initial_state()
            .unwrap()
            .conf_state
            .voters
            .len(),
        0
    ));
}

#[test]
fn append_truncates_conflicting_suffix_and_refuses_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = RedbRaftStorage::open(dir.path().join("raft.redb"), &[]).unwrap();
    s.append(&(1..=5).map(|i| entry(i, 1, b"x")).collect::<Vec<_>>())
        .unwrap();
    // A new leader's entries replace 3.. (the old 4 and 5 go away).
    s.append(&[entry(3, 2, b"new")]).unwrap();
    assert_eq!(s.last_index().unwrap(), 3);
    assert_eq!(s.term(3).unwrap(), 2);
    assert!(
        s.entries(1, 5, None, ctx()).is_err(),
        "entries beyond the last index are refused, not a panic"
    );
    assert!(matches!(
        s.append(&[entry(9, 2, b"gap")]),
        Err(WriteError::Gap { first: 9, last: 3 })
    ));
    assert!(matches!(
        s.append(&[entry(4, 2, b""), entry(6, 2, b"")]),
        Err(WriteError::NotConsecutive(6))
    ));
    assert_eq!(
        s.last_index().unwrap(),
        3,
        "a refused append writes nothing"
    );
}

#[test]
fn entries_respect_max_size_and_return_at_least_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = RedbRaftStorage::open(dir.path().join("raft.redb"), &[]).unwrap();
    s.append(
        &(1..=10)
            .map(|i| entry(i, 1, &[7u8; 100]))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(s.entries(1, 11, None, ctx()).unwrap().len(), 10);
    assert_eq!(s.entries(1, 11, 0, ctx()).unwrap().len(), 1);
    let some = s.entries(1, 11, 350, ctx()).unwrap();
    assert!(some.len() >= 2 && some.len() < 10, "got {}", some.len());
}

#[test]
fn compact_then_snapshot_and_apply_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.redb");
    let mut s = RedbRaftStorage::open(&path, &[]).unwrap();
    let mut cs = raft::eraftpb::ConfState::default();
    cs.voters = vec![1, 2];
    s.set_conf_state(&cs, 0).unwrap();
    s.append(
        &(1..=6)
            .map(|i| entry(i, i / 3 + 1, b"x"))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    // Not committed yet: refused.
    assert!(matches!(
        s.compact(4, b"state".to_vec()),
        Err(WriteError::CompactOutOfRange { .. })
    ));
    s.set_commit(5).unwrap();
    s.compact(4, b"state@4".to_vec()).unwrap();
    assert_eq!(s.first_index().unwrap(), 5);
    assert_eq!(s.term(4).unwrap(), 2);
    assert_eq!(s.term(3), Err(raft::Error::Store(StorageError::Compacted)));
    assert_eq!(
        s.entries(3, 6, None, ctx()),
        Err(raft::Error::Store(StorageError::Compacted))
    );
    let snap = s.snapshot(0, 2).unwrap();
    assert_eq!(
        (snap.get_metadata().index, snap.get_metadata().term),
        (4, 2)
    );
    assert_eq!(&snap.data[..], b"state@4");
    assert_eq!(snap.get_metadata().get_conf_state().voters, vec![1, 2]);
    drop(s);

    // Reopen: compaction point kept.
    let mut s = RedbRaftStorage::open(&path, &[]).unwrap();
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (5, 6));

    // A snapshot from the leader replaces the log.
    let mut incoming = Snapshot::default();
    incoming.data = b"state@20".to_vec().into();
    incoming.mut_metadata().index = 20;
    incoming.mut_metadata().term = 5;
    incoming.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
    s.apply_snapshot(&incoming).unwrap();
    assert_eq!(
        (s.first_index().unwrap(), s.last_index().unwrap()),
        (21, 20)
    );
    assert_eq!(s.term(20).unwrap(), 5);
    assert_eq!(s.hard_state().commit, 20);
    assert_eq!(s.conf_state().voters, vec![1, 2, 3]);
    s.append(&[entry(21, 5, b"next")]).unwrap();
    drop(s);
    let s = RedbRaftStorage::open(&path, &[]).unwrap();
    assert_eq!(
        (s.first_index().unwrap(), s.last_index().unwrap()),
        (21, 21)
    );
    assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);

    // An older snapshot is refused.
    let mut s = s;
    let mut old = Snapshot::default();
    old.mut_metadata().index = 3;
    assert!(matches!(
        s.apply_snapshot(&old),
        Err(WriteError::SnapshotOutOfDate { .. })
    ));
}

#[test]
fn newer_schema_is_refused_and_zero_voter_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.redb");
    drop(RedbRaftStorage::open(&path, &[1]).unwrap());
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("raft_meta"))
                .unwrap();
            meta.insert("schema", (RAFT_SCHEMA_VERSION + 1).to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    match RedbRaftStorage::open(&path, &[1]) {
        Err(OpenError::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!(
                (found, supported),
                (RAFT_SCHEMA_VERSION + 1, RAFT_SCHEMA_VERSION)
            )
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert!(matches!(
        RedbRaftStorage::open(dir.path().join("other.redb"), &[1, 0]),
        Err(OpenError::ZeroVoter)
    ));
}

#[test]
fn a_log_opened_on_a_storage_backend_is_the_same_file_format() {
    // The simulator opens the raft log on its crash-recording disk; here the
    // backend is a plain file, reopened afterwards through `open(path)`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raft.redb");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .unwrap();
    let backend = redb::backends::FileBackend::new(file).unwrap();
    {
        let mut s = RedbRaftStorage::open_with_backend(backend, "sim-raft-1", &[2, 1]).unwrap();
        assert_eq!(s.path(), std::path::Path::new("sim-raft-1"));
        assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (1, 2));
        s.append(&[entry(3, 1, b"x")]).unwrap();
    }
    let s = RedbRaftStorage::open(&path, &[]).unwrap();
    assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2]);
    assert_eq!(s.last_index().unwrap(), 3);
    assert!(matches!(
        RedbRaftStorage::open_with_backend(redb::backends::InMemoryBackend::new(), "m", &[0]),
        Err(OpenError::ZeroVoter)
    ));
}
