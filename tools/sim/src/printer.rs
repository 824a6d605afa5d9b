//! A terminal's receipt printer and its print queue, simulated. Owns the
//! printer's paper (out and back in, as the world's seeded faults say) and a
//! queue with keel-devices' rules: `Spool::enqueue` makes a job durable before
//! it returns, ids increase and are never reused, the worker prints the oldest
//! pending job when its retry time has come, checks the printer's status
//! first and, when it cannot print (paper out), leaves the job pending and
//! retries after a doubling backoff (250 ms to 5 s, `PrinterConfig`'s
//! defaults); a printed job is marked printed and never printed again.
//!
//! keel-devices' `Spool` (files, fsync, flock, the real clock) and its worker
//! (a thread over a serial/USB link) do I/O, so this is a copy of their
//! decisions, not a call into them; see docs/simulation.md. It must not read
//! a clock or draw randomness: the world passes `now` and the faults in.

use std::collections::BTreeMap;

/// The shortest retry delay after a failed attempt (`PrinterConfig::retry_min`).
pub const RETRY_MIN_MS: u64 = 250;
/// The longest retry delay (`PrinterConfig::retry_max`).
pub const RETRY_MAX_MS: u64 = 5_000;

/// One terminal's printer and its durable queue of receipt jobs.
#[derive(Clone, Debug)]
pub struct SimPrinter {
    paper: bool,
    next_id: u64,
    /// Pending jobs by id: the receipt number each prints.
    pending: BTreeMap<u64, u64>,
    /// Receipt numbers printed, in print order (duplicates would show here).
    printed: Vec<u64>,
    retry_at: u64,
    backoff_ms: u64,
    /// Attempts that found the printer out of paper.
    pub attempts_without_paper: u64,
}

impl Default for SimPrinter {
    fn default() -> SimPrinter {
        SimPrinter {
            paper: true,
            next_id: 1,
            pending: BTreeMap::new(),
            printed: Vec::new(),
            retry_at: 0,
            backoff_ms: RETRY_MIN_MS,
            attempts_without_paper: 0,
        }
    }
}

impl SimPrinter {
    /// Queues the receipt of sale `receipt_no`; the job is durable when this
    /// returns (it survives a power cut) and gets the next id.
    pub fn enqueue(&mut self, receipt_no: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, receipt_no);
        id
    }

    /// The roll runs out.
    pub fn paper_out(&mut self) {
        self.paper = false;
    }

    /// A new roll goes in.
    pub fn paper_in(&mut self) {
        self.paper = true;
    }

    /// True while the printer has paper.
    pub fn has_paper(&self) -> bool {
        self.paper
    }

    /// A power cut: the worker restarts, the spool keeps every pending job
    /// (they were fsynced), and the retry schedule starts over.
    pub fn restart(&mut self) {
        self.retry_at = 0;
        self.backoff_ms = RETRY_MIN_MS;
    }

    /// One worker step at `now`: prints the oldest pending job if its time has
    /// come and the printer reports paper; returns the receipt printed.
    pub fn step(&mut self, now: u64) -> Option<u64> {
        if now < self.retry_at {
            return None;
        }
        let (&id, &receipt) = self.pending.iter().next()?;
        if !self.paper {
            self.attempts_without_paper += 1;
            self.retry_at = now + self.backoff_ms;
            self.backoff_ms = (self.backoff_ms * 2).min(RETRY_MAX_MS);
            return None;
        }
        self.pending.remove(&id);
        self.printed.push(receipt);
        self.backoff_ms = RETRY_MIN_MS;
        self.retry_at = 0;
        Some(receipt)
    }

    /// Jobs still waiting.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Receipt numbers printed, in order.
    pub fn printed(&self) -> &[u64] {
        &self.printed
    }
}

/// Every acknowledged receipt not printed exactly once by the end, a receipt
/// printed that was never acknowledged, and jobs left pending. `acked` holds
/// the receipt numbers the terminal acknowledged.
pub fn printed_exactly_once(printer: &SimPrinter, acked: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    let mut times: BTreeMap<u64, u32> = BTreeMap::new();
    for r in printer.printed() {
        *times.entry(*r).or_insert(0) += 1;
    }
    for r in acked {
        match times.get(r).copied().unwrap_or(0) {
            1 => {}
            n => out.push(format!("receipt {r} printed {n} times")),
        }
    }
    for r in times.keys() {
        if !acked.contains(r) {
            out.push(format!("receipt {r} printed but never acknowledged"));
        }
    }
    if printer.pending() > 0 {
        out.push(format!("{} print jobs still pending", printer.pending()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_paper_the_job_waits_with_backoff_and_prints_once_paper_is_back() {
        let mut p = SimPrinter::default();
        p.paper_out();
        p.enqueue(1);
        p.enqueue(2);
        assert_eq!(p.step(0), None);
        assert_eq!(p.step(100), None, "before the retry time nothing is tried");
        assert_eq!(p.step(250), None);
        assert_eq!(p.attempts_without_paper, 2);
        p.paper_in();
        assert_eq!(p.step(300), None, "the backoff (500 ms) is still running");
        assert_eq!(p.step(750), Some(1));
        assert_eq!(p.step(750), Some(2), "the oldest first, the next at once");
        assert_eq!(p.step(760), None);
        assert!(printed_exactly_once(&p, &[1, 2]).is_empty());
    }

    #[test]
    fn the_backoff_doubles_up_to_five_seconds() {
        let mut p = SimPrinter::default();
        p.paper_out();
        p.enqueue(1);
        let mut now = 0;
        let mut delays = Vec::new();
        for _ in 0..7 {
            p.step(now);
            delays.push(p.retry_at - now);
            now = p.retry_at;
        }
        assert_eq!(delays, [250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    }

    #[test]
    fn a_receipt_printed_twice_missing_or_left_pending_is_reported() {
        let mut p = SimPrinter::default();
        p.enqueue(1);
        p.enqueue(1);
        p.enqueue(2);
        p.step(0);
        p.step(0);
        let v = printed_exactly_once(&p, &[1, 2, 3]);
        assert!(v.iter().any(|s| s == "receipt 1 printed 2 times"), "{v:?}");
        assert!(v.iter().any(|s| s == "receipt 2 printed 0 times"), "{v:?}");
        assert!(v.iter().any(|s| s == "receipt 3 printed 0 times"), "{v:?}");
        assert!(v.iter().any(|s| s == "1 print jobs still pending"), "{v:?}");
    }
}
