//! Keel's peripherals, as thin adapters around pure codecs:
//!
//! - [`escpos`]: the ESC/POS encoder (generic over a byte writer), code pages,
//!   receipt and kitchen-ticket layouts from the core's models, and a decoder
//!   that turns ESC/POS back into text (tests and the printer emulator use it).
//! - [`link`], [`status`], [`spool`], [`printer`], [`drawer`]: printers over a
//!   serial port or raw TCP 9100 with DLE EOT status, a durable job spool, a
//!   worker that retries until printed and never blocks a sale, the cash drawer.
//! - [`scanner`]: evdev keyboard-wedge decoding (layouts, shift, prefix/suffix,
//!   terminator, a timing rule), exclusive grab and hot-plug; serial scanners.
//! - [`scale`]: serial scales (Toledo and CAS, continuous or on request).
//! - [`emulator`]: devices on the far end of a pseudo-terminal, for tests.
//!
//! No business rules here: what to print and when to open the drawer is the
//! terminal's decision; this crate only speaks to the hardware, with timeouts
//! everywhere so a vanished device never hangs the caller.

pub mod drawer;
pub mod emulator;
pub mod escpos;
pub mod link;
pub mod printer;
pub mod scale;
pub mod scanner;
pub mod spool;
pub mod status;
