//! The OTA phase's bundles, made on the host before qemu starts: the
//! image's own rootfs-a file system, its `/etc/keel/firmware-version` set to
//! a newer version (the terminal reads it in preference to its compiled
//! version), shrunk to its minimum, signed with the image build's dev key
//! and padded so the bundle fills whole 512-byte sectors (the guest reads it
//! from a raw virtio disk, /dev/vdb, whose size qemu rounds up to a sector;
//! keel-ota refuses bytes after the last payload).
//!
//! Owns making the bundle file; it must not touch the image file (the
//! partition is copied out) and it does not talk to the guest.

use crate::cmd;
use crate::error::{Context, Error, Result};
use crate::image::{board::Board, layout, ota_key};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The guest's path of the firmware-version file.
pub const VERSION_FILE: &str = "/etc/keel/firmware-version";

/// A version after `v` (`MAJOR.MINOR.PATCH`): the patch number plus `step`.
pub fn bumped(v: &str, step: u64) -> Option<String> {
    let mut parts = v.trim().split('.');
    let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let n = |s: &str| s.parse::<u64>().ok();
    Some(format!(
        "{}.{}.{}",
        n(major)?,
        n(minor)?,
        n(patch)?.checked_add(step)?
    ))
}

/// Zero bytes that bring `len` to a whole number of 512-byte sectors.
pub fn sector_padding(len: u64) -> u64 {
    (layout::SECTOR - len % layout::SECTOR) % layout::SECTOR
}

/// The `Block count:` times the `Block size:` of `dumpe2fs -h` output.
pub fn fs_bytes(dumpe2fs: &str) -> Option<u64> {
    let value = |key: &str| {
        dumpe2fs
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    value("Block count:")?.checked_mul(value("Block size:")?)
}

/// Copies the image's rootfs-a partition to `out`.
pub fn extract_rootfs(board: &Board, image: &Path, out: &Path) -> Result<()> {
    let placed = layout::place(&layout::ab_partitions(board.rootfs_mib, board.data_mib))
        .map_err(|e| Error::msg(e.to_string()))?;
    let part = placed
        .get("rootfs-a")
        .ok_or_else(|| Error::msg("the layout has no rootfs-a"))?;
    let mut src = File::open(image).with_context(|| format!("opening {}", image.display()))?;
    src.seek(SeekFrom::Start(part.offset_bytes()))?;
    let mut dst = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let copied = std::io::copy(&mut src.take(part.size_bytes()), &mut dst)?;
    if copied != part.size_bytes() {
        return Err(Error::msg(format!(
            "{} ends inside rootfs-a ({copied} of {} bytes)",
            image.display(),
            part.size_bytes()
        )));
    }
    Ok(())
}

/// Writes `contents` to `guest_path` inside the ext4 file system `fs_image`
/// (debugfs: no mount, no root-only loop device).
pub fn put_file(fs_image: &Path, guest_path: &str, contents: &[u8], scratch: &Path) -> Result<()> {
    let (dir, name) = guest_path
        .rsplit_once('/')
        .ok_or_else(|| Error::msg(format!("{guest_path} is not absolute")))?;
    let local = scratch.join(format!("put-{name}"));
    fs::write(&local, contents)?;
    let script = scratch.join("debugfs.cmd");
    // `mkdir` (the parent must exist) and `rm` fail harmlessly when the
    // directory is there or the file is absent.
    let dir = if dir.is_empty() { "/" } else { dir };
    fs::write(
        &script,
        format!(
            "mkdir {dir}\ncd {dir}\nrm {name}\nwrite {} {name}\n",
            local.display()
        ),
    )?;
    cmd::run(
        Command::new("debugfs")
            .arg("-w")
            .arg("-f")
            .arg(&script)
            .arg(fs_image)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .with_context(|| format!("writing {guest_path} into {}", fs_image.display()))?;
    let _ = fs::remove_file(&local);
    let _ = fs::remove_file(&script);
    Ok(())
}

/// Checks the image's root file system trusts `public` (an image built
/// before the dev key, or with another one, would refuse the bundle).
pub fn check_trusts(fs_image: &Path, public: &Path) -> Result<()> {
    let guest = format!("/etc/keel/ota-keys/{}.pub", ota_key::KEY_NAME);
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {guest}"))
        .arg(fs_image)
        .stderr(Stdio::null())
        .output()
        .context("debugfs cat")?;
    let ours = fs::read(public).with_context(|| format!("reading {}", public.display()))?;
    if out.stdout.trim_ascii() != ours.trim_ascii() {
        return Err(Error::msg(format!(
            "the image's {guest} is not {} (the image predates the dev key or was built with another): rebuild it with `cargo xtask image`",
            public.display()
        )));
    }
    Ok(())
}

/// The `Block count:` minus the `Free blocks:` of `dumpe2fs -h` output.
pub fn used_blocks(dumpe2fs: &str) -> Option<u64> {
    let value = |key: &str| {
        dumpe2fs
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    value("Block count:")?.checked_sub(value("Free blocks:")?)
}

/// The block count to shrink a file system using `used` blocks to: 5 %
/// and 16 MiB (4 KiB blocks) more, which resize2fs fits the inode tables
/// and the journal into. `resize2fs -M`'s own estimate is far larger
/// (817 MiB for 556 MiB used).
pub fn shrunk_blocks(used: u64) -> u64 {
    used + used / 20 + 4096
}

fn dumpe2fs_h(fs_image: &Path) -> Result<String> {
    let out = Command::new("dumpe2fs")
        .arg("-h")
        .arg(fs_image)
        .stderr(Stdio::null())
        .output()
        .context("dumpe2fs -h")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Shrinks the file system `fs_image` to what it uses plus a little
/// ([`shrunk_blocks`]; `resize2fs -M` if resize2fs refuses that) and the
/// file to it; the result is checked with `e2fsck -fn`.
pub fn shrink(fs_image: &Path) -> Result<u64> {
    cmd::run(
        Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(fs_image)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .context("e2fsck before shrinking")?;
    let used = used_blocks(&dumpe2fs_h(fs_image)?)
        .ok_or_else(|| Error::msg("dumpe2fs -h shows no block and free block counts"))?;
    let tight = cmd::run(
        Command::new("resize2fs")
            .arg("-f")
            .arg(fs_image)
            .arg(shrunk_blocks(used).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    if tight.is_err() {
        println!(
            "xtask boot-test: resize2fs to {} blocks failed; resize2fs -M instead",
            shrunk_blocks(used)
        );
        cmd::run(
            Command::new("resize2fs")
                .arg("-M")
                .arg(fs_image)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .context("resize2fs -M")?;
    }
    cmd::run(
        Command::new("e2fsck")
            .args(["-f", "-n"])
            .arg(fs_image)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .context("e2fsck of the shrunk file system")?;
    let bytes = fs_bytes(&dumpe2fs_h(fs_image)?)
        .ok_or_else(|| Error::msg("dumpe2fs -h shows no block count and size"))?;
    OpenOptions::new()
        .write(true)
        .open(fs_image)?
        .set_len(bytes)?;
    Ok(bytes)
}

/// One firmware bundle to make.
pub struct BundleSpec<'a> {
    /// The board the bundle is for.
    pub board: &'a Board,
    /// The image whose rootfs-a is the payload's base.
    pub image: &'a Path,
    /// The version it reports (written to [`VERSION_FILE`]) and is signed as.
    pub version: &'a str,
    /// Extra files written into the root file system (guest path, contents).
    pub files: &'a [(&'a str, Vec<u8>)],
    /// The bundle file to write (the raw content of the guest's /dev/vdb).
    pub out: &'a Path,
}

/// Makes a signed firmware bundle whose length is a whole number of sectors;
/// returns its size in bytes.
pub fn make(spec: &BundleSpec<'_>, work: &Path) -> Result<u64> {
    let keel_bundle = ota_key::keel_bundle()?;
    let key = ota_key::ensure(&keel_bundle, &cmd::repo_root().join("target/image/keys"))?;
    let rootfs = work.join(format!("rootfs-{}.ext4", spec.version));
    extract_rootfs(spec.board, spec.image, &rootfs)?;
    if let Err(e) = check_trusts(&rootfs, &key.public) {
        let _ = fs::remove_file(&rootfs);
        return Err(e);
    }
    put_file(
        &rootfs,
        VERSION_FILE,
        format!("{}\n", spec.version).as_bytes(),
        work,
    )?;
    for (path, contents) in spec.files {
        put_file(&rootfs, path, contents, work)?;
    }
    shrink(&rootfs)?;
    let result = sign_padded(&keel_bundle, &key.private, spec, &rootfs);
    let _ = fs::remove_file(&rootfs);
    result
}

/// Signs `rootfs` and pads the payload (zeros after the file system, which
/// the slot never reads) until the whole bundle fills whole sectors.
fn sign_padded(
    keel_bundle: &Path,
    key: &Path,
    spec: &BundleSpec<'_>,
    rootfs: &Path,
) -> Result<u64> {
    for _ in 0..4 {
        cmd::run(
            Command::new(keel_bundle)
                .arg("sign")
                .arg("--key")
                .arg(key)
                .args(["--kind", "firmware", "--version", spec.version])
                .args(["--board", spec.board.name])
                .arg("--payload")
                .arg(format!("rootfs={}", rootfs.display()))
                .arg("--out")
                .arg(spec.out)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        )
        .context("keel-bundle sign")?;
        let len = fs::metadata(spec.out)?.len();
        let pad = sector_padding(len);
        if pad == 0 {
            return Ok(len);
        }
        let mut f = OpenOptions::new().append(true).open(rootfs)?;
        f.write_all(&vec![0u8; pad as usize])?;
    }
    Err(Error::msg(format!(
        "{}: could not pad the bundle to whole sectors",
        spec.out.display()
    )))
}

/// Where the OTA phase keeps its bundles.
pub fn bundle_path(work: &Path, name: &str) -> PathBuf {
    work.join(format!("{name}.bundle"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_bumped_in_the_patch_number() {
        assert_eq!(bumped("0.1.0", 1).as_deref(), Some("0.1.1"));
        assert_eq!(bumped("1.2.9\n", 2).as_deref(), Some("1.2.11"));
        assert_eq!(bumped("1.2", 1), None);
        assert_eq!(bumped("1.2.3.4", 1), None);
        assert_eq!(bumped("1.x.3", 1), None);
    }

    #[test]
    fn padding_fills_the_last_sector() {
        assert_eq!(sector_padding(0), 0);
        assert_eq!(sector_padding(512), 0);
        assert_eq!(sector_padding(513), 511);
        assert_eq!(sector_padding(1023), 1);
    }

    /// Makes a real bundle from the built dev image (root, e2fsprogs, the
    /// image): `cargo test -p xtask -- --ignored bundle_from_the_dev_image`.
    #[test]
    #[ignore]
    fn a_bundle_from_the_dev_image_verifies_and_fills_whole_sectors() {
        let image = crate::image::default_out("qemu-x86_64");
        let board = crate::image::board::find("qemu-x86_64").unwrap();
        let work = std::env::temp_dir().join(format!("keel-ota-bundle-{}", std::process::id()));
        fs::create_dir_all(&work).unwrap();
        let out = bundle_path(&work, "update");
        let bytes = make(
            &BundleSpec {
                board,
                image: &image,
                version: "9.9.9",
                files: &[],
                out: &out,
            },
            &work,
        )
        .unwrap();
        assert_eq!(bytes % 512, 0);
        assert_eq!(fs::metadata(&out).unwrap().len(), bytes);
        let key = ota_key::paths(&cmd::repo_root().join("target/image/keys"));
        let inspect = Command::new(cmd::repo_root().join("target/debug/keel-bundle"))
            .arg("inspect")
            .arg(&out)
            .arg("--pubkey")
            .arg(&key.public)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&inspect.stdout).into_owned();
        println!("{text}");
        assert!(inspect.status.success(), "{text}");
        fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn the_shrunk_size_is_what_is_used_and_a_little() {
        let text = "Block count:              262144\nFree blocks:              119906\n";
        assert_eq!(used_blocks(text), Some(142238));
        assert_eq!(used_blocks("Block count: 10\n"), None);
        assert_eq!(shrunk_blocks(142238), 142238 + 7111 + 4096);
    }

    #[test]
    fn the_file_system_size_comes_from_dumpe2fs() {
        let text = "Filesystem volume name:   rootfs-a\nBlock count:              262144\nReserved block count:     0\nBlock size:               4096\n";
        assert_eq!(fs_bytes(text), Some(1024 * 1024 * 1024));
        assert_eq!(fs_bytes("Block size: 4096\n"), None);
    }
}
