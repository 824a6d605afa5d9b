//! The seed corpus: small, real inputs for every target, made by the code
//! that writes them in production or taken from the repository (recorded
//! console sessions and scanner streams, config, board and model files).
//! `cargo run -p keel-fuzz-targets --bin make-corpus` writes them to
//! `fuzz/corpus/<target>/`.
//!
//! This module owns what goes into the corpus. It must not run targets.

mod devices;
mod frame;
mod http;
mod identity;
mod journal;
mod ota;
mod text;
mod wire;

use std::path::{Path, PathBuf};
use thiserror::Error;

/// One seed: the target it is for, a file name and the bytes.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Target name (a [`crate::TARGETS`] entry).
    pub target: &'static str,
    /// File name in the target's corpus directory.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

impl Seed {
    fn new(target: &'static str, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
        Seed {
            target,
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// Errors making the seeds.
#[derive(Debug, Error)]
pub enum SeedError {
    /// A repository file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing a journal, bundle or environment through the production code failed.
    #[error("{what}: {reason}")]
    Produce {
        /// What was being made.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

impl SeedError {
    fn produce(what: &'static str, reason: impl ToString) -> SeedError {
        SeedError::Produce {
            what,
            reason: reason.to_string(),
        }
    }
}

/// Reads a repository file.
fn read(path: &Path) -> Result<Vec<u8>, SeedError> {
    std::fs::read(path).map_err(|source| SeedError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every seed. `root` is the workspace root; `key` is the PKCS#8 document of
/// the Ed25519 key the bundle seeds are signed with (a corpus-only key).
pub fn all(root: &Path, key: &[u8]) -> Result<Vec<Seed>, SeedError> {
    let mut out = Vec::new();
    out.extend(text::seeds(root)?);
    out.extend(journal::seeds()?);
    out.extend(wire::seeds()?);
    out.extend(devices::seeds(root)?);
    out.extend(ota::seeds(key)?);
    out.extend(frame::seeds(root)?);
    out.extend(frame::v4l2_seeds());
    out.extend(http::seeds());
    out.extend(identity::seeds(root)?);
    Ok(out)
}
