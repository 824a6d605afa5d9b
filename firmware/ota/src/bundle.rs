//! The bundle's byte layout and the writer that makes signed bundles.
//!
//! ```text
//! magic        8 bytes   b"KEELBND1"
//! header_len   u32 LE    length of the manifest (at most 64 KiB)
//! manifest     header_len bytes of UTF-8 TOML
//! signature    64 bytes  Ed25519 over magic || header_len || manifest
//! payloads     concatenated in manifest order, exactly the sizes listed
//! ```
//!
//! Owns the layout constants and [`write_bundle`] (used by the `keel-bundle`
//! tool and by tests). Payloads are streamed twice (hash, then copy) with a
//! bounded buffer and never held whole in memory. It must not verify or
//! install bundles (see `verify` and `install`).

use crate::keys::{SigningKey, SIGNATURE_LEN};
use crate::manifest::{BundleKind, BundleManifest, ManifestError, PayloadEntry};
use crate::version::Version;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The first 8 bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"KEELBND1";
/// The largest manifest accepted, in bytes.
pub const MAX_HEADER_LEN: u32 = 64 * 1024;
/// Bytes before the manifest: magic and header length.
pub const PREFIX_LEN: usize = MAGIC.len() + 4;
/// Buffer size used when streaming payloads.
pub const COPY_BUFFER: usize = 64 * 1024;

/// The bytes the signature covers: magic, header length, manifest.
pub fn signed_bytes(manifest_toml: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(PREFIX_LEN + manifest_toml.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&(manifest_toml.len() as u32).to_le_bytes());
    bytes.extend_from_slice(manifest_toml);
    bytes
}

/// Where a payload's bytes come from when writing a bundle.
#[derive(Debug, Clone)]
pub enum PayloadData {
    /// A file, read twice (hash, then copy) and never loaded whole.
    File(PathBuf),
    /// Bytes in memory (tests, small files).
    Bytes(Vec<u8>),
}

/// One payload to put in a bundle.
#[derive(Debug, Clone)]
pub struct PayloadInput {
    /// Its manifest name (`rootfs`, or a relative path for a model).
    pub name: String,
    /// Its bytes.
    pub data: PayloadData,
}

/// The manifest fields the writer does not compute.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    /// What the bundle installs.
    pub kind: BundleKind,
    /// The version it installs.
    pub version: Version,
    /// The oldest running version allowed to install it.
    pub min_version: Option<Version>,
    /// Boards it runs on.
    pub boards: Vec<String>,
    /// When it was made (milliseconds since the Unix epoch).
    pub created_unix_ms: u64,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The manifest breaks a rule (bad name, no boards, ...).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest is larger than 64 KiB (too many payloads).
    #[error("manifest is {0} bytes, more than the 65536 allowed (too many payloads)")]
    HeaderTooLarge(usize),
    /// Reading a payload failed.
    #[error("payload {name:?}: {source}")]
    Payload {
        /// The payload.
        name: String,
        /// The cause.
        source: io::Error,
    },
    /// A payload file changed between hashing and copying.
    #[error("payload {0:?} changed while the bundle was being written")]
    Changed(String),
    /// Writing the bundle failed.
    #[error("writing the bundle: {0}")]
    Output(io::Error),
}

/// Writes a signed bundle of `payloads` to `out` and returns its manifest.
pub fn write_bundle(
    out: &mut dyn Write,
    key: &SigningKey,
    spec: &BundleSpec,
    payloads: &[PayloadInput],
) -> Result<BundleManifest, WriteError> {
    let mut entries = Vec::with_capacity(payloads.len());
    for p in payloads {
        let (size, sha256) = hash_payload(p, &mut io::sink())?;
        entries.push(PayloadEntry {
            name: p.name.clone(),
            size,
            sha256,
        });
    }
    let manifest = BundleManifest {
        kind: spec.kind,
        version: spec.version,
        min_version: spec.min_version,
        boards: spec.boards.clone(),
        created_unix_ms: spec.created_unix_ms,
        key_id: key.public_key().key_id(),
        payloads: entries,
    };
    let text = manifest.to_toml()?;
    if text.len() > MAX_HEADER_LEN as usize {
        return Err(WriteError::HeaderTooLarge(text.len()));
    }
    let signed = signed_bytes(text.as_bytes());
    let signature: [u8; SIGNATURE_LEN] = key.sign(&signed);
    out.write_all(&signed).map_err(WriteError::Output)?;
    out.write_all(&signature).map_err(WriteError::Output)?;
    for (p, entry) in payloads.iter().zip(&manifest.payloads) {
        let (size, sha256) = hash_payload(p, out)?;
        if size != entry.size || sha256 != entry.sha256 {
            return Err(WriteError::Changed(p.name.clone()));
        }
    }
    out.flush().map_err(WriteError::Output)?;
    Ok(manifest)
}

/// Writes a bundle to `path` atomically: a temporary file in the same
/// directory, fsynced, then renamed over `path`.
pub fn write_bundle_file(
    path: &Path,
    key: &SigningKey,
    spec: &BundleSpec,
    payloads: &[PayloadInput],
) -> Result<BundleManifest, WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    let partial = dir.join(name);
    let result = (|| {
        let file = File::create(&partial).map_err(WriteError::Output)?;
        let mut writer = io::BufWriter::with_capacity(COPY_BUFFER, file);
        let manifest = write_bundle(&mut writer, key, spec, payloads)?;
        let file = writer
            .into_inner()
            .map_err(|e| WriteError::Output(e.into_error()))?;
        file.sync_all().map_err(WriteError::Output)?;
        std::fs::rename(&partial, path).map_err(WriteError::Output)?;
        if let Ok(d) = File::open(&dir) {
            d.sync_all().map_err(WriteError::Output)?;
        }
        Ok(manifest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Streams one payload into `sink`, returning its size and SHA-256.
fn hash_payload(p: &PayloadInput, sink: &mut dyn Write) -> Result<(u64, [u8; 32]), WriteError> {
    let read_error = |source| WriteError::Payload {
        name: p.name.clone(),
        source,
    };
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    match &p.data {
        PayloadData::Bytes(bytes) => {
            context.update(bytes);
            sink.write_all(bytes).map_err(WriteError::Output)?;
            size = bytes.len() as u64;
        }
        PayloadData::File(path) => {
            let mut file = File::open(path).map_err(read_error)?;
            let mut buffer = vec![0u8; COPY_BUFFER];
            loop {
                let n = match file.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(read_error(e)),
                };
                context.update(&buffer[..n]);
                sink.write_all(&buffer[..n]).map_err(WriteError::Output)?;
                size += n as u64;
            }
        }
    }
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(context.finish().as_ref());
    Ok((size, sha256))
}
