//! The embedded (redb) store against the conformance suite, plus what only
//! it has: a file that keeps everything across reopening.

mod common;

use common::journal::{item, Pay, TestTerminal, T0};
use common::Setup;
use keel_cloud::store::{open_store, CloudStore, EmbeddedStore, EMBEDDED_FILE};
use keel_core::ids::StoreId;
use std::sync::Arc;

fn fresh(handles: usize) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn CloudStore> =
        Arc::new(EmbeddedStore::open(&dir.path().join(EMBEDDED_FILE)).expect("opens"));
    Setup {
        stores: (0..handles).map(|_| store.clone()).collect(),
        keep: Box::new(dir),
    }
}

conformance_suite!(fresh);

#[test]
fn reopened_file_keeps_records_marks_and_publications() {
    let dir = tempfile::tempdir().unwrap();
    let st = StoreId("s1".into());
    let mut t = TestTerminal::new("s1", 1, &[item("A", 1_00, "standard")]);
    t.sell(&[("A", 1)], Pay::Cash);
    let marks = {
        let db = open_store(None, dir.path()).unwrap();
        assert_eq!(db.health().kind, "embedded");
        db.publish(
            &[],
            &keel_uplink::PublishedItem::Setting {
                key: "k".into(),
                value: "v".into(),
            },
            T0,
        )
        .unwrap();
        db.ingest(&st, &t.all(1), T0).unwrap().marks
    };
    assert!(dir.path().join(EMBEDDED_FILE).is_file());
    let db = open_store(None, dir.path()).unwrap();
    assert_eq!(db.marks(&st).unwrap(), marks);
    assert_eq!(db.event_count(None).unwrap(), t.head());
    assert_eq!(db.orders(None, 10).unwrap().len(), 1);
    assert_eq!(db.publications_after(&st, 0, 10).unwrap().len(), 1);
    let again = db.ingest(&st, &t.all(2), T0).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, t.head()));
}
