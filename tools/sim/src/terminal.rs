//! One simulated terminal: keel-core's engine and state, keel-store's journal on
//! a [`CrashDisk`], keel-core's replicator. Its commits, replica commits, state
//! recovery and replication heads are production's own: `keel_store::ledger`,
//! which keel-terminal's `Node` delegates to as well (only the opening of the
//! journal differs: `Node::open` takes a directory). Owns no network and no
//! clock: the world passes messages and `now_ms` in.

use crate::disk::CrashDisk;
use keel_core::event::EventBody;
use keel_core::hlc::Hlc;
use keel_core::ids::TerminalId;
use keel_core::profile::StoreProfile;
use keel_core::replication::{
    Accepted, OriginHead, OriginSigner, OriginVerifier, RecordSource, Replicator,
};
use keel_core::state::TerminalState;
use keel_store::ledger::{self, RecoverError};
use keel_store::{CommitError, Journal, JournalIdentity, OpenError, ReadError, StoredEvent};
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
    /// The state could not be recovered from the journal.
    #[error("state: {0}")]
    Recover(#[from] RecoverError),
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
        let state = ledger::recover_state(&mut journal)?;
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

    /// Commits `events` durably and folds them into state: `Node::commit`'s own
    /// logic (`keel_store::ledger::commit_local`; on error the state is reloaded
    /// from the disk).
    pub fn commit(
        &mut self,
        events: Vec<EventBody>,
        now_ms: u64,
    ) -> Result<Vec<StoredEvent>, CommitError> {
        ledger::commit_local(&mut self.journal, &mut self.state, events, None, now_ms)
    }

    /// Commits records replicated from another terminal and folds them into
    /// state: `Node::apply_remote`'s own logic (`keel_store::ledger::commit_replica`).
    pub fn apply_remote(&mut self, accepted: &Accepted) -> Result<(), CommitError> {
        ledger::commit_replica(&mut self.journal, &mut self.state, accepted)
    }
}

/// Every origin's head this journal holds, its own included.
pub fn heads(journal: &Journal) -> Result<BTreeMap<TerminalId, OriginHead>, ReadError> {
    ledger::replication_heads(journal)
}
