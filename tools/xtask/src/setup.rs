//! `cargo xtask setup`: makes a fresh Debian 12 machine ready to build, test
//! and run Keel by installing the Debian packages it needs.
//!
//! The package list is [`APT_PACKAGES`], the one place to add a package when a
//! crate starts needing a system library or a test needs a tool. When every
//! package is already installed, setup makes no apt call at all.

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::process::{Command, Stdio};

/// A Debian package Keel needs, and why.
pub struct AptPackage {
    /// The package name as apt knows it.
    pub name: &'static str,
    /// Why it is needed (shown by `cargo xtask setup --list`).
    pub why: &'static str,
}

/// Every Debian package the build, the tests and `cargo xtask run` need.
///
/// Later work adds here, e.g. `qemu-system-x86` (image boot tests).
pub const APT_PACKAGES: &[AptPackage] = &[
    AptPackage {
        name: "build-essential",
        why: "gcc, make and libc headers: the Rust linker driver, and C code built by ring and rusqlite (bundled SQLite, used by the journal benchmark)",
    },
    AptPackage {
        name: "pkg-config",
        why: "how -sys crates find system libraries",
    },
    AptPackage {
        name: "libavahi-client-dev",
        why: "zeroconf (mDNS discovery of store terminals) links libavahi-client",
    },
    AptPackage {
        name: "libclang-dev",
        why: "bindgen (zeroconf's Avahi bindings) needs libclang",
    },
    AptPackage {
        name: "dbus",
        why: "discovery tests run a private D-Bus bus for their own avahi-daemon",
    },
    AptPackage {
        name: "avahi-daemon",
        why: "discovery tests run avahi-daemon on loopback or in test network namespaces (never on the real interface; setup keeps the package from starting the system service)",
    },
    AptPackage {
        name: "avahi-utils",
        why: "avahi-browse, used by the discovery tests to list `_keel._udp`",
    },
    AptPackage {
        name: "tmux",
        why: "`cargo xtask run` shows each demo terminal's console in its own pane",
    },
    AptPackage {
        name: "iproute2",
        why: "`ip netns` for cluster tests in network namespaces",
    },
    AptPackage {
        name: "libfontconfig1-dev",
        why: "the UI (keel-ui, Slint's software renderer with system fonts) links fontconfig; the screens embed their own fonts, so screenshots do not depend on the machine's",
    },
    AptPackage {
        name: "libseat-dev",
        why: "the appliance UI (keel-kiosk --features kms, built by the test suite) opens the KMS display through libseat",
    },
    AptPackage {
        name: "libinput-dev",
        why: "the appliance UI reads touch and keys through libinput under linuxkms",
    },
    AptPackage {
        name: "libxkbcommon-dev",
        why: "the appliance UI maps key codes to characters (linuxkms keyboard input)",
    },
    AptPackage {
        name: "libudev-dev",
        why: "the appliance UI finds input devices and hot-plugs through udev (linuxkms)",
    },
    AptPackage {
        name: "libgbm-dev",
        why: "GL on the appliance's display: linuxkms renders with femtovg over EGL on GBM where the board has a GPU (EGL is loaded at run time; the software renderer is the fallback)",
    },
    AptPackage {
        name: "unzip",
        why: "setup unpacks the TensorFlow Lite 2.6 C library from the tflitec crate's build-res/docsrs_res.zip",
    },
    AptPackage {
        name: "python3-venv",
        why: "setup installs the Yocto layer's linter, oelint-adv (pinned, from the Python package index), into a virtualenv in target/pyenv",
    },
    AptPackage {
        name: "postgresql",
        why: "the cloud's storage tests and benchmark start their own PostgreSQL server on loopback (initdb + postgres as the `postgres` user, on a temp dir); the package's own cluster service is never started",
    },
    AptPackage {
        name: "grub-common",
        why: "grub-editenv and grub-script-check: the OTA tests check our grubenv against GRUB's own tool and the A/B boot script's syntax",
    },
    AptPackage {
        name: "libubootenv-tool",
        why: "fw_printenv/fw_setenv: the OTA tests read and write U-Boot environments with the real tools (with -c on temp files, never /etc)",
    },
    AptPackage {
        name: "grub-emu",
        why: "the OTA tests run the GRUB A/B boot script in GRUB's user-space emulator against real grubenv blocks (on an ext2 image made by mke2fs, e2fsprogs being in every Debian install)",
    },
    AptPackage {
        name: "u-boot-qemu",
        why: "the OTA tests run the U-Boot A/B boot script in real U-Boot (the qemu-x86 build) under qemu",
    },
    AptPackage {
        name: "u-boot-tools",
        why: "mkimage: the OTA tests package the U-Boot boot scripts (mkimage -T script)",
    },
    AptPackage {
        name: "debootstrap",
        why: "`cargo xtask image` builds the dev image's root file system from Debian packages (cached in target/image/cache)",
    },
    AptPackage {
        name: "e2fsprogs",
        why: "`cargo xtask image` makes the rootfs and data partitions with mkfs.ext4 -d (no loop devices, no mounts)",
    },
    AptPackage {
        name: "dosfstools",
        why: "`cargo xtask image` makes the EFI system partition with mkfs.fat",
    },
    AptPackage {
        name: "mtools",
        why: "`cargo xtask image` copies GRUB and its config onto the EFI system partition without mounting it (mmd, mcopy)",
    },
    AptPackage {
        name: "gdisk",
        why: "`cargo xtask image` writes the GPT (boot, rootfs-a, rootfs-b, data) onto the image file with sgdisk",
    },
    AptPackage {
        name: "grub-efi-amd64-bin",
        why: "`cargo xtask image` builds GRUB's EFI binary (grub-mkimage) for the dev image's ESP",
    },
    AptPackage {
        name: "qemu-system-x86",
        why: "`cargo xtask boot-test` boots the dev image headless (TCG)",
    },
    AptPackage {
        name: "ovmf",
        why: "`cargo xtask boot-test`: the UEFI firmware qemu boots the image with (OVMF_CODE.fd, a copy of OVMF_VARS.fd)",
    },
];

/// Where Debian's maintainer scripts ask whether they may start services.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// Options of `cargo xtask setup`.
#[derive(Default)]
pub struct SetupOptions {
    /// Only report what is missing; install nothing; fail if something is missing.
    pub check_only: bool,
    /// Print the package table and exit.
    pub list: bool,
}

/// Parses `setup` arguments.
pub fn parse(args: &[String]) -> Result<SetupOptions> {
    let mut opts = SetupOptions::default();
    for arg in args {
        match arg.as_str() {
            "--check" => opts.check_only = true,
            "--list" => opts.list = true,
            other => {
                return Err(Error::usage(format!(
                    "unknown setup argument `{other}` (usage: cargo xtask setup [--check] [--list])"
                )))
            }
        }
    }
    Ok(opts)
}

/// Runs setup: checks every package and installs the missing ones, then puts
/// the TensorFlow Lite library and headers in place ([`crate::tflite`]) and
/// the Yocto layer's linter ([`crate::yocto::oelint`]) and cargo-fuzz
/// ([`crate::fuzz::prepare`]).
pub fn setup(opts: &SetupOptions) -> Result<()> {
    packages(opts)?;
    if !opts.list && !opts.check_only {
        crate::tflite::prepare().context("preparing the TensorFlow Lite library")?;
        crate::yocto::oelint::prepare()
            .context("installing oelint-adv (the Yocto layer's linter)")?;
        crate::fuzz::prepare().context("installing cargo-fuzz (cargo xtask fuzz)")?;
    }
    Ok(())
}

/// Checks every Debian package and installs the missing ones.
fn packages(opts: &SetupOptions) -> Result<()> {
    if opts.list {
        for p in APT_PACKAGES {
            println!("{:<20} {}", p.name, p.why);
        }
        return Ok(());
    }
    if !cmd::on_path("dpkg-query") {
        println!(
            "xtask setup: dpkg-query not found: not a Debian system, skipping the package check \
             (Keel needs: {})",
            names(APT_PACKAGES.iter())
        );
        return Ok(());
    }
    let mut missing = Vec::new();
    for p in APT_PACKAGES {
        if !installed(p.name)? {
            missing.push(p);
        }
    }
    if missing.is_empty() {
        println!(
            "xtask setup: all {} Debian packages present",
            APT_PACKAGES.len()
        );
        return Ok(());
    }
    for p in &missing {
        println!("xtask setup: missing {} ({})", p.name, p.why);
    }
    if opts.check_only {
        return Err(Error::msg(format!(
            "missing Debian packages: {} (run `cargo xtask setup` to install them)",
            names(missing.iter().copied())
        )));
    }
    install(&missing).context("installing Debian packages")?;
    let still: Vec<_> = missing
        .iter()
        .filter(|p| !matches!(installed(p.name), Ok(true)))
        .collect();
    if !still.is_empty() {
        return Err(Error::msg(format!(
            "apt-get finished but these packages are still not installed: {}",
            names(still.iter().map(|p| **p))
        )));
    }
    println!("xtask setup: installed {}", names(missing.iter().copied()));
    Ok(())
}

fn names<'a>(packages: impl Iterator<Item = &'a AptPackage>) -> String {
    packages.map(|p| p.name).collect::<Vec<_>>().join(" ")
}

/// Whether dpkg reports `name` as installed (any architecture).
fn installed(name: &str) -> Result<bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}\\n", name])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("cannot run dpkg-query for {name}"))?;
    // Unknown packages make dpkg-query exit 1 with nothing on stdout.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .any(|status| status.split_whitespace().nth(2) == Some("installed")))
}

/// The effective user id, from /proc (std has no getuid).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// An apt-get command, through sudo when not root, non-interactive either way.
fn apt_get(args: &[&str]) -> Result<Command> {
    let mut cmd = if is_root() {
        let mut c = Command::new("apt-get");
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    } else if cmd::on_path("sudo") {
        let mut c = Command::new("sudo");
        // sudo resets the environment; pass the variable as an assignment.
        c.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        c
    } else {
        return Err(Error::msg(
            "not root and sudo is not installed: run `cargo xtask setup` as root",
        ));
    };
    cmd.args(args);
    Ok(cmd)
}

fn install(missing: &[&AptPackage]) -> Result<()> {
    let mut update = apt_get(&["update"])?;
    println!("xtask setup: {}", cmd::display(&update));
    cmd::run(update.stdin(Stdio::null()))?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(missing.iter().map(|p| p.name));
    let mut install = apt_get(&args)?;
    println!("xtask setup: {}", cmd::display(&install));
    // Packages such as avahi-daemon start a system service when installed; on a
    // build machine that would put mDNS on the real network. A policy-rc.d that
    // refuses every start prevents it; remove ours afterwards.
    let guard = deny_service_starts()?;
    let result = cmd::run(install.stdin(Stdio::null()));
    if guard {
        allow_service_starts()?;
    }
    result
}

/// A root shell command, through sudo when not root.
fn as_root(script: &str) -> Result<Command> {
    let mut c = if is_root() {
        Command::new("sh")
    } else if cmd::on_path("sudo") {
        let mut c = Command::new("sudo");
        c.arg("sh");
        c
    } else {
        return Err(Error::msg(
            "not root and sudo is not installed: run `cargo xtask setup` as root",
        ));
    };
    c.args(["-c", script]);
    Ok(c)
}

/// Installs a policy-rc.d refusing service starts unless one exists. Returns whether it did.
fn deny_service_starts() -> Result<bool> {
    if std::path::Path::new(POLICY_RC_D).exists() {
        return Ok(false);
    }
    let script = format!("printf '#!/bin/sh\\n# keel xtask setup: no service starts during install\\nexit 101\\n' > {POLICY_RC_D} && chmod 755 {POLICY_RC_D}");
    cmd::run(as_root(&script)?.stdin(Stdio::null()))?;
    Ok(true)
}

/// Removes the policy-rc.d that [`deny_service_starts`] installed.
fn allow_service_starts() -> Result<()> {
    cmd::run(as_root(&format!("rm -f {POLICY_RC_D}"))?.stdin(Stdio::null()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for p in APT_PACKAGES {
            assert!(!p.why.is_empty(), "{} needs a reason", p.name);
            assert!(seen.insert(p.name), "{} listed twice", p.name);
            assert!(!p.name.contains(char::is_whitespace));
        }
    }
}
