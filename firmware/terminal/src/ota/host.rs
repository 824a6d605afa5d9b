//! keel-ota's [`UpdateHost`] over the terminal's real files: the record on
//! the data partition, the board's bootloader environment, the pending
//! bundle in `<data-dir>/ota/bundles/`, the slot devices, the health probe
//! and the reboot command.
//!
//! This module owns that I/O; every decision stays in keel-ota's updater.

use super::firmware::FirmwareSetup;
use super::health_probe::HealthProbe;
use super::layout::{LayoutError, OtaLayout};
use super::logged_sink::LoggedSink;
use keel_ota::bootloader::Bootloader;
use keel_ota::install::{install_with_progress, Progress, SlotSink};
use keel_ota::slot::Slot;
use keel_ota::updater::{Event, RecordError, RecordFile, UpdateHost, UpdateRecord};
use keel_ota::verify::{read_header, InstallPolicy};
use keel_ota::version::Version;
use std::io::BufReader;
use std::path::PathBuf;

/// The host's own I/O failures (the updater stops; the record stays as last
/// persisted and start-up resumes from it).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The record could not be stored.
    #[error("{0}")]
    Record(#[from] RecordError),
    /// A file of the OTA layout could not be read or written.
    #[error("{0}")]
    Layout(#[from] LayoutError),
    /// The reboot command could not run or failed.
    #[error("reboot command {command:?}: {reason}")]
    Reboot {
        /// The command.
        command: Vec<String>,
        /// What went wrong.
        reason: String,
    },
}

/// What the host needs besides the setup.
pub struct TerminalHost<'a> {
    /// The slots and the environment.
    pub setup: &'a FirmwareSetup,
    /// The bootloader environment.
    pub bootloader: Box<dyn Bootloader + Send>,
    /// The OTA files.
    pub layout: &'a OtaLayout,
    /// The record file.
    pub record: RecordFile,
    /// The board name, trusted keys (policy without version and downgrade).
    pub policy: InstallPolicy,
    /// Payload bytes written, for `status`.
    pub progress: Progress,
    /// The health check.
    pub probe: &'a HealthProbe,
    /// The reboot command.
    pub reboot_command: &'a [String],
    /// Called with every record persisted (the service's mirror for `status`).
    pub on_persist: &'a dyn Fn(&UpdateRecord),
}

impl TerminalHost<'_> {
    fn pending_policy(&self) -> Result<Option<(PathBuf, InstallPolicy)>, HostError> {
        let Some(p) = self.layout.pending()? else {
            return Ok(None);
        };
        let running = Version::parse(crate::node::firmware_version()).unwrap_or(Version {
            major: 0,
            minor: 0,
            patch: 0,
        });
        Ok(Some((
            p.bundle,
            InstallPolicy {
                running,
                allow_downgrade: p.allow_downgrade,
                ..self.policy.clone()
            },
        )))
    }
}

impl UpdateHost for TerminalHost<'_> {
    type Error = HostError;

    fn now_unix_ms(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn persist(&mut self, record: &UpdateRecord) -> Result<(), HostError> {
        std::fs::create_dir_all(self.layout.root()).map_err(|source| {
            HostError::Layout(LayoutError::Io {
                action: "creating",
                path: self.layout.root().to_path_buf(),
                source,
            })
        })?;
        self.record.store(record)?;
        log::info!("ota: updater state {}", record.update.name());
        (self.on_persist)(record);
        Ok(())
    }

    fn bootloader(&mut self) -> &mut dyn Bootloader {
        self.bootloader.as_mut()
    }

    fn download(&mut self) -> Result<Event, HostError> {
        // The channel (or `ota install`) put the complete bundle in place
        // before the update started: "downloading" only checks it is there.
        Ok(match self.pending_policy()? {
            Some((path, _)) if path.is_file() => Event::DownloadDone,
            Some((path, _)) => {
                Event::DownloadFailed(format!("the bundle {} is gone", path.display()))
            }
            None => Event::DownloadFailed("no bundle pending".into()),
        })
    }

    fn verify(&mut self) -> Result<Event, HostError> {
        let Some((path, policy)) = self.pending_policy()? else {
            return Ok(Event::VerifyFailed("no bundle pending".into()));
        };
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => return Ok(Event::VerifyFailed(format!("{}: {e}", path.display()))),
        };
        Ok(match read_header(&mut BufReader::new(file), &policy) {
            Ok(h) if h.manifest.kind == keel_ota::manifest::BundleKind::Firmware => Event::Verified,
            Ok(h) => Event::VerifyFailed(format!("a {} bundle, not firmware", h.manifest.kind)),
            Err(e) => Event::VerifyFailed(e.to_string()),
        })
    }

    fn write_slot(&mut self, slot: Slot) -> Result<Event, HostError> {
        let Some((path, policy)) = self.pending_policy()? else {
            return Ok(Event::WriteFailed("no bundle pending".into()));
        };
        self.layout.set_slot(slot, None)?;
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => return Ok(Event::WriteFailed(format!("{}: {e}", path.display()))),
        };
        let device = self.setup.device(slot).to_path_buf();
        let mut sink = LoggedSink::new(
            SlotSink::new(&device),
            format!("slot {slot} ({})", device.display()),
        );
        match install_with_progress(
            &mut BufReader::new(file),
            &policy,
            &mut sink,
            &self.progress,
        ) {
            Ok(report) => {
                log::info!(
                    "ota: slot {slot} ({}) holds {} ({} bytes)",
                    device.display(),
                    report.manifest.version,
                    report.bytes_written
                );
                self.layout
                    .set_slot(slot, Some(report.manifest.version.to_string()))?;
                Ok(Event::WriteDone)
            }
            Err(e) => Ok(Event::WriteFailed(format!(
                "writing slot {slot} ({}): {e}",
                device.display()
            ))),
        }
    }

    fn check_health(&mut self) -> Result<Event, HostError> {
        Ok(match self.probe.run() {
            Ok(()) => {
                log::info!("ota: health check passed");
                Event::HealthPassed
            }
            Err(reason) => Event::HealthFailed(reason),
        })
    }

    fn discard_download(&mut self) -> Result<(), HostError> {
        Ok(self.layout.discard_pending()?)
    }

    fn reboot(&mut self) -> Result<(), HostError> {
        let command = self.reboot_command.to_vec();
        let fail = |reason: String| HostError::Reboot {
            command: command.clone(),
            reason,
        };
        let (program, args) = command
            .split_first()
            .ok_or_else(|| fail("empty command".into()))?;
        log::warn!("ota: rebooting: {}", command.join(" "));
        let status = std::process::Command::new(program)
            .args(args)
            .status()
            .map_err(|e| fail(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(fail(format!("exited with {status}")))
        }
    }
}
