//! Building the partitions' file systems from directories and writing them
//! into the GPT disk image, with no loop device and no mount: `mkfs.ext4 -d`,
//! `mkfs.fat` + mtools, `grub-mkimage`, `grub-editenv`, `sgdisk` on the image
//! file and `dd conv=notrunc`. Owns the files under the work directory it is
//! given and the output image; it must not decide the layout (`layout`) or
//! what goes into the trees (`rootfs`).

use super::board::Board;
use super::files;
use super::layout::{DiskLayout, Placed, MIB};
use crate::cmd;
use crate::error::{Context, Error, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// GRUB modules built into BOOTX64.EFI: GPT, FAT (the ESP) and ext4 (the
/// slots' kernels), search by label, the Linux loader, the environment block
/// and the script commands the A/B script uses.
const GRUB_MODULES: &[&str] = &[
    "part_gpt",
    "fat",
    "ext2",
    "normal",
    "configfile",
    "linux",
    "search",
    "search_label",
    "search_fs_file",
    "loadenv",
    "test",
    "echo",
    "true",
    "sleep",
    "reboot",
    "halt",
    "efi_gop",
    "all_video",
    "gzio",
    "serial",
    "terminal",
    "cat",
    "ls",
    "regexp",
];

/// `/usr/lib/grub/x86_64-efi`: grub-efi-amd64-bin's modules.
pub const GRUB_EFI_DIR: &str = "/usr/lib/grub/x86_64-efi";

/// Builds the EFI system partition image at `out` (`size` bytes): GRUB,
/// grub.cfg, the initial grubenv and, when `ab_script` exists, the A/B
/// script beside them. Returns whether the A/B script went in.
pub fn build_esp(
    board: &Board,
    work: &Path,
    size: u64,
    ab_script: &Path,
    out: &Path,
) -> Result<bool> {
    let staging = work.join("esp");
    super::rootfs::remove_dir(&staging)?;
    fs::create_dir_all(&staging)?;
    let embedded = staging.join("embedded.cfg");
    fs::write(&embedded, files::grub_embedded_cfg())?;
    let efi = staging.join("BOOTX64.EFI");
    cmd::run(
        Command::new("grub-mkimage")
            .args([
                "-O",
                "x86_64-efi",
                "-d",
                GRUB_EFI_DIR,
                "-p",
                files::ESP_GRUB_DIR,
            ])
            .arg("-c")
            .arg(&embedded)
            .arg("-o")
            .arg(&efi)
            .args(GRUB_MODULES),
    )
    .context("building GRUB (grub-efi-amd64-bin)")?;
    let with_ab = ab_script.is_file();
    let cfg = staging.join("grub.cfg");
    fs::write(&cfg, files::grub_cfg(board, with_ab))?;
    let env = staging.join("grubenv");
    cmd::run(Command::new("grub-editenv").arg(&env).arg("create"))?;
    let mut set = Command::new("grub-editenv");
    set.arg(&env).arg("set");
    for (k, v) in files::initial_grubenv() {
        set.arg(format!("{k}={v}"));
    }
    cmd::run(&mut set)?;
    let mut esp_files: Vec<PathBuf> = vec![efi, cfg, env];
    if with_ab {
        let copy = staging.join("keel-ab.cfg");
        fs::copy(ab_script, &copy)?;
        esp_files.push(copy);
    }
    let _ = fs::remove_file(out);
    cmd::run(
        Command::new("mkfs.fat")
            .args(["-F", "32", "-n", "BOOT", "-C"])
            .arg(out)
            .arg((size / 1024).to_string()),
    )
    .context("making the ESP's FAT file system")?;
    let image = out.to_string_lossy().into_owned();
    cmd::run(Command::new("mmd").args(["-i", &image, "::/EFI", "::/EFI/BOOT"]))?;
    let mut copy = Command::new("mcopy");
    copy.args(["-i", &image])
        .args(&esp_files)
        .arg("::/EFI/BOOT/");
    cmd::run(&mut copy).context("copying GRUB onto the ESP (mtools)")?;
    Ok(with_ab)
}

/// Makes an ext4 file system image of exactly `size` bytes from `tree`.
pub fn build_ext4(tree: &Path, label: &str, size: u64, out: &Path) -> Result<()> {
    let _ = fs::remove_file(out);
    cmd::run(
        Command::new("mkfs.ext4")
            .args([
                "-q",
                "-F",
                "-L",
                label,
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0",
            ])
            .arg("-d")
            .arg(tree)
            .arg(out)
            .arg(format!("{}k", size / 1024)),
    )
    .with_context(|| {
        format!(
            "making the {label} file system from {} (does it fit in {} MiB?)",
            tree.display(),
            size / MIB
        )
    })
}

/// Writes the partition table into a fresh image file of the layout's size
/// and checks that sgdisk put every partition where the layout says.
pub fn partition(layout: &DiskLayout, out: &Path) -> Result<()> {
    if let Some(last) = layout.partitions.last() {
        if last.last_lba > layout.last_usable_lba() {
            return Err(Error::msg(format!(
                "partition {} overlaps the backup GPT",
                last.spec.label
            )));
        }
    }
    let _ = fs::remove_file(out);
    let file = fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    file.set_len(layout.disk_bytes)?;
    drop(file);
    let mut sgdisk = Command::new("sgdisk");
    sgdisk.args(layout.sgdisk_args()).arg(out);
    let output = sgdisk
        .output()
        .with_context(|| format!("running {}", cmd::display(&sgdisk)))?;
    if !output.status.success() {
        return Err(Error::msg(format!(
            "`{}` failed: {}",
            cmd::display(&sgdisk),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    for p in &layout.partitions {
        let info = Command::new("sgdisk")
            .arg(format!("--info={}", p.number))
            .arg(out)
            .output()?;
        let text = String::from_utf8_lossy(&info.stdout);
        let (first, last) = (
            sector_after(&text, "First sector:"),
            sector_after(&text, "Last sector:"),
        );
        if first != Some(p.first_lba) || last != Some(p.last_lba) || !text.contains(p.spec.label) {
            return Err(Error::msg(format!(
                "sgdisk placed partition {} ({}) elsewhere than the layout: {}",
                p.number,
                p.spec.label,
                text.trim()
            )));
        }
    }
    Ok(())
}

/// The sector number after `key` in `sgdisk --info` output
/// ("First sector: 2048 (at 1024.0 KiB)").
pub fn sector_after(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.find(key)? + key.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// Copies a partition image into its place on the disk image.
pub fn write_partition(disk: &Path, part: &Placed, image: &Path) -> Result<()> {
    let len = fs::metadata(image)
        .with_context(|| format!("reading {}", image.display()))?
        .len();
    if len > part.size_bytes() {
        return Err(Error::msg(format!(
            "{} is {len} bytes, larger than partition {} ({} bytes)",
            image.display(),
            part.spec.label,
            part.size_bytes()
        )));
    }
    cmd::run(
        Command::new("dd")
            .arg(format!("if={}", image.display()))
            .arg(format!("of={}", disk.display()))
            .arg("bs=1M")
            .arg(format!("seek={}", part.offset_bytes() / MIB))
            .args(["conv=notrunc,sparse", "status=none"]),
    )
    .with_context(|| format!("writing partition {}", part.spec.label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgdisk_info_sectors_are_read() {
        let text = "Partition GUID code: C12A7328-F81F-11D2-BA4B-00A0C93EC93B (EFI system partition)\nPartition unique GUID: 5B3C\nFirst sector: 2048 (at 1024.0 KiB)\nLast sector: 133119 (at 65.0 MiB)\nPartition size: 131072 sectors (64.0 MiB)\nPartition name: 'boot'\n";
        assert_eq!(sector_after(text, "First sector:"), Some(2048));
        assert_eq!(sector_after(text, "Last sector:"), Some(133119));
        assert_eq!(sector_after(text, "Middle sector:"), None);
    }
}
