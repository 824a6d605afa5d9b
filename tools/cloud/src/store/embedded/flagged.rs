//! Sales flagged for risk review in the redb file: written with the batch
//! that carries their records, listed and counted per store, answering as
//! the PostgreSQL store does (same rows, same order). Keyed by (store,
//! terminal, seq): a record stored twice is one row.

use super::tables::{db, dec, enc, FLAGGED};
use super::EmbeddedStore;
use crate::store::{FlaggedSale, StoreError};
use keel_core::ids::StoreId;
use redb::{ReadableDatabase, WriteTransaction};

/// Writes the flags of one accepted batch of store `s`.
pub(super) fn write(
    txn: &WriteTransaction,
    s: &str,
    flagged: &[FlaggedSale],
) -> Result<(), StoreError> {
    if flagged.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(FLAGGED).map_err(db)?;
    for f in flagged {
        table
            .insert((s, f.terminal.0, f.seq), enc(f).as_slice())
            .map_err(db)?;
    }
    Ok(())
}

/// Flagged sales of `store` (or all), oldest first (time, store, terminal, seq).
pub(super) fn list(
    e: &EmbeddedStore,
    store: Option<&StoreId>,
) -> Result<Vec<FlaggedSale>, StoreError> {
    let table =
        e.db.begin_read()
            .map_err(db)?
            .open_table(FLAGGED)
            .map_err(db)?;
    let mut out: Vec<FlaggedSale> = Vec::new();
    let rows = match store {
        Some(s) => table
            .range((s.0.as_str(), 0, 0)..=(s.0.as_str(), u32::MAX, u64::MAX))
            .map_err(db)?,
        None => table.range::<(&str, u32, u64)>(..).map_err(db)?,
    };
    for row in rows {
        let (_, v) = row.map_err(db)?;
        out.push(dec(v.value(), "flagged sale")?);
    }
    out.sort_by(|a, b| {
        (a.at_ms, a.store.0.as_bytes(), a.terminal.0, a.seq).cmp(&(
            b.at_ms,
            b.store.0.as_bytes(),
            b.terminal.0,
            b.seq,
        ))
    });
    Ok(out)
}

/// How many sales of store `s` are flagged.
pub(super) fn count(e: &EmbeddedStore, s: &str) -> Result<u64, StoreError> {
    let table =
        e.db.begin_read()
            .map_err(db)?
            .open_table(FLAGGED)
            .map_err(db)?;
    let mut n = 0;
    for row in table
        .range((s, 0, 0)..=(s, u32::MAX, u64::MAX))
        .map_err(db)?
    {
        row.map_err(db)?;
        n += 1;
    }
    Ok(n)
}
