//! The updater's states, the events that move it and the actions it asks
//! for, and the record persisted on the data partition.
//!
//! Owns only the data types; the transitions are in
//! [`step`](mod@crate::updater::step), the file in
//! [`super::record_file`](crate::updater::record_file).

use crate::slot::Slot;

/// Where a firmware update stands. Persisted (in [`UpdateRecord`]) at every
/// change, before the action that the change announces.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum UpdateState {
    /// No update under way and none reported since the last one was cleared.
    Idle,
    /// The bundle is being fetched onto the data partition.
    Downloading {
        /// The version being installed.
        version: String,
        /// The slot it will be written into (the one not running).
        target: Slot,
    },
    /// The downloaded bundle's signature, board and version are being checked.
    Verifying {
        /// The version being installed.
        version: String,
        /// The slot it will be written into.
        target: Slot,
    },
    /// The rootfs payload is streaming into the target slot, which the boot
    /// environment already marks as not bootable.
    Writing {
        /// The version being installed.
        version: String,
        /// The slot being written.
        target: Slot,
    },
    /// The slot is written and synced; the boot environment is being told to
    /// try it next.
    Switching {
        /// The version being installed.
        version: String,
        /// The slot to try.
        target: Slot,
    },
    /// The boot environment tries the target next; the terminal reboots.
    Rebooting {
        /// The version being installed.
        version: String,
        /// The slot to try.
        target: Slot,
    },
    /// The new system booted and runs its health check (first boot, or a
    /// later try after a failed check).
    Testing {
        /// The version being installed.
        version: String,
        /// The slot on trial.
        target: Slot,
        /// Health checks failed so far on this slot.
        failures: u8,
        /// The last failed check's reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_failure: Option<String>,
    },
    /// The new system passed its health check and marked its slot good; the
    /// other slot keeps the previous system as the fallback.
    Committed {
        /// The version now running.
        version: String,
        /// The slot it runs from.
        slot: Slot,
    },
    /// The update stopped before the switch; the running system is unchanged
    /// and the target slot is marked not bootable.
    Failed {
        /// The version that was being installed, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// Why it stopped.
        reason: String,
    },
    /// The new system did not prove healthy and the bootloader brought back
    /// the previous one, which now runs; the failed slot is marked bad.
    RolledBack {
        /// The version that failed.
        version: String,
        /// The slot that failed.
        failed_slot: Slot,
        /// Why it is considered failed.
        reason: String,
    },
}

impl UpdateState {
    /// Whether no update is under way (a new one may start).
    pub fn is_settled(&self) -> bool {
        matches!(
            self,
            UpdateState::Idle
                | UpdateState::Committed { .. }
                | UpdateState::Failed { .. }
                | UpdateState::RolledBack { .. }
        )
    }

    /// The state's name as `status` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            UpdateState::Idle => "idle",
            UpdateState::Downloading { .. } => "downloading",
            UpdateState::Verifying { .. } => "verifying",
            UpdateState::Writing { .. } => "writing",
            UpdateState::Switching { .. } => "switching",
            UpdateState::Rebooting { .. } => "rebooting",
            UpdateState::Testing { .. } => "testing",
            UpdateState::Committed { .. } => "committed",
            UpdateState::Failed { .. } => "failed",
            UpdateState::RolledBack { .. } => "rolled_back",
        }
    }
}

/// What is persisted: the state and when it was entered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRecord {
    /// Record format version (1).
    pub format: u32,
    /// When the state was entered, Unix milliseconds.
    pub since_unix_ms: u64,
    /// The state.
    pub update: UpdateState,
}

impl Default for UpdateRecord {
    /// No record on disk yet: idle since the epoch.
    fn default() -> Self {
        UpdateRecord {
            format: 1,
            since_unix_ms: 0,
            update: UpdateState::Idle,
        }
    }
}

/// Something that happened, fed to [`step`](crate::updater::step::step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The updater started after a boot of `slot` (read from the kernel
    /// command line's `keel.slot=`).
    Booted {
        /// The slot running now.
        slot: Slot,
    },
    /// Install `version` (the schedule already allowed it).
    Start {
        /// The version offered.
        version: String,
    },
    /// The bundle is on the data partition, complete and synced.
    DownloadDone,
    /// The download failed for good.
    DownloadFailed(String),
    /// The bundle's header verified against the install policy.
    Verified,
    /// The bundle was refused; the reason.
    VerifyFailed(String),
    /// The payload is written into the target slot, hashes matched, synced.
    WriteDone,
    /// Writing the slot failed; the reason.
    WriteFailed(String),
    /// The boot environment now tries the target slot first.
    Switched,
    /// The running system passed its health check.
    HealthPassed,
    /// The running system failed its health check; the reason.
    HealthFailed(String),
    /// A technician or the terminal abandons the update under way (only
    /// before the reboot into the new system).
    Cancel,
}

/// What the updater asks its host to do, in order. Each action that writes
/// must be durable (fsynced) before the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Store the record returned with these actions.
    Persist,
    /// Fetch (or resume fetching) the bundle; answer `DownloadDone` or
    /// `DownloadFailed`.
    Download,
    /// Verify the downloaded bundle; answer `Verified` or `VerifyFailed`.
    Verify,
    /// Stream the payload into the slot; answer `WriteDone` or `WriteFailed`.
    WriteSlot(Slot),
    /// Boot environment: the slot is not bootable (no tries, back of the order).
    MarkBad(Slot),
    /// Boot environment: try the slot first with every try; answer `Switched`.
    SwitchTo(Slot),
    /// Boot environment: the slot is good (every try back).
    MarkGood(Slot),
    /// Run the health check of the running system; answer `HealthPassed` or
    /// `HealthFailed`.
    CheckHealth,
    /// Delete the downloaded bundle from the data partition (nothing to do
    /// when it is already gone).
    DiscardDownload,
    /// Reboot the terminal.
    Reboot,
}
