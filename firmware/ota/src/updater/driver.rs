//! Runs the updater's actions against a host: the thin loop between the pure
//! [`step`] and the I/O the terminal provides.
//!
//! Owns the execution order: actions run one after the other, each one that
//! writes is durable before the next, an action's answer (an event) is
//! stepped at once and its actions run before the rest, and a `Reboot` ends
//! the run. Boot environment actions are read-modify-write through the
//! host's [`Bootloader`]. It must not decide anything: every decision is in
//! [`step`].

use super::state::{Action, Event, UpdateRecord};
use super::step::{step, StepError, Updater};
use crate::bootloader::{Bootloader, BootloaderError};
use crate::slot::Slot;

/// The I/O the updater needs, supplied by the terminal (or by a test's
/// simulated disk).
pub trait UpdateHost {
    /// The host's error for its own I/O.
    type Error: std::error::Error + 'static;
    /// Now, Unix milliseconds.
    fn now_unix_ms(&mut self) -> u64;
    /// Stores the record durably.
    fn persist(&mut self, record: &UpdateRecord) -> Result<(), Self::Error>;
    /// The bootloader environment.
    fn bootloader(&mut self) -> &mut dyn Bootloader;
    /// Fetches or resumes the bundle: `DownloadDone` or `DownloadFailed`.
    fn download(&mut self) -> Result<Event, Self::Error>;
    /// Verifies the bundle: `Verified` or `VerifyFailed`.
    fn verify(&mut self) -> Result<Event, Self::Error>;
    /// Writes the payload into `slot` and syncs it: `WriteDone` or `WriteFailed`.
    fn write_slot(&mut self, slot: Slot) -> Result<Event, Self::Error>;
    /// Runs the health check: `HealthPassed` or `HealthFailed`.
    fn check_health(&mut self) -> Result<Event, Self::Error>;
    /// Deletes the downloaded bundle.
    fn discard_download(&mut self) -> Result<(), Self::Error>;
    /// Reboots (on a real terminal this does not come back).
    fn reboot(&mut self) -> Result<(), Self::Error>;
}

/// Why a run stopped before its actions were done.
#[derive(Debug, thiserror::Error)]
pub enum DriveError<E: std::error::Error + 'static> {
    /// The updater refused an event.
    #[error("updater: {0}")]
    Step(#[from] StepError),
    /// The bootloader environment could not be read or written.
    #[error("{0}")]
    Bootloader(#[from] BootloaderError),
    /// The host's I/O failed.
    #[error("{0}")]
    Host(#[source] E),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every action ran; the system keeps running.
    Settled,
    /// A `Reboot` was issued.
    Rebooted,
}

/// Steps `event` and runs the resulting actions (and those of the events they
/// answer with). Returns the updater as it stands and how the run ended. On
/// error the updater's persisted record is whatever the last `Persist` wrote.
pub fn run<H: UpdateHost>(
    u: &Updater,
    event: Event,
    host: &mut H,
) -> Result<(Updater, RunEnd), DriveError<H::Error>> {
    let now = host.now_unix_ms();
    let (mut u, actions) = step(u, event, now)?;
    for action in actions {
        let answer = match action {
            Action::Persist => {
                host.persist(&u.record).map_err(DriveError::Host)?;
                None
            }
            Action::Download => Some(host.download().map_err(DriveError::Host)?),
            Action::Verify => Some(host.verify().map_err(DriveError::Host)?),
            Action::WriteSlot(slot) => Some(host.write_slot(slot).map_err(DriveError::Host)?),
            Action::CheckHealth => Some(host.check_health().map_err(DriveError::Host)?),
            Action::MarkBad(slot) => {
                edit_env(host.bootloader(), |e| e.mark_bad(slot))?;
                None
            }
            Action::MarkGood(slot) => {
                edit_env(host.bootloader(), |e| e.mark_good(slot))?;
                None
            }
            Action::SwitchTo(slot) => {
                edit_env(host.bootloader(), |e| e.try_slot(slot))?;
                Some(Event::Switched)
            }
            Action::DiscardDownload => {
                host.discard_download().map_err(DriveError::Host)?;
                None
            }
            Action::Reboot => {
                host.reboot().map_err(DriveError::Host)?;
                return Ok((u, RunEnd::Rebooted));
            }
        };
        if let Some(event) = answer {
            let (next, end) = run(&u, event, host)?;
            u = next;
            if end == RunEnd::Rebooted {
                return Ok((u, RunEnd::Rebooted));
            }
        }
    }
    Ok((u, RunEnd::Settled))
}

fn edit_env(
    bl: &mut dyn Bootloader,
    f: impl FnOnce(&mut crate::boot_env::BootEnv),
) -> Result<(), BootloaderError> {
    let mut env = bl.read()?;
    let before = env;
    f(&mut env);
    if env != before {
        bl.write(&env)?;
    }
    Ok(())
}
