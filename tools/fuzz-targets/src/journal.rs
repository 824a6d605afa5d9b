//! Journal records read back from disk: one record through the store's read
//! path (`keel_store::StoredEvent::from_bytes`, which uses
//! `keel_core::chain::decode_record`), a whole journal through the hash-chain
//! verifier (`keel_core::chain::verify_chain`), and a journal export file
//! through `keel_store::verify_export`.
//!
//! Properties: a record that decodes re-encodes to bytes that decode to the
//! same event and carries the hash of its bytes; a chain that verifies counts
//! every record and ends at the last record's hash.

use keel_core::chain::{decode_record, encode_record, genesis_hash, verify_chain, ChainHash};
use keel_core::ids::{StoreId, TerminalId};
use keel_store::StoredEvent;
use std::io::Write;

/// The store the chain seeds are written for (`seeds::journal`).
pub const SEED_STORE: &str = "fuzz-store";

/// `data` as the bytes of journal record 1.
pub fn journal_record(data: &[u8]) {
    let read = StoredEvent::from_bytes(1, data);
    assert_eq!(
        read.is_ok(),
        decode_record(data).is_ok(),
        "read path and decoder disagree"
    );
    if let Ok(stored) = read {
        assert_eq!(stored.hash, ChainHash::of(data));
        assert_eq!(stored.bytes_len, data.len());
        let again = decode_record(&encode_record(&stored.event));
        assert_eq!(
            again.as_ref().ok(),
            Some(&stored.event),
            "re-encoded record differs"
        );
    }
}

/// Splits `data` into records framed as a 2-byte little-endian length and the
/// bytes (a short tail is the last record as it is).
pub fn split_records(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let body = &rest[2..];
        let take = len.min(body.len());
        out.push(body[..take].to_vec());
        rest = &body[take..];
    }
    out
}

/// Frames records the way [`split_records`] reads them.
pub fn join_records(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let len = u16::try_from(r.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&r[..len as usize]);
    }
    out
}

/// `data` as a terminal's whole journal, verified from its genesis (terminal
/// 1 of [`SEED_STORE`]), without and with the head the last record claims.
pub fn journal_chain(data: &[u8]) {
    let records = split_records(data);
    let terminal = TerminalId(1);
    let genesis = genesis_hash(&StoreId(SEED_STORE.into()), terminal);
    let numbered = || (1u64..).zip(records.iter().cloned());
    let last = records
        .last()
        .map(|r| (records.len() as u64, ChainHash::of(r)));
    for head in [None, last] {
        if let Ok(summary) = verify_chain(terminal, genesis, numbered(), head) {
            assert_eq!(summary.records, records.len() as u64, "records skipped");
            let expected = last.map(|(_, h)| h).unwrap_or(genesis);
            assert_eq!(
                summary.head, expected,
                "summary head is not the last record's hash"
            );
        }
    }
}

/// `data` as a journal export file (`keel journal export`), re-verified.
pub fn journal_export(data: &[u8]) {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        log::warn!("journal_export: no temporary file; input skipped");
        return;
    };
    if file.write_all(data).and_then(|()| file.flush()).is_err() {
        log::warn!("journal_export: cannot write the temporary file; input skipped");
        return;
    }
    let _ = keel_store::verify_export(file.path(), None);
}
