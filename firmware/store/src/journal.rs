//! The journal handle: opening (create, schema check, migrations, identity
//! check), the in-memory chain head, and reopening the database after an I/O
//! failure.
//!
//! This module owns the lifecycle of the one redb `Database` a terminal keeps
//! open. It must not write events outside [`crate::Journal::commit`] (record 1 at
//! creation excepted) and must not write anything to a file it refuses to open.

use crate::backend::{file_opener, BackendOpener, DynBackend};
use crate::error::{classify, Class, OpenError};
use crate::schema::{
    self, HeadRecord, EVENTS, HEAD_KEY, KEY_IDENTITY, KEY_SCHEMA, META, MIGRATIONS, SCHEMA_VERSION,
    STATE,
};
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, StoreId, TerminalId};
use keel_core::money::Currency;
use redb::{Builder, Database, Durability, ReadableDatabase, TableError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// redb's page cache size. The journal appends at the right edge of one B-tree
/// and reads mostly recent records, so a small cache serves it; the terminal's
/// whole memory budget is 100 MB with the UI.
pub const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Whom a journal belongs to. Stored at creation and checked on every open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalIdentity {
    /// The store.
    pub store: StoreId,
    /// The terminal whose journal this is.
    pub terminal: TerminalId,
    /// The store's currency.
    pub currency: Currency,
    /// Firmware version (as stored: the version that created the journal).
    pub firmware: String,
}

impl JournalIdentity {
    fn label(&self) -> String {
        format!(
            "store {} terminal {} ({})",
            self.store,
            self.terminal,
            self.currency.code()
        )
    }

    fn same_owner(&self, other: &JournalIdentity) -> bool {
        self.store == other.store
            && self.terminal == other.terminal
            && self.currency == other.currency
    }
}

/// One terminal's journal: an open redb database and its chain head.
pub struct Journal {
    pub(crate) db: Option<Database>,
    pub(crate) opener: BackendOpener,
    pub(crate) label: String,
    pub(crate) identity: JournalIdentity,
    pub(crate) genesis: ChainHash,
    pub(crate) head: HeadRecord,
    /// Set by [`crate::ledger`] when a commit failed and the folded state
    /// could not be read back from disk either: the caller's state may hold
    /// refused events, so the next commit reloads it first (or is refused).
    pub(crate) state_stale: bool,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.label)
            .field("identity", &self.identity)
            .field("head", &self.head)
            .finish()
    }
}

/// What the file holds, read before anything is written.
enum Found {
    /// No Keel tables: a new journal.
    Empty,
    /// A journal of this schema version with this identity.
    Journal {
        version: u32,
        identity: JournalIdentity,
    },
}

fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_cache_size(CACHE_BYTES);
    b
}

impl Journal {
    /// Opens or creates the journal at `path`.
    ///
    /// A new file gets the schema version, the identity and record 1
    /// (`JournalOpened`, stamped `now`), committed durably. An existing file is
    /// first inspected read-only: a newer schema version is refused with
    /// [`OpenError::NewerSchema`] and another store/terminal/currency with
    /// [`OpenError::IdentityMismatch`], both without writing a byte. Older
    /// schema versions are migrated in one transaction.
    pub fn open(path: &Path, identity: &JournalIdentity, now: Hlc) -> Result<Journal, OpenError> {
        Journal::open_with_backend(
            file_opener(path),
            &path.display().to_string(),
            identity,
            now,
        )
    }

    /// Like [`Journal::open`] over any storage: `opener` is called on open and
    /// again whenever the database must be reopened after an I/O failure.
    /// `label` names the storage in errors and logs.
    pub fn open_with_backend(
        opener: BackendOpener,
        label: &str,
        identity: &JournalIdentity,
        now: Hlc,
    ) -> Result<Journal, OpenError> {
        let path = label.to_string();
        let io_err = |source: std::io::Error| OpenError::Io {
            path: path.clone(),
            source,
        };
        let db_err = |source: redb::Error| match classify(&source) {
            Class::DiskFull(detail) => OpenError::DiskFull {
                path: path.clone(),
                detail,
            },
            _ => OpenError::Database {
                path: path.clone(),
                source,
            },
        };

        // 1. Inspect read-only, so a refused file stays byte-for-byte untouched.
        let backend = opener().map_err(|e| OpenError::Io {
            path: path.clone(),
            source: e,
        })?;
        let len = backend.len().map_err(|e| OpenError::Io {
            path: path.clone(),
            source: e,
        })?;
        if len > 0 {
            match builder().open_read_only_with_backend(DynBackend(backend)) {
                Ok(ro) => {
                    let found = inspect(&ro, &path);
                    if let Err(e) = ro.close() {
                        log::warn!("journal {path}: closing the read-only inspection failed: {e}");
                    }
                    check_found(found?, identity, &path)?;
                }
                Err(e) => {
                    // Typically: the file needs redb's crash recovery, which a
                    // read-only open refuses. Open writable below and check there.
                    log::info!("journal {path}: read-only inspection not possible ({e}); opening for recovery");
                }
            }
        } else {
            drop(backend);
        }

        // 2. Open writable (redb repairs after a crash here) and check again.
        let backend = opener().map_err(io_err)?;
        let db = builder()
            .create_with_backend(DynBackend(backend))
            .map_err(|e| db_err(e.into()))?;
        let found = inspect(&db, &path)?;
        check_found(found_clone(&found), identity, &path)?;
        match found {
            Found::Empty => create(&db, identity, now, &path)?,
            Found::Journal { version, .. } if version < SCHEMA_VERSION => {
                migrate(&db, version, &path)?
            }
            Found::Journal { .. } => {}
        }

        let stored = match inspect(&db, &path)? {
            Found::Journal { identity, .. } => identity,
            Found::Empty => {
                return Err(OpenError::NotAJournal {
                    path,
                    reason: "journal tables missing after creation".into(),
                })
            }
        };
        let head = load_head(&db, &path)?;
        let genesis = genesis_hash(&stored.store, stored.terminal);
        log::info!(
            "journal {path}: open, {} records, head {}",
            head.seq,
            head.hash.hex()
        );
        let journal = Journal {
            db: Some(db),
            opener,
            label: path,
            identity: stored,
            genesis,
            head,
            state_stale: false,
        };
        journal.check_tail();
        Ok(journal)
    }

    /// Whether the folded state kept beside this journal may be ahead of the
    /// disk: a commit failed and reading the state back failed too. The next
    /// commit through [`crate::ledger`] reloads it first or is refused.
    pub fn state_stale(&self) -> bool {
        self.state_stale
    }

    /// The identity stored in the journal (its `firmware` is the version that created it).
    pub fn identity(&self) -> &JournalIdentity {
        &self.identity
    }

    /// Sequence number of the last record (1 right after creation).
    pub fn last_seq(&self) -> u64 {
        self.head.seq
    }

    /// Hash of the last record.
    pub fn head(&self) -> ChainHash {
        self.head.hash
    }

    /// Timestamp of the last record; the engine's clock must start after it.
    pub fn last_hlc(&self) -> Hlc {
        self.head.hlc
    }

    /// The genesis hash (`prev` of record 1) of this journal.
    pub fn genesis(&self) -> ChainHash {
        self.genesis
    }

    /// The dots the next `n` committed events will get: `last_seq()+1 ..= last_seq()+n`.
    /// Exact because a journal has a single writer (the owner of `&mut Journal`).
    pub fn next_dots(&self, n: u64) -> Vec<Dot> {
        (1..=n)
            .map(|i| Dot {
                terminal: self.identity.terminal,
                seq: self.head.seq + i,
            })
            .collect()
    }

    /// Cheap consistency check at open: the last record's hash matches the head.
    /// A mismatch is logged (selling continues; `verify` names the record).
    fn check_tail(&self) {
        match self.read_record(self.head.seq) {
            Ok(Some(bytes)) if ChainHash::of(&bytes) == self.head.hash => {}
            Ok(Some(_)) => log::error!(
                "journal {}: record {} does not match the stored head; run journal verify",
                self.label,
                self.head.seq
            ),
            Ok(None) => log::error!(
                "journal {}: record {} named by the head is missing; run journal verify",
                self.label,
                self.head.seq
            ),
            Err(e) => log::error!("journal {}: cannot read the last record: {e}", self.label),
        }
    }

    /// Drops the database after an I/O failure and tries to open it again, so the
    /// terminal continues once the cause (a full disk) is gone. On success the
    /// head is reloaded from disk.
    pub(crate) fn reopen(&mut self) -> Result<(), redb::Error> {
        self.db = None;
        let backend = (self.opener)()?;
        let db = builder().create_with_backend(DynBackend(backend))?;
        let head =
            load_head(&db, &self.label).map_err(|e| redb::Error::Corrupted(e.to_string()))?;
        if head != self.head {
            log::warn!(
                "journal {}: head after reopen is {} (was {})",
                self.label,
                head.seq,
                self.head.seq
            );
        }
        self.head = head;
        self.db = Some(db);
        log::info!("journal {}: reopened after an I/O failure", self.label);
        Ok(())
    }
}

fn found_clone(found: &Found) -> Found {
    match found {
        Found::Empty => Found::Empty,
        Found::Journal { version, identity } => Found::Journal {
            version: *version,
            identity: identity.clone(),
        },
    }
}

fn check_found(found: Found, identity: &JournalIdentity, path: &str) -> Result<(), OpenError> {
    if let Found::Journal {
        version,
        identity: stored,
    } = found
    {
        if version > SCHEMA_VERSION {
            return Err(OpenError::NewerSchema {
                path: path.into(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if !stored.same_owner(identity) {
            return Err(OpenError::IdentityMismatch {
                path: path.into(),
                expected: identity.label(),
                found: stored.label(),
            });
        }
    }
    Ok(())
}

/// Reads the schema version and identity without writing.
fn inspect(db: &impl ReadableDatabase, path: &str) -> Result<Found, OpenError> {
    let not = |reason: String| OpenError::NotAJournal {
        path: path.into(),
        reason,
    };
    let dberr = |e: redb::Error| OpenError::Database {
        path: path.into(),
        source: e,
    };
    let txn = db.begin_read().map_err(|e| dberr(e.into()))?;
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => {
            let tables = txn.list_tables().map_err(|e| dberr(e.into()))?.count();
            if tables == 0 {
                return Ok(Found::Empty);
            }
            return Err(not(format!("{tables} tables but no meta table")));
        }
        Err(e) => return Err(dberr(e.into())),
    };
    let version = match meta.get(KEY_SCHEMA).map_err(|e| dberr(e.into()))? {
        Some(v) => schema::decode_version(v.value()).map_err(not)?,
        None => 0,
    };
    if version > SCHEMA_VERSION {
        // Do not try to decode a newer identity format.
        return Ok(Found::Journal {
            version,
            identity: JournalIdentity {
                store: StoreId(String::new()),
                terminal: TerminalId(0),
                currency: Currency::USD,
                firmware: String::new(),
            },
        });
    }
    let identity = match meta.get(KEY_IDENTITY).map_err(|e| dberr(e.into()))? {
        Some(v) => schema::decode_identity(v.value()).map_err(not)?,
        None => return Err(not("identity missing".into())),
    };
    Ok(Found::Journal { version, identity })
}

fn load_head(db: &Database, path: &str) -> Result<HeadRecord, OpenError> {
    let not = |reason: String| OpenError::NotAJournal {
        path: path.into(),
        reason,
    };
    let dberr = |e: redb::Error| OpenError::Database {
        path: path.into(),
        source: e,
    };
    let txn = db.begin_read().map_err(|e| dberr(e.into()))?;
    let state = txn.open_table(STATE).map_err(|e| dberr(e.into()))?;
    let head = state
        .get(HEAD_KEY)
        .map_err(|e| dberr(e.into()))?
        .ok_or_else(|| not("chain head missing".into()))?;
    schema::decode_head(head.value()).map_err(not)
}

/// Writes a new journal: tables, version, identity, record 1 and head, in one durable transaction.
fn create(
    db: &Database,
    identity: &JournalIdentity,
    now: Hlc,
    path: &str,
) -> Result<(), OpenError> {
    let fail = |e: redb::Error| match classify(&e) {
        Class::DiskFull(detail) => OpenError::DiskFull {
            path: path.into(),
            detail,
        },
        _ => OpenError::Database {
            path: path.into(),
            source: e,
        },
    };
    let genesis = genesis_hash(&identity.store, identity.terminal);
    let first = Event {
        dot: Dot {
            terminal: identity.terminal,
            seq: 1,
        },
        hlc: now,
        prev: genesis,
        body: EventBody::JournalOpened {
            store: identity.store.clone(),
            terminal: identity.terminal,
            currency: identity.currency,
            firmware: identity.firmware.clone(),
        },
    };
    let bytes = encode_record(&first);
    let head = HeadRecord {
        seq: 1,
        hash: ChainHash::of(&bytes),
        hlc: now,
    };
    let mut txn = db.begin_write().map_err(|e| fail(e.into()))?;
    txn.set_durability(Durability::Immediate)
        .map_err(|e| fail(e.into()))?;
    schema::create_tables(&txn).map_err(fail)?;
    {
        let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
        meta.insert(KEY_SCHEMA, SCHEMA_VERSION.to_le_bytes().as_slice())
            .map_err(|e| fail(e.into()))?;
        meta.insert(KEY_IDENTITY, schema::encode_identity(identity).as_slice())
            .map_err(|e| fail(e.into()))?;
        let mut state = txn.open_table(STATE).map_err(|e| fail(e.into()))?;
        state
            .insert(HEAD_KEY, schema::encode_head(&head).as_slice())
            .map_err(|e| fail(e.into()))?;
        let mut events = txn.open_table(EVENTS).map_err(|e| fail(e.into()))?;
        events
            .insert(1, bytes.as_slice())
            .map_err(|e| fail(e.into()))?;
    }
    txn.commit().map_err(|e| fail(e.into()))?;
    log::info!("journal {path}: created for {}", identity.label());
    Ok(())
}

/// Runs every migration from `from` to the current version in one durable transaction.
fn migrate(db: &Database, from: u32, path: &str) -> Result<(), OpenError> {
    let fail = |to: u32, reason: String| OpenError::Migration {
        path: path.into(),
        from,
        to,
        reason,
    };
    let mut txn = db
        .begin_write()
        .map_err(|e| fail(SCHEMA_VERSION, e.to_string()))?;
    txn.set_durability(Durability::Immediate)
        .map_err(|e| fail(SCHEMA_VERSION, e.to_string()))?;
    let mut version = from;
    for step in MIGRATIONS.iter().filter(|m| m.from >= from) {
        if step.from != version {
            return Err(fail(
                step.to,
                format!("no migration from version {version}"),
            ));
        }
        log::info!(
            "journal {path}: migrating schema {} -> {}: {}",
            step.from,
            step.to,
            step.what
        );
        (step.run)(&txn).map_err(|r| fail(step.to, r))?;
        version = step.to;
    }
    if version != SCHEMA_VERSION {
        return Err(fail(
            SCHEMA_VERSION,
            format!("migrations end at version {version}"),
        ));
    }
    {
        let mut meta = txn
            .open_table(META)
            .map_err(|e| fail(version, e.to_string()))?;
        meta.insert(KEY_SCHEMA, SCHEMA_VERSION.to_le_bytes().as_slice())
            .map_err(|e| fail(version, e.to_string()))?;
    }
    txn.commit().map_err(|e| {
        let e: redb::Error = e.into();
        match classify(&e) {
            Class::DiskFull(detail) => OpenError::DiskFull {
                path: path.into(),
                detail,
            },
            _ => fail(version, e.to_string()),
        }
    })?;
    Ok(())
}
