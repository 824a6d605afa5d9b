//! The `keel-cloud` command line against the real service: init never
//! overwrites, admin commands fail clearly when the service is not running or
//! the input is bad, publish reaches a store's later session, and the report,
//! CSV, orders, status and stock show an ingested sale.

#[path = "server_support.rs"]
mod support;

use keel_uplink::wire::{CloudMessage, PublishedItem, StoreMessage};
use support::{hello, read, run, store_terminal, Client, Cloud, Journal};

#[test]
fn init_refuses_an_existing_directory_and_bad_input() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("c");
    let d = dir.to_str().unwrap();
    let (ok, out, err) = run(&["init", "--dir", d]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("keel-cloud serve --dir"), "{out}");
    let token_before = std::fs::read_to_string(dir.join("admin-token")).unwrap();
    let (ok, _, err) = run(&["init", "--dir", d]);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("admin-token")).unwrap(),
        token_before
    );

    // Bad command lines exit 2 with the usage.
    let out = std::process::Command::new(support::bin())
        .args(["init", "--dir", d, "--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    let out = std::process::Command::new(support::bin())
        .args(["publish", "--dir", d, "price", "COF", "2.505"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // The service is not running: a clear error, exit 1.
    let (ok, _, err) = run(&["status", "--dir", d]);
    assert!(!ok);
    assert!(err.contains("is `keel-cloud serve` running?"), "{err}");
    let (ok, _, err) = run(&["serve", "--dir", root.path().join("none").to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("keel-cloud init"), "{err}");
}

#[test]
fn publish_status_report_and_orders_through_the_command_line() {
    let cloud = Cloud::start();
    let op_pem = read(&cloud.dir, "operator-ca.pem");
    let (_, t1) = store_terminal(&cloud.operator(), "s1", 1);

    // A store uploads two sales.
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    assert!(matches!(
        c.request(&hello("s1", 1, 0)),
        CloudMessage::Welcome { .. }
    ));
    let mut j = Journal::new("s1", 1);
    j.sell_coffee(2);
    j.sell_coffee(1);
    let ack = c.request(&StoreMessage::Batch(j.batch(1, 1, j.head())));
    assert!(matches!(ack, CloudMessage::Ack { .. }), "{ack:?}");
    drop(c);

    // The operator publishes; the next session of the store receives it.
    let (ok, out, err) = cloud.admin(&["publish", "price", "COF", "2.75"]);
    assert!(ok, "{out}{err}");
    assert_eq!(out, "published #1 (price) to every store\n");
    let (ok, out, err) = cloud.admin(&[
        "publish",
        "item",
        "TEA",
        "Green tea",
        "3",
        "--category",
        "drinks",
        "--store",
        "s1",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("#2 (item) to s1"), "{out}");
    let (ok, out, err) = cloud.admin(&["erase-customer", "c-42"]);
    assert!(ok, "{out}{err}");
    let mut c = Client::connect(cloud.quic, &op_pem, &t1).unwrap();
    let CloudMessage::Welcome { publications, .. } = c.request(&hello("s1", 1, 0)) else {
        panic!("no welcome")
    };
    assert_eq!(publications.len(), 3);
    assert_eq!(
        publications[0].item,
        PublishedItem::Price {
            sku: keel_core::ids::Sku("COF".into()),
            price_minor: 275
        }
    );
    let PublishedItem::Item(tea) = &publications[1].item else {
        panic!("{:?}", publications[1])
    };
    assert_eq!((tea.price.minor, tea.category.as_str()), (300, "drinks"));
    assert_eq!(publications[2].item.kind(), "erase-customer");

    // Reports.
    let day = keel_uplink::project::day_of(support::now_ms() - 60_000);
    let (ok, csv, err) = cloud.admin(&["report", "--csv"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("store,day,currency,sales,gross,tax,"),
        "{csv}"
    );
    assert!(lines[0].contains("tender:cash"), "{csv}");
    assert!(
        lines[1].starts_with(&format!("s1,{day},EUR,2,7.50,")),
        "{csv}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("ALL,ALL,EUR,2,7.50,")),
        "{csv}"
    );
    let (ok, text, _) = cloud.admin(&["report", "--from", &day, "--to", &day]);
    assert!(ok);
    assert!(
        text.contains("By tender") && text.contains("7.50"),
        "{text}"
    );
    let (ok, text, _) = cloud.admin(&["report", "--from", "2000-01-01", "--to", "2000-01-02"]);
    assert!(ok);
    assert!(text.contains("no sales"), "{text}");
    let (ok, _, err) = cloud.admin(&["report", "--from", "2000-02-01", "--to", "2000-01-01"]);
    assert!(!ok);
    assert!(err.contains("400"), "{err}");

    let (ok, orders, _) = cloud.admin(&["orders"]);
    assert!(ok);
    assert!(
        orders.contains("ORD-1-001") && orders.contains("ORD-1-002"),
        "{orders}"
    );
    let (ok, status, _) = cloud.admin(&["status"]);
    assert!(ok);
    assert!(status.contains("s1"), "{status}");
    let (ok, json, _) = cloud.admin(&["status", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["stores"][0]["store"], "s1");
    let (ok, stock, _) = cloud.admin(&["stock", "--store", "s1"]);
    assert!(ok);
    assert!(stock.contains("COF"), "{stock}");
    let (ok, health, _) = cloud.admin(&["health"]);
    assert!(ok);
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let (ok, flags, _) = cloud.admin(&["flags"]);
    assert!(ok, "{flags}");

    // Bad input to a running service: refused with the reason, nothing published.
    let (ok, _, err) = cloud.admin(&["publish", "--store", "Bad Store", "setting", "a", "b"]);
    assert!(!ok);
    assert!(err.contains("invalid store id"), "{err}");
    let (code, body) = cloud.get("/nowhere");
    assert_eq!(code, 404, "{body}");
    let (code, _) =
        keel_cloud::http::request(cloud.http, "POST", "/status", None, Some("")).unwrap();
    assert_eq!(code, 405);
    let (code, _) = cloud.get("/stock");
    assert_eq!(code, 400);
    let (code, _) = keel_cloud::http::request(
        cloud.http,
        "POST",
        "/publish",
        Some(&cloud.token()),
        Some("{not json"),
    )
    .unwrap();
    assert_eq!(code, 400);
    // Garbage on the HTTP port: a 400, and the service still answers.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(cloud.http).unwrap();
    s.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let (code, _) = cloud.get("/health");
    assert_eq!(code, 200);
    let CloudMessage::Publications(p) = c.request(&StoreMessage::Health {
        health: Default::default(),
        downlink: 3,
    }) else {
        panic!("no publications")
    };
    assert!(p.is_empty());
}
