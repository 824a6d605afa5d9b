//! The firmware updater: a sans-IO state machine that survives a power cut at
//! any point, the record it persists, and the loop that runs its actions.
//!
//! Owns the update's life cycle (`Idle`, `Downloading`, `Verifying`,
//! `Writing`, `Switching`, `Rebooting`, `Testing`, then `Committed`, `Failed`
//! or `RolledBack`). It must not fetch, verify or write bundles itself (the
//! host does, with the bundle verifier and the slot sink) nor pick
//! the boot slot ([`crate::boot_env::select_boot`] is the bootloader's rule).
//! See docs/ota-ab.md for the table of states and what a power cut does in
//! each.

pub mod driver;
pub mod record_file;
pub mod state;
pub mod step;

pub use driver::{run, DriveError, RunEnd, UpdateHost};
pub use record_file::{RecordError, RecordFile};
pub use state::{Action, Event, UpdateRecord, UpdateState};
pub use step::{step, StepError, Updater};
