//! Sales flagged for risk review in PostgreSQL (`flagged_sales`, migration
//! 3): written in the ingest transaction with the records that carry them
//! (one multi-row insert; the primary key (store, terminal, seq) makes a
//! record stored twice one row), and listed oldest first, as the embedded
//! store answers. Reason codes are kept comma-separated (a code is upper-case
//! letters, digits and underscores only).

use super::pool::{Failure, Retry};
use super::PgStore;
use crate::store::codec::{int, ms, uint};
use crate::store::{FlaggedSale, StoreError};
use keel_core::ids::{StoreId, TerminalId};
use postgres::Transaction;

/// Writes the flags of one accepted batch of `store`.
pub(super) fn write(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    flagged: &[FlaggedSale],
) -> Result<(), Failure> {
    if flagged.is_empty() {
        return Ok(());
    }
    let terminals: Vec<i32> = flagged.iter().map(|f| f.terminal.0 as i32).collect();
    let seqs = flagged
        .iter()
        .map(|f| int(f.seq))
        .collect::<Result<Vec<i64>, _>>()?;
    let receipts = flagged
        .iter()
        .map(|f| int(f.receipt_no))
        .collect::<Result<Vec<i64>, _>>()?;
    let cashiers: Vec<&str> = flagged.iter().map(|f| f.cashier.as_str()).collect();
    let scores: Vec<i32> = flagged
        .iter()
        .map(|f| i32::from(f.score_permille))
        .collect();
    let levels: Vec<&str> = flagged.iter().map(|f| f.level.as_str()).collect();
    let reasons: Vec<String> = flagged.iter().map(|f| f.reasons.join(",")).collect();
    let sources: Vec<&str> = flagged.iter().map(|f| f.source.as_str()).collect();
    let approvers: Vec<Option<&str>> = flagged.iter().map(|f| f.approved_by.as_deref()).collect();
    let ats: Vec<i64> = flagged.iter().map(|f| ms(f.at_ms)).collect();
    tx.execute(
        "INSERT INTO flagged_sales (store, terminal, seq, receipt_no, cashier, score_permille, \
         level, reasons, source, approved_by, at_ms) \
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[]) \
         ON CONFLICT DO NOTHING",
        &[
            &store.0, &terminals, &seqs, &receipts, &cashiers, &scores, &levels, &reasons,
            &sources, &approvers, &ats,
        ],
    )?;
    Ok(())
}

/// Flagged sales of `store` (or all), oldest first (time, store, terminal, seq).
pub(super) fn list(pg: &PgStore, store: Option<&StoreId>) -> Result<Vec<FlaggedSale>, StoreError> {
    let name = store.map(|s| s.0.as_str());
    pg.pool.run(Retry::Safe, |c| {
        let rows = c.query(
            "SELECT store, terminal, seq, receipt_no, cashier, score_permille, level, reasons, \
             source, approved_by, at_ms FROM flagged_sales \
             WHERE ($1::text IS NULL OR store = $1) \
             ORDER BY at_ms, store COLLATE \"C\", terminal, seq",
            &[&name],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let reasons: String = r.get(7);
                FlaggedSale {
                    store: StoreId(r.get(0)),
                    terminal: TerminalId(r.get::<_, i32>(1) as u32),
                    seq: uint(r.get(2)),
                    receipt_no: uint(r.get(3)),
                    cashier: r.get(4),
                    score_permille: u16::try_from(r.get::<_, i32>(5)).unwrap_or(0),
                    level: r.get(6),
                    reasons: reasons
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                    source: r.get(8),
                    approved_by: r.get(9),
                    at_ms: uint(r.get(10)),
                }
            })
            .collect())
    })
}
