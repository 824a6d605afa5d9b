//! The boot test's OTA phase (`--ota`), on the guest: with the bundle made by
//! [`super::ota_bundle`] on the second virtio disk (/dev/vdb), a manager
//! runs `ota install /dev/vdb --now` on the console; the terminal writes
//! slot B and reboots; GRUB must boot slot B, and after the new system's
//! health check `ota status` must show the new version on slot B,
//! committed. Then a second bundle (/dev/vdc) whose keel refuses its config
//! ([`failing_terminal_toml`]) and whose keel.service reboots after three
//! failed starts ([`failing_drop_in`]) goes into slot A: it never starts,
//! each boot spends one of slot A's tries, GRUB boots slot B again after
//! the third, and `ota status` must say rolled_back with the reason.
//!
//! Owns that sequence and its timings; it must not make bundles or start
//! qemu.

use super::serial::{field, Console};
use super::{ask, slot_lines, wait_console};
use crate::error::{Error, Result};
use std::path::Path;
use std::time::{Duration, Instant};

/// The guest's path of the good bundle's disk.
pub const BUNDLE_DEVICE: &str = "/dev/vdb";

/// The guest's path of the failing bundle's disk.
pub const FAILING_BUNDLE_DEVICE: &str = "/dev/vdc";

/// What the failing system's keel refuses in its config (a value of the
/// wrong type): it exits at start with a config error naming this key.
pub const FAILING_CONFIG_KEY: &str = "health_deadline_s";

/// The config error keel logs for it (`/etc/keel/terminal.toml:63: invalid
/// type: string "ten", expected i64`).
pub const FAILING_CONFIG_ERROR: &str = "invalid type: string \"ten\"";

/// The failing system's terminal.toml: the image's, plus an `[ota]` section
/// whose `health_deadline_s` is not a number, so keel exits at start with a
/// config error — a release whose keel does not start.
pub fn failing_terminal_toml(image_toml: &str) -> String {
    format!("{image_toml}\n[ota]\n{FAILING_CONFIG_KEY} = \"ten\"\n")
}

/// Where the failing system's keel.service drop-in goes.
pub const FAILING_DROP_IN: &str = "/etc/systemd/system/keel.service.d/keel-boot-test-failing.conf";

/// The failing system's keel.service drop-in: after three failed starts
/// within two minutes systemd reboots (the image's own unit does the same
/// after ten, which leaves room for the display-driver race; three keeps the
/// test short). The boot's try is then spent, as on a terminal whose
/// watchdog resets it.
pub fn failing_drop_in() -> String {
    "# boot-test --ota: the failing release reboots when keel cannot start.\n\
     [Unit]\n\
     StartLimitIntervalSec=120\n\
     StartLimitBurst=3\n\
     StartLimitAction=reboot\n"
        .to_string()
}

/// Seconds the phase's steps took.
#[derive(Debug, Default)]
pub struct OtaTimings {
    /// From `ota install` to GRUB booting the new slot (slot written, reboot).
    pub install_to_grub_s: f64,
    /// From GRUB to the console answering on the new system.
    pub grub_to_console_s: f64,
    /// From the console to `ota status` showing the update committed.
    pub console_to_committed_s: f64,
    /// From the failing bundle's `ota install` to GRUB booting slot B again.
    pub failing_install_to_rollback_s: f64,
    /// From that boot to `ota status` showing rolled_back.
    pub rollback_to_status_s: f64,
}

/// How often `needle` occurs in `text`.
pub fn occurrences(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// The updater's own lines (`ota: ...` of keel_terminal::ota: staging,
/// state changes, write progress) in `log` from byte `from` on, whole lines
/// only.
pub fn ota_lines(log: &str, from: usize) -> (Vec<String>, usize) {
    let Some(rest) = log.get(from..) else {
        return (Vec::new(), from);
    };
    let Some(end) = rest.rfind('\n') else {
        return (Vec::new(), from);
    };
    let lines = rest[..end]
        .lines()
        .filter_map(|l| l.split_once("keel_terminal::ota"))
        .filter_map(|(_, l)| l.split_once("] ").map(|(_, m)| m.trim().to_string()))
        .collect();
    (lines, from + end + 1)
}

/// Prints the updater's lines after byte `from` of `log` with the seconds
/// since `start`; returns where to look next time.
fn print_ota_lines(log: &str, from: usize, start: Instant) -> usize {
    let (lines, next) = ota_lines(log, from);
    for l in lines {
        println!(
            "xtask boot-test: at {:.1} s: {l}",
            start.elapsed().as_secs_f64()
        );
    }
    next
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
    let mut shown = before.len();
    let line = loop {
        let text = log_text();
        shown = print_ota_lines(&text, shown, start);
        let lines = slot_lines(&text);
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
    super::json_on(console)?;
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

/// Installs the failing bundle (/dev/vdc) into slot A and checks GRUB brings
/// slot B back after slot A's three failed tries, and `ota status` says
/// rolled_back with the reason, still running `good`.
pub fn failing_update_rolled_back(
    log_file: &Path,
    console: &mut Console,
    good: &str,
    failing: &str,
    t: &mut OtaTimings,
) -> Result<()> {
    let log_text =
        || String::from_utf8_lossy(&std::fs::read(log_file).unwrap_or_default()).into_owned();
    ask(console, "login 9999")?;
    let before = log_text();
    let booted_before = slot_lines(&before).len();
    let start = Instant::now();
    let reply = ask(
        console,
        &format!("ota install {FAILING_BUNDLE_DEVICE} --now"),
    )?;
    println!("xtask boot-test: ota install (failing system): {reply}");
    if field(&reply, "version").as_deref() != Some(failing) {
        return Err(Error::msg(format!(
            "ota install should install {failing}: {reply}"
        )));
    }
    // Each failed boot: GRUB, kernel, keel, the health deadline, a reboot.
    let deadline = start + Duration::from_secs(600);
    let mut seen = booted_before;
    let mut tries_a = 0;
    let mut shown = before.len();
    let back = loop {
        let text = log_text();
        shown = print_ota_lines(&text, shown, start);
        let lines = slot_lines(&text);
        let mut done = None;
        for line in &lines[seen.min(lines.len())..] {
            println!(
                "xtask boot-test: failing update, at {:.1} s: {line}",
                start.elapsed().as_secs_f64()
            );
            if line.contains("booting slot A") {
                tries_a += 1;
            } else if line.contains("booting slot B") && done.is_none() {
                done = Some(line.clone());
            }
        }
        seen = lines.len();
        if let Some(line) = done {
            break line;
        }
        if Instant::now() >= deadline {
            return Err(Error::msg(format!(
                "GRUB did not bring slot B back within 600 s of installing the failing system ({tries_a} boots of slot A)"
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let grub = Instant::now();
    t.failing_install_to_rollback_s = grub.duration_since(start).as_secs_f64();
    if tries_a != 3 {
        return Err(Error::msg(format!(
            "GRUB should boot the failing slot A three times before slot B, it did {tries_a} times: {back}"
        )));
    }
    let failures =
        occurrences(&log_text(), FAILING_CONFIG_ERROR) - occurrences(&before, FAILING_CONFIG_ERROR);
    println!("xtask boot-test: the failing system's keel refused its config {failures} times");
    if failures == 0 {
        return Err(Error::msg(format!(
            "the failing system's keel never refused its config (no `{FAILING_CONFIG_ERROR}` in the log)"
        )));
    }
    wait_console(console, grub + Duration::from_secs(240))?;
    console.settle(Duration::from_secs(3), Duration::from_secs(30));
    super::json_on(console)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = ask(console, "ota status")?;
        if field(&status, "state").as_deref() == Some("rolled_back") || Instant::now() >= deadline {
            break status;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    t.rollback_to_status_s = grub.elapsed().as_secs_f64();
    let slot = field(&status, "running_slot").unwrap_or_default();
    let running = field(&status, "running_version").unwrap_or_default();
    let state = field(&status, "state").unwrap_or_default();
    let reason = field(&status, "reason").unwrap_or_default();
    println!("xtask boot-test: ota status after the rollback: slot {slot}, version {running}, state {state}, reason {reason}");
    if slot != "B"
        || running != good
        || state != "rolled_back"
        || reason.is_empty()
        || reason == "null"
    {
        return Err(Error::msg(format!(
            "ota status: expected slot B running {good}, rolled_back with a reason: {status}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failing_config_is_the_image_one_with_a_bad_value() {
        let image = "[console]\ndevice = \"/dev/ttyS0\"\n\n[[users]]\nid = \"manager\"\n";
        let t = failing_terminal_toml(image);
        assert!(t.starts_with(image));
        assert!(t.ends_with("[ota]\nhealth_deadline_s = \"ten\"\n"));
        assert!(failing_drop_in().contains("StartLimitAction=reboot"));
        assert!(FAILING_DROP_IN.starts_with("/etc/systemd/system/keel.service.d/"));
    }

    #[test]
    fn the_updaters_lines_are_picked_out_whole() {
        let log = "[  1.0] keel-kiosk[274]: [2026-11-23T19:52:21Z INFO  keel_terminal::ota::stage] ota: staging: 64 of 300 MiB copied\n\
[  1.1] keel-kiosk[274]: [2026-11-23T19:52:21Z WARN  keel_devices::printer::worker] printer\n\
[  1.2] keel-kiosk[274]: [2026-11-23T19:52:22Z INFO  keel_terminal::ota::host] ota: updater state writing\n\
[  1.3] keel-kiosk[274]: [2026-11-23T19:52:23Z INFO  keel_terminal::ota::logged_sink] ota: wri";
        let (lines, next) = ota_lines(log, 0);
        assert_eq!(
            lines,
            [
                "ota: staging: 64 of 300 MiB copied",
                "ota: updater state writing"
            ]
        );
        assert_eq!(&log[next..next + 7], "[  1.3]");
        assert_eq!(ota_lines(log, next).0.len(), 0);
        assert_eq!(ota_lines(log, log.len() + 5).1, log.len() + 5);
    }

    #[test]
    fn log_lines_are_counted() {
        let log = "a ota: health check passed\nb\nc ota: health check passed\n";
        assert_eq!(occurrences(log, "ota: health check passed"), 2);
        assert_eq!(occurrences("", "ota: health check passed"), 0);
    }
}
