//! The bundle manifest: what a bundle is, for which boards, and its payloads.
//!
//! Owns the manifest's TOML form and every rule a well-formed manifest obeys
//! (format number, strict versions, non-empty boards, payload names and
//! hashes). Parsing is pure text in, value or error out. It must not check
//! signatures or policy (trusted keys, board, running version): that is the
//! verifier's job.

use crate::keys::{decode_hex, encode_hex, KeyId};
use crate::version::{Version, VersionError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The only manifest format this code reads and writes.
pub const FORMAT: u32 = 1;
/// The payload name of a firmware bundle's root file system image.
pub const ROOTFS_PAYLOAD: &str = "rootfs";
/// Longest payload name accepted.
pub const MAX_PAYLOAD_NAME: usize = 255;

/// What a bundle installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BundleKind {
    /// A root file system image for the inactive slot.
    Firmware,
    /// The files of one model directory.
    Model,
}

impl BundleKind {
    /// The manifest spelling: `firmware` or `model`.
    pub fn as_str(self) -> &'static str {
        match self {
            BundleKind::Firmware => "firmware",
            BundleKind::Model => "model",
        }
    }
}

impl fmt::Display for BundleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BundleKind {
    type Err = ManifestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "firmware" => Ok(BundleKind::Firmware),
            "model" => Ok(BundleKind::Model),
            other => Err(ManifestError::UnknownKind(other.to_string())),
        }
    }
}

/// One payload: its name, exact size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadEntry {
    /// `rootfs` for firmware; a relative file path for a model.
    pub name: String,
    /// Exact size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
}

/// A checked manifest (every rule of [`BundleManifest::validate`] holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleManifest {
    /// What the bundle installs.
    pub kind: BundleKind,
    /// The version it installs.
    pub version: Version,
    /// The oldest running version allowed to install it, if any.
    pub min_version: Option<Version>,
    /// Boards it runs on (non-empty).
    pub boards: Vec<String>,
    /// When it was made, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
    /// Which key signed it.
    pub key_id: KeyId,
    /// The payloads, in the order they follow the signature.
    pub payloads: Vec<PayloadEntry>,
}

/// Why manifest text is not a valid manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The text is not TOML or has wrong or unknown fields.
    #[error("manifest is not valid TOML: {0}")]
    BadToml(String),
    /// `format` is missing or not one this code reads.
    #[error("unknown manifest format {0} (this terminal reads format 1)")]
    UnknownFormat(String),
    /// `kind` is neither `firmware` nor `model`.
    #[error("unknown bundle kind {0:?} (expected firmware or model)")]
    UnknownKind(String),
    /// `version` or `min_version` is not strict `MAJOR.MINOR.PATCH`.
    #[error("manifest {field}: {source}")]
    BadVersion {
        /// Which field.
        field: &'static str,
        /// The parse error.
        source: VersionError,
    },
    /// `boards` is empty.
    #[error("manifest lists no boards")]
    EmptyBoards,
    /// A board name is empty or has characters other than `a-z0-9-_`.
    #[error("bad board name {0:?} (lowercase letters, digits, - and _)")]
    BadBoard(String),
    /// `key_id` is not 16 hex characters.
    #[error("bad key_id {0:?} (expected 16 hex characters)")]
    BadKeyId(String),
    /// A payload name is unsafe or wrong for the kind.
    #[error("bad payload name {name:?}: {reason}")]
    BadPayloadName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two payloads share a name.
    #[error("duplicate payload name {0:?}")]
    DuplicatePayload(String),
    /// A payload's `sha256` is not 64 hex characters.
    #[error("payload {name:?}: bad sha256 {text:?} (expected 64 hex characters)")]
    BadHash {
        /// The payload.
        name: String,
        /// The text.
        text: String,
    },
    /// A firmware bundle must carry exactly one payload, `rootfs`.
    #[error("a firmware bundle carries exactly one payload named \"rootfs\", this one has {0}")]
    FirmwarePayloads(usize),
    /// A model bundle must carry at least one file.
    #[error("a model bundle carries no files")]
    NoPayloads,
    /// The payload sizes add up past 2^64 bytes.
    #[error("payload sizes overflow")]
    SizeOverflow,
}

/// The TOML shape, before the rules are checked.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    format: u32,
    kind: String,
    version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_version: Option<String>,
    boards: Vec<String>,
    created_unix_ms: u64,
    key_id: String,
    #[serde(default)]
    payload: Vec<RawPayload>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    name: String,
    size: u64,
    sha256: String,
}

impl BundleManifest {
    /// Parses and checks manifest TOML.
    pub fn parse(text: &str) -> Result<BundleManifest, ManifestError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ManifestError::BadToml(one_line(&e.to_string())))?;
        match table.get("format") {
            Some(toml::Value::Integer(n)) if *n == i64::from(FORMAT) => {}
            Some(other) => return Err(ManifestError::UnknownFormat(other.to_string())),
            None => return Err(ManifestError::UnknownFormat("(missing)".into())),
        }
        let raw: RawManifest = table
            .try_into()
            .map_err(|e: toml::de::Error| ManifestError::BadToml(one_line(&e.to_string())))?;
        let version = |field, text: &str| {
            Version::parse(text).map_err(|source| ManifestError::BadVersion { field, source })
        };
        let mut payloads = Vec::with_capacity(raw.payload.len());
        for p in raw.payload {
            let mut sha256 = [0u8; 32];
            if !decode_hex(&p.sha256, &mut sha256) {
                return Err(ManifestError::BadHash {
                    name: p.name,
                    text: p.sha256,
                });
            }
            payloads.push(PayloadEntry {
                name: p.name,
                size: p.size,
                sha256,
            });
        }
        let manifest = BundleManifest {
            kind: raw.kind.parse()?,
            version: version("version", &raw.version)?,
            min_version: raw
                .min_version
                .as_deref()
                .map(|t| version("min_version", t))
                .transpose()?,
            boards: raw.boards,
            created_unix_ms: raw.created_unix_ms,
            key_id: KeyId::from_hex(&raw.key_id).ok_or(ManifestError::BadKeyId(raw.key_id))?,
            payloads,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest as TOML (what gets signed). Checks the rules first.
    pub fn to_toml(&self) -> Result<String, ManifestError> {
        self.validate()?;
        let raw = RawManifest {
            format: FORMAT,
            kind: self.kind.as_str().to_string(),
            version: self.version.to_string(),
            min_version: self.min_version.map(|v| v.to_string()),
            boards: self.boards.clone(),
            created_unix_ms: self.created_unix_ms,
            key_id: self.key_id.to_string(),
            payload: self
                .payloads
                .iter()
                .map(|p| RawPayload {
                    name: p.name.clone(),
                    size: p.size,
                    sha256: encode_hex(&p.sha256),
                })
                .collect(),
        };
        toml::to_string(&raw).map_err(|e| ManifestError::BadToml(one_line(&e.to_string())))
    }

    /// Checks every rule: boards, payload names for the kind, no duplicates,
    /// sizes that add up.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.boards.is_empty() {
            return Err(ManifestError::EmptyBoards);
        }
        for board in &self.boards {
            let ok = !board.is_empty()
                && board.len() <= 64
                && board.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !ok {
                return Err(ManifestError::BadBoard(board.clone()));
            }
        }
        match self.kind {
            BundleKind::Firmware => {
                if self.payloads.len() != 1 {
                    return Err(ManifestError::FirmwarePayloads(self.payloads.len()));
                }
                if self.payloads[0].name != ROOTFS_PAYLOAD {
                    return Err(ManifestError::BadPayloadName {
                        name: self.payloads[0].name.clone(),
                        reason: "a firmware bundle's payload is named \"rootfs\"",
                    });
                }
            }
            BundleKind::Model => {
                if self.payloads.is_empty() {
                    return Err(ManifestError::NoPayloads);
                }
                for p in &self.payloads {
                    check_relative_path(&p.name)?;
                }
            }
        }
        let mut names = BTreeSet::new();
        for p in &self.payloads {
            if !names.insert(p.name.as_str()) {
                return Err(ManifestError::DuplicatePayload(p.name.clone()));
            }
        }
        // A name may not also be a directory of another name ("a" and "a/b").
        for name in &names {
            let mut prefix = *name;
            while let Some(cut) = prefix.rfind('/') {
                prefix = &prefix[..cut];
                if names.contains(prefix) {
                    return Err(ManifestError::BadPayloadName {
                        name: prefix.to_string(),
                        reason: "it is also the directory of another payload",
                    });
                }
            }
        }
        self.total_size().ok_or(ManifestError::SizeOverflow)?;
        Ok(())
    }

    /// Sum of the payload sizes, `None` on overflow.
    pub fn total_size(&self) -> Option<u64> {
        self.payloads
            .iter()
            .try_fold(0u64, |sum, p| sum.checked_add(p.size))
    }
}

/// Checks that a model payload name is a safe relative path: `/`-separated
/// components that are not empty, `.` or `..`, no backslash or control
/// characters, at most [`MAX_PAYLOAD_NAME`] bytes.
pub fn check_relative_path(name: &str) -> Result<(), ManifestError> {
    let bad = |reason| {
        Err(ManifestError::BadPayloadName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_PAYLOAD_NAME {
        return bad("longer than 255 bytes");
    }
    if name.starts_with('/') {
        return bad("absolute path");
    }
    if name.contains('\\') || name.chars().any(char::is_control) {
        return bad("backslash or control character");
    }
    for component in name.split('/') {
        match component {
            "" => return bad("empty path component"),
            "." | ".." => return bad("\".\" or \"..\" component"),
            _ => {}
        }
    }
    Ok(())
}

/// Folds a multi-line parser message onto one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
