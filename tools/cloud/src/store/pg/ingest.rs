//! Ingest of one batch into PostgreSQL, in one transaction.
//!
//! The cursor rows of the batch's origins are created if missing and locked
//! (`SELECT ... FOR UPDATE`, in terminal order), so two ingest nodes, or two
//! leaders after a split brain, holding overlapping batches serialize there;
//! the second then sees the first's records as duplicates. Every write is one
//! multi-row statement (`unnest` of arrays), never one round trip per record.
//! Rows shared between stores (order numbers) are locked last, in key order,
//! to keep the locks short and free of deadlocks.
//!
//! Must not decide anything itself: the checks are `keel_uplink::ingest`, the
//! projections `keel_uplink::project`, the remaining rules `store::plan`.

use super::pool::{Failure, Retry};
use super::project::{insert_flags, write_customers, write_days, write_orders, write_stock};
use super::PgStore;
use crate::store::codec::{int, ms, uint};
use crate::store::flagged::flagged_in;
use crate::store::plan::{batch_flags, precheck};
use crate::store::{IngestOutcome, StoreError};
use keel_core::chain::{genesis_hash, ChainHash};
use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::ingest::{
    check_batch, marks_of, BatchRefusal, CheckedBatch, IngestRecord, Stub, TerminalCursor,
};
use keel_uplink::project::{project, PriceBook};
use keel_uplink::wire::Batch;
use postgres::Transaction;
use std::collections::{BTreeMap, BTreeSet};

/// What one attempt of the transaction ended with.
enum Step {
    Stored(IngestOutcome),
    Refused(BatchRefusal),
}

/// Checks and stores `batch`; a refusal stores nothing and is recorded.
pub(super) fn ingest(
    pg: &PgStore,
    store: &StoreId,
    batch: &Batch,
    now_ms: u64,
) -> Result<IngestOutcome, StoreError> {
    if let Some(refusal) = precheck(batch) {
        return refuse(pg, store, refusal, now_ms);
    }
    let book = pg.price_book(store)?;
    let origins: Vec<i32> = batch
        .entries
        .iter()
        .map(|e| e.origin.0 as i32)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let step = pg.pool.run(Retry::Safe, |client| {
        let mut tx = client.transaction()?;
        let cursors = lock_cursors(&mut tx, store, &origins)?;
        let stubs = load_stubs(&mut tx, store, &cursors)?;
        match check_batch(store, batch, &cursors, &stubs) {
            Err(refusal) => {
                tx.rollback()?;
                Ok(Step::Refused(refusal))
            }
            Ok(checked) => {
                let outcome = write(&mut tx, store, &checked, &book, now_ms)?;
                tx.commit()?;
                Ok(Step::Stored(outcome))
            }
        }
    })?;
    match step {
        Step::Stored(outcome) => Ok(outcome),
        Step::Refused(refusal) => refuse(pg, store, refusal, now_ms),
    }
}

fn refuse(
    pg: &PgStore,
    store: &StoreId,
    refusal: BatchRefusal,
    now_ms: u64,
) -> Result<IngestOutcome, StoreError> {
    log::warn!("store {store}: batch refused: {refusal}");
    super::write::record_refusal(pg, store, &format!("batch refused: {refusal}"), now_ms)?;
    Err(StoreError::Refused(refusal))
}

const LOCK_CURSORS: &str = "SELECT terminal, bodies, chain, chain_hash FROM cursors \
     WHERE store = $1 AND terminal = ANY($2) ORDER BY terminal FOR UPDATE";

/// Creates the missing cursor rows of `origins` and locks them all.
fn lock_cursors(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    origins: &[i32],
) -> Result<BTreeMap<TerminalId, TerminalCursor>, Failure> {
    let mut rows = tx.query(LOCK_CURSORS, &[&store.0, &origins])?;
    if rows.len() < origins.len() {
        let have: BTreeSet<i32> = rows.iter().map(|r| r.get(0)).collect();
        let missing: Vec<i32> = origins
            .iter()
            .copied()
            .filter(|t| !have.contains(t))
            .collect();
        let genesis: Vec<Vec<u8>> = missing
            .iter()
            .map(|t| genesis_hash(store, TerminalId(*t as u32)).0.to_vec())
            .collect();
        tx.execute(
            "INSERT INTO cursors (store, terminal, bodies, chain, chain_hash) \
             SELECT $1, t, 0, 0, g FROM unnest($2::int[], $3::bytea[]) AS u(t, g) \
             ORDER BY t ON CONFLICT DO NOTHING",
            &[&store.0, &missing, &genesis],
        )?;
        rows = tx.query(LOCK_CURSORS, &[&store.0, &origins])?;
    }
    let mut out = BTreeMap::new();
    for r in rows {
        let terminal: i32 = r.get(0);
        out.insert(
            TerminalId(terminal as u32),
            TerminalCursor {
                bodies: uint(r.get(1)),
                chain: uint(r.get(2)),
                chain_hash: hash(r.get(3))?,
            },
        );
    }
    Ok(out)
}

/// The stubs of origins whose chain runs ahead of their bodies.
fn load_stubs(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    cursors: &BTreeMap<TerminalId, TerminalCursor>,
) -> Result<BTreeMap<(TerminalId, u64), Stub>, Failure> {
    let behind: Vec<i32> = cursors
        .iter()
        .filter(|(_, c)| c.bodies < c.chain)
        .map(|(t, _)| t.0 as i32)
        .collect();
    let mut out = BTreeMap::new();
    if behind.is_empty() {
        return Ok(out);
    }
    let rows = tx.query(
        "SELECT terminal, seq, hash, prev FROM stubs WHERE store = $1 AND terminal = ANY($2)",
        &[&store.0, &behind],
    )?;
    for r in rows {
        let origin = TerminalId(r.get::<_, i32>(0) as u32);
        let seq = uint(r.get(1));
        out.insert(
            (origin, seq),
            Stub {
                origin,
                seq,
                hash: hash(r.get(2))?,
                prev: hash(r.get(3))?,
            },
        );
    }
    Ok(out)
}

pub(super) fn hash(bytes: &[u8]) -> Result<ChainHash, Failure> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| {
        Failure::Other(StoreError::Corrupt(format!(
            "stored hash of {} bytes (expected 32)",
            bytes.len()
        )))
    })?;
    Ok(ChainHash(arr))
}

/// Writes an accepted batch and everything it projects to.
fn write(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    checked: &CheckedBatch,
    book: &PriceBook,
    now_ms: u64,
) -> Result<IngestOutcome, Failure> {
    let records = &checked.records;
    insert_events(tx, store, records)?;
    write_stubs(tx, store, checked)?;
    write_cursors(tx, store, &checked.cursors)?;
    let delta = project(records, book);
    write_days(tx, store, &delta)?;
    let stock_flags = write_stock(tx, store, records, &delta)?;
    write_customers(tx, store, &delta)?;
    let accepted = records.len() as u64;
    tx.execute(
        "INSERT INTO sync_status AS s (store, last_sync_ms, last_seen_ms, events) \
         VALUES ($1, $2, $2, $3) ON CONFLICT (store) DO UPDATE SET \
         last_sync_ms = greatest(s.last_sync_ms, $2), last_seen_ms = greatest(s.last_seen_ms, $2), \
         events = s.events + $3, refused_since_sync = 0, pending = greatest(s.pending - $3, 0)",
        &[&store.0, &ms(now_ms), &int(accepted)?],
    )?;
    let order_flags = write_orders(tx, store, &delta)?;
    let flags = batch_flags(&delta.flags, stock_flags, order_flags);
    insert_flags(tx, store, &flags)?;
    super::flagged::write(tx, store, &flagged_in(store, records))?;
    let rows = tx.query(
        "SELECT terminal, bodies, chain, chain_hash FROM cursors WHERE store = $1",
        &[&store.0],
    )?;
    let mut all = BTreeMap::new();
    for r in rows {
        all.insert(
            TerminalId(r.get::<_, i32>(0) as u32),
            TerminalCursor {
                bodies: uint(r.get(1)),
                chain: uint(r.get(2)),
                chain_hash: hash(r.get(3))?,
            },
        );
    }
    Ok(IngestOutcome {
        accepted,
        duplicates: checked.duplicates,
        marks: marks_of(&all),
        flags,
    })
}

fn insert_events(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    records: &[IngestRecord],
) -> Result<(), Failure> {
    if records.is_empty() {
        return Ok(());
    }
    let mut terminals = Vec::with_capacity(records.len());
    let mut seqs = Vec::with_capacity(records.len());
    let mut hashes: Vec<&[u8]> = Vec::with_capacity(records.len());
    let mut prevs: Vec<&[u8]> = Vec::with_capacity(records.len());
    let mut kinds = Vec::with_capacity(records.len());
    let mut ats = Vec::with_capacity(records.len());
    let mut bodies: Vec<&[u8]> = Vec::with_capacity(records.len());
    for r in records {
        terminals.push(r.origin.0 as i32);
        seqs.push(int(r.seq)?);
        hashes.push(&r.hash.0);
        prevs.push(&r.prev.0);
        kinds.push(r.kind());
        ats.push(ms(r.at_ms()));
        bodies.push(&r.record);
    }
    let n = tx.execute(
        "INSERT INTO events (store, terminal, seq, hash, prev, kind, at_ms, record) \
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::bytea[], $5::bytea[], \
         $6::text[], $7::bigint[], $8::bytea[]) ON CONFLICT DO NOTHING",
        &[
            &store.0, &terminals, &seqs, &hashes, &prevs, &kinds, &ats, &bodies,
        ],
    )?;
    if n != records.len() as u64 {
        // The cursors said these were new: the events table and the cursors
        // disagree. Store nothing rather than count projections twice.
        return Err(Failure::Other(StoreError::Corrupt(format!(
            "store {store}: {} of {} records were already in the events table beyond the cloud's cursor",
            records.len() as u64 - n,
            records.len()
        ))));
    }
    Ok(())
}

fn write_stubs(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    checked: &CheckedBatch,
) -> Result<(), Failure> {
    if !checked.stubs.is_empty() {
        let terminals: Vec<i32> = checked.stubs.iter().map(|s| s.origin.0 as i32).collect();
        let seqs = checked
            .stubs
            .iter()
            .map(|s| int(s.seq))
            .collect::<Result<Vec<i64>, _>>()?;
        let hashes: Vec<&[u8]> = checked.stubs.iter().map(|s| &s.hash.0[..]).collect();
        let prevs: Vec<&[u8]> = checked.stubs.iter().map(|s| &s.prev.0[..]).collect();
        tx.execute(
            "INSERT INTO stubs (store, terminal, seq, hash, prev) \
             SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::bytea[], $5::bytea[]) \
             ON CONFLICT DO NOTHING",
            &[&store.0, &terminals, &seqs, &hashes, &prevs],
        )?;
    }
    if !checked.filled.is_empty() {
        let terminals: Vec<i32> = checked.filled.iter().map(|(t, _)| t.0 as i32).collect();
        let seqs = checked
            .filled
            .iter()
            .map(|(_, s)| int(*s))
            .collect::<Result<Vec<i64>, _>>()?;
        tx.execute(
            "DELETE FROM stubs s USING unnest($2::int[], $3::bigint[]) AS u(t, q) \
             WHERE s.store = $1 AND s.terminal = u.t AND s.seq = u.q",
            &[&store.0, &terminals, &seqs],
        )?;
    }
    Ok(())
}

fn write_cursors(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    cursors: &BTreeMap<TerminalId, TerminalCursor>,
) -> Result<(), Failure> {
    if cursors.is_empty() {
        return Ok(());
    }
    let mut terminals = Vec::new();
    let mut bodies = Vec::new();
    let mut chains = Vec::new();
    let mut hashes: Vec<&[u8]> = Vec::new();
    for (t, c) in cursors {
        terminals.push(t.0 as i32);
        bodies.push(int(c.bodies)?);
        chains.push(int(c.chain)?);
        hashes.push(&c.chain_hash.0);
    }
    tx.execute(
        "UPDATE cursors c SET bodies = u.b, chain = u.c, chain_hash = u.h \
         FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::bytea[]) AS u(t, b, c, h) \
         WHERE c.store = $1 AND c.terminal = u.t",
        &[&store.0, &terminals, &bodies, &chains, &hashes],
    )?;
    Ok(())
}
