//! [`RedbRaftStorage`]: raft-rs's log, hard state, conf state and snapshot in
//! their own redb file (`<data-dir>/raft.redb`), apart from the sales journal so
//! a sale never waits behind a raft fsync.
//!
//! This module owns that file: its tables, its schema version, and the
//! durability of every write (each write is one redb transaction committed with
//! `Durability::Immediate`, so it is on disk when the call returns; raft-rs
//! requires entries and hard state to be durable before the messages that
//! depend on them are sent, and the driver only hands messages out after
//! these calls return). It must not interpret entry payloads, decide what to
//! send, or apply commands; the driver and the caller do that.
//!
//! Layout: table `raft_meta` (`&str` → postcard bytes) holds `schema`
//! (u32 little-endian), `hard_state`, `conf_state` (with the index of the conf
//! change it reflects) and `snapshot` (the last snapshot, metadata and data:
//! the compaction point); table `raft_entries` (`u64` index → postcard entry)
//! holds the log from `first_index()` to `last_index()`.
//!
//! Thread-safety: the type is `Send + Sync` (redb's `Database` is); reads in
//! the `Storage` trait use short read transactions, writes need `&mut self`.

use std::path::{Path, PathBuf};

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    TableError, WriteTransaction,
};

use super::codec::{self, DecodeRecordError};

/// Schema version of `raft.redb` this firmware writes and reads.
pub const RAFT_SCHEMA_VERSION: u32 = 1;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("raft_meta");
const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_entries");
const KEY_SCHEMA: &str = "schema";
const KEY_HARD_STATE: &str = "hard_state";
const KEY_CONF_STATE: &str = "conf_state";
const KEY_SNAPSHOT: &str = "snapshot";

/// Why `raft.redb` could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// redb could not open, create or read the file.
    #[error("raft storage {path}: {source}")]
    Database {
        /// The file.
        path: String,
        /// redb's error.
        #[source]
        source: redb::Error,
    },
    /// The file was written by newer firmware.
    #[error(
        "raft storage {path} has schema version {found}; this firmware supports up to {supported}"
    )]
    NewerSchema {
        /// The file.
        path: String,
        /// Version found in the file.
        found: u32,
        /// Version this firmware writes.
        supported: u32,
    },
    /// A stored record is unreadable or the tables are inconsistent.
    #[error("raft storage {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The initial voters list contains id 0 (raft reserves it).
    #[error("initial voters must not contain id 0")]
    ZeroVoter,
}

/// Why a write to `raft.redb` failed. After any of these, the caller must treat
/// the raft node as failed (the driver refuses further work) and reopen it.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// redb refused or failed the transaction (disk full, I/O error…); nothing
    /// of this call was written.
    #[error("raft storage {path}: {source}")]
    Database {
        /// The file.
        path: String,
        /// redb's error.
        #[source]
        source: redb::Error,
    },
    /// Entries to append start before the first index kept (already compacted).
    #[error("append at index {first} overwrites compacted log (first kept index {first_kept})")]
    OverwritesCompacted {
        /// First index of the append.
        first: u64,
        /// First index still in the log.
        first_kept: u64,
    },
    /// Entries to append would leave a gap after the last stored index.
    #[error("append at index {first} leaves a gap after last index {last}")]
    Gap {
        /// First index of the append.
        first: u64,
        /// Last stored index.
        last: u64,
    },
    /// Entries to append are not consecutive.
    #[error("append batch is not consecutive at index {0}")]
    NotConsecutive(u64),
    /// A snapshot older than the log's start was offered.
    #[error("snapshot at index {index} is older than the first kept index {first_kept}")]
    SnapshotOutOfDate {
        /// Snapshot index.
        index: u64,
        /// First index still in the log.
        first_kept: u64,
    },
    /// Compaction asked for an index that is not committed or not in the log.
    #[error("cannot compact to {index}: commit is {commit}, log is {first}..={last}")]
    CompactOutOfRange {
        /// Requested index.
        index: u64,
        /// Committed index.
        commit: u64,
        /// First index in the log.
        first: u64,
        /// Last index in the log.
        last: u64,
    },
    /// A stored entry needed for the write is unreadable.
    #[error("raft storage {path}: {source}")]
    Damaged {
        /// The file.
        path: String,
        /// The decoding error.
        #[source]
        source: DecodeRecordError,
    },
}

/// One durable write of everything a raft `Ready` asks to persist.
#[derive(Default)]
pub struct PersistBatch<'a> {
    /// A snapshot received from the leader, installed first.
    pub snapshot: Option<&'a Snapshot>,
    /// New log entries (a conflicting suffix of the stored log is truncated).
    pub entries: &'a [Entry],
    /// The new hard state.
    pub hard_state: Option<&'a HardState>,
    /// A new conf state and the log index of the conf change it reflects.
    pub conf_state: Option<(&'a ConfState, u64)>,
}

/// raft-rs storage backed by its own redb file. See the module docs.
pub struct RedbRaftStorage {
    db: Database,
    path: PathBuf,
    hard_state: HardState,
    conf_state: ConfState,
    conf_index: u64,
    snapshot: Snapshot,
    first_index: u64,
    last_index: u64,
}

impl std::fmt::Debug for RedbRaftStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbRaftStorage")
            .field("path", &self.path)
            .field("hard_state", &self.hard_state)
            .field("voters", &self.conf_state.voters)
            .field("first_index", &self.first_index)
            .field("last_index", &self.last_index)
            .finish()
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> raft::Error {
    raft::Error::Store(StorageError::Other(Box::new(e)))
}

impl RedbRaftStorage {
    /// Opens (or creates) the raft file at `path`.
    ///
    /// On first open (no tables yet) the conf state is initialised with
    /// `initial_voters`, the bootstrap membership every founding terminal must
    /// agree on (order and duplicates do not matter): it is written as the
    /// first log entries (one committed `AddNode` per voter, term 1), so
    /// terminals added later learn it by replaying the log. An empty list
    /// makes a joining node that learns its membership from the leader. On later
    /// opens `initial_voters` is ignored and the stored state is kept. A file
    /// with a newer schema version is refused.
    pub fn open(path: impl AsRef<Path>, initial_voters: &[u64]) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        if initial_voters.contains(&0) {
            return Err(OpenError::ZeroVoter);
        }
        let db = Database::create(&path).map_err(|e| OpenError::Database {
            path: path.display().to_string(),
            source: e.into(),
        })?;
        Self::open_db(db, path, initial_voters)
    }

    /// Like [`RedbRaftStorage::open`] over any redb storage backend (the
    /// simulator's crash-recording disk); `label` names it in errors, logs and
    /// [`RedbRaftStorage::path`].
    pub fn open_with_backend(
        backend: impl redb::StorageBackend,
        label: &str,
        initial_voters: &[u64],
    ) -> Result<Self, OpenError> {
        if initial_voters.contains(&0) {
            return Err(OpenError::ZeroVoter);
        }
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(|e| OpenError::Database {
                path: label.to_string(),
                source: e.into(),
            })?;
        Self::open_db(db, PathBuf::from(label), initial_voters)
    }

    /// Inspects `db` (bootstrapping `initial_voters` when it holds no tables yet) and loads its state.
    fn open_db(db: Database, path: PathBuf, initial_voters: &[u64]) -> Result<Self, OpenError> {
        let shown = path.display().to_string();
        let dberr = |e: redb::Error| OpenError::Database {
            path: shown.clone(),
            source: e,
        };
        let damaged = |reason: String| OpenError::Damaged {
            path: shown.clone(),
            reason,
        };

        // Inspect.
        let fresh = {
            let txn = db.begin_read().map_err(|e| dberr(e.into()))?;
            match txn.open_table(META) {
                Ok(meta) => {
                    let version = match meta.get(KEY_SCHEMA).map_err(|e| dberr(e.into()))? {
                        Some(v) => {
                            let b: [u8; 4] = v
                                .value()
                                .try_into()
                                .map_err(|_| damaged("schema version is not 4 bytes".into()))?;
                            u32::from_le_bytes(b)
                        }
                        None => return Err(damaged("schema version missing".into())),
                    };
                    if version > RAFT_SCHEMA_VERSION {
                        return Err(OpenError::NewerSchema {
                            path: shown,
                            found: version,
                            supported: RAFT_SCHEMA_VERSION,
                        });
                    }
                    false
                }
                Err(TableError::TableDoesNotExist(_)) => true,
                Err(e) => return Err(dberr(e.into())),
            }
        };

        if fresh {
            let mut cs = ConfState::default();
            cs.voters = initial_voters.to_vec();
            // Founding members start from the same log, as etcd's StartNode
            // does: entries 1..=n are `ConfChange AddNode` for each voter (in
            // ascending id order), term 1, committed. The membership is thus
            // part of the log's history: a terminal added later (empty voters,
            // empty log) replays these entries and every conf change after
            // them. (A bootstrap *snapshot* would not work: raft-rs refuses to
            // restore a snapshot whose conf state does not contain the
            // receiving node.) A joining node (empty `initial_voters`) starts
            // truly empty.
            let mut voters = initial_voters.to_vec();
            voters.sort_unstable();
            voters.dedup();
            cs.voters = voters.clone();
            let bootstrap: Vec<Entry> = voters
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut e = Entry::default();
                    e.set_entry_type(raft::eraftpb::EntryType::EntryConfChange);
                    e.term = 1;
                    e.index = i as u64 + 1;
                    e.data = codec::encode_add_node_v1(*v).into();
                    e
                })
                .collect();
            let mut hard_state = HardState::default();
            if !voters.is_empty() {
                hard_state.term = 1;
                hard_state.commit = voters.len() as u64;
            }
            let conf_index = hard_state.commit;
            let mut txn = db.begin_write().map_err(|e| dberr(e.into()))?;
            txn.set_durability(Durability::Immediate)
                .map_err(|e| dberr(e.into()))?;
            {
                let mut meta = txn.open_table(META).map_err(|e| dberr(e.into()))?;
                meta.insert(KEY_SCHEMA, RAFT_SCHEMA_VERSION.to_le_bytes().as_slice())
                    .map_err(|e| dberr(e.into()))?;
                meta.insert(
                    KEY_HARD_STATE,
                    codec::encode_hard_state(&hard_state).as_slice(),
                )
                .map_err(|e| dberr(e.into()))?;
                meta.insert(
                    KEY_CONF_STATE,
                    codec::encode_conf_state(&cs, conf_index).as_slice(),
                )
                .map_err(|e| dberr(e.into()))?;
                meta.insert(
                    KEY_SNAPSHOT,
                    codec::encode_snapshot(&Snapshot::default()).as_slice(),
                )
                .map_err(|e| dberr(e.into()))?;
                let mut entries = txn.open_table(ENTRIES).map_err(|e| dberr(e.into()))?;
                for e in &bootstrap {
                    entries
                        .insert(e.index, codec::encode_entry(e).as_slice())
                        .map_err(|e| dberr(e.into()))?;
                }
            }
            txn.commit().map_err(|e| dberr(e.into()))?;
            log::info!("raft storage {shown}: created with voters {initial_voters:?}");
        }

        // Load.
        let txn = db.begin_read().map_err(|e| dberr(e.into()))?;
        let meta = txn.open_table(META).map_err(|e| dberr(e.into()))?;
        let get = |key: &str| -> Result<Vec<u8>, OpenError> {
            meta.get(key)
                .map_err(|e| dberr(e.into()))?
                .map(|v| v.value().to_vec())
                .ok_or_else(|| damaged(format!("{key} missing")))
        };
        let hard_state =
            codec::decode_hard_state(&get(KEY_HARD_STATE)?).map_err(|e| damaged(e.to_string()))?;
        let (conf_state, conf_index) =
            codec::decode_conf_state(&get(KEY_CONF_STATE)?).map_err(|e| damaged(e.to_string()))?;
        let snapshot =
            codec::decode_snapshot(&get(KEY_SNAPSHOT)?).map_err(|e| damaged(e.to_string()))?;
        let entries = txn.open_table(ENTRIES).map_err(|e| dberr(e.into()))?;
        let snap_index = snapshot.get_metadata().index;
        let first = entries
            .first()
            .map_err(|e| dberr(e.into()))?
            .map(|(k, _)| k.value());
        let last = entries
            .last()
            .map_err(|e| dberr(e.into()))?
            .map(|(k, _)| k.value());
        let (first_index, last_index) = match (first, last) {
            (Some(f), Some(l)) => {
                if f != snap_index + 1 {
                    return Err(damaged(format!(
                        "log starts at {f} but the snapshot is at {snap_index}"
                    )));
                }
                let count = entries.len().map_err(|e| dberr(e.into()))?;
                if count != l - f + 1 {
                    return Err(damaged(format!("log {f}..={l} has {count} entries")));
                }
                (f, l)
            }
            _ => (snap_index + 1, snap_index),
        };
        drop(entries);
        drop(meta);
        drop(txn);
        if !fresh {
            log::info!(
                "raft storage {shown}: opened; term {} vote {} commit {}, log {first_index}..={last_index}, voters {:?}",
                hard_state.term,
                hard_state.vote,
                hard_state.commit,
                conf_state.voters
            );
        }
        Ok(RedbRaftStorage {
            db,
            path,
            hard_state,
            conf_state,
            conf_index,
            snapshot,
            first_index,
            last_index,
        })
    }

    /// The file this storage lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored hard state (term, vote, commit).
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The stored conf state.
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// Log index of the conf change the stored conf state reflects (0 for a
    /// joining node; n for a bootstrap of n voters; the snapshot index after a snapshot).
    pub fn conf_index(&self) -> u64 {
        self.conf_index
    }

    /// The stored snapshot (default/empty if the log was never compacted).
    pub fn stored_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn dberr(&self, e: impl Into<redb::Error>) -> WriteError {
        WriteError::Database {
            path: self.shown(),
            source: e.into(),
        }
    }

    /// Appends entries, truncating any stored suffix from the first new index.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), WriteError> {
        self.persist(PersistBatch {
            entries,
            ..Default::default()
        })
    }

    /// Stores the hard state.
    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<(), WriteError> {
        self.persist(PersistBatch {
            hard_state: Some(hs),
            ..Default::default()
        })
    }

    /// Stores the commit index (keeping term and vote).
    pub fn set_commit(&mut self, commit: u64) -> Result<(), WriteError> {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(&hs)
    }

    /// Stores the conf state produced by applying the conf change at `index`.
    pub fn set_conf_state(&mut self, cs: &ConfState, index: u64) -> Result<(), WriteError> {
        self.persist(PersistBatch {
            conf_state: Some((cs, index)),
            ..Default::default()
        })
    }

    /// Installs a snapshot received from the leader: the log is discarded, the
    /// conf state becomes the snapshot's, commit moves to the snapshot index.
    pub fn apply_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), WriteError> {
        self.persist(PersistBatch {
            snapshot: Some(snapshot),
            ..Default::default()
        })
    }

    /// Writes a batch in one durable transaction: snapshot, entries, hard state,
    /// conf state, in that order. On error nothing is written and the cached
    /// state is unchanged.
    pub fn persist(&mut self, batch: PersistBatch<'_>) -> Result<(), WriteError> {
        if batch.snapshot.is_none()
            && batch.entries.is_empty()
            && batch.hard_state.is_none()
            && batch.conf_state.is_none()
        {
            return Ok(());
        }
        let mut hard_state = self.hard_state.clone();
        let mut conf = (self.conf_state.clone(), self.conf_index);
        let mut snapshot = None;
        let (mut first_index, mut last_index) = (self.first_index, self.last_index);

        let mut txn = self.db.begin_write().map_err(|e| self.dberr(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.dberr(e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.dberr(e))?;
            let mut table = txn.open_table(ENTRIES).map_err(|e| self.dberr(e))?;
            if let Some(s) = batch.snapshot {
                let m = s.get_metadata();
                if m.index < first_index {
                    return Err(WriteError::SnapshotOutOfDate {
                        index: m.index,
                        first_kept: first_index,
                    });
                }
                table
                    .retain_in(0u64.., |_, _| false)
                    .map_err(|e| self.dberr(e))?;
                meta.insert(KEY_SNAPSHOT, codec::encode_snapshot(s).as_slice())
                    .map_err(|e| self.dberr(e))?;
                hard_state.term = hard_state.term.max(m.term);
                hard_state.commit = m.index;
                conf = (m.get_conf_state().clone(), m.index);
                first_index = m.index + 1;
                last_index = m.index;
                snapshot = Some(s.clone());
            }
            if let Some(first) = batch.entries.first().map(|e| e.index) {
                if first < first_index {
                    return Err(WriteError::OverwritesCompacted {
                        first,
                        first_kept: first_index,
                    });
                }
                if first > last_index + 1 {
                    return Err(WriteError::Gap {
                        first,
                        last: last_index,
                    });
                }
                for (i, e) in batch.entries.iter().enumerate() {
                    if e.index != first + i as u64 {
                        return Err(WriteError::NotConsecutive(e.index));
                    }
                }
                let new_last = first + batch.entries.len() as u64 - 1;
                if new_last < last_index {
                    table
                        .retain_in(new_last + 1.., |_, _| false)
                        .map_err(|e| self.dberr(e))?;
                }
                for e in batch.entries {
                    table
                        .insert(e.index, codec::encode_entry(e).as_slice())
                        .map_err(|e| self.dberr(e))?;
                }
                last_index = new_last;
            }
            if let Some(hs) = batch.hard_state {
                hard_state = hs.clone();
            }
            if let Some((cs, index)) = batch.conf_state {
                conf = (cs.clone(), index);
            }
            if hard_state != self.hard_state {
                meta.insert(
                    KEY_HARD_STATE,
                    codec::encode_hard_state(&hard_state).as_slice(),
                )
                .map_err(|e| self.dberr(e))?;
            }
            if conf.0 != self.conf_state || conf.1 != self.conf_index {
                meta.insert(
                    KEY_CONF_STATE,
                    codec::encode_conf_state(&conf.0, conf.1).as_slice(),
                )
                .map_err(|e| self.dberr(e))?;
            }
        }
        self.commit(txn)?;
        self.hard_state = hard_state;
        self.conf_state = conf.0;
        self.conf_index = conf.1;
        if let Some(s) = snapshot {
            self.snapshot = s;
        }
        self.first_index = first_index;
        self.last_index = last_index;
        Ok(())
    }

    fn commit(&self, txn: WriteTransaction) -> Result<(), WriteError> {
        txn.commit().map_err(|e| self.dberr(e))
    }

    /// Compacts the log up to and including `index`, keeping a snapshot at
    /// `index` whose data is `snapshot_data` (the caller's state machine as of
    /// `index`) and whose conf state is the current one. The caller must have
    /// applied everything up to `index` and no conf change may lie after it
    /// (the driver's `compact` guarantees both). A lagging follower then
    /// receives this snapshot instead of the dropped entries.
    pub fn compact(&mut self, index: u64, snapshot_data: Vec<u8>) -> Result<(), WriteError> {
        if index <= self.snapshot.get_metadata().index {
            return Ok(());
        }
        if index > self.hard_state.commit || index > self.last_index || index < self.first_index {
            return Err(WriteError::CompactOutOfRange {
                index,
                commit: self.hard_state.commit,
                first: self.first_index,
                last: self.last_index,
            });
        }
        let term = self.read_term(index).map_err(|e| match e {
            TermReadError::Db(e) => self.dberr(e),
            TermReadError::Decode(source) => WriteError::Damaged {
                path: self.shown(),
                source,
            },
            TermReadError::Missing => WriteError::CompactOutOfRange {
                index,
                commit: self.hard_state.commit,
                first: self.first_index,
                last: self.last_index,
            },
        })?;
        let mut snap = Snapshot::default();
        snap.data = snapshot_data.into();
        {
            let m = snap.mut_metadata();
            m.index = index;
            m.term = term;
            m.set_conf_state(self.conf_state.clone());
        }
        let mut txn = self.db.begin_write().map_err(|e| self.dberr(e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| self.dberr(e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.dberr(e))?;
            let mut table = txn.open_table(ENTRIES).map_err(|e| self.dberr(e))?;
            table
                .retain_in(..=index, |_, _| false)
                .map_err(|e| self.dberr(e))?;
            meta.insert(KEY_SNAPSHOT, codec::encode_snapshot(&snap).as_slice())
                .map_err(|e| self.dberr(e))?;
        }
        self.commit(txn)?;
        self.snapshot = snap;
        self.first_index = index + 1;
        Ok(())
    }

    fn read_term(&self, idx: u64) -> Result<u64, TermReadError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| TermReadError::Db(e.into()))?;
        let table = txn
            .open_table(ENTRIES)
            .map_err(|e| TermReadError::Db(e.into()))?;
        let v = table
            .get(idx)
            .map_err(|e| TermReadError::Db(e.into()))?
            .ok_or(TermReadError::Missing)?;
        codec::decode_entry_term(v.value()).map_err(TermReadError::Decode)
    }
}

enum TermReadError {
    Db(redb::Error),
    Decode(DecodeRecordError),
    Missing,
}

/// A stored entry is missing inside `first_index..=last_index`.
#[derive(Debug, thiserror::Error)]
#[error("raft log entry {0} missing from storage")]
struct MissingEntry(u64);

impl Storage for RedbRaftStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index + 1 || low > high {
            // raft-rs's MemStorage panics here; we report instead.
            log::error!(
                "raft storage: entries {low}..{high} asked, log ends at {}",
                self.last_index
            );
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let max_size = max_size.into();
        let txn = self
            .db
            .begin_read()
            .map_err(|e| other(redb::Error::from(e)))?;
        let table = txn
            .open_table(ENTRIES)
            .map_err(|e| other(redb::Error::from(e)))?;
        let mut out = Vec::with_capacity((high - low).min(1024) as usize);
        let mut size: u64 = 0;
        let mut stopped_early = false;
        for row in table
            .range(low..high)
            .map_err(|e| other(redb::Error::from(e)))?
        {
            let (_, v) = row.map_err(|e| other(redb::Error::from(e)))?;
            let bytes = v.value();
            // Stop early once well past the limit; limit_size trims exactly below.
            size += bytes.len() as u64;
            out.push(codec::decode_entry(bytes).map_err(other)?);
            if let Some(max) = max_size {
                if size > max.saturating_mul(2) && out.len() > 1 {
                    stopped_early = true;
                    break;
                }
            }
        }
        if !stopped_early && out.len() as u64 != high - low {
            return Err(other(MissingEntry(low + out.len() as u64)));
        }
        raft::util::limit_size(&mut out, max_size);
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let snap = self.snapshot.get_metadata();
        if idx == snap.index {
            return Ok(snap.term);
        }
        if idx < self.first_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last_index {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        match self.read_term(idx) {
            Ok(t) => Ok(t),
            Err(TermReadError::Db(e)) => Err(other(e)),
            Err(TermReadError::Decode(e)) => Err(other(e)),
            Err(TermReadError::Missing) => Err(other(MissingEntry(idx))),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first_index)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index)
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let index = self.snapshot.get_metadata().index;
        if index == 0 || index < request_index {
            log::warn!("raft storage: snapshot for {to} asked (request index {request_index}), stored snapshot is at {index}");
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snapshot.clone())
    }
}
