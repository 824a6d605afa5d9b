//! Renders the cloud uplink's status for the console: `cloud status` and the
//! `sync` line of `status`. Reads only; never changes state or talks to the
//! cloud.

use super::reply::Reply;
use crate::cluster_runtime::ClusterStatus;
use crate::fields;
use crate::health::report::iso_utc;
use crate::node::Node;
use crate::uplink_runtime::{downlink, pending_of, session::describe, UplinkStatus};
use keel_uplink::UplinkMarks;
use serde_json::{json, Map, Value};

/// What every rendering needs, computed once.
struct View {
    marks: UplinkMarks,
    pending: Option<u64>,
    last_sync_ms: Option<u64>,
    downlink: u64,
}

fn view(node: &Node, cluster: Option<&ClusterStatus>, uplink: &UplinkStatus) -> View {
    let replicated = cluster.map(|c| c.uplink_marks.clone()).unwrap_or_default();
    let marks = uplink.best_marks(&replicated);
    let last_sync_ms = uplink
        .last_sync_ms
        .max((marks.acked_at_ms > 0).then_some(marks.acked_at_ms));
    View {
        pending: pending_of(node, &marks),
        last_sync_ms,
        downlink: marks.downlink.max(downlink::mark_of(node)),
        marks,
    }
}

fn marks_json(m: &UplinkMarks) -> Value {
    Value::Object(
        m.origins
            .iter()
            .map(|(t, o)| {
                (
                    t.0.to_string(),
                    json!({"bodies": o.bodies, "chain": o.chain}),
                )
            })
            .collect::<Map<_, _>>(),
    )
}

/// `cloud status`: the uplink as this terminal sees it (the leader's live
/// session, or on a follower the marks replicated through raft).
pub fn status(node: &Node, cluster: Option<&ClusterStatus>, uplink: &UplinkStatus) -> Reply {
    let v = view(node, cluster, uplink);
    let store_leader = cluster.and_then(|c| c.raft.as_ref()).and_then(|r| r.leader);
    let retry_in_ms = uplink
        .retry_at_ms
        .map(|t| t.saturating_sub(crate::uplink_runtime::now_ms()));
    let fields = fields! {
        "cloud" => uplink.cloud.map(|a| a.to_string()),
        "leader" => uplink.leader,
        "store_leader" => store_leader,
        "state" => uplink.state.as_str(),
        "pending" => v.pending,
        "last_sync" => v.last_sync_ms.map(iso_utc),
        "last_sync_ms" => v.last_sync_ms,
        "last_error" => uplink.last_error,
        "failed_syncs" => uplink.failed_syncs,
        "sync_errors" => uplink.failed_total,
        "batches_acked" => uplink.batches_acked,
        "records_acked" => uplink.records_acked,
        "duplicates" => uplink.duplicates,
        "downlink" => v.downlink,
        "publications_applied" => uplink.publications_applied,
        "marks" => marks_json(&v.marks),
        "resumed_from" => uplink.resumed_from.as_ref().map(marks_json),
        "retry_in_ms" => retry_in_ms,
    };
    let mut text = vec![
        format!(
            "cloud {} — {}, {}",
            uplink
                .cloud
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            uplink.state.as_str(),
            if uplink.leader {
                "this terminal uploads (store leader)".to_string()
            } else {
                match store_leader {
                    Some(l) => format!("T{l:02} uploads (store leader)"),
                    None => "no store leader known".to_string(),
                }
            }
        ),
        format!(
            "pending {}, last sync {}",
            v.pending
                .map(|p| p.to_string())
                .unwrap_or_else(|| "?".into()),
            v.last_sync_ms
                .map(iso_utc)
                .unwrap_or_else(|| "never".into())
        ),
        format!("the cloud holds: {}", describe(&v.marks)),
        format!(
            "downlink at publication {} ({} applied here since start)",
            v.downlink, uplink.publications_applied
        ),
        format!(
            "acked {} batches, {} records new, {} duplicates",
            uplink.batches_acked, uplink.records_acked, uplink.duplicates
        ),
    ];
    if let Some(r) = &uplink.resumed_from {
        text.push(format!("session resumed from: {}", describe(r)));
    }
    if uplink.failed_syncs > 0 || uplink.last_error.is_some() {
        text.push(format!(
            "{} failed syncs in a row ({} since start); last error: {}{}",
            uplink.failed_syncs,
            uplink.failed_total,
            uplink.last_error.as_deref().unwrap_or("-"),
            retry_in_ms
                .map(|ms| format!("; retry in {ms} ms"))
                .unwrap_or_default()
        ));
    }
    Reply::ok(fields, text)
}

/// The `sync` part of `status`: fields and one text line.
pub fn status_line(
    node: &Node,
    cluster: Option<&ClusterStatus>,
    uplink: &UplinkStatus,
) -> (Map<String, Value>, String) {
    let v = view(node, cluster, uplink);
    let fields = fields! {
        "sync_state" => uplink.state.as_str(),
        "pending_sync" => v.pending,
        "last_sync" => v.last_sync_ms.map(iso_utc),
    };
    let line = format!(
        "sync {}, {} pending, last {}",
        uplink.state.as_str(),
        v.pending
            .map(|p| p.to_string())
            .unwrap_or_else(|| "?".into()),
        v.last_sync_ms
            .map(iso_utc)
            .unwrap_or_else(|| "never".into())
    );
    (fields, line)
}
