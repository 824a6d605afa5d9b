//! What the uplink runtime reports to the console and the health endpoint.
//! Plain data, written by the runtime and copied out by readers; this module
//! must not do I/O.

use keel_uplink::UplinkMarks;
use std::net::SocketAddr;

/// Where the uplink stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UplinkState {
    /// Not uploading: this terminal is not the store leader (or is stopping).
    #[default]
    Idle,
    /// Connecting to the cloud.
    Connecting,
    /// In a session with the cloud.
    Connected,
    /// Waiting before the next attempt after a failure.
    Backoff,
}

impl UplinkState {
    /// Lower-case name for the console and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            UplinkState::Idle => "idle",
            UplinkState::Connecting => "connecting",
            UplinkState::Connected => "connected",
            UplinkState::Backoff => "backoff",
        }
    }
}

/// A snapshot of the uplink.
#[derive(Clone, Debug, Default)]
pub struct UplinkStatus {
    /// The cloud's address.
    pub cloud: Option<SocketAddr>,
    /// Whether this terminal is the store leader (and so the one uploading).
    pub leader: bool,
    /// Session state.
    pub state: UplinkState,
    /// Records the cloud does not hold in full, as the leader last counted them
    /// (readers with the node recount from the marks; see `pending_of`).
    pub pending: u64,
    /// When the cloud last answered a sync (wall ms), if ever since start.
    pub last_sync_ms: Option<u64>,
    /// The last sync error.
    pub last_error: Option<String>,
    /// Failed sync attempts since the last success.
    pub failed_syncs: u32,
    /// Failed sync attempts since start.
    pub failed_total: u64,
    /// Batches the cloud acknowledged since start.
    pub batches_acked: u64,
    /// Records the cloud newly stored from those batches.
    pub records_acked: u64,
    /// Records the cloud already had (resent after a failure or by another leader).
    pub duplicates: u64,
    /// Newest publication applied by the store.
    pub downlink: u64,
    /// Publications this terminal applied since start.
    pub publications_applied: u64,
    /// The marks the cloud last acknowledged in this terminal's sessions.
    pub marks: UplinkMarks,
    /// The replicated marks the current (or last) session resumed from.
    pub resumed_from: Option<UplinkMarks>,
    /// When the next attempt is due (wall ms), while in backoff.
    pub retry_at_ms: Option<u64>,
}

impl UplinkStatus {
    /// The freshest marks a reader can know: the replicated ones merged with
    /// the ones this terminal's sessions saw acknowledged.
    pub fn best_marks(&self, replicated: &UplinkMarks) -> UplinkMarks {
        let mut m = replicated.clone();
        m.merge(&self.marks);
        m.downlink = m.downlink.max(self.downlink);
        m
    }
}
