//! The `/dev/uinput` keyboard: its ioctls, creation, the event node the
//! kernel gives it, and writing events. Linux only; the thin I/O layer of
//! this crate (what to type is [`crate::plan`]'s).

use keel_devices::scanner::InputEvent;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// `EV_SYN`.
pub const EV_SYN: u16 = 0;
/// `EV_KEY`.
pub const EV_KEY: u16 = 1;
/// `BUS_VIRTUAL`.
pub const BUS_VIRTUAL: u16 = 0x06;
/// `UINPUT_MAX_NAME_SIZE`.
pub const NAME_SIZE: usize = 80;

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Linux's `_IOC(dir, type, nr, size)` (x86, arm, riscv encoding).
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `struct uinput_setup`: `input_id` (bustype, vendor, product, version),
/// the name, `ff_effects_max`.
#[repr(C)]
struct UinputSetup {
    bustype: u16,
    vendor: u16,
    product: u16,
    version: u16,
    name: [u8; NAME_SIZE],
    ff_effects_max: u32,
}

/// `UI_DEV_CREATE`.
pub const UI_DEV_CREATE: u32 = ioc(0, b'U', 1, 0);
/// `UI_DEV_DESTROY`.
pub const UI_DEV_DESTROY: u32 = ioc(0, b'U', 2, 0);
/// `UI_DEV_SETUP`.
pub const UI_DEV_SETUP: u32 = ioc(IOC_WRITE, b'U', 3, std::mem::size_of::<UinputSetup>());
/// `UI_SET_EVBIT`.
pub const UI_SET_EVBIT: u32 = ioc(IOC_WRITE, b'U', 100, std::mem::size_of::<libc::c_int>());
/// `UI_SET_KEYBIT`.
pub const UI_SET_KEYBIT: u32 = ioc(IOC_WRITE, b'U', 101, std::mem::size_of::<libc::c_int>());
/// `UI_GET_SYSNAME(64)`.
pub const UI_GET_SYSNAME_64: u32 = ioc(IOC_READ, b'U', 44, 64);

/// Errors making or driving the device.
#[derive(Debug, thiserror::Error)]
pub enum UinputError {
    /// /dev/uinput could not be opened (no uinput module, or no permission).
    #[error("opening {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An ioctl failed.
    #[error("{what}: {source}")]
    Ioctl {
        /// The ioctl's name.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The name does not fit `uinput_setup`.
    #[error("device name longer than {} bytes", NAME_SIZE - 1)]
    Name,
    /// The kernel's input device has no `eventN` node in sysfs.
    #[error("no event node under {0}")]
    NoEventNode(PathBuf),
    /// Writing an event failed.
    #[error("writing an event: {0}")]
    Write(std::io::Error),
    /// The stable link could not be made.
    #[error("linking {link} to {target}: {source}")]
    Link {
        /// The link.
        link: PathBuf,
        /// Its target.
        target: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn ioctl(
    file: &File,
    what: &'static str,
    request: u32,
    arg: libc::c_ulong,
) -> Result<(), UinputError> {
    // SAFETY: `request` is a uinput ioctl taking an integer argument (or a
    // pointer the caller keeps alive for the call); the fd is open.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, arg) };
    if rc < 0 {
        return Err(UinputError::Ioctl {
            what,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// A created virtual keyboard; destroyed when dropped.
pub struct VirtualKeyboard {
    file: File,
    /// Its `/dev/input/eventN`.
    pub event_node: PathBuf,
}

impl VirtualKeyboard {
    /// Creates a keyboard named `name` that can press `keys`.
    pub fn create(uinput: &Path, name: &str, keys: &[u16]) -> Result<VirtualKeyboard, UinputError> {
        if name.len() >= NAME_SIZE {
            return Err(UinputError::Name);
        }
        let file = OpenOptions::new()
            .write(true)
            .open(uinput)
            .map_err(|source| UinputError::Open {
                path: uinput.to_path_buf(),
                source,
            })?;
        ioctl(&file, "UI_SET_EVBIT(EV_KEY)", UI_SET_EVBIT, EV_KEY.into())?;
        for &k in keys {
            ioctl(&file, "UI_SET_KEYBIT", UI_SET_KEYBIT, k.into())?;
        }
        let mut setup = UinputSetup {
            bustype: BUS_VIRTUAL,
            vendor: 0x4b45,
            product: 0x0001,
            version: 1,
            name: [0; NAME_SIZE],
            ff_effects_max: 0,
        };
        setup.name[..name.len()].copy_from_slice(name.as_bytes());
        ioctl(
            &file,
            "UI_DEV_SETUP",
            UI_DEV_SETUP,
            &setup as *const _ as libc::c_ulong,
        )?;
        ioctl(&file, "UI_DEV_CREATE", UI_DEV_CREATE, 0)?;
        let mut sysname = [0u8; 64];
        ioctl(
            &file,
            "UI_GET_SYSNAME",
            UI_GET_SYSNAME_64,
            sysname.as_mut_ptr() as libc::c_ulong,
        )?;
        let end = sysname
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(sysname.len());
        let dir = Path::new("/sys/devices/virtual/input")
            .join(String::from_utf8_lossy(&sysname[..end]).as_ref());
        let event = event_node_in(&dir)?;
        Ok(VirtualKeyboard {
            file,
            event_node: Path::new("/dev/input").join(event),
        })
    }

    /// Writes one event (its timestamp is replaced by the kernel's).
    pub fn write(&mut self, event: &InputEvent) -> Result<(), UinputError> {
        self.file
            .write_all(&event.to_bytes())
            .map_err(UinputError::Write)
    }
}

impl Drop for VirtualKeyboard {
    fn drop(&mut self) {
        let _ = ioctl(&self.file, "UI_DEV_DESTROY", UI_DEV_DESTROY, 0);
    }
}

/// The `eventN` entry of an input device's sysfs directory.
pub fn event_node_in(dir: &Path) -> Result<String, UinputError> {
    let entries =
        std::fs::read_dir(dir).map_err(|_| UinputError::NoEventNode(dir.to_path_buf()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("event") && n[5..].chars().all(|c| c.is_ascii_digit()) && n.len() > 5
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .next()
        .ok_or_else(|| UinputError::NoEventNode(dir.to_path_buf()))
}

/// Points `link` at `target` (replacing an older link).
pub fn link(target: &Path, link: &Path) -> Result<(), UinputError> {
    let err = |source| UinputError::Link {
        link: link.to_path_buf(),
        target: target.to_path_buf(),
        source,
    };
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel_headers() {
        assert_eq!(UI_DEV_CREATE, 0x5501);
        assert_eq!(UI_DEV_DESTROY, 0x5502);
        assert_eq!(UI_DEV_SETUP, 0x405c_5503);
        assert_eq!(UI_SET_EVBIT, 0x4004_5564);
        assert_eq!(UI_SET_KEYBIT, 0x4004_5565);
        assert_eq!(UI_GET_SYSNAME_64, 0x8040_552c);
    }

    #[test]
    fn the_event_node_is_found_in_sysfs_layout() {
        let dir = std::env::temp_dir().join(format!("keel-uinput-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["capabilities", "event7", "power"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        assert_eq!(event_node_in(&dir).unwrap(), "event7");
        std::fs::remove_dir_all(dir.join("event7")).unwrap();
        assert!(event_node_in(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
