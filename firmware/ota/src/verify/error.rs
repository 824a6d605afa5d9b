//! Every reason a bundle is refused, with the message an operator reads.
//!
//! Owns only the error type shared by header verification and installation;
//! it must not decide anything.

use crate::keys::KeyId;
use crate::manifest::{BundleKind, ManifestError};
use crate::version::Version;
use std::fmt;
use std::io;

/// Which part of a bundle a position falls in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The 8 magic bytes.
    Magic,
    /// The 4-byte manifest length.
    HeaderLength,
    /// The manifest text.
    Manifest,
    /// The 64-byte signature.
    Signature,
    /// A payload, by name.
    Payload(String),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Magic => f.write_str("magic"),
            Part::HeaderLength => f.write_str("header length"),
            Part::Manifest => f.write_str("manifest"),
            Part::Signature => f.write_str("signature"),
            Part::Payload(name) => write!(f, "payload {name:?}"),
        }
    }
}

/// Why a bundle was refused or its installation failed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading the bundle failed (not a short read: see `Truncated`).
    #[error("reading the bundle: {0}")]
    Io(io::Error),
    /// The first 8 bytes are not `KEELBND1`.
    #[error("not a Keel bundle: bad magic {} (expected \"KEELBND1\")", escaped(.found))]
    BadMagic {
        /// The bytes found.
        found: Vec<u8>,
    },
    /// The manifest length is over 64 KiB.
    #[error("manifest length {len} exceeds the limit of 65536 bytes")]
    HeaderTooLarge {
        /// The length the bundle gives.
        len: u32,
    },
    /// The manifest is not UTF-8.
    #[error("manifest is not UTF-8 (invalid byte at manifest offset {at})")]
    NotUtf8 {
        /// Offset of the first invalid byte in the manifest.
        at: usize,
    },
    /// The manifest text is malformed (TOML, format, version, boards, names...).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest names a key this terminal does not trust.
    #[error("bundle signed by unknown key {key_id} (not among the {trusted} trusted keys)")]
    UnknownKey {
        /// The manifest's key id.
        key_id: KeyId,
        /// How many keys the terminal trusts.
        trusted: usize,
    },
    /// The signature does not verify with the named key: tampered or corrupt.
    #[error("bad signature: header not signed by key {key_id} (tampered or corrupt bundle)")]
    BadSignature {
        /// The key that should have signed it.
        key_id: KeyId,
    },
    /// The bundle is not for this board.
    #[error("bundle is for boards {}, this terminal is {board}", .bundle_boards.join(", "))]
    WrongBoard {
        /// This terminal's board.
        board: String,
        /// The boards the bundle lists.
        bundle_boards: Vec<String>,
    },
    /// The bundle is older than what runs, and downgrades are not allowed.
    #[error("downgrade refused: bundle version {bundle} is older than the running {running}")]
    Downgrade {
        /// The bundle's version.
        bundle: Version,
        /// The running version.
        running: Version,
    },
    /// The bundle's version is the running one, and reinstalls are not allowed.
    #[error("version {version} is already installed (a reinstall needs allow_downgrade)")]
    AlreadyInstalled {
        /// The version.
        version: Version,
    },
    /// The running version is older than the bundle's `min_version`.
    #[error("running version {running} is older than {min}, the oldest version this bundle updates from")]
    RunningTooOld {
        /// The running version.
        running: Version,
        /// The bundle's min_version.
        min: Version,
    },
    /// The bundle is of another kind than the destination takes.
    #[error("this is a {found} bundle, the destination takes a {expected} bundle")]
    WrongKind {
        /// What the destination takes.
        expected: BundleKind,
        /// What the bundle is.
        found: BundleKind,
    },
    /// The bundle ends early.
    #[error("bundle truncated in the {part} at byte {offset}")]
    Truncated {
        /// The part that is cut short.
        part: Part,
        /// The bundle's length (where the bytes stop).
        offset: u64,
    },
    /// A payload's bytes do not hash to the manifest's SHA-256.
    #[error("payload {payload:?} is corrupt: SHA-256 {actual}, manifest says {expected}")]
    HashMismatch {
        /// The payload.
        payload: String,
        /// The manifest's hash, hex.
        expected: String,
        /// The hash of the bytes received, hex.
        actual: String,
    },
    /// There are bytes after the last payload.
    #[error("unexpected bytes after the last payload, at byte {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: u64,
    },
    /// The destination failed (opening, writing or syncing).
    #[error("writing {what}: {source}")]
    Sink {
        /// What was being written (`payload "rootfs"`, `commit`, ...).
        what: String,
        /// The cause.
        source: io::Error,
    },
}

/// Bytes as a quoted string, non-printable ones escaped.
fn escaped(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}
