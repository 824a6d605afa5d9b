//! The health report's content: from figures gathered by the server, the JSON
//! document `GET /health` answers, with `healthy` or `degraded` and the
//! reasons. Pure: it must not read clocks, files or the node itself.

use crate::cluster_runtime::ClusterStatus;
use crate::uplink_runtime::UplinkStatus;
use serde_json::{json, Value};

/// Below this free disk percentage the terminal reports itself degraded.
pub const DISK_LOW_PCT: u8 = 10;

/// More pending records than this (with a cloud configured) is degraded.
pub const PENDING_ALERT: u64 = 100;

/// More consecutive failed syncs than this is degraded.
pub const FAILED_SYNCS_ALERT: u32 = 5;

/// No sync for longer than this (with a cloud configured) is degraded.
pub const STALE_SYNC_MS: u64 = 3_600_000;

/// Everything the report is made of.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Store id.
    pub store: String,
    /// Terminal id.
    pub terminal: u32,
    /// Firmware version.
    pub firmware: String,
    /// The error of a cheap journal read, if it failed.
    pub database_error: Option<String>,
    /// Free disk on the data partition, percent.
    pub disk_free_pct: Option<u8>,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Wall clock now (ms).
    pub now_ms: u64,
    /// The cluster runtime's status, if this terminal has a cluster.
    pub cluster: Option<ClusterStatus>,
    /// The uplink's status, if a cloud is configured.
    pub uplink: Option<UplinkStatus>,
    /// Records the cloud does not hold in full (from the best marks known).
    pub pending: Option<u64>,
    /// When the store last synced (wall ms), as far as this terminal knows.
    pub last_sync_ms: Option<u64>,
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a wall clock in ms since the epoch.
pub fn iso_utc(ms: u64) -> String {
    let minutes = keel_core::receipt::format_utc(ms).replace(' ', "T");
    format!("{minutes}:{:02}Z", (ms / 1000) % 60)
}

/// The report and whether it is healthy.
pub fn report(f: &Figures) -> (bool, Value) {
    let mut reasons: Vec<String> = Vec::new();
    if let Some(e) = &f.database_error {
        reasons.push(format!("database: {e}"));
    }
    match f.disk_free_pct {
        Some(p) if p < DISK_LOW_PCT => reasons.push(format!("disk {p}% free")),
        Some(_) => {}
        None => reasons.push("disk free space unknown".into()),
    }
    let (role, leader, peers_up, peers) = match &f.cluster {
        Some(c) => {
            let raft = c.raft.as_ref();
            let leader = raft.and_then(|r| r.leader);
            if leader.is_none() {
                reasons.push("no store leader known (minority partition?)".into());
            }
            (
                raft.map(|r| format!("{:?}", r.role).to_lowercase())
                    .unwrap_or_else(|| "starting".into()),
                leader,
                Some(c.peers.iter().filter(|p| p.connected).count()),
                Some(c.peers.len()),
            )
        }
        None => ("standalone".to_string(), None, None, None),
    };
    if let Some(u) = &f.uplink {
        if u.failed_syncs > FAILED_SYNCS_ALERT {
            reasons.push(format!("{} failed syncs in a row", u.failed_syncs));
        }
        if let Some(p) = f.pending.filter(|p| *p > PENDING_ALERT) {
            reasons.push(format!("{p} records not yet in the cloud"));
        }
        let stale = match f.last_sync_ms {
            Some(t) => f.now_ms.saturating_sub(t) > STALE_SYNC_MS,
            None => f.uptime_s * 1000 > STALE_SYNC_MS,
        };
        if stale {
            reasons.push("no sync with the cloud for more than an hour".into());
        }
    }
    let healthy = reasons.is_empty();
    let database = f.database_error.clone().unwrap_or_else(|| "ok".into());
    let v = json!({
        "status": if healthy { "healthy" } else { "degraded" },
        "reasons": reasons,
        "store": f.store,
        "terminal": f.terminal,
        "firmware": f.firmware,
        "database": database,
        "last_sync": f.last_sync_ms.map(iso_utc),
        "pending_sync": f.pending,
        "sync_errors": f.uplink.as_ref().map(|u| u.failed_total),
        "failed_syncs": f.uplink.as_ref().map(|u| u.failed_syncs),
        "last_error": f.uplink.as_ref().and_then(|u| u.last_error.clone()),
        "sync_state": f.uplink.as_ref().map(|u| u.state.as_str()),
        "cloud": f.uplink.is_some(),
        "disk_free_pct": f.disk_free_pct,
        "role": role,
        "leader": leader,
        "peers_up": peers_up,
        "peers": peers,
        "uptime_s": f.uptime_s,
    });
    (healthy, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_standalone_and_degraded_with_reasons() {
        let f = Figures {
            store: "s".into(),
            terminal: 1,
            firmware: "0.1.0".into(),
            disk_free_pct: Some(50),
            uptime_s: 10,
            now_ms: 1_700_000_000_000,
            ..Figures::default()
        };
        let (ok, v) = report(&f);
        assert!(ok, "{v}");
        assert_eq!(v["status"], "healthy");
        assert_eq!(v["role"], "standalone");
        assert_eq!(v["last_sync"], Value::Null);
        let bad = Figures {
            database_error: Some("journal unreadable".into()),
            disk_free_pct: Some(3),
            uplink: Some(UplinkStatus {
                failed_syncs: 6,
                failed_total: 9,
                last_error: Some("refused".into()),
                ..UplinkStatus::default()
            }),
            pending: Some(101),
            last_sync_ms: Some(f.now_ms - STALE_SYNC_MS - 1),
            ..f.clone()
        };
        let (ok, v) = report(&bad);
        assert!(!ok);
        assert_eq!(v["status"], "degraded");
        assert_eq!(v["database"], "journal unreadable");
        assert_eq!(v["sync_errors"], 9);
        assert_eq!(v["pending_sync"], 101);
        assert_eq!(v["reasons"].as_array().unwrap().len(), 5, "{v}");
        assert_eq!(iso_utc(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert!(v["last_sync"].as_str().unwrap().ends_with('Z'));
    }
}
