//! The real `keel-cloud serve` on a real PostgreSQL (started on loopback by the
//! test): two stateless ingest nodes share one database, so a batch stored
//! through one is a duplicate through the other and publications made on one
//! reach stores connected to the other; the health endpoint reports the
//! database going away and coming back; bad batches are refused with the
//! reason, logged, and leave nothing in the database; an order-number conflict
//! is logged; the status view's alerts and the health figures.

#[path = "server_support.rs"]
mod support;

use keel_core::ids::TerminalId;
use keel_testkit::postgres::PostgresHarness;
use keel_uplink::wire::{CloudMessage, EntryBody, StoreHealth, StoreMessage};
use std::time::{Duration, Instant};
use support::{hello, read, store_terminal, welcomed, Client, Cloud, Journal};

#[test]
fn two_nodes_share_one_database_and_health_follows_it() {
    let mut pg = PostgresHarness::start().unwrap_or_else(|e| panic!("{e}"));
    let url = pg.url();
    let cloud = Cloud::start_on(Some(&url));
    let (quic_b, http_b, _node_b) = cloud.another_node(&url);
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);

    let mut j = Journal::new("s1", 1);
    j.sell_coffee(3);
    let batch = j.batch(1, 1, j.head());
    let mut a = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    assert!(matches!(
        a.request(&hello("s1", 1, 0)),
        CloudMessage::Welcome { .. }
    ));
    let ack = a.request(&StoreMessage::Batch(batch.clone()));
    assert!(
        matches!(ack, CloudMessage::Ack { accepted, .. } if accepted == j.head()),
        "{ack:?}"
    );
    // A new leader reaching the other node: the marks say where to resume, and the
    // same batch is all duplicates.
    let mut b = Client::connect(quic_b, &op_pem, &t1).unwrap();
    let CloudMessage::Welcome { marks, .. } = b.request(&hello("s1", 1, 0)) else {
        panic!("no welcome")
    };
    assert_eq!(marks.of(TerminalId(1)).bodies, j.head());
    let again = b.request(&StoreMessage::Batch(batch));
    assert!(
        matches!(again, CloudMessage::Ack { accepted: 0, duplicates, .. } if duplicates == j.head()),
        "{again:?}"
    );
    // Published through node A, received through node B.
    let (ok, out, err) = cloud.admin(&["publish", "setting", "receipt.footer", "Danke"]);
    assert!(ok, "{out}{err}");
    let CloudMessage::Publications(p) = b.request(&StoreMessage::Health {
        health: Default::default(),
        downlink: 0,
    }) else {
        panic!("no publications")
    };
    assert_eq!(p.len(), 1);
    let (code, csv) = keel_cloud::http::request(http_b, "GET", "/report.csv", None, None).unwrap();
    assert_eq!(code, 200);
    assert!(csv.lines().nth(1).unwrap().starts_with("s1,"), "{csv}");

    // The database goes away: health says so (503); it comes back: 200 again.
    let (code, health) = cloud.get("/health");
    assert_eq!(code, 200, "{health}");
    assert!(health.contains("\"kind\":\"postgresql\""), "{health}");
    pg.kill().unwrap();
    let (code, health) = cloud.get("/health");
    assert_eq!(code, 503, "{health}");
    assert!(health.contains("\"connected\":false"), "{health}");
    // A batch meanwhile is refused with a reason, not lost silently.
    let stored = j.head();
    j.sell_coffee(1);
    let n = j.head();
    let answer = a.request(&StoreMessage::Batch(j.batch(2, stored + 1, n)));
    assert!(
        matches!(answer, CloudMessage::Refused { batch: 2, .. }),
        "{answer:?}"
    );
    pg.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, health) = cloud.get("/health");
        if code == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health never recovered: {health}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let answer = a.request(&StoreMessage::Batch(j.batch(3, stored + 1, n)));
    assert!(
        matches!(answer, CloudMessage::Ack { accepted, .. } if accepted == n - stored),
        "{answer:?}"
    );
}

/// Waits until the service's log holds a line with every one of `words`.
fn logged(log: &std::path::Path, words: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| words.iter().all(|w| l.contains(w))) {
            return line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {words:?} in:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_batches_are_refused_with_a_reason_logged_and_nothing_of_them_stored() {
    let pg = PostgresHarness::start().unwrap_or_else(|e| panic!("{e}"));
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("cloud.log");
    let cloud = Cloud::start_logged(Some(&pg.url()), Some(&log));
    let mut c = welcomed(&cloud, "s1", 1);
    let mut j = Journal::new("s1", 1);
    j.sell_coffee(1);
    // The same store and terminal, another history: its third record links to
    // its own second, not to this journal's.
    std::thread::sleep(Duration::from_millis(5));
    let mut fork = Journal::new("s1", 1);
    fork.sell_coffee(2);
    let mut malformed = j.batch(1, 1, 3);
    malformed.entries[2].body = EntryBody::Full(vec![1, 0xff, 0xff, 0xff]);
    let other_store = Journal::new("s2", 1).batch(2, 1, 3);
    let mut broken = j.batch(3, 1, 3);
    broken.entries[2] = fork.batch(0, 3, 3).entries.remove(0);
    let cases = [
        (malformed, "T01:3: malformed record"),
        (other_store, "T01:1: the journal belongs to store s2"),
        (broken, "T01:3: broken hash chain"),
    ];
    for (i, (batch, words)) in cases.into_iter().enumerate() {
        let id = batch.id;
        let answer = c.request(&StoreMessage::Batch(batch));
        let CloudMessage::Refused { batch, reason } = answer else {
            panic!("case {i}: {answer:?}")
        };
        assert_eq!(batch, id);
        assert!(reason.contains(words), "case {i}: {reason}");
        // Logged by the service with the store, the batch and the reason.
        logged(&log, &["s1", &format!("batch {id} refused"), words]);
        // Nothing of it stored, anywhere.
        assert_eq!(
            pg.psql(
                "keel",
                "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM stubs) \
                 + (SELECT count(*) FROM orders) + (SELECT count(*) FROM sales_daily) \
                 + (SELECT count(*) FROM stock) + (SELECT count(*) FROM flags)"
            )
            .unwrap(),
            "0",
            "case {i}"
        );
        let (_, status) = cloud.get("/status.json");
        let v: serde_json::Value = serde_json::from_str(&status).unwrap();
        assert_eq!(v["stores"][0]["errors"], i + 1, "{v}");
        assert_eq!(v["stores"][0]["failed_syncs"], i + 1, "{v}");
        assert!(
            v["stores"][0]["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(words)),
            "{v}"
        );
    }
    // The session goes on: the good journal is stored, failures reset.
    let n = j.head();
    let ack = c.request(&StoreMessage::Batch(j.batch(4, 1, n)));
    assert!(
        matches!(ack, CloudMessage::Ack { accepted, .. } if accepted == n),
        "{ack:?}"
    );
    assert_eq!(
        pg.psql("keel", "SELECT count(*) FROM events").unwrap(),
        n.to_string()
    );

    // Another store sells under the same order number: its order is renamed,
    // and the conflict is logged as well as flagged.
    let mut c2 = welcomed(&cloud, "s2", 1);
    let mut j2 = Journal::new("s2", 1);
    j2.sell_coffee(3);
    let ack = c2.request(&StoreMessage::Batch(j2.batch(1, 1, j2.head())));
    assert!(matches!(ack, CloudMessage::Ack { .. }), "{ack:?}");
    logged(
        &log,
        &[
            "s2: batch 1 raised review flags",
            "order-number x1",
            "ORD-1-001-B",
        ],
    );
    let (ok, orders, err) = cloud.admin(&["orders", "--store", "s2"]);
    assert!(ok, "{err}");
    assert!(orders.contains("ORD-1-001-B"), "{orders}");

    // The store reports a backlog and failures: the status view alerts, the
    // service's health sums them up.
    let busy = StoreHealth {
        pending: 150,
        failed_syncs: 6,
        last_error: Some("cloud unreachable".into()),
        disk_free_pct: 40,
        terminals_up: 1,
        terminals: 1,
        now_ms: support::now_ms(),
    };
    let answer = c2.request(&StoreMessage::Health {
        health: busy,
        downlink: 0,
    });
    assert!(
        matches!(answer, CloudMessage::Publications(_)),
        "{answer:?}"
    );
    let (_, status) = cloud.get("/status.json");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let s2 = v["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == "s2")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        s2["alerts"],
        serde_json::json!(["backlog", "sync-failures"])
    );
    assert_eq!(
        (&s2["pending"], &s2["disk_free_pct"]),
        (&150.into(), &40.into())
    );
    let (_, text) = cloud.get("/status");
    assert!(
        text.contains("backlog") && text.contains("sync-failures"),
        "{text}"
    );
    let (code, health) = cloud.get("/health");
    assert_eq!(code, 200, "{health}");
    let h: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["database"]["kind"], "postgresql", "{h}");
    assert_eq!(h["database"]["connected"], true, "{h}");
    assert!(h["last_sync"].as_str().is_some(), "{h}");
    let last_sync = h["last_sync_ms"].as_u64().unwrap_or_else(|| panic!("{h}"));
    assert!(support::now_ms() - last_sync < 60_000, "{h}");
    assert_eq!(h["pending"], 150, "{h}");
    assert_eq!(h["errors"], 3, "{h}");
    assert_eq!(h["stores_alerting"], 1, "{h}");
    assert!(h["disk"]["free_pct"].as_u64().is_some(), "{h}");
}
