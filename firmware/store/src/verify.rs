//! Verifying the stored journal: every record's chain link, position and
//! terminal (via `keel_core::chain::verify_chain`), the stored head, and that
//! record 1 opens this journal.
//!
//! This module owns the reading side of verification; it must not repair or
//! write anything, and must not reimplement hashing.

use crate::error::{read_error, VerifyError};
use crate::journal::Journal;
use crate::schema::EVENTS;
use keel_core::chain::{decode_record, verify_chain, ChainSummary};
use keel_core::event::EventBody;
use keel_core::ids::{StoreId, TerminalId};
use redb::{ReadableDatabase, ReadableTable};

/// Checks that record 1 is `JournalOpened` for this store and terminal.
pub(crate) fn check_first_record(
    bytes: &[u8],
    store: &StoreId,
    terminal: TerminalId,
) -> Result<(), VerifyError> {
    let event = decode_record(bytes).map_err(|e| VerifyError::BadFirstRecord {
        reason: e.to_string(),
    })?;
    match &event.body {
        EventBody::JournalOpened {
            store: s,
            terminal: t,
            ..
        } if s == store && *t == terminal => Ok(()),
        EventBody::JournalOpened {
            store: s,
            terminal: t,
            ..
        } => Err(VerifyError::BadFirstRecord {
            reason: format!("opens store {s} terminal {t}, not store {store} terminal {terminal}"),
        }),
        other => Err(VerifyError::BadFirstRecord {
            reason: format!("is {}, not journal-opened", other.kind()),
        }),
    }
}

/// Checks that no record follows the head.
pub(crate) fn check_anchored(summary: &ChainSummary, head_seq: u64) -> Result<(), VerifyError> {
    if summary.records > head_seq {
        return Err(VerifyError::BeyondHead {
            seq: head_seq + 1,
            head: head_seq,
        });
    }
    Ok(())
}

impl Journal {
    /// Verifies the whole chain as stored, against the stored head, from one
    /// snapshot. The error names the first bad record.
    pub fn verify(&self) -> Result<ChainSummary, VerifyError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let head = crate::read::read_head(&txn)?;
        let events = txn.open_table(EVENTS).map_err(read_error)?;
        let mut storage_error = None;
        let records = events
            .iter()
            .map_err(read_error)?
            .map_while(|entry| match entry {
                Ok((k, v)) => Some((k.value(), v.value().to_vec())),
                Err(e) => {
                    storage_error = Some(e);
                    None
                }
            });
        let result = verify_chain(
            self.identity.terminal,
            self.genesis,
            records,
            Some((head.seq, head.hash)),
        );
        if let Some(e) = storage_error {
            return Err(read_error(e).into());
        }
        let summary = result.map_err(VerifyError::Broken)?;
        check_anchored(&summary, head.seq)?;
        if let Some(first) = events.get(1).map_err(read_error)? {
            check_first_record(first.value(), &self.identity.store, self.identity.terminal)?;
        }
        log::info!(
            "journal {}: verified {} records, head {}",
            self.label,
            summary.records,
            summary.head.hex()
        );
        Ok(summary)
    }
}
