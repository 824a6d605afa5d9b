//! The sans-IO header parser: bytes in, "need more" or a parsed header out.
//!
//! Owns the checks that need no policy: magic, header length, UTF-8 and the
//! manifest's own rules. It must not read, check signatures or look at the
//! terminal's board or version (see `check`).

use super::error::{BundleError, Part};
use crate::bundle::{MAGIC, MAX_HEADER_LEN, PREFIX_LEN};
use crate::keys::{PublicKey, SIGNATURE_LEN};
use crate::manifest::BundleManifest;

/// A parsed header whose signature has not been checked yet.
#[derive(Debug, Clone)]
pub struct RawHeader {
    /// The manifest (well-formed, not yet trusted).
    pub manifest: BundleManifest,
    /// The manifest text as signed.
    pub manifest_text: String,
    /// The signature bytes.
    pub signature: [u8; SIGNATURE_LEN],
}

impl RawHeader {
    /// Bytes from the start of the bundle to the first payload byte.
    pub fn len(&self) -> u64 {
        (PREFIX_LEN + self.manifest_text.len() + SIGNATURE_LEN) as u64
    }

    /// Always false: a header has at least its magic.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `key` signed this header.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        let signed = crate::bundle::signed_bytes(self.manifest_text.as_bytes());
        key.verifies(&signed, &self.signature)
    }
}

/// What the parser made of the bytes so far.
#[derive(Debug, Clone)]
pub enum HeaderParse {
    /// The header is not complete: `total` bytes are needed, the next ones
    /// belonging to `part`.
    NeedMore {
        /// How many bytes from the start of the bundle the parser needs.
        total: usize,
        /// The part those bytes complete.
        part: Part,
    },
    /// The whole header is there and well-formed.
    Complete(RawHeader),
}

/// Parses the header at the start of `buf`. Bytes after the header are
/// ignored; `NeedMore` asks for a longer prefix.
pub fn parse_header(buf: &[u8]) -> Result<HeaderParse, BundleError> {
    let magic_seen = buf.len().min(MAGIC.len());
    if buf[..magic_seen] != MAGIC[..magic_seen] {
        return Err(BundleError::BadMagic {
            found: buf[..magic_seen].to_vec(),
        });
    }
    if buf.len() < MAGIC.len() {
        return Ok(need(MAGIC.len(), Part::Magic));
    }
    if buf.len() < PREFIX_LEN {
        return Ok(need(PREFIX_LEN, Part::HeaderLength));
    }
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(&buf[MAGIC.len()..PREFIX_LEN]);
    let header_len = u32::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_LEN {
        return Err(BundleError::HeaderTooLarge { len: header_len });
    }
    let manifest_end = PREFIX_LEN + header_len as usize;
    if buf.len() < manifest_end {
        return Ok(need(manifest_end, Part::Manifest));
    }
    let signature_end = manifest_end + SIGNATURE_LEN;
    if buf.len() < signature_end {
        return Ok(need(signature_end, Part::Signature));
    }
    let text =
        std::str::from_utf8(&buf[PREFIX_LEN..manifest_end]).map_err(|e| BundleError::NotUtf8 {
            at: e.valid_up_to(),
        })?;
    let manifest = BundleManifest::parse(text)?;
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(&buf[manifest_end..signature_end]);
    Ok(HeaderParse::Complete(RawHeader {
        manifest,
        manifest_text: text.to_string(),
        signature,
    }))
}

fn need(total: usize, part: Part) -> HeaderParse {
    HeaderParse::NeedMore { total, part }
}
