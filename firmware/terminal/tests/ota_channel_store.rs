//! The store OTA channel through real processes: the real `keel-cloud` on a
//! real PostgreSQL (and, for the rollout test, on its embedded store too),
//! three `keel` terminals in a cluster on loopback, signed bundles published
//! with `keel-cloud release publish`.
//!
//! - rollout 0: nothing is downloaded, yet the cloud's status view shows all
//!   three terminals (their reports reach the cloud through the leader);
//!   raised to 100: every terminal ends with the identical file in its
//!   `ota/bundles/`, its OTA service is offered it, and the cloud served the
//!   bundle's bytes exactly once (the leader downloads for the store, the
//!   others fetch from the leader over the mesh);
//! - a model bundle on beta is not offered to a stable store until the store
//!   moves to beta (`ota.channel`);
//! - a tampered chunk in the cloud's database: the hash mismatch deletes the
//!   download and it is retried, never offered; repaired, it completes;
//! - the leader killed mid-download: the new leader resumes from its own
//!   `.part` (the cloud serves it exactly the bytes it lacked), and sales
//!   never wait;
//! - the cloud killed mid-download: sales go on at once on every terminal,
//!   no byte arrives while it is down, and once it is back the download
//!   resumes from the `.part` (the cloud serves the bundle's size in all).

mod common;
mod uplink_common;

use common::Keel;
use keel_ota::manifest::BundleKind;
use keel_testkit::ota_bundle::signed_test_bundle as bundle;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use uplink_common::*;

fn sha_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A board description named qemu-x86_64 without serial ports (so the
/// terminals open no devices).
fn board_file(root: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../board/qemu-x86_64/board.toml");
    let text = std::fs::read_to_string(src).unwrap();
    let mut out = String::new();
    let mut skip = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skip = line.starts_with("[serial.");
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = root.join("board.toml");
    std::fs::write(&path, out).unwrap();
    path
}

/// Provisions `n` terminals with the board and starts the cloud.
fn store(root: &Path, name: &str, cloud: &mut Cloud, ports: u16) -> Store {
    let s = provision(
        root,
        name,
        3,
        cloud,
        cloud.quic,
        "retry_max_ms = 500",
        ports,
    );
    let board = board_file(root);
    for c in &s.configs {
        let text = std::fs::read_to_string(c).unwrap();
        let text = text.replacen(
            "[terminal]\n",
            &format!("[terminal]\nboard = \"{}\"\n", board.display()),
            1,
        );
        std::fs::write(c, text).unwrap();
    }
    cloud.start();
    s
}

fn bundles_dir(s: &Store, t: usize) -> PathBuf {
    s.configs[t].parent().unwrap().join("data/ota/bundles")
}

fn held(s: &Store, t: usize, sha: &str) -> Option<Vec<u8>> {
    std::fs::read(bundles_dir(s, t).join(format!("{sha}.keelb"))).ok()
}

fn release_json(cloud: &Cloud, id: u64) -> Value {
    let out = cloud.admin(&["release", "list", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn publish(cloud: &Cloud, file: &Path, channel: &str, rollout: &str) {
    cloud.admin(&[
        "release",
        "publish",
        "--file",
        file.to_str().unwrap(),
        "--channel",
        channel,
        "--rollout",
        rollout,
    ]);
}

/// Waits until every terminal holds `bytes` as `<sha>.keelb`.
fn wait_everywhere(s: &Store, sha: &str, bytes: &[u8], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let have: Vec<bool> = (0..3)
            .map(|t| held(s, t, sha).as_deref() == Some(bytes))
            .collect();
        if have.iter().all(|h| *h) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bundle {sha} not on every terminal: {have:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn offered(k: &mut Keel, release: u64) -> bool {
    let v = k.ok("ota status");
    v.to_string()
        .contains(&format!("\"release_id\":\"{release}\""))
}

#[test]
fn releases_reach_every_terminal_once_following_rollout_and_channel() {
    let pg = postgres();
    rollout_and_channel(&pg.url(), 24_300);
}

#[test]
fn releases_reach_every_terminal_on_the_embedded_cloud_store() {
    // An empty database URL: `keel-cloud serve` keeps everything in its redb file.
    rollout_and_channel("", 24_150);
}

fn rollout_and_channel(database_url: &str, ports: u16) {
    let root = tempfile::tempdir().unwrap();
    let mut cloud = Cloud::init(root.path(), database_url);
    let s = store(root.path(), "otas", &mut cloud, ports);
    let mut ks = s.start_all();
    let leader = wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);

    // 600 KiB: several cloud chunks and a dozen mesh chunks.
    let fw = bundle(
        root.path(),
        "fw.keelb",
        BundleKind::Firmware,
        "9.1.0",
        600 * 1024,
    );
    let fw_bytes = std::fs::read(&fw).unwrap();
    let fw_sha = sha_hex(&fw_bytes);
    publish(&cloud, &fw, "stable", "0");

    // Rollout 0: every terminal reports (through the leader), none downloads.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v: Value = serde_json::from_str(&cloud.admin(&["status", "--json"])).unwrap();
        if v["ota"]["otas"]["versions"]["0.1.0"] == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cloud did not hear of 3 terminals: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    for t in 0..3 {
        assert!(
            held(&s, t, &fw_sha).is_none(),
            "T{} downloaded at rollout 0",
            t + 1
        );
    }
    assert_eq!(release_json(&cloud, 1)["fetched_bytes"], 0);

    // Raised to 100: everyone, identical bytes, over the cloud link once.
    cloud.admin(&["release", "rollout", "1", "100"]);
    let started = Instant::now();
    wait_everywhere(&s, &fw_sha, &fw_bytes, Duration::from_secs(60));
    eprintln!(
        "firmware bundle on 3 terminals {:?} after rollout 100",
        started.elapsed()
    );
    let r = release_json(&cloud, 1);
    assert_eq!(
        r["fetched_bytes"],
        fw_bytes.len() as u64,
        "the cloud served it once: {r}"
    );
    for k in ks.iter_mut().flatten() {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !offered(k, 1) {
            assert!(
                Instant::now() < deadline,
                "release 1 not offered: {}",
                k.ok("ota status")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Selling went on meanwhile.
    let k = ks[leader].as_mut().unwrap();
    ready_to_sell(k);
    sell(k, &[("CHOC-100", 1)]);

    // A model on beta: not for this stable store until it moves to beta.
    let model = bundle(
        root.path(),
        "model.keelb",
        BundleKind::Model,
        "3.0.0",
        100 * 1024,
    );
    let model_bytes = std::fs::read(&model).unwrap();
    let model_sha = sha_hex(&model_bytes);
    publish(&cloud, &model, "beta", "100");
    std::thread::sleep(Duration::from_secs(4));
    for t in 0..3 {
        assert!(
            held(&s, t, &model_sha).is_none(),
            "a beta release reached a stable store"
        );
    }
    cloud.admin(&[
        "publish",
        "--store",
        "otas",
        "setting",
        "ota.channel",
        "beta",
    ]);
    wait_everywhere(&s, &model_sha, &model_bytes, Duration::from_secs(60));
    let r = release_json(&cloud, 2);
    assert_eq!(r["fetched_bytes"], model_bytes.len() as u64, "{r}");
    let status = cloud.admin(&["release", "status", "2"]);
    assert!(status.contains("3 terminal(s) in the rollout"), "{status}");
}

#[test]
fn a_tampered_chunk_is_never_offered_and_a_killed_leader_resumes() {
    let root = tempfile::tempdir().unwrap();
    let pg = postgres();
    let mut cloud = Cloud::init(root.path(), &pg.url());
    let s = store(root.path(), "otat", &mut cloud, 24_600);
    let mut ks = s.start_all();
    let leader = wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);

    // A tampered row in the cloud's database: the download completes, hashes
    // wrong, is deleted and retried; nothing is offered.
    let fw = bundle(
        root.path(),
        "fw.keelb",
        BundleKind::Firmware,
        "9.2.0",
        300 * 1024,
    );
    let fw_bytes = std::fs::read(&fw).unwrap();
    let fw_sha = sha_hex(&fw_bytes);
    publish(&cloud, &fw, "stable", "0");
    let db = pg.url();
    let db_name = db
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    pg.psql(&db_name, "UPDATE release_chunks SET bytes = set_byte(bytes, 200000, get_byte(bytes, 200000) # 255) WHERE release = 1 AND idx = 0")
        .unwrap();
    cloud.admin(&["release", "rollout", "1", "100"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = ks[leader].as_ref().unwrap().stderr();
        if log.matches("hashes to").count() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no hash mismatch seen: {log}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for t in 0..3 {
        assert!(
            held(&s, t, &fw_sha).is_none(),
            "a bundle that hashed wrong was kept"
        );
    }
    for k in ks.iter_mut().flatten() {
        assert!(!offered(k, 1), "a bundle that hashed wrong was offered");
    }
    // Repaired: the next attempt completes everywhere.
    pg.psql(&db_name, "UPDATE release_chunks SET bytes = set_byte(bytes, 200000, get_byte(bytes, 200000) # 255) WHERE release = 1 AND idx = 0")
        .unwrap();
    wait_everywhere(&s, &fw_sha, &fw_bytes, Duration::from_secs(60));

    // A large bundle; the leader is killed once a follower holds part of it.
    let big = bundle(
        root.path(),
        "big.keelb",
        BundleKind::Firmware,
        "9.3.0",
        24 << 20,
    );
    let big_bytes = std::fs::read(&big).unwrap();
    let big_sha = sha_hex(&big_bytes);
    publish(&cloud, &big, "stable", "100");
    let part = |t: usize| {
        std::fs::metadata(bundles_dir(&s, t).join(format!("{big_sha}.part")))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    // Killed once both followers hold part of it (they fetch from the leader).
    let deadline = Instant::now() + Duration::from_secs(60);
    let had: Vec<u64> = loop {
        let parts: Vec<u64> = (0..3).map(part).collect();
        if (0..3).filter(|t| *t != leader).all(|t| parts[t] > 0) {
            break parts;
        }
        assert!(
            Instant::now() < deadline,
            "the followers did not start fetching: {parts:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    eprintln!(
        "killing leader T{} while the store holds {had:?} bytes of {}",
        leader + 1,
        big_bytes.len()
    );
    ks[leader].take().unwrap().kill();
    // Whatever the dead leader had in flight is served (and counted) by now.
    std::thread::sleep(Duration::from_millis(500));
    let fetched_at_kill = release_json(&cloud, 2)["fetched_bytes"].as_u64().unwrap();
    let new_leader = wait_leader(&mut ks, Duration::from_secs(20));
    // Sales go on while the new leader downloads.
    let k = ks[new_leader].as_mut().unwrap();
    ready_to_sell(k);
    let t0 = Instant::now();
    sell(k, &[("WATER-15", 1)]);
    eprintln!("a sale during the download took {:?}", t0.elapsed());
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "a sale waited {:?}",
        t0.elapsed()
    );
    // The new leader resumes from its own .part, not from zero.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if held(&s, new_leader, &big_sha).as_deref() == Some(&big_bytes[..]) {
            break;
        }
        assert!(Instant::now() < deadline, "the new leader did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The other live terminal gets it over the mesh after the failover.
    let other = (0..3).find(|t| *t != leader && *t != new_leader).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while held(&s, other, &big_sha).as_deref() != Some(&big_bytes[..]) {
        assert!(
            Instant::now() < deadline,
            "T{} did not get the bundle after the failover",
            other + 1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The cloud served the new leader only what its .part lacked.
    let fetched = release_json(&cloud, 2)["fetched_bytes"].as_u64().unwrap();
    let size = big_bytes.len() as u64;
    eprintln!(
        "new leader T{} held {} bytes at the kill; the cloud served {} bytes before it and {} after (bundle {size})",
        new_leader + 1,
        had[new_leader],
        fetched_at_kill,
        fetched - fetched_at_kill
    );
    assert!(had[new_leader] > 0);
    assert!(
        fetched - fetched_at_kill <= size - had[new_leader],
        "the new leader fetched {} bytes from the cloud, more than the {} its .part lacked",
        fetched - fetched_at_kill,
        size - had[new_leader]
    );
}

#[test]
fn a_cloud_outage_mid_download_resumes_and_never_blocks_a_sale() {
    let root = tempfile::tempdir().unwrap();
    let pg = postgres();
    let mut cloud = Cloud::init(root.path(), &pg.url());
    let s = store(root.path(), "otao", &mut cloud, 24_900);
    let mut ks = s.start_all();
    let leader = wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);
    for k in ks.iter_mut().flatten() {
        ready_to_sell(k);
    }
    let big = bundle(
        root.path(),
        "big.keelb",
        BundleKind::Firmware,
        "9.4.0",
        24 << 20,
    );
    let big_bytes = std::fs::read(&big).unwrap();
    let big_sha = sha_hex(&big_bytes);
    let size = big_bytes.len() as u64;
    publish(&cloud, &big, "stable", "100");
    let part = || {
        std::fs::metadata(bundles_dir(&s, leader).join(format!("{big_sha}.part")))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while part() == 0 {
        assert!(
            Instant::now() < deadline,
            "the leader did not start downloading"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    cloud.kill();
    let at_kill = part();
    assert!(
        at_kill < size,
        "downloaded before the cloud could be killed"
    );
    // The cloud is down: every terminal sells at once; the download waits.
    for k in ks.iter_mut().flatten() {
        let t0 = Instant::now();
        sell(k, &[("CHOC-100", 1)]);
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "a sale waited {:?}",
            t0.elapsed()
        );
    }
    std::thread::sleep(Duration::from_secs(3));
    let during = part();
    assert_eq!(during, at_kill, "bytes arrived with the cloud down");
    eprintln!("cloud down with {at_kill} of {size} bytes at the leader");
    // Back: the download resumes from the .part and reaches every terminal.
    cloud.start();
    wait_everywhere(&s, &big_sha, &big_bytes, Duration::from_secs(90));
    let fetched = release_json(&cloud, 1)["fetched_bytes"].as_u64().unwrap();
    eprintln!("the cloud served {fetched} bytes for a {size}-byte bundle");
    // At most the chunk in flight at the kill was served twice.
    assert!(
        fetched <= size + 256 * 1024,
        "{fetched} bytes served for {size}"
    );
    // And the sales made during the outage reached the cloud.
    wait_synced(&cloud, "otao", &mut ks, Duration::from_secs(60));
}
