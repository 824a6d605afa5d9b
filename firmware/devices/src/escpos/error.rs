//! What the encoder refuses before sending a byte.
//!
//! Owns [`EncodeError`], the argument errors of the encoder, and their
//! conversion into `io::Error` (kind `InvalidInput`) so every encoder method
//! keeps a single `io::Result` signature. Writer failures are not here: they
//! pass through untouched.

use super::barcode::BarcodeKind;
use std::io;
use thiserror::Error;

/// An argument the encoder cannot turn into a valid command.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A character magnification outside 1-8.
    #[error("text size {width}x{height} is outside 1x1 to 8x8")]
    TextSize {
        /// Requested horizontal magnification.
        width: u8,
        /// Requested vertical magnification.
        height: u8,
    },
    /// A QR code with no data.
    #[error("a QR code needs at least one byte of data")]
    QrEmpty,
    /// QR data longer than a model 2 symbol holds at the chosen error correction.
    #[error(
        "QR data of {len} bytes exceeds the {max} a model 2 symbol holds at this error correction"
    )]
    QrTooLong {
        /// Bytes given.
        len: usize,
        /// Most the symbol holds.
        max: usize,
    },
    /// A QR module size outside 1-16 dots.
    #[error("QR module size {0} is outside 1-16 dots")]
    QrModuleSize(u8),
    /// Barcode data the symbology cannot encode.
    #[error("{kind:?} cannot encode {data:?}: {expected}")]
    Barcode {
        /// Symbology.
        kind: BarcodeKind,
        /// The data refused.
        data: String,
        /// What the symbology accepts.
        expected: &'static str,
    },
    /// A barcode height or module width the printer does not accept.
    #[error("barcode height {height} (1-255) or module width {module} (2-6) out of range")]
    BarcodeGeometry {
        /// Height in dots.
        height: u8,
        /// Module width in dots.
        module: u8,
    },
    /// A bitmap with no dots or too large for `GS v 0`.
    #[error("image of {width}x{height} dots cannot be printed (1-{max_width} wide, 1-{max_height} high)")]
    ImageSize {
        /// Width in dots.
        width: u32,
        /// Height in dots.
        height: u32,
        /// Widest allowed.
        max_width: u32,
        /// Highest allowed.
        max_height: u32,
    },
    /// Bitmap data whose length does not match its dimensions.
    #[error("bitmap data has {got} bytes, {width}x{height} dots need {expected}")]
    BitmapData {
        /// Width in dots.
        width: u32,
        /// Height in dots.
        height: u32,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A drawer pulse longer than `ESC p` can express.
    #[error("drawer pulse {on_ms} ms on / {off_ms} ms off exceeds 510 ms")]
    KickPulse {
        /// On time.
        on_ms: u16,
        /// Off time.
        off_ms: u16,
    },
}

impl From<EncodeError> for io::Error {
    fn from(e: EncodeError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}
