//! The file-system steps that make a write survive a power cut: write a
//! temporary file, fsync it, rename it into place, fsync the directory; and
//! the exclusive lock that keeps two processes out of one spool.
//!
//! Owns only these POSIX rituals; it must not know what a job is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Writes `data` to `tmp`, fsyncs it, renames it to `dest` and fsyncs the
/// directory holding both: when this returns `Ok`, `dest` holds `data`
/// even after a power cut. On error the temporary file is removed.
pub(super) fn write_file(tmp: &Path, dest: &Path, data: &[u8]) -> io::Result<()> {
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(tmp, dest)?;
        sync_parent(dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// Renames `from` to `to` and fsyncs both directories.
pub(super) fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_parent(to)?;
    sync_parent(from)
}

/// Fsyncs the directory that holds `path`, so a rename or unlink in it is durable.
pub(super) fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Fsyncs a directory.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens (creating) `path` and takes an exclusive `flock` on it without
/// waiting; the lock lasts as long as the returned file is open.
/// `Ok(None)` means another open file already holds it.
pub(super) fn try_lock(path: &Path) -> io::Result<Option<File>> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: flock on a descriptor this function owns; no memory involved.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(f));
    }
    let err = io::Error::last_os_error();
    if err.kind() == io::ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(err)
    }
}
