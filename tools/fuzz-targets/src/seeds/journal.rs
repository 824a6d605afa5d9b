//! Journal seeds: a real journal written by `keel_store` (the demo store's
//! first events), its records as read back, the whole chain and its export.

use super::{Seed, SeedError};
use crate::journal::{join_records, SEED_STORE};
use keel_core::hlc::Hlc;
use keel_core::ids::{StoreId, TerminalId};
use keel_core::money::Currency;
use keel_store::{Batch, Journal, JournalIdentity};

/// How many single records become `journal_record` seeds.
const SINGLE_RECORDS: u64 = 6;

/// A journal of terminal 1 of [`SEED_STORE`] holding the demo store's seed
/// events, in `dir`; returns it and its records' bytes in order.
pub(super) fn write_journal(dir: &std::path::Path) -> Result<(Journal, Vec<Vec<u8>>), SeedError> {
    let identity = JournalIdentity {
        store: StoreId(SEED_STORE.into()),
        terminal: TerminalId(1),
        currency: Currency::EUR,
        firmware: "0.1.0".into(),
    };
    let hlc = |ms| Hlc {
        wall_ms: ms,
        counter: 0,
        node: 1,
    };
    let mut journal = Journal::open(&dir.join("journal.redb"), &identity, hlc(1_760_000_000_000))
        .map_err(|e| SeedError::produce("opening a journal", e))?;
    for (i, body) in keel_terminal::demo::seed_events().into_iter().enumerate() {
        let batch = Batch {
            events: vec![(hlc(1_760_000_000_100 + i as u64), body)],
            ..Batch::default()
        };
        journal
            .commit(batch)
            .map_err(|e| SeedError::produce("committing a demo event", e))?;
    }
    let mut records = Vec::new();
    for seq in 1..=journal.last_seq() {
        match journal.read_record(seq) {
            Ok(Some(bytes)) => records.push(bytes),
            Ok(None) => {
                return Err(SeedError::produce(
                    "reading the journal",
                    format!("record {seq} missing"),
                ))
            }
            Err(e) => return Err(SeedError::produce("reading the journal", e)),
        }
    }
    Ok((journal, records))
}

pub(super) fn seeds() -> Result<Vec<Seed>, SeedError> {
    let dir = tempfile::tempdir().map_err(|e| SeedError::produce("a temporary directory", e))?;
    let (journal, records) = write_journal(dir.path())?;
    let mut out = Vec::new();
    for (seq, bytes) in (1..=SINGLE_RECORDS).zip(&records) {
        out.push(Seed::new(
            "journal_record",
            format!("record_{seq}"),
            bytes.clone(),
        ));
    }
    let short = records.len().min(SINGLE_RECORDS as usize);
    out.push(Seed::new(
        "journal_chain",
        "first_records",
        join_records(&records[..short]),
    ));
    out.push(Seed::new(
        "journal_chain",
        "whole_journal",
        join_records(&records),
    ));
    let export = dir.path().join("export.jsonl");
    journal
        .export(&export)
        .map_err(|e| SeedError::produce("exporting the journal", e))?;
    let bytes = std::fs::read(&export).map_err(|e| SeedError::produce("reading the export", e))?;
    out.push(Seed::new("journal_export", "demo_export", bytes));
    Ok(out)
}
