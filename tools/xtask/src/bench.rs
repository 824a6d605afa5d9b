//! `cargo xtask bench NAME [ARGS]`: runs a benchmark from the `keel-bench`
//! binary (`cargo run --release -p keel-bench -- NAME ARGS`), passing its output
//! through. Each benchmark ends with one `BENCH name key=value ...` line.
//! `ai` runs `keel-ai-bench` from keel-terminal with the real TensorFlow Lite
//! library (`--features tflite`).
//! `ui` is the exception: it runs `keel-ui-bench` from keel-kiosk (`cargo run
//! --release -p keel-kiosk --bin keel-ui-bench`), so keel-bench and its other
//! benchmarks never compile Slint.

use crate::cmd;
use crate::error::{Context, Error, Result};

/// Benchmarks `keel-bench` provides, with a one-line description.
pub const BENCHMARKS: &[(&str, &str)] = &[
    (
        "journal",
        "durable sale commits (5 lines, fsync) through keel-store vs SQLite WAL synchronous=FULL",
    ),
    (
        "cluster",
        "3 release keel processes through UDP relays: replication latency, leader failover, convergence after a partition heals",
    ),
    (
        "ui",
        "the sale screen with a 40-line cart at 1280x800, software renderer: frame time and tap-to-frame latency p50/p99 through a demo node, resident memory with the UI up",
    ),
    (
        "ai",
        "the shipped models through the real TensorFlow Lite library: recognition (320x240 frame, preprocessing + inference) and loss-prevention scoring latency p50/p99, resident memory",
    ),
    (
        "cloud",
        "release keel-cloud on PostgreSQL: ingest events/s from many simulated stores, and the catch-up time of a 15,000-event backlog",
    ),
];

/// Runs one benchmark and returns its exit code.
pub fn bench(args: &[String]) -> Result<i32> {
    let Some(name) = args.first() else {
        let list: Vec<_> = BENCHMARKS
            .iter()
            .map(|(n, d)| format!("  {n:<10} {d}"))
            .collect();
        return Err(Error::usage(format!(
            "usage: cargo xtask bench NAME [ARGS]; benchmarks:\n{}",
            list.join("\n")
        )));
    };
    if !BENCHMARKS.iter().any(|(n, _)| n == name) {
        eprintln!(
            "xtask bench: `{name}` is not a known benchmark; passing it to keel-bench anyway"
        );
    }
    if name == "cloud" {
        // The load generator drives the real service binary, found next to keel-bench.
        let mut build = cmd::cargo();
        build.args([
            "build",
            "--release",
            "-p",
            "keel-cloud",
            "--bin",
            "keel-cloud",
        ]);
        eprintln!("xtask bench: {}", cmd::display(&build));
        let status = cmd::status(&mut build).context("building keel-cloud")?;
        if !status.success() {
            return Ok(cmd::exit_code(status));
        }
    }
    let mut cargo = cmd::cargo();
    if name == "ai" {
        // The terminal's AI runtime with the real library (keel-terminal's `tflite` feature).
        cargo
            .args([
                "run",
                "--release",
                "-p",
                "keel-terminal",
                "--features",
                "tflite",
                "--bin",
                "keel-ai-bench",
                "--",
            ])
            .args(&args[1..]);
    } else if name == "ui" {
        cargo
            .args([
                "run",
                "--release",
                "-p",
                "keel-kiosk",
                "--bin",
                "keel-ui-bench",
                "--",
            ])
            .args(&args[1..]);
    } else {
        cargo
            .args(["run", "--release", "-p", "keel-bench", "--"])
            .args(args);
    }
    eprintln!("xtask bench: {}", cmd::display(&cargo));
    let status = cmd::status(&mut cargo).with_context(|| format!("benchmark {name}"))?;
    Ok(cmd::exit_code(status))
}
