//! The image's root file system tree: a debootstrap (minbase + the board's
//! packages) cached under `target/image/cache/<key>/tree`, keyed by what goes
//! into it, then copied and given Keel: keel-kiosk and libtensorflowlite_c.so,
//! the terminal's config, the board description, fstab, systemd units.
//!
//! Owns the trees under `target/image/`; it must not touch the host system
//! outside them (debootstrap and `chroot update-initramfs` only work inside
//! the tree) and must not write into a cached tree once it is complete.

use super::board::Board;
use super::files;
use crate::cmd;
use crate::error::{Context, Error, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Bump when the base recipe below changes, so cached trees are rebuilt.
pub const RECIPE_VERSION: u32 = 2;

/// Kernel module directories a POS terminal has no use for (under
/// `/usr/lib/modules/<version>/kernel/`): removed from the tree to keep the
/// image small (about 150 MB of 400 MB).
const TRIMMED_MODULES: &[&str] = &[
    "sound",
    "drivers/media",
    "drivers/infiniband",
    "drivers/staging",
    "drivers/iio",
    "drivers/net/wireless",
    "drivers/gpu/drm/amd",
    "drivers/gpu/drm/nouveau",
    "drivers/gpu/drm/radeon",
    "net/wireless",
    "net/mac80211",
    "net/bluetooth",
    "drivers/bluetooth",
];

/// Debian's periodic jobs a till does not run (apt updates, dpkg backups,
/// ext4 scrubbing): masked.
const BACKGROUND_JOBS: &[&str] = &[
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
];

/// Documentation and caches removed from the tree.
const TRIMMED_PATHS: &[&str] = &[
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "var/cache/debconf/templates.dat-old",
];

/// The base tree for `board`, and how long debootstrap took if it ran now
/// (`None`: it came from the cache).
pub fn base_tree(board: &Board, cache_dir: &Path) -> Result<(PathBuf, Option<Duration>)> {
    let key = files::rootfs_cache_key(board, RECIPE_VERSION);
    let dir = cache_dir.join(&key);
    let tree = dir.join("tree");
    let complete = dir.join("complete");
    if complete.is_file() && tree.is_dir() {
        println!("xtask image: root file system from the cache ({key})");
        return Ok((tree, None));
    }
    let partial = cache_dir.join(format!("{key}.partial"));
    let partial_tree = partial.join("tree");
    // A debootstrap that completed survives a later step's failure: the
    // finishing steps below can run again on it.
    let debootstrapped = partial.join("debootstrapped");
    remove_dir(&dir)?;
    let took = if debootstrapped.is_file() {
        println!(
            "xtask image: reusing the debootstrap in {}",
            partial.display()
        );
        None
    } else {
        remove_dir(&partial)?;
        fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let started = Instant::now();
        let mut debootstrap = Command::new("debootstrap");
        // The kernel package would build a 36 MB initramfs with every module;
        // the board's small one is built below instead.
        debootstrap
            .env("INITRD", "No")
            .arg("--variant=minbase")
            .arg(format!("--include={}", board.packages.join(",")))
            .arg(board.suite)
            .arg(&partial_tree)
            .arg(board.mirror);
        println!("xtask image: {}", cmd::display(&debootstrap));
        cmd::run(&mut debootstrap)
            .context("debootstrap (needs the Debian mirror once; then cached)")?;
        let took = started.elapsed();
        println!("xtask image: debootstrap took {:.1} s", took.as_secs_f64());
        fs::write(&debootstrapped, format!("{:.1}\n", took.as_secs_f64()))?;
        Some(took)
    };
    finish_base(board, &partial_tree).context("preparing the base tree")?;
    fs::rename(&partial, &dir).with_context(|| format!("moving the tree to {}", dir.display()))?;
    prune_cache(cache_dir, board, &key)?;
    fs::write(&complete, "")?;
    Ok((tree, took))
}

/// Removes the board's older cached trees (another package list, recipe or
/// suite): each is about 450 MB.
fn prune_cache(cache_dir: &Path, board: &Board, keep: &str) -> Result<()> {
    let prefix = format!("{}-", board.name);
    for entry in fs::read_dir(cache_dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name != keep {
            println!("xtask image: removing the old cached tree {name}");
            remove_dir(&cache_dir.join(&name))?;
        }
    }
    Ok(())
}

/// What every image of the board shares: the small initramfs, no
/// documentation, no modules for hardware a terminal never has.
fn finish_base(board: &Board, tree: &Path) -> Result<()> {
    let conf = tree.join("etc/initramfs-tools/initramfs.conf");
    let text = fs::read_to_string(&conf).with_context(|| format!("reading {}", conf.display()))?;
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("MODULES=") {
                "MODULES=list".to_string()
            } else if l.starts_with("COMPRESS=") {
                "COMPRESS=gzip".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(&conf, text + "\n")?;
    fs::write(
        tree.join("etc/initramfs-tools/modules"),
        files::initramfs_modules(board),
    )?;
    for p in TRIMMED_PATHS {
        remove_path(&tree.join(p))?;
    }
    let modules = tree.join("usr/lib/modules");
    let mut versions = Vec::new();
    for entry in fs::read_dir(&modules).with_context(|| format!("reading {}", modules.display()))? {
        let entry = entry?;
        let version = entry.file_name().to_string_lossy().into_owned();
        for m in TRIMMED_MODULES {
            remove_dir(&entry.path().join("kernel").join(m))?;
        }
        cmd::run(
            Command::new("chroot")
                .arg(tree)
                .args(["depmod", "-a", &version]),
        )?;
        versions.push(version);
    }
    versions.sort();
    let version = versions.last().ok_or_else(|| {
        Error::msg("the tree has no kernel modules: did linux-image-amd64 install?")
    })?;
    let initrd = format!("boot/initrd.img-{version}");
    let mode = if tree.join(&initrd).is_file() {
        "-u"
    } else {
        "-c"
    };
    cmd::run(
        Command::new("chroot")
            .arg(tree)
            .args(["update-initramfs", mode, "-k", version]),
    )?;
    // Old copies the package scripts leave behind.
    for entry in fs::read_dir(tree.join("boot"))? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".dpkg-bak") {
            fs::remove_file(&path)?;
        }
    }
    // What GRUB boots: /vmlinuz and /initrd.img, relative links into /boot.
    for (link, target) in [
        ("vmlinuz", format!("boot/vmlinuz-{version}")),
        ("initrd.img", initrd),
    ] {
        if !tree.join(&target).is_file() {
            return Err(Error::msg(format!("the tree has no /{target}")));
        }
        symlink(Path::new(&target), &tree.join(link))?;
    }
    for link in ["vmlinuz.old", "initrd.img.old"] {
        let _ = fs::remove_file(tree.join(link));
    }
    Ok(())
}

/// Translations and the rest a till never shows, removed from each staged
/// tree (the cached tree keeps them; locale.alias stays for glibc).
const SLIMMED_PATHS: &[&str] = &[
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/lintian",
    "usr/share/bash-completion",
    "var/cache/apt",
    "var/lib/apt/lists",
];

/// Makes a staged tree appliance-sized (the OTA payload is this tree): no
/// translations or documentation, only the kernel modules of
/// [`super::modules`] (modules.dep regenerated by depmod in the tree).
fn slim(tree: &Path) -> Result<()> {
    let started = Instant::now();
    let before = tree_bytes(tree);
    for p in SLIMMED_PATHS {
        remove_path(&tree.join(p))?;
    }
    let locale = tree.join("usr/share/locale");
    if locale.is_dir() {
        for entry in fs::read_dir(&locale)? {
            let path = entry?.path();
            if path.file_name().is_some_and(|n| n != "locale.alias") {
                remove_path(&path)?;
            }
        }
    }
    let modules = tree.join("usr/lib/modules");
    let mut removed = 0;
    for entry in fs::read_dir(&modules).with_context(|| format!("reading {}", modules.display()))? {
        let entry = entry?;
        let version = entry.file_name().to_string_lossy().into_owned();
        removed += super::modules::prune(&entry.path(), super::modules::WANTED)?;
        cmd::run(
            Command::new("chroot")
                .arg(tree)
                .args(["depmod", "-a", &version]),
        )?;
    }
    println!(
        "xtask image: root file system slimmed from {} to {} MiB ({removed} kernel modules removed) in {:.1} s",
        before / (1024 * 1024),
        tree_bytes(tree) / (1024 * 1024),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Bytes of the regular files under `dir` (symbolic links not followed).
fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// What goes into the image's root file system from the workspace.
pub struct KeelFiles<'a> {
    /// keel-kiosk (built with `kms`).
    pub kiosk: &'a Path,
    /// libtensorflowlite_c.so.
    pub tflite: &'a Path,
    /// board/<name>/board.toml.
    pub board_toml: &'a Path,
    /// board/common/systemd.
    pub units: &'a Path,
    /// keel-uinput-scan (the boot test's virtual scanner; dev image only).
    pub uinput_scan: &'a Path,
    /// The OTA public keys the image's terminal trusts (the operator's and,
    /// on a dev image, the build's dev key), each under its file name.
    pub ota_public_keys: &'a [super::ota_key::TrustedKey],
}

/// Copies `base` to `out` and installs Keel into it.
pub fn stage_tree(board: &Board, base: &Path, out: &Path, keel: &KeelFiles<'_>) -> Result<()> {
    remove_dir(out)?;
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent)?;
    }
    cmd::run(Command::new("cp").arg("-a").arg(base).arg(out)).context("copying the base tree")?;
    slim(out).context("slimming the root file system")?;
    let bin = out.join(files::KEEL_BIN_DIR.trim_start_matches('/'));
    fs::create_dir_all(&bin)?;
    // The debug build carries ~90 MB of debug info: not on the image.
    cmd::run(
        Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(bin.join("keel-kiosk"))
            .arg(keel.kiosk),
    )
    .context("installing keel-kiosk")?;
    fs::copy(keel.tflite, bin.join("libtensorflowlite_c.so"))
        .context("installing libtensorflowlite_c.so")?;
    check_libraries(out, &bin.join("keel-kiosk"))?;
    let tools = out.join(files::TEST_TOOLS_DIR.trim_start_matches('/'));
    fs::create_dir_all(&tools)?;
    cmd::run(
        Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(tools.join("keel-uinput-scan"))
            .arg(keel.uinput_scan),
    )
    .context("installing keel-uinput-scan")?;
    check_needed(out, &tools, &[tools.join("keel-uinput-scan")])?;
    fs::write(
        out.join("etc/systemd/system")
            .join(files::TEST_SCANNER_UNIT),
        files::test_scanner_unit(),
    )?;
    let rules = out.join("etc/udev/rules.d");
    fs::create_dir_all(&rules)?;
    fs::write(
        rules.join("90-keel-test-scanner.rules"),
        files::test_scanner_udev_rule(),
    )?;
    let etc_keel = out.join("etc/keel");
    // The OTA signing keys the terminal trusts ([ota] trusted_keys_dir's
    // default): the operator's (`--ota-key`) and, unless `--no-dev-key`, the
    // build's dev key (docs/image.md).
    let ota_keys = etc_keel.join("ota-keys");
    fs::create_dir_all(&ota_keys)?;
    for key in keel.ota_public_keys {
        fs::copy(&key.path, ota_keys.join(&key.name))
            .with_context(|| format!("installing the OTA public key {}", key.path.display()))?;
    }
    fs::write(
        out.join(files::TERMINAL_CONFIG.trim_start_matches('/')),
        files::terminal_toml(board),
    )?;
    fs::copy(
        keel.board_toml,
        out.join(files::BOARD_FILE.trim_start_matches('/')),
    )
    .context("copying board.toml")?;
    fs::write(out.join("etc/fstab"), files::fstab())?;
    fs::write(
        out.join("etc/hostname"),
        format!("keel-{}\n", board.name.replace('_', "-")),
    )?;
    // Empty: systemd makes this device's id at its first boot.
    fs::write(out.join("etc/machine-id"), "")?;
    for dir in [files::DATA_MOUNT, files::ESP_MOUNT] {
        fs::create_dir_all(out.join(dir.trim_start_matches('/')))?;
    }
    install_units(board, out, keel.units)
}

/// Installs board/common/systemd's units, enables keel.service and masks
/// what would compete with it for the console port and the display, the
/// login on the log port, systemd-firstboot (it would wait for answers on the
/// console) and Debian's periodic jobs.
fn install_units(board: &Board, tree: &Path, units: &Path) -> Result<()> {
    let system = tree.join("etc/systemd/system");
    fs::create_dir_all(system.join("multi-user.target.wants"))?;
    for entry in fs::read_dir(units).with_context(|| format!("reading {}", units.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".service") {
            fs::copy(entry.path(), system.join(&name))?;
        }
    }
    if !system.join("keel.service").is_file() {
        return Err(Error::msg(format!(
            "{} has no keel.service",
            units.display()
        )));
    }
    symlink(
        Path::new("/etc/systemd/system/keel.service"),
        &system.join("multi-user.target.wants/keel.service"),
    )?;
    let console = board
        .console_device
        .rsplit('/')
        .next()
        .unwrap_or(board.console_device);
    let mut masked = vec![
        format!("serial-getty@{console}.service"),
        "getty@tty1.service".to_string(),
        "systemd-firstboot.service".to_string(),
    ];
    if let Some(port) = board.log_port {
        // The log port carries the boot messages, not a login.
        masked.push(format!("serial-getty@{port}.service"));
    }
    masked.extend(BACKGROUND_JOBS.iter().map(|u| u.to_string()));
    for masked in masked {
        symlink(Path::new("/dev/null"), &system.join(masked))?;
    }
    Ok(())
}

/// Fails unless every library keel-kiosk and libtensorflowlite_c.so need
/// (their ELF NEEDED entries) is in the tree: a missing one would only show
/// at boot, as a unit that never starts.
fn check_libraries(tree: &Path, kiosk: &Path) -> Result<()> {
    let bin_dir = kiosk.parent().unwrap_or(tree);
    check_needed(
        tree,
        bin_dir,
        &[kiosk.to_path_buf(), bin_dir.join("libtensorflowlite_c.so")],
    )
}

/// Checks every NEEDED library of `elfs` is in `bin_dir` or the tree's
/// library directories.
fn check_needed(tree: &Path, bin_dir: &Path, elfs: &[PathBuf]) -> Result<()> {
    let mut missing = Vec::new();
    for elf in elfs {
        for lib in needed(elf)? {
            let found = [
                bin_dir.to_path_buf(),
                tree.join("usr/lib/x86_64-linux-gnu"),
                tree.join("usr/lib64"),
                tree.join("usr/lib"),
            ]
            .iter()
            .any(|d| d.join(&lib).exists());
            if !found && !missing.contains(&lib) {
                missing.push(lib);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "the root file system lacks libraries keel-kiosk needs: {} (add their Debian packages to the board's package list)",
            missing.join(", ")
        )))
    }
}

/// The NEEDED entries of an ELF file (`readelf -d`).
fn needed(elf: &Path) -> Result<Vec<String>> {
    let out = Command::new("readelf")
        .arg("-d")
        .arg(elf)
        .output()
        .with_context(|| format!("running readelf -d {}", elf.display()))?;
    if !out.status.success() {
        return Err(Error::msg(format!("readelf -d {} failed", elf.display())));
    }
    Ok(parse_needed(&String::from_utf8_lossy(&out.stdout)))
}

/// The library names in `readelf -d` output's `(NEEDED)` lines.
pub fn parse_needed(readelf: &str) -> Vec<String> {
    readelf
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            let start = l.find('[')? + 1;
            let end = l[start..].find(']')? + start;
            Some(l[start..end].to_string())
        })
        .collect()
}

fn symlink(target: &Path, link: &Path) -> Result<()> {
    let _ = fs::remove_file(link);
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("linking {} -> {}", link.display(), target.display()))
}

/// Removes a file or a directory tree, if it exists.
fn remove_path(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => remove_dir(path),
        Ok(_) => fs::remove_file(path).with_context(|| format!("removing {}", path.display())),
        Err(_) => Ok(()),
    }
}

/// Removes a directory tree if it exists.
pub fn remove_dir(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::from(e).context(format!("removing {}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::board::BOARDS;

    #[test]
    fn keel_service_runs_the_installed_kiosk_with_the_installed_config() {
        let path = crate::cmd::repo_root().join("board/common/systemd/keel.service");
        let unit = std::fs::read_to_string(&path).unwrap();
        let line = |key: &str| {
            unit.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{}: no {key}=", path.display()))
                .to_string()
        };
        assert_eq!(
            line("ExecStart"),
            format!(
                "{}/keel-kiosk --config {}",
                files::KEEL_BIN_DIR,
                files::TERMINAL_CONFIG
            )
        );
        assert_eq!(line("Restart"), "always");
        // Restarted, and when it cannot stay up the terminal reboots: a till
        // that stops restarting is a dead till, and on an updated slot the
        // reboot spends a boot try so GRUB can fall back.
        assert_eq!(line("StartLimitIntervalSec"), "120");
        assert_eq!(line("StartLimitBurst"), "10");
        assert_eq!(line("StartLimitAction"), "reboot");
        assert_eq!(line("RequiresMountsFor"), files::DATA_MOUNT);
        assert_eq!(line("WantedBy"), "multi-user.target");
        // keel owns each board's console port: no getty may take it.
        let conflicts = line("Conflicts");
        for board in BOARDS {
            let port = board.console_device.rsplit('/').next().unwrap();
            assert!(
                conflicts.contains(&format!("serial-getty@{port}.service")),
                "{conflicts}"
            );
        }
    }

    #[test]
    fn needed_libraries_come_from_readelf_output() {
        let out = "\nDynamic section at offset 0x8e5c2d8 contains 38 entries:\n  Tag        Type                         Name/Value\n 0x000000000000001d (RUNPATH)            Library runpath: [$ORIGIN:$ORIGIN/../lib]\n 0x0000000000000001 (NEEDED)             Shared library: [libseat.so.1]\n 0x0000000000000001 (NEEDED)             Shared library: [libtensorflowlite_c.so]\n 0x000000000000000c (INIT)               0x1a000\n";
        assert_eq!(
            parse_needed(out),
            vec![
                "libseat.so.1".to_string(),
                "libtensorflowlite_c.so".to_string()
            ]
        );
        assert!(parse_needed("").is_empty());
    }
}
