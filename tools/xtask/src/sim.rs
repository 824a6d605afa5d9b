//! `cargo xtask sim [--seeds N] [--from S] [--terminals K] [--sales N] [--vary]
//! [--faults LIST] [--jobs J] [--quiet] [--plant-lying-fsync] [--plant-ack-unsaved]`:
//! runs the deterministic store simulator (`cargo run --release -p keel-sim -- ARGS`),
//! passing its output through: one line per seed (a failing one with its replay
//! command and, shrunk, a smaller one), then seeds per second, the faults
//! injected by type and a `SIM seeds=… failed=… seeds_per_s=… faults=…` line.
//! `cargo xtask test` runs [`CI_ARGS`]. docs/simulation.md explains how to read
//! and replay a failing seed.
//!
//! Release, not the dev profile CI's tests already built: a cold release build
//! of keel-sim costs about 3.5 minutes on the 2-core machine, and a seed runs
//! about 7 times faster than in the dev profile (1,000 seeds: ~2.5 minutes
//! instead of ~16).

use crate::cmd;
use crate::error::{Context, Result};

/// What CI runs: 1,000 seeds, sizes derived from each seed (3 to 15 terminals,
/// 3 to 160 sales each), every fault kind, one line per failing seed only.
pub const CI_ARGS: [&str; 4] = ["--seeds", "1000", "--vary", "--quiet"];

/// Runs the simulator with `args` and returns its exit code (1 when a seed failed).
pub fn sim(args: &[String]) -> Result<i32> {
    let mut cargo = cmd::cargo();
    cargo
        .args(["run", "--release", "-q", "-p", "keel-sim", "--"])
        .args(args);
    eprintln!("xtask sim: {}", cmd::display(&cargo));
    let status = cmd::status(&mut cargo).context("running keel-sim")?;
    Ok(cmd::exit_code(status))
}
