//! The cloud's check of a batch, pure: given the cloud's cursor for each origin
//! and the stubs it holds, decide which entries are new, which fill a stub,
//! which are duplicates, and refuse the whole batch (storing nothing) when any
//! entry is malformed, out of order, from the wrong store or breaks a chain.
//!
//! Storage adapters (PostgreSQL, the embedded redb store) load the cursors and
//! stubs under a lock, call [`check_batch`], and write its [`CheckedBatch`] in
//! one transaction. This module must not touch storage.

use crate::marks::{OriginMark, UplinkMarks};
use crate::wire::{Batch, EntryBody};
use keel_core::chain::{decode_record, genesis_hash, ChainHash};
use keel_core::event::{Event, EventBody};
use keel_core::ids::{StoreId, TerminalId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Largest terminal number a store may have.
pub const MAX_TERMINAL: u32 = 64;

/// The cloud's position in one terminal's journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalCursor {
    /// Records `1..=bodies` are stored in full.
    pub bodies: u64,
    /// The chain is checked through `chain`.
    pub chain: u64,
    /// Hash of record `chain` (the genesis hash when `chain` is 0).
    pub chain_hash: ChainHash,
}

impl TerminalCursor {
    /// The cursor of a terminal the cloud holds nothing of.
    pub fn start(store: &StoreId, terminal: TerminalId) -> TerminalCursor {
        TerminalCursor {
            bodies: 0,
            chain: 0,
            chain_hash: genesis_hash(store, terminal),
        }
    }
}

/// A record the cloud holds only as a stub, waiting for its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stub {
    /// Origin.
    pub origin: TerminalId,
    /// Sequence number.
    pub seq: u64,
    /// Hash the body must have.
    pub hash: ChainHash,
    /// The body's `prev`, as claimed when the stub was sent.
    pub prev: ChainHash,
}

/// A record to store in the events table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestRecord {
    /// Origin terminal.
    pub origin: TerminalId,
    /// Sequence number on the origin.
    pub seq: u64,
    /// SHA-256 of `record`.
    pub hash: ChainHash,
    /// The record's `prev`.
    pub prev: ChainHash,
    /// The record's bytes exactly as the terminal journaled them.
    pub record: Vec<u8>,
    /// The decoded event.
    pub event: Event,
}

impl IngestRecord {
    /// The event kind (`sale`, `void`, ...).
    pub fn kind(&self) -> &'static str {
        self.event.body.kind()
    }

    /// HLC wall time of the event, ms since the epoch.
    pub fn at_ms(&self) -> u64 {
        self.event.hlc.wall_ms
    }
}

/// What to write for one accepted batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckedBatch {
    /// New full records (chain extensions and stub fills), per origin in order.
    pub records: Vec<IngestRecord>,
    /// New stubs.
    pub stubs: Vec<Stub>,
    /// Stubs whose bodies are in `records` now (delete them).
    pub filled: Vec<(TerminalId, u64)>,
    /// New cursors of the origins the batch moved.
    pub cursors: BTreeMap<TerminalId, TerminalCursor>,
    /// Entries the cloud already had.
    pub duplicates: u64,
}

/// Why a batch is refused (nothing of it is stored).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchRefusal {
    /// The batch has no entries.
    #[error("empty batch")]
    Empty,
    /// A terminal number outside the store's range.
    #[error("terminal {0} is not a terminal of this store (1..={MAX_TERMINAL})")]
    UnknownTerminal(u32),
    /// Entries of one origin are not in ascending order.
    #[error("{origin}: entry {seq} is out of order")]
    OutOfOrder {
        /// Origin.
        origin: TerminalId,
        /// Offending sequence number.
        seq: u64,
    },
    /// A gap above the cloud's chain mark.
    #[error("{origin}: entry {seq} leaves a gap (the cloud's chain ends at {chain})")]
    Gap {
        /// Origin.
        origin: TerminalId,
        /// Offending sequence number.
        seq: u64,
        /// The cloud's chain mark.
        chain: u64,
    },
    /// A record that does not decode.
    #[error("{origin}:{seq}: malformed record: {reason}")]
    Malformed {
        /// Origin.
        origin: TerminalId,
        /// Sequence number.
        seq: u64,
        /// Decoder's reason.
        reason: String,
    },
    /// A record whose dot differs from its entry's.
    #[error("{origin}:{seq}: the record inside is {found}")]
    WrongDot {
        /// Origin of the entry.
        origin: TerminalId,
        /// Sequence of the entry.
        seq: u64,
        /// The record's own dot.
        found: String,
    },
    /// A record from another store (its journal names another store).
    #[error("{origin}:{seq}: the journal belongs to store {found}, not this store")]
    OtherStore {
        /// Origin.
        origin: TerminalId,
        /// Sequence.
        seq: u64,
        /// Store the record names.
        found: String,
    },
    /// The hash chain does not link.
    #[error("{origin}:{seq}: broken hash chain (prev {found} where {expected} was expected)")]
    BrokenChain {
        /// Origin.
        origin: TerminalId,
        /// Sequence.
        seq: u64,
        /// Expected predecessor hash (hex, shortened).
        expected: String,
        /// Found predecessor hash (hex, shortened).
        found: String,
    },
    /// A body that does not match the stub sent for it.
    #[error("{origin}:{seq}: the body does not match the stub sent earlier")]
    StubMismatch {
        /// Origin.
        origin: TerminalId,
        /// Sequence.
        seq: u64,
    },
}

fn short(h: &ChainHash) -> String {
    h.hex()[..12].to_string()
}

/// Checks `batch` from `store` against the cloud's `cursors` (missing origins
/// start at their genesis) and the `stubs` it holds for the batch's origins.
pub fn check_batch(
    store: &StoreId,
    batch: &Batch,
    cursors: &BTreeMap<TerminalId, TerminalCursor>,
    stubs: &BTreeMap<(TerminalId, u64), Stub>,
) -> Result<CheckedBatch, BatchRefusal> {
    if batch.entries.is_empty() {
        return Err(BatchRefusal::Empty);
    }
    let mut out = CheckedBatch::default();
    let mut last_seen: BTreeMap<TerminalId, u64> = BTreeMap::new();
    // Stubs that this batch fills, so a later entry's stub-check can see them.
    let mut work: BTreeMap<TerminalId, TerminalCursor> = BTreeMap::new();
    let mut new_stubs: BTreeMap<(TerminalId, u64), Stub> = BTreeMap::new();
    let mut filled: BTreeMap<(TerminalId, u64), ()> = BTreeMap::new();
    for e in &batch.entries {
        let origin = e.origin;
        if origin.0 == 0 || origin.0 > MAX_TERMINAL {
            return Err(BatchRefusal::UnknownTerminal(origin.0));
        }
        if let Some(prev_seq) = last_seen.get(&origin) {
            if e.seq <= *prev_seq {
                return Err(BatchRefusal::OutOfOrder { origin, seq: e.seq });
            }
        }
        last_seen.insert(origin, e.seq);
        let cur = work.entry(origin).or_insert_with(|| {
            cursors
                .get(&origin)
                .copied()
                .unwrap_or_else(|| TerminalCursor::start(store, origin))
        });
        if e.seq == 0 {
            return Err(BatchRefusal::OutOfOrder { origin, seq: 0 });
        }
        if e.seq <= cur.chain {
            // Behind the chain mark: a stub fill or a duplicate.
            let stub = stubs
                .get(&(origin, e.seq))
                .or_else(|| new_stubs.get(&(origin, e.seq)));
            match (&e.body, stub) {
                (EntryBody::Full(bytes), Some(stub)) if !filled.contains_key(&(origin, e.seq)) => {
                    let rec = decode_checked(store, origin, e.seq, bytes)?;
                    if rec.hash != stub.hash || rec.prev != stub.prev {
                        return Err(BatchRefusal::StubMismatch { origin, seq: e.seq });
                    }
                    filled.insert((origin, e.seq), ());
                    if new_stubs.remove(&(origin, e.seq)).is_none() {
                        out.filled.push((origin, e.seq));
                    }
                    out.records.push(rec);
                }
                (EntryBody::Full(bytes), _) => {
                    // Still decoded: garbage is refused even when it claims an old dot.
                    decode_checked(store, origin, e.seq, bytes)?;
                    out.duplicates += 1;
                }
                (EntryBody::Stub { .. }, _) => out.duplicates += 1,
            }
            continue;
        }
        if e.seq != cur.chain + 1 {
            return Err(BatchRefusal::Gap {
                origin,
                seq: e.seq,
                chain: cur.chain,
            });
        }
        match &e.body {
            EntryBody::Full(bytes) => {
                let rec = decode_checked(store, origin, e.seq, bytes)?;
                if rec.prev != cur.chain_hash {
                    return Err(BatchRefusal::BrokenChain {
                        origin,
                        seq: e.seq,
                        expected: short(&cur.chain_hash),
                        found: short(&rec.prev),
                    });
                }
                cur.chain = e.seq;
                cur.chain_hash = rec.hash;
                out.records.push(rec);
            }
            EntryBody::Stub { hash, prev } => {
                if *prev != cur.chain_hash {
                    return Err(BatchRefusal::BrokenChain {
                        origin,
                        seq: e.seq,
                        expected: short(&cur.chain_hash),
                        found: short(prev),
                    });
                }
                cur.chain = e.seq;
                cur.chain_hash = *hash;
                new_stubs.insert(
                    (origin, e.seq),
                    Stub {
                        origin,
                        seq: e.seq,
                        hash: *hash,
                        prev: *prev,
                    },
                );
            }
        }
    }
    // Advance the bodies mark over every record now held in full.
    for (origin, cur) in work.iter_mut() {
        let mut b = cur.bodies;
        while b < cur.chain {
            let next = b + 1;
            let still_stub = (stubs.contains_key(&(*origin, next))
                && !filled.contains_key(&(*origin, next)))
                || new_stubs.contains_key(&(*origin, next));
            if still_stub {
                break;
            }
            b = next;
        }
        cur.bodies = b;
    }
    out.stubs = new_stubs.into_values().collect();
    out.cursors = work
        .into_iter()
        .filter(|(o, c)| cursors.get(o) != Some(c))
        .collect();
    Ok(out)
}

fn decode_checked(
    store: &StoreId,
    origin: TerminalId,
    seq: u64,
    bytes: &[u8],
) -> Result<IngestRecord, BatchRefusal> {
    let event = decode_record(bytes).map_err(|e| BatchRefusal::Malformed {
        origin,
        seq,
        reason: e.to_string(),
    })?;
    if event.dot.terminal != origin || event.dot.seq != seq {
        return Err(BatchRefusal::WrongDot {
            origin,
            seq,
            found: format!("{}:{}", event.dot.terminal, event.dot.seq),
        });
    }
    if let EventBody::JournalOpened { store: s, .. } = &event.body {
        if s != store {
            return Err(BatchRefusal::OtherStore {
                origin,
                seq,
                found: s.0.clone(),
            });
        }
    }
    Ok(IngestRecord {
        origin,
        seq,
        hash: ChainHash::of(bytes),
        prev: event.prev,
        record: bytes.to_vec(),
        event,
    })
}

/// The marks the cloud reports for `cursors` (the downlink mark is the store's own).
pub fn marks_of(cursors: &BTreeMap<TerminalId, TerminalCursor>) -> UplinkMarks {
    UplinkMarks {
        origins: cursors
            .iter()
            .map(|(o, c)| {
                (
                    *o,
                    OriginMark {
                        bodies: c.bodies,
                        chain: c.chain,
                    },
                )
            })
            .collect(),
        downlink: 0,
        acked_at_ms: 0,
    }
}
