//! Every board description under board/ parses, names its own directory, and
//! a bad field is refused with the key named.

use keel_board::{parse, BootloaderKind, DisplayKind, InputDevice};
use std::path::{Path, PathBuf};

fn boards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board")
}

#[test]
fn every_board_file_parses_and_is_named_after_its_directory() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(boards_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("board.toml");
        if !file.is_file() {
            continue;
        }
        let board = keel_board::load(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            board.name,
            dir.file_name().unwrap().to_str().unwrap(),
            "{}",
            file.display()
        );
        assert!(board.serial_port("console").is_some(), "{}", file.display());
        seen.push(board.name);
    }
    seen.sort();
    assert_eq!(seen, ["generic-x86_64", "qemu-x86_64", "raspberrypi4-64"]);
}

#[test]
fn the_boards_say_what_the_updater_needs() {
    let qemu = keel_board::load(&boards_dir().join("qemu-x86_64/board.toml")).unwrap();
    assert_eq!(qemu.boot.bootloader, BootloaderKind::GrubEfi);
    assert_eq!(
        qemu.environment_path(),
        PathBuf::from("/boot/efi/EFI/BOOT/grubenv")
    );
    assert_eq!(
        qemu.slot_device('B'),
        PathBuf::from("/dev/disk/by-partlabel/rootfs-b")
    );
    assert_eq!(qemu.display.kind, DisplayKind::Kms);
    assert_eq!(qemu.display.size, Some((1280, 800)));
    assert_eq!(qemu.serial_port("printer").unwrap().baud, 19200);
    let pi = keel_board::load(&boards_dir().join("raspberrypi4-64/board.toml")).unwrap();
    assert_eq!(pi.boot.bootloader, BootloaderKind::UBoot);
    assert_eq!(pi.boot.env_size, Some(16384));
    assert_eq!(
        pi.environment_path(),
        PathBuf::from("/boot/firmware/uboot.env")
    );
    assert_eq!(pi.input.scanner, InputDevice::Auto);
    let x86 = keel_board::load(&boards_dir().join("generic-x86_64/board.toml")).unwrap();
    assert_eq!(x86.boot.bootloader, BootloaderKind::GrubEfi);
    assert_eq!(x86.display.size, None);
}

#[test]
fn bad_fields_are_refused_with_their_key() {
    let good = std::fs::read_to_string(boards_dir().join("qemu-x86_64/board.toml")).unwrap();
    let cases = [
        (
            "bootloader = \"grub-efi\"",
            "bootloader = \"lilo\"",
            "boot.bootloader",
        ),
        ("kind = \"kms\"", "kind = \"vga\"", "display.kind"),
        ("size = \"1280x800\"", "size = \"big\"", "display.size"),
        ("baud = 19200", "baud = 12345", "serial.printer.baud"),
        ("[serial.scale]", "[serial.fax]", "serial.fax"),
        ("touch = \"none\"", "touch = \"ttyS9\"", "input.touch"),
        ("label = \"rootfs-b\"", "label = \"rootfs-c\"", "partition"),
        ("size_mib = 64", "size_mib = 0", "partition.size_mib"),
        ("arch = \"x86_64\"", "arch = \"z80\"", "arch"),
        (
            "environment = \"/EFI/BOOT/grubenv\"",
            "environment = \"/EFI/BOOT/grubenv\"\nenv_size = 4096",
            "boot.env_size",
        ),
    ];
    for (from, to, key) in cases {
        assert!(good.contains(from), "{from}");
        let text = good.replacen(from, to, 1);
        let e = parse("b.toml", &text).unwrap_err().to_string();
        assert!(e.contains(&format!("`{key}`")), "{to}: {e}");
    }
    let e = parse("b.toml", &good.replace("[boot]", "[boot]\ncolour = 1"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("b.toml:") && e.contains("colour"), "{e}");
    let e = parse("b.toml", "name = \"x\"").unwrap_err().to_string();
    assert!(e.contains("missing field"), "{e}");
}
