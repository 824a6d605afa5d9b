//! The checks after a run. Owns only reading the terminals' journals and the
//! acknowledged-sale ledger; it must not change any state.

use crate::cashier::AckedReturn;
use crate::catalog::ITEMS;
use crate::terminal::{heads, SimTerminal};
use crate::world::{AckedReceipt, AckedSale};
use keel_core::event::EventBody;
use std::collections::BTreeMap;

/// Every violated invariant, described (empty = all hold).
///
/// `k` terminals each seeded the opening stock, so the store starts with `k` times it.
pub fn check(
    terminals: &[&SimTerminal],
    acked: &[AckedSale],
    received: &[AckedReceipt],
    returns: &[AckedReturn],
    k: u32,
) -> Vec<String> {
    let mut out = Vec::new();
    // Stock = start - sold + received, per SKU, on every terminal (after convergence).
    let mut expected_stock: BTreeMap<String, i64> = ITEMS
        .iter()
        .filter(|i| i.4 > 0)
        .map(|i| (i.0.to_string(), i.4 * k as i64))
        .collect();
    for a in acked {
        for (sku, qty) in &a.lines {
            *expected_stock.entry(sku.clone()).or_insert(0) -= qty;
        }
    }
    for r in received {
        *expected_stock.entry(r.sku.clone()).or_insert(0) += r.qty;
    }
    for r in returns {
        for (sku, qty) in &r.lines {
            *expected_stock.entry(sku.clone()).or_insert(0) += qty;
        }
    }
    for t in terminals {
        let have: BTreeMap<String, i64> = t
            .state
            .stock
            .iter()
            .map(|(s, q)| (s.0.clone(), *q))
            .collect();
        if have != expected_stock {
            out.push(format!(
                "terminal {}: stock {have:?}, expected start - sold + received + returned = {expected_stock:?}",
                t.profile.terminal.0
            ));
        }
    }
    out.extend(kitchen_converged(terminals));
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
        let mut own: Vec<&EventBody> = Vec::new();
        for e in &events {
            if e.event.dot.terminal != me {
                continue;
            }
            own.push(&e.event.body);
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
        out.extend(
            crate::ledger_checks::returns_within_sales(&own)
                .into_iter()
                .map(|v| format!("terminal {}: {v}", me.0)),
        );
        out.extend(
            crate::ledger_checks::cards_within_offline_limits(&own, &t.profile.card_limits)
                .into_iter()
                .map(|v| format!("terminal {}: {v}", me.0)),
        );
        out.extend(
            crate::ledger_checks::z_reports_match(&own)
                .into_iter()
                .map(|v| format!("terminal {}: {v}", me.0)),
        );
        let in_journal: Vec<AckedReturn> =
            own.iter().filter_map(|b| AckedReturn::of(me, b)).collect();
        for r in returns.iter().filter(|r| r.terminal == me) {
            if !in_journal.contains(r) {
                out.push(format!(
                    "terminal {}: acknowledged {} of receipt {} ({}) lost",
                    me.0,
                    if r.void { "void" } else { "refund" },
                    r.receipt_no,
                    r.amount_minor
                ));
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

/// Every kitchen order reaches every terminal: a ticket still open on any
/// terminal is on every terminal, at the same status (tickets are a max-status
/// CRDT; served ones may be pruned, so only open ones are compared).
pub fn kitchen_converged(terminals: &[&SimTerminal]) -> Vec<String> {
    let mut out = Vec::new();
    for a in terminals {
        for (id, k) in a
            .state
            .kitchen
            .iter()
            .filter(|(_, k)| k.created && k.is_open())
        {
            for b in terminals {
                match b.state.kitchen.get(id) {
                    Some(kb) if kb.status == k.status => {}
                    other => out.push(format!(
                        "kitchen ticket {}-{} is {:?} on terminal {} but {:?} on terminal {}",
                        id.terminal.0,
                        id.number,
                        k.status,
                        a.profile.terminal.0,
                        other.map(|o| o.status),
                        b.profile.terminal.0
                    )),
                }
            }
        }
    }
    out
}

fn summary(
    h: &BTreeMap<keel_core::ids::TerminalId, keel_core::replication::OriginHead>,
) -> Vec<(u32, u64)> {
    h.iter().map(|(t, o)| (t.0, o.seq)).collect()
}

/// The cloud converged: for every origin its cursor holds bodies and chain up to
/// the terminals' head with the same hash, no stub is left, no batch was
/// refused, and every acknowledged sale is among its events.
pub fn check_cloud(
    terminals: &[&SimTerminal],
    cloud: &crate::cloud::Cloud,
    acked: &[AckedSale],
) -> Vec<String> {
    let mut out = Vec::new();
    if cloud.refused > 0 {
        out.push(format!("cloud: {} batches refused", cloud.refused));
    }
    if !cloud.stubs.is_empty() {
        out.push(format!("cloud: {} records still stubs", cloud.stubs.len()));
    }
    let Some(t0) = terminals.first() else {
        return out;
    };
    let h = match heads(&t0.journal) {
        Ok(h) => h,
        Err(e) => {
            out.push(format!("cloud check: heads unreadable: {e}"));
            return out;
        }
    };
    for (origin, head) in &h {
        match cloud.cursors.get(origin) {
            Some(c) if c.bodies == head.seq && c.chain == head.seq && c.chain_hash == head.hash => {
            }
            Some(c) => out.push(format!(
                "cloud: terminal {} at bodies {} chain {}, the store at {}",
                origin.0, c.bodies, c.chain, head.seq
            )),
            None => out.push(format!("cloud: nothing of terminal {}", origin.0)),
        }
    }
    let mut cloud_sales: std::collections::BTreeSet<(u32, u64)> = std::collections::BTreeSet::new();
    for ((origin, _), bytes) in &cloud.events {
        if let Ok(e) = keel_core::chain::decode_record(bytes) {
            if let EventBody::SaleCompleted(s) = &e.body {
                cloud_sales.insert((origin.0, s.receipt_no.0));
            }
        }
    }
    let missing = acked
        .iter()
        .filter(|a| !cloud_sales.contains(&(a.terminal.0, a.receipt_no)))
        .count();
    if missing > 0 {
        out.push(format!("cloud: {missing} acknowledged sales missing"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::disk::CrashDisk;
    use keel_core::engine::{AddRequest, Engine};
    use keel_core::ids::TerminalId;
    use std::collections::BTreeSet;

    #[test]
    fn a_kitchen_ticket_missing_on_one_terminal_is_reported() {
        let members: BTreeSet<TerminalId> = [TerminalId(1), TerminalId(2)].into();
        let now = 1_790_000_000_000;
        let open = |t: u32| {
            SimTerminal::open(
                catalog::profile(t),
                &CrashDisk::new(false),
                &members,
                now,
                catalog::seed_events(),
            )
            .unwrap()
        };
        let (mut a, b) = (open(1), open(2));
        let p = a.profile.clone();
        let c = &p.users[0];
        type Step<'a> = Box<dyn Fn(&Engine) -> Vec<EventBody> + 'a>;
        let steps: Vec<Step> = vec![
            Box::new(|e| e.open_shift(Some(&p.users[1]), "100.00").unwrap()),
            Box::new(|e| e.new_sale(Some(c)).unwrap()),
            Box::new(|e| {
                e.add_item(
                    Some(c),
                    AddRequest {
                        key: "COFFEE",
                        qty: Some("1"),
                        now_ms: now,
                    },
                )
                .unwrap()
            }),
            Box::new(|e| e.tender_cash(Some(c), "5.00").unwrap()),
            Box::new(|e| e.complete(Some(c)).unwrap().0),
        ];
        for step in steps {
            let ev = step(&Engine::new(&p, &a.state));
            a.commit(ev, now).unwrap();
        }
        assert!(kitchen_converged(&[&a, &a]).is_empty());
        let v = kitchen_converged(&[&a, &b]);
        assert!(
            v.iter()
                .any(|s| s.contains("ticket 1-1") && s.contains("None on terminal 2")),
            "{v:?}"
        );
    }
}
