//! What can go wrong with the spool, worded for the technician.

use super::JobId;
use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// Errors from [`super::Spool`].
#[derive(Debug, Error)]
pub enum SpoolError {
    /// A file or directory of the spool could not be created, written, read,
    /// renamed or synced (a full or read-only disk, for example).
    #[error("print spool {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another print worker (this process or another) already has this spool open.
    #[error("print spool {dir} is already in use by another printer worker")]
    Locked {
        /// The spool directory.
        dir: PathBuf,
    },
    /// No pending or kept printed job has this id (never issued, or printed long
    /// enough ago that it was dropped from the reprint history).
    #[error("print job {0} is not in the spool")]
    NotFound(JobId),
    /// A job file is damaged (a crash mid-write, a disk error); it was not used.
    #[error("print job file {path} is damaged: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The job could not be encoded (larger than the file format allows).
    #[error("print job cannot be stored: {0}")]
    Encode(String),
}

impl SpoolError {
    /// An [`SpoolError::Io`] for `path`.
    pub(super) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> SpoolError {
        let path = path.into();
        move |source| SpoolError::Io { path, source }
    }
}
