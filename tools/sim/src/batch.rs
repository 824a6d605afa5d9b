//! Runs many cases on worker threads and hands the outcomes back in case order,
//! so the output of a batch is the same whatever the number of threads. Owns
//! the thread pool of one batch; it must not look into the outcomes (the caller
//! prints and totals them) and must not share anything between runs: each run
//! builds its own world from its case.

use crate::plan::Case;
use crate::world::{run_case, Outcome};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Runs every case of `cases` on `jobs` threads (at least one) and calls
/// `done(index, case, outcome)` in index order as soon as each is ready.
pub fn run_in_order(cases: &[Case], jobs: usize, mut done: impl FnMut(usize, &Case, Outcome)) {
    let jobs = jobs.clamp(1, cases.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else {
                    break;
                };
                if tx.send((i, run_case(case))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut due = 0;
        for (i, outcome) in rx {
            waiting.insert(i, outcome);
            while let Some(outcome) = waiting.remove(&due) {
                done(due, &cases[due], outcome);
                due += 1;
            }
        }
    });
}

/// The number of worker threads to use by default: the machine's parallelism.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
