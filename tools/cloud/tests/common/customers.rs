//! The conformance suite's part on customers' personal data: key merges per
//! store (idempotent, erasure wins, also over keys uploaded later), the
//! customers projection keeping the newest sealed record, and erasure leaving
//! the journal whole while the data becomes unreadable. Sealed records come
//! from keel-core's engine in real chained journals.

use super::journal::{item, test_key, Pay, TestTerminal, DAY, T0};
use super::Fresh;
use keel_cloud::store::CustomerView;
use keel_core::chain::decode_record;
use keel_core::customer::Customer;
use keel_core::event::EventBody;
use keel_core::ids::StoreId;
use keel_core::pii::{CustomerKey, KeyEntry, KeyRing};
use std::collections::BTreeMap;

/// Cloud clock of the tests.
const NOW: u64 = T0 + 10 * DAY;

fn sid(s: &str) -> StoreId {
    StoreId(s.into())
}

fn ring(entries: &[(&str, &[&CustomerKey])]) -> KeyRing {
    let mut r = KeyRing::new();
    for (id, keys) in entries {
        for k in *keys {
            r.add(id, (*k).clone());
        }
    }
    r
}

fn erased(at_ms: u64) -> KeyEntry {
    KeyEntry::Erased { at_ms }
}

fn keys_of(r: &KeyRing, id: &str) -> usize {
    match r.entry(id) {
        Some(KeyEntry::Keys(k)) => k.len(),
        other => panic!("{id}: expected keys, got {other:?}"),
    }
}

fn readable(name: &str, phone: Option<&str>, id: &str) -> Option<CustomerView> {
    Some(CustomerView::Readable(
        Customer::new(id, name, phone).unwrap(),
    ))
}

pub fn customer_keys_merge_per_store_idempotently_and_erasure_wins(fresh: Fresh) {
    let setup = fresh(2);
    let (a, b) = (&*setup.stores[0], &*setup.stores[1]);
    let (s1, s2, s3) = (sid("s1"), sid("s2"), sid("s3"));
    let k1 = test_key("s1", 1, "C-1");
    let k1b = test_key("s1", 2, "C-1");
    let k2 = test_key("s1", 1, "C-2");
    let j1 = test_key("s2", 1, "C-1");

    // Each store's keys stay its own; the answer is the merged entries asked for.
    let from_s1 = ring(&[("C-1", &[&k1]), ("C-2", &[&k2])]);
    assert_eq!(a.merge_keys(&s1, &from_s1, NOW).unwrap(), from_s1);
    let from_s2 = ring(&[("C-1", &[&j1])]);
    assert_eq!(b.merge_keys(&s2, &from_s2, NOW).unwrap(), from_s2);
    // Idempotent, through either node.
    assert_eq!(b.merge_keys(&s1, &from_s1, NOW + 1).unwrap(), from_s1);
    assert!(a.merge_keys(&s1, &KeyRing::new(), NOW).unwrap().is_empty());
    // Another terminal's key for the same customer: both kept; only asked ids answered.
    let more = a.merge_keys(&s1, &ring(&[("C-1", &[&k1b])]), NOW).unwrap();
    assert_eq!((more.len(), keys_of(&more, "C-1")), (1, 2));
    let back = b.merge_keys(&s2, &ring(&[("C-1", &[&j1])]), NOW).unwrap();
    assert_eq!(keys_of(&back, "C-1"), 1, "s2 never sees s1's keys");

    // Erased in s1 only: s1's keys are gone and a key sent again comes back
    // as the erasure; s2 keeps its keys.
    assert_eq!(
        a.erase_customer(std::slice::from_ref(&s1), "C-1", NOW + 10)
            .unwrap(),
        1
    );
    assert_eq!(
        a.erase_customer(std::slice::from_ref(&s1), "C-1", NOW + 11)
            .unwrap(),
        0
    );
    let again = b
        .merge_keys(&s1, &ring(&[("C-1", &[&k1])]), NOW + 20)
        .unwrap();
    assert_eq!(again.entry("C-1"), Some(&erased(NOW + 10)));
    let s2_keys = a
        .merge_keys(&s2, &ring(&[("C-1", &[&j1])]), NOW + 20)
        .unwrap();
    assert_eq!(keys_of(&s2_keys, "C-1"), 1);

    // Erased everywhere: stores holding keys lose them, and a store that
    // uploads a key for that id later (s2 never had C-2, s3 is new) meets the
    // erasure. The earliest request time stays.
    assert_eq!(b.erase_customer(&[], "C-2", NOW + 30).unwrap(), 1);
    for st in [&s1, &s2, &s3] {
        let late = a
            .merge_keys(st, &ring(&[("C-2", &[&k2])]), NOW + 40)
            .unwrap();
        assert_eq!(late.entry("C-2"), Some(&erased(NOW + 30)), "{st}");
    }
    assert_eq!(a.erase_customer(&[], "C-2", NOW + 50).unwrap(), 0);
    let r = b
        .merge_keys(&s3, &ring(&[("C-2", &[&k2])]), NOW + 60)
        .unwrap();
    assert_eq!(r.entry("C-2"), Some(&erased(NOW + 30)));

    // A store's own erasure (applied from the publication) reaches the cloud too.
    let mut gone = KeyRing::new();
    gone.erase("C-1", NOW + 70);
    let r = a.merge_keys(&s2, &gone, NOW + 70).unwrap();
    assert_eq!(r.entry("C-1"), Some(&erased(NOW + 70)));
    let r = b
        .merge_keys(&s2, &ring(&[("C-1", &[&j1])]), NOW + 80)
        .unwrap();
    assert_eq!(r.entry("C-1"), Some(&erased(NOW + 70)));
}

pub fn customers_projection_keeps_the_newest(fresh: Fresh) {
    let setup = fresh(2);
    let (a, b) = (&*setup.stores[0], &*setup.stores[1]);
    let items = [item("A", 1_00, "standard")];
    // Per store: terminal 1 registers C-1 and later renames them; terminal 2
    // registered C-1 earlier (its clock behind) under its own key.
    let journals = |store: &str| {
        // Each terminal's own key table (registered offline), then their union.
        let (mut keys_1, mut keys_2) = (KeyRing::new(), KeyRing::new());
        let mut t2 = TestTerminal::new(store, 2, &items);
        t2.register_customer("C-1", "Old Name", None, &mut keys_2);
        let mut t1 = TestTerminal::new(store, 1, &items);
        t1.now += 60_000;
        t1.register_customer("C-1", "Ani", Some("+62811"), &mut keys_1);
        t1.sell(&[("A", 1)], Pay::Cash);
        t1.now += 60_000;
        t1.register_customer("C-1", "Ani Wijaya", Some("+62811"), &mut keys_1);
        t1.register_customer("C-2", "Budi", None, &mut keys_1);
        keys_1.merge(&keys_2);
        (t1, t2, keys_1)
    };
    let (s1, s2) = (sid("s1"), sid("s2"));
    let (t1, t2, keys1) = journals("s1");
    let (u1, u2, keys2) = journals("s2");
    assert_eq!(keys_of(&keys1, "C-1"), 2, "two terminals, two keys");

    // s1: the newest first, then the older one; s2 the other way round, and
    // terminal 1 of s2 in two batches.
    a.ingest(&s1, &t1.all(1), NOW).unwrap();
    b.ingest(&s1, &t2.all(2), NOW).unwrap();
    b.ingest(&s2, &u2.all(1), NOW).unwrap();
    let cut = u1.head() - 1;
    a.ingest(&s2, &u1.batch(2, 1..=cut), NOW).unwrap();
    a.ingest(&s2, &u1.batch(3, cut + 1..=u1.head()), NOW)
        .unwrap();
    // The same again changes nothing.
    b.ingest(&s1, &t1.all(4), NOW).unwrap();

    // Keys not there yet: sealed data, no key. Unknown: nothing.
    assert_eq!(
        a.customer(&s1, "C-1").unwrap(),
        Some(CustomerView::KeyMissing)
    );
    assert_eq!(a.customer(&s1, "C-9").unwrap(), None);
    assert_eq!(b.customer(&sid("s9"), "C-1").unwrap(), None);
    // Only terminal 2's key: the newest record was sealed under terminal 1's.
    let only_t2 = ring(&[("C-1", &[&test_key("s1", 2, "C-1")])]);
    a.merge_keys(&s1, &only_t2, NOW).unwrap();
    assert_eq!(
        b.customer(&s1, "C-1").unwrap(),
        Some(CustomerView::KeyMissing)
    );

    a.merge_keys(&s1, &keys1, NOW).unwrap();
    b.merge_keys(&s2, &keys2, NOW).unwrap();
    for (db, st) in [(a, &s1), (b, &s1), (a, &s2), (b, &s2)] {
        assert_eq!(
            db.customer(st, "C-1").unwrap(),
            readable("Ani Wijaya", Some("+62811"), "C-1"),
            "{st}"
        );
        assert_eq!(
            db.customer(st, "C-2").unwrap(),
            readable("Budi", None, "C-2")
        );
    }
    // The sales beside them are counted once.
    let report = a.sales_report(None, None).unwrap();
    let sales: BTreeMap<String, i64> = report
        .rows
        .iter()
        .map(|r| (r.store.0.clone(), r.totals.sales))
        .collect();
    assert_eq!(sales, BTreeMap::from([("s1".into(), 1), ("s2".into(), 1)]));
}

pub fn erased_customer_is_unreadable_and_the_journal_keeps_its_record(fresh: Fresh) {
    let setup = fresh(1);
    let db = &*setup.stores[0];
    let st = sid("s1");
    let mut keys = KeyRing::new();
    let mut t = TestTerminal::new("s1", 1, &[item("A", 1_00, "standard")]);
    let seq = t.register_customer("C-7", "Budi Santoso", Some("+628111222"), &mut keys);
    t.sell(&[("A", 1)], Pay::Cash);
    db.ingest(&st, &t.all(1), NOW).unwrap();
    db.merge_keys(&st, &keys, NOW).unwrap();
    assert_eq!(
        db.customer(&st, "C-7").unwrap(),
        readable("Budi Santoso", Some("+628111222"), "C-7")
    );

    assert_eq!(db.erase_customer(&[], "C-7", NOW + 5).unwrap(), 1);
    assert_eq!(
        db.customer(&st, "C-7").unwrap(),
        Some(CustomerView::Erased { at_ms: NOW + 5 })
    );
    // The journal keeps the record exactly as written: its sealed bytes, no
    // clear name or phone anywhere in it.
    let stored = db
        .event_record(&st, t.id(), seq)
        .unwrap()
        .expect("record held");
    assert_eq!(stored, t.record(seq));
    for clear in [&b"Budi"[..], b"Santoso", b"628111222"] {
        assert!(!stored.windows(clear.len()).any(|w| w == clear));
    }
    let EventBody::CustomerSealed(sealed) = decode_record(&stored).unwrap().body else {
        panic!("record {seq} is not a sealed customer")
    };
    assert_eq!(sealed.id, "C-7");
    // The chain goes on: later records link to it and are accepted.
    let before = t.head();
    t.sell(&[("A", 2)], Pay::Card);
    let o = db
        .ingest(&st, &t.batch(2, before + 1..=t.head()), NOW + 6)
        .unwrap();
    assert_eq!(o.accepted, t.head() - before);
    assert_eq!(db.event_count(Some(&st)).unwrap(), t.head());
    // The old key sent again, or a record sealed under it again: still erased.
    let back = db.merge_keys(&st, &keys, NOW + 7).unwrap();
    assert_eq!(back.entry("C-7"), Some(&erased(NOW + 5)));
    assert!(matches!(
        db.customer(&st, "C-7").unwrap(),
        Some(CustomerView::Erased { .. })
    ));
    assert_eq!(db.event_record(&st, t.id(), 999).unwrap(), None);
}
