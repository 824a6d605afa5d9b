//! The boot test's OTA phase (`--ota`), on the guest: with the bundle made by
//! [`super::ota_bundle`] on the second virtio disk (/dev/vdb), a manager
//! runs `ota install /dev/vdb --now` on the console; the terminal writes
//! slot B and reboots; GRUB must boot slot B, and after the new system's
//! health check `ota status` must show the new version on slot B,
//! committed.
//!
//! Owns that sequence and its timings; it must not make bundles or start
//! qemu.

use super::serial::{field, Console};
use super::{ask, slot_lines, wait_console};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// The guest's path of the bundle disk.
pub const BUNDLE_DEVICE: &str = "/dev/vdb";

/// Seconds the phase's steps took.
#[derive(Debug, Default)]
pub struct OtaTimings {
    /// From `ota install` to GRUB booting the new slot (slot written, reboot).
    pub install_to_grub_s: f64,
    /// From GRUB to the console answering on the new system.
    pub grub_to_console_s: f64,
    /// From the console to `ota status` showing the update committed.
    pub console_to_committed_s: f64,
}

/// How often `needle` occurs in `text`.
pub fn occurrences(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// Installs the bundle on /dev/vdb and checks the terminal comes back on
/// slot B running `version`, committed.
pub fn update_to_slot_b(
    log_file: &Path,
    console: &mut Console,
    version: &str,
) -> Result<OtaTimings> {
    let log_text =
        || String::from_utf8_lossy(&std::fs::read(log_file).unwrap_or_default()).into_owned();
    let mut t = OtaTimings::default();
    ask(console, "login 9999")?;
    let before = log_text();
    let booted_before = slot_lines(&before).len();
    let passed_before = occurrences(&before, "ota: health check passed");
    let start = Instant::now();
    let reply = ask(console, &format!("ota install {BUNDLE_DEVICE} --now"))?;
    println!("xtask boot-test: ota install: {reply}");
    if field(&reply, "version").as_deref() != Some(version) {
        return Err(Error::msg(format!(
            "ota install should install {version}: {reply}"
        )));
    }
    let deadline = start + Duration::from_secs(400);
    let line = loop {
        let lines = slot_lines(&log_text());
        if lines.len() > booted_before {
            break lines[lines.len() - 1].clone();
        }
        if Instant::now() >= deadline {
            return Err(Error::msg(
                "GRUB did not boot again within 400 s of `ota install --now`",
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let grub = Instant::now();
    t.install_to_grub_s = grub.duration_since(start).as_secs_f64();
    println!(
        "xtask boot-test: after the install ({:.1} s): {line}",
        t.install_to_grub_s
    );
    if !line.contains("booting slot B") {
        return Err(Error::msg(format!(
            "after installing into slot B, GRUB should boot slot B: {line}"
        )));
    }
    let console_at = wait_console(console, grub + Duration::from_secs(240))?;
    t.grub_to_console_s = console_at.duration_since(grub).as_secs_f64();
    console.settle(Duration::from_secs(3), Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(150);
    while occurrences(&log_text(), "ota: health check passed") <= passed_before {
        if Instant::now() >= deadline {
            return Err(Error::msg(
                "the new system's health check did not pass within 150 s of its console",
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // The commit (mark-good) follows the pass; poll `ota status` for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = ask(console, "ota status")?;
        if field(&status, "state").as_deref() == Some("committed") || Instant::now() >= deadline {
            break status;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    t.console_to_committed_s = console_at.elapsed().as_secs_f64();
    let slot = field(&status, "running_slot").unwrap_or_default();
    let running = field(&status, "running_version").unwrap_or_default();
    let state = field(&status, "state").unwrap_or_default();
    println!("xtask boot-test: ota status after the update: slot {slot}, version {running}, state {state}");
    if slot != "B" || running != version || state != "committed" {
        return Err(Error::msg(format!(
            "ota status: expected slot B running {version}, committed: {status}"
        )));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_counted() {
        let log = "a ota: health check passed\nb\nc ota: health check passed\n";
        assert_eq!(occurrences(log, "ota: health check passed"), 2);
        assert_eq!(occurrences("", "ota: health check passed"), 0);
    }
}
