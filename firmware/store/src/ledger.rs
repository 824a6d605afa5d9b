//! A terminal's journal and its folded state kept in step: the commit logic the
//! terminal (`keel-terminal`'s `Node`) and the store simulator (`keel-sim`) share,
//! so the simulator runs production's code rather than a copy of it.
//!
//! This module owns the order of things around a commit: HLC stamping after the
//! later of the journal's and the state's clock, dots reserved from the journal,
//! the fold into state *before* the durable commit (the derived writes the fold
//! returns go into the same transaction), and, when the commit fails, reloading
//! the state from disk (so memory never runs ahead of what is durable; when
//! that read fails too, the journal is marked stale and the next commit reloads
//! the state first or is refused). It also
//! recovers the state at open and reads the replication heads. It must not
//! decide what to commit (keel-core's engine does), hold a clock (callers pass
//! `now_ms`), or do any I/O of its own beyond the [`Journal`]'s.

use crate::{Batch, CommitError, Journal, ReadError, StoredEvent};
use keel_core::chain::{encode_record, ChainHash};
use keel_core::event::{Event, EventBody};
use keel_core::ids::{CommandId, Dot, TerminalId};
use keel_core::replication::{Accepted, OriginHead};
use keel_core::state::{LoadError, TerminalState};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why the derived state could not be read back from the journal's tables.
#[derive(Debug, Error)]
pub enum LoadStateError {
    /// A derived row does not decode.
    #[error("derived state: {0}")]
    Load(#[from] LoadError),
    /// Reading a derived table failed.
    #[error("reading derived state: {0}")]
    Read(#[from] ReadError),
}

/// Why the state could not be recovered when opening a journal.
#[derive(Debug, Error)]
pub enum RecoverError {
    /// The rebuilt derived state does not decode.
    #[error("derived state: {0}")]
    Load(#[from] LoadError),
    /// Reading the derived tables failed.
    #[error("reading the journal: {0}")]
    Read(#[from] ReadError),
    /// Replaying the journal into fresh derived tables failed.
    #[error("rebuilding derived state: {0}")]
    Rebuild(#[from] CommitError),
}

impl From<LoadStateError> for RecoverError {
    fn from(e: LoadStateError) -> Self {
        match e {
            LoadStateError::Load(e) => RecoverError::Load(e),
            LoadStateError::Read(e) => RecoverError::Read(e),
        }
    }
}

/// Records just committed to a terminal's own journal: (seq, exact bytes, hash),
/// what replication pushes and the peripherals react to.
pub type CommittedRecords = Vec<(u64, Vec<u8>, ChainHash)>;

/// Reads the folded state back from the journal's derived tables.
pub fn load_state(journal: &Journal) -> Result<TerminalState, LoadStateError> {
    let id = journal.identity();
    let mut failure = None;
    let state =
        TerminalState::load(
            id.store.clone(),
            id.terminal,
            id.currency,
            &mut |t| match journal.derived_scan(t) {
                Ok(rows) => rows,
                Err(e) => {
                    failure = Some(e);
                    Vec::new()
                }
            },
        )?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok(state)
}

/// The state of a journal just opened: its derived tables when they decode and
/// are at the journal's head; otherwise (first start, a migration, unreadable
/// rows) the derived tables are rebuilt by replaying the journal and read back.
pub fn recover_state(journal: &mut Journal) -> Result<TerminalState, RecoverError> {
    let loaded = match load_state(journal) {
        Ok(s) => Some(s),
        Err(e) => {
            // Derived state is only a cache of the journal: rebuild rather than refuse to start.
            log::warn!("derived state unreadable ({e}); rebuilding it from the journal");
            None
        }
    };
    let id = journal.identity().clone();
    match loaded {
        Some(state) if state.counters.last_seq == journal.last_seq() => Ok(state),
        loaded => {
            log::info!(
                "rebuilding derived state: derived at seq {}, journal at {}",
                loaded.map_or(0, |s| s.counters.last_seq),
                journal.last_seq()
            );
            let mut fresh = TerminalState::new(id.store.clone(), id.terminal, id.currency);
            journal.rebuild_derived(&mut |e: &Event| fresh.apply(e))?;
            let state = load_state(journal)?;
            if state != fresh {
                log::error!(
                    "derived state reloaded after rebuild differs from the fold; using the fold"
                );
                return Ok(fresh);
            }
            Ok(state)
        }
    }
}

/// After a failed commit: the state goes back to what the disk holds. When
/// even that read fails, the journal is marked so the next commit reloads the
/// state before building on it ([`resync_before_commit`]).
fn reload_after_failure(journal: &mut Journal, state: &mut TerminalState, what: &str) {
    match load_state(journal) {
        Ok(s) => *state = s,
        Err(le) => {
            log::error!(
                "reloading state after a failed {what}: {le}; the next commit reloads it first"
            );
            journal.state_stale = true;
        }
    }
}

/// Before a commit: a state that may hold refused events (an earlier commit
/// and the reload after it both failed) is read back from disk now, so no
/// commit ever writes derived rows folded from events the disk refused. When
/// it still cannot be read, the commit is refused and nothing is written.
fn resync_before_commit(
    journal: &mut Journal,
    state: &mut TerminalState,
) -> Result<(), CommitError> {
    if !journal.state_stale {
        return Ok(());
    }
    if journal.db.is_none() {
        journal.reopen().map_err(|e| CommitError::Unavailable {
            reason: format!("the journal cannot be reopened: {e}"),
        })?;
    }
    match load_state(journal) {
        Ok(s) => {
            log::info!("state read back from disk after an earlier failed commit");
            *state = s;
            journal.state_stale = false;
            Ok(())
        }
        Err(e) => Err(CommitError::Unavailable {
            reason: format!("the terminal's state cannot be read back from disk: {e}"),
        }),
    }
}

/// Commits `events` of this terminal durably (with an idempotent reply if given)
/// and folds them into `state`: each event gets the next dot and an HLC ticked
/// from `now_ms` after the later of the journal's and the state's clock, is
/// folded, and the derived writes of the fold go into the same transaction.
/// Returns the stored records. On error nothing is written and `state` is
/// reloaded from disk (when that fails too, the next commit reloads it before
/// anything else, or is refused).
pub fn commit_local(
    journal: &mut Journal,
    state: &mut TerminalState,
    events: Vec<EventBody>,
    idempotency: Option<(CommandId, Vec<u8>)>,
    now_ms: u64,
) -> Result<Vec<StoredEvent>, CommitError> {
    if events.is_empty() && idempotency.is_none() {
        return Ok(Vec::new());
    }
    resync_before_commit(journal, state)?;
    let terminal = journal.identity().terminal;
    let mut hlc = journal.last_hlc().max(state.counters.last_hlc);
    let dots: Vec<Dot> = journal.next_dots(events.len() as u64);
    let mut stamped = Vec::with_capacity(events.len());
    let mut derived = Vec::new();
    for (body, dot) in events.into_iter().zip(dots) {
        hlc = hlc.tick(now_ms, terminal);
        // prev is filled in by the store; the fold does not read it.
        let provisional = Event {
            dot,
            hlc,
            prev: ChainHash::default(),
            body,
        };
        derived.extend(state.apply(&provisional));
        stamped.push((hlc, provisional.body));
    }
    match journal.commit(Batch {
        events: stamped,
        derived,
        idempotency,
    }) {
        Ok(c) => Ok(c.events),
        Err(e) => {
            log::warn!("commit failed, reloading state from disk: {e}");
            reload_after_failure(journal, state, "commit");
            Err(e)
        }
    }
}

/// The records of a commit as replication sends them (record encoding is
/// deterministic: these are the bytes on disk).
pub fn committed_records(events: &[StoredEvent]) -> CommittedRecords {
    events
        .iter()
        .map(|e| (e.event.dot.seq, encode_record(&e.event), e.hash))
        .collect()
}

/// Commits checked records replicated from another terminal and folds them into
/// `state` (catalog, stock, kitchen: the store-wide CRDT part). On error nothing
/// is written and `state` is reloaded from disk (or, failing that, before the
/// next commit).
pub fn commit_replica(
    journal: &mut Journal,
    state: &mut TerminalState,
    accepted: &Accepted,
) -> Result<(), CommitError> {
    resync_before_commit(journal, state)?;
    let mut derived = Vec::new();
    for (event, _, _) in &accepted.records {
        derived.extend(state.apply(event));
    }
    match journal.commit_remote(
        accepted.origin,
        &accepted.records,
        &accepted.proof,
        &accepted.certificate,
        &derived,
    ) {
        Ok(()) => Ok(()),
        Err(e) => {
            reload_after_failure(journal, state, "replica commit");
            Err(e)
        }
    }
}

/// The newest record held of every origin, this terminal's own included.
pub fn replication_heads(journal: &Journal) -> Result<BTreeMap<TerminalId, OriginHead>, ReadError> {
    let mut heads: BTreeMap<TerminalId, OriginHead> = journal
        .origin_heads()?
        .into_iter()
        .map(|(t, (seq, hash))| (t, OriginHead { seq, hash }))
        .collect();
    heads.insert(
        journal.identity().terminal,
        OriginHead {
            seq: journal.last_seq(),
            hash: journal.head(),
        },
    );
    Ok(heads)
}
