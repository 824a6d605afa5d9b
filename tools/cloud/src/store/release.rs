//! Storage of OTA releases: the release rows, their bundle bytes in chunks of
//! [`CHUNK_BYTES`], fetch counters, and the last OTA report of every terminal.
//!
//! Owns the shapes and the primitive operations both backends implement with
//! the same answers. Must not decide who gets a release, check a bundle or
//! hash its bytes: `crate::release` does that on top of these primitives.

use super::StoreError;
use keel_core::ids::StoreId;
use keel_uplink::release::{Channel, TerminalOta};
use serde::{Deserialize, Serialize};

/// Size of every stored chunk of a bundle but the last.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Where a release stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleaseState {
    /// Its bytes are arriving; not offered.
    Uploading,
    /// Offered to the stores of its channel (within its rollout).
    Published,
    /// No longer offered (terminals that installed it keep it).
    Withdrawn,
}

impl ReleaseState {
    /// The spelling in listings and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Uploading => "uploading",
            ReleaseState::Published => "published",
            ReleaseState::Withdrawn => "withdrawn",
        }
    }
}

/// A release as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Its id (from 1, never reused).
    pub id: u64,
    /// `firmware` or `model`.
    pub kind: String,
    /// The version the bundle installs.
    pub version: String,
    /// Boards the bundle runs on.
    pub boards: Vec<String>,
    /// Its channel.
    pub channel: Channel,
    /// Rollout percentage, 0..=100.
    pub rollout: u8,
    /// Operator's notes.
    pub notes: String,
    /// SHA-256 of the whole bundle file.
    pub sha256: [u8; 32],
    /// Size of the whole bundle file.
    pub size: u64,
    /// Where it stands.
    pub state: ReleaseState,
    /// When the upload began, ms since the epoch.
    pub created_ms: u64,
    /// When it was published (its bytes complete and checked).
    pub published_ms: Option<u64>,
    /// When it was withdrawn.
    pub withdrawn_ms: Option<u64>,
    /// Chunks served to stores (all ingest nodes together).
    pub fetched_chunks: u64,
    /// Bytes served to stores.
    pub fetched_bytes: u64,
}

/// A terminal's last OTA report, as the status view reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtaRow {
    /// Its store.
    pub store: StoreId,
    /// The report.
    pub ota: TerminalOta,
    /// When the cloud received it, ms since the epoch.
    pub seen_ms: u64,
}

/// Release storage; every method is one transaction.
pub trait ReleaseStore: Send + Sync {
    /// Adds a release in state `Uploading` (its `id`, counters and state are
    /// assigned here); returns its id.
    fn release_insert(&self, release: &Release) -> Result<u64, StoreError>;

    /// Stores chunk `index` of a release's bundle (replacing one already there).
    fn release_put_chunk(&self, id: u64, index: u64, bytes: &[u8]) -> Result<(), StoreError>;

    /// Chunk `index` of a release's bundle, if stored.
    fn release_chunk(&self, id: u64, index: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every release, by id.
    fn releases(&self) -> Result<Vec<Release>, StoreError>;

    /// Writes a release's row (all but its id and fetch counters).
    fn release_save(&self, release: &Release) -> Result<(), StoreError>;

    /// Counts one chunk of `bytes` served from a release.
    fn release_count_fetch(&self, id: u64, bytes: u64) -> Result<(), StoreError>;

    /// Keeps the newest OTA report of each terminal in `reports`.
    fn record_ota(
        &self,
        store: &StoreId,
        reports: &[TerminalOta],
        now_ms: u64,
    ) -> Result<(), StoreError>;

    /// The last OTA report of every terminal (of one store or all), by store and terminal.
    fn ota_rows(&self, store: Option<&StoreId>) -> Result<Vec<OtaRow>, StoreError>;
}

/// Encodes a release for storage (version byte + postcard).
pub(super) fn encode_release(r: &Release) -> Vec<u8> {
    // Plain owned data into a Vec cannot fail; empty bytes are refused on read.
    postcard::to_extend(r, vec![1u8]).unwrap_or_default()
}

/// Reads [`encode_release`]'s output.
pub(super) fn decode_release(bytes: &[u8]) -> Result<Release, StoreError> {
    match bytes.split_first() {
        Some((1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Corrupt(format!("release row: {e}")))
        }
        _ => Err(StoreError::Corrupt("release row: unknown version".into())),
    }
}

/// Encodes an OTA report for storage.
pub(super) fn encode_ota(o: &TerminalOta) -> Vec<u8> {
    // As above: cannot fail.
    postcard::to_extend(o, vec![1u8]).unwrap_or_default()
}

/// Reads [`encode_ota`]'s output.
pub(super) fn decode_ota(bytes: &[u8]) -> Result<TerminalOta, StoreError> {
    match bytes.split_first() {
        Some((1, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Corrupt(format!("OTA report: {e}")))
        }
        _ => Err(StoreError::Corrupt("OTA report: unknown version".into())),
    }
}
