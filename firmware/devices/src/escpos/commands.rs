//! The ESC/POS control bytes and command selectors shared by the encoder and
//! the decoder, so both sides spell each command the same way.
//!
//! Only constants live here: no encoding, no parsing.

/// Line feed: prints the buffer and feeds one line.
pub const LF: u8 = 0x0A;
/// Horizontal tab.
pub const HT: u8 = 0x09;
/// Carriage return (ignored by printers in the default mode).
pub const CR: u8 = 0x0D;
/// Form feed (prints in page mode).
pub const FF: u8 = 0x0C;
/// Cancel (page mode data).
pub const CAN: u8 = 0x18;
/// Data link escape: real-time commands (`DLE EOT`, `DLE ENQ`, `DLE DC4`).
pub const DLE: u8 = 0x10;
/// End of transmission: with DLE, a real-time status request.
pub const EOT: u8 = 0x04;
/// Enquiry: with DLE, a real-time request to the printer.
pub const ENQ: u8 = 0x05;
/// Device control 4: with DLE, real-time pulse, power-off and buffer clear.
pub const DC4: u8 = 0x14;
/// Escape: the prefix of `ESC x` commands.
pub const ESC: u8 = 0x1B;
/// File separator: the prefix of `FS x` commands (Kanji, NV images).
pub const FS: u8 = 0x1C;
/// Group separator: the prefix of `GS x` commands.
pub const GS: u8 = 0x1D;

/// `GS ( k` QR code symbol type `cn`.
pub const QR_CN: u8 = 49;
/// `GS ( k` function 165: select the QR model.
pub const QR_FN_MODEL: u8 = 65;
/// `GS ( k` function 167: set the module size.
pub const QR_FN_MODULE_SIZE: u8 = 67;
/// `GS ( k` function 169: set the error correction level.
pub const QR_FN_ERROR_CORRECTION: u8 = 69;
/// `GS ( k` function 180: store the data in the symbol storage area.
pub const QR_FN_STORE: u8 = 80;
/// `GS ( k` function 181: print the stored symbol.
pub const QR_FN_PRINT: u8 = 81;
/// `GS ( k` function 182: report the stored symbol's size.
pub const QR_FN_SIZE: u8 = 82;
/// The `m` byte of functions 180-182.
pub const QR_M: u8 = 48;
/// Model 2 for function 165.
pub const QR_MODEL_2: u8 = 50;
