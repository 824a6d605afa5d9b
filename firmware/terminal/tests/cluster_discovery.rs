//! Discovery with no static peers: three `keel` processes in a network
//! namespace of this test's own, with a private D-Bus and avahi-daemon (see
//! keel-testkit), find each other through mDNS alone, connect over QUIC and
//! replicate; `avahi-browse -rt _keel._udp` in the same namespace lists them.
//! mDNS never touches the machine's real interfaces.

mod common;

use common::Keel;
use keel_core::ids::StoreId;
use keel_terminal::provision::{provision, ProvisionPlan};
use keel_testkit::avahi::AvahiHarness;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn terminals_find_each_other_through_avahi_alone() {
    let harness =
        AvahiHarness::start().expect("avahi harness (run `cargo xtask setup`; needs root)");
    let dir = tempfile::tempdir().unwrap();
    let configs = provision(&ProvisionPlan {
        store: StoreId("mdns-store".into()),
        terminals: 3,
        out: dir.path().join("store"),
        host: "127.0.0.1".parse().unwrap(),
        base_port: 7301,
        mdns: true,
        demo_catalog: true,
    })
    .unwrap();
    // No static peers: discovery must do it.
    for c in &configs {
        let text = std::fs::read_to_string(c).unwrap();
        let cut = text.find("[[cluster.peers]]").unwrap_or(text.len());
        std::fs::write(c, &text[..cut]).unwrap();
        assert!(!std::fs::read_to_string(c)
            .unwrap()
            .contains("cluster.peers"));
    }
    let mut ks: Vec<Keel> = configs
        .iter()
        .map(|c| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
            cmd.arg("console")
                .arg("--config")
                .arg(c)
                .arg("--json")
                .env("RUST_LOG", "info");
            harness.run_in_env(&mut cmd);
            Keel::spawn(cmd, c.parent().unwrap())
        })
        .collect();
    // Every terminal connects to both others.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connected: Vec<usize> = ks
            .iter_mut()
            .map(|k| {
                k.ok("peers")["peers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["connected"] == true)
                    .count()
            })
            .collect();
        if connected.iter().all(|c| *c == 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all connected through mDNS: {connected:?}; avahi log:\n{}",
            harness.avahi_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Sightings come and go with Avahi's announcements (a peer's record can be
    // withdrawn and announced again): wait for both, do not sample once.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let peers = ks[0].ok("peers");
        assert_eq!(peers["mdns"], true);
        if peers["discovered"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "terminal 1 does not see both peers through mDNS: {peers}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A sale on terminal 3 reaches terminal 1 (the catalog came from terminal 1 the same way).
    let deadline = Instant::now() + Duration::from_secs(20);
    while ks[2].ok("catalog list")["items"].as_array().unwrap().len() < 17 {
        assert!(Instant::now() < deadline, "catalog did not replicate");
        std::thread::sleep(Duration::from_millis(100));
    }
    ks[2].ok("login 1111");
    ks[2].ok("shift open 10.00");
    ks[2].ok("sale new");
    ks[2].ok("sale add 4006381333931");
    ks[2].ok("sale tender cash 2.00");
    ks[2].ok("sale complete");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stock = ks[0].ok("stock CHOC-100")["stock"][0]["on_hand"].as_i64();
        if stock == Some(119) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sale did not replicate: {stock:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // avahi-browse, in the same namespace, lists the three terminals.
    let records = harness.avahi_browse("_keel._udp").unwrap();
    let mut terminals: Vec<String> = records
        .iter()
        .filter_map(|r| r.txt_value("terminal").map(str::to_string))
        .collect();
    terminals.sort();
    terminals.dedup();
    assert_eq!(terminals, ["1", "2", "3"], "{records:?}");
    for k in ks {
        k.quit();
    }
}
