//! The error of each operation (open, commit, read, verify, export) and the
//! classification of redb's errors: which mean "the disk is full", which mean
//! "redb must be reopened", which are plain storage failures.
//!
//! This module owns the wording the cashier and the technician see; it must not
//! decide what to do about an error (the journal does that).

use keel_core::chain::ChainBreak;
use keel_core::ids::CommandId;
use std::io;
use thiserror::Error;

/// Errors from [`crate::Journal::open`].
#[derive(Debug, Error)]
pub enum OpenError {
    /// The file could not be opened, created or read as a redb database.
    #[error("cannot open journal {path}: {source}")]
    Database {
        /// The journal's file.
        path: String,
        /// redb's reason.
        #[source]
        source: redb::Error,
    },
    /// The file could not be opened at the operating-system level.
    #[error("cannot open journal {path}: {source}")]
    Io {
        /// The journal's file.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The journal was written by newer firmware; nothing was written to it.
    #[error("journal {path} has schema version {found}, newer than this firmware supports ({supported}); the file was left untouched, install newer firmware")]
    NewerSchema {
        /// The journal's file.
        path: String,
        /// Version in the file.
        found: u32,
        /// Newest version this firmware knows.
        supported: u32,
    },
    /// The journal belongs to another store, terminal or currency.
    #[error("journal {path} belongs to {found}, but this terminal is configured as {expected}; refusing to open it")]
    IdentityMismatch {
        /// The journal's file.
        path: String,
        /// This terminal's configured identity.
        expected: String,
        /// The identity stored in the journal.
        found: String,
    },
    /// The file is a redb database but not a Keel journal, or its metadata is damaged.
    #[error("journal {path} is not a usable Keel journal: {reason}")]
    NotAJournal {
        /// The journal's file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A schema migration failed; the transaction was not committed, the file keeps its old version.
    #[error("journal {path}: migration from schema {from} to {to} failed: {reason}")]
    Migration {
        /// The journal's file.
        path: String,
        /// Version migrated from.
        from: u32,
        /// Version migrated to.
        to: u32,
        /// Why.
        reason: String,
    },
    /// No space to create or migrate the journal.
    #[error("disk full: cannot open journal {path}; free space and retry ({detail})")]
    DiskFull {
        /// The journal's file.
        path: String,
        /// The OS error.
        detail: String,
    },
}

/// Errors from [`crate::Journal::commit`] and [`crate::Journal::rebuild_derived`].
/// Whatever the error, nothing of the batch was written and the head is unchanged.
#[derive(Debug, Error)]
pub enum CommitError {
    /// The disk (or the file size limit or quota) is full.
    #[error("disk full: the sale was not saved; free space and retry ({detail})")]
    DiskFull {
        /// The OS error.
        detail: String,
    },
    /// The command id already has a reply: the command was committed before.
    #[error("command {id} was already committed; nothing was written again")]
    DuplicateCommand {
        /// The command id.
        id: CommandId,
    },
    /// `JournalOpened` may only be record 1, which the store writes itself.
    #[error(
        "event {index} of the batch is JournalOpened, which only the store writes as record 1"
    )]
    JournalOpenedNotAllowed {
        /// Position in the batch (from 0).
        index: usize,
    },
    /// An event's timestamp is earlier than the journal's last one.
    #[error("event {index} of the batch has a timestamp ({hlc_ms} ms) before the journal's last ({last_ms} ms); the clock must never run backwards")]
    HlcBackwards {
        /// Position in the batch (from 0).
        index: usize,
        /// Its wall time.
        hlc_ms: u64,
        /// The journal's last wall time.
        last_ms: u64,
    },
    /// An encoded event is larger than any record may be.
    #[error(
        "event {index} of the batch encodes to {bytes} bytes, over the {max}-byte record limit"
    )]
    RecordTooLarge {
        /// Position in the batch (from 0).
        index: usize,
        /// Encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A stored record does not decode (rebuild only).
    #[error("record {seq} is unreadable: {reason}; run `journal verify`")]
    Unreadable {
        /// Sequence number.
        seq: u64,
        /// Decoder's reason.
        reason: String,
    },
    /// Replicated records do not continue their origin's chain.
    #[error("replicated records of {origin} do not continue its chain at {seq} (expected {expected}); nothing written")]
    ReplicaGap {
        /// Origin terminal.
        origin: keel_core::ids::TerminalId,
        /// First offending seq.
        seq: u64,
        /// Seq expected next.
        expected: u64,
    },
    /// A replicated batch's proof is not for its last record.
    #[error("replicated records of {origin} end at {last} but their proof is for {proof}; nothing written")]
    ProofMismatch {
        /// Origin terminal.
        origin: keel_core::ids::TerminalId,
        /// Seq the proof is for.
        proof: u64,
        /// Seq of the batch's last record.
        last: u64,
    },
    /// This terminal's own records cannot be written as a replica.
    #[error("records of this terminal ({origin}) cannot be written as replicated records")]
    NotReplica {
        /// The terminal.
        origin: keel_core::ids::TerminalId,
    },
    /// Storage is closed after an I/O failure (it could not be reopened), or
    /// the terminal's state could not be read back after a failed commit.
    #[error("storage unavailable after an I/O failure, the sale was not saved: {reason}")]
    Unavailable {
        /// Why reopening failed.
        reason: String,
    },
    /// Any other storage failure; nothing was written.
    #[error("storage error, the sale was not saved: {source}")]
    Storage {
        /// redb's error.
        #[source]
        source: redb::Error,
    },
}

impl CommitError {
    /// True when redb will refuse further writes until the database is reopened.
    pub(crate) fn needs_reopen(&self) -> bool {
        match self {
            CommitError::DiskFull { .. } => true,
            CommitError::Storage { source } => {
                matches!(classify(source), Class::Io | Class::DiskFull(_))
            }
            _ => false,
        }
    }
}

/// Errors from reads.
#[derive(Debug, Error)]
pub enum ReadError {
    /// A storage failure.
    #[error("storage error while reading the journal: {source}")]
    Storage {
        /// redb's error.
        #[source]
        source: redb::Error,
    },
    /// A stored record does not decode.
    #[error("record {seq} is unreadable: {reason}; run `journal verify`")]
    Unreadable {
        /// Sequence number.
        seq: u64,
        /// Decoder's reason.
        reason: String,
    },
    /// The database is closed after an I/O failure and has not been reopened yet.
    #[error("storage unavailable after an I/O failure; the next commit retries opening it")]
    Unavailable,
    /// A stored value other than a record does not decode.
    #[error("{what} is unreadable: {reason}")]
    Corrupt {
        /// What was being read.
        what: String,
        /// Decoder's reason.
        reason: String,
    },
}

/// Errors from [`crate::Journal::verify`] and [`crate::verify_export`].
#[derive(Debug, Error)]
pub enum VerifyError {
    /// The chain is broken; the break names the record.
    #[error("journal chain broken: {0}")]
    Broken(ChainBreak),
    /// Record 1 is not this journal's `JournalOpened`.
    #[error("record 1: {reason}")]
    BadFirstRecord {
        /// What is wrong.
        reason: String,
    },
    /// Records follow the stored head: appended outside the journal's commits.
    #[error("record {seq}: beyond the stored head ({head}); appended outside the journal")]
    BeyondHead {
        /// First record after the head.
        seq: u64,
        /// The head's seq.
        head: u64,
    },
    /// An export line's convenience fields disagree with its record bytes.
    #[error("record {seq}: export line altered ({reason})")]
    ExportMismatch {
        /// Sequence number of the line.
        seq: u64,
        /// Which field disagrees.
        reason: String,
    },
    /// The export file is not in the expected format.
    #[error("export line {line}: {reason}")]
    Format {
        /// Line number (from 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The export belongs to another store or terminal than expected.
    #[error("export belongs to {found}, expected {expected}")]
    IdentityMismatch {
        /// Expected store/terminal.
        expected: String,
        /// Store/terminal in the header.
        found: String,
    },
    /// The export file could not be read.
    #[error("cannot read export {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A storage failure while reading the journal.
    #[error("storage error while verifying: {0}")]
    Storage(#[from] ReadError),
}

/// Errors from [`crate::Journal::export`]. The destination is untouched on error.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Reading the journal failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the export failed.
    #[error("cannot write export {path}: {source}")]
    Io {
        /// The destination.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// What kind of failure a redb error is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// ENOSPC, EDQUOT or EFBIG somewhere in the chain.
    DiskFull(String),
    /// Another I/O failure, or redb's "previous I/O error" latch.
    Io,
    /// Anything else.
    Other,
}

fn io_class(err: &io::Error) -> Class {
    if let Some(code) = err.raw_os_error() {
        if code == libc::ENOSPC || code == libc::EDQUOT || code == libc::EFBIG {
            return Class::DiskFull(err.to_string());
        }
    }
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(inner) = s.downcast_ref::<io::Error>() {
            if let Class::DiskFull(d) = io_class(inner) {
                return Class::DiskFull(d);
            }
        }
        source = s.source();
    }
    if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<io::Error>()) {
        if let Class::DiskFull(d) = io_class(inner) {
            return Class::DiskFull(d);
        }
    }
    Class::Io
}

/// Classifies a redb error, looking through wrapped I/O errors.
pub(crate) fn classify(err: &redb::Error) -> Class {
    match err {
        redb::Error::Io(e) => io_class(e),
        redb::Error::PreviousIo => Class::Io,
        redb::Error::Backend(b) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(b.as_ref());
            while let Some(s) = source {
                if let Some(e) = s.downcast_ref::<io::Error>() {
                    return io_class(e);
                }
                source = s.source();
            }
            Class::Io
        }
        _ => Class::Other,
    }
}

/// Turns any redb error into a commit error, recognising a full disk.
pub(crate) fn commit_error(err: impl Into<redb::Error>) -> CommitError {
    let err = err.into();
    match classify(&err) {
        Class::DiskFull(detail) => CommitError::DiskFull { detail },
        _ => CommitError::Storage { source: err },
    }
}

/// Turns any redb error into a read error.
pub(crate) fn read_error(err: impl Into<redb::Error>) -> ReadError {
    ReadError::Storage { source: err.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_is_recognised_anywhere_in_the_chain() {
        for code in [libc::ENOSPC, libc::EDQUOT, libc::EFBIG] {
            let e = commit_error(redb::Error::Io(io::Error::from_raw_os_error(code)));
            assert!(matches!(e, CommitError::DiskFull { .. }), "{e}");
            assert!(e
                .to_string()
                .starts_with("disk full: the sale was not saved; free space and retry"));
            assert!(e.needs_reopen());
        }
        let wrapped = io::Error::other(io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(matches!(
            commit_error(redb::Error::Io(wrapped)),
            CommitError::DiskFull { .. }
        ));
        let backend = redb::Error::Backend(Box::new(io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(matches!(
            commit_error(backend),
            CommitError::DiskFull { .. }
        ));
    }

    #[test]
    fn other_io_failures_need_a_reopen_but_are_not_disk_full() {
        let e = commit_error(redb::Error::Io(io::Error::from_raw_os_error(libc::EIO)));
        assert!(matches!(e, CommitError::Storage { .. }) && e.needs_reopen());
        let e = commit_error(redb::Error::PreviousIo);
        assert!(matches!(e, CommitError::Storage { .. }) && e.needs_reopen());
        let e = commit_error(redb::Error::Corrupted("x".into()));
        assert!(!e.needs_reopen());
    }
}
