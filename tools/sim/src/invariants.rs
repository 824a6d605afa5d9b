//! The checks after a run. Owns only reading the terminals' journals and the
//! acknowledged-sale ledger; it must not change any state.

use crate::terminal::{heads, SimTerminal};
use crate::world::AckedSale;
use keel_core::event::EventBody;
use std::collections::BTreeMap;

/// Every violated invariant, described (empty = all hold).
pub fn check(terminals: &[&SimTerminal], acked: &[AckedSale]) -> Vec<String> {
    let mut out = Vec::new();
    let mut first_heads = None;
    for t in terminals {
        let me = t.profile.terminal;
        // Every hash chain verifies: own journal and every replica.
        if let Err(e) = t.journal.verify() {
            out.push(format!("terminal {}: own chain does not verify: {e}", me.0));
        }
        let h = match heads(&t.journal) {
            Ok(h) => h,
            Err(e) => {
                out.push(format!("terminal {}: heads unreadable: {e}", me.0));
                continue;
            }
        };
        for o in h.keys().filter(|o| **o != me) {
            if let Err(e) = t.journal.verify_origin(*o) {
                out.push(format!(
                    "terminal {}: replica of {} does not verify: {e}",
                    me.0, o.0
                ));
            }
        }
        // Convergence: every terminal holds the same head of every origin.
        match &first_heads {
            None => first_heads = Some((me, h)),
            Some((t0, h0)) => {
                if *h0 != h {
                    out.push(format!(
                        "terminals {} and {} did not converge: {:?} vs {:?}",
                        t0.0,
                        me.0,
                        summary(h0),
                        summary(&h)
                    ));
                }
            }
        }
        // Receipts gapless and unique; every acknowledged sale present with its total.
        let events = match t.journal.range(1, t.journal.last_seq()) {
            Ok(e) => e,
            Err(e) => {
                out.push(format!("terminal {}: journal unreadable: {e}", me.0));
                continue;
            }
        };
        let mut sales: BTreeMap<u64, i64> = BTreeMap::new();
        let mut expected = 1;
        for e in &events {
            if let EventBody::SaleCompleted(s) = &e.event.body {
                if s.receipt_no.0 != expected {
                    out.push(format!(
                        "terminal {}: receipt {} follows {} (gap or duplicate)",
                        me.0,
                        s.receipt_no.0,
                        expected - 1
                    ));
                }
                expected = s.receipt_no.0 + 1;
                if sales.insert(s.receipt_no.0, s.total.minor).is_some() {
                    out.push(format!(
                        "terminal {}: receipt {} recorded twice",
                        me.0, s.receipt_no.0
                    ));
                }
            }
        }
        for a in acked.iter().filter(|a| a.terminal == me) {
            match sales.get(&a.receipt_no) {
                Some(total) if *total == a.total_minor => {}
                Some(total) => out.push(format!(
                    "terminal {}: acknowledged receipt {} total {} now reads {total}",
                    me.0, a.receipt_no, a.total_minor
                )),
                None => out.push(format!(
                    "terminal {}: acknowledged receipt {} lost",
                    me.0, a.receipt_no
                )),
            }
        }
        let acked_here = acked.iter().filter(|a| a.terminal == me).count();
        if acked_here != sales.len() {
            out.push(format!(
                "terminal {}: {} receipts acknowledged but {} in the journal",
                me.0,
                acked_here,
                sales.len()
            ));
        }
    }
    out
}

fn summary(
    h: &BTreeMap<keel_core::ids::TerminalId, keel_core::replication::OriginHead>,
) -> Vec<(u32, u64)> {
    h.iter().map(|(t, o)| (t.0, o.seq)).collect()
}
