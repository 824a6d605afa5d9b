//! What one run simulates: a [`Case`] is a [`SimConfig`] plus the kinds of fault
//! allowed, and [`sized_by_seed`] derives a store's size from its seed alone
//! (what CI's `--vary` runs use), so any seed still replays on its own. Owns the
//! replay command a case prints; it must not run anything.

use crate::fault_mask::FaultMask;
use crate::rng::SimRng;
use crate::world::SimConfig;

/// One run: the configuration and the faults it may inject.
#[derive(Clone, Debug)]
pub struct Case {
    /// Seed, size and planted bugs.
    pub cfg: SimConfig,
    /// The kinds of fault injected.
    pub faults: FaultMask,
}

impl Case {
    /// `cfg` with every fault kind allowed.
    pub fn new(cfg: SimConfig) -> Case {
        Case {
            cfg,
            faults: FaultMask::all(),
        }
    }

    /// The command that replays exactly this case.
    pub fn replay_command(&self) -> String {
        let c = &self.cfg;
        let mut cmd = format!(
            "cargo xtask sim --seeds 1 --from {} --terminals {} --sales {}",
            c.seed, c.terminals, c.sales_per_terminal
        );
        if self.faults != FaultMask::all() {
            cmd.push_str(&format!(" --faults {}", self.faults));
        }
        if c.plant_lying_fsync {
            cmd.push_str(" --plant-lying-fsync");
        }
        if c.plant_ack_unsaved {
            cmd.push_str(" --plant-ack-unsaved");
        }
        cmd
    }
}

/// The store's size for `seed` when sizes vary with the seed: (terminals,
/// sales per terminal). Most seeds are small and quick (3 to 5 terminals, 3 to
/// 15 sales each) so a thousand fit in CI's minutes; one in 16 is a big store
/// (6 to 15 terminals, 3 to 8 sales each: messages grow with the square of the
/// terminals); one in 100 is a long day (3 terminals, 100 to 160 sales each).
pub fn sized_by_seed(seed: u64) -> (u32, u32) {
    // A stream of its own, so the world's draws from the same seed stay independent.
    let mut r = SimRng::new(seed ^ 0x5349_5a45_5349_5a45);
    let kind = r.range(0, 1_599);
    if kind < 16 {
        (3, r.range(100, 160) as u32)
    } else if kind < 116 {
        (r.range(6, 15) as u32, r.range(3, 8) as u32)
    } else {
        (r.range(3, 5) as u32, r.range(3, 15) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_cover_small_big_and_long_days_and_depend_on_the_seed_only() {
        let sizes: Vec<(u32, u32)> = (0..1_000).map(sized_by_seed).collect();
        assert_eq!(sizes, (0..1_000).map(sized_by_seed).collect::<Vec<_>>());
        assert!(sizes.iter().all(|(k, s)| (3..=15).contains(k) && *s >= 3));
        let long = sizes.iter().filter(|(_, s)| *s >= 100).count();
        let big = sizes.iter().filter(|(k, _)| *k >= 10).count();
        let fifteen = sizes.iter().filter(|(k, _)| *k == 15).count();
        assert!((3..=25).contains(&long), "{long} long days");
        assert!(
            big >= 20 && fifteen >= 2,
            "{big} stores of 10+, {fifteen} of 15"
        );
    }
}
