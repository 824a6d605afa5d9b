//! What firmware OTA needs from the board and the config, resolved once at
//! start: the slot running now (the kernel command line's `keel.slot=`, or
//! `[ota] running_slot`), each slot's device (the board's `rootfs-a`/`rootfs-b`
//! partitions, or `[ota] slot_a`/`slot_b`), and the bootloader environment
//! (GRUB's grubenv or U-Boot's environment, from the board or
//! `[ota] boot_environment`). Without a board or a running slot there is no
//! firmware OTA, and [`FirmwareSetup::resolve`] says why.
//!
//! This module owns that resolution; it must not write anything.

use crate::config::OtaSettings;
use keel_board::{Board, BootloaderKind};
use keel_ota::bootloader::Bootloader;
use keel_ota::grubenv::GrubEnvFile;
use keel_ota::slot::Slot;
use keel_ota::ubootenv::{EnvCopy, UbootEnvConfig, UbootEnvFile};
use std::path::{Path, PathBuf};

/// The kernel command line the running slot is read from.
pub const PROC_CMDLINE: &str = "/proc/cmdline";

/// Firmware OTA's fixed facts on this terminal.
#[derive(Debug, Clone)]
pub struct FirmwareSetup {
    /// The slot running now.
    pub running: Slot,
    /// Slot A's device (or image file).
    pub slot_a: PathBuf,
    /// Slot B's device (or image file).
    pub slot_b: PathBuf,
    /// The bootloader kind.
    pub bootloader: BootloaderKind,
    /// The environment file (grubenv, uboot.env) or fw_env.config's first copy.
    pub environment: PathBuf,
    /// U-Boot: the environment layout.
    pub uboot: Option<UbootEnvConfig>,
}

/// The `keel.slot=` value of a kernel command line.
pub fn slot_from_cmdline(cmdline: &str) -> Option<Slot> {
    cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("keel.slot="))
        .and_then(|v| v.parse().ok())
}

impl FirmwareSetup {
    /// Resolves the setup, or the reason firmware OTA is off.
    pub fn resolve(board: Option<&Board>, s: &OtaSettings) -> Result<FirmwareSetup, String> {
        let board = board.ok_or(
            "no board description ([terminal] board or --board): firmware OTA is off".to_string(),
        )?;
        let running = match s.running_slot {
            Some(slot) => slot,
            None => std::fs::read_to_string(PROC_CMDLINE)
                .ok()
                .and_then(|c| slot_from_cmdline(&c))
                .ok_or_else(|| {
                    format!("{PROC_CMDLINE} has no keel.slot=A|B and [ota] running_slot is not set: firmware OTA is off")
                })?,
        };
        let device = |slot: Slot| {
            s.slot_override(slot)
                .cloned()
                .unwrap_or_else(|| board.slot_device(slot.letter().chars().next().unwrap_or('a')))
        };
        let environment = s
            .boot_environment
            .clone()
            .unwrap_or_else(|| board.environment_path());
        let uboot = match board.boot.bootloader {
            BootloaderKind::GrubEfi => None,
            BootloaderKind::UBoot => Some(uboot_config(board, s, &environment)?),
        };
        Ok(FirmwareSetup {
            running,
            slot_a: device(Slot::A),
            slot_b: device(Slot::B),
            bootloader: board.boot.bootloader,
            environment,
            uboot,
        })
    }

    /// The device of `slot`.
    pub fn device(&self, slot: Slot) -> &Path {
        match slot {
            Slot::A => &self.slot_a,
            Slot::B => &self.slot_b,
        }
    }

    /// The bootloader environment as a [`Bootloader`].
    pub fn open_bootloader(&self) -> Box<dyn Bootloader + Send> {
        match &self.uboot {
            Some(cfg) => Box::new(UbootEnvFile::new(cfg.clone())),
            None => Box::new(GrubEnvFile::new(&self.environment)),
        }
    }
}

fn uboot_config(
    board: &Board,
    s: &OtaSettings,
    environment: &Path,
) -> Result<UbootEnvConfig, String> {
    if s.boot_environment.is_none() {
        if let Some(cfg) = &board.boot.fw_env_config {
            let text = std::fs::read_to_string(cfg)
                .map_err(|e| format!("{}: {e}: firmware OTA is off", cfg.display()))?;
            return UbootEnvConfig::parse(&text)
                .map_err(|e| format!("{}: {e}: firmware OTA is off", cfg.display()));
        }
    }
    let size = board.boot.env_size.ok_or_else(|| {
        "the board gives no boot.env_size for its U-Boot environment: firmware OTA is off"
            .to_string()
    })?;
    UbootEnvConfig::new(
        vec![EnvCopy {
            path: environment.to_path_buf(),
            offset: 0,
        }],
        size,
    )
    .map_err(|e| format!("U-Boot environment {}: {e}", environment.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_comes_from_the_kernel_command_line() {
        assert_eq!(
            slot_from_cmdline("root=PARTLABEL=rootfs-b rw keel.slot=B quiet\n"),
            Some(Slot::B)
        );
        assert_eq!(slot_from_cmdline("root=/dev/sda2 keel.slot=C"), None);
        assert_eq!(slot_from_cmdline("quiet"), None);
    }
}
