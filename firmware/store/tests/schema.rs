//! Opening: newer schema refused untouched, identity mismatch refused, older
//! (v0 and v1) layouts migrated.
mod common;

use common::*;
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::derived::DerivedTable;
use keel_core::event::{Event, EventBody};
use keel_core::ids::{CommandId, Dot, StoreId, TerminalId};
use keel_store::{Journal, OpenError, SCHEMA_VERSION};
use redb::{Database, ReadableDatabase, TableDefinition, TableHandle};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

#[test]
fn newer_schema_is_refused_and_the_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    drop(open(&path));
    {
        let db = Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(
                "schema_version",
                (SCHEMA_VERSION + 1).to_le_bytes().as_slice(),
            )
            .unwrap();
        txn.commit().unwrap();
    }
    let before = file_hash(&path);
    match Journal::open(&path, &identity(), hlc(5_000)) {
        Err(OpenError::NewerSchema {
            found, supported, ..
        }) => assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION)),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert_eq!(
        file_hash(&path),
        before,
        "a refused journal must not be written"
    );
}

#[test]
fn another_terminal_or_store_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    drop(open(&path));
    let before = file_hash(&path);
    let mut other = identity();
    other.terminal = TerminalId(2);
    let err = Journal::open(&path, &other, hlc(5_000)).unwrap_err();
    assert!(matches!(err, OpenError::IdentityMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("T01") && err.to_string().contains("T02"),
        "{err}"
    );
    let mut other = identity();
    other.store = StoreId("elsewhere".into());
    assert!(matches!(
        Journal::open(&path, &other, hlc(5_000)),
        Err(OpenError::IdentityMismatch { .. })
    ));
    assert_eq!(file_hash(&path), before);
    // A firmware upgrade is not an identity change.
    let mut upgraded = identity();
    upgraded.firmware = "0.2.0".into();
    let j = Journal::open(&path, &upgraded, hlc(5_000)).unwrap();
    assert_eq!(j.identity().firmware, "0.1.0");
}

/// Writes a journal in the pre-versioning (v0) layout, as the prototype did.
fn write_v0(path: &std::path::Path) -> (u64, ChainHash) {
    let id = identity();
    let genesis = genesis_hash(&id.store, id.terminal);
    let first = Event {
        dot: Dot {
            terminal: id.terminal,
            seq: 1,
        },
        hlc: hlc(1_000),
        prev: genesis,
        body: EventBody::JournalOpened {
            store: id.store.clone(),
            terminal: id.terminal,
            currency: id.currency,
            firmware: "0.0.1".into(),
        },
    };
    let b1 = encode_record(&first);
    let second = Event {
        dot: Dot {
            terminal: id.terminal,
            seq: 2,
        },
        hlc: hlc(1_500),
        prev: ChainHash::of(&b1),
        body: EventBody::SaleCompleted(sale(1, 3)),
    };
    let b2 = encode_record(&second);
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        meta.insert("identity", postcard::to_allocvec(&id).unwrap().as_slice())
            .unwrap();
        meta.insert("head_seq", 2u64.to_le_bytes().as_slice())
            .unwrap();
        meta.insert("head_hash", ChainHash::of(&b2).0.as_slice())
            .unwrap();
        let mut events = txn.open_table(EVENTS).unwrap();
        events.insert(1, b1.as_slice()).unwrap();
        events.insert(2, b2.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    (2, ChainHash::of(&b2))
}

#[test]
fn v0_layout_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    let (seq, hash) = write_v0(&path);
    let mut j = Journal::open(&path, &identity(), hlc(5_000)).unwrap();
    assert_eq!(
        (j.last_seq(), j.head(), j.last_hlc()),
        (seq, hash, hlc(1_500))
    );
    assert_eq!(j.verify().unwrap().records, 2);
    let mut fold = ToyFold::default();
    let batch = sale_batch(&j, &mut fold, 2, 6_000);
    j.commit(batch).unwrap();
    assert_eq!(j.verify().unwrap().records, 3);
    assert!(j
        .idempotent_reply(&keel_core::ids::CommandId([0; 16]))
        .unwrap()
        .is_none());
    drop(j);
    let db = redb::ReadOnlyDatabase::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    assert_eq!(
        meta.get("schema_version").unwrap().unwrap().value(),
        SCHEMA_VERSION.to_le_bytes().as_slice()
    );
    assert!(meta.get("head_seq").unwrap().is_none());
    assert!(
        meta.get("head").unwrap().is_none(),
        "the head lives in state since version 2"
    );
    let tables: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    tables.iter().for_each(|t| {
        assert!(
            !t.starts_with("derived_") && t != "idempotency",
            "v1 table {t} left behind"
        )
    });
    assert!(tables.iter().any(|t| t == "state"), "{tables:?}");
}

const V1_IDEMPOTENCY: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("idempotency");

/// Writes a journal in the schema version 1 layout: head in meta, one
/// `derived_<name>` table per derived table, a separate idempotency table.
fn write_v1(path: &std::path::Path) -> (u64, ChainHash) {
    #[derive(serde::Serialize)]
    struct Head {
        seq: u64,
        hash: ChainHash,
        hlc: keel_core::hlc::Hlc,
    }
    let id = identity();
    let genesis = genesis_hash(&id.store, id.terminal);
    let first = Event {
        dot: Dot {
            terminal: id.terminal,
            seq: 1,
        },
        hlc: hlc(1_000),
        prev: genesis,
        body: EventBody::JournalOpened {
            store: id.store.clone(),
            terminal: id.terminal,
            currency: id.currency,
            firmware: "0.1.0".into(),
        },
    };
    let b1 = encode_record(&first);
    let second = Event {
        dot: Dot {
            terminal: id.terminal,
            seq: 2,
        },
        hlc: hlc(1_500),
        prev: ChainHash::of(&b1),
        body: EventBody::SaleCompleted(sale(1, 3)),
    };
    let b2 = encode_record(&second);
    let head = Head {
        seq: 2,
        hash: ChainHash::of(&b2),
        hlc: hlc(1_500),
    };
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        meta.insert("schema_version", 1u32.to_le_bytes().as_slice())
            .unwrap();
        meta.insert("identity", postcard::to_allocvec(&id).unwrap().as_slice())
            .unwrap();
        meta.insert("head", postcard::to_allocvec(&head).unwrap().as_slice())
            .unwrap();
        let mut events = txn.open_table(EVENTS).unwrap();
        events.insert(1, b1.as_slice()).unwrap();
        events.insert(2, b2.as_slice()).unwrap();
        txn.open_table(V1_IDEMPOTENCY)
            .unwrap()
            .insert(&[7u8; 16], b"receipt 1".as_slice())
            .unwrap();
        for table in DerivedTable::ALL {
            let name = format!("derived_{}", table.name());
            let mut t = txn
                .open_table(TableDefinition::<&str, &[u8]>::new(&name))
                .unwrap();
            if table == DerivedTable::Stock {
                for (sku, qty) in [("SKU-000", b"9"), ("SKU-001", b"8"), ("SKU-002", b"7")] {
                    t.insert(sku, qty.as_slice()).unwrap();
                }
            } else if table == DerivedTable::Receipts {
                t.insert("sale/000000000001", b"2".as_slice()).unwrap();
            } else if table == DerivedTable::Counters {
                t.insert("counters", b"c".as_slice()).unwrap();
            }
        }
    }
    txn.commit().unwrap();
    (2, ChainHash::of(&b2))
}

#[test]
fn v1_layout_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    let (seq, hash) = write_v1(&path);
    let mut j = Journal::open(&path, &identity(), hlc(5_000)).unwrap();
    assert_eq!(
        (j.last_seq(), j.head(), j.last_hlc()),
        (seq, hash, hlc(1_500))
    );
    assert_eq!(j.verify().unwrap().records, 2);
    // Every derived row and the idempotent reply moved, nothing else appeared.
    let stock = j.derived_scan(DerivedTable::Stock).unwrap();
    assert_eq!(
        stock,
        vec![
            ("SKU-000".into(), b"9".to_vec()),
            ("SKU-001".into(), b"8".to_vec()),
            ("SKU-002".into(), b"7".to_vec())
        ]
    );
    assert_eq!(
        j.derived_get(DerivedTable::Receipts, "sale/000000000001")
            .unwrap(),
        Some(b"2".to_vec())
    );
    assert_eq!(
        j.derived_scan(DerivedTable::Counters).unwrap(),
        vec![("counters".into(), b"c".to_vec())]
    );
    for table in [
        DerivedTable::Cart,
        DerivedTable::Shift,
        DerivedTable::Kitchen,
        DerivedTable::Catalog,
    ] {
        assert!(j.derived_scan(table).unwrap().is_empty(), "{table:?}");
    }
    assert_eq!(
        j.idempotent_reply(&CommandId([7; 16])).unwrap(),
        Some(b"receipt 1".to_vec())
    );
    // The migrated journal keeps working, and survives a reopen.
    let mut fold = ToyFold::default();
    let batch = sale_batch(&j, &mut fold, 2, 6_000);
    j.commit(batch).unwrap();
    let head = j.head();
    drop(j);
    let j = Journal::open(&path, &identity(), hlc(7_000)).unwrap();
    assert_eq!((j.last_seq(), j.head()), (3, head));
    assert_eq!(j.verify().unwrap().records, 3);
    assert_eq!(
        j.derived_get(DerivedTable::Receipts, "sale/000000000001")
            .unwrap(),
        Some(b"2".to_vec())
    );
    drop(j);
    let db = redb::ReadOnlyDatabase::open(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    assert_eq!(
        meta.get("schema_version").unwrap().unwrap().value(),
        SCHEMA_VERSION.to_le_bytes().as_slice()
    );
    assert!(meta.get("head").unwrap().is_none());
    let tables: Vec<String> = txn
        .list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect();
    let mut sorted = tables.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["events", "meta", "state"]);
}

#[test]
fn a_foreign_redb_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, &str>::new("settings"))
            .unwrap()
            .insert("a", "b")
            .unwrap();
        txn.commit().unwrap();
    }
    assert!(matches!(
        Journal::open(&path, &identity(), hlc(1)),
        Err(OpenError::NotAJournal { .. })
    ));
}
