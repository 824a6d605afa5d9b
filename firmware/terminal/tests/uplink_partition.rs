//! Leadership lost without a crash, through real processes: the store leader
//! is cut off from its peers (UDP relays between terminals; the cloud stays
//! reachable), steps down and closes its cloud session, while the majority
//! elects a new leader that takes over the upload. The isolated terminal keeps
//! selling but uploads nothing while it is not the leader; after healing, every
//! journal is in the cloud exactly once.

mod common;
#[path = "common/relay.rs"]
mod relay;
mod uplink_common;

use serde_json::Value;
use std::time::{Duration, Instant};
use uplink_common::*;

#[test]
fn a_deposed_leader_closes_its_session_and_the_new_one_uploads() {
    let root = tempfile::tempdir().unwrap();
    let pg = postgres();
    let mut cloud = Cloud::init(root.path(), &pg.url());
    cloud.start();
    let store = provision(
        root.path(),
        "split",
        3,
        &cloud,
        cloud.quic,
        "retry_max_ms = 500",
        25_000,
    );
    let mesh = relay::Mesh::for_configs(&store.configs, common::fresh_seed()).unwrap();
    let mut ks = store.start_all();
    let old = wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);
    for k in ks.iter_mut().flatten() {
        ready_to_sell(k);
        sell(k, &[("CHOC-100", 1)]);
    }
    wait_synced(&cloud, "split", &mut ks, Duration::from_secs(30));

    // Cut the leader off from its peers: it steps down and closes its session.
    mesh.isolate(old as u32 + 1);
    let deadline = Instant::now() + Duration::from_secs(15);
    let deposed = loop {
        let s = ks[old].as_mut().unwrap().ok("cloud status");
        if s["leader"] == false && s["state"] == "idle" {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the cut-off leader kept its session: {s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut isolated = ks[old].take();
    let new = wait_leader(&mut ks, Duration::from_secs(15));
    assert_ne!(new, old);
    // Selling goes on on both sides.
    let k = isolated.as_mut().unwrap();
    for _ in 0..3 {
        sell(k, &[("WATER-15", 1)]);
    }
    for k in ks.iter_mut().flatten() {
        for _ in 0..3 {
            sell(k, &[("CHOC-100", 2)]);
        }
    }
    // The new leader uploads what the majority holds; the deposed one uploads
    // nothing (the cloud never holds more than the majority has).
    let majority = wait_synced(&cloud, "split", &mut ks, Duration::from_secs(30));
    let s = ks[new].as_mut().unwrap().ok("cloud status");
    assert_eq!(
        (&s["leader"], &s["state"]),
        (&Value::Bool(true), &Value::from("connected")),
        "{s}"
    );
    let still = isolated.as_mut().unwrap().ok("cloud status");
    assert_eq!(still["batches_acked"], deposed["batches_acked"], "{still}");
    assert_eq!(still["state"], "idle", "{still}");

    // Healed: the isolated terminal's sales reach the cloud through the leader.
    mesh.heal_all();
    ks[old] = isolated.take();
    let total = wait_synced(&cloud, "split", &mut ks, Duration::from_secs(30));
    assert!(total > majority);
    assert_eq!(own_journals(&mut ks), total, "every journal once");
    let listed = cloud.admin(&["orders", "--store", "split", "--limit", "1000"]);
    let orders = listed.lines().filter(|l| l.contains("ORD-")).count();
    assert_eq!(orders, 3 + 3 + 6, "{listed}");
}
