//! The print job as the spool stores it: id, kind, label, bytes.
//!
//! Owns only the value types; it must not touch files.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A print job's id: issued by the spool, increasing, never reused (also
/// across restarts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a job is, for the status view and the reprint list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobKind {
    /// A customer receipt.
    Receipt,
    /// A kitchen ticket.
    Kitchen,
    /// A test page (`printer test`).
    Test,
    /// A copy of an earlier job.
    Reprint,
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobKind::Receipt => "receipt",
            JobKind::Kitchen => "kitchen",
            JobKind::Test => "test",
            JobKind::Reprint => "reprint",
        })
    }
}

/// A job with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// What it is.
    pub kind: JobKind,
    /// A short human label ("receipt 0042", "table 7").
    pub label: String,
    /// When it was spooled, milliseconds since the Unix epoch (wall clock).
    pub created_ms: u64,
    /// The ESC/POS bytes sent to the printer, as they are.
    pub bytes: Vec<u8>,
}

impl Job {
    /// Its description without the bytes.
    pub fn meta(&self) -> JobMeta {
        JobMeta {
            id: self.id,
            kind: self.kind,
            label: self.label.clone(),
            created_ms: self.created_ms,
            len: self.bytes.len(),
        }
    }
}

/// A job without its bytes: what lists show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobMeta {
    /// Its id.
    pub id: JobId,
    /// What it is.
    pub kind: JobKind,
    /// Its label.
    pub label: String,
    /// When it was spooled, milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// How many bytes it sends.
    pub len: usize,
}
