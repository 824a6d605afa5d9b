//! Appending, reading, idempotency, atomicity of a batch, reopen, rebuild.
mod common;

use common::*;
use keel_core::derived::{DerivedTable, DerivedWrite};
use keel_core::event::EventBody;
use keel_core::ids::{CommandId, Dot, TerminalId};
use keel_store::{Batch, CommitError, Journal};

#[test]
fn new_journal_has_record_one_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let j = open(&dir.path().join("j.redb"));
    assert_eq!(j.last_seq(), 1);
    let first = j.read(1).unwrap().unwrap();
    assert!(matches!(first.event.body, EventBody::JournalOpened { .. }));
    assert_eq!(first.event.prev, j.genesis());
    assert_eq!(first.hash, j.head());
    assert_eq!(j.last_hlc(), hlc(1_000));
    assert_eq!(j.verify().unwrap().records, 1);
}

#[test]
fn append_read_range_tail_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    let mut fold = ToyFold::default();
    let mut j = open(&path);
    assert_eq!(
        j.next_dots(2),
        vec![
            Dot {
                terminal: TerminalId(1),
                seq: 2
            },
            Dot {
                terminal: TerminalId(1),
                seq: 3
            }
        ]
    );
    for r in 1..=10u64 {
        let batch = sale_batch(&j, &mut fold, r, 2_000 + r);
        let c = j.commit(batch).unwrap();
        assert_eq!(c.events.len(), 1);
        assert_eq!(c.events[0].event.dot.seq, r + 1);
        assert_eq!(c.events[0].hash, j.head());
    }
    assert_eq!(j.last_seq(), 11);
    let r5 = j.read(6).unwrap().unwrap();
    match &r5.event.body {
        EventBody::SaleCompleted(s) => assert_eq!(s.receipt_no.0, 5),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(r5.event.prev, j.read(5).unwrap().unwrap().hash);
    assert!(j.read(12).unwrap().is_none());
    let range = j.range(3, 5).unwrap();
    assert_eq!(
        range.iter().map(|e| e.event.dot.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    let tail = j.tail(3).unwrap();
    assert_eq!(
        tail.iter().map(|e| e.event.dot.seq).collect::<Vec<_>>(),
        vec![9, 10, 11]
    );
    assert_eq!(j.tail(100).unwrap().len(), 11);
    let head = j.head();
    drop(j);
    let j = open(&path);
    assert_eq!(j.last_seq(), 11);
    assert_eq!(j.head(), head);
    assert_eq!(j.last_hlc(), hlc(2_010));
    assert_eq!(j.verify().unwrap().records, 11);
    assert_eq!(
        j.derived_get(DerivedTable::Counters, "sales").unwrap(),
        Some(10u64.to_le_bytes().to_vec())
    );
}

#[test]
fn multi_event_batch_links_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let batch = Batch {
        events: vec![
            (hlc(2_000), EventBody::SaleCompleted(sale(1, 2))),
            (
                hlc(2_000),
                EventBody::StockAdjusted {
                    sku: keel_core::ids::Sku("A".into()),
                    delta: -1,
                    reason: "shrink".into(),
                },
            ),
            (hlc(2_001), EventBody::SaleCompleted(sale(2, 1))),
        ],
        derived: vec![],
        idempotency: None,
    };
    let c = j.commit(batch).unwrap();
    assert_eq!(
        c.events.iter().map(|e| e.event.dot.seq).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(c.events[1].event.prev, c.events[0].hash);
    assert_eq!(c.events[2].event.prev, c.events[1].hash);
    assert_eq!(j.verify().unwrap().records, 4);
}

#[test]
fn idempotency_round_trip_and_duplicate_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let id = CommandId([7; 16]);
    assert_eq!(j.idempotent_reply(&id).unwrap(), None);
    let batch = Batch {
        events: vec![(hlc(2_000), EventBody::SaleCompleted(sale(1, 5)))],
        derived: vec![],
        idempotency: Some((id, b"receipt 1".to_vec())),
    };
    j.commit(batch).unwrap();
    assert_eq!(
        j.idempotent_reply(&id).unwrap(),
        Some(b"receipt 1".to_vec())
    );

    // The same command again, with events and derived writes: refused mid-transaction, nothing written.
    let (seq, head, hlc_before) = (j.last_seq(), j.head(), j.last_hlc());
    let again = Batch {
        events: vec![
            (hlc(3_000), EventBody::SaleCompleted(sale(2, 5))),
            (hlc(3_000), EventBody::SaleCompleted(sale(3, 5))),
        ],
        derived: vec![DerivedWrite {
            table: DerivedTable::Receipts,
            key: "2".into(),
            value: Some(vec![1]),
        }],
        idempotency: Some((id, b"receipt 2".to_vec())),
    };
    match j.commit(again) {
        Err(CommitError::DuplicateCommand { id: got }) => assert_eq!(got, id),
        other => panic!("expected DuplicateCommand, got {other:?}"),
    }
    assert_eq!(
        (j.last_seq(), j.head(), j.last_hlc()),
        (seq, head, hlc_before)
    );
    assert!(j.read(seq + 1).unwrap().is_none());
    assert_eq!(j.derived_get(DerivedTable::Receipts, "2").unwrap(), None);
    assert_eq!(
        j.idempotent_reply(&id).unwrap(),
        Some(b"receipt 1".to_vec())
    );
    assert_eq!(j.verify().unwrap().records, seq);
    // And the journal still takes the next sale.
    let ok = Batch {
        events: vec![(hlc(3_000), EventBody::SaleCompleted(sale(2, 5)))],
        derived: vec![],
        idempotency: Some((CommandId([8; 16]), vec![])),
    };
    assert_eq!(j.commit(ok).unwrap().events[0].event.dot.seq, seq + 1);
}

#[test]
fn invalid_batches_are_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let backwards = Batch {
        events: vec![
            (hlc(2_000), EventBody::SaleCompleted(sale(1, 1))),
            (hlc(1_500), EventBody::SaleCompleted(sale(2, 1))),
        ],
        ..Batch::default()
    };
    assert!(matches!(
        j.commit(backwards),
        Err(CommitError::HlcBackwards { index: 1, .. })
    ));
    let opened = Batch {
        events: vec![(
            hlc(2_000),
            EventBody::JournalOpened {
                store: identity().store,
                terminal: TerminalId(1),
                currency: identity().currency,
                firmware: "x".into(),
            },
        )],
        ..Batch::default()
    };
    assert!(matches!(
        j.commit(opened),
        Err(CommitError::JournalOpenedNotAllowed { index: 0 })
    ));
    assert_eq!(j.last_seq(), 1);
    assert_eq!(j.verify().unwrap().records, 1);
}

#[test]
fn derived_writes_put_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let put = |k: &str, v: &[u8]| DerivedWrite {
        table: DerivedTable::Cart,
        key: k.into(),
        value: Some(v.to_vec()),
    };
    j.commit(Batch {
        derived: vec![put("open", b"1"), put("x", b"2"), put("open", b"3")],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(
        j.derived_get(DerivedTable::Cart, "open").unwrap(),
        Some(b"3".to_vec())
    );
    j.commit(Batch {
        derived: vec![DerivedWrite {
            table: DerivedTable::Cart,
            key: "open".into(),
            value: None,
        }],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(
        j.derived_scan(DerivedTable::Cart).unwrap(),
        vec![("x".to_string(), b"2".to_vec())]
    );
    assert_eq!(j.last_seq(), 1, "derived-only batches append no record");
}

#[test]
fn rebuild_derived_reproduces_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let mut fold = ToyFold::default();
    for r in 1..=20u64 {
        let batch = sale_batch(&j, &mut fold, r, 2_000 + r);
        j.commit(batch).unwrap();
    }
    let snapshot = |j: &Journal| {
        DerivedTable::ALL
            .iter()
            .map(|t| j.derived_scan(*t).unwrap())
            .collect::<Vec<_>>()
    };
    let before = snapshot(&j);
    assert!(!before[DerivedTable::ALL
        .iter()
        .position(|t| *t == DerivedTable::Stock)
        .unwrap()]
    .is_empty());
    // Damage derived state (a stray key and a wrong value).
    j.commit(Batch {
        derived: vec![
            DerivedWrite {
                table: DerivedTable::Stock,
                key: "SKU-000".into(),
                value: Some(vec![9, 9]),
            },
            DerivedWrite {
                table: DerivedTable::Kitchen,
                key: "stray".into(),
                value: Some(vec![1]),
            },
        ],
        ..Batch::default()
    })
    .unwrap();
    assert_ne!(snapshot(&j), before);
    let mut fresh = ToyFold::default();
    let replayed = j.rebuild_derived(&mut |e| fresh.apply(e)).unwrap();
    assert_eq!(replayed, 21);
    assert_eq!(snapshot(&j), before);
    // Rebuilding clears derived state only: the head and the idempotent replies
    // share the same physical table and must survive it.
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&20u64.to_be_bytes());
    assert_eq!(
        j.idempotent_reply(&CommandId(id)).unwrap(),
        Some(b"receipt 20".to_vec())
    );
    let head = j.head();
    drop(j);
    let j = open(&dir.path().join("j.redb"));
    assert_eq!((j.last_seq(), j.head()), (21, head));
    assert_eq!(j.verify().unwrap().records, 21);
}

#[test]
fn derived_tables_do_not_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    // The same key in every table, plus an idempotent reply, all in one physical table.
    let writes = DerivedTable::ALL
        .iter()
        .map(|t| DerivedWrite {
            table: *t,
            key: "k".into(),
            value: Some(t.name().as_bytes().to_vec()),
        })
        .collect();
    j.commit(Batch {
        derived: writes,
        idempotency: Some((CommandId([0xff; 16]), b"r".to_vec())),
        ..Batch::default()
    })
    .unwrap();
    for t in DerivedTable::ALL {
        assert_eq!(
            j.derived_scan(t).unwrap(),
            vec![("k".to_string(), t.name().as_bytes().to_vec())],
            "{t:?}"
        );
        assert_eq!(j.derived_scan_prefix(t, "").unwrap().len(), 1);
    }
    assert_eq!(
        j.idempotent_reply(&CommandId([0xff; 16])).unwrap(),
        Some(b"r".to_vec())
    );
}

#[test]
fn derived_scan_prefix_stops_at_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = open(&dir.path().join("j.redb"));
    let put = |k: &str| DerivedWrite {
        table: DerivedTable::Kitchen,
        key: k.into(),
        value: Some(k.as_bytes().to_vec()),
    };
    j.commit(Batch {
        derived: vec![put("a/1"), put("b/1"), put("b/2"), put("c/1")],
        ..Batch::default()
    })
    .unwrap();
    let keys: Vec<String> = j
        .derived_scan_prefix(DerivedTable::Kitchen, "b/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["b/1", "b/2"]);
    assert!(j
        .derived_scan_prefix(DerivedTable::Kitchen, "z")
        .unwrap()
        .is_empty());
}
