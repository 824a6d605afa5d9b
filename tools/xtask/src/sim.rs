//! `cargo xtask sim [--seeds N] [--from S] [--terminals K] [--sales N] [--plant-lying-fsync]`:
//! runs the deterministic store simulator (`cargo run --release -p keel-sim -- ARGS`),
//! passing its output through: one line per seed (a failing one with its replay
//! command), then seeds per second and the faults injected by type.
//! docs/simulation.md explains how to read and replay a failing seed.

use crate::cmd;
use crate::error::{Context, Result};

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
