//! Where the database bytes live: a boxed redb storage backend and the opener
//! that produces a fresh one each time the journal (re)opens its database.
//!
//! This module owns only the plumbing between [`crate::Journal`] and redb's
//! [`StorageBackend`] trait; it must not interpret the bytes. Production uses the
//! plain file backend; tests and the simulator pass openers that inject faults
//! (a byte quota that fails writes with `ENOSPC`, for example).

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use std::fs::OpenOptions;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};

/// Produces a fresh backend over the same storage. Called on open and again
/// after an I/O failure, when redb requires the database to be reopened.
pub type BackendOpener = Box<dyn Fn() -> io::Result<Box<dyn StorageBackend>> + Send + Sync>;

/// A boxed backend, so openers of any backend type can be stored and redb's
/// builder (which takes `impl StorageBackend`) can be given one. Every method
/// delegates, file locks included.
#[derive(Debug)]
pub struct DynBackend(pub Box<dyn StorageBackend>);

impl StorageBackend for DynBackend {
    fn len(&self) -> Result<u64, io::Error> {
        self.0.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.0.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<(), io::Error> {
        self.0.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0.write(offset, data)
    }
    fn close(&self) -> Result<(), io::Error> {
        self.0.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.0.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.0.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.0.query_lock_range(start, end)
    }
}

/// Opens (creating if needed) `path` read-write as a redb file backend.
pub(crate) fn open_file_backend(path: &Path) -> io::Result<Box<dyn StorageBackend>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let backend = FileBackend::new(file).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(Box::new(backend))
}

/// An opener for the file at `path`.
pub(crate) fn file_opener(path: &Path) -> BackendOpener {
    let path: PathBuf = path.to_path_buf();
    Box::new(move || open_file_backend(&path))
}
