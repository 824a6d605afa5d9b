//! Printer status through DLE EOT: the four real-time requests, the parsing
//! of their reply bytes ([`reply`]), and [`query`], which asks all four over
//! a [`Link`] with a timeout on each reply.
//!
//! Owns the meaning of the status bits and the request/reply exchange. It
//! must not retry, reopen links or decide what to do about a status (the
//! printer worker does); a malformed or missing reply is an error value,
//! never a panic.

pub mod reply;

use crate::link::Link;
use reply::{ErrorByte, OfflineByte, PaperByte, PrinterByte, StatusRequest};
use std::fmt;
use std::io;
use std::time::{Duration, Instant};
use thiserror::Error;

/// How the drawer's open/closed switch is wired to pin 3 of the printer's
/// drawer connector (drawers differ), or that there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DrawerSensor {
    /// No switch, or nothing connected: the drawer state is unknown.
    Absent,
    /// Pin 3 high means open (a switch to ground that the closed drawer presses).
    #[default]
    OpenWhenHigh,
    /// Pin 3 low means open.
    OpenWhenLow,
}

impl DrawerSensor {
    /// Whether the drawer is open given pin 3's level; `None` without a sensor.
    pub fn drawer_open(self, pin_high: bool) -> Option<bool> {
        match self {
            DrawerSensor::Absent => None,
            DrawerSensor::OpenWhenHigh => Some(pin_high),
            DrawerSensor::OpenWhenLow => Some(!pin_high),
        }
    }
}

/// What a printer reported about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrinterStatus {
    /// It answered every status request.
    pub reachable: bool,
    /// It is online (ready to print as far as it knows).
    pub online: bool,
    /// Its cover is open.
    pub cover_open: bool,
    /// The roll is nearly used up (still printing).
    pub paper_near_end: bool,
    /// The roll is used up.
    pub paper_out: bool,
    /// It reports an error (cutter, head temperature, an unrecoverable fault).
    pub error: bool,
    /// The cash drawer is open; `None` when unknown (no sensor, unreachable).
    pub drawer_open: Option<bool>,
}

impl PrinterStatus {
    /// The status of a printer that does not answer.
    pub fn unreachable() -> PrinterStatus {
        PrinterStatus {
            reachable: false,
            online: false,
            cover_open: false,
            paper_near_end: false,
            paper_out: false,
            error: false,
            drawer_open: None,
        }
    }

    /// The status the four replies describe.
    pub fn from_replies(
        printer: PrinterByte,
        offline: OfflineByte,
        error: ErrorByte,
        paper: PaperByte,
        sensor: DrawerSensor,
    ) -> PrinterStatus {
        PrinterStatus {
            reachable: true,
            online: !printer.offline,
            cover_open: offline.cover_open,
            paper_near_end: paper.near_end,
            paper_out: paper.out || offline.paper_end_stop,
            error: offline.error || error.any(),
            drawer_open: sensor.drawer_open(printer.drawer_pin_high),
        }
    }

    /// Whether a job can be sent now.
    pub fn ready(&self) -> bool {
        self.problem().is_none()
    }

    /// Why a job cannot be sent now, in the technician's words; `None` when ready.
    pub fn problem(&self) -> Option<&'static str> {
        if !self.reachable {
            Some("printer not answering")
        } else if self.paper_out {
            Some("paper out")
        } else if self.cover_open {
            Some("cover open")
        } else if self.error {
            Some("printer error")
        } else if !self.online {
            Some("printer offline")
        } else {
            None
        }
    }
}

impl fmt::Display for PrinterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem() {
            Some(p) => f.write_str(p)?,
            None => f.write_str("ready")?,
        }
        if self.reachable && self.paper_near_end && !self.paper_out {
            f.write_str(", paper near end")?;
        }
        match self.drawer_open {
            Some(true) => f.write_str(", drawer open"),
            Some(false) => f.write_str(", drawer closed"),
            None => Ok(()),
        }
    }
}

/// Why a status query failed.
#[derive(Debug, Error)]
pub enum StatusError {
    /// The printer sent nothing back in time (unplugged, off, silent, or a
    /// model without DLE EOT).
    #[error("{device}: no reply to {request}")]
    NoReply {
        /// The device.
        device: String,
        /// The request that went unanswered.
        request: StatusRequest,
    },
    /// The reply byte is not a DLE EOT reply (fixed bits `0xx1xx10` wrong).
    #[error("{device}: malformed reply {byte:#04x} to {request}")]
    Malformed {
        /// The device.
        device: String,
        /// The request.
        request: StatusRequest,
        /// The byte received.
        byte: u8,
    },
    /// The link failed (device gone, connection reset).
    #[error("{device}: {request} failed: {source}")]
    Io {
        /// The device.
        device: String,
        /// The request being exchanged.
        request: StatusRequest,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Asks the four statuses, waiting at most `timeout` for each reply, and
/// combines them. Stale input is dropped before each request.
pub fn query(
    link: &mut dyn Link,
    timeout: Duration,
    sensor: DrawerSensor,
) -> Result<PrinterStatus, StatusError> {
    let device = link.device().to_string();
    let malformed = |m: reply::Malformed| StatusError::Malformed {
        device: device.clone(),
        request: m.request,
        byte: m.byte,
    };
    let p = reply::parse_printer(exchange(link, StatusRequest::Printer, timeout)?)
        .map_err(malformed)?;
    let o = reply::parse_offline(exchange(link, StatusRequest::Offline, timeout)?)
        .map_err(malformed)?;
    let e =
        reply::parse_error(exchange(link, StatusRequest::Error, timeout)?).map_err(malformed)?;
    let pa =
        reply::parse_paper(exchange(link, StatusRequest::Paper, timeout)?).map_err(malformed)?;
    Ok(PrinterStatus::from_replies(p, o, e, pa, sensor))
}

/// Sends one request and returns the one byte that answers it.
pub fn exchange(
    link: &mut dyn Link,
    request: StatusRequest,
    timeout: Duration,
) -> Result<u8, StatusError> {
    let device = link.device().to_string();
    let io_err = |source| StatusError::Io {
        device: device.clone(),
        request,
        source,
    };
    link.discard_input().map_err(&io_err)?;
    link.write_all(&request.bytes())
        .and_then(|()| link.flush())
        .map_err(&io_err)?;
    let deadline = Instant::now() + timeout;
    let mut byte = [0u8; 1];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        link.set_read_timeout(left).map_err(&io_err)?;
        match link.read(&mut byte) {
            Ok(1) => return Ok(byte[0]),
            Ok(_) => {
                let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "closed by the device");
                return Err(io_err(eof));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break,
            Err(e) => return Err(io_err(e)),
        }
    }
    Err(StatusError::NoReply { device, request })
}
