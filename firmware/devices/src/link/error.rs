//! Why a link could not be opened, naming the device.

use std::io;
use thiserror::Error;

/// Errors from [`super::open`].
#[derive(Debug, Error)]
pub enum LinkError {
    /// The serial device could not be opened or configured (absent, unplugged,
    /// in use, not a tty, a baud rate the driver refuses).
    #[error("cannot open serial port {device}: {reason}")]
    Serial {
        /// The device path.
        device: String,
        /// serialport's or the OS's reason.
        reason: String,
    },
    /// The TCP connection was refused, timed out or failed.
    #[error("cannot connect to printer {device}: {source}")]
    Tcp {
        /// The address, `host:port`.
        device: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A timeout of zero was given; every link needs real timeouts.
    #[error("{device}: timeouts must be longer than zero")]
    ZeroTimeout {
        /// The device the timeouts were for.
        device: String,
    },
}
