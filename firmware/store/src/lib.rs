//! Keel's durable storage: one redb database per terminal holding the
//! hash-chained journal, the derived state folded from it, the idempotency
//! replies of client commands, and the schema version with its migrations.
//!
//! This crate owns the on-disk layout and the durability of every write: a
//! [`Journal::commit`] is one redb write transaction, fsynced before it returns,
//! that appends the events, writes the derived state they caused, records the
//! command's idempotent reply and moves the chain head. It must not contain
//! business logic: events and derived writes come from `keel-core`, which also
//! owns the record format and the hash chain (this crate calls
//! [`keel_core::chain`] and never hashes on its own).
//!
//! Single writer: one [`Journal`] value per database file, used by one thread at a
//! time (`&mut self` for writes). Sequence numbers are assigned inside
//! [`Journal::commit`]; a caller that needs them before committing (to key
//! derived writes) uses [`Journal::next_dots`], which is exact because nobody
//! else appends.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
mod commit;
mod derived;
mod error;
mod export;
mod journal;
mod keys;
pub mod ledger;
mod read;
mod replica;
mod schema;
mod verify;

pub use backend::{BackendOpener, DynBackend};
pub use commit::{Batch, Committed};
pub use error::{CommitError, ExportError, OpenError, ReadError, VerifyError};
pub use export::{verify_export, EXPORT_FORMAT, EXPORT_VERSION};
pub use journal::{Journal, JournalIdentity, CACHE_BYTES};
pub use read::StoredEvent;
pub use schema::SCHEMA_VERSION;

/// redb's storage backend trait and its file backend, re-exported for callers of
/// [`Journal::open_with_backend`] (fault-injecting tests and the simulator).
pub use redb::{backends::FileBackend, StorageBackend};
