//! ESC/POS: the command language of receipt and kitchen printers.
//!
//! This module owns turning Keel's receipts and kitchen tickets into ESC/POS
//! bytes and turning ESC/POS bytes back into what a person would see on the
//! paper. It is pure: it never opens a device, waits, retries or reads
//! status (the printer link and spool do that), and it never decides what
//! to print or when to open the drawer (the terminal does).
//!
//! - [`encoder`]: [`Encoder`], typed commands written to any `io::Write`.
//! - [`codepage`]: CP437, CP858 and WPC1252 tables and their `ESC t` numbers.
//! - [`paper`], [`style`], [`kick`], [`qr`], [`barcode`], [`bitmap`], [`logo`]:
//!   the values the commands carry, with their limits.
//! - [`layout`]: receipts, kitchen tickets and the test page as byte streams.
//! - [`decode`]: the inverse, for tests and the printer emulator.
//! - [`commands`]: the control bytes both directions share.

pub mod barcode;
pub mod bitmap;
pub mod codepage;
pub mod commands;
pub mod decode;
pub mod encoder;
pub mod error;
pub mod kick;
pub mod layout;
pub mod logo;
pub mod paper;
pub mod qr;
pub mod style;

pub use barcode::{BarcodeKind, BarcodeOptions, Hri};
pub use bitmap::Bitmap;
pub use codepage::CodePage;
pub use decode::{decode, decode_partial, DecodeError, Decoded, Line};
pub use encoder::Encoder;
pub use error::EncodeError;
pub use kick::DrawerPin;
pub use layout::{kitchen_ticket, receipt, test_page, LayoutOptions};
pub use logo::keel_logo;
pub use paper::{CutKind, PaperWidth};
pub use qr::{QrErrorCorrection, QrOptions};
pub use style::{Align, TextSize};
