//! The real `keel-cloud serve` (embedded store) against real QUIC clients on
//! loopback: sessions, batches and duplicates, publications, refusals at the TLS
//! layer and in the protocol, garbage, and the HTTP health and status.

#[path = "server_support.rs"]
mod support;

use keel_cluster::identity::{OperatorCa, StoreCa};
use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::wire::{frame, CloudMessage, PublishedItem, StoreHealth, StoreMessage};
use support::{hello, read, store_terminal, Client, Cloud, Journal, Read};

#[test]
fn a_store_syncs_and_the_same_batch_again_is_all_duplicates() {
    let cloud = Cloud::start();
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();

    let CloudMessage::Welcome {
        marks,
        publications,
    } = c.request(&hello("s1", 1, 0))
    else {
        panic!("no welcome")
    };
    assert!(marks.origins.is_empty() && publications.is_empty());

    let mut j = Journal::new("s1", 1);
    j.sell_coffee(2);
    let n = j.head();
    let batch = j.batch(7, 1, n);
    let ack = c.request(&StoreMessage::Batch(batch.clone()));
    let CloudMessage::Ack {
        batch: id,
        marks,
        accepted,
        duplicates,
    } = ack
    else {
        panic!("{ack:?}")
    };
    assert_eq!((id, accepted, duplicates), (7, n, 0));
    assert_eq!(marks.of(TerminalId(1)).bodies, n);

    // The same batch again, on the same session: nothing new.
    let again = c.request(&StoreMessage::Batch(batch.clone()));
    assert!(
        matches!(again, CloudMessage::Ack { accepted: 0, duplicates, .. } if duplicates == n),
        "{again:?}"
    );
    // And from a new session (a new leader after a failover): still nothing new,
    // and the welcome carries the marks to resume from.
    drop(c);
    let mut c2 = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let CloudMessage::Welcome { marks, .. } = c2.request(&hello("s1", 1, 0)) else {
        panic!("no welcome")
    };
    assert_eq!(marks.of(TerminalId(1)).bodies, n);
    let again = c2.request(&StoreMessage::Batch(batch));
    assert!(
        matches!(again, CloudMessage::Ack { accepted: 0, .. }),
        "{again:?}"
    );

    // A broken chain is refused with the reason; the session goes on.
    let mut bad = j.batch(8, n, n);
    bad.entries[0].seq = n + 1;
    let refused = c2.request(&StoreMessage::Batch(bad));
    assert!(
        matches!(&refused, CloudMessage::Refused { batch: 8, reason } if !reason.is_empty()),
        "{refused:?}"
    );
    j.sell_coffee(1);
    let more = c2.request(&StoreMessage::Batch(j.batch(9, n + 1, j.head())));
    assert!(
        matches!(more, CloudMessage::Ack { batch: 9, accepted, .. } if accepted == j.head() - n),
        "{more:?}"
    );

    let (code, status) = cloud.get("/status.json");
    assert_eq!(code, 200, "{status}");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["stores"][0]["store"], "s1");
    assert_eq!(v["stores"][0]["events"], j.head());
    assert_eq!(v["stores"][0]["leader"], 1);
}

#[test]
fn publications_reach_stores_in_welcome_and_health() {
    let cloud = Cloud::start();
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);
    let token = cloud.token();
    let publish = |body: &str| {
        keel_cloud::http::request(cloud.http, "POST", "/publish", Some(&token), Some(body)).unwrap()
    };
    let (code, answer) = publish(r#"{"item":{"kind":"price","sku":"COF","price_minor":275}}"#);
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("\"seq\":1"), "{answer}");
    // For another store only: s1 does not see it.
    let (code, _) = publish(
        r#"{"stores":["s2"],"item":{"kind":"setting","key":"receipt.footer","value":"Hi"}}"#,
    );
    assert_eq!(code, 200);

    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let CloudMessage::Welcome { publications, .. } = c.request(&hello("s1", 1, 0)) else {
        panic!("no welcome")
    };
    assert_eq!(publications.len(), 1);
    assert_eq!(
        publications[0].item,
        PublishedItem::Price {
            sku: keel_core::ids::Sku("COF".into()),
            price_minor: 275
        }
    );
    let (code, _) = publish(r#"{"item":{"kind":"tax-rate","class":"standard","rate_bp":1100}}"#);
    assert_eq!(code, 200);
    let answer = c.request(&StoreMessage::Health {
        health: StoreHealth::default(),
        downlink: publications[0].seq,
    });
    let CloudMessage::Publications(later) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].item.kind(), "tax-rate");

    // A wrong token or a bad body changes nothing.
    let (code, _) = keel_cloud::http::request(
        cloud.http,
        "POST",
        "/publish",
        Some("wrong"),
        Some(r#"{"item":{"kind":"price","sku":"COF","price_minor":1}}"#),
    )
    .unwrap();
    assert_eq!(code, 401);
    let (code, body) = publish(r#"{"item":{"kind":"price","sku":"COF","price_minor":-5}}"#);
    assert_eq!(code, 400, "{body}");
    let answer = c.request(&StoreMessage::Health {
        health: StoreHealth::default(),
        downlink: later[0].seq,
    });
    assert_eq!(answer, CloudMessage::Publications(vec![]));
}

#[test]
fn certificates_from_outside_the_operator_are_refused_at_the_tls_layer() {
    let cloud = Cloud::start();
    let op_pem = read(&cloud.dir, "operator-ca.pem");

    // A self-signed store CA presented as the intermediate.
    let own = StoreCa::generate(&StoreId("s1".into())).unwrap();
    let mut rogue = own.issue_terminal(TerminalId(1)).unwrap();
    rogue.cert_pem.push_str(&own.cert_pem());
    refused_at_tls(&cloud, &op_pem, &rogue);

    // A store of another operator.
    let other = OperatorCa::generate().unwrap();
    let (_, foreign) = store_terminal(&other, "s1", 1);
    refused_at_tls(&cloud, &op_pem, &foreign);

    // A store CA of ours vouching for another store's terminal.
    let (ca_a, _) = store_terminal(&cloud.operator(), "a", 1);
    let forged = ca_a
        .issue_terminal_in(&StoreId("b".into()), TerminalId(1))
        .unwrap();
    refused_at_tls(&cloud, &op_pem, &forged);

    // The service keeps serving its own stores.
    let (_, good) = store_terminal(&cloud.operator(), "s1", 1);
    let mut c = Client::connect(cloud.quic, &op_pem, &good).unwrap();
    assert!(matches!(
        c.request(&hello("s1", 1, 0)),
        CloudMessage::Welcome { .. }
    ));
}

/// The connection never carries a message: the handshake or the identity check fails.
fn refused_at_tls(cloud: &Cloud, op_pem: &str, id: &keel_cluster::identity::TerminalIdentity) {
    let Ok(mut c) = Client::connect(cloud.quic, op_pem, id) else {
        return;
    };
    // In TLS 1.3 the client may finish before the server refuses its certificate.
    let sent = c.send_raw(&frame(&hello("s1", 1, 0).encode()));
    if sent.is_ok() {
        match c.read() {
            Read::Closed(_) => {}
            Read::Message(m) => panic!("a refused client got an answer: {m:?}"),
        }
    }
}

#[test]
fn a_hello_naming_another_store_is_refused_with_a_reason() {
    let cloud = Cloud::start();
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let answer = c.request(&hello("s2", 1, 0));
    let CloudMessage::Refused { reason, .. } = answer else {
        panic!("{answer:?}")
    };
    assert!(
        reason.contains("store s2") && reason.contains("certificate is store s1"),
        "{reason}"
    );
    assert!(matches!(c.read(), Read::Closed(_)));
    // Another terminal than the certificate's: refused too.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let answer = c.request(&hello("s1", 2, 0));
    assert!(matches!(answer, CloudMessage::Refused { .. }), "{answer:?}");
    // A batch before the hello: refused.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let j = Journal::new("s1", 1);
    let answer = c.request(&StoreMessage::Batch(j.batch(1, 1, 1)));
    assert!(
        matches!(answer, CloudMessage::Refused { batch: 1, .. }),
        "{answer:?}"
    );

    let (_, text) = cloud.get("/status");
    assert!(text.contains("s1"), "{text}");
    assert!(text.contains("s1: batch 1 before hello"), "{text}");
    let (_, v) = cloud.get("/status.json");
    let v: serde_json::Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v["stores"][0]["errors"], 3, "{v}");
    assert_eq!(v["stores"][0]["events"], 0);
}

#[test]
fn garbage_is_refused_the_connection_closed_and_the_service_keeps_serving() {
    let cloud = Cloud::start();
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);
    let garbage: Vec<Vec<u8>> = vec![
        frame(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        frame(&[9, 1, 2, 3]),
        vec![0xff, 0xff, 0xff, 0xff],
        vec![0, 0, 0, 0],
    ];
    for bytes in garbage {
        let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
        c.send_raw(&bytes).unwrap();
        match c.read() {
            Read::Message(CloudMessage::Refused { batch: 0, reason }) => {
                assert!(!reason.is_empty())
            }
            other => panic!("{bytes:?}: {other:?}"),
        }
        assert!(matches!(c.read(), Read::Closed(_)));
        assert!(c.closed().is_some(), "the connection is closed");
    }
    // A truncated frame: the stream ends inside the body.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    c.send_raw(&[0, 0, 0, 100, 1, 2]).unwrap();
    c.conn.close(0u32.into(), b"gone");
    drop(c);

    // Still serving; nothing was stored.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let CloudMessage::Welcome { marks, .. } = c.request(&hello("s1", 1, 0)) else {
        panic!("no welcome")
    };
    assert!(marks.origins.is_empty());
    let (code, health) = cloud.get("/health");
    assert_eq!(code, 200, "{health}");
    let v: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["database"]["kind"], "embedded");
    assert_eq!(v["database"]["connected"], true);
    assert!(v["errors"].as_u64().unwrap() >= 4, "{v}");
    assert!(v["disk"]["free_pct"].as_u64().is_some(), "{v}");
    assert!(v["uptime_s"].as_u64().is_some(), "{v}");
    let (code, status) = cloud.get("/status");
    assert_eq!(code, 200);
    assert!(status.starts_with("STORE"), "{status}");
}
