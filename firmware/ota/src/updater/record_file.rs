//! The updater's record on the data partition: a small TOML file replaced
//! atomically at every change.
//!
//! Owns the file format (TOML of [`UpdateRecord`]) and its load and store.
//! It must not interpret the state: that is [`step`](mod@crate::updater::step).

use super::state::UpdateRecord;
use std::path::{Path, PathBuf};

/// The record file's conventional name in the data directory.
pub const RECORD_FILE_NAME: &str = "ota-state.toml";

/// Why the record could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading, writing or syncing the file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The record file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid record (bad TOML, unknown state, unknown field).
    #[error("{path} is not an update record: {reason}")]
    Malformed {
        /// The record file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The file has a record format this build does not know.
    #[error("{path}: record format {format} is not supported (expected 1)")]
    UnknownFormat {
        /// The record file.
        path: PathBuf,
        /// The format found.
        format: u32,
    },
}

/// The record as TOML text.
pub fn encode(record: &UpdateRecord) -> String {
    // A record is a flat table of strings and integers: serializing it cannot
    // fail (no maps with non-string keys, no values TOML cannot hold).
    match toml::to_string(record) {
        Ok(text) => text,
        Err(e) => unreachable!("an UpdateRecord always serializes to TOML: {e}"),
    }
}

/// Parses TOML text into a record; `path` only names the file in errors.
pub fn decode(text: &str, path: &Path) -> Result<UpdateRecord, RecordError> {
    let record: UpdateRecord = toml::from_str(text).map_err(|e| RecordError::Malformed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if record.format != 1 {
        return Err(RecordError::UnknownFormat {
            path: path.to_path_buf(),
            format: record.format,
        });
    }
    Ok(record)
}

/// The record file at one path.
#[derive(Debug, Clone)]
pub struct RecordFile {
    path: PathBuf,
}

impl RecordFile {
    /// The record at `path` (usually `DATA_DIR/ota-state.toml`).
    pub fn new(path: impl Into<PathBuf>) -> RecordFile {
        RecordFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the record; no file yet means [`UpdateRecord::default`] (idle).
    pub fn load(&self) -> Result<UpdateRecord, RecordError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => decode(&text, &self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UpdateRecord::default()),
            Err(source) => Err(RecordError::Io {
                action: "reading",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Stores the record atomically and durably (temp file, fsync, rename,
    /// fsync directory): a power cut leaves the old or the new record.
    pub fn store(&self, record: &UpdateRecord) -> Result<(), RecordError> {
        crate::atomic_file::replace(&self.path, encode(record).as_bytes()).map_err(|source| {
            RecordError::Io {
                action: "replacing",
                path: self.path.clone(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slot::Slot;
    use crate::updater::state::UpdateState;

    #[test]
    fn every_state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = RecordFile::new(dir.path().join(RECORD_FILE_NAME));
        assert_eq!(file.load().unwrap(), UpdateRecord::default());
        let v = || "1.2.0".to_string();
        let t = Slot::B;
        for update in [
            UpdateState::Idle,
            UpdateState::Downloading {
                version: v(),
                target: t,
            },
            UpdateState::Verifying {
                version: v(),
                target: t,
            },
            UpdateState::Writing {
                version: v(),
                target: t,
            },
            UpdateState::Switching {
                version: v(),
                target: t,
            },
            UpdateState::Rebooting {
                version: v(),
                target: t,
            },
            UpdateState::Testing {
                version: v(),
                target: t,
                failures: 0,
                last_failure: None,
            },
            UpdateState::Testing {
                version: v(),
                target: t,
                failures: 2,
                last_failure: Some("UI not up".into()),
            },
            UpdateState::Committed {
                version: v(),
                slot: t,
            },
            UpdateState::Failed {
                version: None,
                reason: "bad signature".into(),
            },
            UpdateState::Failed {
                version: Some(v()),
                reason: "x".into(),
            },
            UpdateState::RolledBack {
                version: v(),
                failed_slot: t,
                reason: "y".into(),
            },
        ] {
            let record = UpdateRecord {
                format: 1,
                since_unix_ms: 1_790_000_000_000,
                update,
            };
            file.store(&record).unwrap();
            assert_eq!(file.load().unwrap(), record);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let p = Path::new("ota-state.toml");
        assert!(matches!(
            decode("format = 1\n", p),
            Err(RecordError::Malformed { .. })
        ));
        let text = "format = 1\nsince_unix_ms = 0\n[update]\nstate = \"dancing\"\n";
        assert!(matches!(
            decode(text, p),
            Err(RecordError::Malformed { .. })
        ));
        let text = "format = 2\nsince_unix_ms = 0\n[update]\nstate = \"idle\"\n";
        assert!(matches!(
            decode(text, p),
            Err(RecordError::UnknownFormat { format: 2, .. })
        ));
    }
}
