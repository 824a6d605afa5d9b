//! A virtual keyboard-wedge barcode scanner for tests on a Linux guest: a
//! `/dev/uinput` keyboard that types each barcode it is given as a scanner
//! programmed for a layout would (the key events of
//! `keel_devices::scanner::record::Recorder`, paced by their timestamps),
//! and a stable symlink to its event node for the terminal's `[scanner]`.
//!
//! [`uinput`] owns the device (ioctls, creation, the event node);
//! [`plan`] is pure: barcodes to paced key events. This crate must not
//! decode scans (the terminal's evdev path does that, EVIOCGRAB included).

pub mod plan;
pub mod uinput;
