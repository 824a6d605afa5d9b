//! One terminal's running state: its profile, its journal on disk and the
//! folded state, with the single commit path every command goes through: decide
//! (engine) -> fold into state -> commit durably (one fsynced transaction with the
//! derived writes) -> acknowledge. If the commit fails the in-memory state is
//! reloaded from disk, so nothing unacknowledged lingers.

use crate::clock::Clock;
use keel_core::chain::ChainHash;
use keel_core::derived::DerivedTable;
use keel_core::event::{Event, EventBody};
use keel_core::ids::{CommandId, ReceiptNo};
use keel_core::profile::StoreProfile;
use keel_core::sale::{RefundRecord, Sale};
use keel_core::state::{receipt_keys, LoadError, TerminalState};
use keel_store::{
    ledger, CommitError, Journal, JournalIdentity, OpenError, ReadError, StoredEvent,
};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The firmware version recorded in journals and shown by `status`.
pub const FIRMWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where a root file system may record its firmware version; the OTA code
/// reads it in preference to [`FIRMWARE_VERSION`] (the boot test's second
/// system is the same binary with a bumped version here).
pub const FIRMWARE_VERSION_FILE: &str = "/etc/keel/firmware-version";

/// The running firmware's version as the OTA code compares and records it:
/// [`FIRMWARE_VERSION_FILE`]'s when it holds one, else the compiled
/// [`FIRMWARE_VERSION`]. Read once per process.
pub fn firmware_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| match std::fs::read_to_string(FIRMWARE_VERSION_FILE) {
        Ok(text) => firmware_version_from(Some(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => firmware_version_from(None),
        Err(e) => {
            log::warn!("{FIRMWARE_VERSION_FILE}: {e}; using {FIRMWARE_VERSION}");
            firmware_version_from(None)
        }
    })
}

/// The version a firmware-version file's `text` names (its first line,
/// trimmed, when it is a valid version), else [`FIRMWARE_VERSION`].
pub fn firmware_version_from(text: Option<&str>) -> String {
    let Some(line) = text.and_then(|t| t.lines().next()).map(str::trim) else {
        return FIRMWARE_VERSION.to_string();
    };
    match keel_ota::version::Version::parse(line) {
        Ok(v) => v.to_string(),
        Err(e) => {
            log::warn!("{FIRMWARE_VERSION_FILE}: `{line}`: {e}; using {FIRMWARE_VERSION}");
            FIRMWARE_VERSION.to_string()
        }
    }
}

/// Errors starting a terminal.
#[derive(Debug, Error)]
pub enum StartError {
    /// The data directory cannot be created.
    #[error("cannot create data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    /// The journal cannot be opened.
    #[error("journal {0}: {1}")]
    Journal(PathBuf, Box<OpenError>),
    /// Derived state does not decode and could not be rebuilt.
    #[error("derived state: {0}")]
    Load(#[from] LoadError),
    /// Reading the journal failed.
    #[error("reading the journal: {0}")]
    Read(#[from] ReadError),
    /// Writing the first-start records (demo catalog) or a rebuild failed.
    #[error("initialising the journal: {0}")]
    Seed(#[from] CommitError),
}

/// Errors reading receipts back from the journal.
#[derive(Debug, Error)]
pub enum LookupError {
    /// Storage failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The receipt table points at a record that is not a sale (corruption).
    #[error("receipt {0}: journal record {1} is not the expected kind")]
    WrongRecord(ReceiptNo, u64),
}

/// A sale read back from the journal, with its void/refund status.
#[derive(Debug, Clone)]
pub struct SaleRecord {
    /// The sale.
    pub sale: Sale,
    /// The sale's record.
    pub seq: u64,
    /// Record hash (verification code source).
    pub hash: ChainHash,
    /// Time of the sale (ms).
    pub time_ms: u64,
    /// Voided afterwards.
    pub voided: bool,
    /// Refunds issued against it.
    pub refunds: Vec<RefundRecord>,
}

/// Records just committed to this terminal's own journal: (seq, exact bytes, hash).
pub use keel_store::ledger::CommittedRecords;

/// A running terminal.
pub struct Node {
    /// Store profile.
    pub profile: StoreProfile,
    /// Folded state.
    pub state: TerminalState,
    journal: Journal,
    clock: Box<dyn Clock>,
    data_dir: PathBuf,
    on_commit: Vec<Box<dyn FnMut(CommittedRecords) + Send>>,
    on_keys: Option<Box<dyn FnMut(KeyRing) + Send>>,
    ai: Option<crate::ai::AiService>,
    ota: Option<crate::ota::OtaService>,
    ota_channel: crate::ota_channel::OtaChannel,
    risk: Option<std::sync::Arc<dyn crate::risk::RiskSource>>,
    /// Replicated batches refused for a moment after a full disk.
    replica_pause: crate::replica_pause::ReplicaPause,
}

/// Customers' data keys, kept outside the journal (see keel-core's `pii`).
pub use keel_core::pii::KeyRing;

fn load_state(journal: &Journal) -> Result<TerminalState, StartError> {
    ledger::load_state(journal).map_err(|e| match e {
        ledger::LoadStateError::Load(e) => StartError::Load(e),
        ledger::LoadStateError::Read(e) => StartError::Read(e),
    })
}

impl Node {
    /// Opens (or creates) the terminal's journal under `data_dir`. On a new journal the
    /// `seed` events (e.g. the demo catalog) are committed right after the first record.
    pub fn open(
        profile: StoreProfile,
        data_dir: &Path,
        clock: Box<dyn Clock>,
        seed: Vec<EventBody>,
    ) -> Result<Node, StartError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StartError::DataDir(data_dir.to_path_buf(), e))?;
        let path = data_dir.join("journal.redb");
        let identity = JournalIdentity {
            store: profile.store.clone(),
            terminal: profile.terminal,
            currency: profile.currency,
            firmware: FIRMWARE_VERSION.to_string(),
        };
        let start_hlc = keel_core::hlc::Hlc::default().tick(clock.now_ms(), profile.terminal);
        let mut journal = Journal::open(&path, &identity, start_hlc)
            .map_err(|e| StartError::Journal(path.clone(), Box::new(e)))?;
        // Derived state is only a cache of the journal: unreadable or behind
        // (first start, a migration), it is rebuilt by replaying the journal.
        let state = ledger::recover_state(&mut journal).map_err(|e| match e {
            ledger::RecoverError::Load(e) => StartError::Load(e),
            ledger::RecoverError::Read(e) => StartError::Read(e),
            ledger::RecoverError::Rebuild(e) => StartError::Seed(e),
        })?;
        let profile_terminal = profile.terminal;
        let mut node = Node {
            profile,
            state,
            journal,
            clock,
            data_dir: data_dir.to_path_buf(),
            on_commit: Vec::new(),
            on_keys: None,
            ai: None,
            ota: None,
            ota_channel: crate::ota_channel::OtaChannel::new(profile_terminal, data_dir),
            risk: None,
            replica_pause: Default::default(),
        };
        if node.journal.last_seq() == 1 && !seed.is_empty() {
            node.commit(seed, None)?;
        }
        Ok(node)
    }

    /// Sets the risk source asked before every offline card tender (see `risk`).
    pub fn set_risk_source(&mut self, source: std::sync::Arc<dyn crate::risk::RiskSource>) {
        self.risk = Some(source);
    }

    /// The risk source, if one is set.
    pub fn risk_source(&self) -> Option<std::sync::Arc<dyn crate::risk::RiskSource>> {
        self.risk.clone()
    }

    /// Rebuilds every derived table by replaying the whole journal, then reloads the
    /// state from them. Returns the number of records replayed.
    pub fn rebuild(&mut self) -> Result<u64, StartError> {
        let mut fresh = TerminalState::new(
            self.profile.store.clone(),
            self.profile.terminal,
            self.profile.currency,
        );
        let n = self
            .journal
            .rebuild_derived(&mut |e: &Event| fresh.apply(e))?;
        self.state = load_state(&self.journal)?;
        Ok(n)
    }

    /// Data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The journal (read access).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The terminal's AI (models, camera, recent events), if started.
    pub fn ai(&self) -> Option<&crate::ai::AiService> {
        self.ai.as_ref()
    }

    /// Gives the node its AI: the journal's recent events are loaded into it
    /// and every later commit is added (for the loss-prevention features).
    pub fn set_ai(&mut self, ai: crate::ai::AiService) {
        ai.load_history(&self.journal);
        let feed = ai.clone();
        self.on_commit
            .push(Box::new(move |records| feed.record(&records)));
        self.ai = Some(ai);
    }

    /// The terminal's OTA service (offers, installs, status), if started.
    pub fn ota(&self) -> Option<&crate::ota::OtaService> {
        self.ota.as_ref()
    }

    /// The store OTA channel's state on this terminal (releases offered,
    /// downloads, reports); cheap to clone for the runtimes.
    pub fn ota_channel(&self) -> &crate::ota_channel::OtaChannel {
        &self.ota_channel
    }

    /// Gives the node its OTA service.
    pub fn set_ota(&mut self, ota: crate::ota::OtaService) {
        self.ota = Some(ota);
    }

    /// Wall clock now (ms).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Uptime (ms).
    pub fn uptime_ms(&self) -> u64 {
        self.clock.uptime_ms()
    }

    /// Commits `events` durably (with an idempotent reply if given) and folds them into state.
    /// Returns the stored records. On error nothing is written and state is unchanged.
    pub fn commit(
        &mut self,
        events: Vec<EventBody>,
        idempotency: Option<(CommandId, Vec<u8>)>,
    ) -> Result<Vec<StoredEvent>, CommitError> {
        let now = self.clock.now_ms();
        let events =
            ledger::commit_local(&mut self.journal, &mut self.state, events, idempotency, now)?;
        if !self.on_commit.is_empty() {
            let records = ledger::committed_records(&events);
            for listener in self.on_commit.iter_mut() {
                listener(records.clone());
            }
        }
        Ok(events)
    }

    /// Every customer key and erasure this terminal holds.
    pub fn key_ring(&self) -> Result<KeyRing, ReadError> {
        self.journal.key_ring()
    }

    /// Merges keys or erasures (from a peer, the cloud, or this terminal's own
    /// `customer set`) into the stored ring in one durable transaction; the
    /// entries that changed go to the key listener (replication spreads them).
    pub fn merge_keys(&mut self, ring: &KeyRing) -> Result<Vec<String>, CommitError> {
        let changed = self.journal.merge_keys(ring)?;
        if !changed.is_empty() {
            let stored = self
                .journal
                .key_ring()
                .map_err(|e| CommitError::Unavailable {
                    reason: e.to_string(),
                })?;
            if let Some(listener) = self.on_keys.as_mut() {
                listener(stored.subset(&changed));
            }
        }
        Ok(changed)
    }

    /// Calls `listener` with the key-ring entries every later `merge_keys` changed.
    pub fn set_keys_listener(&mut self, listener: Box<dyn FnMut(KeyRing) + Send>) {
        self.on_keys = Some(listener);
    }

    /// Adds `listener`, called with the records of every later commit
    /// (replication pushes them; the peripherals print receipts and open the drawer).
    pub fn add_commit_listener(&mut self, listener: Box<dyn FnMut(CommittedRecords) + Send>) {
        self.on_commit.push(listener);
    }

    /// The newest record held of every origin, this terminal's own included.
    pub fn replication_heads(
        &self,
    ) -> Result<
        std::collections::BTreeMap<keel_core::ids::TerminalId, keel_core::replication::OriginHead>,
        ReadError,
    > {
        ledger::replication_heads(&self.journal)
    }

    /// Records of `origin` held here, from `from_seq`, up to about `max_bytes`.
    pub fn records_of(
        &self,
        origin: keel_core::ids::TerminalId,
        from_seq: u64,
        max_bytes: usize,
    ) -> Result<Vec<Vec<u8>>, ReadError> {
        self.journal.read_origin(origin, from_seq, max_bytes)
    }

    /// The proof held for record `seq` of another origin.
    pub fn proof_of(
        &self,
        origin: keel_core::ids::TerminalId,
        seq: u64,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        self.journal.origin_proof(origin, seq)
    }

    /// The largest seq of `origin` at or below `max_seq` whose proof is held.
    pub fn proven_at_or_below(
        &self,
        origin: keel_core::ids::TerminalId,
        max_seq: u64,
    ) -> Result<Option<u64>, ReadError> {
        self.journal.proven_at_or_below(origin, max_seq)
    }

    /// The certificate (DER) held for another origin.
    pub fn certificate_of(
        &self,
        origin: keel_core::ids::TerminalId,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        self.journal.origin_certificate(origin)
    }

    /// Commits checked records replicated from another terminal and folds them into
    /// state (catalog, stock, kitchen: the store-wide CRDT part). On error nothing is
    /// written and state is reloaded from disk. For a moment after the disk
    /// refused them as full, batches are refused at once (`replica_pause`).
    pub fn apply_remote(
        &mut self,
        accepted: &keel_core::replication::Accepted,
    ) -> Result<(), CommitError> {
        let now = self.clock.uptime_ms();
        if let Some(refused) = self.replica_pause.refusal(now) {
            return Err(refused);
        }
        let result = ledger::commit_replica(&mut self.journal, &mut self.state, accepted);
        self.replica_pause.record(&result, now);
        result
    }

    /// The stored reply of an earlier command with this id.
    pub fn idempotent_reply(&self, id: &CommandId) -> Result<Option<Vec<u8>>, ReadError> {
        self.journal.idempotent_reply(id)
    }

    fn seq_of(&self, key: &str) -> Result<Option<u64>, ReadError> {
        Ok(self
            .journal
            .derived_get(DerivedTable::Receipts, key)?
            .and_then(|b| TerminalState::decode_seq(&b)))
    }

    /// Reads a sale by receipt number, with its void and refunds.
    pub fn sale(&self, no: ReceiptNo) -> Result<Option<SaleRecord>, LookupError> {
        let Some(seq) = self.seq_of(&receipt_keys::sale(self.profile.terminal, no))? else {
            return Ok(None);
        };
        let Some(stored) = self.journal.read(seq)? else {
            return Err(LookupError::WrongRecord(no, seq));
        };
        let EventBody::SaleCompleted(sale) = stored.event.body else {
            return Err(LookupError::WrongRecord(no, seq));
        };
        let voided = self
            .seq_of(&receipt_keys::void(self.profile.terminal, no))?
            .is_some();
        let mut refunds = Vec::new();
        for (_, v) in self.journal.derived_scan_prefix(
            DerivedTable::Receipts,
            &receipt_keys::refund_prefix(self.profile.terminal, no),
        )? {
            let Some(rseq) = TerminalState::decode_seq(&v) else {
                continue;
            };
            if let Some(r) = self.journal.read(rseq)? {
                if let EventBody::RefundIssued(rec) = r.event.body {
                    refunds.push(rec);
                }
            }
        }
        Ok(Some(SaleRecord {
            sale,
            seq,
            hash: stored.hash,
            time_ms: stored.event.hlc.wall_ms,
            voided,
            refunds,
        }))
    }

    /// Reads the Z report with number `z` (or the last one).
    pub fn z_report(
        &self,
        z: Option<u64>,
    ) -> Result<Option<keel_core::shift::ShiftReport>, ReadError> {
        let z = match z {
            Some(z) => z,
            None if self.state.counters.last_z == 0 => return Ok(None),
            None => self.state.counters.last_z,
        };
        let Some(seq) = self.seq_of(&receipt_keys::z_report(self.profile.terminal, z))? else {
            return Ok(None);
        };
        Ok(self.journal.read(seq)?.and_then(|s| match s.event.body {
            EventBody::ShiftClosed(r) => Some(r),
            _ => None,
        }))
    }
}

#[cfg(test)]
mod firmware_version_tests {
    use super::*;

    #[test]
    fn a_version_file_overrides_the_compiled_version() {
        assert_eq!(firmware_version_from(Some("9.1.2\n")), "9.1.2");
        assert_eq!(firmware_version_from(Some("  9.1.2  \nnotes\n")), "9.1.2");
    }

    #[test]
    fn no_file_or_a_bad_one_keeps_the_compiled_version() {
        assert_eq!(firmware_version_from(None), FIRMWARE_VERSION);
        assert_eq!(firmware_version_from(Some("")), FIRMWARE_VERSION);
        assert_eq!(firmware_version_from(Some("nine\n")), FIRMWARE_VERSION);
    }
}
