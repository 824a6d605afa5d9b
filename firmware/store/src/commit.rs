//! Appending: a [`Batch`] of events with the derived writes and idempotent reply
//! they cause, written in one redb transaction and fsynced before returning.
//!
//! This module owns the atomicity of a commit and the chain links of new
//! records. It must not build events or derived state (core does) and must not
//! hash or encode records itself beyond calling `keel_core::chain`.
//!
//! Durability choice: redb's `Durability::Immediate` with its default 1-phase
//! commit. The commit writes the dirty pages and the new commit slot (both
//! checksummed), flips the slot and calls `fdatasync` once; after power loss
//! redb recovers to the newest slot whose checksums hold, so an acknowledged
//! commit survives and a torn one is rolled back whole. 2-phase commit (a second
//! fsync) only defends against a crafted workload forging redb's xxhash
//! checksums; our tamper evidence is the SHA-256 chain, so we do not pay for it.
//! Quick-repair (saving the allocator state every commit) is also off: it costs
//! every sale to speed up the rare open after a crash.

use crate::error::{commit_error, CommitError};
use crate::journal::Journal;
use crate::read::StoredEvent;
use crate::schema::{
    self, derived_key_into, derived_tags, idempotency_key, HeadRecord, EVENTS, HEAD_KEY, STATE,
};
use keel_core::chain::{encode_record, ChainHash, MAX_RECORD_BYTES};
use keel_core::derived::DerivedWrite;
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{CommandId, Dot};
use redb::{Database, Durability, ReadableTable, Table};

/// Everything one command commits, atomically.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// New events, in order, with their timestamps. They get seq `last_seq()+1..`.
    pub events: Vec<(Hlc, EventBody)>,
    /// Derived-state writes caused by the events, applied in order.
    pub derived: Vec<DerivedWrite>,
    /// The command's id and the reply to return if it is sent again.
    pub idempotency: Option<(CommandId, Vec<u8>)>,
}

/// What a commit appended.
#[derive(Clone, Debug)]
pub struct Committed {
    /// The new records, in order.
    pub events: Vec<StoredEvent>,
}

/// An encoded event ready to insert.
struct Prepared {
    event: Event,
    bytes: Vec<u8>,
    hash: ChainHash,
}

impl Journal {
    /// Appends the batch: assigns seqs `last_seq()+1..`, links each record to its
    /// predecessor, encodes, and writes the events, the derived writes, the
    /// idempotent reply and the new head in ONE redb write transaction committed
    /// with `Durability::Immediate` (fsync) before returning.
    ///
    /// On any error nothing is written and the in-memory head is unchanged. A
    /// full disk gives [`CommitError::DiskFull`]; after any I/O failure the
    /// database is reopened (now or on the next commit), so selling resumes once
    /// space is freed. A command id that already has a reply gives
    /// [`CommitError::DuplicateCommand`].
    pub fn commit(&mut self, batch: Batch) -> Result<Committed, CommitError> {
        let prepared = self.prepare(batch.events)?;
        if self.db.is_none() {
            self.reopen().map_err(|e| match commit_error(e) {
                CommitError::DiskFull { detail } => CommitError::DiskFull { detail },
                other => CommitError::Unavailable {
                    reason: other.to_string(),
                },
            })?;
        }
        let new_head = match prepared.last() {
            Some(p) => HeadRecord {
                seq: p.event.dot.seq,
                hash: p.hash,
                hlc: p.event.hlc,
            },
            None => self.head,
        };
        let result = match &self.db {
            Some(db) => write_batch(
                db,
                &prepared,
                &batch.derived,
                batch.idempotency.as_ref(),
                &new_head,
            ),
            None => Err(CommitError::Unavailable {
                reason: "database not open".into(),
            }),
        };
        match result {
            Ok(()) => {
                self.head = new_head;
                log::debug!("journal {}: committed up to {}", self.label, new_head.seq);
                Ok(Committed {
                    events: prepared
                        .into_iter()
                        .map(|p| StoredEvent {
                            bytes_len: p.bytes.len(),
                            event: p.event,
                            hash: p.hash,
                        })
                        .collect(),
                })
            }
            Err(e) => {
                log::error!(
                    "journal {}: commit failed, nothing written: {e}",
                    self.label
                );
                if e.needs_reopen() {
                    if let Err(re) = self.reopen() {
                        log::warn!("journal {}: reopen after I/O failure failed ({re}); retrying on the next commit", self.label);
                    }
                }
                Err(e)
            }
        }
    }

    /// Builds the records of a batch on top of the current head.
    fn prepare(&self, events: Vec<(Hlc, EventBody)>) -> Result<Vec<Prepared>, CommitError> {
        let mut out = Vec::with_capacity(events.len());
        let mut prev = self.head.hash;
        let mut last_hlc = self.head.hlc;
        for (index, (hlc, body)) in events.into_iter().enumerate() {
            if matches!(body, EventBody::JournalOpened { .. }) {
                return Err(CommitError::JournalOpenedNotAllowed { index });
            }
            if hlc < last_hlc {
                return Err(CommitError::HlcBackwards {
                    index,
                    hlc_ms: hlc.wall_ms,
                    last_ms: last_hlc.wall_ms,
                });
            }
            let event = Event {
                dot: Dot {
                    terminal: self.identity.terminal,
                    seq: self.head.seq + 1 + index as u64,
                },
                hlc,
                prev,
                body,
            };
            let bytes = encode_record(&event);
            if bytes.len() > MAX_RECORD_BYTES {
                return Err(CommitError::RecordTooLarge {
                    index,
                    bytes: bytes.len(),
                    max: MAX_RECORD_BYTES,
                });
            }
            let hash = ChainHash::of(&bytes);
            prev = hash;
            last_hlc = hlc;
            out.push(Prepared { event, bytes, hash });
        }
        Ok(out)
    }

    /// Clears every derived table and replays the whole journal through `fold`,
    /// writing what it returns, all in one durable transaction. Returns the number
    /// of records replayed. On error the old derived state stays.
    pub fn rebuild_derived(
        &mut self,
        fold: &mut dyn FnMut(&Event) -> Vec<DerivedWrite>,
    ) -> Result<u64, CommitError> {
        let db = self.db.as_ref().ok_or(CommitError::Unavailable {
            reason: "database not open".into(),
        })?;
        let result = rebuild(db, fold);
        if let Err(e) = &result {
            log::error!(
                "journal {}: rebuild of derived state failed, nothing changed: {e}",
                self.label
            );
            if e.needs_reopen() {
                if let Err(re) = self.reopen() {
                    log::warn!("journal {}: reopen failed: {re}", self.label);
                }
            }
        }
        result
    }
}

fn write_batch(
    db: &Database,
    prepared: &[Prepared],
    derived: &[DerivedWrite],
    idempotency: Option<&(CommandId, Vec<u8>)>,
    head: &HeadRecord,
) -> Result<(), CommitError> {
    let mut txn = db.begin_write().map_err(commit_error)?;
    txn.set_durability(Durability::Immediate)
        .map_err(commit_error)?;
    // Everything but the records goes to the one `state` table: the idempotent
    // reply, the head (which shares its leaf page with the counters every command
    // rewrites) and the derived writes.
    let mut state = txn.open_table(STATE).map_err(commit_error)?;
    if let Some((id, reply)) = idempotency {
        let key = idempotency_key(id);
        if state.get(key.as_slice()).map_err(commit_error)?.is_some() {
            // Dropping the transaction aborts it: nothing of the batch is written.
            return Err(CommitError::DuplicateCommand { id: *id });
        }
        state
            .insert(key.as_slice(), reply.as_slice())
            .map_err(commit_error)?;
    }
    if !prepared.is_empty() {
        let mut events = txn.open_table(EVENTS).map_err(commit_error)?;
        for p in prepared {
            events
                .insert(p.event.dot.seq, p.bytes.as_slice())
                .map_err(commit_error)?;
        }
        state
            .insert(HEAD_KEY, schema::encode_head(head).as_slice())
            .map_err(commit_error)?;
    }
    apply_derived(&mut state, derived)?;
    drop(state);
    txn.commit().map_err(commit_error)
}

/// Applies derived writes in order to the `state` table.
fn apply_derived(
    state: &mut Table<'_, &'static [u8], &'static [u8]>,
    writes: &[DerivedWrite],
) -> Result<(), CommitError> {
    let mut key = Vec::with_capacity(64);
    for w in writes {
        derived_key_into(w.table, &w.key, &mut key);
        match &w.value {
            Some(v) => {
                state
                    .insert(key.as_slice(), v.as_slice())
                    .map_err(commit_error)?;
            }
            None => {
                state.remove(key.as_slice()).map_err(commit_error)?;
            }
        }
    }
    Ok(())
}

fn rebuild(
    db: &Database,
    fold: &mut dyn FnMut(&Event) -> Vec<DerivedWrite>,
) -> Result<u64, CommitError> {
    let mut txn = db.begin_write().map_err(commit_error)?;
    txn.set_durability(Durability::Immediate)
        .map_err(commit_error)?;
    let mut count = 0u64;
    {
        let mut state = txn.open_table(STATE).map_err(commit_error)?;
        // Clear every derived table; the head and the idempotent replies stay.
        for tag in derived_tags() {
            state
                .retain_in(&[tag][..]..&[tag + 1][..], |_, _| false)
                .map_err(commit_error)?;
        }
        let events = txn.open_table(EVENTS).map_err(commit_error)?;
        for entry in events.iter().map_err(commit_error)? {
            let (seq, bytes) = entry.map_err(commit_error)?;
            let seq = seq.value();
            let event = keel_core::chain::decode_record(bytes.value()).map_err(|e| {
                CommitError::Unreadable {
                    seq,
                    reason: e.to_string(),
                }
            })?;
            let writes = fold(&event);
            apply_derived(&mut state, &writes)?;
            count += 1;
        }
        drop(events);
        // Then every other origin's replicated records, each origin in its own order
        // (the fold is a CRDT across origins, so their relative order does not matter).
        for (origin, seq, bytes) in Journal::replica_events(&txn)? {
            let event = crate::replica::decode_replica(origin, seq, &bytes)?;
            let writes = fold(&event);
            apply_derived(&mut state, &writes)?;
            count += 1;
        }
    }
    txn.commit().map_err(commit_error)?;
    Ok(count)
}
