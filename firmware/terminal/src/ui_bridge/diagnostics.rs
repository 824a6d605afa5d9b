//! The technician page's read-only diagnostics: firmware, identity, data
//! directory and journal head, the last chain verification, cluster peers,
//! the uplink, printer, scanner and AI model. Built from the node (locked by
//! the caller for one snapshot) and the runtimes' statuses copied out before;
//! the chain is verified only when the screen asks ([`verify_chain`], on
//! `UiAction::Diagnose`), never on every snapshot. Must not write or wait on
//! a runtime.

use super::screen::{Outside, Screen};
use super::snapshot::{ChainCheckView, DiagnosticsView, PeerDiagView, StatusBar};
use crate::node::{Node, FIRMWARE_VERSION};

/// Verifies this terminal's journal chain from the first record to the head.
pub fn verify_chain(node: &Node, now_ms: u64) -> ChainCheckView {
    match node.journal().verify() {
        Ok(s) => ChainCheckView {
            ok: true,
            records: s.records,
            detail: format!("head {}", s.head.hex()),
            at_ms: now_ms,
        },
        Err(e) => {
            log::warn!("ui: journal verification failed: {e}");
            ChainCheckView {
                ok: false,
                records: 0,
                detail: e.to_string(),
                at_ms: now_ms,
            }
        }
    }
}

/// The printer in one line: its state, port, queue and last error.
fn printer(outside: &Outside) -> String {
    match &outside.printer {
        None => "none".into(),
        Some(p) => {
            let mut s = format!(
                "{} on {}, {} waiting, {} printed",
                crate::console::devices::printer_state(p),
                p.port,
                p.pending,
                p.printed
            );
            if let Some(e) = &p.last_error {
                s.push_str(&format!(", last error: {e}"));
            }
            s
        }
    }
}

/// The diagnostics for one snapshot; `status` is the snapshot's status bar
/// (cluster text, pending and sync age are taken from it, so both agree).
pub fn build(
    node: &Node,
    screen: &Screen,
    outside: &Outside,
    status: &StatusBar,
) -> DiagnosticsView {
    let journal = node.journal();
    let cluster = outside.cluster.as_ref();
    let uplink = outside.uplink.as_ref();
    DiagnosticsView {
        firmware: FIRMWARE_VERSION.to_string(),
        terminal: node.profile.terminal.to_string(),
        store_id: node.state.store.0.clone(),
        data_dir: node.data_dir().display().to_string(),
        journal_last_seq: journal.last_seq(),
        journal_head: journal.head().hex(),
        chain: screen.chain.clone(),
        cluster: status.cluster_text.clone(),
        raft: cluster.and_then(|c| c.raft.as_ref()).map(|r| {
            format!(
                "term {}, {}",
                r.term,
                format!("{:?}", r.role).to_lowercase()
            )
        }),
        peers: cluster
            .map(|c| {
                c.peers
                    .iter()
                    .map(|p| PeerDiagView {
                        terminal: p.id.to_string(),
                        addr: p.addr.map(|a| a.to_string()),
                        connected: p.connected,
                        last_seen_ms: p.last_seen_ms,
                        lag: p.lag,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        uplink_state: uplink.map(|u| u.state.as_str().to_string()),
        uplink_pending: status.pending_sync,
        last_sync_age_s: status.last_sync_age_s,
        uplink_error: uplink.and_then(|u| u.last_error.clone()),
        printer: printer(outside),
        scanner: if outside.scanner {
            "configured".into()
        } else {
            "none".into()
        },
        ai_model: match node.ai() {
            Some(ai) => ai
                .status()
                .iter()
                .map(crate::ai::status_text::model_line)
                .collect::<Vec<_>>()
                .join("; "),
            None => status.ai_model.clone().unwrap_or_else(|| "none".into()),
        },
    }
}
