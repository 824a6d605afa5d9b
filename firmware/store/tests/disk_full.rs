//! A real full disk: a redb backend over a real file that fails writes and
//! growth with ENOSPC beyond a byte quota. The failed commit writes nothing,
//! earlier records still verify, and selling resumes once space is back,
//! without reopening the journal by hand.
mod common;

use common::faulty_backend::{faulty_opener, Op};
use common::*;
use keel_core::derived::{DerivedTable, DerivedWrite};
use keel_store::{CommitError, Journal};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

/// No byte may be written, and the file may not grow, beyond `quota`.
fn opener(path: PathBuf, quota: Arc<AtomicU64>) -> keel_store::BackendOpener {
    faulty_opener(
        path,
        Arc::new(move |op| {
            let limit = quota.load(Ordering::SeqCst);
            match op {
                Op::SetLen { len, current } if len > limit && len > current => Err(enospc()),
                Op::Write { offset, len } if offset + len > limit => Err(enospc()),
                _ => Ok(()),
            }
        }),
    )
}

#[test]
fn full_disk_loses_nothing_and_selling_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.redb");
    let quota = Arc::new(AtomicU64::new(u64::MAX));
    let mut j = Journal::open_with_backend(
        opener(path.clone(), quota.clone()),
        "quota-journal",
        &identity(),
        hlc(1_000),
    )
    .unwrap();
    let mut fold = ToyFold::default();
    let mut receipt = 0u64;
    for _ in 0..20 {
        receipt += 1;
        let batch = sale_batch(&j, &mut fold, receipt, 2_000 + receipt);
        j.commit(batch).unwrap();
    }
    let committed = j.last_seq();

    // The disk fills: no byte beyond the current file size may be written.
    quota.store(std::fs::metadata(&path).unwrap().len(), Ordering::SeqCst);
    let mut failure = None;
    for _ in 0..200 {
        let (seq, head) = (j.last_seq(), j.head());
        receipt += 1;
        let mut batch = sale_batch(&j, &mut fold, receipt, 2_000 + receipt);
        // Large derived values fill the free pages quickly.
        batch.derived.push(DerivedWrite {
            table: DerivedTable::Catalog,
            key: format!("blob-{receipt}"),
            value: Some(vec![receipt as u8; 64 * 1024]),
        });
        match j.commit(batch) {
            Ok(_) => continue,
            Err(e) => {
                assert_eq!(
                    (j.last_seq(), j.head()),
                    (seq, head),
                    "a failed commit must not move the head"
                );
                failure = Some((e, seq, receipt));
                break;
            }
        }
    }
    let (err, seq_at_failure, failed_receipt) = failure.expect("the quota was never hit");
    eprintln!("failed at seq {seq_at_failure} (receipt {failed_receipt}, {committed} before the quota): {err}");
    assert!(matches!(err, CommitError::DiskFull { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("disk full: the sale was not saved; free space and retry"),
        "{err}"
    );
    assert!(seq_at_failure >= committed);

    // While the disk is full, further sales fail the same clear way and write nothing.
    receipt += 1;
    let batch = sale_batch(&j, &mut fold, receipt, 9_000);
    match j.commit(batch) {
        Err(CommitError::DiskFull { .. }) | Ok(_) => {}
        Err(other) => panic!("expected DiskFull, got {other}"),
    }

    // Space is freed: the same journal value commits again, and everything verifies.
    quota.store(u64::MAX, Ordering::SeqCst);
    let before = j.last_seq();
    receipt += 1;
    let batch = sale_batch(&j, &mut fold, receipt, 10_000);
    let c = j.commit(batch).expect("commit after space is back");
    assert_eq!(c.events[0].event.dot.seq, before + 1);
    let summary = j.verify().unwrap();
    assert_eq!(summary.records, before + 1);
    // The failed sale is nowhere: its command id has no reply.
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&failed_receipt.to_be_bytes());
    assert!(j
        .idempotent_reply(&keel_core::ids::CommandId(id))
        .unwrap()
        .is_none());
    drop(j);

    // And a cold open of the file sees the same journal.
    let j = open(&path);
    assert_eq!(j.verify().unwrap().records, before + 1);
    assert!(j.read(committed).unwrap().is_some());
}
