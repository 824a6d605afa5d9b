//! Shrinking a failing case: fewer terminals, fewer sales, fewer kinds of fault,
//! each change kept only while the case still fails, until no change helps or
//! the run budget is spent. The seed stays; a smaller case draws a different
//! schedule from it, so each try is a new run, and what is kept is whatever
//! still fails (as TigerBeetle's VOPR and proptest shrink: by parameters, not by
//! editing a trace). Owns the search order; it must not judge a failure (the
//! caller's `fails` does).

use crate::fault_mask::FaultMask;
use crate::plan::Case;

/// What shrinking found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest case found that still fails.
    pub case: Case,
    /// Runs spent (the original case not counted).
    pub runs: u32,
}

/// Shrinks `failing` (which `fails`) within `max_runs` runs of `fails`.
pub fn shrink(failing: &Case, max_runs: u32, mut fails: impl FnMut(&Case) -> bool) -> Shrunk {
    let mut best = failing.clone();
    let mut runs = 0;
    let mut try_case = |candidate: Case, best: &mut Case, runs: &mut u32| -> bool {
        if *runs >= max_runs {
            return false;
        }
        *runs += 1;
        if fails(&candidate) {
            *best = candidate;
            true
        } else {
            false
        }
    };
    loop {
        let before = (best.cfg.terminals, best.cfg.sales_per_terminal, best.faults);
        // Terminals: straight to the minimum, else one fewer.
        for k in [3, best.cfg.terminals.saturating_sub(1)] {
            if k >= 3 && k < best.cfg.terminals {
                let mut c = best.clone();
                c.cfg.terminals = k;
                if try_case(c, &mut best, &mut runs) {
                    break;
                }
            }
        }
        // Sales: one, a quarter, a half, one fewer.
        let s = best.cfg.sales_per_terminal;
        for n in [1, s / 4, s / 2, s.saturating_sub(1)] {
            if n >= 1 && n < best.cfg.sales_per_terminal {
                let mut c = best.clone();
                c.cfg.sales_per_terminal = n;
                if try_case(c, &mut best, &mut runs) {
                    break;
                }
            }
        }
        // Faults: none at all, else each kind off in turn.
        if best.faults != FaultMask::none() {
            let mut c = best.clone();
            c.faults = FaultMask::none();
            if !try_case(c, &mut best, &mut runs) {
                for kind in best.faults.kinds() {
                    let mut c = best.clone();
                    c.faults = best.faults.without(kind);
                    try_case(c, &mut best, &mut runs);
                }
            }
        }
        let after = (best.cfg.terminals, best.cfg.sales_per_terminal, best.faults);
        if after == before || runs >= max_runs {
            break;
        }
    }
    Shrunk { case: best, runs }
}
