//! Journal replication between a store's terminals: anti-entropy by version
//! vector, push on commit, periodic pull for repair, relayed catch-up.
//!
//! This module owns the protocol as a pure state machine (inputs: peers coming
//! and going, messages, local commits, ticks with the time; outputs: messages to
//! send and checked records to commit). It must not do I/O: records are read
//! through [`RecordSource`], and the caller commits accepted records durably and
//! folds them into state. Every incoming record is checked before it is accepted:
//! its origin must be a member of the store, it must be the next sequence number
//! of that origin, and it must link to the origin's previous record by hash (the
//! genesis hash for record 1), so a record is applied exactly once and a forged or
//! reordered one is refused. Every `Records` message also carries its origin's
//! proof: a signature by the origin's terminal key over the hash of the message's
//! last record (see [`proof_message`]), with the origin's certificate. The chain
//! links every earlier record to that hash, so one signature authenticates the
//! batch, and a member relaying another terminal's records cannot forge them: it
//! can only pass on batches ending at a record the origin signed. Signing and
//! verifying are done through [`OriginSigner`] and [`OriginVerifier`], which the
//! caller implements (keel-core does no cryptography with keys).

mod vv;
mod wire;

pub use vv::VersionVector;
pub use wire::{
    decode, encode, OriginProof, ReplicationMessage, WireError, MAX_MESSAGE_BYTES, WIRE_VERSION,
};

use crate::chain::{decode_record, genesis_hash, ChainHash};
use crate::event::Event;
use crate::ids::{StoreId, TerminalId};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// How often each peer gets a summary (pull for repair), in milliseconds.
pub const SUMMARY_INTERVAL_MS: u64 = 1_000;
/// Largest total record bytes sent in answer to one summary.
pub const ROUND_BYTES: usize = 4 << 20;
/// Largest record bytes in one `Records` message.
pub const BATCH_BYTES: usize = 512 << 10;

/// Domain separation prefix of every signed proof.
pub const PROOF_DOMAIN: &[u8] = b"keel-record-proof-v1\0";

/// The bytes an origin signs to vouch for its record `seq` with hash `hash`:
/// `"keel-record-proof-v1\0" || store id || 0 || origin (u32 BE) || seq (u64 BE) || hash`.
pub fn proof_message(store: &StoreId, origin: TerminalId, seq: u64, hash: &ChainHash) -> Vec<u8> {
    let mut m = Vec::with_capacity(PROOF_DOMAIN.len() + store.0.len() + 1 + 4 + 8 + 32);
    m.extend_from_slice(PROOF_DOMAIN);
    m.extend_from_slice(store.0.as_bytes());
    m.push(0);
    m.extend_from_slice(&origin.0.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&hash.0);
    m
}

/// Reads records this terminal holds, of any origin, with the proofs received for them.
pub trait RecordSource {
    /// Records of `origin` from `from_seq` on, in order, until `max_bytes` is
    /// reached (always at least one record if any exists).
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>>;
    /// The origin's signature held for its record `seq` (another origin's; none for our own).
    fn proof(&self, origin: TerminalId, seq: u64) -> Option<Vec<u8>>;
    /// The largest seq at or below `max_seq` of `origin` for which a proof is held.
    fn proven_at_or_below(&self, origin: TerminalId, max_seq: u64) -> Option<u64>;
    /// The certificate (DER) held for `origin`.
    fn certificate(&self, origin: TerminalId) -> Option<Vec<u8>>;
}

/// Signs this terminal's own records (with its terminal key).
pub trait OriginSigner {
    /// The signature over `message` (a [`proof_message`]).
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// This terminal's leaf certificate, DER.
    fn certificate(&self) -> Vec<u8>;
}

/// Checks other origins' proofs.
pub trait OriginVerifier {
    /// `Ok` when `certificate_der` is a valid certificate of this store naming exactly
    /// `origin`, and `signature` is its key's signature over `message`; otherwise why not.
    fn verify(
        &self,
        origin: TerminalId,
        certificate_der: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), String>;
}

/// The newest record held for one origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginHead {
    /// Its sequence number (0 = none yet).
    pub seq: u64,
    /// Its hash (the genesis hash when `seq` is 0).
    pub hash: ChainHash,
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Peer.
    pub to: TerminalId,
    /// Message.
    pub msg: ReplicationMessage,
}

/// Checked records of one origin, ready to commit in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Origin terminal.
    pub origin: TerminalId,
    /// (event, exact record bytes, record hash), consecutive from the origin's previous head.
    pub records: Vec<(Event, Vec<u8>, ChainHash)>,
    /// The origin's verified proof for the last of `records` (stored, so it can be relayed).
    pub proof: OriginProof,
    /// The origin's certificate the proof was verified with (DER).
    pub certificate: Vec<u8>,
}

/// What one input produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Messages to send.
    pub outgoing: Vec<Outgoing>,
    /// Records to commit (then call [`Replicator::committed`], or [`Replicator::rollback`] on failure).
    pub accepted: Vec<Accepted>,
}

/// Records refused, naming why. The connection stays up; the records are dropped.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReplicationError {
    /// The origin is not a member of this store.
    #[error("records of terminal {0}, which is not a member of this store")]
    UnknownOrigin(TerminalId),
    /// A record does not decode.
    #[error("record {origin}:{seq} does not decode: {reason}")]
    Undecodable {
        /// Origin.
        origin: TerminalId,
        /// Position.
        seq: u64,
        /// Decoder's reason.
        reason: String,
    },
    /// A record is not the one expected at its position.
    #[error("record {origin}:{seq} claims to be {found}")]
    WrongDot {
        /// Origin.
        origin: TerminalId,
        /// Position.
        seq: u64,
        /// Dot inside the record.
        found: crate::ids::Dot,
    },
    /// A record does not link to the origin's previous record.
    #[error("record {origin}:{seq} does not link to the previous record of its origin (hash chain broken)")]
    BrokenChain {
        /// Origin.
        origin: TerminalId,
        /// Position.
        seq: u64,
    },
    /// The message's proof does not vouch for its records: wrong seq, a certificate
    /// not of this store's CA or not naming the origin, or a signature that does not verify.
    #[error("records of {origin} up to {seq} refused: the origin's proof does not hold: {reason}")]
    BadProof {
        /// Origin.
        origin: TerminalId,
        /// Seq the proof claims.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// What we know of one peer.
#[derive(Clone, Debug, Default)]
struct PeerView {
    /// What the peer last said it holds (grown by what we sent since).
    known: Option<VersionVector>,
    /// When we last sent it a summary.
    last_summary_ms: u64,
}

/// Replication state of one terminal.
#[derive(Clone, Debug)]
pub struct Replicator {
    me: TerminalId,
    store: StoreId,
    heads: BTreeMap<TerminalId, OriginHead>,
    members: BTreeSet<TerminalId>,
    peers: BTreeMap<TerminalId, PeerView>,
}

impl Replicator {
    /// A replicator for terminal `me` of `store`, holding `heads` (this terminal's own
    /// head included) and accepting records of `members` (and of itself).
    pub fn new(
        me: TerminalId,
        store: StoreId,
        heads: BTreeMap<TerminalId, OriginHead>,
        members: BTreeSet<TerminalId>,
    ) -> Replicator {
        Replicator {
            me,
            store,
            heads,
            members,
            peers: BTreeMap::new(),
        }
    }

    /// This terminal's version vector.
    pub fn version_vector(&self) -> VersionVector {
        VersionVector::from_iter(self.heads.iter().map(|(t, h)| (*t, h.seq)))
    }

    /// The newest record held of `origin`.
    pub fn head(&self, origin: TerminalId) -> OriginHead {
        self.heads.get(&origin).copied().unwrap_or(OriginHead {
            seq: 0,
            hash: genesis_hash(&self.store, origin),
        })
    }

    /// Adds a store member (records of members are accepted).
    pub fn add_member(&mut self, t: TerminalId) {
        self.members.insert(t);
    }

    /// Removes a store member.
    pub fn remove_member(&mut self, t: TerminalId) {
        self.members.remove(&t);
    }

    /// Store members.
    pub fn members(&self) -> &BTreeSet<TerminalId> {
        &self.members
    }

    /// Peers currently connected.
    pub fn peers(&self) -> impl Iterator<Item = TerminalId> + '_ {
        self.peers.keys().copied()
    }

    /// How many of this terminal's own records `peer` is known to lack (None if unknown).
    pub fn lag(&self, peer: TerminalId) -> Option<u64> {
        let known = self.peers.get(&peer)?.known.as_ref()?;
        Some(self.head(self.me).seq.saturating_sub(known.get(self.me)))
    }

    /// What `peer` is known to hold.
    pub fn peer_vector(&self, peer: TerminalId) -> Option<&VersionVector> {
        self.peers.get(&peer)?.known.as_ref()
    }

    fn summary(&self, to: TerminalId) -> Outgoing {
        Outgoing {
            to,
            msg: ReplicationMessage::Summary {
                vv: self.version_vector(),
            },
        }
    }

    /// A peer connected: exchange summaries.
    pub fn peer_up(&mut self, peer: TerminalId, now_ms: u64) -> Vec<Outgoing> {
        self.peers.insert(
            peer,
            PeerView {
                known: None,
                last_summary_ms: now_ms,
            },
        );
        vec![self.summary(peer)]
    }

    /// A peer disconnected.
    pub fn peer_down(&mut self, peer: TerminalId) {
        self.peers.remove(&peer);
    }

    /// This terminal's proof for its own record `seq` with hash `hash`.
    fn own_proof(&self, seq: u64, hash: &ChainHash, signer: &dyn OriginSigner) -> OriginProof {
        OriginProof {
            seq,
            signature: signer.sign(&proof_message(&self.store, self.me, seq, hash)),
        }
    }

    /// This terminal committed its own records `(seq, bytes, hash)`: push them, signed,
    /// to every connected peer (a peer that lacks earlier ones asks for them by summary).
    pub fn local_committed(
        &mut self,
        records: &[(u64, Vec<u8>, ChainHash)],
        signer: &dyn OriginSigner,
    ) -> Vec<Outgoing> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Vec::new();
        };
        self.heads.insert(
            self.me,
            OriginHead {
                seq: last.0,
                hash: last.2,
            },
        );
        if self.peers.is_empty() {
            return Vec::new();
        }
        let proof = self.own_proof(last.0, &last.2, signer);
        let certificate = signer.certificate();
        let mut out = Vec::new();
        for (peer, view) in self.peers.iter_mut() {
            if let Some(k) = view.known.as_mut() {
                if k.get(self.me) + 1 < first.0 {
                    continue; // the peer is behind by more than this batch: the summary round repairs it
                }
                k.raise(self.me, last.0);
            }
            out.push(Outgoing {
                to: *peer,
                msg: ReplicationMessage::Records {
                    origin: self.me,
                    first_seq: first.0,
                    records: records.iter().map(|r| r.1.clone()).collect(),
                    proof: proof.clone(),
                    certificate: certificate.clone(),
                },
            });
        }
        out
    }

    /// Time passed: summaries to peers not asked for a while (pull for repair).
    pub fn tick(&mut self, now_ms: u64) -> Vec<Outgoing> {
        let due: Vec<TerminalId> = self
            .peers
            .iter()
            .filter(|(_, v)| now_ms.saturating_sub(v.last_summary_ms) >= SUMMARY_INTERVAL_MS)
            .map(|(p, _)| *p)
            .collect();
        due.into_iter()
            .map(|p| {
                if let Some(v) = self.peers.get_mut(&p) {
                    v.last_summary_ms = now_ms;
                }
                self.summary(p)
            })
            .collect()
    }

    /// A message from `from`. `signer` signs this terminal's own records sent in
    /// answer; `verifier` checks the proofs of records received.
    pub fn receive(
        &mut self,
        from: TerminalId,
        msg: ReplicationMessage,
        source: &dyn RecordSource,
        signer: &dyn OriginSigner,
        verifier: &dyn OriginVerifier,
        now_ms: u64,
    ) -> Result<Step, ReplicationError> {
        self.peers.entry(from).or_insert_with(|| PeerView {
            known: None,
            last_summary_ms: now_ms,
        });
        match msg {
            ReplicationMessage::Summary { vv } => Ok(Step {
                outgoing: self.answer_summary(from, vv, source, signer),
                accepted: Vec::new(),
            }),
            ReplicationMessage::Records {
                origin,
                first_seq,
                records,
                proof,
                certificate,
            } => self.receive_records(
                from,
                origin,
                first_seq,
                records,
                proof,
                certificate,
                verifier,
                now_ms,
            ),
        }
    }

    /// One message of `origin`'s records from `next`, within `max_bytes`, ending at a
    /// record with a proof: signed now for our own records; for another origin's, cut
    /// at the largest seq whose proof we hold (`None` if there is none in range).
    fn proven_batch(
        &self,
        origin: TerminalId,
        next: u64,
        max_bytes: usize,
        source: &dyn RecordSource,
        signer: &dyn OriginSigner,
    ) -> Option<ReplicationMessage> {
        let mut records = source.records(origin, next, max_bytes);
        let last = next + (records.len() as u64).checked_sub(1)?;
        let (proof, certificate) = if origin == self.me {
            let hash = ChainHash::of(records.last()?);
            (self.own_proof(last, &hash, signer), signer.certificate())
        } else {
            let proven = source
                .proven_at_or_below(origin, last)
                .filter(|p| *p >= next);
            let held = proven
                .and_then(|p| Some((p, source.proof(origin, p)?, source.certificate(origin)?)));
            let Some((p, signature, certificate)) = held else {
                log::debug!("records of {origin} from {next} to {last}: no proof held in that range; not relayed (the origin or another peer will send them)");
                return None;
            };
            records.truncate((p - next + 1) as usize);
            (OriginProof { seq: p, signature }, certificate)
        };
        Some(ReplicationMessage::Records {
            origin,
            first_seq: next,
            records,
            proof,
            certificate,
        })
    }

    fn answer_summary(
        &mut self,
        from: TerminalId,
        theirs: VersionVector,
        source: &dyn RecordSource,
        signer: &dyn OriginSigner,
    ) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let mut budget = ROUND_BYTES;
        let mut known = theirs.clone();
        for (origin, head) in &self.heads {
            let mut next = theirs.get(*origin) + 1;
            while next <= head.seq && budget > 0 {
                let Some(msg) =
                    self.proven_batch(*origin, next, BATCH_BYTES.min(budget), source, signer)
                else {
                    break;
                };
                let ReplicationMessage::Records { records, .. } = &msg else {
                    break;
                };
                let n = records.len() as u64;
                budget = budget.saturating_sub(records.iter().map(Vec::len).sum());
                out.push(Outgoing { to: from, msg });
                next += n;
            }
            known.raise(*origin, next - 1);
        }
        if let Some(v) = self.peers.get_mut(&from) {
            v.known = Some(known);
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn receive_records(
        &mut self,
        from: TerminalId,
        origin: TerminalId,
        first_seq: u64,
        records: Vec<Vec<u8>>,
        proof: OriginProof,
        certificate: Vec<u8>,
        verifier: &dyn OriginVerifier,
        now_ms: u64,
    ) -> Result<Step, ReplicationError> {
        if origin != self.me && !self.members.contains(&origin) {
            return Err(ReplicationError::UnknownOrigin(origin));
        }
        let mut step = Step::default();
        if origin == self.me {
            // We are the source of truth for our own journal; echoes are ignored.
            return Ok(step);
        }
        let Some(last_seq) = (first_seq + records.len() as u64)
            .checked_sub(1)
            .filter(|_| !records.is_empty())
        else {
            return Ok(step);
        };
        if proof.seq != last_seq {
            return Err(ReplicationError::BadProof {
                origin,
                seq: proof.seq,
                reason: format!(
                    "the proof is for seq {} but the message ends at {last_seq}",
                    proof.seq
                ),
            });
        }
        let head = self.head(origin);
        let mut expected = head.seq + 1;
        let mut prev = head.hash;
        if last_seq < expected {
            return Ok(step); // all held already: applying twice is a no-op
        }
        if first_seq > expected {
            // A gap: ask for what is missing instead.
            log::debug!("records of {origin} from {first_seq} but we hold up to {}: asking {from} for the gap", head.seq);
            if let Some(v) = self.peers.get_mut(&from) {
                v.last_summary_ms = now_ms;
            }
            step.outgoing.push(self.summary(from));
            return Ok(step);
        }
        let mut accepted = Vec::new();
        for (i, bytes) in records.into_iter().enumerate() {
            let seq = first_seq + i as u64;
            if seq < expected {
                continue; // already held: applying twice is a no-op
            }
            let event = decode_record(&bytes).map_err(|e| ReplicationError::Undecodable {
                origin,
                seq,
                reason: e.to_string(),
            })?;
            if event.dot.terminal != origin || event.dot.seq != seq {
                return Err(ReplicationError::WrongDot {
                    origin,
                    seq,
                    found: event.dot,
                });
            }
            if event.prev != prev {
                return Err(ReplicationError::BrokenChain { origin, seq });
            }
            let hash = ChainHash::of(&bytes);
            prev = hash;
            expected = seq + 1;
            accepted.push((event, bytes, hash));
        }
        if let Some((last, _, hash)) = accepted.last().map(|(e, b, h)| (e.dot.seq, b, *h)) {
            // The last record is the one at `proof.seq` (checked above): its hash is what the origin signed.
            let message = proof_message(&self.store, origin, last, &hash);
            verifier
                .verify(origin, &certificate, &message, &proof.signature)
                .map_err(|reason| ReplicationError::BadProof {
                    origin,
                    seq: last,
                    reason,
                })?;
            self.heads.insert(origin, OriginHead { seq: last, hash });
            if let Some(k) = self.peers.get_mut(&from).and_then(|v| v.known.as_mut()) {
                k.raise(origin, last);
            }
            step.accepted.push(Accepted {
                origin,
                records: accepted,
                proof,
                certificate,
            });
        }
        Ok(step)
    }

    /// The caller could not commit accepted records of `origin`: go back to `head`
    /// (what is durably held), so the records are asked for again.
    pub fn rollback(&mut self, origin: TerminalId, head: OriginHead) {
        self.heads.insert(origin, head);
        for v in self.peers.values_mut() {
            v.known = None;
            v.last_summary_ms = 0;
        }
    }
}

#[cfg(test)]
mod tests;
