//! A short pause on replicated records after the disk refused them as full.
//! Every refused commit reopens the journal and reads the state back; for a
//! terminal's own sales that happens at a person's pace, but peers push their
//! records several times a second, so while the disk is full each push would
//! reopen and reload for nothing. After a full-disk refusal, replicated
//! batches are refused at once for [`PAUSE_MS`]; nothing is lost, since the
//! sender keeps them and pushes again. Own sales still try every time.
//!
//! This module owns only the pause; the caller passes the (monotonic) time.

use keel_store::CommitError;

/// How long replicated batches are refused after a full disk, ms.
pub const PAUSE_MS: u64 = 2_000;

/// When replicated records may be tried again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaPause {
    until_ms: Option<u64>,
}

impl ReplicaPause {
    /// The refusal for a batch arriving at `now_ms`, while paused.
    pub fn refusal(&self, now_ms: u64) -> Option<CommitError> {
        let until = self.until_ms?;
        (now_ms < until).then(|| CommitError::DiskFull {
            detail: format!(
                "the disk was full moments ago; replicated records are tried again in {} ms",
                until - now_ms
            ),
        })
    }

    /// Notes how a replicated batch's commit at `now_ms` ended.
    pub fn record(&mut self, result: &Result<(), CommitError>, now_ms: u64) {
        match result {
            Err(CommitError::DiskFull { .. }) => self.until_ms = Some(now_ms + PAUSE_MS),
            Ok(()) => self.until_ms = None,
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_pauses_replicas_for_a_while_and_a_success_ends_it() {
        let mut p = ReplicaPause::default();
        assert!(p.refusal(0).is_none());
        p.record(
            &Err(CommitError::DiskFull {
                detail: "ENOSPC".into(),
            }),
            1_000,
        );
        let e = p.refusal(1_500).expect("paused");
        assert!(e.to_string().contains("1500 ms"), "{e}");
        assert!(p.refusal(1_000 + PAUSE_MS - 1).is_some());
        assert!(p.refusal(1_000 + PAUSE_MS).is_none());
        // Other failures do not pause; a success clears a pause.
        let mut q = ReplicaPause::default();
        q.record(
            &Err(CommitError::Unavailable {
                reason: "reopen failed".into(),
            }),
            0,
        );
        assert!(q.refusal(1).is_none());
        p.record(&Ok(()), 1_200);
        assert!(p.refusal(1_300).is_none());
    }
}
