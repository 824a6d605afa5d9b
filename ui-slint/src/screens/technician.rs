//! The technician page: the snapshot's diagnostics as text with a level for
//! what can be good or bad (chain, cluster, uplink, printer, peers). Read
//! only: the one action asks for a journal chain verification.

use super::ops::{fill, on0, Ops};
use super::ops_view::{DiagnosticsView, PeerView};
use crate::action::Action;
use crate::generated::{AppWindow, Level, PeerRow, TechActions, TechInfo, TechState, TechValue};
use crate::i18n::{tr, trf};
use slint::ComponentHandle;
use std::cell::RefCell;
use std::rc::Rc;

fn value(text: String, level: Level) -> TechValue {
    TechValue {
        text: text.into(),
        level,
    }
}

fn dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".into())
}

/// The diagnostics as text.
pub fn tech_info(d: &DiagnosticsView) -> TechInfo {
    let chain = match &d.chain {
        None => value(tr("not verified yet"), Level::Idle),
        Some(c) if c.ok => value(trf("ok, {} records verified", &[&c.records]), Level::Ok),
        Some(c) => value(trf("BROKEN: {}", &[&c.detail]), Level::Bad),
    };
    let cluster_level = if d.cluster == "standalone" {
        Level::Idle
    } else if d.cluster.starts_with("no leader") {
        Level::Bad
    } else {
        Level::Ok
    };
    let uplink = match d.uplink_state.as_deref() {
        None => value(tr("no cloud configured"), Level::Idle),
        Some("connected") => value("connected".into(), Level::Ok),
        Some("backoff") => value("backoff".into(), Level::Bad),
        Some(s) => value(s.to_string(), Level::Warn),
    };
    let printer_level = if d.printer == "none" {
        Level::Idle
    } else if d.printer.starts_with("ready") {
        Level::Ok
    } else if d.printer.starts_with("paper low") {
        Level::Warn
    } else {
        Level::Bad
    };
    let head: String = d.journal_head.chars().take(16).collect();
    TechInfo {
        firmware: d.firmware.as_str().into(),
        terminal: d.terminal.as_str().into(),
        store: d.store_id.as_str().into(),
        data_dir: d.data_dir.as_str().into(),
        journal: trf("last seq {}, head {}…", &[&d.journal_last_seq, &head]).into(),
        chain,
        cluster: value(d.cluster.clone(), cluster_level),
        raft: dash(d.raft.clone()).into(),
        uplink,
        pending: dash(d.uplink_pending.map(|n| n.to_string())).into(),
        last_sync: dash(d.last_sync_age_s.map(|s| trf("{} s ago", &[&s]))).into(),
        uplink_error: dash(d.uplink_error.clone()).into(),
        printer: value(d.printer.clone(), printer_level),
        scanner: d.scanner.as_str().into(),
        ai: d.ai_model.as_str().into(),
    }
}

/// A peer as a row.
pub fn peer_row(p: &PeerView) -> PeerRow {
    PeerRow {
        terminal: p.terminal.as_str().into(),
        addr: dash(p.addr.clone()).into(),
        state: if p.connected {
            value(tr("connected"), Level::Ok)
        } else {
            value(tr("disconnected"), Level::Bad)
        },
        seen: dash(p.last_seen_ms.map(|ms| trf("seen {} ms ago", &[&ms]))).into(),
        lag: dash(p.lag.map(|l| trf("lag {}", &[&l]))).into(),
    }
}

/// Fills the technician page.
pub fn show(ops: &mut Ops, w: &AppWindow) {
    let s = w.global::<TechState<'_>>();
    let d = &ops.seen.ops.diagnostics;
    s.set_info(tech_info(d));
    fill(s.get_peers(), d.peers.iter().map(peer_row).collect(), |m| {
        s.set_peers(m)
    });
}

fn verify(ops: &mut Ops, _w: &AppWindow) {
    ops.send(Action::Diagnose);
}

/// Wires the technician page's callback.
pub fn wire(w: &AppWindow, ops: &Rc<RefCell<Ops>>) {
    w.global::<TechActions<'_>>().on_verify(on0(ops, w, verify));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::ops_view::ChainView;

    #[test]
    fn levels_follow_what_is_reported() {
        let mut d = DiagnosticsView {
            cluster: "standalone".into(),
            printer: "none".into(),
            ai_model: "none".into(),
            ..DiagnosticsView::default()
        };
        let i = tech_info(&d);
        assert_eq!(i.chain.level, Level::Idle);
        assert_eq!(i.cluster.level, Level::Idle);
        assert_eq!(i.uplink.level, Level::Idle);
        assert_eq!(i.ai.as_str(), "none");
        d.chain = Some(ChainView {
            ok: false,
            records: 0,
            detail: "record 7: hash mismatch".into(),
        });
        d.cluster = "no leader, 0/2 peers".into();
        d.uplink_state = Some("backoff".into());
        d.printer = "paper out on /dev/ttyUSB0, 1 waiting, 0 printed".into();
        let i = tech_info(&d);
        assert_eq!(i.chain.level, Level::Bad);
        assert!(i.chain.text.contains("hash mismatch"));
        assert_eq!(
            (i.cluster.level, i.uplink.level, i.printer.level),
            (Level::Bad, Level::Bad, Level::Bad)
        );
        let p = peer_row(&PeerView {
            terminal: "T02".into(),
            connected: true,
            lag: Some(3),
            ..PeerView::default()
        });
        assert_eq!(
            (p.state.level, p.lag.as_str(), p.seen.as_str()),
            (Level::Ok, "lag 3", "–")
        );
    }
}
