//! Barcode scanners: keyboard-wedge scanners through evdev and serial ones.
//!
//! This module owns turning what a scanner sends into whole codes. It must
//! not decide what a code means (the core's barcode rules and the terminal
//! do that) and never lets a scan reach the UI as key presses (the evdev
//! node is grabbed).
//!
//! - [`event`]: the kernel's 24-byte `input_event` records, read and written.
//! - [`keymap`]: key codes plus shift, AltGr and caps lock to characters (US, German).
//! - [`decoder`]: prefix, suffix, terminator and the timing rule; pure.
//! - [`source`]: a reader thread on an evdev node (grab, hot-plug) or a
//!   recorded stream in a file or FIFO, all through the same decoder.
//! - [`serial`]: scanners on a serial port, one line per code;
//!   [`serial_source`] reads one on a reader thread, reopening it when it vanishes.
//! - [`record`]: text to realistic key events, for recordings and tests.

pub mod decoder;
pub mod event;
pub mod keymap;
pub mod record;
pub mod serial;
pub mod serial_source;
pub mod source;
mod stream;
mod sys;

pub use decoder::{RejectReason, ScanDecoder, ScanOutcome, ScannerConfig, Terminator};
pub use event::{InputEvent, EVENT_SIZE};
pub use keymap::Layout;
pub use serial::{SerialScanner, SerialScannerConfig};
pub use serial_source::SerialScannerSource;
pub use source::{ScannerSource, SourceError};
pub use stream::ScanStream;
