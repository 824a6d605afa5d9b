//! The board description as the terminal uses it at start: its serial
//! console, receipt and kitchen printers, cash drawer (through the printer or
//! on its own port), barcode scanner (an evdev node, `auto`, or a serial port)
//! and scale become defaults under the config's explicit sections (the config
//! wins), and the board goes to the OTA service (bootloader, slots, board name).
//!
//! This module owns only those defaults and finding an `auto` scanner among
//! the kernel's input devices; it must not open a device.

use crate::config::{
    DevicesConfig, DrawerConfig, Flow, PortConfig, PrinterConfig, ScaleConfig, ScannerConfig,
    ScannerSource,
};
use keel_board::{Board, InputDevice, SerialPort};
use std::path::{Path, PathBuf};

/// Where udev names input devices by their USB identity; a scanner keeps its
/// name there across unplugging, so the scanner source reopens the same path.
pub const INPUT_BY_ID: &str = "/dev/input/by-id";

/// Words in a `/dev/input/by-id` name that mark a barcode scanner (USB HID
/// scanners present themselves as keyboards; their vendor or product names
/// say what they are).
const SCANNER_NAME_WORDS: [&str; 9] = [
    "scan",
    "barcode",
    "bar_code",
    "honeywell",
    "zebra",
    "symbol",
    "datalogic",
    "newland",
    "metrologic",
];

/// Fills what the config leaves unset from the board, finding an `auto`
/// scanner under [`INPUT_BY_ID`].
pub fn apply_defaults(
    board: &Board,
    console_device: &mut Option<PathBuf>,
    console_baud: &mut u32,
    devices: &mut DevicesConfig,
) {
    apply_defaults_from(
        board,
        console_device,
        console_baud,
        devices,
        Path::new(INPUT_BY_ID),
    );
}

/// [`apply_defaults`] with the directory an `auto` scanner is looked for in.
pub fn apply_defaults_from(
    board: &Board,
    console_device: &mut Option<PathBuf>,
    console_baud: &mut u32,
    devices: &mut DevicesConfig,
    input_by_id: &Path,
) {
    if console_device.is_none() {
        if let Some(c) = board.serial_port("console") {
            *console_device = Some(c.device.clone());
            *console_baud = c.baud;
        }
    }
    if devices.printer.is_none() {
        if let Some(p) = board.serial_port("printer") {
            devices.printer = Some(serial_printer(p));
            if devices.drawer.is_none()
                && board.serial_port("drawer").is_none()
                && p.drawer.as_deref() == Some("printer")
            {
                devices.drawer = Some(DrawerConfig::ViaPrinter);
            }
        }
    }
    if devices.kitchen_printer.is_none() {
        if let Some(p) = board.serial_port("kitchen_printer") {
            devices.kitchen_printer = Some(serial_printer(p));
        }
    }
    if devices.drawer.is_none() {
        if let Some(d) = board.serial_port("drawer") {
            devices.drawer = Some(DrawerConfig::Serial {
                path: d.device.clone(),
                baud: d.baud,
            });
        }
    }
    if devices.scanner.is_none() {
        let source = match (board.serial_port("scanner"), &board.input.scanner) {
            (Some(s), _) => Some(ScannerSource::Serial {
                path: s.device.clone(),
                baud: s.baud,
            }),
            (None, InputDevice::Path(p)) => Some(ScannerSource::Events(p.clone())),
            (None, InputDevice::Auto) => {
                let found = find_scanner(input_by_id);
                match &found {
                    Some(p) => log::info!("scanner: found {}", p.display()),
                    None => log::warn!(
                        "scanner: the board says auto but no scanner is in {} (plug it in and restart keel, or name it in terminal.toml)",
                        input_by_id.display()
                    ),
                }
                found.map(ScannerSource::Events)
            }
            (None, InputDevice::None) => None,
        };
        devices.scanner = source.map(ScannerConfig::reading);
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

/// A printer on a board's serial port (8N1, no flow control, the config's
/// defaults otherwise).
fn serial_printer(p: &SerialPort) -> PrinterConfig {
    PrinterConfig::at(PortConfig::Serial {
        path: p.device.clone(),
        baud: p.baud,
        flow: Flow::None,
    })
}

/// The first keyboard-class event node in `input_by_id` (sorted by name)
/// whose name marks a barcode scanner; `None` when there is none or the
/// directory cannot be read.
pub fn find_scanner(input_by_id: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(input_by_id).ok()?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with("-event-kbd"))
        .filter(|n| {
            let lower = n.to_ascii_lowercase();
            SCANNER_NAME_WORDS.iter().any(|w| lower.contains(w))
        })
        .collect();
    names.sort();
    names.first().map(|n| input_by_id.join(n))
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
        // qemu's board has no scanner.
        assert_eq!(devices.scanner, None);
    }

    fn board(text: &str) -> Board {
        let base = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../board/qemu-x86_64/board.toml"
        ))
        .unwrap();
        keel_board::parse("test-board.toml", &format!("{base}\n{text}")).unwrap()
    }

    #[test]
    fn every_serial_role_becomes_a_device() {
        let b = board(
            "[serial.kitchen_printer]\ndevice = \"/dev/ttyUSB1\"\nbaud = 38400\n\n\
             [serial.drawer]\ndevice = \"/dev/ttyUSB2\"\nbaud = 9600\n\n\
             [serial.scanner]\ndevice = \"/dev/ttyACM0\"\nbaud = 115200\n",
        );
        let (mut dev, mut baud, mut devices) = (None, 9600, DevicesConfig::default());
        let empty = tempfile::tempdir().unwrap();
        apply_defaults_from(&b, &mut dev, &mut baud, &mut devices, empty.path());
        let kitchen = devices.kitchen_printer.unwrap();
        assert_eq!(
            kitchen.port,
            PortConfig::Serial {
                path: "/dev/ttyUSB1".into(),
                baud: 38400,
                flow: Flow::None
            }
        );
        // A drawer on its own port wins over the printer's drawer port.
        assert_eq!(
            devices.drawer,
            Some(DrawerConfig::Serial {
                path: "/dev/ttyUSB2".into(),
                baud: 9600
            })
        );
        let scanner = devices.scanner.unwrap();
        assert_eq!(
            scanner.source,
            ScannerSource::Serial {
                path: "/dev/ttyACM0".into(),
                baud: 115200
            }
        );
        assert_eq!(
            (scanner.layout.as_str(), scanner.terminator.as_str()),
            ("us", "enter")
        );
    }

    #[test]
    fn a_scanner_node_or_auto_becomes_the_event_source() {
        let mut fixed = board("");
        fixed.input.scanner = InputDevice::Path("/dev/input/event7".into());
        let (mut dev, mut baud) = (None, 9600);
        let mut devices = DevicesConfig::default();
        let dir = tempfile::tempdir().unwrap();
        apply_defaults_from(&fixed, &mut dev, &mut baud, &mut devices, dir.path());
        assert_eq!(
            devices.scanner.unwrap().source,
            ScannerSource::Events("/dev/input/event7".into())
        );

        let mut auto = fixed.clone();
        auto.input.scanner = InputDevice::Auto;
        // Nothing plugged in: no scanner (and a warning), selling goes on.
        let mut devices = DevicesConfig::default();
        apply_defaults_from(&auto, &mut dev, &mut baud, &mut devices, dir.path());
        assert_eq!(devices.scanner, None);
        // A keyboard, a mouse and a scanner: the scanner's keyboard node is taken.
        for name in [
            "usb-Logitech_USB_Keyboard-event-kbd",
            "usb-Logitech_USB_Mouse-event-mouse",
            "usb-Honeywell_Imaging___Mobility_1900-event-kbd",
            "usb-Zebra_Symbol_Bar_Code_Scanner-if01-event-mouse",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let mut devices = DevicesConfig::default();
        apply_defaults_from(&auto, &mut dev, &mut baud, &mut devices, dir.path());
        assert_eq!(
            devices.scanner.unwrap().source,
            ScannerSource::Events(
                dir.path()
                    .join("usb-Honeywell_Imaging___Mobility_1900-event-kbd")
            )
        );
        // The config's own [scanner] wins over the board.
        let own = ScannerConfig {
            source: ScannerSource::Events("/tmp/recorded.events".into()),
            layout: "de".into(),
            prefix: "]E0".into(),
            suffix: String::new(),
            terminator: "tab".into(),
            max_gap_ms: 30,
        };
        let mut devices = DevicesConfig {
            scanner: Some(own.clone()),
            ..DevicesConfig::default()
        };
        apply_defaults_from(&auto, &mut dev, &mut baud, &mut devices, dir.path());
        assert_eq!(devices.scanner, Some(own));
    }

    #[test]
    fn an_unreadable_directory_finds_no_scanner() {
        assert_eq!(find_scanner(Path::new("/nonexistent/keel/by-id")), None);
    }
}
