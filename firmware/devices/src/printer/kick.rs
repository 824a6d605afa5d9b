//! Drawer kicks through the printer: the command bytes, the request the
//! worker serves ahead of any job, and the ticket the caller waits on.
//!
//! A kick is tried until its deadline and then given up (a drawer that
//! springs open a minute after the sale is worse than one that does not
//! open); once bytes may have reached the printer it is never repeated, so a
//! drawer never opens twice for one kick.

use crate::escpos::kick::DrawerPin;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The command that pulses the drawer pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KickCommand {
    /// `ESC p m t1 t2`: on for `t1` x 2 ms, off for `t2` x 2 ms (default
    /// 25 and 250: 50 ms on, 500 ms off). Printers that go offline at paper
    /// end may hold it until paper is back; use `RealTime` for those.
    EscP {
        /// On time, 2 ms units.
        t1: u8,
        /// Off time, 2 ms units.
        t2: u8,
    },
    /// `DLE DC4 1 m t`: a real-time pulse of `t` x 100 ms (1 to 8), executed
    /// even while the printer is offline.
    RealTime {
        /// Pulse time, 100 ms units (1 to 8).
        t: u8,
    },
}

impl Default for KickCommand {
    fn default() -> Self {
        KickCommand::EscP { t1: 25, t2: 250 }
    }
}

impl KickCommand {
    /// The bytes that pulse `pin`.
    pub fn bytes(self, pin: DrawerPin) -> Vec<u8> {
        match self {
            KickCommand::EscP { t1, t2 } => vec![0x1B, b'p', pin.m(), t1, t2],
            KickCommand::RealTime { t } => vec![0x10, 0x14, 1, pin.m(), t.clamp(1, 8)],
        }
    }
}

/// How a kick ended, as the worker reports it.
#[derive(Debug)]
pub(super) enum KickOutcome {
    Sent,
    Expired(String),
    Failed(String),
}

/// A kick waiting for the worker.
#[derive(Debug)]
pub(super) struct KickRequest {
    pub bytes: Vec<u8>,
    pub deadline: Instant,
    pub done: SyncSender<KickOutcome>,
}

/// Why a drawer kick did not go out.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KickError {
    /// The printer could not be reached before the kick's deadline; the
    /// drawer was not kicked and will not be.
    #[error("drawer not kicked: {0}")]
    Expired(String),
    /// Sending the kick failed part way; the drawer may or may not have opened
    /// and the kick is not repeated.
    #[error("drawer kick failed, the drawer may not have opened: {0}")]
    Failed(String),
    /// The printer worker has stopped.
    #[error("the printer worker has stopped")]
    Stopped,
}

/// A kick handed to the printer worker; [`KickTicket::wait`] says how it went.
#[derive(Debug)]
pub struct KickTicket {
    pub(super) rx: Receiver<KickOutcome>,
    /// When the worker will have answered at the latest.
    pub(super) answer_by: Instant,
}

impl KickTicket {
    /// Waits until the kick went out or was given up (bounded by the kick
    /// deadline plus one write timeout).
    pub fn wait(self) -> Result<(), KickError> {
        let left = self.answer_by.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left.max(Duration::from_millis(1))) {
            Ok(KickOutcome::Sent) => Ok(()),
            Ok(KickOutcome::Expired(why)) => Err(KickError::Expired(why)),
            Ok(KickOutcome::Failed(why)) => Err(KickError::Failed(why)),
            Err(RecvTimeoutError::Timeout) => Err(KickError::Expired(
                "the printer worker is busy with a job".into(),
            )),
            Err(RecvTimeoutError::Disconnected) => Err(KickError::Stopped),
        }
    }
}
