//! A power cut while the firmware updater works (issue 8): the terminal
//! restarts with the record on the data partition saying `downloading`,
//! `verifying`, `writing` or `switching`, the pending bundle where the
//! updater left it and the boot environment as it was at that point; the
//! real `keel` binary resumes from there and ends where an uninterrupted
//! update ends (slot B written byte for byte, B tried first, reboot), and a
//! cut while writing leaves slot B marked not bootable until then.
mod common;
mod ota_common;

use keel_ota::bootloader::Bootloader;
use keel_ota::grubenv::GrubEnvFile;
use keel_ota::slot::Slot;
use keel_ota::updater::{RecordFile, UpdateRecord, UpdateState};
use ota_common::*;
use std::time::Duration;

#[test]
fn the_updater_resumes_after_a_power_cut_in_each_state_before_the_reboot() {
    let rootfs: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
    type Make = fn(String, Slot) -> UpdateState;
    let states: [(&str, Make); 4] = [
        ("downloading", |version, target| UpdateState::Downloading {
            version,
            target,
        }),
        ("verifying", |version, target| UpdateState::Verifying {
            version,
            target,
        }),
        ("writing", |version, target| UpdateState::Writing {
            version,
            target,
        }),
        ("switching", |version, target| UpdateState::Switching {
            version,
            target,
        }),
    ];
    for (name, make) in states {
        let rig = Rig::new();
        let bundle = rig.firmware_bundle("fw.keelb", "0.4.0", &[BOARD], &rootfs);
        // Where the updater had got to when the power went.
        let staged = rig.data.join("ota/bundles/installing-firmware.keelb");
        std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
        std::fs::copy(&bundle, &staged).unwrap();
        std::fs::write(
            rig.data.join("ota/pending-firmware.toml"),
            format!(
                "bundle = \"{}\"\nversion = \"0.4.0\"\nallow_downgrade = false\n",
                staged.display()
            ),
        )
        .unwrap();
        if name == "writing" {
            // Marked bad before the first byte; half the slot written.
            let mut env = rig.env();
            env.mark_bad(Slot::B);
            GrubEnvFile::new(&rig.grubenv).write(&env).unwrap();
            std::fs::write(&rig.slot_b, &rootfs[..rootfs.len() / 2]).unwrap();
        }
        if name == "switching" {
            let mut env = rig.env();
            env.mark_bad(Slot::B);
            GrubEnvFile::new(&rig.grubenv).write(&env).unwrap();
            std::fs::write(&rig.slot_b, &rootfs).unwrap();
        }
        RecordFile::new(rig.data.join("ota/ota-state.toml"))
            .store(&UpdateRecord {
                format: 1,
                since_unix_ms: 1,
                update: make("0.4.0".into(), Slot::B),
            })
            .unwrap();
        assert_eq!(rig.boot(), Slot::A, "{name}: the old system boots");
        let mut k = rig.start();
        let s = wait_status(&mut k, Duration::from_secs(60), |s| {
            s["state"] == "rebooting"
        });
        assert_eq!(s["state_version"], "0.4.0", "{name}: {s}");
        assert_eq!(
            std::fs::read(&rig.slot_b).unwrap(),
            rootfs,
            "{name}: slot B"
        );
        assert_eq!(
            std::fs::read(&rig.slot_a).unwrap(),
            slot_a_image(),
            "{name}: slot A"
        );
        let env = rig.env();
        assert_eq!(
            (env.order(), env.left(Slot::B)),
            ([Slot::B, Slot::A], 3),
            "{name}"
        );
        rig.wait_reboots(1);
        k.kill();
        assert_eq!(rig.boot(), Slot::B, "{name}: the new system is tried");
    }
}
