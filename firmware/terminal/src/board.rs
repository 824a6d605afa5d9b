//! The board description as the terminal uses it at start: its serial
//! console, receipt printer (and the drawer through it) and scale become
//! defaults under the config's explicit sections (the config wins), and the
//! board goes to the OTA service (bootloader, slots, board name).
//!
//! This module owns only those defaults; it must not open a device.

use crate::config::{DevicesConfig, DrawerConfig, Flow, PortConfig, PrinterConfig, ScaleConfig};
use keel_board::Board;
use std::path::PathBuf;

/// Fills what the config leaves unset from the board: the console device
/// (with its baud), the printer, the drawer through the printer, the scale.
pub fn apply_defaults(
    board: &Board,
    console_device: &mut Option<PathBuf>,
    console_baud: &mut u32,
    devices: &mut DevicesConfig,
) {
    if console_device.is_none() {
        if let Some(c) = board.serial_port("console") {
            *console_device = Some(c.device.clone());
            *console_baud = c.baud;
        }
    }
    if devices.printer.is_none() {
        if let Some(p) = board.serial_port("printer") {
            devices.printer = Some(PrinterConfig {
                port: PortConfig::Serial {
                    path: p.device.clone(),
                    baud: p.baud,
                    flow: Flow::None,
                },
                width_mm: 80,
                codepage: "cp858".into(),
                drawer_pin: 2,
            });
            if devices.drawer.is_none() && p.drawer.as_deref() == Some("printer") {
                devices.drawer = Some(DrawerConfig::ViaPrinter);
            }
        }
    }
    if devices.scale.is_none() {
        if let Some(s) = board.serial_port("scale") {
            devices.scale = Some(ScaleConfig {
                path: s.device.clone(),
                baud: s.baud,
                protocol: "cas".into(),
                mode: "continuous".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_wins_over_the_board() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../board/qemu-x86_64/board.toml"
        );
        let board = keel_board::load(std::path::Path::new(path)).unwrap();
        let (mut dev, mut baud, mut devices) = (None, 9600, DevicesConfig::default());
        apply_defaults(&board, &mut dev, &mut baud, &mut devices);
        assert_eq!(dev, Some(PathBuf::from("/dev/ttyS0")));
        assert_eq!(baud, 115200);
        assert_eq!(devices.drawer, Some(DrawerConfig::ViaPrinter));
        assert_eq!(
            devices.scale.as_ref().unwrap().path,
            PathBuf::from("/dev/ttyS3")
        );
        let mut own = Some(PathBuf::from("/dev/ttyUSB9"));
        let mut devices2 = DevicesConfig {
            scale: devices.scale.clone().map(|mut s| {
                s.path = "/dev/ttyACM3".into();
                s
            }),
            ..DevicesConfig::default()
        };
        apply_defaults(&board, &mut own, &mut baud, &mut devices2);
        assert_eq!(own, Some(PathBuf::from("/dev/ttyUSB9")));
        assert_eq!(devices2.scale.unwrap().path, PathBuf::from("/dev/ttyACM3"));
    }
}
