//! The terminal's bundle directory, `<data-dir>/ota/bundles/`: a download in
//! progress is `<sha256>.part` (appended in order, so its length is where a
//! download resumes after a restart or an outage); a complete one whose whole
//! file hashed to its name is `<sha256>.keelb` (renamed atomically after an
//! fsync). A `.part` that hashes wrong is deleted, so the next attempt starts
//! from zero.
//!
//! Owns those files; must not decide what to download or from whom.

use keel_uplink::release::hex;
use ring::digest::{Context, SHA256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a bundle-directory operation failed.
#[derive(Debug, Error)]
pub enum BundleDirError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Bytes arrived for an offset other than the end of the `.part`.
    #[error("bytes for offset {got} of {sha}, but {have} bytes are held")]
    OutOfOrder {
        /// Hex SHA-256 of the bundle.
        sha: String,
        /// Offset of the bytes.
        got: u64,
        /// Bytes held.
        have: u64,
    },
    /// More bytes than the bundle's size.
    #[error("{sha}: {len} bytes exceed the bundle's {size}")]
    TooLong {
        /// Hex SHA-256 of the bundle.
        sha: String,
        /// Bytes it would hold.
        len: u64,
        /// The bundle's size.
        size: u64,
    },
    /// The complete download hashed to something else; the `.part` was deleted.
    #[error("downloaded bundle hashes to {got}, not {want}: deleted, the download starts over")]
    HashMismatch {
        /// Hex of what arrived.
        got: String,
        /// Hex expected.
        want: String,
    },
}

/// The bundle directory of one terminal.
#[derive(Clone, Debug)]
pub struct BundleDir {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleDirError + '_ {
    move |source| BundleDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl BundleDir {
    /// The directory under `data_dir` (created on the first write).
    pub fn new(data_dir: &Path) -> BundleDir {
        BundleDir {
            dir: data_dir.join("ota").join("bundles"),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where a download in progress goes.
    pub fn part_path(&self, sha: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.part", hex(sha)))
    }

    /// Where a complete, checked bundle is.
    pub fn bundle_path(&self, sha: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.keelb", hex(sha)))
    }

    /// The complete bundle, if held.
    pub fn complete(&self, sha: &[u8; 32]) -> Option<PathBuf> {
        let p = self.bundle_path(sha);
        p.is_file().then_some(p)
    }

    /// Bytes held of a bundle: its size when complete, else the `.part`'s length.
    pub fn held(&self, sha: &[u8; 32]) -> u64 {
        let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).ok();
        len(self.bundle_path(sha))
            .or_else(|| len(self.part_path(sha)))
            .unwrap_or(0)
    }

    /// Appends `bytes` at `offset` of a download of a `size`-byte bundle
    /// (`offset` must be the `.part`'s length); returns the bytes now held.
    pub fn append(
        &self,
        sha: &[u8; 32],
        size: u64,
        offset: u64,
        bytes: &[u8],
    ) -> Result<u64, BundleDirError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.part_path(sha);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let have = f.metadata().map_err(io(&path))?.len();
        if have != offset {
            return Err(BundleDirError::OutOfOrder {
                sha: hex(sha),
                got: offset,
                have,
            });
        }
        let len = have + bytes.len() as u64;
        if len > size {
            return Err(BundleDirError::TooLong {
                sha: hex(sha),
                len,
                size,
            });
        }
        f.write_all(bytes).map_err(io(&path))?;
        Ok(len)
    }

    /// Checks a `.part` that holds all `size` bytes: when its SHA-256 is its
    /// name it is fsynced and renamed to `.keelb` (returned); otherwise it is
    /// deleted and the mismatch returned.
    pub fn finish(&self, sha: &[u8; 32]) -> Result<PathBuf, BundleDirError> {
        let path = self.part_path(sha);
        let mut f = File::open(&path).map_err(io(&path))?;
        let mut hash = Context::new(&SHA256);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf).map_err(io(&path))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
        }
        let mut got = [0u8; 32];
        got.copy_from_slice(hash.finish().as_ref());
        if &got != sha {
            std::fs::remove_file(&path).map_err(io(&path))?;
            return Err(BundleDirError::HashMismatch {
                got: hex(&got),
                want: hex(sha),
            });
        }
        f.sync_all().map_err(io(&path))?;
        let done = self.bundle_path(sha);
        std::fs::rename(&path, &done).map_err(io(&done))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(done)
    }

    /// Deletes the downloads (complete or `.part`) of releases not in `keep`
    /// that were last written more than `grace` ago, so withdrawn and superseded
    /// releases do not fill the data partition. Other files (an install's own
    /// link to its bundle) are left alone. Returns the names deleted.
    pub fn prune(&self, keep: &[[u8; 32]], grace: std::time::Duration) -> Vec<String> {
        let keep: Vec<String> = keep.iter().map(hex).collect();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut deleted = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name
                .strip_suffix(".keelb")
                .or_else(|| name.strip_suffix(".part"))
            else {
                continue;
            };
            let is_sha = stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit());
            if !is_sha || keep.iter().any(|k| k == stem) {
                continue;
            }
            let old_enough = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= grace);
            if !old_enough {
                continue;
            }
            match std::fs::remove_file(e.path()) {
                Ok(()) => deleted.push(name),
                Err(err) => log::warn!("ota channel: {}: {err}", e.path().display()),
            }
        }
        deleted
    }

    /// Up to `max` bytes of a bundle from `offset`, from the complete file or
    /// the `.part` (empty when not held that far).
    pub fn read(&self, sha: &[u8; 32], offset: u64, max: usize) -> Result<Vec<u8>, BundleDirError> {
        let path = match self.complete(sha) {
            Some(p) => p,
            None => self.part_path(sha),
        };
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        f.seek(SeekFrom::Start(offset)).map_err(io(&path))?;
        let mut out = Vec::with_capacity(max);
        f.take(max as u64)
            .read_to_end(&mut out)
            .map_err(io(&path))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sha(b: &[u8]) -> [u8; 32] {
        let mut o = [0u8; 32];
        o.copy_from_slice(ring::digest::digest(&SHA256, b).as_ref());
        o
    }

    #[test]
    fn prune_deletes_only_old_downloads_of_releases_no_longer_offered() {
        let dir = tempfile::tempdir().unwrap();
        let b = BundleDir::new(dir.path());
        let (kept, gone, partial) = (sha(b"kept"), sha(b"gone"), sha(b"partial"));
        b.append(&kept, 4, 0, b"kept").unwrap();
        b.finish(&kept).unwrap();
        b.append(&gone, 4, 0, b"gone").unwrap();
        b.finish(&gone).unwrap();
        b.append(&partial, 7, 0, b"par").unwrap();
        std::fs::write(b.path().join("installing-firmware.keelb"), b"x").unwrap();
        // Too recent: a new leader's first, still empty, announcement deletes nothing.
        assert!(b.prune(&[kept], Duration::from_secs(3600)).is_empty());
        let mut deleted = b.prune(&[kept], Duration::ZERO);
        deleted.sort();
        assert_eq!(
            deleted,
            vec![
                format!("{}.keelb", hex(&gone)),
                format!("{}.part", hex(&partial))
            ]
        );
        assert!(b.complete(&kept).is_some());
        assert!(b.path().join("installing-firmware.keelb").is_file());
    }

    #[test]
    fn resumes_checks_and_starts_over_on_a_mismatch() {
        let tmp = tempfile::tempdir().unwrap();
        let d = BundleDir::new(tmp.path());
        let data = b"hello bundle bytes".to_vec();
        let s = sha(&data);
        assert_eq!(d.held(&s), 0);
        assert_eq!(d.append(&s, 18, 0, &data[..5]).unwrap(), 5);
        // A restart: a fresh handle resumes from the .part's length.
        let d = BundleDir::new(tmp.path());
        assert_eq!(d.held(&s), 5);
        assert!(matches!(
            d.append(&s, 18, 3, &data[3..]),
            Err(BundleDirError::OutOfOrder { have: 5, .. })
        ));
        assert!(matches!(
            d.append(&s, 10, 5, &data[5..]),
            Err(BundleDirError::TooLong { .. })
        ));
        assert_eq!(d.append(&s, 18, 5, &data[5..]).unwrap(), 18);
        assert_eq!(d.read(&s, 6, 4).unwrap(), b"bund");
        let p = d.finish(&s).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), data);
        assert_eq!(d.complete(&s), Some(p));
        assert_eq!(d.held(&s), 18);

        let other = sha(b"something else");
        d.append(&other, 18, 0, &data).unwrap();
        assert!(matches!(
            d.finish(&other),
            Err(BundleDirError::HashMismatch { .. })
        ));
        assert_eq!(d.held(&other), 0, "a mismatch starts over from zero");
        assert!(d.complete(&other).is_none());
    }
}
