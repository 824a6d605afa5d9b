//! The cash drawer: kicked through a printer's drawer port (`ESC p`, or
//! `DLE DC4` as the printer is configured) or through its own serial port,
//! with its open/closed state where the hardware reports it (pin 3 of the
//! printer's drawer port, read with `DLE EOT 1`).
//!
//! Owns talking to the drawer. It must not decide when a drawer may open
//! (only on a cash tender or an authorized no-sale: the terminal's rule) nor
//! journal openings (the terminal journals each one before kicking). No
//! call here waits longer than its timeout; a kick is never repeated, so a
//! drawer never opens twice for one `open`.

mod serial;

pub use serial::{SerialDrawer, DEFAULT_SERIAL_KICK};

use crate::escpos::kick::DrawerPin;
use crate::link::LinkError;
use crate::printer::{KickError, PrinterError, PrinterHandle};
use crate::status::DrawerSensor;
use std::io;
use std::thread;
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often [`Drawer::wait_closed`] asks.
const POLL: Duration = Duration::from_millis(100);

/// Why a drawer operation failed.
#[derive(Debug, Error)]
pub enum DrawerError {
    /// The kick through the printer did not go out (or may not have).
    #[error(transparent)]
    Kick(#[from] KickError),
    /// The printer worker could not take the request.
    #[error(transparent)]
    Printer(#[from] PrinterError),
    /// The serial drawer's port could not be opened.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Writing to the serial drawer failed.
    #[error("cash drawer {device}: {source}")]
    Io {
        /// Its port.
        device: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// This drawer does not report whether it is open.
    #[error("this cash drawer does not report whether it is open")]
    NoSensor,
    /// The drawer did not report closed in time (still open, a switch that
    /// never reports closed, or the printer stopped answering).
    #[error("cash drawer not reported closed after {0:?}")]
    NotClosed(Duration),
}

/// A cash drawer.
#[derive(Clone, Debug)]
pub enum Drawer {
    /// On a printer's drawer port, pulsing this pin.
    ViaPrinter(PrinterHandle, DrawerPin),
    /// On its own serial port.
    Serial(SerialDrawer),
}

impl Drawer {
    /// Kicks the drawer open. Through a printer the kick goes ahead of queued
    /// jobs and this waits at most the printer's kick deadline plus a write
    /// timeout; a serial drawer's port is opened, written and closed.
    pub fn open(&self) -> Result<(), DrawerError> {
        match self {
            Drawer::ViaPrinter(printer, pin) => Ok(printer.kick_drawer(*pin)?.wait()?),
            Drawer::Serial(drawer) => drawer.kick(),
        }
    }

    /// Whether the drawer is open, asked now: `None` when unknown (no switch,
    /// a serial drawer, the printer not answering or busy past the status
    /// timeout).
    pub fn status(&self) -> Option<bool> {
        match self {
            Drawer::ViaPrinter(printer, _) => {
                let cfg = printer.config();
                self.status_within(cfg.status_timeout * 4 + cfg.timeouts.write)
            }
            Drawer::Serial(_) => None,
        }
    }

    fn status_within(&self, timeout: Duration) -> Option<bool> {
        match self {
            Drawer::ViaPrinter(printer, _) => {
                let status = printer.refresh_status(timeout).ok()?;
                if status.reachable {
                    status.drawer_open
                } else {
                    None
                }
            }
            Drawer::Serial(_) => None,
        }
    }

    /// Whether this drawer can report its state at all.
    pub fn has_sensor(&self) -> bool {
        match self {
            Drawer::ViaPrinter(printer, _) => {
                printer.config().drawer_sensor != DrawerSensor::Absent
            }
            Drawer::Serial(_) => false,
        }
    }

    /// Waits until the drawer reports closed, at most `timeout`. A drawer
    /// that never reports closed (jammed, a broken switch, the printer gone)
    /// gives [`DrawerError::NotClosed`], never a hang. Right after a kick the
    /// drawer may not have moved yet: wait for it to report open first if the
    /// caller needs the open-then-closed sequence.
    pub fn wait_closed(&self, timeout: Duration) -> Result<(), DrawerError> {
        if !self.has_sensor() {
            return Err(DrawerError::NoSensor);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DrawerError::NotClosed(timeout));
            }
            if self.status_within(left) == Some(false) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            thread::sleep(POLL.min(left));
        }
    }
}
