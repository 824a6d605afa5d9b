//! Over-the-air updates inside the terminal: the node's [`OtaService`], which
//! takes offered releases (from the OTA channel) and local bundles (from the
//! console), installs firmware bundles through keel-ota's updater into the
//! inactive A/B slot and model bundles into the inactive model directory, and
//! reports where things stand ([`OtaStatus`]).
//!
//! This module owns the service's shared state and its public contract with
//! the channel (`offer`, `status`). It must not decide the update's rules (the
//! updater state machine, the bundle verifier and the install schedule are in
//! keel-ota) nor fetch bundles from the network (the channel does).

pub mod firmware;
pub mod health_probe;
pub mod host;
pub mod layout;
pub mod local_time;
pub mod logged_sink;
pub mod models_ab;
mod rollback;
mod service;
pub mod stage;
mod status;
mod worker;

pub use service::{InstallAccepted, InstallRequest, OtaRefusal, OtaService, OtaStart};

use serde::Serialize;
use std::path::PathBuf;

/// A release the OTA channel downloaded completely (whole-file SHA-256
/// checked) into `<data-dir>/ota/bundles/<sha256>.keelb`, offered for install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferedRelease {
    /// The bundle file on the data partition.
    pub path: PathBuf,
    /// The cloud's release id.
    pub release_id: String,
    /// The release's version (MAJOR.MINOR.PATCH).
    pub version: String,
    /// "firmware" or "model".
    pub kind: String,
    /// Lowercase hex SHA-256 of the whole bundle file.
    pub sha256: String,
    /// The channel it came from ("stable", "beta").
    pub channel: String,
}

/// Bytes written of the payload being installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProgressView {
    /// Bytes written so far.
    pub written: u64,
    /// Bytes in all.
    pub total: u64,
}

/// The outcome of the last firmware or model install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastResult {
    /// "firmware" or "model".
    pub kind: String,
    /// "committed", "installed", "failed", "rolled_back", "refused".
    pub result: String,
    /// The version concerned, when known.
    pub version: Option<String>,
    /// Why it failed or was refused (None on success).
    pub reason: Option<String>,
    /// When it ended, Unix milliseconds.
    pub at_unix_ms: u64,
}

/// One model's A/B directories: which is active and the versions they hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSlots {
    /// The model's kind (directory name, e.g. "loss-prevention").
    pub kind: String,
    /// The active directory's letter ("a" or "b"), None before the first A/B use.
    pub active: Option<String>,
    /// The version in `<kind>.a`, if present.
    pub a_version: Option<String>,
    /// The version in `<kind>.b`, if present.
    pub b_version: Option<String>,
}

/// What `ota status --json` prints and the channel reports to the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtaStatus {
    /// The firmware version running.
    pub running_version: String,
    /// The slot running ("A" or "B"), None when the board has no A/B slots.
    pub running_slot: Option<String>,
    /// The version in the other slot, when known.
    pub other_slot_version: Option<String>,
    /// The firmware updater's state name ("idle", "writing", "testing", ...).
    pub state: String,
    /// The version the updater works on, if any.
    pub state_version: Option<String>,
    /// Payload bytes written of total while writing (firmware or model).
    pub progress: Option<ProgressView>,
    /// The last result, with its reason.
    pub last_result: Option<LastResult>,
    /// The models' A/B directories.
    pub models: Vec<ModelSlots>,
    /// The channel's offers (at most one firmware release), oldest first.
    pub offers: Vec<OfferedRelease>,
    /// Why firmware OTA is off on this terminal (None: it is on).
    pub firmware_off: Option<String>,
    /// The board name bundles are checked against.
    pub board: String,
}
