//! Replacing a small file so that a power cut leaves either the old or the
//! new content, never a mix: write a temporary file next to it, fsync it,
//! rename it over the old one, fsync the directory.
//!
//! Owns only that write sequence. It must not be used for block devices or
//! for files that must stay at a fixed place on disk (those are written in
//! place by their adapters).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably.
///
/// The temporary file is `path` with `.tmp` appended; a stale one from an
/// earlier cut is overwritten. Returns the first I/O error met.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(tmp, path)?;
    sync_parent(path)
}

/// Fsyncs the directory holding `path`, so a rename or create in it is on
/// disk.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn replace_writes_new_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.toml");
        super::replace(&p, b"one").unwrap();
        super::replace(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert!(!dir.path().join("state.toml.tmp").exists());
    }
}
