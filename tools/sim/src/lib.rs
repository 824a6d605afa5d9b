//! keel-sim: a deterministic simulator of one store. K terminals run keel-core's
//! engine and state, keel-store's journal (redb on a simulated crash-recording
//! disk) and keel-core's replication state machine in one process; the network,
//! the clocks, the disks and all randomness are simulated from one `u64` seed,
//! so a run replays exactly (same seed, same trace hash).
//!
//! This crate owns the simulation world, the fault schedule and the invariant
//! checks. It must not reimplement production logic: it calls the same crates
//! the terminal does and only replaces I/O. See docs/simulation.md for what is
//! covered and what is not yet (raft, uplink).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod cashier;
pub mod catalog;
pub mod cloud;
pub mod consensus;
pub mod disk;
pub mod fault_mask;
pub mod invariants;
pub mod ledger_checks;
pub mod plan;
pub mod printer;
pub mod rng;
pub mod shrink;
pub mod terminal;
pub mod world;

pub use world::{run, run_case, Faults, Outcome, SimConfig};

/// The trace hash as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
