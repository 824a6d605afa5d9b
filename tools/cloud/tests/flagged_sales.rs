//! Sales a terminal flagged for risk review (`SaleFlagged`, decided by the
//! keel-core engine under a Review/High assessment) reach the cloud with the
//! sales: both storage backends (PostgreSQL started on loopback, and the
//! embedded redb file) keep one row per flag whatever the batch repeats,
//! count them per store in the status view, and list them, through the HTTP
//! routes (`/flagged`, `/flagged.json`, `/status`) and the command line's
//! parse.
#![allow(clippy::inconsistent_digit_grouping)]

mod common;

use common::journal::{item, Pay, TestTerminal, T0};
use keel_cloud::store::{CloudStore, EmbeddedStore, PgStore, EMBEDDED_FILE};
use keel_core::engine::{AddRequest, CardTender, Engine};
use keel_core::event::EventBody;
use keel_core::ids::StoreId;
use keel_core::risk::{RiskAssessment, RiskLevel};
use keel_testkit::postgres::PostgresHarness;
use std::sync::Arc;

fn assessment(level: RiskLevel, score: u16, reasons: &[&str]) -> RiskAssessment {
    RiskAssessment {
        score_permille: score,
        level,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        source: "model loss-prevention 1.0.0".into(),
    }
}

/// Sells one `A` paid by an offline card under `risk` (a manager approves at
/// High) through the real engine; returns the events journaled.
fn sell_under(t: &mut TestTerminal, risk: RiskAssessment) -> Vec<EventBody> {
    let c = t.profile.users[0].clone();
    let m = t.profile.users[1].clone();
    let mut journaled = Vec::new();
    let mut run = |t: &mut TestTerminal, events: Vec<EventBody>| {
        for e in events {
            journaled.push(e.clone());
            t.push(e);
        }
    };
    let ev = Engine::new(&t.profile, &t.state)
        .new_sale(Some(&c))
        .unwrap();
    run(t, ev);
    let ev = Engine::new(&t.profile, &t.state)
        .add_item(
            Some(&c),
            AddRequest {
                key: "A",
                qty: None,
                now_ms: 0,
            },
        )
        .unwrap();
    run(t, ev);
    let due = Engine::new(&t.profile, &t.state)
        .priced()
        .unwrap()
        .remaining
        .amount_text();
    let approver = (risk.level == RiskLevel::High).then_some(&m);
    let ev = Engine::new(&t.profile, &t.state)
        .tender_card_assessed(
            Some(&c),
            &CardTender {
                amount: &due,
                token: "tok-risk",
                last4: "4242",
                brand: None,
            },
            Some(risk),
            approver,
        )
        .unwrap();
    run(t, ev);
    let (ev, _) = Engine::new(&t.profile, &t.state)
        .complete(Some(&c))
        .unwrap();
    run(t, ev);
    journaled
}

/// Two stores: s1's terminal 1 sells under Low, Review and High (two flags),
/// s2's terminal 1 under Review (one flag); plain sales around them.
fn flagged_suite(db: &dyn CloudStore) {
    let s1 = StoreId("s1".into());
    let s2 = StoreId("s2".into());
    let mut t = TestTerminal::new("s1", 1, &[item("A", 10_00, "standard")]);
    t.sell(&[("A", 1)], Pay::Cash);
    let low = sell_under(&mut t, assessment(RiskLevel::Low, 100, &[]));
    assert!(!low
        .iter()
        .any(|e| matches!(e, EventBody::SaleFlagged { .. })));
    let review = sell_under(
        &mut t,
        assessment(RiskLevel::Review, 620, &["SWEETHEARTING"]),
    );
    assert!(review
        .iter()
        .any(|e| matches!(e, EventBody::SaleFlagged { .. })));
    let first_half = t.head();
    sell_under(
        &mut t,
        assessment(RiskLevel::High, 910, &["REFUND_FRAUD", "DRAWER_SKIMMING"]),
    );
    t.sell(&[("A", 2)], Pay::Card);

    // Half the journal, then all of it twice: each flag is stored once.
    let a = db.ingest(&s1, &t.batch(1, 1..=first_half), T0).unwrap();
    assert_eq!(a.accepted, first_half);
    assert_eq!(db.flagged_sales(Some(&s1)).unwrap().len(), 1);
    let b = db.ingest(&s1, &t.all(2), T0 + 1).unwrap();
    assert_eq!(
        (b.accepted, b.duplicates),
        (t.head() - first_half, first_half)
    );
    let again = db.ingest(&s1, &t.all(3), T0 + 2).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, t.head()));

    let mut u = TestTerminal::new("s2", 1, &[item("A", 10_00, "standard")]);
    sell_under(
        &mut u,
        assessment(RiskLevel::Review, 550, &["SWEETHEARTING"]),
    );
    db.ingest(&s2, &u.all(1), T0 + 3).unwrap();
    db.ingest(&s2, &u.all(2), T0 + 4).unwrap();

    let f1 = db.flagged_sales(Some(&s1)).unwrap();
    assert_eq!(f1.len(), 2, "{f1:#?}");
    assert_eq!(f1[0].receipt_no, 3);
    assert_eq!(f1[0].cashier, "cashier");
    assert_eq!(f1[0].score_permille, 620);
    assert_eq!(f1[0].level, "review");
    assert_eq!(f1[0].reasons, vec!["SWEETHEARTING".to_string()]);
    assert_eq!(f1[0].approved_by, None);
    assert_eq!(f1[0].terminal.0, 1);
    assert_eq!(f1[1].receipt_no, 4);
    assert_eq!(f1[1].level, "high");
    assert_eq!(
        f1[1].reasons,
        vec!["REFUND_FRAUD".to_string(), "DRAWER_SKIMMING".to_string()]
    );
    assert_eq!(f1[1].approved_by.as_deref(), Some("manager"));
    assert_eq!(f1[1].source, "model loss-prevention 1.0.0");
    assert!(f1[0].at_ms < f1[1].at_ms);
    // The flag's record is the one stored for the terminal at that seq.
    assert!(db
        .event_record(&s1, f1[0].terminal, f1[0].seq)
        .unwrap()
        .is_some());
    let all = db.flagged_sales(None).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
    assert_eq!(
        db.flagged_sales(Some(&StoreId("s9".into()))).unwrap(),
        vec![]
    );

    let status = db.status().unwrap();
    let count = |s: &str| status.iter().find(|r| r.store.0 == s).map(|r| r.flagged);
    assert_eq!(count("s1"), Some(2));
    assert_eq!(count("s2"), Some(1));
}

#[test]
fn embedded_store_keeps_flagged_sales_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(EMBEDDED_FILE);
    {
        let db = EmbeddedStore::open(&path).unwrap();
        flagged_suite(&db);
    }
    // Reopened: the flags are still there.
    let db = EmbeddedStore::open(&path).unwrap();
    assert_eq!(db.flagged_sales(None).unwrap().len(), 3);
}

#[test]
fn postgres_store_keeps_flagged_sales_once() {
    let pg = PostgresHarness::start().unwrap_or_else(|e| panic!("{e}"));
    pg.create_database("flagged").unwrap();
    let url = pg.url_for("flagged");
    let db = PgStore::connect(&url).unwrap();
    flagged_suite(&db);
    // A second ingest node on the same database sees the same rows.
    let other = PgStore::connect(&url).unwrap();
    assert_eq!(
        other.flagged_sales(None).unwrap(),
        db.flagged_sales(None).unwrap()
    );
}

fn get(service: &keel_cloud::Service, target: &str) -> (u16, String) {
    let req = keel_cloud::http::parse_head(&format!("GET {target} HTTP/1.1")).unwrap();
    let r = keel_cloud::http::route(service, &req);
    (r.status, String::from_utf8_lossy(&r.body).into_owned())
}

#[test]
fn status_and_the_flagged_list_over_http_and_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn CloudStore> =
        Arc::new(EmbeddedStore::open(&dir.path().join(EMBEDDED_FILE)).unwrap());
    let mut t = TestTerminal::new("s1", 2, &[item("A", 10_00, "standard")]);
    sell_under(
        &mut t,
        assessment(RiskLevel::Review, 620, &["SWEETHEARTING"]),
    );
    store.ingest(&StoreId("s1".into()), &t.all(1), T0).unwrap();
    let service = keel_cloud::Service {
        store,
        admin_token: "t".into(),
        dir: dir.path().to_path_buf(),
        started: std::time::Instant::now(),
    };
    let (code, text) = get(&service, "/status");
    assert_eq!(code, 200);
    assert!(text.contains("FLAGGED FOR REVIEW"), "{text}");
    let (_, json) = get(&service, "/status.json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["stores"][0]["flagged_for_review"], 1, "{v}");
    let (code, text) = get(&service, "/flagged?store=s1");
    assert_eq!(code, 200);
    for want in [
        "RECEIPT",
        "s1",
        "cashier",
        "0.620",
        "SWEETHEARTING",
        "1 sale(s) flagged",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let (_, json) = get(&service, "/flagged.json?store=s1");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["flagged"][0]["receipt_no"], 1, "{v}");
    assert_eq!(v["flagged"][0]["terminal"], 2, "{v}");
    assert_eq!(v["flagged"][0]["score_permille"], 620, "{v}");
    let (_, text) = get(&service, "/flagged?store=s2");
    assert_eq!(text, "no sales flagged for review\n");
    let (code, _) = get(&service, "/flagged?store=bad%20id");
    assert_eq!(code, 400);

    let args: Vec<String> = ["flagged", "--dir", "/tmp/x", "--store", "s1", "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match keel_cloud::cli::parse(&args).unwrap() {
        keel_cloud::cli::Command::Admin { action, .. } => assert_eq!(
            action,
            keel_cloud::admin::Action::Flagged {
                store: Some("s1".into()),
                json: true
            }
        ),
        other => panic!("{other:?}"),
    }
}
