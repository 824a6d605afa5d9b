//! The simulator's own checks: a handful of seeds pass, a seed replays to the
//! same trace hash, and a planted durability bug is caught.

use keel_sim::{hex, run, SimConfig};

fn cfg(seed: u64, terminals: u32) -> SimConfig {
    SimConfig {
        seed,
        terminals,
        sales_per_terminal: 15,
        plant_lying_fsync: false,
        plant_ack_unsaved: false,
    }
}

#[test]
fn a_handful_of_seeds_hold_every_invariant_with_faults_injected() {
    let mut power_cuts = 0;
    let mut lost = 0;
    let mut partitions = 0;
    for (seed, k) in [(1, 3), (2, 4), (3, 5), (4, 3)] {
        let o = run(&cfg(seed, k));
        assert!(o.violations.is_empty(), "seed {seed}: {:#?}", o.violations);
        assert_eq!(o.acked, 15 * k as usize, "seed {seed}");
        assert!(
            o.raft_terms > 0 && o.raft_committed > 0,
            "seed {seed}: raft elected {} leaders, committed {}",
            o.raft_terms,
            o.raft_committed
        );
        assert!(o.cloud_batches > 0, "seed {seed}: nothing uploaded");
        power_cuts += o.faults.power_cuts;
        lost += o.faults.lost;
        partitions += o.faults.partitions;
    }
    // The seeds exercised the faults they claim to survive.
    assert!(
        power_cuts > 0 && lost > 0 && partitions > 0,
        "cuts {power_cuts} lost {lost} partitions {partitions}"
    );
}

#[test]
fn the_same_seed_gives_the_same_trace_hash_and_another_seed_another() {
    let a = run(&cfg(11, 3));
    let b = run(&cfg(11, 3));
    let c = run(&cfg(12, 3));
    assert_eq!(hex(&a.trace_hash), hex(&b.trace_hash));
    assert_eq!(a.faults, b.faults);
    assert_eq!(a.delivered, b.delivered);
    assert_ne!(hex(&a.trace_hash), hex(&c.trace_hash));
}

#[test]
fn acknowledging_a_sale_before_its_fsync_is_caught() {
    // The planted bug: the disk reports syncs done without making anything durable,
    // so a receipt is printed for a sale a power cut then takes away.
    let caught = (1..=4).any(|seed| {
        let mut c = cfg(seed, 3);
        c.plant_lying_fsync = true;
        let o = run(&c);
        o.violations
            .iter()
            .any(|v| v.contains("acknowledged receipt"))
    });
    assert!(
        caught,
        "the planted lying fsync went unnoticed in seeds 1..=4"
    );
}
