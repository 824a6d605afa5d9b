//! Staging a firmware bundle on the data partition before the updater runs:
//! a regular file is hard-linked (or copied whole) into
//! `<ota>/bundles/installing-firmware.keelb`; anything else (a USB stick or
//! a virtio disk holding the bundle at its start, a pipe) is copied for
//! exactly the bundle's own length (its header plus the payload sizes its
//! manifest lists), since the device's size is not the bundle's. Every
//! [`LOG_EVERY`] bytes copied are logged, so a slow copy is never silent.
//!
//! Owns that copy; it must not verify signatures or policy (the updater's
//! verify step does, on the staged file) nor decide where bundles live (the
//! layout does).

use keel_ota::verify::{read_raw_header, BundleError};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A progress line is logged each time this many more bytes are copied.
pub const LOG_EVERY: u64 = 64 * 1024 * 1024;

/// Bytes read and written at a time.
const CHUNK: usize = 1024 * 1024;

/// Why a bundle could not be staged (nothing is pending; the source is
/// untouched).
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The source could not be opened or read.
    #[error("reading {path}: {source}")]
    Read {
        /// The source.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The source does not start with a well-formed bundle header.
    #[error("{path}: {source}")]
    Header {
        /// The source.
        path: PathBuf,
        /// What is wrong with the header.
        source: BundleError,
    },
    /// The source ends before the bundle's declared length.
    #[error("{path} ends after {copied} of the bundle's {expected} bytes")]
    Truncated {
        /// The source.
        path: PathBuf,
        /// Bytes there were.
        copied: u64,
        /// Bytes the header declares.
        expected: u64,
    },
    /// The staged copy could not be written or synced (a full data
    /// partition says so here).
    #[error("writing {path}: {source}")]
    Write {
        /// The staged file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// How a bundle was staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    /// Hard-linked: no byte copied.
    Linked,
    /// Copied: this many bytes.
    Copied(u64),
}

/// Stages `source` as `dest` (which is replaced).
pub fn stage_bundle(source: &Path, dest: &Path) -> Result<Staged, StageError> {
    let read_err = |source_err: io::Error| StageError::Read {
        path: source.to_path_buf(),
        source: source_err,
    };
    let meta = std::fs::metadata(source).map_err(read_err)?;
    let _ = std::fs::remove_file(dest);
    if meta.is_file() && std::fs::hard_link(source, dest).is_ok() {
        return Ok(Staged::Linked);
    }
    // One handle, read once from its first byte (a pipe cannot be read
    // twice): the header bytes read to learn the length are written first.
    let mut input = File::open(source).map_err(read_err)?;
    let (expected, head) = if meta.is_file() {
        (meta.len(), Vec::new())
    } else {
        bundle_len(&mut input, source)?
    };
    log::info!(
        "ota: staging {} ({} MiB) as {}",
        source.display(),
        expected / (1024 * 1024),
        dest.display()
    );
    let copied = copy_logged(&mut head.as_slice().chain(input), source, dest, expected);
    if copied.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    copied.map(Staged::Copied)
}

/// The bundle's whole length from its header (the header itself and every
/// payload the manifest lists), and the bytes read to learn it.
fn bundle_len(reader: &mut impl Read, path: &Path) -> Result<(u64, Vec<u8>), StageError> {
    let mut recording = Recording {
        inner: reader,
        seen: Vec::new(),
    };
    let raw = read_raw_header(&mut recording).map_err(|source| StageError::Header {
        path: path.to_path_buf(),
        source,
    })?;
    let len = raw.len() + raw.manifest.payloads.iter().map(|p| p.size).sum::<u64>();
    Ok((len, recording.seen))
}

/// A reader that keeps a copy of what was read through it.
struct Recording<'a, R> {
    inner: &'a mut R,
    seen: Vec<u8>,
}

impl<R: Read> Read for Recording<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Copies exactly `expected` bytes of `input` to a new `dest`, synced,
/// logging every [`LOG_EVERY`] bytes.
fn copy_logged(
    input: &mut impl Read,
    source: &Path,
    dest: &Path,
    expected: u64,
) -> Result<u64, StageError> {
    let write_err = |e: io::Error| StageError::Write {
        path: dest.to_path_buf(),
        source: e,
    };
    let mut out = File::create(dest).map_err(write_err)?;
    let mut buf = vec![0u8; CHUNK];
    let mut copied = 0u64;
    let mut next_log = LOG_EVERY;
    while copied < expected {
        let want = (expected - copied).min(CHUNK as u64) as usize;
        let n = match input.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(StageError::Truncated {
                    path: source.to_path_buf(),
                    copied,
                    expected,
                })
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(StageError::Read {
                    path: source.to_path_buf(),
                    source: e,
                })
            }
        };
        out.write_all(&buf[..n]).map_err(write_err)?;
        copied += n as u64;
        if copied >= next_log {
            log::info!(
                "ota: staging: {} of {} MiB copied",
                copied / (1024 * 1024),
                expected / (1024 * 1024)
            );
            next_log += LOG_EVERY;
        }
    }
    out.sync_all().map_err(write_err)?;
    log::info!("ota: staged {} ({copied} bytes)", dest.display());
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_ota::bundle::{write_bundle, BundleSpec, PayloadData, PayloadInput};
    use keel_ota::manifest::BundleKind;
    use keel_ota::version::Version;

    fn bundle(payload: &[u8]) -> Vec<u8> {
        let key = keel_ota::keys::generate(&ring::rand::SystemRandom::new()).unwrap();
        let mut out = Vec::new();
        write_bundle(
            &mut out,
            &key,
            &BundleSpec {
                kind: BundleKind::Firmware,
                version: Version {
                    major: 1,
                    minor: 2,
                    patch: 3,
                },
                min_version: None,
                boards: vec!["qemu-x86_64".into()],
                created_unix_ms: 0,
            },
            &[PayloadInput {
                name: "rootfs".into(),
                data: PayloadData::Bytes(payload.to_vec()),
            }],
        )
        .unwrap();
        out
    }

    /// A FIFO stands in for a block device: not a regular file, no useful
    /// length, more bytes after the bundle (a disk's padding).
    fn fifo_with(dir: &Path, bytes: Vec<u8>) -> (PathBuf, std::thread::JoinHandle<()>) {
        let path = dir.join("device");
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let p = path.clone();
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            // The stager stops reading after the bundle: the rest may not go in.
            let _ = f.write_all(&bytes);
        });
        (path, writer)
    }

    #[test]
    fn a_device_is_copied_for_exactly_the_bundles_length() {
        let dir = tempfile::tempdir().unwrap();
        let b = bundle(&vec![7u8; 3 * CHUNK + 5]);
        let mut on_device = b.clone();
        on_device.extend_from_slice(&[0u8; 4096]);
        let (device, writer) = fifo_with(dir.path(), on_device);
        let dest = dir.path().join("staged.keelb");
        let staged = stage_bundle(&device, &dest).unwrap();
        writer.join().unwrap();
        assert_eq!(staged, Staged::Copied(b.len() as u64));
        assert_eq!(std::fs::read(&dest).unwrap(), b);
    }

    #[test]
    fn a_device_shorter_than_its_bundle_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = bundle(&vec![1u8; 10_000]);
        b.truncate(b.len() - 100);
        let (device, writer) = fifo_with(dir.path(), b.clone());
        let dest = dir.path().join("staged.keelb");
        let err = stage_bundle(&device, &dest).unwrap_err();
        writer.join().unwrap();
        assert!(
            matches!(err, StageError::Truncated { copied, expected, .. } if copied == b.len() as u64 && expected == b.len() as u64 + 100),
            "{err}"
        );
        assert!(!dest.exists());
    }

    #[test]
    fn a_device_without_a_bundle_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let (device, writer) = fifo_with(dir.path(), vec![0u8; 4096]);
        let dest = dir.path().join("staged.keelb");
        let err = stage_bundle(&device, &dest).unwrap_err();
        writer.join().unwrap();
        assert!(matches!(err, StageError::Header { .. }), "{err}");
        assert!(!dest.exists());
    }

    #[test]
    fn a_regular_file_is_linked_whole() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("bundle.keelb");
        std::fs::write(&src, bundle(b"payload")).unwrap();
        let dest = dir.path().join("staged.keelb");
        assert_eq!(stage_bundle(&src, &dest).unwrap(), Staged::Linked);
        assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(&src).unwrap());
    }
}
