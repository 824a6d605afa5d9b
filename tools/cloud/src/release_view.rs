//! How releases and the stores' OTA progress read: the release list, one
//! release's rollout with each terminal's state, and the OTA columns and
//! alerts of the status view. Text and JSON; pure functions of stored rows
//! and the time.
//!
//! Alerts: an update failed on a terminal (its state is `failed`, or it
//! reports an error); a rollout stalls (a terminal in a published release's
//! rollout, on the store's channel, is not on its version 24 h after
//! publication). Must not read storage itself beyond what it is handed.

use crate::release_offers::channel_of;
use crate::status::{render_table, time_text};
use crate::store::release::{OtaRow, Release, ReleaseState};
use crate::store::{CloudStore, StoreError};
use keel_core::ids::StoreId;
use keel_uplink::release::{hex, in_rollout, Channel, TerminalOta};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A rollout older than this with a terminal not on its version is stalled.
pub const STALL_AFTER_MS: u64 = 24 * 3600 * 1000;

/// The release list as a table.
pub fn list_text(releases: &[Release], now_ms: u64) -> String {
    if releases.is_empty() {
        return "no releases\n".into();
    }
    let mut rows = vec![[
        "ID",
        "KIND",
        "VERSION",
        "BOARDS",
        "CHANNEL",
        "ROLLOUT",
        "STATE",
        "SIZE",
        "PUBLISHED",
        "FETCHED",
        "NOTES",
    ]
    .map(String::from)
    .to_vec()];
    for r in releases {
        rows.push(vec![
            r.id.to_string(),
            r.kind.clone(),
            r.version.clone(),
            r.boards.join(","),
            r.channel.to_string(),
            format!("{}%", r.rollout),
            r.state.as_str().into(),
            r.size.to_string(),
            time_text(r.published_ms, now_ms),
            format!("{} chunks / {} B", r.fetched_chunks, r.fetched_bytes),
            r.notes.clone(),
        ]);
    }
    render_table(&rows)
}

/// One release as JSON.
pub fn release_json(r: &Release) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind,
        "version": r.version,
        "boards": r.boards,
        "channel": r.channel.as_str(),
        "rollout": r.rollout,
        "state": r.state.as_str(),
        "sha256": hex(&r.sha256),
        "size": r.size,
        "notes": r.notes,
        "created_ms": r.created_ms,
        "published_ms": r.published_ms,
        "withdrawn_ms": r.withdrawn_ms,
        "fetched_chunks": r.fetched_chunks,
        "fetched_bytes": r.fetched_bytes,
    })
}

/// The version of `r`'s kind a terminal runs.
fn running<'a>(r: &Release, t: &'a TerminalOta) -> Option<&'a str> {
    if r.kind == "firmware" {
        Some(t.firmware.as_str())
    } else {
        t.model.as_deref()
    }
}

/// Whether a terminal's report says an update failed.
pub fn failed(t: &TerminalOta) -> bool {
    t.state == "failed" || t.last_error.is_some()
}

/// Terminals reported by stores on `r`'s channel that are in `r`'s rollout
/// (board and bucket), with the store.
fn in_release<'a>(
    r: &Release,
    rows: &'a [OtaRow],
    channels: &BTreeMap<StoreId, Channel>,
) -> Vec<&'a OtaRow> {
    rows.iter()
        .filter(|o| channels.get(&o.store) == Some(&r.channel))
        .filter(|o| r.boards.contains(&o.ota.board))
        .filter(|o| in_rollout(r.id, &o.store, o.ota.terminal, r.rollout))
        .collect()
}

/// The channel of every store that reported.
fn channels(
    store: &dyn CloudStore,
    rows: &[OtaRow],
) -> Result<BTreeMap<StoreId, Channel>, StoreError> {
    let mut out = BTreeMap::new();
    for o in rows {
        if !out.contains_key(&o.store) {
            out.insert(o.store.clone(), channel_of(store, &o.store)?);
        }
    }
    Ok(out)
}

fn terminal_json(o: &OtaRow, version: Option<&str>) -> Value {
    json!({
        "store": o.store.0,
        "terminal": o.ota.terminal.0,
        "board": o.ota.board,
        "running": version,
        "state": o.ota.state,
        "release": o.ota.release,
        "percent": o.ota.percent(),
        "last_error": o.ota.last_error,
        "seen_ms": o.seen_ms,
    })
}

/// `release status <id>`: the terminals in the release's rollout with their
/// state, as JSON (`terminals`, each `on_version`) and text.
pub fn release_status(
    store: &dyn CloudStore,
    r: &Release,
    now_ms: u64,
) -> Result<(Value, String), StoreError> {
    let rows = store.ota_rows(None)?;
    let ch = channels(store, &rows)?;
    let members = in_release(r, &rows, &ch);
    let mut table = vec![[
        "STORE", "TERMINAL", "RUNNING", "STATE", "PROGRESS", "ERROR", "SEEN",
    ]
    .map(String::from)
    .to_vec()];
    let mut terminals = Vec::new();
    for o in &members {
        let v = running(r, &o.ota);
        let on = v == Some(r.version.as_str());
        let mut j = terminal_json(o, v);
        j["on_version"] = json!(on);
        terminals.push(j);
        table.push(vec![
            o.store.0.clone(),
            o.ota.terminal.to_string(),
            v.unwrap_or("-").to_string(),
            if on {
                "on version".into()
            } else {
                o.ota.state.clone()
            },
            if o.ota.release == Some(r.id) {
                format!("{}%", o.ota.percent())
            } else {
                "-".into()
            },
            o.ota.last_error.clone().unwrap_or_default(),
            time_text(Some(o.seen_ms), now_ms),
        ]);
    }
    let on = terminals
        .iter()
        .filter(|t| t["on_version"] == json!(true))
        .count();
    let mut text = format!(
        "release {} {} {} on {} ({}%, {}): {} terminal(s) in the rollout, {on} on the version\n",
        r.id,
        r.kind,
        r.version,
        r.channel,
        r.rollout,
        r.state.as_str(),
        members.len()
    );
    if !members.is_empty() {
        text.push_str(&render_table(&table));
    }
    let mut j = release_json(r);
    j["terminals"] = json!(terminals);
    Ok((j, text))
}

/// One store's OTA summary for the status view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreOta {
    /// Firmware version -> terminals on it.
    pub versions: BTreeMap<String, u32>,
    /// Terminals with an update in progress: (terminal, state, percent).
    pub in_progress: Vec<(u32, String, u8)>,
    /// Terminals whose update failed: (terminal, reason).
    pub failed: Vec<(u32, String)>,
    /// Alerts (`update failed on T2: ...`, `rollout of release 3 stalled: T1 not on 1.2.0`).
    pub alerts: Vec<String>,
}

/// The OTA summary of every store that reported.
pub fn stores_ota(
    store: &dyn CloudStore,
    now_ms: u64,
) -> Result<BTreeMap<StoreId, StoreOta>, StoreError> {
    let rows = store.ota_rows(None)?;
    let ch = channels(store, &rows)?;
    let releases = store.releases()?;
    let mut out: BTreeMap<StoreId, StoreOta> = BTreeMap::new();
    for o in &rows {
        let s = out.entry(o.store.clone()).or_default();
        *s.versions.entry(o.ota.firmware.clone()).or_default() += 1;
        let t = &o.ota;
        if failed(t) {
            let why = t.last_error.clone().unwrap_or_else(|| "failed".into());
            s.alerts
                .push(format!("update failed on T{:02}: {why}", t.terminal.0));
            s.failed.push((t.terminal.0, why));
        } else if t.state != "idle" && t.state != "installed" && t.total > 0 {
            s.in_progress
                .push((t.terminal.0, t.state.clone(), t.percent()));
        }
    }
    for r in releases
        .iter()
        .filter(|r| r.state == ReleaseState::Published)
    {
        let Some(published) = r.published_ms else {
            continue;
        };
        if now_ms.saturating_sub(published) < STALL_AFTER_MS {
            continue;
        }
        for o in in_release(r, &rows, &ch) {
            if running(r, &o.ota) != Some(r.version.as_str()) {
                if let Some(s) = out.get_mut(&o.store) {
                    s.alerts.push(format!(
                        "rollout of release {} stalled: T{:02} not on {} {} after 24 h",
                        r.id, o.ota.terminal.0, r.kind, r.version
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The OTA part of the status view as text (nothing when no store reported).
pub fn ota_text(stores: &BTreeMap<StoreId, StoreOta>) -> String {
    if stores.is_empty() {
        return String::new();
    }
    let mut rows = vec![["STORE", "FIRMWARE", "IN PROGRESS", "FAILED", "OTA ALERTS"]
        .map(String::from)
        .to_vec()];
    for (id, s) in stores {
        rows.push(vec![
            id.0.clone(),
            s.versions
                .iter()
                .map(|(v, n)| format!("{v} x{n}"))
                .collect::<Vec<_>>()
                .join(", "),
            s.in_progress
                .iter()
                .map(|(t, st, p)| format!("T{t:02} {st} {p}%"))
                .collect::<Vec<_>>()
                .join(", "),
            s.failed
                .iter()
                .map(|(t, why)| format!("T{t:02}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
            s.alerts.len().to_string(),
        ]);
    }
    let mut text = format!("\nOTA\n{}", render_table(&rows));
    for (id, s) in stores {
        for a in &s.alerts {
            text.push_str(&format!("ALERT {id}: {a}\n"));
        }
    }
    text
}

/// The OTA part of the status view as JSON (store id -> summary).
pub fn ota_json(stores: &BTreeMap<StoreId, StoreOta>) -> Value {
    let mut m = serde_json::Map::new();
    for (id, s) in stores {
        m.insert(
            id.0.clone(),
            json!({
                "versions": s.versions,
                "in_progress": s.in_progress.iter().map(|(t, st, p)| json!({"terminal": t, "state": st, "percent": p})).collect::<Vec<_>>(),
                "failed": s.failed.iter().map(|(t, why)| json!({"terminal": t, "reason": why})).collect::<Vec<_>>(),
                "alerts": s.alerts,
            }),
        );
    }
    Value::Object(m)
}
