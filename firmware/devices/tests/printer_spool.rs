//! The print spool survives restarts and crashes: acknowledged jobs stay
//! pending across a reopen, a half-written temporary file and a damaged job
//! file are skipped (no panic), and ids never go back.

use keel_devices::spool::{JobKind, Spool, SpoolError};
use std::fs;

#[test]
fn acknowledged_jobs_survive_a_reopen_and_crash_debris_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c);
    {
        let mut spool = Spool::open(dir.path()).unwrap();
        a = spool
            .enqueue(JobKind::Receipt, "receipt 1", b"first")
            .unwrap();
        b = spool
            .enqueue(JobKind::Kitchen, "table 7", b"second")
            .unwrap();
        c = spool.enqueue(JobKind::Test, "test page", b"third").unwrap();
        assert!(a < b && b < c);
        spool.mark_printed(a).unwrap();
        // Dropped here without any shutdown: as after a power cut.
    }
    let pending = dir.path().join("pending");
    // A crash mid-enqueue: the temporary file was never renamed, never acknowledged.
    fs::write(
        pending.join("00000000000000000099.tmp"),
        b"KEELJOB\x01\x10\x00",
    )
    .unwrap();
    // A damaged job file (torn or altered on disk) under a job name.
    fs::write(
        pending.join("00000000000000000050.job"),
        b"KEELJOB\x01garbage",
    )
    .unwrap();
    // Something unrelated.
    fs::write(pending.join("notes.txt"), b"hello").unwrap();

    let mut spool = Spool::open(dir.path()).unwrap();
    let ids: Vec<_> = spool.pending().iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        vec![b, c],
        "pending in id order, printed job not among them"
    );
    assert_eq!(spool.get(b).unwrap().bytes, b"second");
    assert_eq!(spool.get(b).unwrap().kind, JobKind::Kitchen);
    assert_eq!(spool.get(c).unwrap().label, "test page");
    assert_eq!(spool.get(a).unwrap().bytes, b"first", "kept for reprint");
    assert!(!pending.join("00000000000000000099.tmp").exists());
    assert!(pending.join("00000000000000000050.job.corrupt").exists());

    // Ids keep increasing past everything seen on disk, damaged files included.
    let d = spool
        .enqueue(JobKind::Receipt, "receipt 2", b"fourth")
        .unwrap();
    assert!(d.0 > 50, "{d}");
    assert!(matches!(
        spool.mark_printed(keel_devices::spool::JobId(9999)),
        Err(SpoolError::NotFound(_))
    ));
}

#[test]
fn every_truncation_of_a_job_file_is_skipped_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut spool = Spool::open(dir.path()).unwrap();
        spool.enqueue(JobKind::Receipt, "r", &[0x41; 300]).unwrap()
    };
    let path = dir.path().join("pending").join(format!("{:020}.job", id.0));
    let whole = fs::read(&path).unwrap();
    for cut in (0..whole.len()).step_by(17) {
        fs::write(&path, &whole[..cut]).unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.pending_count(), 0, "cut at {cut}");
        drop(spool);
        let corrupt = path.with_extension("job.corrupt");
        assert!(corrupt.exists());
        fs::remove_file(corrupt).unwrap();
    }
    fs::write(&path, &whole).unwrap();
    let spool = Spool::open(dir.path()).unwrap();
    assert_eq!(spool.pending_count(), 1);
    assert_eq!(spool.get(id).unwrap().bytes, vec![0x41; 300]);
}
