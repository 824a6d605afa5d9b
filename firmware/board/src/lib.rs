//! The board description: what one kind of POS hardware has and how it boots,
//! read from `board/<name>/board.toml` (format: board/README.md).
//!
//! This crate owns the file's types, its parsing and the checks of every
//! field (each error names the file and the dotted key). It must not open
//! devices or act on the description: the terminal picks its defaults from
//! it, the updater finds its slots and boot environment through it, and the
//! image builder lays out the disk from it.

mod parse;

pub use parse::{load, parse, BoardError};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The partition labels the A/B scheme relies on.
pub const SLOT_LABELS: [&str; 2] = ["rootfs-a", "rootfs-b"];

/// Where partitions are found by their GPT label, unless the board says otherwise.
pub const DEFAULT_PARTLABEL_DIR: &str = "/dev/disk/by-partlabel";

/// One board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// The board's name (its directory under `board/`, e.g. "qemu-x86_64");
    /// the name signed bundles list in `boards`.
    pub name: String,
    /// CPU architecture ("x86_64", "aarch64").
    pub arch: String,
    /// A line for people.
    pub description: String,
    /// The screen.
    pub display: Display,
    /// Touch screen, scanner, uinput.
    pub input: Input,
    /// Serial ports by role: "console", "log", "printer", "kitchen_printer",
    /// "scale", "drawer", "scanner".
    pub serial: BTreeMap<String, SerialPort>,
    /// How the board boots.
    pub boot: Boot,
    /// The partitions, in disk order.
    pub partitions: Vec<Partition>,
}

/// The screen the UI draws on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Display {
    /// How the UI reaches it.
    pub kind: DisplayKind,
    /// The device node (DRM card or framebuffer); None when `kind` is none.
    pub device: Option<PathBuf>,
    /// Width and height in pixels, when fixed.
    pub size: Option<(u32, u32)>,
    /// Rotation in degrees (0, 90, 180, 270).
    pub rotation: u16,
}

/// How the UI reaches the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayKind {
    /// DRM/KMS (Slint's linuxkms backend).
    Kms,
    /// A Linux framebuffer device.
    Fbdev,
    /// No screen (console only).
    None,
}

impl DisplayKind {
    /// The terminal's `[ui] backend` for this display.
    pub fn ui_backend(self) -> &'static str {
        match self {
            DisplayKind::Kms | DisplayKind::Fbdev => "linuxkms",
            DisplayKind::None => "headless",
        }
    }
}

/// Input devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The touch screen's evdev node, or how to find it.
    pub touch: InputDevice,
    /// The barcode scanner's evdev node, or how to find it.
    pub scanner: InputDevice,
    /// Whether /dev/uinput exists (virtual devices for tests).
    pub uinput: bool,
}

/// One input device as the board names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputDevice {
    /// Not present.
    None,
    /// Found at start by libinput/udev (USB devices that come and go).
    Auto,
    /// A fixed evdev node.
    Path(PathBuf),
}

/// One serial port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialPort {
    /// The device node.
    pub device: PathBuf,
    /// Baud rate.
    pub baud: u32,
    /// For a printer: the cash drawer is kicked through it ("printer"), if so.
    pub drawer: Option<String>,
}

/// How the board boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boot {
    /// Platform firmware ("uefi", "rpi", "bios").
    pub firmware: String,
    /// The bootloader, which holds the A/B environment.
    pub bootloader: BootloaderKind,
    /// The environment's path inside the boot partition (e.g.
    /// "/EFI/BOOT/grubenv", "/uboot.env").
    pub environment: PathBuf,
    /// U-Boot: each environment copy's size in bytes (CONFIG_ENV_SIZE).
    pub env_size: Option<usize>,
    /// U-Boot: an fw_env.config that describes the environment instead
    /// (device, offset, size per copy); wins over `environment`.
    pub fw_env_config: Option<PathBuf>,
    /// "per-slot": each slot boots its own kernel.
    pub kernel: String,
    /// Kernel arguments after root=.
    pub kernel_args: String,
    /// Where partitions are found by label (default /dev/disk/by-partlabel).
    pub partlabel_dir: PathBuf,
}

/// The bootloader kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootloaderKind {
    /// GRUB (EFI), environment in a grubenv block.
    GrubEfi,
    /// U-Boot, environment in its binary format.
    UBoot,
}

impl BootloaderKind {
    /// The name as written in board.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            BootloaderKind::GrubEfi => "grub-efi",
            BootloaderKind::UBoot => "u-boot",
        }
    }
}

/// One partition of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// GPT partition label (fixed names: boot, rootfs-a, rootfs-b, data).
    pub label: String,
    /// File system ("vfat" or "ext4").
    pub fs: String,
    /// Size in MiB.
    pub size_mib: u64,
    /// Where it is mounted, if it is.
    pub mount: Option<PathBuf>,
}

impl Board {
    /// The partition labelled `label`.
    pub fn partition(&self, label: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.label == label)
    }

    /// The device node of the partition labelled `label`.
    pub fn partition_device(&self, label: &str) -> PathBuf {
        self.boot.partlabel_dir.join(label)
    }

    /// The device of A/B slot `letter` ('A' or 'B'): rootfs-a or rootfs-b.
    pub fn slot_device(&self, letter: char) -> PathBuf {
        self.partition_device(&format!("rootfs-{}", letter.to_ascii_lowercase()))
    }

    /// The boot environment file as the running system sees it: the boot
    /// partition's mount point joined with `boot.environment` (or
    /// `environment` itself when no boot partition is mounted).
    pub fn environment_path(&self) -> PathBuf {
        let rel = self
            .boot
            .environment
            .strip_prefix("/")
            .unwrap_or(&self.boot.environment);
        match self.partition("boot").and_then(|p| p.mount.as_deref()) {
            Some(mount) => mount.join(rel),
            None => Path::new("/").join(rel),
        }
    }

    /// The serial port with `role`, if the board has one.
    pub fn serial_port(&self, role: &str) -> Option<&SerialPort> {
        self.serial.get(role)
    }
}
