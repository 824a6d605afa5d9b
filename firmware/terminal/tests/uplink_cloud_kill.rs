//! The cloud SIGKILLed in the middle of a large backlog upload, through real
//! processes: a store of three `keel` terminals builds a backlog while the
//! cloud is down, the real `keel-cloud` (on a real PostgreSQL) starts, and is
//! killed while the leader is uploading in small batches (`batch_bytes =
//! 1024`: hundreds of batches). After the restart the upload resumes from the
//! cloud's marks: the cloud ends up with every record exactly once, and the
//! leader re-sent at most what the lost batch held.

mod common;
mod uplink_common;

use std::time::{Duration, Instant};
use uplink_common::*;

#[test]
fn cloud_killed_mid_backlog_resumes_without_duplicates() {
    let root = tempfile::tempdir().unwrap();
    let pg = postgres();
    let mut cloud = Cloud::init(root.path(), &pg.url());
    let store = provision(
        root.path(),
        "ckill",
        3,
        &cloud,
        cloud.quic,
        "batch_bytes = 1024\nretry_max_ms = 500",
        23_000,
    );
    let mut ks = store.start_all();
    let leader = wait_leader(&mut ks, Duration::from_secs(30));
    wait_catalog(&mut ks);
    for k in ks.iter_mut().flatten() {
        ready_to_sell(k);
    }
    // A backlog while the cloud is not there.
    for _ in 0..25 {
        for k in ks.iter_mut().flatten() {
            sell(k, &[("CHOC-100", 1), ("WATER-15", 2), ("MILK-1L", 1)]);
        }
    }
    let total = wait_converged(&mut ks, Duration::from_secs(30));
    let s = ks[leader].as_mut().unwrap().ok("cloud status");
    assert_eq!(s["pending"].as_u64(), Some(total), "{s}");

    // The cloud comes up; kill it once the leader is well into the backlog.
    cloud.start();
    let started = Instant::now();
    let acked_at_kill = loop {
        let s = ks[leader].as_mut().unwrap().ok("cloud status");
        let acked = s["records_acked"].as_u64().unwrap();
        if acked >= 40 {
            cloud.kill();
            break acked;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the upload did not start: {s}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let in_cloud = {
        // Read what survived the crash straight from a fresh service.
        cloud.start();
        let n = cloud.events("ckill");
        cloud.kill();
        n
    };
    eprintln!(
        "cloud killed after {:?}: the leader had {acked_at_kill} records acked, the cloud kept {in_cloud} of {total}",
        started.elapsed()
    );
    assert!(
        in_cloud < total,
        "the kill came after the upload finished; make the backlog larger"
    );
    assert!(in_cloud > 0, "what was stored before the crash is kept");

    // The leader notices, retries, and finishes once the cloud is back.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = ks[leader].as_mut().unwrap().ok("cloud status");
        if s["failed_syncs"].as_u64().unwrap() >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the crash went unnoticed: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    cloud.start();
    let resumed = Instant::now();
    let synced = wait_synced(&cloud, "ckill", &mut ks, Duration::from_secs(60));
    assert_eq!(synced, total);
    assert_eq!(own_journals(&mut ks), total, "every journal once");
    let s = ks[leader].as_mut().unwrap().ok("cloud status");
    eprintln!("resumed and finished in {:?}: {s}", resumed.elapsed());
    let acked = s["records_acked"].as_u64().unwrap();
    let duplicates = s["duplicates"].as_u64().unwrap();
    // Everything stored was stored once; what was re-sent is at most the batch
    // whose ack the crash swallowed, not the backlog from the start.
    assert!(acked <= total, "{s}");
    assert!(
        duplicates < acked_at_kill,
        "the upload restarted from scratch instead of resuming: {s}"
    );
    assert_eq!(
        s["batches_acked"].as_u64().map(|b| b > 50),
        Some(true),
        "{s}"
    );
    let listed = cloud.admin(&["orders", "--store", "ckill", "--limit", "1000"]);
    let orders = listed.lines().filter(|l| l.contains("ORD-")).count();
    assert_eq!(orders, 75, "{listed}");
}
