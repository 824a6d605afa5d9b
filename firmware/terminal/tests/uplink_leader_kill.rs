//! The store leader SIGKILLed in the middle of an upload, through real
//! processes: three `keel` terminals with a large backlog, the real
//! `keel-cloud` on a real PostgreSQL. Once the followers hold replicated
//! high-water marks (the leader proposes them through raft while uploading),
//! the leader is killed. A new leader is elected, resumes from the replicated
//! marks (its `cloud status` shows where), and finishes: the cloud holds every
//! record of every terminal exactly once, the dead one's included.

mod common;
mod uplink_common;

use serde_json::Value;
use std::time::{Duration, Instant};
use uplink_common::*;

/// Records the marks say the cloud holds, in full or as checked chain links
/// (sales go first in full, the rest as stubs whose bodies follow).
fn held(marks: &Value) -> u64 {
    marks
        .as_object()
        .map(|m| m.values().map(|o| o["chain"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0)
}

#[test]
fn leader_killed_mid_upload_the_new_leader_resumes_from_replicated_marks() {
    let root = tempfile::tempdir().unwrap();
    let pg = postgres();
    let mut cloud = Cloud::init(root.path(), &pg.url());
    let store = provision(
        root.path(),
        "lkill",
        3,
        &cloud,
        cloud.quic,
        "batch_bytes = 1024\nretry_max_ms = 500",
        24_000,
    );
    let mut ks = store.start_all();
    let leader = wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);
    for k in ks.iter_mut().flatten() {
        ready_to_sell(k);
    }
    // A backlog large enough that uploading it in 1 KiB batches takes several
    // seconds (marks are proposed through raft every 2 s while uploading).
    for _ in 0..60 {
        for k in ks.iter_mut().flatten() {
            sell(k, &[("CHOC-100", 1), ("WATER-15", 2), ("MILK-1L", 1)]);
        }
    }
    let total = wait_converged(&mut ks, Duration::from_secs(30));
    cloud.start();
    let started = Instant::now();

    // Wait until a follower holds replicated marks while the leader still uploads.
    let follower = (leader + 1) % 3;
    let replicated = loop {
        let f = ks[follower].as_mut().unwrap().ok("cloud status");
        let holds = held(&f["marks"]);
        let l = ks[leader].as_mut().unwrap().ok("cloud status");
        let pending = l["pending"].as_u64().unwrap();
        if holds > 0 {
            assert!(
                pending > 0,
                "the upload finished before the marks were replicated; make the backlog larger: {l}"
            );
            break f["marks"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no marks replicated: leader {l}, follower {f}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let in_cloud = cloud.events("lkill");
    eprintln!(
        "leader T{} killed after {:?}: followers hold marks {replicated} ({} records), the cloud {in_cloud} of {total}",
        leader + 1,
        started.elapsed(),
        held(&replicated)
    );
    ks[leader].take().unwrap().kill();

    // A new leader takes over and resumes from the replicated marks.
    let new_leader = wait_leader(&mut ks, Duration::from_secs(15));
    assert_ne!(new_leader, leader);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = ks[new_leader].as_mut().unwrap().ok("cloud status");
        if s["leader"] == true && !s["resumed_from"].is_null() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the new leader did not sync: {s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let resumed = held(&status["resumed_from"]);
    assert!(
        resumed >= held(&replicated),
        "the new leader resumed from {} records, the store had replicated {}: {status}",
        status["resumed_from"],
        replicated
    );
    assert!(resumed < total, "{status}");
    let synced = wait_synced(&cloud, "lkill", &mut ks, Duration::from_secs(60));
    assert_eq!(synced, total, "the cloud holds every journal once");
    let s = ks[new_leader].as_mut().unwrap().ok("cloud status");
    eprintln!("the new leader finished after {:?}: {s}", started.elapsed());
    assert!(
        s["duplicates"].as_u64().unwrap() < resumed,
        "the new leader re-sent what the replicated marks covered: {s}"
    );

    // The old leader comes back as a follower; every journal is in the cloud once.
    ks[leader] = Some(store.start(leader + 1));
    let synced = wait_synced(&cloud, "lkill", &mut ks, Duration::from_secs(60));
    assert_eq!(synced, total);
    assert_eq!(own_journals(&mut ks), total);
    let listed = cloud.admin(&["orders", "--store", "lkill", "--limit", "1000"]);
    let orders = listed.lines().filter(|l| l.contains("ORD-")).count();
    assert_eq!(orders, 180, "every order once");
    // The restarted terminal follows (its uplink idles) and knows from the
    // replicated marks that nothing is pending.
    let s = ks[leader].as_mut().unwrap().ok("cloud status");
    assert_eq!(s["pending"], 0, "{s}");
    assert_eq!(
        (&s["leader"], &s["state"]),
        (&Value::Bool(false), &Value::from("idle")),
        "{s}"
    );
}
