//! The four DLE EOT requests and the meaning of each reply byte, pure.
//!
//! Every reply byte has the fixed pattern `0xx1xx10` (bit 7 = 0, bit 4 = 1,
//! bit 1 = 1, bit 0 = 0); a byte without it is not a status reply (a stray
//! byte, line noise, another protocol) and is refused, never guessed at.

use std::fmt;

/// `DLE EOT`, the real-time status request prefix.
pub const DLE_EOT: [u8; 2] = [0x10, 0x04];

/// Which status a DLE EOT request asks for (the `n` byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusRequest {
    /// n = 1: printer status (online, drawer pin 3).
    Printer = 1,
    /// n = 2: offline cause (cover, feed button, paper end, error).
    Offline = 2,
    /// n = 3: error cause (cutter, unrecoverable, auto-recoverable).
    Error = 3,
    /// n = 4: roll paper sensor (near end, end).
    Paper = 4,
}

impl StatusRequest {
    /// The four requests in the order [`super::query`] sends them.
    pub const ALL: [StatusRequest; 4] = [
        StatusRequest::Printer,
        StatusRequest::Offline,
        StatusRequest::Error,
        StatusRequest::Paper,
    ];

    /// The request's `n`.
    pub fn n(self) -> u8 {
        self as u8
    }

    /// The request for `n` (1 to 4).
    pub fn from_n(n: u8) -> Option<StatusRequest> {
        match n {
            1 => Some(StatusRequest::Printer),
            2 => Some(StatusRequest::Offline),
            3 => Some(StatusRequest::Error),
            4 => Some(StatusRequest::Paper),
            _ => None,
        }
    }

    /// The three bytes to send: `DLE EOT n`.
    pub fn bytes(self) -> [u8; 3] {
        [DLE_EOT[0], DLE_EOT[1], self.n()]
    }
}

impl fmt::Display for StatusRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            StatusRequest::Printer => "printer",
            StatusRequest::Offline => "offline cause",
            StatusRequest::Error => "error cause",
            StatusRequest::Paper => "paper sensor",
        };
        write!(f, "DLE EOT {} ({what})", self.n())
    }
}

/// Mask and value of the fixed bits every reply carries.
const FIXED_MASK: u8 = 0b1001_0011;
const FIXED_BITS: u8 = 0b0001_0010;

/// Whether `b` has the fixed bits of a DLE EOT reply.
pub fn is_status_byte(b: u8) -> bool {
    b & FIXED_MASK == FIXED_BITS
}

/// A reply to `DLE EOT 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PrinterByte {
    /// Drawer kick connector pin 3 is high (bit 2).
    pub drawer_pin_high: bool,
    /// The printer is offline (bit 3).
    pub offline: bool,
}

/// A reply to `DLE EOT 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OfflineByte {
    /// The cover is open (bit 2).
    pub cover_open: bool,
    /// Paper is being fed with the feed button (bit 3).
    pub feeding: bool,
    /// Printing stopped because the paper ran out (bit 5).
    pub paper_end_stop: bool,
    /// An error occurred (bit 6).
    pub error: bool,
}

/// A reply to `DLE EOT 3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ErrorByte {
    /// A recoverable error, e.g. a paper jam some models report here (bit 2).
    pub recoverable: bool,
    /// The autocutter failed (bit 3).
    pub cutter: bool,
    /// An unrecoverable error (bit 5).
    pub unrecoverable: bool,
    /// An error that clears by itself, e.g. head overheated (bit 6).
    pub auto_recoverable: bool,
}

impl ErrorByte {
    /// Whether any error bit is set.
    pub fn any(self) -> bool {
        self.recoverable || self.cutter || self.unrecoverable || self.auto_recoverable
    }
}

/// A reply to `DLE EOT 4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PaperByte {
    /// The roll is nearly used up (bits 2 and 3).
    pub near_end: bool,
    /// The roll is used up (bits 5 and 6).
    pub out: bool,
}

/// A byte that is not a reply to the request it answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The request.
    pub request: StatusRequest,
    /// The byte that came back.
    pub byte: u8,
}

fn bit(b: u8, n: u8) -> bool {
    b & (1 << n) != 0
}

fn checked(request: StatusRequest, b: u8) -> Result<u8, Malformed> {
    if is_status_byte(b) {
        Ok(b)
    } else {
        Err(Malformed { request, byte: b })
    }
}

/// Parses a reply to `DLE EOT 1`.
pub fn parse_printer(b: u8) -> Result<PrinterByte, Malformed> {
    let b = checked(StatusRequest::Printer, b)?;
    Ok(PrinterByte {
        drawer_pin_high: bit(b, 2),
        offline: bit(b, 3),
    })
}

/// Parses a reply to `DLE EOT 2`.
pub fn parse_offline(b: u8) -> Result<OfflineByte, Malformed> {
    let b = checked(StatusRequest::Offline, b)?;
    Ok(OfflineByte {
        cover_open: bit(b, 2),
        feeding: bit(b, 3),
        paper_end_stop: bit(b, 5),
        error: bit(b, 6),
    })
}

/// Parses a reply to `DLE EOT 3`.
pub fn parse_error(b: u8) -> Result<ErrorByte, Malformed> {
    let b = checked(StatusRequest::Error, b)?;
    Ok(ErrorByte {
        recoverable: bit(b, 2),
        cutter: bit(b, 3),
        unrecoverable: bit(b, 5),
        auto_recoverable: bit(b, 6),
    })
}

/// Parses a reply to `DLE EOT 4`. Either bit of a pair counts (models differ
/// in which of the two sensors they have).
pub fn parse_paper(b: u8) -> Result<PaperByte, Malformed> {
    let b = checked(StatusRequest::Paper, b)?;
    Ok(PaperByte {
        near_end: bit(b, 2) || bit(b, 3),
        out: bit(b, 5) || bit(b, 6),
    })
}

/// Encoders of reply bytes, for emulators: the inverse of the parsers.
pub mod encode {
    use super::*;

    fn set(b: &mut u8, n: u8, on: bool) {
        if on {
            *b |= 1 << n;
        }
    }

    /// The reply to `DLE EOT 1`.
    pub fn printer(p: PrinterByte) -> u8 {
        let mut b = FIXED_BITS;
        set(&mut b, 2, p.drawer_pin_high);
        set(&mut b, 3, p.offline);
        b
    }

    /// The reply to `DLE EOT 2`.
    pub fn offline(o: OfflineByte) -> u8 {
        let mut b = FIXED_BITS;
        set(&mut b, 2, o.cover_open);
        set(&mut b, 3, o.feeding);
        set(&mut b, 5, o.paper_end_stop);
        set(&mut b, 6, o.error);
        b
    }

    /// The reply to `DLE EOT 3`.
    pub fn error(e: ErrorByte) -> u8 {
        let mut b = FIXED_BITS;
        set(&mut b, 2, e.recoverable);
        set(&mut b, 3, e.cutter);
        set(&mut b, 5, e.unrecoverable);
        set(&mut b, 6, e.auto_recoverable);
        b
    }

    /// The reply to `DLE EOT 4` (both bits of each pair).
    pub fn paper(p: PaperByte) -> u8 {
        let mut b = FIXED_BITS;
        set(&mut b, 2, p.near_end);
        set(&mut b, 3, p.near_end);
        set(&mut b, 5, p.out);
        set(&mut b, 6, p.out);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_bits() {
        assert!(is_status_byte(0x12));
        assert!(is_status_byte(0x16));
        assert!(is_status_byte(0x7E));
        for b in [0x00, 0x13, 0x11, 0x92, 0x02, 0x10, 0xFF] {
            assert!(!is_status_byte(b), "{b:#04x}");
        }
        // XON and XOFF can never be mistaken for a reply.
        assert!(!is_status_byte(0x11) && !is_status_byte(0x13));
    }

    #[test]
    fn known_replies() {
        assert_eq!(
            parse_printer(0x16).unwrap(),
            PrinterByte {
                drawer_pin_high: true,
                offline: false
            }
        );
        assert!(parse_printer(0x1A).unwrap().offline);
        let o = parse_offline(0x36).unwrap();
        assert!(o.cover_open && o.paper_end_stop && !o.error);
        assert!(parse_error(0x1A).unwrap().cutter);
        assert_eq!(
            parse_paper(0x7E).unwrap(),
            PaperByte {
                near_end: true,
                out: true
            }
        );
        assert_eq!(parse_paper(0x12).unwrap(), PaperByte::default());
    }

    #[test]
    fn every_byte_parses_or_is_refused_and_encoders_round_trip() {
        for b in 0..=255u8 {
            let ok = is_status_byte(b);
            assert_eq!(parse_printer(b).is_ok(), ok);
            assert_eq!(parse_offline(b).is_ok(), ok);
            assert_eq!(parse_error(b).is_ok(), ok);
            assert_eq!(parse_paper(b).is_ok(), ok);
        }
        for bits in 0..16u8 {
            let f = |n: u8| bits & (1 << n) != 0;
            let o = OfflineByte {
                cover_open: f(0),
                feeding: f(1),
                paper_end_stop: f(2),
                error: f(3),
            };
            assert_eq!(parse_offline(encode::offline(o)).unwrap(), o);
            let e = ErrorByte {
                recoverable: f(0),
                cutter: f(1),
                unrecoverable: f(2),
                auto_recoverable: f(3),
            };
            assert_eq!(parse_error(encode::error(e)).unwrap(), e);
            let p = PaperByte {
                near_end: f(0),
                out: f(1),
            };
            assert_eq!(parse_paper(encode::paper(p)).unwrap(), p);
            let pr = PrinterByte {
                drawer_pin_high: f(0),
                offline: f(1),
            };
            assert_eq!(parse_printer(encode::printer(pr)).unwrap(), pr);
        }
    }
}
