//! A whole firmware update through the real file adapters: the record file
//! on a data directory, slot images as files, and the boot environment in a
//! grubenv (read back by `grub-editenv`) or a redundant U-Boot environment
//! (read back by `fw_printenv`). The bootloader's part at each boot is
//! `select_boot` on the environment as the scripts read it.

use keel_ota::boot_env::{select_boot, BootEnv};
use keel_ota::bootloader::Bootloader;
use keel_ota::grubenv::GrubEnvFile;
use keel_ota::slot::Slot;
use keel_ota::ubootenv::{UbootEnvConfig, UbootEnvFile};
use keel_ota::updater::record_file::RECORD_FILE_NAME;
use keel_ota::updater::{
    run, Event, RecordFile, RunEnd, UpdateHost, UpdateRecord, UpdateState, Updater,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The terminal's side, on files in a temp dir.
struct FileHost {
    dir: PathBuf,
    record: RecordFile,
    bootloader: Box<dyn Bootloader>,
    booted: Slot,
    health_ok: bool,
}

impl FileHost {
    fn slot_path(&self, slot: Slot) -> PathBuf {
        self.dir
            .join(format!("rootfs-{}.img", slot.letter().to_lowercase()))
    }
    fn bundle_path(&self) -> PathBuf {
        self.dir.join("data/bundle.keelbnd")
    }
}

impl UpdateHost for FileHost {
    type Error = std::io::Error;
    fn now_unix_ms(&mut self) -> u64 {
        1_790_000_000_000
    }
    fn persist(&mut self, record: &UpdateRecord) -> std::io::Result<()> {
        self.record.store(record).map_err(std::io::Error::other)
    }
    fn bootloader(&mut self) -> &mut dyn Bootloader {
        self.bootloader.as_mut()
    }
    fn download(&mut self) -> std::io::Result<Event> {
        // The "download": the new rootfs bytes land on the data partition.
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        keel_ota::atomic_file::replace(&self.bundle_path(), &bytes)?;
        Ok(Event::DownloadDone)
    }
    fn verify(&mut self) -> std::io::Result<Event> {
        let len = std::fs::metadata(self.bundle_path())?.len();
        Ok(if len == 200_000 {
            Event::Verified
        } else {
            Event::VerifyFailed(format!("{len} bytes"))
        })
    }
    fn write_slot(&mut self, slot: Slot) -> std::io::Result<Event> {
        assert_ne!(slot, self.booted);
        let bytes = std::fs::read(self.bundle_path())?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.slot_path(slot))?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        Ok(Event::WriteDone)
    }
    fn check_health(&mut self) -> std::io::Result<Event> {
        Ok(if self.health_ok {
            Event::HealthPassed
        } else {
            Event::HealthFailed("journal does not verify".into())
        })
    }
    fn discard_download(&mut self) -> std::io::Result<()> {
        match std::fs::remove_file(self.bundle_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
    fn reboot(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One boot: the script's selection on the environment's variables, then the
/// updater's start-up (and the update's start, when given).
fn boot(
    dir: &Path,
    read_vars: &dyn Fn() -> std::collections::BTreeMap<String, String>,
    make_bl: &dyn Fn() -> Box<dyn Bootloader>,
    health_ok: bool,
    start: Option<&str>,
) -> (Slot, UpdateState, RunEnd) {
    let mut env = BootEnv::from_vars_as_bootloader(&read_vars());
    let slot = select_boot(&mut env);
    make_bl().write(&env).unwrap();
    let mut host = FileHost {
        dir: dir.to_path_buf(),
        record: RecordFile::new(dir.join("data").join(RECORD_FILE_NAME)),
        bootloader: make_bl(),
        booted: slot,
        health_ok,
    };
    let u = Updater::new(host.record.load().unwrap());
    let (u, mut end) = run(&u, Event::Booted { slot }, &mut host).unwrap();
    let mut u = u;
    if let (Some(v), RunEnd::Settled) = (start, end) {
        let (u2, e2) = run(&u, Event::Start { version: v.into() }, &mut host).unwrap();
        u = u2;
        end = e2;
    }
    assert_eq!(
        host.record.load().unwrap().update,
        u.record.update,
        "record on disk is the state"
    );
    (slot, u.record.update, end)
}

fn prepare(dir: &Path) {
    std::fs::create_dir(dir.join("data")).unwrap();
    for s in ["a", "b"] {
        std::fs::write(dir.join(format!("rootfs-{s}.img")), vec![0xEEu8; 300_000]).unwrap();
    }
}

fn full_update(
    dir: &Path,
    read_vars: &dyn Fn() -> std::collections::BTreeMap<String, String>,
    make_bl: &dyn Fn() -> Box<dyn Bootloader>,
) {
    // Boot 1 on A, start the update: download, verify, write B, switch, reboot.
    let (slot, state, end) = boot(dir, read_vars, make_bl, true, Some("2.0.0"));
    assert_eq!((slot, end), (Slot::A, RunEnd::Rebooted));
    assert!(matches!(
        state,
        UpdateState::Rebooting {
            target: Slot::B,
            ..
        }
    ));
    let b = std::fs::read(dir.join("rootfs-b.img")).unwrap();
    assert_eq!(
        b[..200_000],
        (0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()[..]
    );
    assert!(std::fs::read(dir.join("rootfs-a.img"))
        .unwrap()
        .iter()
        .all(|&x| x == 0xEE));
    // Boot 2 on B: health passes, committed.
    let (slot, state, end) = boot(dir, read_vars, make_bl, true, None);
    assert_eq!((slot, end), (Slot::B, RunEnd::Settled));
    assert_eq!(
        state,
        UpdateState::Committed {
            version: "2.0.0".into(),
            slot: Slot::B
        }
    );
    assert!(!dir.join("data/bundle.keelbnd").exists(), "bundle deleted");
    assert_eq!(
        make_bl().read().unwrap(),
        BootEnv {
            first: Slot::B,
            a_left: 3,
            b_left: 3
        }
    );
    // Boot 3, 4 on B: stays.
    for _ in 0..2 {
        assert_eq!(boot(dir, read_vars, make_bl, true, None).0, Slot::B);
    }
    // Update back into A with a system that fails its health check:
    // three boots of A, then B again and the rollback is reported.
    let (slot, _, end) = boot(dir, read_vars, make_bl, true, Some("3.0.0"));
    assert_eq!((slot, end), (Slot::B, RunEnd::Rebooted));
    for _ in 0..3 {
        let (slot, state, end) = boot(dir, read_vars, make_bl, false, None);
        assert_eq!((slot, end), (Slot::A, RunEnd::Rebooted));
        assert!(matches!(
            state,
            UpdateState::Testing {
                target: Slot::A,
                ..
            }
        ));
    }
    let (slot, state, end) = boot(dir, read_vars, make_bl, true, None);
    assert_eq!((slot, end), (Slot::B, RunEnd::Settled));
    match state {
        UpdateState::RolledBack {
            version,
            failed_slot,
            reason,
        } => {
            assert_eq!((version.as_str(), failed_slot), ("3.0.0", Slot::A));
            assert_eq!(
                reason,
                "the new system in slot A failed its health check (3 of 3 tries): journal does not verify"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        make_bl().read().unwrap(),
        BootEnv {
            first: Slot::B,
            a_left: 0,
            b_left: 3
        }
    );
    let text = std::fs::read_to_string(dir.join("data").join(RECORD_FILE_NAME)).unwrap();
    assert!(text.contains("state = \"rolled_back\""), "{text}");
}

#[test]
fn update_and_rollback_through_a_grubenv() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let envfile = dir.path().join("grubenv");
    let out = Command::new("grub-editenv")
        .arg(&envfile)
        .arg("create")
        .output()
        .expect(
            "grub-editenv is not installed: run `cargo xtask setup` (Debian package grub-common)",
        );
    assert!(out.status.success());
    let e1 = envfile.clone();
    let e2 = envfile.clone();
    full_update(
        dir.path(),
        &move || GrubEnvFile::new(&e1).read_vars().unwrap(),
        &move || Box::new(GrubEnvFile::new(&e2)),
    );
    let listed = Command::new("grub-editenv")
        .arg(&envfile)
        .arg("list")
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    let mut lines: Vec<&str> = listed.lines().collect();
    lines.sort();
    assert_eq!(lines, ["KEEL_A_LEFT=0", "KEEL_B_LEFT=3", "KEEL_ORDER=B A"]);
}

#[test]
fn update_and_rollback_through_a_redundant_u_boot_env() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let envfile = dir.path().join("uboot.env");
    std::fs::write(&envfile, vec![0u8; 0x8000]).unwrap();
    let text = format!("{0} 0x0 0x4000\n{0} 0x4000 0x4000\n", envfile.display());
    let cfg = dir.path().join("fw_env.config");
    std::fs::write(&cfg, &text).unwrap();
    let config = UbootEnvConfig::parse(&text).unwrap();
    let mut initial = std::collections::BTreeMap::new();
    initial.insert("bootcmd".to_string(), "run keel_ab".to_string());
    UbootEnvFile::new(config.clone())
        .write_vars(&initial)
        .unwrap();
    let c1 = config.clone();
    let c2 = config.clone();
    full_update(
        dir.path(),
        &move || UbootEnvFile::new(c1.clone()).read_vars().unwrap(),
        &move || Box::new(UbootEnvFile::new(c2.clone())),
    );
    let out = Command::new("fw_printenv")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect(
        "fw_printenv is not installed: run `cargo xtask setup` (Debian package libubootenv-tool)",
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    for line in [
        "KEEL_ORDER=B A",
        "KEEL_A_LEFT=0",
        "KEEL_B_LEFT=3",
        "bootcmd=run keel_ab",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line} not in {printed}"
        );
    }
}
