//! Firmware OTA through the real `keel` binary's console (issue 8): a signed
//! bundle installs into the inactive slot's image file byte for byte, the
//! boot environment then tries the new slot first, the reboot command runs;
//! the new system passes its health check and marks itself good; a new
//! system that keeps failing its health check is given up after three tries
//! and the old one reports the rollback with the reason; every refusal of
//! `ota install` leaves the slots and the boot environment untouched; a
//! technician's `ota rollback` goes back to the other slot.
mod common;
mod ota_common;

use common::*;
use keel_ota::slot::Slot;
use ota_common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn new_rootfs() -> Vec<u8> {
    (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(7) % 253) as u8)
        .collect()
}

#[test]
fn a_signed_bundle_installs_switches_reboots_and_the_new_slot_marks_itself_good() {
    let rig = Rig::new();
    let rootfs = new_rootfs();
    let bundle = rig.firmware_bundle("fw-0.2.0.keelb", "0.2.0", &[BOARD], &rootfs);
    let mut k = rig.start();
    let s = wait_status(&mut k, WAIT, |s| s["running_slot"] == "A");
    assert_eq!(s["state"], "idle", "{s}");
    k.ok(&format!("login {TECHNICIAN}"));
    let r = k.ok(&format!("ota install {}", bundle.display()));
    assert_eq!(
        (r["installing"].as_str(), r["version"].as_str()),
        (Some("firmware"), Some("0.2.0"))
    );
    let s = wait_status(&mut k, WAIT, |s| s["state"] == "rebooting");
    assert_eq!(s["state_version"], "0.2.0");
    assert_eq!(s["other_slot_version"], "0.2.0", "{s}");
    assert_eq!(s["progress"]["written"], s["progress"]["total"], "{s}");
    assert_eq!(
        std::fs::read(&rig.slot_b).unwrap(),
        rootfs,
        "slot B holds the payload"
    );
    assert_eq!(
        std::fs::read(&rig.slot_a).unwrap(),
        slot_a_image(),
        "slot A untouched"
    );
    let vars = rig.env_vars();
    assert_eq!(vars["KEEL_ORDER"], "B A");
    assert_eq!(vars["KEEL_B_LEFT"], "3");
    assert_eq!(vars["KEEL_A_LEFT"], "3");
    rig.wait_reboots(1);
    // The bundle the technician gave is still there; the staged copy is not
    // discarded until the new system commits.
    assert!(bundle.exists());
    k.kill();

    // Power-on: the bootloader tries B; the terminal starts as slot B.
    assert_eq!(rig.boot(), Slot::B);
    assert_eq!(rig.env().left(Slot::B), 2);
    rig.configure(&OtaOptions {
        running: Slot::B,
        ..OtaOptions::default()
    });
    let mut k = rig.start();
    let s = wait_status(&mut k, WAIT, |s| s["state"] == "committed");
    assert_eq!(s["running_slot"], "B");
    assert_eq!(s["state_version"], "0.2.0");
    assert_eq!(s["last_result"]["result"], "committed", "{s}");
    assert_eq!(s["other_slot_version"], "0.1.0", "{s}");
    let env = rig.env();
    assert_eq!(
        (env.order(), env.left(Slot::B)),
        ([Slot::B, Slot::A], 3),
        "B marked good"
    );
    let staged = rig.data.join("ota/bundles/installing-firmware.keelb");
    wait_until("the staged bundle is discarded once committed", || {
        !staged.exists()
    });
    let st = k.ok("status");
    assert_eq!(st["ota"]["state"], "committed", "{st}");

    // A technician goes back to slot A (a known good system).
    k.ok(&format!("login {TECHNICIAN}"));
    let r = k.ok("ota rollback");
    assert_eq!(
        (r["slot"].as_str(), r["version"].as_str()),
        (Some("A"), Some("0.1.0"))
    );
    let deadline = std::time::Instant::now() + WAIT;
    while rig.reboot_count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no reboot after ota rollback"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(rig.env().order(), [Slot::A, Slot::B]);
    k.kill();
    assert_eq!(rig.boot(), Slot::A);
    rig.configure(&OtaOptions::default());
    let mut k = rig.start();
    let s = wait_status(&mut k, WAIT, |s| s["running_slot"] == "A");
    assert_eq!(
        s["state"], "idle",
        "a chosen rollback is no failed update: {s}"
    );
    // Slot B last ran this same test binary, so it reported this build's version.
    assert_eq!(
        s["other_slot_version"],
        keel_terminal::node::FIRMWARE_VERSION
    );
    assert_eq!(rig.env().left(Slot::B), 3, "slot B stays good");
    k.quit();
}

#[test]
fn a_new_system_that_fails_its_health_check_three_times_is_rolled_back() {
    let rig = Rig::new();
    let rootfs = new_rootfs();
    let bundle = rig.firmware_bundle("fw.keelb", "0.3.0", &[BOARD], &rootfs);
    let mut k = rig.start();
    wait_status(&mut k, WAIT, |s| s["running_slot"] == "A");
    k.ok(&format!("login {MANAGER}"));
    k.ok(&format!("ota install {}", bundle.display()));
    wait_status(&mut k, WAIT, |s| s["state"] == "rebooting");
    rig.wait_reboots(1);
    k.kill();

    // The new system needs a UI that never comes: its health check fails.
    let failing = OtaOptions {
        running: Slot::B,
        health_requires_ui: true,
        health_deadline_s: 1,
        ..OtaOptions::default()
    };
    rig.configure(&failing);
    for attempt in 1..=3u64 {
        assert_eq!(rig.boot(), Slot::B, "try {attempt} boots B");
        let mut k = rig.start();
        let s = wait_status(&mut k, WAIT, |s| {
            s["state"] == "testing" && rig.reboot_count() == 1 + attempt as usize
        });
        assert_eq!(s["running_slot"], "B");
        k.kill();
        let record = std::fs::read_to_string(rig.data.join("ota/ota-state.toml")).unwrap();
        assert!(
            record.contains(&format!("failures = {attempt}")),
            "{record}"
        );
        assert!(record.contains("UI not up"), "{record}");
    }
    // No tries left on B: the bootloader falls back to A.
    assert_eq!(rig.env().left(Slot::B), 0);
    assert_eq!(rig.boot(), Slot::A);
    rig.configure(&OtaOptions::default());
    let mut k = rig.start();
    let s = wait_status(&mut k, WAIT, |s| s["state"] == "rolled_back");
    assert_eq!(s["running_slot"], "A");
    let reason = s["last_result"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(s["last_result"]["result"], "rolled_back", "{s}");
    assert!(
        reason.contains("slot B") && reason.contains("UI not up"),
        "{reason}"
    );
    let env = rig.env();
    assert_eq!(
        (env.order(), env.left(Slot::B)),
        ([Slot::A, Slot::B], 0),
        "B marked bad"
    );
    // The old system passes its health check and marks itself good.
    wait_until("slot A marked good", || rig.env().left(Slot::A) == 3);
    assert_eq!(std::fs::read(&rig.slot_a).unwrap(), slot_a_image());
    // B is not a known good system: no rollback to it.
    k.ok(&format!("login {TECHNICIAN}"));
    let e = k.err("ota rollback");
    assert!(e.contains("marked bad"), "{e}");
    k.quit();
}

#[test]
fn every_refusal_leaves_the_slots_and_the_boot_environment_untouched() {
    let rig = Rig::new();
    let rootfs = new_rootfs();
    let good = rig.firmware_bundle("good.keelb", "0.2.0", &[BOARD], &rootfs);
    let stranger = keel_ota::keys::generate(&ring::rand::SystemRandom::new()).unwrap();
    let unknown_key = sign(
        &stranger,
        &rig.dir.path().join("stranger.keelb"),
        keel_ota::manifest::BundleKind::Firmware,
        "0.2.0",
        &[BOARD],
        vec![keel_ota::bundle::PayloadInput {
            name: "rootfs".into(),
            data: keel_ota::bundle::PayloadData::Bytes(rootfs.clone()),
        }],
    );
    let mut bytes = std::fs::read(&good).unwrap();
    let header_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    bytes[12 + header_len + 5] ^= 0x01;
    let tampered = rig.dir.path().join("tampered.keelb");
    std::fs::write(&tampered, &bytes).unwrap();
    let wrong_board = rig.firmware_bundle("pi.keelb", "0.2.0", &["raspberrypi4-64"], &rootfs);
    let older = rig.firmware_bundle("old.keelb", "0.0.9", &[BOARD], &rootfs);
    let same = rig.firmware_bundle("same.keelb", "0.1.0", &[BOARD], &rootfs);

    let before = rig.disk_snapshot();
    let mut k = rig.start();
    wait_status(&mut k, WAIT, |s| s["running_slot"] == "A");
    let untouched = |k: &mut Keel, what: &str| {
        assert_eq!(rig.disk_snapshot(), before, "{what} changed the disk");
        rig.wait_reboots(0);
        let s = k.ok("ota status");
        assert_eq!(s["state"], "idle", "{what}: {s}");
    };
    let e = k.err(&format!("ota install {}", good.display()));
    assert!(e.contains("not logged in") || e.contains("login"), "{e}");
    k.ok(&format!("login {CASHIER}"));
    let e = k.err(&format!("ota install {}", good.display()));
    assert!(e.contains("diagnostics") || e.contains("technician"), "{e}");
    k.ok(&format!("login {TECHNICIAN}"));
    for (path, want, what) in [
        (&unknown_key, "not among the", "unknown key"),
        (&tampered, "signature", "bad signature"),
        (&wrong_board, "raspberrypi4-64", "wrong board"),
        (&older, "0.0.9", "downgrade"),
        (&same, "already installed", "same version"),
    ] {
        let e = k.err(&format!("ota install {}", path.display()));
        assert!(
            e.starts_with("not installed: bundle refused"),
            "{what}: {e}"
        );
        assert!(
            e.to_lowercase().contains(&want.to_lowercase()),
            "{what}: {e}"
        );
        untouched(&mut k, what);
    }
    let e = k.err("ota install /nonexistent/bundle.keelb");
    assert!(e.contains("/nonexistent/bundle.keelb"), "{e}");
    let e = k.err("ota install --offered");
    assert!(e.contains("no release offered"), "{e}");

    // An open sale: nobody installs, not even a manager with --now.
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100000");
    k.ok("sale new");
    k.ok(&format!("login {MANAGER}"));
    let e = k.err(&format!("ota install {} --now", good.display()));
    assert!(e.contains("a sale is open"), "{e}");
    untouched(&mut k, "open sale");
    k.ok("sale cancel");
    k.quit();

    // Business hours around now: a manager's --now is needed.
    let now_min = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60
        % 1440) as u32;
    let hm = |m: u32| format!("{:02}:{:02}", (m % 1440) / 60, m % 60);
    rig.configure(&OtaOptions {
        business_hours: format!("{}-{}", hm(now_min + 1440 - 120), hm(now_min + 120)),
        ..OtaOptions::default()
    });
    let mut k = rig.start();
    wait_status(&mut k, WAIT, |s| s["running_slot"] == "A");
    k.ok(&format!("login {TECHNICIAN}"));
    let e = k.err(&format!("ota install {}", good.display()));
    assert!(
        e.contains("inside business hours") && e.contains("--now with a manager"),
        "{e}"
    );
    let e = k.err(&format!("ota install {} --now", good.display()));
    assert!(e.contains("manager"), "{e}");
    untouched(&mut k, "business hours");
    k.ok(&format!("login {MANAGER}"));
    k.ok(&format!("ota install {} --now", good.display()));
    wait_status(&mut k, WAIT, |s| s["state"] == "rebooting");
    assert_eq!(std::fs::read(&rig.slot_b).unwrap(), rootfs);
    k.kill();
}

#[test]
fn ota_commands_answer_in_json_with_their_flag_in_text_mode_and_help_lists_them() {
    let rig = Rig::new();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.arg("console")
        .arg("--config")
        .arg(&rig.config)
        .arg("--stdio");
    let mut k = Keel::spawn(cmd, rig.dir.path());
    k.write("help");
    let mut help = String::new();
    // `quit` is the last command help lists.
    while !help.ends_with("quit\n") {
        help.push_str(k.read_line().trim_end());
        help.push('\n');
    }
    assert!(
        help.contains("ota status")
            && help.contains("ota install <bundle-path>")
            && help.contains("ota rollback"),
        "{help}"
    );
    let v: serde_json::Value = serde_json::from_str(&k.send_text("ota status --json")).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["board"].as_str()),
        (Some(true), Some(BOARD)),
        "{v}"
    );
    let text = k.send_text("ota status");
    assert!(
        text.starts_with("ota ") && text.contains("slot A"),
        "{text}"
    );
    k.kill();
}

#[test]
fn on_a_u_boot_board_the_install_switches_the_u_boot_environment() {
    use keel_ota::ubootenv::{EnvCopy, UbootEnvConfig, UbootEnvFile};
    let rig = Rig::new();
    std::fs::write(&rig.board, board_toml("raspberrypi4-64")).unwrap();
    let env_path = rig.dir.path().join("uboot.env");
    std::fs::write(&env_path, vec![0u8; 16384]).unwrap();
    let uboot = UbootEnvFile::new(
        UbootEnvConfig::new(
            vec![EnvCopy {
                path: env_path.clone(),
                offset: 0,
            }],
            16384,
        )
        .unwrap(),
    );
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("bootcmd".to_string(), "run keel_ab".to_string());
    vars.insert("KEEL_ORDER".to_string(), "A B".to_string());
    vars.insert("KEEL_A_LEFT".to_string(), "3".to_string());
    vars.insert("KEEL_B_LEFT".to_string(), "3".to_string());
    uboot.write_vars(&vars).unwrap();
    rig.configure(&OtaOptions {
        boot_environment: Some(env_path.clone()),
        ..OtaOptions::default()
    });
    let rootfs = new_rootfs();
    let qemu = rig.firmware_bundle("qemu.keelb", "0.2.0", &[BOARD], &rootfs);
    let pi = rig.firmware_bundle("pi.keelb", "0.2.0", &["raspberrypi4-64"], &rootfs);
    let mut k = rig.start();
    let s = wait_status(&mut k, WAIT, |s| s["running_slot"] == "A");
    assert_eq!(s["board"], "raspberrypi4-64");
    k.ok(&format!("login {TECHNICIAN}"));
    let e = k.err(&format!("ota install {}", qemu.display()));
    assert!(e.contains(BOARD), "{e}");
    k.ok(&format!("ota install {}", pi.display()));
    wait_status(&mut k, WAIT, |s| s["state"] == "rebooting");
    assert_eq!(std::fs::read(&rig.slot_b).unwrap(), rootfs);
    let vars = uboot.read_vars().unwrap();
    assert_eq!(vars["KEEL_ORDER"], "B A");
    assert_eq!(vars["KEEL_B_LEFT"], "3");
    assert_eq!(vars["bootcmd"], "run keel_ab", "other variables are kept");
    rig.wait_reboots(1);
    k.kill();
}
