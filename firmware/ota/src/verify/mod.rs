//! Bundle header verification: is this bundle well-formed, signed by a key
//! the terminal trusts, for this board and an allowed version?
//!
//! Owns the install policy and the decision on a header. The decision is
//! sans-IO ([`parse_header`] over bytes, [`check_header`] over a parsed header
//! and a policy); [`read_header`] is the thin reader around them and reads
//! exactly the header, never a payload byte. It must not write anything.

mod error;
mod parse;

pub use error::{BundleError, Part};
pub use parse::{parse_header, HeaderParse, RawHeader};

use crate::keys::PublicKey;
use crate::manifest::BundleManifest;
use crate::version::Version;
use std::cmp::Ordering;
use std::io::{self, Read};

/// What a terminal accepts.
#[derive(Debug, Clone)]
pub struct InstallPolicy {
    /// This terminal's board (`qemu-x86_64`, `raspberrypi4-64`, ...).
    pub board: String,
    /// The version running now (firmware, or the installed model).
    pub running: Version,
    /// Accept an older version, or the same one again.
    pub allow_downgrade: bool,
    /// The keys whose signatures are accepted.
    pub trusted: Vec<PublicKey>,
}

/// A header that passed every check: the payloads may now be written.
#[derive(Debug, Clone)]
pub struct VerifiedHeader {
    /// The signed manifest.
    pub manifest: BundleManifest,
    /// The trusted key that signed it.
    pub key: PublicKey,
    /// Bytes from the start of the bundle to the first payload byte.
    pub payload_offset: u64,
}

/// Checks a parsed header against the policy: the signing key is trusted,
/// the signature verifies, the board matches, the version is allowed.
pub fn check_header(raw: RawHeader, policy: &InstallPolicy) -> Result<VerifiedHeader, BundleError> {
    let manifest = &raw.manifest;
    let key = policy
        .trusted
        .iter()
        .find(|k| k.key_id() == manifest.key_id)
        .ok_or(BundleError::UnknownKey {
            key_id: manifest.key_id,
            trusted: policy.trusted.len(),
        })?;
    if !raw.signed_by(key) {
        return Err(BundleError::BadSignature {
            key_id: manifest.key_id,
        });
    }
    if !manifest.boards.contains(&policy.board) {
        return Err(BundleError::WrongBoard {
            board: policy.board.clone(),
            bundle_boards: manifest.boards.clone(),
        });
    }
    if let Some(min) = manifest.min_version {
        if policy.running < min {
            return Err(BundleError::RunningTooOld {
                running: policy.running,
                min,
            });
        }
    }
    match manifest.version.cmp(&policy.running) {
        Ordering::Less if !policy.allow_downgrade => {
            return Err(BundleError::Downgrade {
                bundle: manifest.version,
                running: policy.running,
            })
        }
        Ordering::Equal if !policy.allow_downgrade => {
            return Err(BundleError::AlreadyInstalled {
                version: manifest.version,
            })
        }
        _ => {}
    }
    Ok(VerifiedHeader {
        payload_offset: raw.len(),
        key: *key,
        manifest: raw.manifest,
    })
}

/// Reads exactly the header from `reader` (at most 64 KiB + 76 bytes) and
/// parses it, without checking signature or policy (for `inspect`).
pub fn read_raw_header(reader: &mut impl Read) -> Result<RawHeader, BundleError> {
    let mut buf = Vec::new();
    loop {
        match parse_header(&buf)? {
            HeaderParse::Complete(raw) => return Ok(raw),
            HeaderParse::NeedMore { total, part } => fill(reader, &mut buf, total, part)?,
        }
    }
}

/// Reads and verifies the header against `policy`. On success the reader is
/// positioned at the first payload byte.
pub fn read_header(
    reader: &mut impl Read,
    policy: &InstallPolicy,
) -> Result<VerifiedHeader, BundleError> {
    let raw = read_raw_header(reader)?;
    check_header(raw, policy)
}

/// Grows `buf` to `total` bytes from `reader`; a short read is `Truncated`
/// in `part` at the length actually read.
fn fill(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    total: usize,
    part: Part,
) -> Result<(), BundleError> {
    let mut have = buf.len();
    buf.resize(total, 0);
    while have < total {
        match reader.read(&mut buf[have..]) {
            Ok(0) => {
                // A short prefix that is already wrong says so (bad magic)
                // rather than "truncated".
                buf.truncate(have);
                parse_header(buf)?;
                return Err(BundleError::Truncated {
                    part,
                    offset: have as u64,
                });
            }
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BundleError::Io(e)),
        }
    }
    Ok(())
}
