//! Receipt printers in the simulated store: one [`SimPrinter`] per terminal,
//! its receipt jobs queued when a sale is acknowledged, its worker stepped
//! while the terminal runs, paper running out and coming back as the seed
//! says. Owns the paper fault and the "printed exactly once" check; the queue's
//! rules live in `crate::printer`. It must not block or refuse a sale: the
//! sale is durable before its receipt is queued, paper or not.

use super::World;
use crate::printer::{printed_exactly_once, SimPrinter};
use keel_core::ids::TerminalId;
use std::collections::BTreeMap;

/// Every terminal's printer, and when out-of-paper ones get a new roll.
#[derive(Debug, Default)]
pub(super) struct Printing {
    printers: BTreeMap<TerminalId, SimPrinter>,
    paper_back_at: BTreeMap<TerminalId, u64>,
}

impl Printing {
    /// Queues the receipt of an acknowledged sale on terminal `t`'s printer.
    pub(super) fn enqueue(&mut self, t: TerminalId, receipt_no: u64) {
        self.printers.entry(t).or_default().enqueue(receipt_no);
    }

    /// The worker restarts after `t`'s power cut (its queue is durable).
    pub(super) fn restart(&mut self, t: TerminalId) {
        if let Some(p) = self.printers.get_mut(&t) {
            p.restart();
        }
    }
}

impl World {
    /// Seeded paper faults: about once per 100 s across the store a printer
    /// runs out of paper, and gets a new roll 10 s to 5 minutes later.
    pub(super) fn inject_paper_faults(&mut self) {
        let now = self.now;
        let back: Vec<TerminalId> = self
            .printing
            .paper_back_at
            .iter()
            .filter(|(_, at)| now >= **at)
            .map(|(t, _)| *t)
            .collect();
        for t in back {
            self.printing.paper_back_at.remove(&t);
            self.printing.printers.entry(t).or_default().paper_in();
            self.trace.update(b"paper-in");
        }
        if self.strikes(crate::fault_mask::FaultKind::PaperOut, 100) {
            let ids: Vec<TerminalId> = self.members.iter().copied().collect();
            let t = ids[self.rng.range(0, ids.len() as u64 - 1) as usize];
            let at = now + self.rng.range(10_000, 300_000);
            let p = self.printing.printers.entry(t).or_default();
            if p.has_paper() {
                p.paper_out();
                self.printing.paper_back_at.insert(t, at);
                self.faults.paper_outs += 1;
                self.trace.update(b"paper-out");
                self.trace.update(&t.0.to_be_bytes());
            }
        }
    }

    /// One step of every running terminal's print worker.
    pub(super) fn run_printers(&mut self) {
        let now = self.now;
        for (t, p) in self.printing.printers.iter_mut() {
            if self.nodes.get(t).is_some_and(|n| n.running.is_some()) {
                if let Some(receipt) = p.step(now) {
                    self.trace.update(b"printed");
                    self.trace.update(&t.0.to_be_bytes());
                    self.trace.update(&receipt.to_be_bytes());
                }
            }
        }
    }

    /// End of chaos: every printer gets paper.
    pub(super) fn calm_printers(&mut self) {
        self.printing.paper_back_at.clear();
        for p in self.printing.printers.values_mut() {
            p.paper_in();
        }
    }

    /// After the run: every acknowledged receipt printed exactly once, nothing
    /// pending; also counts the attempts that found no paper.
    pub(super) fn check_printers(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.members.iter() {
            let acked: Vec<u64> = self
                .acked
                .iter()
                .filter(|a| a.terminal == *t)
                .map(|a| a.receipt_no)
                .collect();
            let printer = self.printing.printers.entry(*t).or_default();
            self.faults.print_attempts_without_paper += printer.attempts_without_paper;
            out.extend(
                printed_exactly_once(printer, &acked)
                    .into_iter()
                    .map(|v| format!("terminal {} printer: {v}", t.0)),
            );
        }
        out
    }
}
