//! Health figures, alerts and the status view of the cloud.
//!
//! This module owns the alert rules (a store is `offline` when last heard from
//! more than an hour ago, has a `backlog` above 100 pending records, or
//! `sync-failures` above 5 failed syncs), the `/health` JSON and the `/status`
//! text table and JSON. It reads the store's status rows and the file system;
//! it must not write anything.

use crate::store::{DbHealth, StoreStatus};
use crate::Service;
use keel_core::receipt::format_utc;
use serde_json::{json, Value};
use std::path::Path;

/// A store is offline when last heard from longer ago than this.
pub const OFFLINE_AFTER_MS: u64 = 3_600_000;

/// A store has a backlog above this many pending records.
pub const BACKLOG_ABOVE: u64 = 100;

/// A store alerts on more failed syncs than this.
pub const FAILURES_ABOVE: u32 = 5;

/// Below this free disk percentage the service reports itself degraded.
pub const DISK_LOW_PCT: u8 = 5;

/// Something about a store that needs the operator's attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alert {
    /// Not heard from for more than an hour (or never).
    Offline,
    /// More than 100 records pending upload.
    Backlog,
    /// More than 5 failed syncs.
    SyncFailures,
}

impl Alert {
    /// The alert's name in the status view.
    pub fn name(self) -> &'static str {
        match self {
            Alert::Offline => "offline",
            Alert::Backlog => "backlog",
            Alert::SyncFailures => "sync-failures",
        }
    }
}

/// The alerts of one store at `now_ms` (cloud clock).
pub fn alerts(s: &StoreStatus, now_ms: u64) -> Vec<Alert> {
    let mut out = Vec::new();
    match s.last_seen_ms {
        Some(seen) if now_ms.saturating_sub(seen) <= OFFLINE_AFTER_MS => {}
        _ => out.push(Alert::Offline),
    }
    if s.pending > BACKLOG_ABOVE {
        out.push(Alert::Backlog);
    }
    if s.failed_syncs > FAILURES_ABOVE {
        out.push(Alert::SyncFailures);
    }
    out
}

/// Free space of the file system holding `path`, percent of its size (for
/// unprivileged users), or `None` when it cannot be read.
pub fn disk_free_pct(path: &Path) -> Option<u8> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own and reads a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 || st.f_blocks == 0 {
        return None;
    }
    let pct = (st.f_bavail as u128 * 100) / st.f_blocks as u128;
    Some(pct.min(100) as u8)
}

/// A time for people: `YYYY-MM-DD HH:MM` UTC and how long ago, or `never`.
pub fn time_text(ms: Option<u64>, now_ms: u64) -> String {
    match ms {
        None => "never".into(),
        Some(t) => format!("{} ({})", format_utc(t), ago(now_ms.saturating_sub(t))),
    }
}

fn ago(ms: u64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s}s ago")
    } else if s < 3600 {
        format!("{}m ago", s / 60)
    } else if s < 86_400 {
        format!("{}h ago", s / 3600)
    } else {
        format!("{}d ago", s / 86_400)
    }
}

/// The `/health` answer and whether the service is healthy (HTTP 200, else 503):
/// the database answers and the disk is not nearly full.
pub fn health(service: &Service, now_ms: u64) -> (Value, bool) {
    let db: DbHealth = service.store.health();
    let rows = service.store.status();
    let (stores, last_sync, pending, errors, alerted, status_error) = match &rows {
        Ok(rows) => (
            rows.len(),
            rows.iter().filter_map(|r| r.last_sync_ms).max(),
            rows.iter().map(|r| r.pending).sum::<u64>(),
            rows.iter().map(|r| r.errors).sum::<u64>(),
            rows.iter()
                .filter(|r| !alerts(r, now_ms).is_empty())
                .count(),
            None,
        ),
        Err(e) => (0, None, 0, 0, 0, Some(e.to_string())),
    };
    let disk = disk_free_pct(&service.dir);
    let ok = db.connected && status_error.is_none() && disk.is_none_or(|d| d >= DISK_LOW_PCT);
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "database": {
            "kind": db.kind,
            "connected": db.connected,
            "detail": db.detail,
        },
        "last_sync_ms": last_sync,
        "last_sync": last_sync.map(format_utc),
        "pending": pending,
        "errors": errors,
        "stores": stores,
        "stores_alerting": alerted,
        "disk": { "free_pct": disk },
        "uptime_s": service.started.elapsed().as_secs(),
        "error": status_error,
    });
    (body, ok)
}

/// One store of the status view as JSON.
fn store_json(s: &StoreStatus, now_ms: u64) -> Value {
    json!({
        "store": s.store.0,
        "leader": s.leader.map(|t| t.0),
        "last_sync_ms": s.last_sync_ms,
        "last_seen_ms": s.last_seen_ms,
        "pending": s.pending,
        "failed_syncs": s.failed_syncs,
        "errors": s.errors,
        "last_error": s.last_error,
        "disk_free_pct": s.disk_free_pct,
        "events": s.events,
        "flagged_for_review": s.flagged,
        "alerts": alerts(s, now_ms).iter().map(|a| a.name()).collect::<Vec<_>>(),
    })
}

/// The `/status.json` answer: every store with its figures and alerts.
pub fn status_json(rows: &[StoreStatus], now_ms: u64) -> Value {
    json!({
        "now_ms": now_ms,
        "stores": rows.iter().map(|s| store_json(s, now_ms)).collect::<Vec<_>>(),
    })
}

/// The `/status` answer: a text table of every store, then each store's last error.
pub fn status_text(rows: &[StoreStatus], now_ms: u64) -> String {
    if rows.is_empty() {
        return "no stores have connected yet\n".into();
    }
    let header = [
        "STORE",
        "LEADER",
        "LAST SYNC",
        "PENDING",
        "FAILED",
        "ERRORS",
        "EVENTS",
        "FLAGGED FOR REVIEW",
        "ALERTS",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for s in rows {
        let a: Vec<&str> = alerts(s, now_ms).iter().map(|a| a.name()).collect();
        table.push(vec![
            s.store.0.clone(),
            s.leader
                .map(|t| t.0.to_string())
                .unwrap_or_else(|| "-".into()),
            time_text(s.last_sync_ms, now_ms),
            s.pending.to_string(),
            s.failed_syncs.to_string(),
            s.errors.to_string(),
            s.events.to_string(),
            s.flagged.to_string(),
            if a.is_empty() {
                "-".into()
            } else {
                a.join(",")
            },
        ]);
    }
    let mut out = render_table(&table);
    let errors: Vec<&StoreStatus> = rows.iter().filter(|s| s.last_error.is_some()).collect();
    if !errors.is_empty() {
        out.push_str("\nlast errors:\n");
        for s in errors {
            out.push_str(&format!(
                "  {}: {}\n",
                s.store,
                s.last_error.as_deref().unwrap_or_default()
            ));
        }
    }
    out
}

/// Left-aligned columns separated by two spaces.
pub fn render_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|v| v.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, v) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(v);
            } else {
                line.push_str(&format!("{v:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::ids::{StoreId, TerminalId};

    fn row() -> StoreStatus {
        StoreStatus {
            store: StoreId("s1".into()),
            leader: Some(TerminalId(1)),
            last_sync_ms: Some(1_000),
            last_seen_ms: Some(1_000),
            pending: 0,
            failed_syncs: 0,
            errors: 0,
            last_error: None,
            disk_free_pct: Some(50),
            events: 3,
            flagged: 0,
        }
    }

    #[test]
    fn alerts_follow_the_thresholds() {
        let now = 1_000 + OFFLINE_AFTER_MS;
        assert!(alerts(&row(), now).is_empty());
        assert_eq!(alerts(&row(), now + 1), vec![Alert::Offline]);
        let never = StoreStatus {
            last_seen_ms: None,
            ..row()
        };
        assert_eq!(alerts(&never, 0), vec![Alert::Offline]);
        let busy = StoreStatus {
            pending: 101,
            failed_syncs: 6,
            ..row()
        };
        assert_eq!(
            alerts(&busy, 1_000),
            vec![Alert::Backlog, Alert::SyncFailures]
        );
        let edge = StoreStatus {
            pending: 100,
            failed_syncs: 5,
            ..row()
        };
        assert!(alerts(&edge, 1_000).is_empty());
    }

    #[test]
    fn status_text_lists_stores_alerts_and_errors() {
        let bad = StoreStatus {
            store: StoreId("s2".into()),
            pending: 500,
            last_error: Some("broken hash chain".into()),
            ..row()
        };
        let text = status_text(&[row(), bad], 2_000);
        assert!(text.starts_with("STORE"), "{text}");
        assert!(text.contains("backlog"), "{text}");
        assert!(text.contains("s2: broken hash chain"), "{text}");
        let v = status_json(&[row()], 2_000);
        assert_eq!(v["stores"][0]["store"], "s1");
        assert_eq!(v["stores"][0]["alerts"].as_array().unwrap().len(), 0);
        assert!(disk_free_pct(Path::new("/")).is_some());
    }
}
