//! Test-support code shared by Keel's integration tests (cluster, terminal).
//!
//! Owns:
//! - [`avahi`]: a private, throw-away Avahi for mDNS tests: its own network
//!   namespace, its own D-Bus system bus (no service activation) and its own
//!   avahi-daemon restricted to that namespace's loopback.
//! - [`process`]: guards for child processes the tests start (killed and reaped on
//!   drop, stdout read line by line), and re-running the current test binary as a
//!   child ("child mode") so each child gets its own environment.
//! - [`logging`]: a minimal stderr logger for tests and their children.
//! - [`guide`]: the commands and example replies of the Markdown guides, for
//!   the tests that keep `docs/operator-guide.md` and `docs/technician-guide.md` true.
//!
//! Must not do: touch anything it did not create. No process is ever signalled
//! unless this crate spawned it, no network namespace is deleted unless this crate
//! added it, and no mDNS traffic is ever sent on the machine's real interfaces.
//! It is test support: it is never linked into the firmware.

#![warn(missing_docs)]

pub mod avahi;
pub mod guide;
pub mod logging;
pub mod ota_bundle;
pub mod postgres;
pub mod process;
