//! The real `keel-cloud serve` on a real PostgreSQL (started on loopback by the
//! test): two stateless ingest nodes share one database, so a batch stored
//! through one is a duplicate through the other and publications made on one
//! reach stores connected to the other; the health endpoint reports the
//! database going away and coming back.

#[path = "server_support.rs"]
mod support;

use keel_core::ids::TerminalId;
use keel_testkit::postgres::PostgresHarness;
use keel_uplink::wire::{CloudMessage, StoreMessage};
use std::time::{Duration, Instant};
use support::{hello, read, store_terminal, Client, Cloud, Journal};

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
