//! Emulated devices on the far side of a pseudo-terminal or a loopback TCP
//! socket, for tests and development: the code under test opens them exactly
//! as it opens real hardware, and each emulator's controls reproduce the
//! field failures (paper out, cover open, unplugged, silent, a drawer that
//! never reports closed).
//!
//! Owns nothing the production paths use; the terminal never starts these
//! except for `--demo`-style development runs.
//!
//! - [`printer`]: a serial receipt printer over a pty ([`EmulatedPrinter`]).
//! - [`printer_tcp`]: a raw-TCP (port 9100) printer ([`EmulatedTcpPrinter`]).
//! - [`printer_model`]: the printer behaviour both share ([`PrinterModel`]).
//! - [`scale`]: serial scales.

pub mod printer;
pub mod printer_model;
mod printer_stream;
pub mod printer_tcp;
pub mod scale;

pub use printer::EmulatedPrinter;
pub use printer_model::{EmulatedKick, PrinterModel};
pub use printer_tcp::EmulatedTcpPrinter;
