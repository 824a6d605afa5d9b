//! Tamper evidence end to end: sales made through the real binary, the redb file
//! edited directly as an attacker with the file would (schema: see
//! firmware/store/src/schema.rs, table `events`: u64 seq -> record bytes), then
//! `journal verify` in a restarted `keel` must fail and name the record.
mod common;

use common::*;
use keel_core::chain::{decode_record, encode_record};
use keel_core::event::EventBody;
use keel_core::ids::{StoreId, TerminalId};
use redb::{Database, ReadableTable, TableDefinition};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The journal's events table, as laid out in firmware/store/src/schema.rs.
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// A data directory with four sales; returns it with the seq of each sale record.
fn day_with_sales() -> (tempfile::TempDir, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    let mut seqs = Vec::new();
    for (i, item) in ["4006381333931", "MILK-1L", "BREAD-RYE", "ESPRESSO"]
        .iter()
        .enumerate()
    {
        k.ok("sale new");
        k.ok(&format!("sale add {item} {}", i + 1));
        k.ok("sale tender cash 50.00");
        let r = k.ok("sale complete");
        assert_eq!(r["receipt"], i as u64 + 1, "{r}");
        seqs.push(r["seq"].as_u64().unwrap());
    }
    // More records after the last sale, so no sale record is the head.
    k.ok("drawer open");
    k.ok(&format!("login {TECHNICIAN}"));
    k.ok("journal verify");
    k.quit();
    (dir, seqs)
}

/// A fresh copy of the data directory (so each attack starts from the clean journal).
fn copy_of(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let dst = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.path().join(entry.file_name())).unwrap();
    }
    let journal = dst.path().join("journal.redb");
    assert!(
        journal.exists(),
        "keel keeps its journal at DIR/journal.redb"
    );
    (dst, journal)
}

fn attack(journal: &Path, edit: impl FnOnce(&mut redb::Table<u64, &[u8]>)) {
    let db = Database::open(journal).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut events = txn.open_table(EVENTS).unwrap();
        edit(&mut events);
    }
    txn.commit().unwrap();
}

fn record(t: &redb::Table<u64, &[u8]>, seq: u64) -> Vec<u8> {
    t.get(seq)
        .unwrap()
        .unwrap_or_else(|| panic!("no record {seq}"))
        .value()
        .to_vec()
}

/// Restarts keel on `dir`, runs `journal verify` as the technician and returns its error.
fn verify_fails(dir: &Path) -> String {
    let mut k = Keel::start(dir);
    k.ok(&format!("login {TECHNICIAN}"));
    let v = k.send("journal verify");
    assert_eq!(v["ok"], false, "the tampered journal verified: {v}");
    let e = v["error"].as_str().unwrap().to_string();
    k.quit();
    e
}

/// The error must start with "journal verify FAILED:" and the first record it names must be `seq`
/// (the store's VerifyError may put its own words, e.g. "journal chain broken:", before "record N:").
fn assert_names(err: &str, seq: u64) {
    assert!(err.starts_with("journal verify FAILED: "), "{err:?}");
    let named = err
        .match_indices("record ")
        .find_map(|(i, m)| {
            let rest = &err[i + m.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            rest[digits.len()..]
                .starts_with(':')
                .then(|| digits.parse::<u64>().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("the error names no record (\"record N:\"): {err:?}"));
    assert_eq!(named, seq, "the error names the wrong record: {err:?}");
}

#[test]
fn a_flipped_byte_in_a_middle_record_is_named() {
    let (clean, seqs) = day_with_sales();
    let target = seqs[1];

    // A raw bit flip in the middle of the record bytes.
    let (dir, journal) = copy_of(clean.path());
    attack(&journal, |t| {
        let mut bytes = record(t, target);
        let i = bytes.len() / 2;
        bytes[i] ^= 0x01;
        t.insert(target, bytes.as_slice()).unwrap();
    });
    let e = verify_fails(dir.path());
    assert_names(&e, target);

    // A well-formed forgery: the sale decodes fine but its total is 1.00 smaller.
    let (dir, journal) = copy_of(clean.path());
    attack(&journal, |t| {
        let mut event = decode_record(&record(t, target)).unwrap();
        match &mut event.body {
            EventBody::SaleCompleted(s) => s.total.minor -= 100,
            other => panic!("record {target} is {}, not the sale", other.kind()),
        }
        t.insert(target, encode_record(&event).as_slice()).unwrap();
    });
    let e = verify_fails(dir.path());
    assert_names(&e, target);
    assert!(e.contains("altered"), "{e}");
}

#[test]
fn a_removed_record_is_named() {
    let (clean, seqs) = day_with_sales();
    let target = seqs[2];
    let (dir, journal) = copy_of(clean.path());
    attack(&journal, |t| {
        t.remove(target).unwrap().expect("the record existed");
    });
    let e = verify_fails(dir.path());
    assert_names(&e, target);
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn swapped_records_are_named() {
    let (clean, seqs) = day_with_sales();
    let (a, b) = (seqs[0], seqs[2]);
    let (dir, journal) = copy_of(clean.path());
    attack(&journal, |t| {
        let (ra, rb) = (record(t, a), record(t, b));
        t.insert(a, rb.as_slice()).unwrap();
        t.insert(b, ra.as_slice()).unwrap();
    });
    let e = verify_fails(dir.path());
    assert_names(&e, a);
    assert!(
        e.contains(&format!("record {b}")),
        "the error says which record sits there: {e}"
    );
}

#[test]
fn the_untouched_copy_still_verifies() {
    // Guards the attacks above: copying a data directory alone does not break verification.
    let (clean, _) = day_with_sales();
    let (dir, _) = copy_of(clean.path());
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {TECHNICIAN}"));
    let v = k.ok("journal verify");
    assert!(v["records"].as_u64().unwrap() > 10, "{v}");
    k.quit();
}

#[test]
fn journal_export_verifies_with_the_store() {
    let (clean, seqs) = day_with_sales();
    let mut k = Keel::start(clean.path());
    // A cashier may not export.
    k.ok(&format!("login {CASHIER}"));
    let e = k.err("journal export /tmp/never-written.jsonl");
    assert!(e.contains("technician"), "{e}");
    k.ok(&format!("login {TECHNICIAN}"));
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("journal-export.jsonl");
    let x = k.ok(&format!("journal export {}", path.display()));
    let v = k.ok("journal verify");
    let st = k.ok("status");
    k.quit();

    assert!(path.exists(), "export wrote {}", path.display());
    assert_eq!(x["records"], v["records"], "{x} {v}");
    assert_eq!(x["path"], Value::String(path.display().to_string()), "{x}");
    let summary =
        keel_store::verify_export(&path, Some((&StoreId("demo-store".into()), TerminalId(1))))
            .unwrap_or_else(|e| panic!("the store rejects keel's export: {e}"));
    assert_eq!(Some(summary.records), v["records"].as_u64());
    assert_eq!(summary.head.hex(), v["head"].as_str().unwrap());
    assert_eq!(summary.head.hex(), st["head"].as_str().unwrap());
    assert!(summary.records > *seqs.last().unwrap());

    // The export is for this store and terminal only.
    assert!(
        keel_store::verify_export(&path, Some((&StoreId("demo-store".into()), TerminalId(2))))
            .is_err()
    );

    // An export edited afterwards is caught too.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let mut edited: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    edited.swap(2, n - 2);
    let bad = out.path().join("edited.jsonl");
    std::fs::write(&bad, edited.join("\n") + "\n").unwrap();
    assert!(
        keel_store::verify_export(&bad, None).is_err(),
        "a reordered export verified"
    );
}
