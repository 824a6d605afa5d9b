//! `keel_store::ledger` when storage fails twice over: a commit fails AND the
//! state cannot be read back (the disk went away, the journal cannot even be
//! reopened). The folded state then still holds the refused events; the next
//! commit must read the state back from disk before building on it, and be
//! refused (writing nothing) while it cannot.
mod common;

use common::faulty_backend::faulty_opener;
use common::*;
use keel_core::event::EventBody;
use keel_core::ids::Sku;
use keel_store::ledger::{commit_local, load_state, recover_state};
use keel_store::{CommitError, Journal};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

/// A real file whose every operation, reopening included, fails with EIO
/// while `gone` is set.
fn opener(path: PathBuf, gone: Arc<AtomicBool>) -> keel_store::BackendOpener {
    faulty_opener(
        path,
        Arc::new(move |_| {
            if gone.load(Ordering::SeqCst) {
                return Err(eio());
            }
            Ok(())
        }),
    )
}

fn received(delta: i64) -> EventBody {
    EventBody::StockAdjusted {
        sku: Sku("APPLES".into()),
        delta,
        reason: "delivery".into(),
    }
}

fn apples(state: &keel_core::state::TerminalState) -> Option<i64> {
    state.stock.get(&Sku("APPLES".into())).copied()
}

#[test]
fn a_state_that_could_not_be_read_back_is_reloaded_before_the_next_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.redb");
    let gone = Arc::new(AtomicBool::new(false));
    let mut journal = Journal::open_with_backend(
        opener(path.clone(), gone.clone()),
        "vanishing-journal",
        &identity(),
        hlc(1_000),
    )
    .unwrap();
    let mut state = recover_state(&mut journal).unwrap();
    commit_local(&mut journal, &mut state, vec![received(10)], None, 2_000).unwrap();
    let durable_seq = journal.last_seq();
    assert!(!journal.state_stale());

    // The disk goes away: the commit fails and so does reading the state back.
    gone.store(true, Ordering::SeqCst);
    let refused = commit_local(&mut journal, &mut state, vec![received(5)], None, 3_000);
    assert!(refused.is_err(), "{refused:?}");
    assert!(journal.state_stale());
    assert!(load_state(&journal).is_err());
    // Memory still holds the refused delivery: this is what must never be built on.
    assert_eq!(apples(&state), Some(15));

    // While the disk is still gone, a commit is refused and writes nothing.
    let again = commit_local(&mut journal, &mut state, vec![received(1)], None, 4_000);
    assert!(
        matches!(again, Err(CommitError::Unavailable { .. })),
        "{again:?}"
    );
    assert!(journal.state_stale());

    // The disk is back: the state is read back first, then the commit lands on it.
    gone.store(false, Ordering::SeqCst);
    let stored = commit_local(&mut journal, &mut state, vec![received(1)], None, 5_000).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event.dot.seq, durable_seq + 1);
    assert_eq!(apples(&state), Some(11), "the refused +5 must not count");
    assert_eq!(load_state(&journal).unwrap(), state);
    assert!(!journal.state_stale());

    // And after a restart the disk says the same.
    drop(journal);
    let mut reopened = Journal::open_with_backend(
        opener(path, gone),
        "vanishing-journal",
        &identity(),
        hlc(1_000),
    )
    .unwrap();
    let recovered = recover_state(&mut reopened).unwrap();
    assert_eq!(apples(&recovered), Some(11));
    assert_eq!(recovered, state);
}
