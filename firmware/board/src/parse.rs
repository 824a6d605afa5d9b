//! Reading board.toml: the raw serde shape, then a check of every field into
//! [`Board`]. Owns the errors; reading the file is the only I/O.

use crate::{
    Board, Boot, BootloaderKind, Display, DisplayKind, Input, InputDevice, Partition, SerialPort,
    DEFAULT_PARTLABEL_DIR, SLOT_LABELS,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a board description was refused.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// TOML syntax, or a missing, unknown or mistyped key.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// Line (1-based).
        line: usize,
        /// The parser's message (names the key).
        message: String,
    },
    /// A value is not acceptable.
    #[error("{file}: key `{key}`: {message}")]
    Value {
        /// The file.
        file: String,
        /// The dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoard {
    name: String,
    arch: String,
    #[serde(default)]
    description: String,
    display: RawDisplay,
    input: RawInput,
    #[serde(default)]
    serial: BTreeMap<String, RawSerial>,
    boot: RawBoot,
    #[serde(default)]
    partition: Vec<RawPartition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisplay {
    kind: String,
    device: Option<PathBuf>,
    size: Option<String>,
    #[serde(default)]
    rotation: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    touch: String,
    scanner: String,
    #[serde(default)]
    uinput: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSerial {
    device: PathBuf,
    baud: u32,
    drawer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoot {
    firmware: String,
    bootloader: String,
    environment: PathBuf,
    env_size: Option<u64>,
    fw_env_config: Option<PathBuf>,
    kernel: String,
    #[serde(default)]
    kernel_args: String,
    partlabel_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartition {
    label: String,
    fs: String,
    size_mib: u64,
    mount: Option<PathBuf>,
}

/// The serial roles a board may describe.
pub const SERIAL_ROLES: &[&str] = &[
    "console",
    "log",
    "printer",
    "kitchen_printer",
    "scale",
    "drawer",
    "scanner",
];

const BAUDS: &[u32] = &[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400];

/// Reads and checks the board description at `path`.
pub fn load(path: &Path) -> Result<Board, BoardError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| BoardError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1)
}

fn input_device(v: &str) -> Option<InputDevice> {
    match v {
        "none" => Some(InputDevice::None),
        "auto" => Some(InputDevice::Auto),
        p if p.starts_with('/') => Some(InputDevice::Path(PathBuf::from(p))),
        _ => None,
    }
}

fn size(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// Parses board description `text` (`file` names it in errors).
pub fn parse(file: &str, text: &str) -> Result<Board, BoardError> {
    let raw: RawBoard = toml::from_str(text).map_err(|e| BoardError::Syntax {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
        message: e.message().to_string(),
    })?;
    let bad = |key: &str, message: String| BoardError::Value {
        file: file.to_string(),
        key: key.to_string(),
        message,
    };
    if raw.name.is_empty()
        || !raw
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad(
            "name",
            format!("{:?}: letters, digits, '-' and '_' only", raw.name),
        ));
    }
    if !matches!(raw.arch.as_str(), "x86_64" | "aarch64" | "armv7") {
        return Err(bad(
            "arch",
            format!("{:?}: expected x86_64, aarch64 or armv7", raw.arch),
        ));
    }
    let kind = match raw.display.kind.as_str() {
        "kms" => DisplayKind::Kms,
        "fbdev" => DisplayKind::Fbdev,
        "none" => DisplayKind::None,
        other => {
            return Err(bad(
                "display.kind",
                format!("{other:?}: expected kms, fbdev or none"),
            ))
        }
    };
    if kind != DisplayKind::None && raw.display.device.is_none() {
        return Err(bad(
            "display.device",
            "required unless display.kind = \"none\"".into(),
        ));
    }
    let display_size = match &raw.display.size {
        None => None,
        Some(s) => Some(size(s).ok_or_else(|| {
            bad(
                "display.size",
                format!("{s:?}: expected WIDTHxHEIGHT like 1280x800"),
            )
        })?),
    };
    if !matches!(raw.display.rotation, 0 | 90 | 180 | 270) {
        return Err(bad(
            "display.rotation",
            format!("{}: expected 0, 90, 180 or 270", raw.display.rotation),
        ));
    }
    let input_dev = |key: &str, v: &str| {
        input_device(v).ok_or_else(|| {
            bad(
                key,
                format!("{v:?}: expected \"none\", \"auto\" or an absolute device path"),
            )
        })
    };
    let touch = input_dev("input.touch", &raw.input.touch)?;
    let scanner = input_dev("input.scanner", &raw.input.scanner)?;
    let mut serial = BTreeMap::new();
    for (role, port) in raw.serial {
        if !SERIAL_ROLES.contains(&role.as_str()) {
            return Err(bad(
                &format!("serial.{role}"),
                format!("unknown role; expected one of {}", SERIAL_ROLES.join(", ")),
            ));
        }
        if !port.device.is_absolute() {
            return Err(bad(
                &format!("serial.{role}.device"),
                format!("{}: must be an absolute path", port.device.display()),
            ));
        }
        if !BAUDS.contains(&port.baud) {
            return Err(bad(
                &format!("serial.{role}.baud"),
                format!("{}: not a standard baud rate", port.baud),
            ));
        }
        if let Some(d) = &port.drawer {
            if role != "printer" || d != "printer" {
                return Err(bad(
                    &format!("serial.{role}.drawer"),
                    "only serial.printer may say drawer = \"printer\"".into(),
                ));
            }
        }
        serial.insert(
            role,
            SerialPort {
                device: port.device,
                baud: port.baud,
                drawer: port.drawer,
            },
        );
    }
    let bootloader = match raw.boot.bootloader.as_str() {
        "grub-efi" => BootloaderKind::GrubEfi,
        "u-boot" => BootloaderKind::UBoot,
        other => {
            return Err(bad(
                "boot.bootloader",
                format!("{other:?}: expected grub-efi or u-boot"),
            ))
        }
    };
    if !matches!(raw.boot.firmware.as_str(), "uefi" | "bios" | "rpi") {
        return Err(bad(
            "boot.firmware",
            format!("{:?}: expected uefi, bios or rpi", raw.boot.firmware),
        ));
    }
    if !raw.boot.environment.is_absolute() {
        return Err(bad(
            "boot.environment",
            "an absolute path inside the boot partition".into(),
        ));
    }
    let env_size = match (bootloader, raw.boot.env_size) {
        (BootloaderKind::UBoot, None) if raw.boot.fw_env_config.is_none() => {
            return Err(bad(
                "boot.env_size",
                "required for u-boot (CONFIG_ENV_SIZE) unless boot.fw_env_config is given".into(),
            ))
        }
        (BootloaderKind::GrubEfi, Some(_)) | (BootloaderKind::GrubEfi, None)
            if raw.boot.fw_env_config.is_some() =>
        {
            return Err(bad(
                "boot.fw_env_config",
                "only for bootloader = \"u-boot\"".into(),
            ))
        }
        (BootloaderKind::GrubEfi, Some(_)) => {
            return Err(bad(
                "boot.env_size",
                "only for bootloader = \"u-boot\" (a grubenv is 1024 bytes)".into(),
            ))
        }
        (_, Some(n)) if !(256..=1 << 20).contains(&n) => {
            return Err(bad(
                "boot.env_size",
                format!("{n}: expected 256 bytes to 1 MiB"),
            ))
        }
        (_, n) => n.map(|n| n as usize),
    };
    if raw.boot.kernel != "per-slot" {
        return Err(bad(
            "boot.kernel",
            format!("{:?}: expected \"per-slot\"", raw.boot.kernel),
        ));
    }
    let mut partitions: Vec<Partition> = Vec::new();
    for p in raw.partition {
        if partitions.iter().any(|q| q.label == p.label) {
            return Err(bad(
                "partition.label",
                format!("{:?} is listed twice", p.label),
            ));
        }
        if p.label.is_empty() || p.label.len() > 36 {
            return Err(bad(
                "partition.label",
                format!("{:?}: 1 to 36 characters (GPT)", p.label),
            ));
        }
        if !matches!(p.fs.as_str(), "vfat" | "ext4") {
            return Err(bad(
                "partition.fs",
                format!("{:?} ({}): expected vfat or ext4", p.fs, p.label),
            ));
        }
        if p.size_mib == 0 {
            return Err(bad(
                "partition.size_mib",
                format!("{}: must be at least 1", p.label),
            ));
        }
        partitions.push(Partition {
            label: p.label,
            fs: p.fs,
            size_mib: p.size_mib,
            mount: p.mount,
        });
    }
    for label in SLOT_LABELS.iter().chain(&["boot", "data"]) {
        if !partitions.iter().any(|p| p.label == *label) {
            return Err(bad(
                "partition",
                format!("no partition labelled {label:?} (the A/B scheme needs boot, rootfs-a, rootfs-b and data)"),
            ));
        }
    }
    let a = partitions.iter().find(|p| p.label == SLOT_LABELS[0]);
    let b = partitions.iter().find(|p| p.label == SLOT_LABELS[1]);
    if let (Some(a), Some(b)) = (a, b) {
        if a.size_mib != b.size_mib || a.fs != b.fs {
            return Err(bad(
                "partition",
                "rootfs-a and rootfs-b must have the same size and file system".into(),
            ));
        }
    }
    Ok(Board {
        name: raw.name,
        arch: raw.arch,
        description: raw.description,
        display: Display {
            kind,
            device: raw.display.device,
            size: display_size,
            rotation: raw.display.rotation,
        },
        input: Input {
            touch,
            scanner,
            uinput: raw.input.uinput,
        },
        serial,
        boot: Boot {
            firmware: raw.boot.firmware,
            bootloader,
            environment: raw.boot.environment,
            env_size,
            fw_env_config: raw.boot.fw_env_config,
            kernel: raw.boot.kernel,
            kernel_args: raw.boot.kernel_args,
            partlabel_dir: raw
                .boot
                .partlabel_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_PARTLABEL_DIR)),
        },
        partitions,
    })
}
