//! Writes a firmware bundle's rootfs payload onto a slot: a block device or
//! an image file.
//!
//! Owns opening the slot (a block device is never truncated or created and
//! must be large enough; a regular file may be created or truncated), the
//! writes and the final fsync. It must not pick the slot or touch the
//! bootloader environment.

use super::PayloadSink;
use crate::manifest::{BundleKind, PayloadEntry};
use crate::verify::VerifiedHeader;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A [`PayloadSink`] that writes the rootfs image onto `path`.
#[derive(Debug)]
pub struct SlotSink {
    path: PathBuf,
    file: Option<File>,
    created: bool,
    written: u64,
}

impl SlotSink {
    /// A sink for the slot at `path` (`/dev/disk/by-partlabel/rootfs-b`, or
    /// an image file). Nothing is opened before the header is verified.
    pub fn new(path: impl Into<PathBuf>) -> SlotSink {
        SlotSink {
            path: path.into(),
            file: None,
            created: false,
            written: 0,
        }
    }

    /// The slot's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the slot for a payload of `size` bytes.
    fn open(&mut self, size: u64) -> io::Result<File> {
        match fs::metadata(&self.path) {
            Ok(meta) if is_block_device(&meta) => {
                // Never truncate or create a device node.
                let mut file = OpenOptions::new().write(true).open(&self.path)?;
                let capacity = file.seek(SeekFrom::End(0))?;
                if size > capacity {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "rootfs payload of {size} bytes does not fit {} ({capacity} bytes)",
                            self.path.display()
                        ),
                    ));
                }
                file.seek(SeekFrom::Start(0))?;
                Ok(file)
            }
            Ok(meta) if meta.is_file() => OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&self.path),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is neither a block device nor a regular file",
                    self.path.display()
                ),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&self.path)?;
                self.created = true;
                Ok(file)
            }
            Err(e) => Err(e),
        }
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("slot written before it was opened"))
    }
}

#[cfg(unix)]
fn is_block_device(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_block_device()
}

#[cfg(not(unix))]
fn is_block_device(_: &fs::Metadata) -> bool {
    false
}

impl PayloadSink for SlotSink {
    fn kind(&self) -> BundleKind {
        BundleKind::Firmware
    }

    fn begin(&mut self, header: &VerifiedHeader) -> io::Result<()> {
        let size = header.manifest.total_size().unwrap_or(u64::MAX);
        let file = self.open(size)?;
        self.file = Some(file);
        self.written = 0;
        Ok(())
    }

    fn start_payload(&mut self, _entry: &PayloadEntry) -> io::Result<()> {
        self.file().map(|_| ())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file()?.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn finish_payload(&mut self, _entry: &PayloadEntry) -> io::Result<()> {
        Ok(())
    }

    fn commit(&mut self) -> io::Result<()> {
        self.file()?.sync_all()?;
        if self.created {
            sync_parent(&self.path)?;
        }
        self.file = None;
        log::info!(
            "slot {} written: {} bytes",
            self.path.display(),
            self.written
        );
        Ok(())
    }

    fn abort(&mut self) {
        self.file = None;
        if self.created {
            if let Err(e) = fs::remove_file(&self.path) {
                log::warn!("removing partial {}: {e}", self.path.display());
            }
            self.created = false;
        } else {
            log::warn!(
                "slot {} holds a partial write ({} bytes); it stays unbootable until rewritten",
                self.path.display(),
                self.written
            );
        }
    }
}

/// Fsyncs the directory holding `path` so a new file's entry is durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}
