//! Which kernel modules the image keeps: the ones a Keel terminal on an
//! x86_64 board can use (virtio disk, display, input, network and serial;
//! the DRM drivers of qemu's displays; evdev and uinput; ext4 and vfat; USB
//! HID, touch and serial adapters for real boards; the SATA/NVMe disks the
//! initramfs knows) and everything they depend on by `modules.dep`. The
//! rest of `kernel/drivers`, `kernel/fs`, `kernel/net` and `kernel/sound`
//! is removed; `kernel/{arch,crypto,lib,...}` stay whole (crypto and CRC
//! modules are loaded by alias, e.g. ext4's `crypto-crc32c`).
//!
//! The choice ([`kept`]) is pure: `modules.dep` text in, paths out. The
//! removal ([`prune`]) deletes the other `.ko` files of one module tree;
//! the caller runs depmod afterwards so modules.dep and modules.alias only
//! name modules that exist. It must not touch anything outside that tree.

use crate::error::{Context, Result};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

/// The modules a terminal needs (names as modprobe takes them; `-` and `_`
/// are the same), besides the board's initramfs modules.
pub const WANTED: &[&str] = &[
    // virtio: bus, disk, network, console, input, entropy, display
    "virtio_pci",
    "virtio_mmio",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "virtio_console",
    "virtio_input",
    "virtio_balloon",
    "virtio_rng",
    "virtio_gpu",
    "qemu_fw_cfg",
    // DRM/KMS: qemu's std VGA (bochs), virtio-gpu, the firmware framebuffer
    "bochs",
    "simpledrm",
    // input: evdev (the scanner, the touch screen), uinput (the boot test's
    // virtual scanner), PS/2 and touch screens
    "evdev",
    "uinput",
    "joydev",
    "psmouse",
    "serio_raw",
    "atkbd",
    "hid_generic",
    "hid_multitouch",
    "usbhid",
    "usbtouchscreen",
    // storage and file systems
    "ahci",
    "nvme",
    "sd_mod",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "nls_utf8",
    "nls_iso8859_1",
    "efivarfs",
    // USB hosts and USB serial adapters (printer, drawer, scale)
    "xhci_pci",
    "ehci_pci",
    "uhci_hcd",
    "ohci_pci",
    "usbserial",
    "ftdi_sio",
    "pl2303",
    "cp210x",
    "ch341",
    "cdc_acm",
    "usb_storage",
    // wired network on real boards
    "e1000",
    "e1000e",
    "igb",
    "r8169",
    // power button, RTC
    "button",
    "rtc_cmos",
];

/// The directories under `kernel/` whose modules are chosen by [`kept`];
/// the others stay whole.
pub const PRUNED_DIRS: &[&str] = &["drivers", "fs", "net", "sound"];

/// `name` as modprobe compares it: `_` for `-`.
fn normal(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a `modules.dep` path (`kernel/fs/ext4/ext4.ko.xz` → `ext4`).
pub fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    normal(stem)
}

/// The module paths (relative to the module tree, as `modules.dep` writes
/// them) of `wanted` and everything they depend on. Wanted names the tree
/// does not have (built into the kernel) are skipped.
pub fn kept(modules_dep: &str, wanted: &[&str]) -> BTreeSet<String> {
    let mut deps: HashMap<String, Vec<String>> = HashMap::new();
    let mut by_name: HashMap<String, String> = HashMap::new();
    for line in modules_dep.lines() {
        let Some((path, rest)) = line.split_once(':') else {
            continue;
        };
        let path = path.trim().to_string();
        by_name.insert(module_name(&path), path.clone());
        deps.insert(path, rest.split_whitespace().map(str::to_string).collect());
    }
    let mut keep = BTreeSet::new();
    let mut todo: Vec<String> = wanted
        .iter()
        .filter_map(|w| by_name.get(&normal(w)).cloned())
        .collect();
    while let Some(path) = todo.pop() {
        if keep.insert(path.clone()) {
            if let Some(d) = deps.get(&path) {
                todo.extend(d.iter().cloned());
            }
        }
    }
    keep
}

/// Removes from the module tree `version_dir` (`usr/lib/modules/<version>`)
/// every module under [`PRUNED_DIRS`] that [`kept`] does not keep, and the
/// directories left empty; returns how many modules were removed.
pub fn prune(version_dir: &Path, wanted: &[&str]) -> Result<usize> {
    let dep_file = version_dir.join("modules.dep");
    let dep =
        fs::read_to_string(&dep_file).with_context(|| format!("reading {}", dep_file.display()))?;
    let keep = kept(&dep, wanted);
    let mut removed = 0;
    for line in dep.lines() {
        let Some((path, _)) = line.split_once(':') else {
            continue;
        };
        let path = path.trim();
        let pruned = PRUNED_DIRS
            .iter()
            .any(|d| path.starts_with(&format!("kernel/{d}/")));
        if pruned && !keep.contains(path) {
            let file = version_dir.join(path);
            if file.is_file() {
                fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
                removed += 1;
            }
        }
    }
    for d in PRUNED_DIRS {
        remove_empty_dirs(&version_dir.join("kernel").join(d))?;
    }
    Ok(removed)
}

/// Removes the empty directories under `dir` (and `dir` if it ends empty).
fn remove_empty_dirs(dir: &Path) -> Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let mut empty = true;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !remove_empty_dirs(&path)? {
                empty = false;
            }
        } else {
            empty = false;
        }
    }
    if empty {
        fs::remove_dir(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP: &str = "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n\
kernel/fs/jbd2/jbd2.ko:\n\
kernel/fs/mbcache.ko:\n\
kernel/lib/crc16.ko:\n\
kernel/fs/btrfs/btrfs.ko: kernel/lib/raid6/raid6_pq.ko\n\
kernel/drivers/gpu/drm/virtio/virtio-gpu.ko: kernel/drivers/gpu/drm/drm.ko kernel/drivers/virtio/virtio.ko\n\
kernel/drivers/gpu/drm/drm.ko:\n\
kernel/drivers/virtio/virtio.ko:\n\
kernel/sound/core/snd.ko:\n";

    #[test]
    fn wanted_modules_keep_their_dependencies_only() {
        let keep = kept(DEP, &["ext4", "virtio_gpu", "not_a_module"]);
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        assert_eq!(
            keep,
            [
                "kernel/drivers/gpu/drm/drm.ko",
                "kernel/drivers/gpu/drm/virtio/virtio-gpu.ko",
                "kernel/drivers/virtio/virtio.ko",
                "kernel/fs/ext4/ext4.ko",
                "kernel/fs/jbd2/jbd2.ko",
                "kernel/fs/mbcache.ko",
                "kernel/lib/crc16.ko",
            ]
        );
    }

    #[test]
    fn names_are_compared_as_modprobe_does() {
        assert_eq!(
            module_name("kernel/drivers/gpu/drm/virtio/virtio-gpu.ko"),
            "virtio_gpu"
        );
        assert_eq!(module_name("kernel/fs/ext4/ext4.ko.xz"), "ext4");
    }

    #[test]
    fn pruning_removes_the_rest_of_the_pruned_dirs_only() {
        let dir = std::env::temp_dir().join(format!("keel-modules-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let root = dir.as_path();
        fs::write(root.join("modules.dep"), DEP).unwrap();
        for line in DEP.lines() {
            let path = root.join(line.split(':').next().unwrap());
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"\x7fELF").unwrap();
        }
        let removed = prune(root, &["ext4"]).unwrap();
        assert_eq!(removed, 5, "btrfs, virtio-gpu, drm, virtio and snd");
        assert!(root.join("kernel/fs/ext4/ext4.ko").is_file());
        assert!(root.join("kernel/lib/crc16.ko").is_file());
        assert!(!root.join("kernel/fs/btrfs").exists());
        assert!(!root.join("kernel/sound").exists());
        assert!(!root.join("kernel/drivers").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
