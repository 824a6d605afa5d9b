//! OTA releases in the cloud: publishing a signed bundle (uploaded in chunks,
//! its header read and checked, its bytes hashed), rollout changes,
//! withdrawal, and serving a release's bytes to store leaders (who gets
//! which release is `release_offers`).
//!
//! Owns the release rules: a duplicate version per kind, board and channel is
//! refused; only published releases are served. Must not verify signatures (the terminals do, with their own
//! trusted keys) nor store anything itself (`store::release` does).

use crate::store::release::{Release, ReleaseState, CHUNK_BYTES};
use crate::store::{CloudStore, StoreError};
use keel_ota::verify::{parse_header, HeaderParse};
use keel_uplink::release::Channel;
use ring::digest::{Context, SHA256};
use thiserror::Error;

/// Why a release operation was refused.
#[derive(Debug, Error)]
pub enum ReleaseError {
    /// The bytes are not a readable bundle header (with the parser's reason).
    #[error("not a Keel bundle: {0}")]
    NotABundle(String),
    /// The file's size does not match its header and payload sizes.
    #[error("bundle is {got} bytes but its header says {want}")]
    WrongSize {
        /// Bytes uploaded.
        got: u64,
        /// Header plus payloads.
        want: u64,
    },
    /// The uploaded bytes do not hash to the announced SHA-256.
    #[error("uploaded bytes hash to {got}, not the announced {want}")]
    WrongHash {
        /// Hex of what was uploaded.
        got: String,
        /// Hex announced.
        want: String,
    },
    /// A chunk of the upload is missing.
    #[error("release {id}: chunk {index} was never uploaded")]
    MissingChunk {
        /// The release.
        id: u64,
        /// The chunk.
        index: u64,
    },
    /// The same version is already published for that kind, board and channel.
    #[error("{kind} {version} is already release {other} on {channel} for board {board}")]
    Duplicate {
        /// Kind.
        kind: String,
        /// Version.
        version: String,
        /// Channel.
        channel: Channel,
        /// The board both list.
        board: String,
        /// The release that has it.
        other: u64,
    },
    /// No such release.
    #[error("no release {0}")]
    Unknown(u64),
    /// The release is not in a state that allows this.
    #[error("release {id} is {state}: {what}")]
    WrongState {
        /// The release.
        id: u64,
        /// Its state.
        state: &'static str,
        /// What cannot be done.
        what: &'static str,
    },
    /// A bad argument (percentage, range, chunk size).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// What the header of a bundle says, as the cloud needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleFacts {
    /// `firmware` or `model`.
    pub kind: String,
    /// Version installed.
    pub version: String,
    /// Boards.
    pub boards: Vec<String>,
    /// Header plus payloads: the exact size of the bundle file.
    pub size: u64,
}

/// Reads the header at the start of `prefix` (format, kind, version, boards,
/// payload sizes); the signature is not checked (terminals do).
pub fn bundle_facts(prefix: &[u8]) -> Result<BundleFacts, ReleaseError> {
    match parse_header(prefix).map_err(|e| ReleaseError::NotABundle(e.to_string()))? {
        HeaderParse::NeedMore { total, part } => Err(ReleaseError::NotABundle(format!(
            "the file ends in its {part:?} ({} of {total} header bytes)",
            prefix.len()
        ))),
        HeaderParse::Complete(raw) => {
            let payloads = raw
                .manifest
                .total_size()
                .ok_or_else(|| ReleaseError::NotABundle("payload sizes overflow".into()))?;
            Ok(BundleFacts {
                kind: raw.manifest.kind.as_str().to_string(),
                version: raw.manifest.version.to_string(),
                boards: raw.manifest.boards.clone(),
                size: raw.len() + payloads,
            })
        }
    }
}

/// What the operator asks to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Facts read from the bundle by the publisher (checked again on finish).
    pub facts: BundleFacts,
    /// SHA-256 of the whole file.
    pub sha256: [u8; 32],
    /// Channel.
    pub channel: Channel,
    /// Rollout percentage.
    pub rollout: u8,
    /// Notes.
    pub notes: String,
}

fn find(store: &dyn CloudStore, id: u64) -> Result<Release, ReleaseError> {
    store
        .releases()?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(ReleaseError::Unknown(id))
}

fn check_percent(p: u8) -> Result<u8, ReleaseError> {
    if p > 100 {
        Err(ReleaseError::Invalid(format!("rollout {p}% is above 100%")))
    } else {
        Ok(p)
    }
}

/// A published (not withdrawn) release other than `id` with the same kind,
/// version and channel and a board in common.
fn duplicate(
    all: &[Release],
    id: u64,
    kind: &str,
    version: &str,
    boards: &[String],
    channel: Channel,
) -> Option<ReleaseError> {
    all.iter()
        .filter(|r| r.id != id && r.state == ReleaseState::Published)
        .filter(|r| r.kind == kind && r.version == version && r.channel == channel)
        .find_map(|r| {
            r.boards
                .iter()
                .find(|b| boards.contains(b))
                .map(|b| ReleaseError::Duplicate {
                    kind: kind.to_string(),
                    version: version.to_string(),
                    channel,
                    board: b.clone(),
                    other: r.id,
                })
        })
}

/// Starts a release upload (refused early when the version is a duplicate);
/// returns the release id the chunks go to.
pub fn begin(store: &dyn CloudStore, draft: &Draft, now_ms: u64) -> Result<u64, ReleaseError> {
    check_percent(draft.rollout)?;
    let f = &draft.facts;
    if let Some(e) = duplicate(
        &store.releases()?,
        0,
        &f.kind,
        &f.version,
        &f.boards,
        draft.channel,
    ) {
        return Err(e);
    }
    let release = Release {
        id: 0,
        kind: f.kind.clone(),
        version: f.version.clone(),
        boards: f.boards.clone(),
        channel: draft.channel,
        rollout: draft.rollout,
        notes: draft.notes.clone(),
        sha256: draft.sha256,
        size: f.size,
        state: ReleaseState::Uploading,
        created_ms: now_ms,
        published_ms: None,
        withdrawn_ms: None,
        fetched_chunks: 0,
        fetched_bytes: 0,
    };
    Ok(store.release_insert(&release)?)
}

/// Stores chunk `index` of an uploading release (every chunk but the last is
/// exactly [`CHUNK_BYTES`]).
pub fn put_chunk(
    store: &dyn CloudStore,
    id: u64,
    index: u64,
    bytes: &[u8],
) -> Result<(), ReleaseError> {
    let r = find(store, id)?;
    if r.state != ReleaseState::Uploading {
        return Err(ReleaseError::WrongState {
            id,
            state: r.state.as_str(),
            what: "its bytes cannot change",
        });
    }
    let chunks = r.size.div_ceil(CHUNK_BYTES as u64);
    let want = if index + 1 == chunks {
        r.size - index * CHUNK_BYTES as u64
    } else {
        CHUNK_BYTES as u64
    };
    if index >= chunks || bytes.len() as u64 != want {
        return Err(ReleaseError::Invalid(format!(
            "chunk {index} of {} bytes does not fit a {}-byte bundle in {CHUNK_BYTES}-byte chunks",
            bytes.len(),
            r.size
        )));
    }
    Ok(store.release_put_chunk(id, index, bytes)?)
}

/// Finishes an upload: reads the stored header again, checks the size and
/// the whole file's SHA-256 and the duplicate rule, then publishes.
pub fn finish(store: &dyn CloudStore, id: u64, now_ms: u64) -> Result<Release, ReleaseError> {
    let mut r = find(store, id)?;
    if r.state != ReleaseState::Uploading {
        return Err(ReleaseError::WrongState {
            id,
            state: r.state.as_str(),
            what: "it is not being uploaded",
        });
    }
    let chunks = r.size.div_ceil(CHUNK_BYTES as u64);
    let mut hash = Context::new(&SHA256);
    let mut got = 0u64;
    let mut facts = None;
    for index in 0..chunks {
        let bytes = store
            .release_chunk(id, index)?
            .ok_or(ReleaseError::MissingChunk { id, index })?;
        if index == 0 {
            facts = Some(bundle_facts(&bytes)?);
        }
        got += bytes.len() as u64;
        hash.update(&bytes);
    }
    let facts = facts.ok_or_else(|| ReleaseError::NotABundle("the file is empty".into()))?;
    if facts.size != got {
        return Err(ReleaseError::WrongSize {
            got,
            want: facts.size,
        });
    }
    let mut sha = [0u8; 32];
    sha.copy_from_slice(hash.finish().as_ref());
    if sha != r.sha256 {
        return Err(ReleaseError::WrongHash {
            got: keel_uplink::release::hex(&sha),
            want: keel_uplink::release::hex(&r.sha256),
        });
    }
    if let Some(e) = duplicate(
        &store.releases()?,
        id,
        &facts.kind,
        &facts.version,
        &facts.boards,
        r.channel,
    ) {
        return Err(e);
    }
    r.kind = facts.kind;
    r.version = facts.version;
    r.boards = facts.boards;
    r.state = ReleaseState::Published;
    r.published_ms = Some(now_ms);
    store.release_save(&r)?;
    log::info!(
        "release {id}: {} {} for {} on {} published at {}% ({} bytes)",
        r.kind,
        r.version,
        r.boards.join(","),
        r.channel,
        r.rollout,
        r.size
    );
    Ok(r)
}

/// Changes a published release's rollout percentage.
pub fn set_rollout(store: &dyn CloudStore, id: u64, percent: u8) -> Result<Release, ReleaseError> {
    let mut r = find(store, id)?;
    if r.state != ReleaseState::Published {
        return Err(ReleaseError::WrongState {
            id,
            state: r.state.as_str(),
            what: "only a published release has a rollout",
        });
    }
    r.rollout = check_percent(percent)?;
    store.release_save(&r)?;
    log::info!("release {id}: rollout now {percent}%");
    Ok(r)
}

/// Withdraws a release: no longer offered (installed terminals keep it).
pub fn withdraw(store: &dyn CloudStore, id: u64, now_ms: u64) -> Result<Release, ReleaseError> {
    let mut r = find(store, id)?;
    if r.state == ReleaseState::Withdrawn {
        return Ok(r);
    }
    r.state = ReleaseState::Withdrawn;
    r.withdrawn_ms = Some(now_ms);
    store.release_save(&r)?;
    log::info!("release {id}: withdrawn");
    Ok(r)
}

/// Bytes `offset..offset + len` of a published release, for a store (counted
/// as one fetched chunk).
pub fn fetch(
    store: &dyn CloudStore,
    id: u64,
    offset: u64,
    len: u32,
) -> Result<Vec<u8>, ReleaseError> {
    if len == 0 || len > keel_uplink::release::MAX_CHUNK {
        return Err(ReleaseError::Invalid(format!(
            "a fetch of {len} bytes; 1 to {} per request",
            keel_uplink::release::MAX_CHUNK
        )));
    }
    let r = find(store, id)?;
    if r.state != ReleaseState::Published {
        return Err(ReleaseError::WrongState {
            id,
            state: r.state.as_str(),
            what: "it is not offered",
        });
    }
    let end = offset.saturating_add(u64::from(len)).min(r.size);
    let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
    let mut at = offset;
    while at < end {
        let index = at / CHUNK_BYTES as u64;
        let chunk = store
            .release_chunk(id, index)?
            .ok_or(ReleaseError::MissingChunk { id, index })?;
        let from = (at - index * CHUNK_BYTES as u64) as usize;
        let upto = ((end - index * CHUNK_BYTES as u64) as usize).min(chunk.len());
        if from >= upto {
            return Err(ReleaseError::MissingChunk { id, index });
        }
        out.extend_from_slice(&chunk[from..upto]);
        at += (upto - from) as u64;
    }
    store.release_count_fetch(id, out.len() as u64)?;
    Ok(out)
}

/// A published firmware release for unit tests (of this module and of
/// `release_offers`).
#[cfg(test)]
pub(crate) fn test_release(id: u64, boards: &[&str], rollout: u8) -> Release {
    Release {
        id,
        kind: "firmware".into(),
        version: "1.2.0".into(),
        boards: boards.iter().map(|b| b.to_string()).collect(),
        channel: Channel::Stable,
        rollout,
        notes: String::new(),
        sha256: [0; 32],
        size: 10,
        state: ReleaseState::Published,
        created_ms: 0,
        published_ms: Some(0),
        withdrawn_ms: None,
        fetched_chunks: 0,
        fetched_bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::test_release as rel;
    use super::*;

    #[test]
    fn duplicates_need_a_common_board() {
        let all = [rel(1, &["qemu-x86_64"], 100)];
        let b = |x: &str| vec![x.to_string()];
        assert!(duplicate(
            &all,
            0,
            "firmware",
            "1.2.0",
            &b("qemu-x86_64"),
            Channel::Stable
        )
        .is_some());
        assert!(duplicate(
            &all,
            0,
            "firmware",
            "1.2.0",
            &b("generic-x86_64"),
            Channel::Stable
        )
        .is_none());
        assert!(duplicate(
            &all,
            0,
            "firmware",
            "1.2.0",
            &b("qemu-x86_64"),
            Channel::Beta
        )
        .is_none());
        assert!(duplicate(
            &all,
            0,
            "model",
            "1.2.0",
            &b("qemu-x86_64"),
            Channel::Stable
        )
        .is_none());
    }
}
