//! Over-the-air updates for the terminal: firmware and models.
//!
//! This crate owns the update *logic*: the signed bundle format and its
//! verification, the A/B slot scheme and the bootloader environments that
//! carry it, and the updater state machine. It is sans-IO where it decides
//! (pure functions of state, input and time) and keeps its I/O to thin
//! adapters over files and block devices handed in by the caller. It must not
//! open sockets, talk to the cloud or the store cluster, or know about sales:
//! the terminal decides *when* an update may install and feeds the bytes in.

pub mod bundle;
pub mod install;
pub mod keys;
pub mod manifest;
pub mod slot;
pub mod verify;
pub mod version;

pub mod atomic_file;
pub mod boot_env;
pub mod bootloader;
pub mod grubenv;
pub mod health;
pub mod schedule;
pub mod ubootenv;
pub mod updater;
