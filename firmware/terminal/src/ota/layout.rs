//! Where OTA keeps its files on the data partition, and the two small TOML
//! files this terminal adds to keel-ota's record: the pending firmware
//! bundle (path and whether a downgrade was allowed, so a resumed update
//! after a power cut verifies it the same way) and the versions each slot
//! is known to hold.
//!
//! Layout under `<data-dir>/ota/`: `ota-state.toml` (the updater's record),
//! `bundles/` (complete bundles: the channel's `<sha256>.keelb`, local ones
//! copied by `ota install`), `pending-firmware.toml`, `slots.toml`. This
//! module owns those paths and files; it must not decide anything.

use keel_ota::slot::Slot;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The OTA files of one data directory.
#[derive(Debug, Clone)]
pub struct OtaLayout {
    root: PathBuf,
}

/// A file of the layout could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Reading, writing or syncing failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not what this module writes.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
}

/// The firmware bundle the updater works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingFirmware {
    /// The bundle file.
    pub bundle: PathBuf,
    /// Its version (from the verified manifest).
    pub version: String,
    /// An older (or the same) version was allowed.
    pub allow_downgrade: bool,
}

/// The versions the slots are known to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotVersions {
    /// Slot A's version, if known.
    #[serde(default, rename = "A", skip_serializing_if = "Option::is_none")]
    pub a: Option<String>,
    /// Slot B's version, if known.
    #[serde(default, rename = "B", skip_serializing_if = "Option::is_none")]
    pub b: Option<String>,
}

impl SlotVersions {
    /// The version of `slot`, if known.
    pub fn get(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::A => self.a.as_deref(),
            Slot::B => self.b.as_deref(),
        }
    }

    /// Records the version of `slot`.
    pub fn set(&mut self, slot: Slot, version: Option<String>) {
        match slot {
            Slot::A => self.a = version,
            Slot::B => self.b = version,
        }
    }
}

/// Writes `text` to `path` atomically: a temporary file, fsync, rename, fsync
/// of the directory.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<(), LayoutError> {
    let io = |action, source| LayoutError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| io("creating", e))?;
    f.write_all(text).map_err(|e| io("writing", e))?;
    f.sync_all().map_err(|e| io("syncing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("renaming into", e))?;
    sync_dir(dir).map_err(|e| io("syncing the directory of", e))
}

/// Fsyncs a directory (its entries are durable afterwards).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl OtaLayout {
    /// The layout under `<data_dir>/ota`.
    pub fn new(data_dir: &Path) -> OtaLayout {
        OtaLayout {
            root: data_dir.join("ota"),
        }
    }

    /// `<data-dir>/ota`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The updater's record.
    pub fn record(&self) -> PathBuf {
        self.root
            .join(keel_ota::updater::record_file::RECORD_FILE_NAME)
    }

    /// Where complete bundles wait.
    pub fn bundles(&self) -> PathBuf {
        self.root.join("bundles")
    }

    fn pending_path(&self) -> PathBuf {
        self.root.join("pending-firmware.toml")
    }

    fn slots_path(&self) -> PathBuf {
        self.root.join("slots.toml")
    }

    fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, LayoutError> {
        match std::fs::read_to_string(path) {
            Ok(text) => decode_toml(&text, path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LayoutError::Io {
                action: "reading",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn write_toml<T: Serialize>(path: &Path, value: &T) -> Result<(), LayoutError> {
        write_atomic(path, encode_toml(value, path)?.as_bytes())
    }

    /// The pending firmware bundle, if any.
    pub fn pending(&self) -> Result<Option<PendingFirmware>, LayoutError> {
        Self::read_toml(&self.pending_path())
    }

    /// Stores the pending firmware bundle durably.
    pub fn set_pending(&self, p: &PendingFirmware) -> Result<(), LayoutError> {
        Self::write_toml(&self.pending_path(), p)
    }

    /// Forgets the pending bundle and deletes its file (nothing to do when gone).
    pub fn discard_pending(&self) -> Result<(), LayoutError> {
        if let Some(p) = self.pending()? {
            remove_if_present(&p.bundle)?;
        }
        remove_if_present(&self.pending_path())
    }

    /// The slots' known versions.
    pub fn slots(&self) -> Result<SlotVersions, LayoutError> {
        Ok(Self::read_toml(&self.slots_path())?.unwrap_or_default())
    }

    /// Records the version `slot` holds (None: unknown or being overwritten).
    pub fn set_slot(&self, slot: Slot, version: Option<String>) -> Result<(), LayoutError> {
        let mut v = self.slots()?;
        if v.get(slot) == version.as_deref() {
            return Ok(());
        }
        v.set(slot, version);
        Self::write_toml(&self.slots_path(), &v)
    }
}

/// Reads the text of `pending-firmware.toml` or `slots.toml` (`T` is
/// [`PendingFirmware`] or [`SlotVersions`]) as [`OtaLayout`] does at start;
/// `path` only names the file in the error. No I/O.
pub fn decode_toml<T: for<'de> Deserialize<'de>>(
    text: &str,
    path: &Path,
) -> Result<T, LayoutError> {
    toml::from_str(text).map_err(|e| LayoutError::Malformed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The text [`OtaLayout`] writes for `value`; `path` only names the file in
/// the error. No I/O.
pub fn encode_toml<T: Serialize>(value: &T, path: &Path) -> Result<String, LayoutError> {
    toml::to_string(value).map_err(|e| LayoutError::Malformed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Removes a file; a file already gone is fine.
pub fn remove_if_present(path: &Path) -> Result<(), LayoutError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LayoutError::Io {
            action: "removing",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_and_slot_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let l = OtaLayout::new(dir.path());
        assert_eq!(l.pending().unwrap(), None);
        let bundle = l.bundles().join("x.keelb");
        std::fs::create_dir_all(l.bundles()).unwrap();
        std::fs::write(&bundle, b"bytes").unwrap();
        let p = PendingFirmware {
            bundle: bundle.clone(),
            version: "1.2.3".into(),
            allow_downgrade: false,
        };
        l.set_pending(&p).unwrap();
        assert_eq!(l.pending().unwrap(), Some(p));
        l.discard_pending().unwrap();
        assert!(!bundle.exists());
        assert_eq!(l.pending().unwrap(), None);
        l.discard_pending().unwrap();
        l.set_slot(Slot::B, Some("2.0.0".into())).unwrap();
        l.set_slot(Slot::A, Some("1.0.0".into())).unwrap();
        let s = l.slots().unwrap();
        assert_eq!(
            (s.get(Slot::A), s.get(Slot::B)),
            (Some("1.0.0"), Some("2.0.0"))
        );
        std::fs::write(l.root().join("slots.toml"), "C = 1").unwrap();
        assert!(matches!(l.slots(), Err(LayoutError::Malformed { .. })));
    }
}
