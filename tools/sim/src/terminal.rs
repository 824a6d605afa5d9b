//! One simulated terminal: keel-core's engine and state, keel-store's journal on
//! a [`CrashDisk`], keel-core's replicator. Mirrors keel-terminal's `Node::open`,
//! `Node::commit` and `Node::apply_remote` (which open a file path and so cannot
//! take a simulated disk; see docs/simulation.md). Owns no network and no clock:
//! the world passes messages and `now_ms` in.

use crate::disk::CrashDisk;
use keel_core::chain::ChainHash;
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, TerminalId};
use keel_core::profile::StoreProfile;
use keel_core::replication::{OriginHead, OriginSigner, OriginVerifier, RecordSource, Replicator};
use keel_core::state::TerminalState;
use keel_store::{Batch, CommitError, Journal, JournalIdentity, OpenError, ReadError, StoredEvent};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use thiserror::Error;

/// Why a terminal could not (re)start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The journal did not open from what the disk holds.
    #[error("journal: {0}")]
    Journal(#[from] OpenError),
    /// Reading the journal back failed.
    #[error("read: {0}")]
    Read(#[from] ReadError),
    /// Committing the seed events failed.
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
}

/// Signs with a terminal's Ed25519 key; its "certificate" is the raw public key
/// (the simulated PKI: the verifier knows every member's key).
pub struct SimSigner(pub Ed25519KeyPair);

impl OriginSigner for SimSigner {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).as_ref().to_vec()
    }
    fn certificate(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }
}

/// Checks proofs against the members' public keys. A (key, message, signature)
/// that verified once is remembered, so the K − 1 receivers of a proof (and every
/// repair pull carrying it again) pay for the Ed25519 check once per store:
/// the answer is a pure function of those bytes, so the memo changes no result.
pub struct SimVerifier {
    keys: BTreeMap<TerminalId, Vec<u8>>,
    verified: Mutex<BTreeSet<Vec<u8>>>,
}

impl SimVerifier {
    /// A verifier knowing every member's raw Ed25519 public key.
    pub fn new(keys: BTreeMap<TerminalId, Vec<u8>>) -> SimVerifier {
        SimVerifier {
            keys,
            verified: Mutex::new(BTreeSet::new()),
        }
    }
}

impl OriginVerifier for SimVerifier {
    fn verify(
        &self,
        origin: TerminalId,
        cert: &[u8],
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), String> {
        match self.keys.get(&origin) {
            Some(k) if k.as_slice() == cert => {
                let mut memo = Vec::with_capacity(4 + k.len() + sig.len() + msg.len());
                memo.extend_from_slice(&origin.0.to_be_bytes());
                memo.extend_from_slice(sig);
                memo.extend_from_slice(msg);
                // Invariant: nothing panics while holding this lock; a poisoned
                // set still only holds verified triples.
                let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if verified.contains(&memo) {
                    return Ok(());
                }
                UnparsedPublicKey::new(&ED25519, k)
                    .verify(msg, sig)
                    .map_err(|_| "bad signature".to_string())?;
                verified.insert(memo);
                Ok(())
            }
            _ => Err(format!("no such member key for {}", origin.0)),
        }
    }
}

/// Reads records for the replicator from a journal.
pub struct JournalSource<'a>(pub &'a Journal);

impl RecordSource for JournalSource<'_> {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        self.0
            .read_origin(origin, from_seq, max_bytes)
            .unwrap_or_else(|e| {
                log::warn!("read_origin {}: {e}", origin.0);
                Vec::new()
            })
    }
    fn proof(&self, origin: TerminalId, seq: u64) -> Option<Vec<u8>> {
        self.0.origin_proof(origin, seq).ok().flatten()
    }
    fn proven_at_or_below(&self, origin: TerminalId, max_seq: u64) -> Option<u64> {
        self.0.proven_at_or_below(origin, max_seq).ok().flatten()
    }
    fn certificate(&self, origin: TerminalId) -> Option<Vec<u8>> {
        self.0.origin_certificate(origin).ok().flatten()
    }
}

/// A running terminal.
pub struct SimTerminal {
    /// Its profile.
    pub profile: StoreProfile,
    /// Folded state.
    pub state: TerminalState,
    /// Its journal on the simulated disk.
    pub journal: Journal,
    /// Its replication state machine.
    pub replicator: Replicator,
}

impl SimTerminal {
    /// Opens (or, after a crash, recovers) the journal on `disk`, rebuilds state by
    /// folding the journal, and seeds a new journal with `seed`.
    pub fn open(
        profile: StoreProfile,
        disk: &CrashDisk,
        members: &BTreeSet<TerminalId>,
        now_ms: u64,
        seed: Vec<EventBody>,
    ) -> Result<SimTerminal, StartError> {
        let identity = JournalIdentity {
            store: profile.store.clone(),
            terminal: profile.terminal,
            currency: profile.currency,
            firmware: "keel-sim".into(),
        };
        let label = format!("sim-disk-{}", profile.terminal.0);
        let start = Hlc::default().tick(now_ms, profile.terminal);
        let mut journal = Journal::open_with_backend(disk.opener(), &label, &identity, start)?;
        let mut state =
            TerminalState::new(profile.store.clone(), profile.terminal, profile.currency);
        journal.rebuild_derived(&mut |e: &Event| state.apply(e))?;
        let replicator = Replicator::new(
            profile.terminal,
            profile.store.clone(),
            heads(&journal)?,
            members.clone(),
        );
        let mut t = SimTerminal {
            profile,
            state,
            journal,
            replicator,
        };
        if t.journal.last_seq() == 1 && !seed.is_empty() {
            t.commit(seed, now_ms)?;
        }
        Ok(t)
    }

    /// Commits `events` durably and folds them into state (as `Node::commit`).
    pub fn commit(
        &mut self,
        events: Vec<EventBody>,
        now_ms: u64,
    ) -> Result<Vec<StoredEvent>, CommitError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut hlc = self.journal.last_hlc().max(self.state.counters.last_hlc);
        let dots: Vec<Dot> = self.journal.next_dots(events.len() as u64);
        let mut stamped = Vec::with_capacity(events.len());
        let mut derived = Vec::new();
        let mut next = self.state.clone();
        for (body, dot) in events.into_iter().zip(dots) {
            hlc = hlc.tick(now_ms, self.profile.terminal);
            let provisional = Event {
                dot,
                hlc,
                prev: ChainHash::default(),
                body,
            };
            derived.extend(next.apply(&provisional));
            stamped.push((hlc, provisional.body));
        }
        let c = self.journal.commit(Batch {
            events: stamped,
            derived,
            idempotency: None,
        })?;
        self.state = next;
        Ok(c.events)
    }
}

/// Every origin's head this journal holds, its own included.
pub fn heads(journal: &Journal) -> Result<BTreeMap<TerminalId, OriginHead>, ReadError> {
    let mut out: BTreeMap<TerminalId, OriginHead> = journal
        .origin_heads()?
        .into_iter()
        .map(|(t, (seq, hash))| (t, OriginHead { seq, hash }))
        .collect();
    out.insert(
        journal.identity().terminal,
        OriginHead {
            seq: journal.last_seq(),
            hash: journal.head(),
        },
    );
    Ok(out)
}
