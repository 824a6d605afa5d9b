//! The spool's high-water mark over this terminal's journal: every own record
//! at or below it has had its print jobs spooled. Kept as a small file next to
//! the spool, replaced atomically (write, fsync, rename, fsync the directory),
//! so after a power cut the terminal spools exactly what may be missing.

use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the mark inside the spool directory.
pub const MARK_FILE: &str = "journaled-through";

/// The mark file of a spool directory.
pub fn path(spool: &Path) -> PathBuf {
    spool.join(MARK_FILE)
}

/// Reads the mark; `None` when there is none (a first start) or it is unreadable.
pub fn read(spool: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path(spool)).ok()?;
    text.trim().parse().ok()
}

/// Writes the mark durably.
pub fn write(spool: &Path, seq: u64) -> std::io::Result<()> {
    let tmp = spool.join(format!("{MARK_FILE}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{seq}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path(spool))?;
    std::fs::File::open(spool)?.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_mark_round_trips_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::read(dir.path()), None);
        super::write(dir.path(), 42).unwrap();
        assert_eq!(super::read(dir.path()), Some(42));
        super::write(dir.path(), 43).unwrap();
        assert_eq!(super::read(dir.path()), Some(43));
        std::fs::write(super::path(dir.path()), "garbage").unwrap();
        assert_eq!(super::read(dir.path()), None);
    }
}
