//! Reading the journal: single records, ranges, the tail, raw record bytes and
//! idempotent replies, each from one redb read transaction (a consistent snapshot).
//!
//! This module owns only reads; it must never open a write transaction.

use crate::error::{read_error, ReadError};
use crate::journal::Journal;
use crate::schema::{idempotency_key, EVENTS, STATE};
use keel_core::chain::{decode_record, ChainHash};
use keel_core::event::Event;
use keel_core::ids::CommandId;
use redb::{Database, ReadableDatabase};

/// A record as stored: the decoded event, the hash of its bytes and their length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event.
    pub event: Event,
    /// SHA-256 of the record bytes (what the next record's `prev` holds).
    pub hash: ChainHash,
    /// Size of the record in bytes.
    pub bytes_len: usize,
}

impl StoredEvent {
    /// Decodes record `bytes` read back from the journal at `seq`: the decoding
    /// entry point every read uses (and the fuzzing target's).
    pub fn from_bytes(seq: u64, bytes: &[u8]) -> Result<StoredEvent, ReadError> {
        let event = decode_record(bytes).map_err(|e| ReadError::Unreadable {
            seq,
            reason: e.to_string(),
        })?;
        Ok(StoredEvent {
            event,
            hash: ChainHash::of(bytes),
            bytes_len: bytes.len(),
        })
    }
}

impl Journal {
    pub(crate) fn database(&self) -> Result<&Database, ReadError> {
        self.db.as_ref().ok_or(ReadError::Unavailable)
    }

    /// The record at `seq`, if any.
    pub fn read(&self, seq: u64) -> Result<Option<StoredEvent>, ReadError> {
        match self.read_record(seq)? {
            Some(bytes) => Ok(Some(StoredEvent::from_bytes(seq, &bytes)?)),
            None => Ok(None),
        }
    }

    /// The exact bytes of the record at `seq` (what replication and exports carry).
    pub fn read_record(&self, seq: u64) -> Result<Option<Vec<u8>>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let events = txn.open_table(EVENTS).map_err(read_error)?;
        let value = events.get(seq).map_err(read_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Records `from..=to_inclusive` that exist, in order.
    pub fn range(&self, from: u64, to_inclusive: u64) -> Result<Vec<StoredEvent>, ReadError> {
        if from > to_inclusive {
            return Ok(Vec::new());
        }
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let events = txn.open_table(EVENTS).map_err(read_error)?;
        let mut out = Vec::new();
        for entry in events.range(from..=to_inclusive).map_err(read_error)? {
            let (seq, bytes) = entry.map_err(read_error)?;
            out.push(StoredEvent::from_bytes(seq.value(), bytes.value())?);
        }
        Ok(out)
    }

    /// The last `n` records, oldest first.
    pub fn tail(&self, n: u64) -> Result<Vec<StoredEvent>, ReadError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let last = self.last_seq();
        self.range(last.saturating_sub(n - 1).max(1), last)
    }

    /// The reply stored for a command id, if the command was committed.
    pub fn idempotent_reply(&self, id: &CommandId) -> Result<Option<Vec<u8>>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let table = txn.open_table(STATE).map_err(read_error)?;
        let value = table
            .get(idempotency_key(id).as_slice())
            .map_err(read_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }
}
/// The chain head stored in `txn`'s snapshot.
pub(crate) fn read_head(
    txn: &redb::ReadTransaction,
) -> Result<crate::schema::HeadRecord, ReadError> {
    let state = txn.open_table(STATE).map_err(read_error)?;
    let head = state
        .get(crate::schema::HEAD_KEY)
        .map_err(read_error)?
        .ok_or_else(|| ReadError::Unreadable {
            seq: 0,
            reason: "chain head missing".into(),
        })?;
    crate::schema::decode_head(head.value())
        .map_err(|reason| ReadError::Unreadable { seq: 0, reason })
}
