//! A cash drawer on its own serial port: a configurable byte sequence opens
//! it. Such drawers report no state here.

use super::DrawerError;
use crate::link::{self, LinkSpec, Timeouts};
use std::io::Write;

/// The usual serial-drawer command: `ESC p 0 25 250` (pin 2, 50 ms on,
/// 500 ms off), as for a printer's drawer port.
pub const DEFAULT_SERIAL_KICK: [u8; 5] = [0x1B, b'p', 0, 25, 250];

/// A drawer with its own serial port. The port is opened for each kick and
/// closed after, so a drawer unplugged and plugged back needs nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialDrawer {
    /// Its port.
    pub spec: LinkSpec,
    /// Link timeouts.
    pub timeouts: Timeouts,
    /// The bytes that open it.
    pub kick: Vec<u8>,
}

impl SerialDrawer {
    /// A drawer at `spec` with default timeouts and [`DEFAULT_SERIAL_KICK`].
    pub fn new(spec: LinkSpec) -> SerialDrawer {
        SerialDrawer {
            spec,
            timeouts: Timeouts::default(),
            kick: DEFAULT_SERIAL_KICK.to_vec(),
        }
    }

    /// The same drawer opened by another byte sequence.
    pub fn with_kick(mut self, kick: Vec<u8>) -> SerialDrawer {
        self.kick = kick;
        self
    }

    /// Sends the kick bytes once (never repeated on failure).
    pub(super) fn kick(&self) -> Result<(), DrawerError> {
        let mut link = link::open(&self.spec, self.timeouts)?;
        link.write_all(&self.kick)
            .and_then(|()| link.flush())
            .map_err(|source| DrawerError::Io {
                device: self.spec.device(),
                source,
            })
    }
}
