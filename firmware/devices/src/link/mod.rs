//! The byte link to a printer or serial drawer: a serial port or a raw TCP
//! connection (port 9100, the usual kitchen-printer port), always with read
//! and write timeouts.
//!
//! Owns opening and configuring the device and the timeout discipline: no
//! read, write or flush on a [`Link`] waits longer than its timeout, so an
//! unplugged or silent device surfaces as an error instead of a hang. It must
//! not know ESC/POS, retry, or decide anything about jobs.

mod error;
mod serial;
mod tcp;

pub use error::LinkError;

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serial flow control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FlowControl {
    /// No flow control.
    #[default]
    None,
    /// RTS/CTS.
    Hardware,
    /// XON/XOFF.
    Software,
}

/// Bits per serial character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DataBits {
    /// 7 bits.
    Seven,
    /// 8 bits.
    #[default]
    Eight,
}

/// Serial parity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// Serial stop bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum StopBits {
    /// One stop bit.
    #[default]
    One,
    /// Two stop bits.
    Two,
}

/// Where a device is and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LinkSpec {
    /// A serial port (a real UART, USB serial, or a pseudo-terminal in tests).
    Serial {
        /// Device node, e.g. `/dev/serial/by-id/usb-EPSON…` or `/dev/ttyS1`.
        path: PathBuf,
        /// Baud rate (ignored by pseudo-terminals).
        baud: u32,
        /// Flow control.
        flow: FlowControl,
        /// Data bits (8 unless the device says otherwise).
        data_bits: DataBits,
        /// Parity (none unless the device says otherwise).
        parity: Parity,
        /// Stop bits (1 unless the device says otherwise).
        stop_bits: StopBits,
    },
    /// A raw TCP connection, e.g. a kitchen printer at `192.168.1.60:9100`.
    /// An address, not a host name: resolving names could block without a
    /// timeout.
    Tcp {
        /// The printer's address.
        addr: SocketAddr,
    },
}

impl LinkSpec {
    /// A serial port at `baud`, 8N1, no flow control.
    pub fn serial(path: impl Into<PathBuf>, baud: u32) -> LinkSpec {
        LinkSpec::Serial {
            path: path.into(),
            baud,
            flow: FlowControl::None,
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
        }
    }

    /// A raw TCP printer.
    pub fn tcp(addr: SocketAddr) -> LinkSpec {
        LinkSpec::Tcp { addr }
    }

    /// The same spec with another flow control (no-op for TCP).
    pub fn with_flow(mut self, new_flow: FlowControl) -> LinkSpec {
        if let LinkSpec::Serial { flow, .. } = &mut self {
            *flow = new_flow;
        }
        self
    }

    /// The device's name for logs and errors: the path, or `tcp://addr`.
    pub fn device(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkSpec::Serial { path, .. } => write!(f, "{}", path.display()),
            LinkSpec::Tcp { addr } => write!(f, "tcp://{addr}"),
        }
    }
}

/// How long a link waits, at most, for each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (serial opens do not wait).
    pub connect: Duration,
    /// One read: how long to wait for the first byte.
    pub read: Duration,
    /// One write, or a flush without progress: how long the device may take
    /// no bytes (flow control holding us, a vanished device).
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            read: Duration::from_secs(1),
            write: Duration::from_secs(5),
        }
    }
}

/// An open byte link. Every operation has a timeout: a read with nothing to
/// read and a write or flush the device does not take fail with
/// [`io::ErrorKind::TimedOut`]; a vanished device fails with another error.
pub trait Link: Read + Write + Send {
    /// The device's name (path or `tcp://addr`), for logs and errors.
    fn device(&self) -> &str;

    /// Sets how long one read waits for its first byte (zero is refused).
    fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()>;

    /// Drops whatever the device sent that nobody has read (stale replies),
    /// without waiting.
    fn discard_input(&mut self) -> io::Result<()>;
}

/// Opens the device `spec` names with `timeouts` set.
pub fn open(spec: &LinkSpec, timeouts: Timeouts) -> Result<Box<dyn Link>, LinkError> {
    if timeouts.connect.is_zero() || timeouts.read.is_zero() || timeouts.write.is_zero() {
        return Err(LinkError::ZeroTimeout {
            device: spec.device(),
        });
    }
    match spec {
        LinkSpec::Serial {
            path,
            baud,
            flow,
            data_bits,
            parity,
            stop_bits,
        } => {
            let settings = serial::Settings {
                baud: *baud,
                flow: *flow,
                data_bits: *data_bits,
                parity: *parity,
                stop_bits: *stop_bits,
            };
            Ok(Box::new(serial::SerialLink::open(
                path, settings, timeouts,
            )?))
        }
        LinkSpec::Tcp { addr } => Ok(Box::new(tcp::TcpLink::open(*addr, timeouts)?)),
    }
}

/// Turns the "would block" a socket reports on a timeout into `TimedOut`.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out")
    } else {
        e
    }
}
