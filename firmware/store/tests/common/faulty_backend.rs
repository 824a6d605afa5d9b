//! A redb backend over a real file with a fault rule: every write, growth,
//! sync and read asks the rule first, so a test can fill the disk, make it
//! vanish, or bring it back while a journal is open. The opener applies the
//! rule to reopening too.

use keel_store::{BackendOpener, FileBackend, StorageBackend};
use std::fs::OpenOptions;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// What the journal is doing when the rule is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Opening (or reopening) the file.
    Open,
    /// Reading.
    Read,
    /// Writing `len` bytes at `offset`.
    Write { offset: u64, len: u64 },
    /// Growing or shrinking the file to `len` (current length `current`).
    SetLen { len: u64, current: u64 },
    /// fsync.
    Sync,
}

/// The fault rule: `Err` fails the operation with that error.
pub type Rule = Arc<dyn Fn(Op) -> Result<(), io::Error> + Send + Sync>;

struct FaultyBackend {
    inner: FileBackend,
    rule: Rule,
}

impl std::fmt::Debug for FaultyBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyBackend").finish()
    }
}

impl StorageBackend for FaultyBackend {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        (self.rule)(Op::Read)?;
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        (self.rule)(Op::SetLen {
            len,
            current: self.inner.len()?,
        })?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<(), io::Error> {
        (self.rule)(Op::Sync)?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        (self.rule)(Op::Write {
            offset,
            len: data.len() as u64,
        })?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }
    fn try_lock_range(
        &self,
        s: std::ops::Bound<u64>,
        e: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_range(s, e)
    }
    fn try_lock_shared_range(
        &self,
        s: std::ops::Bound<u64>,
        e: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_shared_range(s, e)
    }
    fn unlock_range(
        &self,
        s: std::ops::Bound<u64>,
        e: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.unlock_range(s, e)
    }
    fn query_lock_range(
        &self,
        s: std::ops::Bound<u64>,
        e: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.query_lock_range(s, e)
    }
}

/// Opens `path` as a [`FaultyBackend`] under `rule`, each time the journal
/// (re)opens it.
pub fn faulty_opener(path: PathBuf, rule: Rule) -> BackendOpener {
    Box::new(move || {
        rule(Op::Open)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let inner = FileBackend::new(file).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Box::new(FaultyBackend {
            inner,
            rule: rule.clone(),
        }) as Box<dyn StorageBackend>)
    })
}
