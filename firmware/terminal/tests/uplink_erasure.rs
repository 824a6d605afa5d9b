//! Customers' personal data end to end, through real processes: two `keel`
//! terminals and `keel-cloud` on a real PostgreSQL. A customer registered on
//! one terminal is sealed under their own key; the key reaches the other
//! terminal and the cloud, where the data is readable. An erasure request in
//! the cloud (`keel-cloud erase-customer`) deletes the key everywhere: both
//! terminals and the cloud then show the customer as erased, the journals
//! still verify (the sealed records stay, unreadable), and the id cannot be
//! registered again.

mod common;
mod uplink_common;

use serde_json::Value;
use std::time::{Duration, Instant};
use uplink_common::*;

fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_erasure_in_the_cloud_shreds_the_customer_everywhere() {
    let root = tempfile::tempdir().unwrap();
    let pg = postgres();
    let mut cloud = Cloud::init(root.path(), &pg.url());
    cloud.start();
    let store = provision(
        root.path(),
        "members",
        2,
        &cloud,
        cloud.quic,
        "retry_max_ms = 500",
        26_000,
    );
    let mut ks = store.start_all();
    wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);
    for k in ks.iter_mut().flatten() {
        ready_to_sell(k);
    }
    ks[0]
        .as_mut()
        .unwrap()
        .ok("customer set C-7 +62811223344 Sari Dewi");

    // The key travels apart from the record: the other terminal reads it soon.
    let other = ks[1].as_mut().unwrap();
    let c: Value = eventually(
        "the key on the other terminal",
        Duration::from_secs(15),
        || {
            // Until the record replicates: "no customer C-7"; then the key may lag.
            let c = other.send("customer show C-7");
            (c["name"] == "Sari Dewi").then_some(c)
        },
    );
    assert_eq!(c["phone"], "+62811223344");

    // The cloud holds the sealed record and the key: readable there.
    wait_synced(&cloud, "members", &mut ks, Duration::from_secs(30));
    eventually(
        "the customer readable in the cloud",
        Duration::from_secs(15),
        || {
            let (ok, out, _) = cloud.try_admin(&["customer", "--store", "members", "C-7"]);
            (ok && out.contains("Sari Dewi")).then_some(())
        },
    );

    // Erasure: keys deleted in the cloud, published to the store.
    let out = cloud.admin(&["erase-customer", "C-7"]);
    assert!(out.contains("erased customer C-7"), "{out}");
    let shown = cloud.admin(&["customer", "--store", "members", "C-7"]);
    assert!(
        shown.contains("erased") && !shown.contains("Sari"),
        "{shown}"
    );
    for (i, k) in ks.iter_mut().enumerate() {
        let k = k.as_mut().unwrap();
        let c = eventually(
            &format!("the erasure on terminal {}", i + 1),
            Duration::from_secs(20),
            || {
                let c = k.ok("customer show C-7");
                (c["erased"] == true).then_some(c)
            },
        );
        assert!(c["name"].is_null(), "{c}");
        assert!(
            k.ok("customers")["customers"]
                .as_array()
                .unwrap()
                .is_empty(),
            "an erased customer is listed nowhere"
        );
        let refused = k.err("customer set C-7 - Sari");
        assert!(refused.contains("erased"), "{refused}");
        // The journals keep their chains: the sealed records are still there.
        k.ok("login 0000");
        let v = k.ok("journal verify");
        assert_eq!(v["ok"], true, "{v}");
    }
    for k in ks.into_iter().flatten() {
        k.quit();
    }
    // Nothing of the person is left in clear in the store's files.
    for entry in walk(&store.dir) {
        let bytes = std::fs::read(&entry).unwrap();
        for clear in [&b"Sari Dewi"[..], b"62811223344"] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear),
                "{} holds personal data in clear",
                entry.display()
            );
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
