//! The OTA channel's hand-over (issue 8): a complete bundle the channel put
//! in `<data>/ota/bundles/<sha256>.keelb` and offered through
//! `Node::ota().offer(...)` installs by itself when `[ota] auto_install` is on
//! and the schedule allows; with it off the offer waits, shown in `status`,
//! until it is installed on request (`ota install --offered`); an offer that
//! is not newer than the running firmware is ignored. In-process: the same
//! `Terminal` the `keel` binary starts.
mod common;
mod ota_common;

use keel_ota::slot::Slot;
use keel_terminal::app::Terminal;
use keel_terminal::cli::ConsoleArgs;
use keel_terminal::ota::{InstallRequest, OfferedRelease, OtaService, OtaStatus};
use ota_common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn start(rig: &Rig) -> (Terminal, OtaService) {
    let t = Terminal::start(&ConsoleArgs {
        config: Some(rig.config.clone()),
        ..ConsoleArgs::default()
    })
    .unwrap();
    let ota = t
        .node
        .lock()
        .unwrap()
        .ota()
        .cloned()
        .expect("the node has its OTA service");
    (t, ota)
}

fn wait(ota: &OtaService, what: &str, done: impl Fn(&OtaStatus) -> bool) -> OtaStatus {
    let start = Instant::now();
    loop {
        let s = ota.status();
        if done(&s) {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{what}: {s:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Puts a signed firmware bundle where the channel puts complete bundles.
fn channel_bundle(rig: &Rig, version: &str, rootfs: &[u8]) -> OfferedRelease {
    let signed = rig.firmware_bundle(&format!("fw-{version}.keelb"), version, &[BOARD], rootfs);
    let bytes = std::fs::read(&signed).unwrap();
    let sha: String = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = rig.data.join("ota/bundles");
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("{sha}.keelb"));
    std::fs::write(&path, &bytes).unwrap();
    OfferedRelease {
        path,
        release_id: format!("rel-{version}"),
        version: version.into(),
        kind: "firmware".into(),
        sha256: sha,
        channel: "stable".into(),
    }
}

#[test]
fn an_offered_firmware_release_installs_by_itself() {
    let rig = Rig::new();
    let rootfs: Vec<u8> = (0..300_000u32).map(|i| (i % 199) as u8).collect();
    let (t, ota) = start(&rig);
    wait(&ota, "start-up", |s| s.running_slot.as_deref() == Some("A"));
    // Not newer than what runs: ignored, nothing written.
    let before = rig.disk_snapshot();
    ota.offer(channel_bundle(
        &rig,
        keel_terminal::node::FIRMWARE_VERSION,
        &rootfs,
    ));
    std::thread::sleep(Duration::from_millis(500));
    let s = ota.status();
    assert_eq!(
        (s.state.as_str(), s.last_result.is_none()),
        ("idle", true),
        "{s:?}"
    );
    assert_eq!(rig.disk_snapshot(), before);

    let offer = channel_bundle(&rig, "0.5.0", &rootfs);
    ota.offer(offer.clone());
    let s = wait(&ota, "the offer installs", |s| s.state == "rebooting");
    assert_eq!(s.state_version.as_deref(), Some("0.5.0"));
    assert_eq!(s.offers, vec![offer.clone()]);
    assert_eq!(std::fs::read(&rig.slot_b).unwrap(), rootfs);
    assert_eq!(rig.env().order(), [Slot::B, Slot::A]);
    rig.wait_reboots(1);
    assert!(
        offer.path.exists(),
        "the channel's bundle stays for the other terminals"
    );
    t.shutdown();
}

#[test]
fn without_auto_install_the_offer_waits_for_a_request() {
    let rig = Rig::new();
    rig.configure(&OtaOptions {
        extra: "auto_install = false".into(),
        ..OtaOptions::default()
    });
    let rootfs: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
    let (t, ota) = start(&rig);
    wait(&ota, "start-up", |s| s.running_slot.as_deref() == Some("A"));
    // An older firmware offer is replaced by the newer one; a model release
    // offered in between is kept beside it (and, as models install by
    // themselves, tried: this one is not a bundle, so it is refused).
    ota.offer(channel_bundle(&rig, "0.5.0", &rootfs));
    let model = OfferedRelease {
        path: rig.data.join("ota/bundles/not-a-model.keelb"),
        release_id: "rel-model".into(),
        version: "1.1.0".into(),
        kind: "model".into(),
        sha256: "00".repeat(32),
        channel: "stable".into(),
    };
    ota.offer(model.clone());
    let offer = channel_bundle(&rig, "0.6.0", &rootfs);
    ota.offer(offer.clone());
    assert_eq!(ota.status().offers, vec![model, offer.clone()]);
    wait(&ota, "the model offer is tried", |s| {
        s.last_result
            .as_ref()
            .is_some_and(|l| l.kind == "model" && l.result == "refused")
    });
    // Longer than the worker's offer poll (5 s): still waiting.
    std::thread::sleep(Duration::from_secs(6));
    let s = ota.status();
    assert_eq!(s.state, "idle", "{s:?}");
    assert_eq!(
        s.offers
            .iter()
            .map(|o| o.version.as_str())
            .collect::<Vec<_>>(),
        vec!["1.1.0", "0.6.0"]
    );
    rig.wait_reboots(0);
    let a = ota
        .install(InstallRequest {
            path: None,
            now: false,
            manager: false,
            allow_downgrade: false,
            sale_open: false,
        })
        .unwrap();
    assert_eq!(a.version, "0.6.0");
    wait(&ota, "the requested offer installs", |s| {
        s.state == "rebooting"
    });
    assert_eq!(std::fs::read(&rig.slot_b).unwrap(), rootfs);
    t.shutdown();
}
