//! OTA releases through the real `keel-cloud` (embedded store and real
//! PostgreSQL): `release publish` of signed firmware and model bundles,
//! duplicates and bad files refused, the store's offers following board,
//! channel (`ota.channel`), rollout (0 -> none, 100 -> all) and withdrawal,
//! the bundle served back byte for byte in chunks (counted), and the status
//! view's OTA columns with a failed update and its reason.

#[path = "server_support.rs"]
mod support;

use keel_core::ids::TerminalId;
use keel_ota::manifest::BundleKind;
use keel_testkit::ota_bundle::signed_test_bundle as bundle;
use keel_testkit::postgres::PostgresHarness;
use keel_uplink::release::{TerminalOta, MAX_CHUNK};
use keel_uplink::wire::{CloudMessage, StoreMessage};
use std::path::Path;
use support::{welcomed, Client, Cloud};

fn term(t: u32, board: &str) -> TerminalOta {
    TerminalOta {
        terminal: TerminalId(t),
        board: board.into(),
        firmware: "0.1.0".into(),
        model: None,
        state: "idle".into(),
        release: None,
        done: 0,
        total: 0,
        last_error: None,
        at_ms: support::now_ms(),
    }
}

fn offers(c: &mut Client, terminals: Vec<TerminalOta>) -> Vec<keel_uplink::release::ReleaseOffer> {
    match c.request(&StoreMessage::OtaReport { terminals }) {
        CloudMessage::Releases(o) => o,
        other => panic!("{other:?}"),
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn releases_through_the_cloud(url: Option<&str>) {
    let cloud = Cloud::start_on(url);
    let files = tempfile::tempdir().unwrap();
    // 2.5 MiB of payload: three stored chunks.
    let fw = bundle(
        files.path(),
        "fw.keelb",
        BundleKind::Firmware,
        "1.2.0",
        5 << 19,
    );
    let model = bundle(
        files.path(),
        "model.keelb",
        BundleKind::Model,
        "2.0.0",
        4096,
    );
    let fw_bytes = std::fs::read(&fw).unwrap();

    let publish = |file: &Path, channel: &str, rollout: &str| {
        cloud.admin(&[
            "release",
            "publish",
            "--file",
            file.to_str().unwrap(),
            "--channel",
            channel,
            "--rollout",
            rollout,
            "--notes",
            "test release",
        ])
    };
    let (ok, out, err) = publish(&fw, "stable", "0");
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with("published release 1: firmware 1.2.0 for qemu-x86_64 on stable at 0%"),
        "{out}"
    );
    // The same version, kind, board and channel again: refused.
    let (ok, _, err) = publish(&fw, "stable", "50");
    assert!(!ok);
    assert!(err.contains("already release 1 on stable"), "{err}");
    // On beta it is another release.
    let (ok, out, err) = publish(&fw, "beta", "100");
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("published release 2:"), "{out}");
    let (ok, out, err) = publish(&model, "stable", "100");
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("published release 3: model 2.0.0"), "{out}");
    // Bad files are refused before anything is uploaded.
    let cut = files.path().join("cut.keelb");
    std::fs::write(&cut, &fw_bytes[..fw_bytes.len() - 10]).unwrap();
    let (ok, _, err) = publish(&cut, "stable", "10");
    assert!(!ok);
    assert!(err.contains("header says"), "{err}");
    let junk = files.path().join("junk.keelb");
    std::fs::write(&junk, b"not a bundle at all").unwrap();
    let (ok, _, err) = publish(&junk, "stable", "10");
    assert!(!ok);
    assert!(err.contains("not a Keel bundle"), "{err}");
    let (ok, _, err) = publish(&fw, "nightly", "10");
    assert!(!ok && err.contains("unknown release channel"), "{err}");
    let (ok, _, err) = publish(&fw, "stable", "101");
    assert!(!ok && err.contains("0 to 100"), "{err}");

    let (ok, out, err) = cloud.admin(&["release", "list", "--json"]);
    assert!(ok, "{err}");
    let list = json(&out);
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    assert_eq!(list[0]["state"], "published");
    assert_eq!(list[0]["size"], fw_bytes.len() as u64);
    let (ok, text, _) = cloud.admin(&["release", "list"]);
    assert!(
        ok && text.contains("firmware") && text.contains("test release"),
        "{text}"
    );

    // A store's session: rollout 0 offers nothing on stable but the model.
    let mut c = welcomed(&cloud, "s1", 1);
    let store = || {
        vec![
            term(1, "qemu-x86_64"),
            term(2, "qemu-x86_64"),
            term(3, "qemu-x86_64"),
            term(4, "raspberrypi4-64"),
        ]
    };
    let o = offers(&mut c, store());
    assert_eq!(o.iter().map(|o| o.id).collect::<Vec<_>>(), vec![3], "{o:?}");
    assert_eq!(
        o[0].terminals.len(),
        3,
        "the pi's board is not in the bundle"
    );

    // Raised to 100: every qemu terminal, not the pi.
    let (ok, out, err) = cloud.admin(&["release", "rollout", "1", "100"]);
    assert!(ok, "{out}{err}");
    let o = offers(&mut c, store());
    let fw_offer = o.iter().find(|o| o.id == 1).expect("release 1 offered");
    assert_eq!(
        fw_offer.terminals,
        vec![TerminalId(1), TerminalId(2), TerminalId(3)]
    );
    assert_eq!(fw_offer.size, fw_bytes.len() as u64);
    let mut sha = [0u8; 32];
    sha.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &fw_bytes).as_ref());
    assert_eq!(fw_offer.sha256, sha);
    // A terminal already on 1.2.0 is not in it.
    let mut on = store();
    on[1].firmware = "1.2.0".into();
    let o = offers(&mut c, on);
    assert_eq!(o.iter().find(|o| o.id == 1).unwrap().terminals.len(), 2);

    // The bytes come back exactly, in chunks, each counted.
    let mut got = Vec::new();
    let mut fetches = 0;
    while (got.len() as u64) < fw_offer.size {
        let m = c.request(&StoreMessage::FetchRelease {
            id: 1,
            offset: got.len() as u64,
            len: MAX_CHUNK,
        });
        let CloudMessage::ReleaseChunk { id, offset, bytes } = m else {
            panic!("{m:?}")
        };
        assert_eq!((id, offset), (1, got.len() as u64));
        got.extend_from_slice(&bytes);
        fetches += 1;
    }
    assert_eq!(got, fw_bytes);
    assert_eq!(fetches, 3);
    // Unaligned ranges across stored chunks too.
    let m = c.request(&StoreMessage::FetchRelease {
        id: 1,
        offset: (1 << 20) - 5,
        len: 10,
    });
    let CloudMessage::ReleaseChunk { bytes, .. } = m else {
        panic!("{m:?}")
    };
    assert_eq!(bytes, fw_bytes[(1 << 20) - 5..(1 << 20) + 5]);
    let m = c.request(&StoreMessage::FetchRelease {
        id: 1,
        offset: 0,
        len: MAX_CHUNK + 1,
    });
    assert!(
        matches!(m, CloudMessage::ReleaseRefused { id: 1, .. }),
        "{m:?}"
    );
    let m = c.request(&StoreMessage::FetchRelease {
        id: 99,
        offset: 0,
        len: 10,
    });
    assert!(
        matches!(m, CloudMessage::ReleaseRefused { id: 99, ref reason } if reason.contains("no release 99")),
        "{m:?}"
    );
    let list = json(&cloud.admin(&["release", "list", "--json"]).1);
    assert_eq!(list[0]["fetched_chunks"], 4);
    assert_eq!(list[0]["fetched_bytes"], fw_bytes.len() as u64 + 10);

    // The store switches to beta: release 2 (beta, 100 %) instead of 1.
    let (ok, out, err) =
        cloud.admin(&["publish", "--store", "s1", "setting", "ota.channel", "beta"]);
    assert!(ok, "{out}{err}");
    let o = offers(&mut c, store());
    assert_eq!(o.iter().map(|o| o.id).collect::<Vec<_>>(), vec![2], "{o:?}");
    // Withdrawn: no longer offered, no longer served.
    let (ok, out, err) = cloud.admin(&["release", "withdraw", "2"]);
    assert!(ok && out.contains("withdrawn"), "{out}{err}");
    assert!(offers(&mut c, store()).is_empty());
    let m = c.request(&StoreMessage::FetchRelease {
        id: 2,
        offset: 0,
        len: 10,
    });
    assert!(
        matches!(m, CloudMessage::ReleaseRefused { ref reason, .. } if reason.contains("withdrawn")),
        "{m:?}"
    );
    let (ok, out, err) = cloud.admin(&[
        "publish",
        "--store",
        "s1",
        "setting",
        "ota.channel",
        "stable",
    ]);
    assert!(ok, "{out}{err}");

    // A failed update and one in progress show in the status view.
    let mut report = store();
    report[0].state = "writing".into();
    report[0].release = Some(1);
    report[0].done = 50;
    report[0].total = 200;
    report[1].state = "failed".into();
    report[1].last_error = Some("health check failed: journal does not verify".into());
    report[2].firmware = "1.2.0".into();
    offers(&mut c, report);
    let (ok, text, err) = cloud.admin(&["status"]);
    assert!(ok, "{err}");
    assert!(text.contains("OTA"), "{text}");
    assert!(text.contains("T01 writing 25%"), "{text}");
    assert!(
        text.contains(
            "ALERT s1: update failed on T02: health check failed: journal does not verify"
        ),
        "{text}"
    );
    let (ok, out, _) = cloud.admin(&["status", "--json"]);
    assert!(ok);
    let v = json(&out);
    assert_eq!(v["ota"]["s1"]["versions"]["0.1.0"], 3, "{v}");
    assert_eq!(v["ota"]["s1"]["versions"]["1.2.0"], 1, "{v}");
    assert_eq!(v["ota"]["s1"]["failed"][0]["terminal"], 2, "{v}");
    // The release's own view: its rollout's terminals and their state.
    let (ok, out, err) = cloud.admin(&["release", "status", "1", "--json"]);
    assert!(ok, "{err}");
    let v = json(&out);
    let ts = v["terminals"].as_array().unwrap();
    assert_eq!(ts.len(), 3, "{v}");
    assert_eq!(
        ts.iter().filter(|t| t["on_version"] == true).count(),
        1,
        "{v}"
    );
    let (ok, text, _) = cloud.admin(&["release", "status", "1"]);
    assert!(
        ok && text.contains("3 terminal(s) in the rollout, 1 on the version"),
        "{text}"
    );
    let (ok, _, err) = cloud.admin(&["release", "rollout", "7", "50"]);
    assert!(!ok && err.contains("404"), "{err}");
}

#[test]
fn releases_on_the_embedded_store() {
    releases_through_the_cloud(None);
}

#[test]
fn releases_on_postgresql() {
    let pg = PostgresHarness::start().unwrap_or_else(|e| panic!("{e}"));
    releases_through_the_cloud(Some(&pg.url()));
}

/// The stalled-rollout alert, in-process on the embedded store with the
/// clock given: a terminal in the rollout not on the version 24 h after
/// publication; none before, none for a terminal on the version.
#[test]
fn a_rollout_stalls_after_24_hours() {
    use keel_cloud::release::{begin, bundle_facts, finish, put_chunk, Draft};
    use keel_cloud::release_view::stores_ota;
    use keel_cloud::store::release::ReleaseStore;
    use keel_cloud::store::release::CHUNK_BYTES;
    use keel_cloud::store::EmbeddedStore;
    use keel_uplink::release::Channel;

    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("cloud.redb")).unwrap();
    let fw = bundle(dir.path(), "fw.keelb", BundleKind::Firmware, "1.3.0", 3000);
    let bytes = std::fs::read(&fw).unwrap();
    let mut sha = [0u8; 32];
    sha.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
    let t0 = 1_800_000_000_000u64;
    let draft = Draft {
        facts: bundle_facts(&bytes).unwrap(),
        sha256: sha,
        channel: Channel::Stable,
        rollout: 100,
        notes: String::new(),
    };
    let id = begin(&store, &draft, t0).unwrap();
    for (i, c) in bytes.chunks(CHUNK_BYTES).enumerate() {
        put_chunk(&store, id, i as u64, c).unwrap();
    }
    // A chunk of the wrong size is refused.
    assert!(put_chunk(&store, id, 0, &bytes[..10]).is_err());
    finish(&store, id, t0).unwrap();
    let s1 = keel_core::ids::StoreId("s1".into());
    let mut on = term(2, "qemu-x86_64");
    on.firmware = "1.3.0".into();
    store
        .record_ota(&s1, &[term(1, "qemu-x86_64"), on], t0)
        .unwrap();
    let hour = 3_600_000;
    let before = stores_ota(&store, t0 + 23 * hour).unwrap();
    assert!(before[&s1].alerts.is_empty(), "{before:?}");
    let after = stores_ota(&store, t0 + 25 * hour).unwrap();
    assert_eq!(
        after[&s1].alerts,
        vec!["rollout of release 1 stalled: T01 not on firmware 1.3.0 after 24 h".to_string()]
    );
    let text = keel_cloud::release_view::ota_text(&after);
    assert!(
        text.contains("ALERT s1: rollout of release 1 stalled"),
        "{text}"
    );
}
