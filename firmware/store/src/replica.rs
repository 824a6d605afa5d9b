//! Replicated records of the store's other terminals: each origin's journal,
//! record for record as the origin wrote it, with the origin's chain head.
//!
//! This module owns the `replica_events` table ((origin, seq) -> record bytes),
//! the `replica_proofs` table ((origin, seq) -> the origin's signature over that
//! record, see keel-core's `replication::proof_message`), the per-origin heads
//! (tag 9 in `state`) and the per-origin certificates (tag 11 in `state`). A
//! replicated batch is written in one durable transaction with its proof, the
//! origin's certificate and the derived writes it causes, and only if it
//! continues the origin's chain exactly (next seq, linked by hash) and its proof
//! is for its last record: replication checks this (and the signature) first
//! (keel-core's replicator); the store checks the chain again so no caller can
//! splice a record in. Proofs and certificates are kept so the records can be
//! relayed to other terminals. It must not decide which records to ask for, nor
//! verify signatures.

use crate::error::{commit_error, read_error, CommitError, ReadError, VerifyError};
use crate::journal::Journal;
use crate::schema::{derived_key_into, HeadRecord, STATE};
use keel_core::chain::{decode_record, genesis_hash, verify_chain, ChainHash, ChainSummary};
use keel_core::derived::DerivedWrite;
use keel_core::event::Event;
use keel_core::ids::TerminalId;
use keel_core::replication::OriginProof;
use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;

/// Other origins' records by (origin terminal, seq).
pub(crate) const REPLICA: TableDefinition<(u32, u64), &[u8]> =
    TableDefinition::new("replica_events");

/// Origins' signatures over their records, by (origin terminal, seq); only the
/// records that ended a received message have one.
pub(crate) const PROOFS: TableDefinition<(u32, u64), &[u8]> =
    TableDefinition::new("replica_proofs");

/// Tag of an origin's head in `state`: tag 9, then the origin's id (u32 big-endian).
pub(crate) const ORIGIN_HEAD_TAG: u8 = 9;

/// Tag of an origin's certificate (DER) in `state`: tag 11, then the origin's id (u32 big-endian).
pub(crate) const ORIGIN_CERT_TAG: u8 = 11;

fn origin_key(tag: u8, origin: TerminalId) -> [u8; 5] {
    let mut k = [tag, 0, 0, 0, 0];
    k[1..].copy_from_slice(&origin.0.to_be_bytes());
    k
}

fn origin_head_key(origin: TerminalId) -> [u8; 5] {
    origin_key(ORIGIN_HEAD_TAG, origin)
}

impl Journal {
    /// The newest replicated record of every other origin held: seq and hash.
    pub fn origin_heads(&self) -> Result<BTreeMap<TerminalId, (u64, ChainHash)>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let state = txn.open_table(STATE).map_err(read_error)?;
        let mut out = BTreeMap::new();
        for entry in state
            .range(&[ORIGIN_HEAD_TAG][..]..&[ORIGIN_HEAD_TAG + 1][..])
            .map_err(read_error)?
        {
            let (k, v) = entry.map_err(read_error)?;
            let k = k.value();
            if k.len() != 5 {
                continue;
            }
            let origin = TerminalId(u32::from_be_bytes([k[1], k[2], k[3], k[4]]));
            let head: HeadRecord =
                crate::schema::decode_head(v.value()).map_err(|reason| ReadError::Corrupt {
                    what: format!("head of origin {origin}"),
                    reason,
                })?;
            out.insert(origin, (head.seq, head.hash));
        }
        Ok(out)
    }

    /// Records of `origin` (this terminal's own journal or a replica) from `from_seq`,
    /// in order, up to `max_bytes` (at least one record if any exists).
    pub fn read_origin(
        &self,
        origin: TerminalId,
        from_seq: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, ReadError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut take = |b: &[u8]| -> bool {
            if !out.is_empty() && bytes + b.len() > max_bytes {
                return false;
            }
            bytes += b.len();
            out.push(b.to_vec());
            true
        };
        let txn = self.database()?.begin_read().map_err(read_error)?;
        if origin == self.identity.terminal {
            let events = txn.open_table(crate::schema::EVENTS).map_err(read_error)?;
            for entry in events.range(from_seq.max(1)..).map_err(read_error)? {
                let (_, v) = entry.map_err(read_error)?;
                if !take(v.value()) {
                    break;
                }
            }
        } else {
            let replica = match txn.open_table(REPLICA) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(out),
                Err(e) => return Err(read_error(e)),
            };
            for entry in replica
                .range((origin.0, from_seq.max(1))..=(origin.0, u64::MAX))
                .map_err(read_error)?
            {
                let (_, v) = entry.map_err(read_error)?;
                if !take(v.value()) {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The origin's signature held for its record `seq`.
    pub fn origin_proof(&self, origin: TerminalId, seq: u64) -> Result<Option<Vec<u8>>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let proofs = match txn.open_table(PROOFS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(read_error(e)),
        };
        Ok(proofs
            .get((origin.0, seq))
            .map_err(read_error)?
            .map(|v| v.value().to_vec()))
    }

    /// The largest seq of `origin` at or below `max_seq` whose proof is held.
    pub fn proven_at_or_below(
        &self,
        origin: TerminalId,
        max_seq: u64,
    ) -> Result<Option<u64>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let proofs = match txn.open_table(PROOFS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(read_error(e)),
        };
        let last = proofs
            .range((origin.0, 0)..=(origin.0, max_seq))
            .map_err(read_error)?
            .next_back();
        match last {
            Some(entry) => Ok(Some(entry.map_err(read_error)?.0.value().1)),
            None => Ok(None),
        }
    }

    /// The certificate (DER) held for `origin`: the one its newest proof was verified with.
    pub fn origin_certificate(&self, origin: TerminalId) -> Result<Option<Vec<u8>>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let state = txn.open_table(STATE).map_err(read_error)?;
        let key = origin_key(ORIGIN_CERT_TAG, origin);
        Ok(state
            .get(&key[..])
            .map_err(read_error)?
            .map(|v| v.value().to_vec()))
    }

    /// Writes replicated records of `origin` (consecutive, continuing its stored
    /// head), the origin's proof for the last of them and its certificate, and the
    /// derived writes they cause, in one durable transaction.
    pub fn commit_remote(
        &mut self,
        origin: TerminalId,
        records: &[(Event, Vec<u8>, ChainHash)],
        proof: &OriginProof,
        certificate: &[u8],
        derived: &[DerivedWrite],
    ) -> Result<(), CommitError> {
        if origin == self.identity.terminal {
            return Err(CommitError::NotReplica { origin });
        }
        let Some(last) = records.last() else {
            return Ok(());
        };
        if proof.seq != last.0.dot.seq {
            return Err(CommitError::ProofMismatch {
                origin,
                proof: proof.seq,
                last: last.0.dot.seq,
            });
        }
        let db = self.db.as_ref().ok_or(CommitError::Unavailable {
            reason: "database not open".into(),
        })?;
        let result = (|| {
            let mut txn = db.begin_write().map_err(commit_error)?;
            txn.set_durability(Durability::Immediate)
                .map_err(commit_error)?;
            {
                let mut state = txn.open_table(STATE).map_err(commit_error)?;
                let key = origin_head_key(origin);
                let head = match state.get(&key[..]).map_err(commit_error)? {
                    Some(v) => crate::schema::decode_head(v.value())
                        .map_err(|reason| CommitError::Unreadable { seq: 0, reason })?,
                    None => HeadRecord {
                        seq: 0,
                        hash: genesis_hash(&self.identity.store, origin),
                        hlc: Default::default(),
                    },
                };
                let mut prev = head.hash;
                for (expected, (event, bytes, hash)) in (head.seq + 1..).zip(records) {
                    if event.dot.terminal != origin
                        || event.dot.seq != expected
                        || event.prev != prev
                        || ChainHash::of(bytes) != *hash
                    {
                        return Err(CommitError::ReplicaGap {
                            origin,
                            seq: event.dot.seq,
                            expected,
                        });
                    }
                    prev = *hash;
                }
                {
                    let mut replica = txn.open_table(REPLICA).map_err(commit_error)?;
                    for (event, bytes, _) in records {
                        replica
                            .insert((origin.0, event.dot.seq), bytes.as_slice())
                            .map_err(commit_error)?;
                    }
                    let mut proofs = txn.open_table(PROOFS).map_err(commit_error)?;
                    proofs
                        .insert((origin.0, proof.seq), proof.signature.as_slice())
                        .map_err(commit_error)?;
                }
                state
                    .insert(&origin_key(ORIGIN_CERT_TAG, origin)[..], certificate)
                    .map_err(commit_error)?;
                let new_head = HeadRecord {
                    seq: last.0.dot.seq,
                    hash: last.2,
                    hlc: last.0.hlc,
                };
                state
                    .insert(&key[..], crate::schema::encode_head(&new_head).as_slice())
                    .map_err(commit_error)?;
                let mut k = Vec::with_capacity(64);
                for w in derived {
                    derived_key_into(w.table, &w.key, &mut k);
                    match &w.value {
                        Some(v) => {
                            state
                                .insert(k.as_slice(), v.as_slice())
                                .map_err(commit_error)?;
                        }
                        None => {
                            state.remove(k.as_slice()).map_err(commit_error)?;
                        }
                    }
                }
            }
            txn.commit().map_err(commit_error)
        })();
        if let Err(e) = &result {
            log::warn!(
                "journal {}: replicated records of {origin} not written: {e}",
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

    /// Verifies the replicated chain of `origin` against its stored head.
    pub fn verify_origin(&self, origin: TerminalId) -> Result<ChainSummary, VerifyError> {
        let heads = self.origin_heads()?;
        let head = heads.get(&origin).copied();
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let records: Vec<(u64, Vec<u8>)> = match txn.open_table(REPLICA) {
            Ok(t) => {
                let mut v = Vec::new();
                for entry in t
                    .range((origin.0, 0)..=(origin.0, u64::MAX))
                    .map_err(read_error)?
                {
                    let (k, val) = entry.map_err(read_error)?;
                    v.push((k.value().1, val.value().to_vec()));
                }
                v
            }
            Err(redb::TableError::TableDoesNotExist(_)) => Vec::new(),
            Err(e) => return Err(read_error(e).into()),
        };
        verify_chain(
            origin,
            genesis_hash(&self.identity.store, origin),
            records,
            head,
        )
        .map_err(VerifyError::Broken)
    }

    /// Every replicated record, origin by origin in seq order (for rebuilding derived state).
    pub(crate) fn replica_events(
        txn: &redb::WriteTransaction,
    ) -> Result<Vec<(TerminalId, u64, Vec<u8>)>, CommitError> {
        let t = txn.open_table(REPLICA).map_err(commit_error)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(commit_error)? {
            let (k, v) = entry.map_err(commit_error)?;
            let (o, s) = k.value();
            out.push((TerminalId(o), s, v.value().to_vec()));
        }
        Ok(out)
    }
}

/// Decodes a replicated record for the rebuild fold.
pub(crate) fn decode_replica(
    origin: TerminalId,
    seq: u64,
    bytes: &[u8],
) -> Result<Event, CommitError> {
    decode_record(bytes).map_err(|e| CommitError::Unreadable {
        seq,
        reason: format!("replica of {origin}: {e}"),
    })
}
