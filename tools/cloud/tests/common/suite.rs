//! The conformance suite: what every `CloudStore` must answer, given real
//! journals. Each function takes a [`Fresh`] maker and runs on empty storage.

use super::journal::{item, Pay, TestTerminal, DAY, T0};
use super::Fresh;
use keel_cloud::store::{CloudStore, StoreError};
use keel_core::catalog::CatalogItem;
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_core::sale::Sale;
use keel_uplink::ingest::BatchRefusal;
use keel_uplink::wire::{Batch, BatchEntry, EntryBody, PublishedItem, StoreHealth};
use keel_uplink::OriginMark;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// Cloud clock of the tests.
const NOW: u64 = T0 + 10 * DAY;

fn sid(s: &str) -> StoreId {
    StoreId(s.into())
}

fn items() -> Vec<CatalogItem> {
    vec![
        item("A", 2_50, "reduced"),
        item("B", 9_99, "standard"),
        item("C", 1_00, "standard"),
    ]
}

fn mark(bodies: u64, chain: u64) -> OriginMark {
    OriginMark { bodies, chain }
}

fn refused(r: Result<keel_cloud::store::IngestOutcome, StoreError>) -> BatchRefusal {
    match r {
        Err(StoreError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub fn same_batch_twice_is_stored_once(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut t = TestTerminal::new("s1", 1, &items());
    t.sell(&[("A", 2)], Pay::Cash);
    t.sell(&[("B", 1), ("C", 3)], Pay::Card);
    let n = t.head();
    let batch = t.all(1);

    let first = db.ingest(&st, &batch, NOW).unwrap();
    assert_eq!((first.accepted, first.duplicates), (n, 0));
    assert_eq!(first.marks.of(t.id()), mark(n, n));
    assert_eq!(db.marks(&st).unwrap(), first.marks);
    let report = db.sales_report(None, None).unwrap();
    let orders = db.orders(None, 100).unwrap();
    let stock = db.stock(&st).unwrap();
    let flags = db.flags(None).unwrap();
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].totals.sales, 2);
    assert_eq!(orders.len(), 2);

    let again = db.ingest(&st, &batch, NOW + 1).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, n));
    assert_eq!(again.marks, first.marks);
    assert_eq!(db.event_count(Some(&st)).unwrap(), n);
    assert_eq!(db.event_count(None).unwrap(), n);
    assert_eq!(db.sales_report(None, None).unwrap(), report);
    assert_eq!(db.orders(None, 100).unwrap(), orders);
    assert_eq!(db.stock(&st).unwrap(), stock);
    // Stock the cloud never saw received goes negative: flagged once, not twice.
    assert_eq!(db.flags(None).unwrap(), flags);
    assert_eq!(flags.len(), 3, "{flags:#?}");
    assert!(flags.iter().all(|f| f.flag.kind == "negative-stock"));
    // The outcome names the flags the batch raised (the service logs them): the
    // first upload raised them, the second nothing.
    let key = |f: &keel_uplink::project::ReviewFlag| (f.terminal, f.seq, f.sku.clone());
    let mut raised: Vec<_> = flags.iter().map(|f| f.flag.clone()).collect();
    raised.sort_by_key(key);
    let mut outcome = first.flags.clone();
    outcome.sort_by_key(key);
    assert_eq!(outcome, raised);
    assert!(again.flags.is_empty(), "{:?}", again.flags);

    // The journal grows; the whole of it is sent again: only the new records count.
    t.sell(&[("C", 1)], Pay::Cash);
    let grown = db.ingest(&st, &t.all(2), NOW + 2).unwrap();
    assert_eq!((grown.accepted, grown.duplicates), (t.head() - n, n));
    assert_eq!(grown.marks.of(t.id()), mark(t.head(), t.head()));
    assert_eq!(db.orders(None, 100).unwrap().len(), 3);
    assert_eq!(db.sales_report(None, None).unwrap().rows[0].totals.sales, 3);
}

pub fn stubs_then_fills_advance_bodies(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut t = TestTerminal::new("s1", 1, &items());
    for _ in 0..3 {
        t.sell(&[("A", 1)], Pay::Cash);
    }
    let n = t.head();
    assert!(n > 12, "journal long enough: {n}");
    // 1..=4 in full, 5..=8 as stubs, the rest in full.
    let mut entries: Vec<BatchEntry> = (1..=4).map(|s| t.full(s)).collect();
    entries.extend((5..=8).map(|s| t.stub(s)));
    entries.extend((9..=n).map(|s| t.full(s)));
    let o = db.ingest(&st, &Batch { id: 1, entries }, NOW).unwrap();
    assert_eq!(o.accepted, n - 4);
    assert_eq!(o.marks.of(t.id()), mark(4, n));
    assert_eq!(db.event_count(Some(&st)).unwrap(), n - 4);

    // A body that is not the one the stub stood for is refused.
    let mut other = TestTerminal::new("s1", 1, &[item("Z", 1, "standard")]);
    while other.head() < 5 {
        other.adjust("Z", 1);
    }
    let wrong = Batch {
        id: 2,
        entries: vec![other.full(5)],
    };
    assert!(matches!(
        refused(db.ingest(&st, &wrong, NOW)),
        BatchRefusal::StubMismatch { seq: 5, .. }
    ));

    // Fill 5 and 6: bodies moves to 6.
    let o = db.ingest(&st, &t.batch(3, 5..=6), NOW).unwrap();
    assert_eq!((o.accepted, o.duplicates), (2, 0));
    assert_eq!(o.marks.of(t.id()), mark(6, n));
    // A stub again for 5 (duplicate), 7 and 8 in full, 9 again (duplicate).
    let entries = vec![t.stub(5), t.full(7), t.full(8), t.full(9)];
    let o = db.ingest(&st, &Batch { id: 4, entries }, NOW).unwrap();
    assert_eq!((o.accepted, o.duplicates), (2, 2));
    assert_eq!(o.marks.of(t.id()), mark(n, n));
    assert_eq!(db.event_count(Some(&st)).unwrap(), n);
    let report = db.sales_report(None, None).unwrap();
    assert_eq!(report.rows[0].totals.sales, 3);
    assert_eq!(db.orders(Some(&st), 10).unwrap().len(), 3);
}

pub fn refused_batches_store_nothing_and_are_counted(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut t = TestTerminal::new("s1", 1, &items());
    t.sell(&[("A", 1)], Pay::Cash);
    let other_store = TestTerminal::new("other", 1, &items());
    let fork = TestTerminal::new("s1", 1, &[item("A", 3_00, "reduced")]);
    let raw = |seq: u64, bytes: Vec<u8>| BatchEntry {
        origin: TerminalId(1),
        seq,
        body: EntryBody::Full(bytes),
    };
    type Case = (Batch, fn(&BatchRefusal) -> bool, &'static str);
    let cases: Vec<Case> = vec![
        (
            Batch {
                id: 1,
                entries: vec![t.full(2)],
            },
            |r| {
                matches!(
                    r,
                    BatchRefusal::Gap {
                        seq: 2,
                        chain: 0,
                        ..
                    }
                )
            },
            "gap",
        ),
        (
            Batch {
                id: 2,
                entries: vec![t.full(1), t.full(2), raw(3, vec![1, 0xff, 0xff, 0xff])],
            },
            |r| matches!(r, BatchRefusal::Malformed { seq: 3, .. }),
            "malformed",
        ),
        (
            Batch {
                id: 3,
                entries: vec![t.full(1), raw(2, t.record(3))],
            },
            |r| matches!(r, BatchRefusal::WrongDot { seq: 2, .. }),
            "the record inside is",
        ),
        (
            other_store.all(4),
            |r| matches!(r, BatchRefusal::OtherStore { seq: 1, .. }),
            "belongs to store other",
        ),
        (
            Batch {
                id: 5,
                entries: vec![t.full(1), t.full(2), fork.full(3)],
            },
            |r| matches!(r, BatchRefusal::BrokenChain { seq: 3, .. }),
            "broken hash chain",
        ),
        (
            Batch {
                id: 6,
                entries: vec![BatchEntry {
                    origin: TerminalId(0),
                    seq: 1,
                    body: EntryBody::Full(t.record(1)),
                }],
            },
            |r| matches!(r, BatchRefusal::UnknownTerminal(0)),
            "not a terminal of this store",
        ),
        (
            Batch {
                id: 7,
                entries: vec![],
            },
            |r| matches!(r, BatchRefusal::Empty),
            "empty batch",
        ),
    ];
    for (i, (batch, expected, words)) in cases.iter().enumerate() {
        let reason = refused(db.ingest(&st, batch, NOW + i as u64));
        assert!(expected(&reason), "case {i}: {reason:?}");
        assert_eq!(db.event_count(None).unwrap(), 0, "case {i} stored records");
        assert!(
            db.marks(&st).unwrap().origins.is_empty(),
            "case {i} moved marks"
        );
        let status = db.status().unwrap();
        assert_eq!(status.len(), 1);
        assert_eq!(status[0].errors, i as u64 + 1);
        assert_eq!(status[0].failed_syncs, i as u32 + 1);
        assert_eq!(status[0].last_sync_ms, None);
        assert_eq!(status[0].last_seen_ms, Some(NOW + i as u64));
        let last = status[0].last_error.clone().unwrap_or_default();
        assert!(last.contains(words), "case {i}: {last}");
    }
    assert!(db.sales_report(None, None).unwrap().rows.is_empty());
    assert!(db.orders(None, 10).unwrap().is_empty());
    assert!(db.stock(&st).unwrap().is_empty());

    // A good batch: stored, failed syncs reset, errors kept.
    let o = db.ingest(&st, &t.all(8), NOW + 100).unwrap();
    assert_eq!(o.accepted, t.head());
    let status = db.status().unwrap();
    assert_eq!(status[0].failed_syncs, 0);
    assert_eq!(status[0].errors, cases.len() as u64);
    assert_eq!(status[0].last_sync_ms, Some(NOW + 100));
    // After it, a forked journal's next record is refused against the stored chain.
    let mut fork = fork;
    while fork.head() <= t.head() {
        fork.adjust("A", 1);
    }
    let late = Batch {
        id: 9,
        entries: vec![fork.full(t.head() + 1)],
    };
    assert!(matches!(
        refused(db.ingest(&st, &late, NOW + 101)),
        BatchRefusal::BrokenChain { .. }
    ));
    assert_eq!(db.event_count(None).unwrap(), t.head());
}

/// Expected report figures of a set of sales.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    sales: i64,
    gross: i64,
    tax: i64,
    tenders: BTreeMap<String, i64>,
    taxes: BTreeMap<(String, u32), (i64, i64)>,
}

fn expected(sales: &[&Sale]) -> Expected {
    let mut e = Expected::default();
    for s in sales {
        e.sales += 1;
        e.gross += s.amount_due().minor;
        e.tax += s.tax_total.minor;
        let mut change = s.change.minor;
        for t in &s.tenders {
            let mut amount = t.amount().minor;
            if t.kind() == "cash" {
                let c = change.min(amount);
                amount -= c;
                change -= c;
            }
            *e.tenders.entry(t.kind().to_string()).or_default() += amount;
        }
        for x in &s.taxes {
            let v = e.taxes.entry((x.class.clone(), x.rate_bp)).or_default();
            v.0 += x.net.minor;
            v.1 += x.tax.minor;
        }
    }
    e
}

pub fn sales_per_day_by_tender_and_tax_with_voids_and_refunds(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut t = TestTerminal::new("s1", 1, &items());
    for sku in ["A", "B", "C"] {
        t.adjust(sku, 10);
    }
    let s1 = t.sell(&[("A", 2), ("B", 1)], Pay::Cash);
    let s2 = t.sell(&[("B", 2), ("C", 1)], Pay::Card);
    let s3 = t.sell(&[("C", 4)], Pay::CashOver(5_00));
    t.void(s1.receipt_no.0);
    let refund = t.refund(s2.receipt_no.0, 1, "1");
    // The next day.
    t.now += DAY;
    let s4 = t.sell(&[("A", 1)], Pay::Card);
    // Ingest in two batches.
    let mid = t.head() / 2;
    db.ingest(&st, &t.batch(1, 1..=mid), NOW).unwrap();
    db.ingest(&st, &t.batch(2, mid + 1..=t.head()), NOW)
        .unwrap();

    let report = db.sales_report(None, None).unwrap();
    assert_eq!(report.rows.len(), 2, "{report:#?}");
    let (d1, d2) = (&report.rows[0], &report.rows[1]);
    assert_eq!(
        (d1.day.as_str(), d2.day.as_str()),
        ("2023-11-14", "2023-11-15")
    );
    assert_eq!(d1.store, st);
    assert_eq!(d1.currency, "EUR");
    for (row, sales) in [(d1, vec![&s1, &s2, &s3]), (d2, vec![&s4])] {
        let e = expected(&sales);
        assert_eq!(row.totals.sales, e.sales);
        assert_eq!(row.totals.gross_minor, e.gross);
        assert_eq!(row.totals.tax_minor, e.tax);
        assert_eq!(
            row.tenders,
            e.tenders.into_iter().collect::<Vec<_>>(),
            "tenders of {}",
            row.day
        );
        assert_eq!(
            row.taxes,
            e.taxes
                .into_iter()
                .map(|((c, r), (n, x))| (c, r, n, x))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(
        (d1.totals.voids, d1.totals.voided_minor),
        (1, s1.amount_due().minor)
    );
    assert_eq!(
        (d1.totals.refunds, d1.totals.refunded_minor),
        (1, refund.total.minor)
    );
    assert_eq!((d2.totals.voids, d2.totals.refunds), (0, 0));

    // Day bounds, inclusive; a bad bound is an error.
    let only2 = db.sales_report(Some("2023-11-15"), None).unwrap();
    assert_eq!(only2.rows.len(), 1);
    assert_eq!(only2.rows[0].day, "2023-11-15");
    let only1 = db
        .sales_report(Some("2023-11-14"), Some("2023-11-14"))
        .unwrap();
    assert_eq!(only1.rows.len(), 1);
    assert!(db
        .sales_report(Some("2023-11-16"), None)
        .unwrap()
        .rows
        .is_empty());
    assert!(matches!(
        db.sales_report(Some("14.11.2023"), None),
        Err(StoreError::Invalid(_))
    ));

    // Stock: +10 each, sales out, the void's restock and the refund back in.
    let stock: BTreeMap<Sku, i64> = db.stock(&st).unwrap().into_iter().collect();
    let sku = |s: &str| Sku(s.into());
    assert_eq!(stock[&sku("A")], 10 - 2 + 2 - 1);
    assert_eq!(stock[&sku("B")], 10 - 1 - 2 + 1 + 1);
    assert_eq!(stock[&sku("C")], 10 - 1 - 4);
    assert_eq!(
        db.stock(&st)
            .unwrap()
            .iter()
            .map(|(s, _)| s.0.as_str())
            .collect::<Vec<_>>(),
        ["A", "B", "C"]
    );

    // Orders, newest first, with their totals.
    let orders = db.orders(Some(&st), 10).unwrap();
    let receipts: Vec<&str> = orders.iter().map(|o| o.display_no.as_str()).collect();
    assert_eq!(
        receipts,
        ["ORD-1-004", "ORD-1-003", "ORD-1-002", "ORD-1-001"]
    );
    assert_eq!(orders[0].order.total_minor, s4.amount_due().minor);
    assert_eq!(db.orders(None, 2).unwrap().len(), 2);
}

pub fn negative_stock_is_flagged_once(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut t = TestTerminal::new("s1", 1, &items());
    let mut sent = 0;
    let mut send = |t: &TestTerminal| {
        db.ingest(&st, &t.batch(1, sent + 1..=t.head()), NOW)
            .unwrap();
        sent = t.head();
    };
    t.adjust("A", 1);
    send(&t);
    t.sell(&[("A", 2)], Pay::Cash);
    let sale_seq = t.head() - 1;
    send(&t);
    let negative = |db: &dyn CloudStore| {
        db.flags(Some(&sid("s1")))
            .unwrap()
            .into_iter()
            .filter(|f| f.flag.kind == "negative-stock")
            .collect::<Vec<_>>()
    };
    let flags = negative(db);
    assert_eq!(flags.len(), 1, "{flags:#?}");
    assert_eq!(flags[0].flag.sku, Some(Sku("A".into())));
    assert_eq!(flags[0].store, st);
    assert_eq!(flags[0].flag.terminal, TerminalId(1));
    assert_eq!(flags[0].flag.seq, sale_seq, "the flag names the sale");
    // Selling more of it while negative adds no flag.
    t.sell(&[("A", 1)], Pay::Cash);
    send(&t);
    assert_eq!(negative(db).len(), 1);
    assert_eq!(db.stock(&st).unwrap(), vec![(Sku("A".into()), -2)]);
    // Back above zero, then negative again: a new flag.
    t.adjust("A", 5);
    send(&t);
    t.sell(&[("A", 4)], Pay::Cash);
    send(&t);
    assert_eq!(negative(db).len(), 2);
    assert!(db
        .flags(None)
        .unwrap()
        .iter()
        .all(|f| f.flag.kind == "negative-stock"));
}

pub fn sale_below_the_central_price_is_flagged(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut t = TestTerminal::new("s1", 1, &items());
    let published = T0 + 60_000;
    assert_eq!(
        db.publish(
            &[],
            &PublishedItem::Price {
                sku: Sku("A".into()),
                price_minor: 2_70,
            },
            published,
        )
        .unwrap(),
        1
    );
    // A price for another store only does not concern s1.
    db.publish(
        &[sid("elsewhere")],
        &PublishedItem::Price {
            sku: Sku("B".into()),
            price_minor: 1,
        },
        published,
    )
    .unwrap();
    // Before the publication: the old price is right.
    t.sell(&[("A", 1), ("B", 1)], Pay::Cash);
    // Offline after it, still at the old price: flagged.
    t.now = published + 1_000;
    t.sell(&[("A", 1), ("C", 1)], Pay::Cash);
    let flagged_seq = t.head() - 1;
    // The new price reaches the terminal: later sales are at it.
    t.set_price("A", 2_70);
    t.sell(&[("A", 1)], Pay::Cash);
    db.ingest(&st, &t.all(1), NOW).unwrap();

    let flags: Vec<_> = db
        .flags(Some(&st))
        .unwrap()
        .into_iter()
        .filter(|f| f.flag.kind == "price-override")
        .collect();
    assert_eq!(flags.len(), 1, "{flags:#?}");
    let f = &flags[0].flag;
    assert_eq!(f.sku, Some(Sku("A".into())));
    assert_eq!((f.terminal, f.seq), (TerminalId(1), flagged_seq));
    assert!(f.detail.contains("270"), "{}", f.detail);
    let orders = db.orders(Some(&st), 10).unwrap();
    let overridden: Vec<(&str, bool)> = orders
        .iter()
        .map(|o| (o.order.order_no.as_str(), o.order.price_override))
        .collect();
    assert_eq!(
        overridden,
        [
            ("ORD-1-003", false),
            ("ORD-1-002", true),
            ("ORD-1-001", false)
        ]
    );
    // The price paid stands in the report.
    assert_eq!(db.sales_report(None, None).unwrap().rows[0].totals.sales, 3);
}

pub fn same_order_number_in_two_stores_is_renamed(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let mut a = TestTerminal::new("s1", 1, &items());
    let mut b = TestTerminal::new("s2", 1, &items());
    let mut c = TestTerminal::new("s3", 1, &items());
    a.sell(&[("A", 1)], Pay::Cash);
    b.sell(&[("B", 1)], Pay::Cash);
    b.sell(&[("C", 1)], Pay::Cash);
    c.sell(&[("C", 1)], Pay::Cash);
    db.ingest(&sid("s1"), &a.all(1), NOW).unwrap();
    db.ingest(&sid("s2"), &b.all(1), NOW).unwrap();
    db.ingest(&sid("s2"), &b.all(2), NOW).unwrap();
    let third = db.ingest(&sid("s3"), &c.all(1), NOW).unwrap();
    let raised: Vec<(&str, &str)> = third
        .flags
        .iter()
        .map(|f| (f.kind.as_str(), f.detail.as_str()))
        .filter(|(k, _)| *k == "order-number")
        .collect();
    assert_eq!(raised.len(), 1, "{:?}", third.flags);
    assert!(raised[0].1.contains("ORD-1-001-C"), "{raised:?}");

    let names = |s: &str| {
        db.orders(Some(&sid(s)), 10)
            .unwrap()
            .into_iter()
            .map(|o| (o.order.order_no, o.display_no))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("s1"),
        [("ORD-1-001".to_string(), "ORD-1-001".to_string())]
    );
    assert_eq!(
        names("s2"),
        [
            ("ORD-1-002".to_string(), "ORD-1-002".to_string()),
            ("ORD-1-001".to_string(), "ORD-1-001-B".to_string())
        ]
    );
    assert_eq!(
        names("s3"),
        [("ORD-1-001".to_string(), "ORD-1-001-C".to_string())]
    );
    let all: BTreeSet<String> = db
        .orders(None, 100)
        .unwrap()
        .into_iter()
        .map(|o| o.display_no)
        .collect();
    assert_eq!(all.len(), 4, "display numbers are unique");
    let flags = db.flags(None).unwrap();
    let conflicts: Vec<(&str, &str)> = flags
        .iter()
        .filter(|f| f.flag.kind == "order-number")
        .map(|f| (f.store.0.as_str(), f.flag.detail.as_str()))
        .collect();
    assert_eq!(conflicts.len(), 2, "{flags:#?}");
    assert_eq!(conflicts[0].0, "s2");
    assert!(conflicts[0].1.contains("ORD-1-001-B"));
    assert_eq!(conflicts[1].0, "s3");
    assert!(db
        .flags(Some(&sid("s1")))
        .unwrap()
        .iter()
        .all(|f| f.flag.kind != "order-number"));
    // The report has a row per store and, in the CSV, totals across them.
    let report = db.sales_report(None, None).unwrap();
    let per_store: Vec<(&str, i64)> = report
        .rows
        .iter()
        .map(|r| (r.store.0.as_str(), r.totals.sales))
        .collect();
    assert_eq!(per_store, [("s1", 1), ("s2", 2), ("s3", 1)]);
    let gross: i64 = report.rows.iter().map(|r| r.totals.gross_minor).sum();
    let csv = keel_cloud::report::report_csv(&report);
    let all = csv
        .lines()
        .find(|l| l.starts_with("ALL,ALL,"))
        .unwrap_or_else(|| panic!("{csv}"));
    let expected = format!(
        "ALL,ALL,{},4,{},",
        report.rows[0].currency,
        keel_cloud::report::amount(gross, &report.rows[0].currency)
    );
    assert!(all.starts_with(&expected), "{all} / {expected}");
}

pub fn publications_per_store(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let items = items();
    let p1 = db
        .publish(&[], &PublishedItem::Item(items[0].clone()), T0 + 1)
        .unwrap();
    let p2 = db
        .publish(
            &[sid("s1")],
            &PublishedItem::Price {
                sku: Sku("B".into()),
                price_minor: 8_99,
            },
            T0 + 2,
        )
        .unwrap();
    let p3 = db
        .publish(
            &[sid("s2"), sid("s3")],
            &PublishedItem::Setting {
                key: "receipt.footer".into(),
                value: "Danke".into(),
            },
            T0 + 3,
        )
        .unwrap();
    assert_eq!((p1, p2, p3), (1, 2, 3));
    let seqs = |s: &str, after: u64, limit: usize| {
        db.publications_after(&sid(s), after, limit)
            .unwrap()
            .into_iter()
            .map(|p| p.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs("s1", 0, 10), [1, 2]);
    assert_eq!(seqs("s2", 0, 10), [1, 3]);
    assert_eq!(seqs("s3", 1, 10), [3]);
    assert_eq!(seqs("s4", 0, 10), [1]);
    assert_eq!(seqs("s1", 1, 10), [2]);
    assert_eq!(seqs("s1", 0, 1), [1]);
    assert!(seqs("s1", 3, 10).is_empty());
    let p = db.publications_after(&sid("s2"), 1, 10).unwrap();
    assert_eq!(p[0].published_ms, T0 + 3);
    assert_eq!(p[0].stores, [sid("s2"), sid("s3")]);
    assert_eq!(
        p[0].item,
        PublishedItem::Setting {
            key: "receipt.footer".into(),
            value: "Danke".into(),
        }
    );
    let first = db.publications_after(&sid("s9"), 0, 10).unwrap();
    assert_eq!(first[0].item, PublishedItem::Item(items[0].clone()));
    assert!(first[0].stores.is_empty());
}

pub fn status_follows_health_ingest_and_refusals(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    assert!(db.status().unwrap().is_empty());
    assert!(db.health().connected, "{:?}", db.health());
    let health = StoreHealth {
        pending: 7,
        failed_syncs: 2,
        last_error: Some("cloud unreachable".into()),
        disk_free_pct: 42,
        terminals_up: 2,
        terminals: 2,
        now_ms: T0,
    };
    db.record_health(&st, TerminalId(2), &health, NOW).unwrap();
    let s = &db.status().unwrap()[0];
    assert_eq!(s.store, st);
    assert_eq!(s.leader, Some(TerminalId(2)));
    assert_eq!((s.last_sync_ms, s.last_seen_ms), (Some(NOW), Some(NOW)));
    assert_eq!((s.pending, s.failed_syncs, s.errors), (7, 2, 0));
    assert_eq!(s.disk_free_pct, Some(42));
    assert_eq!(s.last_error.as_deref(), Some("cloud unreachable"));
    assert_eq!(s.events, 0);

    let t = TestTerminal::new("s1", 1, &items());
    let n = t.head();
    db.ingest(&st, &t.all(1), NOW + 5).unwrap();
    let s = &db.status().unwrap()[0];
    assert_eq!(s.events, n);
    assert_eq!(s.pending, 7u64.saturating_sub(n));
    assert_eq!(s.last_sync_ms, Some(NOW + 5));

    db.record_refusal(&st, "bad hello: certificate names s9", NOW + 6)
        .unwrap();
    let s = &db.status().unwrap()[0];
    assert_eq!((s.errors, s.failed_syncs), (1, 3));
    assert_eq!(
        s.last_error.as_deref(),
        Some("bad hello: certificate names s9")
    );
    assert_eq!(
        (s.last_sync_ms, s.last_seen_ms),
        (Some(NOW + 5), Some(NOW + 6))
    );

    // Another store appears; the list is in store order.
    db.record_health(&sid("a-store"), TerminalId(1), &StoreHealth::default(), NOW)
        .unwrap();
    let names: Vec<String> = db
        .status()
        .unwrap()
        .into_iter()
        .map(|s| s.store.0)
        .collect();
    assert_eq!(names, ["a-store", "s1"]);
    assert_eq!(db.event_count(None).unwrap(), n);
    assert_eq!(db.event_count(Some(&sid("a-store"))).unwrap(), 0);
}

pub fn overlapping_batches_from_two_nodes_are_stored_once(fresh: Fresh) {
    let setup = fresh(2);
    let st = sid("s1");
    let mut terminals = vec![
        TestTerminal::new("s1", 1, &items()),
        TestTerminal::new("s1", 2, &items()),
    ];
    for (i, t) in terminals.iter_mut().enumerate() {
        t.adjust("A", 1_000);
        for k in 0..25 {
            let sku = ["A", "B", "C"][(k + i) % 3];
            t.sell(&[(sku, 1), ("A", 1)], Pay::Cash);
        }
    }
    let total: u64 = terminals.iter().map(|t| t.head()).sum();
    let sales: usize = terminals.iter().map(|t| t.sales.len()).sum();
    // Every batch is a prefix of both journals (always valid, overlapping).
    let batch = |cut: u64, id: u64| Batch {
        id,
        entries: terminals
            .iter()
            .flat_map(|t| t.entries(1..=cut.min(t.head())))
            .collect(),
    };
    let head = terminals.iter().map(|t| t.head()).max().unwrap_or(0);
    let cuts: Vec<u64> = (1..=8).map(|i| head * i / 8).collect();
    let accepted = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (w, db) in setup.stores.iter().chain(setup.stores.iter()).enumerate() {
            let (batch, cuts, accepted, st) = (&batch, &cuts, &accepted, &st);
            scope.spawn(move || {
                // Workers take the cuts in different orders.
                let mut order: Vec<u64> = cuts.clone();
                if w % 2 == 1 {
                    order.reverse();
                }
                for (i, cut) in order.into_iter().enumerate() {
                    let o = db.ingest(st, &batch(cut, i as u64), NOW).unwrap();
                    accepted.fetch_add(o.accepted, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(accepted.load(Ordering::SeqCst), total);
    for db in &setup.stores {
        assert_eq!(db.event_count(Some(&st)).unwrap(), total);
        let marks = db.marks(&st).unwrap();
        for t in &terminals {
            assert_eq!(marks.of(t.id()), mark(t.head(), t.head()));
        }
        let orders = db.orders(None, 1_000).unwrap();
        assert_eq!(orders.len(), sales);
        let report = db.sales_report(None, None).unwrap();
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.rows[0].totals.sales, sales as i64);
        let all: Vec<&Sale> = terminals.iter().flat_map(|t| t.sales.values()).collect();
        assert_eq!(report.rows[0].totals.gross_minor, expected(&all).gross);
        let stock: BTreeMap<Sku, i64> = db.stock(&st).unwrap().into_iter().collect();
        let sold_a: i64 = all
            .iter()
            .flat_map(|s| s.lines.iter())
            .filter(|l| l.sku.0 == "A")
            .map(|l| l.qty)
            .sum();
        assert_eq!(stock[&Sku("A".into())], 2_000 - sold_a);
    }
}
