//! The boards `cargo xtask image` can build for, as constants: what goes into
//! the root file system and how the board boots. The board's description for
//! people and for the terminal is `board/<name>/board.toml`; a test keeps the
//! two in step. Owns only these values; it must not run anything.

/// What the image builder needs to know about a board.
#[derive(Clone, Copy, Debug)]
pub struct Board {
    /// The board's name (its directory under `board/`).
    pub name: &'static str,
    /// Debian suite debootstrapped for the root file system.
    pub suite: &'static str,
    /// Debian mirror.
    pub mirror: &'static str,
    /// Packages on top of debootstrap's minbase (`--include`).
    pub packages: &'static [&'static str],
    /// Modules the initramfs loads to find the root file system.
    pub initramfs_modules: &'static [&'static str],
    /// Kernel arguments after `root=... rw rootwait` (consoles, quiet flags).
    pub kernel_args: &'static str,
    /// The serial device of the technician console.
    pub console_device: &'static str,
    /// Its baud rate.
    pub console_baud: u32,
    /// The serial port the kernel and systemd log to (`console=` in
    /// `kernel_args`), if any: no login prompt is started there.
    pub log_port: Option<&'static str>,
    /// The `[ui] backend` the terminal uses.
    pub ui_backend: &'static str,
    /// Size of each root file system slot, MiB.
    pub rootfs_mib: u64,
    /// Size of the data partition, MiB.
    pub data_mib: u64,
}

/// Packages every x86_64 image carries beyond minbase: the kernel and its
/// initramfs tools, systemd as init with udev (device nodes, input devices
/// for libinput) and D-Bus (logind handles the power button), and the shared
/// libraries keel-kiosk links (checked against its ELF NEEDED list at build).
const X86_64_PACKAGES: &[&str] = &[
    "linux-image-amd64",
    "initramfs-tools",
    "kmod",
    "systemd-sysv",
    "udev",
    "dbus",
    "libfontconfig1",
    "libavahi-client3",
    "libinput10",
    "libxkbcommon0",
    "libudev1",
    "libgbm1",
    "libseat1",
];

/// The board the tests boot: qemu's q35/pc machine with OVMF, a virtio disk,
/// virtio-gpu (DRM/KMS), ttyS0 = technician console, ttyS1 = kernel and
/// systemd log.
pub const QEMU_X86_64: Board = Board {
    name: "qemu-x86_64",
    suite: "bookworm",
    mirror: "http://deb.debian.org/debian",
    packages: X86_64_PACKAGES,
    initramfs_modules: &[
        "virtio_pci",
        "virtio_blk",
        "virtio_scsi",
        "sd_mod",
        "ahci",
        "nvme",
        "ext4",
    ],
    kernel_args: "console=tty0 console=ttyS1,115200 vt.global_cursor_default=0 systemd.journald.forward_to_console=1",
    console_device: "/dev/ttyS0",
    console_baud: 115200,
    log_port: Some("ttyS1"),
    ui_backend: "linuxkms",
    rootfs_mib: 1024,
    // One bundle of a whole slot plus the headroom (layout::DATA_HEADROOM_MIB).
    data_mib: 1536,
};

/// Every board the image builder knows.
pub const BOARDS: &[Board] = &[QEMU_X86_64];

/// The board named `name`.
pub fn find(name: &str) -> Option<&'static Board> {
    BOARDS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layout::{ab_partitions, FileSystem};

    /// The value of `key = ...` in the `[[partition]]` table whose label is `label`.
    fn partition_value(toml: &str, label: &str, key: &str) -> Option<String> {
        let tables = toml.split("[[partition]]").skip(1);
        for table in tables {
            let table = table.split("\n[").next().unwrap_or(table);
            let get = |k: &str| {
                table.lines().find_map(|l| {
                    let (lk, v) = l.split_once('=')?;
                    (lk.trim() == k).then(|| {
                        v.split('#')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .trim_matches('"')
                            .to_string()
                    })
                })
            };
            if get("label").as_deref() == Some(label) {
                return get(key);
            }
        }
        None
    }

    #[test]
    fn board_toml_lists_the_partitions_the_builder_makes() {
        for board in BOARDS {
            let path = crate::cmd::repo_root()
                .join("board")
                .join(board.name)
                .join("board.toml");
            let toml = std::fs::read_to_string(&path).unwrap();
            assert!(toml.contains(&format!("name = \"{}\"", board.name)));
            for p in ab_partitions(board.rootfs_mib, board.data_mib) {
                let size = partition_value(&toml, p.label, "size_mib")
                    .unwrap_or_else(|| panic!("{}: no partition {}", path.display(), p.label));
                assert_eq!(size, p.size_mib.to_string(), "{} size", p.label);
                let fs = partition_value(&toml, p.label, "fs").unwrap();
                let want = match p.fs {
                    FileSystem::Fat => "vfat",
                    FileSystem::Ext4 => "ext4",
                };
                assert_eq!(fs, want, "{} fs", p.label);
            }
            assert!(toml.contains(&format!("device = \"{}\"", board.console_device)));
            assert!(
                toml.contains(&format!("kernel_args = \"{}\"", board.kernel_args)),
                "{}: kernel_args differ from the builder's",
                path.display()
            );
            if let Some(port) = board.log_port {
                assert!(board.kernel_args.contains(&format!("console={port},")));
                assert!(toml.contains(&format!("device = \"/dev/{port}\"")));
            }
        }
    }

    /// Every board under board/ (not only the ones this builder images):
    /// its data partition holds a downloaded bundle as big as a slot, the
    /// journal, the models and the pictures (docs/image.md).
    #[test]
    fn every_boards_data_partition_holds_a_slot_sized_bundle() {
        let dir = crate::cmd::repo_root().join("board");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path().join("board.toml");
            let Ok(toml) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mib = |label: &str| -> u64 {
                partition_value(&toml, label, "size_mib")
                    .unwrap_or_else(|| panic!("{}: no {label} size", path.display()))
                    .parse()
                    .unwrap()
            };
            let (slot, data) = (mib("rootfs-a"), mib("data"));
            assert!(
                crate::image::layout::data_holds_a_bundle(slot, data),
                "{}: data {data} MiB < slot {slot} MiB + {} MiB headroom",
                path.display(),
                crate::image::layout::DATA_HEADROOM_MIB
            );
            checked += 1;
        }
        assert!(
            checked >= 3,
            "only {checked} boards under {}",
            dir.display()
        );
        for board in BOARDS {
            assert!(crate::image::layout::data_holds_a_bundle(
                board.rootfs_mib,
                board.data_mib
            ));
        }
    }

    #[test]
    fn boards_are_found_by_name() {
        assert_eq!(find("qemu-x86_64").map(|b| b.name), Some("qemu-x86_64"));
        assert!(find("pdp-11").is_none());
    }
}
