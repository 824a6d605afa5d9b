//! Customers' personal data through the real `keel-cloud serve` (on a real
//! PostgreSQL started on loopback, and on the embedded store) and real QUIC
//! clients: `Keys` before `Hello` is refused; after it, keys are merged and
//! answered; a sealed customer uploaded in a batch shows up readable once its
//! key arrived; `keel-cloud erase-customer` shreds the cloud's keys and
//! publishes the erasure (a store offline at the time hears of it later, and its
//! key for that id comes back as the erasure); the sealed record stays in the
//! events table, with no clear name anywhere; the service logs no personal data.

#[path = "server_support.rs"]
mod support;

use keel_core::pii::{CustomerKey, KeyEntry, KeyRing};
use keel_testkit::postgres::PostgresHarness;
use keel_uplink::wire::{
    CloudMessage, PublishedItem, StoreHealth, StoreMessage, MAX_KEYS_PER_MESSAGE,
};
use support::{hello, read, store_terminal, Client, Cloud, Journal, Read};

const ID: &str = "C-1001";
const NAME: &str = "Ani Wijaya";
const PHONE: &str = "+628123456789";

fn keys_message(ring: &KeyRing) -> StoreMessage {
    StoreMessage::Keys { ring: ring.clone() }
}

fn health(downlink: u64) -> StoreMessage {
    StoreMessage::Health {
        health: StoreHealth::default(),
        downlink,
    }
}

/// The whole story on one running cloud; `pg` checks the events table itself.
fn customers_through_the_service(cloud: &Cloud, pg: Option<(&PostgresHarness, &str)>) {
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);
    let mut keys = KeyRing::new();
    let mut j = Journal::new("s1", 1);
    j.register_customer(ID, NAME, Some(PHONE), &mut keys);
    j.sell_coffee(1);

    // Keys before Hello: refused, the connection closed, nothing merged.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let answer = c.request(&keys_message(&keys));
    assert!(
        matches!(&answer, CloudMessage::Refused { reason, .. } if reason.contains("before hello")),
        "{answer:?}"
    );
    assert!(matches!(c.read(), Read::Closed(_)));
    let (ok, out, _) = cloud.admin(&["customer", "--store", "s1", ID]);
    assert!(!ok && out.is_empty(), "nothing known yet: {out}");

    // A session: the sealed record arrives with the sales, its key after.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    assert!(matches!(
        c.request(&hello("s1", 1, 0)),
        CloudMessage::Welcome { .. }
    ));
    let ack = c.request(&StoreMessage::Batch(j.batch(1, 1, j.head())));
    assert!(matches!(ack, CloudMessage::Ack { accepted, .. } if accepted == j.head()));
    let (ok, out, err) = cloud.admin(&["customer", "--store", "s1", ID]);
    assert!(ok, "{err}");
    assert!(out.contains("key has not reached the cloud"), "{out}");
    assert!(!out.contains(NAME), "{out}");

    let answer = c.request(&keys_message(&keys));
    assert_eq!(answer, CloudMessage::Keys { ring: keys.clone() });
    let again = c.request(&keys_message(&keys));
    assert_eq!(again, answer, "the same keys again: the same answer");
    let (ok, out, err) = cloud.admin(&["customer", "--store", "s1", ID]);
    assert!(ok, "{err}");
    assert!(
        out.contains("readable") && out.contains(&format!("name: {NAME}")) && out.contains(PHONE),
        "{out}"
    );
    // The HTTP view needs the admin token: it shows personal data.
    let target = format!("/customer?store=s1&id={ID}");
    let (code, body) = cloud.get(&target);
    assert_eq!(code, 401, "{body}");
    assert!(!body.contains(NAME));
    let token = cloud.token();
    let (code, body) =
        keel_cloud::http::request(cloud.http, "GET", &target, Some(&token), None).unwrap();
    assert_eq!((code, body.contains(NAME)), (200, true), "{body}");
    let (code, _) = keel_cloud::http::request(
        cloud.http,
        "GET",
        "/customer?store=s1&id=C-9",
        Some(&token),
        None,
    )
    .unwrap();
    assert_eq!(code, 404);

    // A chunk beyond the limit, or a bad id: refused with the reason, the session goes on.
    let mut big = KeyRing::new();
    for i in 0..=MAX_KEYS_PER_MESSAGE {
        big.add(&format!("C-{i}"), CustomerKey([7; 32]));
    }
    let answer = c.request(&keys_message(&big));
    assert!(
        matches!(&answer, CloudMessage::Refused { reason, .. }
            if reason.contains(&format!("at most {MAX_KEYS_PER_MESSAGE}"))),
        "{answer:?}"
    );
    let mut bad = KeyRing::new();
    bad.add("not an id", CustomerKey([7; 32]));
    let answer = c.request(&keys_message(&bad));
    assert!(
        matches!(&answer, CloudMessage::Refused { reason, .. } if reason.contains("customer id")),
        "{answer:?}"
    );
    assert!(matches!(
        c.request(&health(0)),
        CloudMessage::Publications(_)
    ));

    // The operator erases the customer.
    let (ok, out, err) = cloud.admin(&["erase-customer", ID]);
    assert!(ok, "{err}");
    assert!(
        out.contains("keys deleted for 1 store(s)")
            && out.contains("(erase-customer) to every store"),
        "{out}"
    );
    let (ok, out, err) = cloud.admin(&["customer", "--store", "s1", ID]);
    assert!(ok, "{err}");
    assert!(out.contains("erased") && !out.contains(NAME), "{out}");
    // The store's key sent again comes back as the erasure; the store hears of it.
    let CloudMessage::Keys { ring } = c.request(&keys_message(&keys)) else {
        panic!("no keys answer")
    };
    assert!(
        matches!(ring.entry(ID), Some(KeyEntry::Erased { .. })),
        "{ring:?}"
    );
    let CloudMessage::Publications(p) = c.request(&health(0)) else {
        panic!("no publications")
    };
    assert!(
        p.iter().any(|p| p.item
            == PublishedItem::EraseCustomer {
                customer: ID.into()
            }),
        "{p:?}"
    );
    drop(c);

    // A store offline at the time: the erasure reaches it when it reconnects,
    // and a key it holds for that id comes back as the erasure.
    let (_, u1) = store_terminal(&cloud.operator(), "s2", 1);
    let mut c2 = Client::connect(cloud.quic, &op_pem, &u1).unwrap();
    let CloudMessage::Welcome { publications, .. } = c2.request(&hello("s2", 1, 0)) else {
        panic!("no welcome")
    };
    assert!(publications
        .iter()
        .any(|p| p.item.kind() == "erase-customer"));
    let mut s2_keys = KeyRing::new();
    Journal::new("s2", 1).register_customer(ID, "Someone", None, &mut s2_keys);
    let CloudMessage::Keys { ring } = c2.request(&keys_message(&s2_keys)) else {
        panic!("no keys answer")
    };
    assert!(matches!(ring.entry(ID), Some(KeyEntry::Erased { .. })));
    let (ok, out, _) = cloud.admin(&["customer", "--store", "s2", ID]);
    assert!(ok && out.contains("erased"), "{out}");
    drop(c2);

    // The journal keeps its record; no clear name or phone in any stored row;
    // the deleted key's bytes are in no key row.
    if let Some((pg, db)) = pg {
        let q = |sql: &str| pg.psql(db, sql).unwrap();
        assert_eq!(
            q("SELECT count(*) FROM events WHERE store = 's1' AND kind = 'customer-sealed'"),
            "1"
        );
        for table in ["events", "customers"] {
            let col = if table == "events" {
                "record"
            } else {
                "sealed"
            };
            for clear in ["Wijaya", "628123456789"] {
                assert_eq!(
                    q(&format!(
                        "SELECT count(*) FROM {table} WHERE position('{clear}'::bytea in {col}) > 0"
                    )),
                    "0",
                    "{clear} in {table}"
                );
            }
        }
        let Some(KeyEntry::Keys(k)) = keys.entry(ID) else {
            panic!("no key")
        };
        for key in k.values() {
            let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(
                q(&format!(
                    "SELECT count(*) FROM customer_keys WHERE position('\\x{hex}'::bytea in entry) > 0"
                )),
                "0"
            );
        }
        assert_eq!(
            q(&format!(
                "SELECT count(*) FROM customer_ids WHERE customer = '{ID}' AND erased_ms IS NOT NULL"
            )),
            "1"
        );
    }
    let (_, status) = cloud.get("/status");
    assert!(!status.contains(NAME), "{status}");
}

fn assert_no_personal_data_in(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap();
    assert!(
        text.contains("customer erasure: keys deleted in 1 store(s)"),
        "the log was written: {text}"
    );
    for secret in ["Wijaya", "628123456789", "Someone", ID] {
        assert!(!text.contains(secret), "{secret:?} in the service's log");
    }
}

#[test]
fn keys_erasure_and_customer_view_on_postgresql() {
    let pg = PostgresHarness::start().unwrap_or_else(|e| panic!("{e}"));
    pg.create_database("customers").unwrap();
    let url = pg.url_for("customers");
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("cloud.log");
    let cloud = Cloud::start_logged(Some(&url), Some(&log));
    customers_through_the_service(&cloud, Some((&pg, "customers")));
    assert_no_personal_data_in(&log);
}

#[test]
fn keys_erasure_and_customer_view_on_the_embedded_store() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("cloud.log");
    let cloud = Cloud::start_logged(None, Some(&log));
    customers_through_the_service(&cloud, None);
    assert_no_personal_data_in(&log);
}
