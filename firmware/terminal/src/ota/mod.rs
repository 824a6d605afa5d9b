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

use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

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
    /// The channel's current offer, if any.
    pub offer: Option<OfferedRelease>,
}

/// The terminal's OTA service: cheap to clone (shared inside). Reach it
/// through `Node::ota()`.
#[derive(Clone)]
pub struct OtaService {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Mutex<Shared>,
}

struct Shared {
    offer: Option<OfferedRelease>,
    last: Option<LastResult>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        // A panic elsewhere left the plain data as it was: keep using it.
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl OtaService {
    /// A service with nothing offered and nothing installed yet.
    pub fn new() -> OtaService {
        OtaService {
            inner: Arc::new(Inner {
                shared: Mutex::new(Shared {
                    offer: None,
                    last: None,
                }),
            }),
        }
    }

    /// The channel offers a complete, checked bundle. It replaces any earlier
    /// offer and installs when the schedule allows (firmware only with
    /// `[ota] auto_install`; otherwise `ota install --offered`).
    pub fn offer(&self, release: OfferedRelease) {
        log::info!(
            "ota: offered {} {} ({}) from channel {}",
            release.kind,
            release.version,
            release.release_id,
            release.channel
        );
        lock(&self.inner.shared).offer = Some(release);
    }

    /// Where OTA stands now.
    pub fn status(&self) -> OtaStatus {
        let s = lock(&self.inner.shared);
        OtaStatus {
            running_version: crate::node::FIRMWARE_VERSION.to_string(),
            running_slot: None,
            other_slot_version: None,
            state: "idle".to_string(),
            state_version: None,
            progress: None,
            last_result: s.last.clone(),
            models: Vec::new(),
            offer: s.offer.clone(),
        }
    }
}

impl Default for OtaService {
    fn default() -> Self {
        OtaService::new()
    }
}
