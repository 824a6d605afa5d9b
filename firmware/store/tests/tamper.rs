//! Tamper evidence: an attacker opens the redb file directly and edits the
//! events table; `verify()` must fail and name the record.
mod common;

use common::*;
use keel_core::chain::{encode_record, ChainBreak};
use keel_core::event::EventBody;
use keel_store::VerifyError;
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// A journal with record 1 plus 8 sales (records 2..=9).
fn journal_with_sales(path: &Path) {
    let mut j = open(path);
    let mut fold = ToyFold::default();
    for r in 1..=8u64 {
        let batch = sale_batch(&j, &mut fold, r, 2_000 + r);
        j.commit(batch).unwrap();
    }
    assert_eq!(j.verify().unwrap().records, 9);
}

/// Edits the events table as an attacker with the file would.
fn attack(path: &Path, edit: impl FnOnce(&mut redb::Table<u64, &[u8]>)) {
    let db = Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut events = txn.open_table(EVENTS).unwrap();
        edit(&mut events);
    }
    txn.commit().unwrap();
}

fn get(t: &redb::Table<u64, &[u8]>, seq: u64) -> Vec<u8> {
    t.get(seq).unwrap().unwrap().value().to_vec()
}

fn verify_err(path: &Path) -> VerifyError {
    let j = open(path);
    match j.verify() {
        Err(e) => e,
        Ok(s) => panic!("tampered journal verified: {s:?}"),
    }
}

#[test]
fn flipped_byte_in_a_middle_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        let mut bytes = get(t, 5);
        let i = bytes.len() - 3;
        bytes[i] ^= 0x01;
        t.insert(5, bytes.as_slice()).unwrap();
    });
    let err = verify_err(&path);
    assert_eq!(named_seq(&err), 5, "{err}");
}

#[test]
fn flipped_byte_in_a_link_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        let mut event = keel_core::chain::decode_record(&get(t, 4)).unwrap();
        event.prev.0[0] ^= 0x80;
        t.insert(4, encode_record(&event).as_slice()).unwrap();
    });
    let err = verify_err(&path);
    assert!(
        matches!(err, VerifyError::Broken(ChainBreak::Altered { seq: 4 })),
        "{err}"
    );
}

#[test]
fn deleted_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        t.remove(6).unwrap();
    });
    let err = verify_err(&path);
    assert!(
        matches!(err, VerifyError::Broken(ChainBreak::Missing { seq: 6 })),
        "{err}"
    );
}

#[test]
fn swapped_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        let (a, b) = (get(t, 3), get(t, 7));
        t.insert(3, b.as_slice()).unwrap();
        t.insert(7, a.as_slice()).unwrap();
    });
    let err = verify_err(&path);
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Reordered { seq: 3, found: 7 })
        ),
        "{err}"
    );
}

#[test]
fn altered_last_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        // A well-formed forgery: same dot and link, a smaller total.
        let mut event = keel_core::chain::decode_record(&get(t, 9)).unwrap();
        if let EventBody::SaleCompleted(s) = &mut event.body {
            s.total.minor -= 100;
        }
        t.insert(9, encode_record(&event).as_slice()).unwrap();
    });
    let err = verify_err(&path);
    assert!(
        matches!(err, VerifyError::Broken(ChainBreak::Altered { seq: 9 })),
        "{err}"
    );
}

#[test]
fn truncated_tail_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        t.remove(9).unwrap();
        t.remove(8).unwrap();
    });
    let err = verify_err(&path);
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Truncated { seq: 8, head: 9 })
        ),
        "{err}"
    );
}

#[test]
fn records_appended_beyond_the_head_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    journal_with_sales(&path);
    attack(&path, |t| {
        let mut event = keel_core::chain::decode_record(&get(t, 9)).unwrap();
        event.prev = keel_core::chain::ChainHash::of(&get(t, 9));
        event.dot.seq = 10;
        t.insert(10, encode_record(&event).as_slice()).unwrap();
    });
    let err = verify_err(&path);
    assert!(
        matches!(err, VerifyError::BeyondHead { seq: 10, head: 9 }),
        "{err}"
    );
}
