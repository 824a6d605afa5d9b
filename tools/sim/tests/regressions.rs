//! Cases that once failed, kept small by the shrinker, each replayed on every
//! test run: planted ones must still fail (the simulator still catches the
//! bug) and pass once the plant is removed; fixed ones must pass. Also: the
//! shrinker makes the planted lying fsync small, and a batch's outcomes do not
//! depend on the number of threads.
//!
//! To add a case: take the `replay shrunk:` line a failing seed printed
//! (`--seeds 1 --from S --terminals K --sales N --faults LIST`) and add
//! `(S, K, N, "LIST", why)` to [`FIXED`] once the bug is fixed.

use keel_sim::batch::run_in_order;
use keel_sim::fault_mask::FaultMask;
use keel_sim::plan::Case;
use keel_sim::shrink::shrink;
use keel_sim::{hex, run_case, SimConfig};

fn case(seed: u64, terminals: u32, sales: u32, faults: &str, lying: bool) -> Case {
    Case {
        cfg: SimConfig {
            seed,
            terminals,
            sales_per_terminal: sales,
            plant_lying_fsync: lying,
            plant_ack_unsaved: false,
        },
        faults: FaultMask::parse(faults).expect("fault list"),
    }
}

/// Planted-bug cases the shrinker produced: (seed, terminals, sales, faults).
/// With the plant (a disk whose fsync lies) each must fail; without, pass.
const PLANTED_LYING_FSYNC: &[(u64, u32, u32, &str)] = &[
    // `cargo xtask sim --seeds 4 --plant-lying-fsync`, seed 0 (3 x 20, every
    // fault) shrank in 16 runs to this: one sale each, power cuts only.
    (0, 3, 1, "power-cut"),
    // seed 1 of the same run: two sales each, power cuts only.
    (1, 3, 2, "power-cut"),
];

/// Cases that failed because of a real bug, fixed since: (seed, terminals,
/// sales, faults, what was wrong). Each must pass.
const FIXED: &[(u64, u32, u32, &str, &str)] = &[
    (
        262,
        5,
        14,
        "all",
        "the leader proposed a decision in the run's last 100 ms: it had committed it, the \
         followers had not heard yet, and the end-of-run check saw different committed logs \
         (37 vs 36 entries); the run now stops proposing 10 s before the check",
    ),
    (
        647,
        5,
        15,
        "all",
        "the same, with member 1 the one that had not heard of the last commit (43 vs 44)",
    ),
    (
        356,
        3,
        7,
        "loss,duplication,reordering,partition,power-cut,clock-jump,cloud-outage,torn-write,paper-out",
        "the cloud published its price change in the run's last second: the leader journaled it \
         (record 3:64) in the downlink round, which runs after that second's upload round, and \
         the run ended, so the cloud never held it (\"no journal holds the price change\", one \
         record behind terminal 3); the cloud now publishes nothing in the last 10 s, like raft",
    ),
    (
        661,
        4,
        6,
        "loss,duplication,reordering,partition,power-cut,cloud-outage,torn-write,paper-out",
        "the same: APPLES journaled as record 3:62 in the last round, never uploaded",
    ),
    (
        795,
        4,
        7,
        "loss,duplication,partition,power-cut,clock-jump,disk-full,torn-write",
        "the same: WATER journaled as record 4:83 in the last round, never uploaded",
    ),
    (
        975,
        4,
        7,
        "loss,duplication,reordering,partition,power-cut,clock-jump,cloud-outage,torn-write",
        "not a full disk (none in this case): an armed torn power loss struck a replica commit \
         of terminal 2, whose journal then closed (reopen on a dead disk fails), and terminal \
         2's cashier acted in the same 10 ms step, reading receipt 3 from the closed journal; a \
         terminal whose disk lost its power is now cut before its cashier acts",
    ),
];

#[test]
fn planted_cases_still_fail_with_the_plant_and_pass_without() {
    for &(seed, k, sales, faults) in PLANTED_LYING_FSYNC {
        let planted = run_case(&case(seed, k, sales, faults, true));
        assert!(
            !planted.violations.is_empty(),
            "seed {seed} {k}x{sales} {faults}: the lying fsync went unnoticed"
        );
        let honest = run_case(&case(seed, k, sales, faults, false));
        assert!(
            honest.violations.is_empty(),
            "seed {seed} {k}x{sales} {faults} without the plant: {:#?}",
            honest.violations
        );
    }
}

#[test]
fn fixed_cases_pass() {
    for &(seed, k, sales, faults, why) in FIXED {
        let o = run_case(&case(seed, k, sales, faults, false));
        assert!(
            o.violations.is_empty(),
            "seed {seed} ({why}): {:#?}",
            o.violations
        );
    }
}

#[test]
fn shrinking_makes_the_planted_lying_fsync_small() {
    let failing = case(1, 5, 12, "all", true);
    assert!(
        !run_case(&failing).violations.is_empty(),
        "the plant must fail at full size"
    );
    let s = shrink(&failing, 30, |c| !run_case(c).violations.is_empty());
    let small = &s.case;
    assert!(s.runs <= 30);
    assert_eq!(small.cfg.terminals, 3, "{small:?}");
    assert!(small.cfg.sales_per_terminal <= 3, "{small:?}");
    assert!(small.faults.kinds().len() <= 2, "{small:?}");
    assert!(
        !run_case(small).violations.is_empty(),
        "the shrunk case must still fail"
    );
    let mut honest = small.clone();
    honest.cfg.plant_lying_fsync = false;
    assert!(
        run_case(&honest).violations.is_empty(),
        "without the plant it must pass"
    );
    assert!(small
        .replay_command()
        .ends_with(&format!("--faults {} --plant-lying-fsync", small.faults)));
}

#[test]
fn a_batch_gives_the_same_outcomes_in_seed_order_on_any_number_of_threads() {
    let cases: Vec<Case> = (20..24).map(|s| case(s, 3, 3, "all", false)).collect();
    let traces = |jobs| {
        let mut out = Vec::new();
        run_in_order(&cases, jobs, |i, c, o| {
            out.push((i, c.cfg.seed, hex(&o.trace_hash)))
        });
        out
    };
    let one = traces(1);
    assert_eq!(
        one.iter().map(|t| t.1).collect::<Vec<_>>(),
        vec![20, 21, 22, 23]
    );
    assert_eq!(traces(3), one);
}
