//! The bootloader as the updater sees it: somewhere to read and write the
//! A/B [`BootEnv`].
//!
//! Owns the [`Bootloader`] trait and its error type. The implementations are
//! [`crate::grubenv::GrubEnvFile`] (x86 boards booting GRUB) and
//! [`crate::ubootenv::UbootEnvFile`] (boards booting U-Boot). This module
//! must not decide anything about slots; that is [`crate::boot_env`].

use crate::boot_env::{BootEnv, BootEnvError};
use std::path::PathBuf;

/// Reads and writes the A/B variables of one bootloader's environment.
///
/// `write` must be durable when it returns (fsynced) and must keep every
/// other variable of the environment as it was.
pub trait Bootloader {
    /// Reads the current A/B state.
    fn read(&mut self) -> Result<BootEnv, BootloaderError>;
    /// Stores `env`, durably, leaving other variables alone.
    fn write(&mut self, env: &BootEnv) -> Result<(), BootloaderError>;
}

/// Why the bootloader environment could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BootloaderError {
    /// Reading, writing or syncing the environment's file or device failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The file or device.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The GRUB environment block is malformed or would not fit.
    #[error("GRUB environment {path}: {source}")]
    Grub {
        /// The grubenv file.
        path: PathBuf,
        /// What is wrong with it.
        source: crate::grubenv::GrubEnvError,
    },
    /// The U-Boot environment is malformed, fails its CRC or would not fit.
    #[error("U-Boot environment: {0}")]
    Uboot(#[from] crate::ubootenv::UbootEnvError),
    /// The environment holds A/B variables with values the scheme does not know.
    #[error("bootloader environment: {0}")]
    BootEnv(#[from] BootEnvError),
}
