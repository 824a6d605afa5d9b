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
use super::PgStore;
use crate::store::codec::{int, ms, uint};
use crate::store::plan::{batch_flags, negative_stock_flags, order_counts, plan_orders, precheck};
use crate::store::{IngestOutcome, StoreError};
use keel_core::chain::{genesis_hash, ChainHash};
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_uplink::ingest::{
    check_batch, marks_of, BatchRefusal, CheckedBatch, IngestRecord, Stub, TerminalCursor,
};
use keel_uplink::project::{project, PriceBook, ProjectionDelta, ReviewFlag};
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
    let accepted = records.len() as u64;
    tx.execute(
        "INSERT INTO sync_status AS s (store, last_sync_ms, last_seen_ms, events) \
         VALUES ($1, $2, $2, $3) ON CONFLICT (store) DO UPDATE SET \
         last_sync_ms = greatest(s.last_sync_ms, $2), last_seen_ms = greatest(s.last_seen_ms, $2), \
         events = s.events + $3, refused_since_sync = 0, pending = greatest(s.pending - $3, 0)",
        &[&store.0, &ms(now_ms), &int(accepted)?],
    )?;
    let order_flags = write_orders(tx, store, &delta)?;
    insert_flags(
        tx,
        store,
        &batch_flags(&delta.flags, stock_flags, order_flags),
    )?;
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

fn write_days(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    delta: &ProjectionDelta,
) -> Result<(), Failure> {
    if !delta.days.is_empty() {
        let mut cols: [Vec<i64>; 7] = Default::default();
        let mut days = Vec::new();
        let mut curs = Vec::new();
        for ((day, cur), t) in &delta.days {
            days.push(day.as_str());
            curs.push(cur.as_str());
            for (i, v) in [
                t.sales,
                t.gross_minor,
                t.tax_minor,
                t.voids,
                t.voided_minor,
                t.refunds,
                t.refunded_minor,
            ]
            .into_iter()
            .enumerate()
            {
                cols[i].push(v);
            }
        }
        tx.execute(
            "INSERT INTO sales_daily AS d (store, day, currency, sales, gross, tax, voids, voided, refunds, refunded) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], \
             $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[]) \
             ON CONFLICT (store, day, currency) DO UPDATE SET sales = d.sales + excluded.sales, \
             gross = d.gross + excluded.gross, tax = d.tax + excluded.tax, voids = d.voids + excluded.voids, \
             voided = d.voided + excluded.voided, refunds = d.refunds + excluded.refunds, \
             refunded = d.refunded + excluded.refunded",
            &[
                &store.0, &days, &curs, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5],
                &cols[6],
            ],
        )?;
    }
    if !delta.tenders.is_empty() {
        let (mut days, mut curs, mut kinds, mut amounts) = (vec![], vec![], vec![], vec![]);
        for ((day, cur, kind), amount) in &delta.tenders {
            days.push(day.as_str());
            curs.push(cur.as_str());
            kinds.push(kind.as_str());
            amounts.push(*amount);
        }
        tx.execute(
            "INSERT INTO sales_tender AS t (store, day, currency, tender, amount) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) \
             ON CONFLICT (store, day, currency, tender) DO UPDATE SET amount = t.amount + excluded.amount",
            &[&store.0, &days, &curs, &kinds, &amounts],
        )?;
    }
    if !delta.taxes.is_empty() {
        let (mut days, mut curs, mut classes, mut rates, mut nets, mut taxes) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for ((day, cur, class, rate), (net, tax)) in &delta.taxes {
            days.push(day.as_str());
            curs.push(cur.as_str());
            classes.push(class.as_str());
            rates.push(i32::try_from(*rate).unwrap_or(i32::MAX));
            nets.push(*net);
            taxes.push(*tax);
        }
        tx.execute(
            "INSERT INTO sales_tax AS x (store, day, currency, class, rate_bp, net, tax) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bigint[]) \
             ON CONFLICT (store, day, currency, class, rate_bp) DO UPDATE SET \
             net = x.net + excluded.net, tax = x.tax + excluded.tax",
            &[&store.0, &days, &curs, &classes, &rates, &nets, &taxes],
        )?;
    }
    Ok(())
}

/// Applies stock moves (SKU order) and flags items that newly went negative.
fn write_stock(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    records: &[IngestRecord],
    delta: &ProjectionDelta,
) -> Result<Vec<ReviewFlag>, Failure> {
    if delta.stock.is_empty() {
        return Ok(Vec::new());
    }
    let skus: Vec<&str> = delta.stock.keys().map(|s| s.0.as_str()).collect();
    let moves: Vec<i64> = delta.stock.values().copied().collect();
    let rows = tx.query(
        "INSERT INTO stock AS s (store, sku, qty) SELECT $1, * FROM unnest($2::text[], $3::bigint[]) \
         ON CONFLICT (store, sku) DO UPDATE SET qty = s.qty + excluded.qty RETURNING sku, qty",
        &[&store.0, &skus, &moves],
    )?;
    let mut after: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows {
        after.insert(r.get(0), r.get(1));
    }
    let changes: Vec<(Sku, i64, i64)> = delta
        .stock
        .iter()
        .map(|(sku, d)| {
            let now = after.get(&sku.0).copied().unwrap_or(*d);
            (sku.clone(), now - d, *d)
        })
        .collect();
    Ok(negative_stock_flags(records, &changes))
}

/// Numbers the batch's orders (locking their order-number rows, in order) and inserts them.
fn write_orders(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    delta: &ProjectionDelta,
) -> Result<Vec<ReviewFlag>, Failure> {
    if delta.orders.is_empty() {
        return Ok(Vec::new());
    }
    let counts = order_counts(&delta.orders);
    let numbers: Vec<&str> = counts.keys().map(String::as_str).collect();
    let uses = counts
        .values()
        .map(|n| int(*n))
        .collect::<Result<Vec<i64>, _>>()?;
    let rows = tx.query(
        "INSERT INTO order_numbers AS o (order_no, uses) \
         SELECT * FROM unnest($1::text[], $2::bigint[]) AS u(n, k) ORDER BY n \
         ON CONFLICT (order_no) DO UPDATE SET uses = o.uses + excluded.uses \
         RETURNING order_no, uses",
        &[&numbers, &uses],
    )?;
    let mut before: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        let no: String = r.get(0);
        let total = uint(r.get(1));
        let mine = counts.get(&no).copied().unwrap_or(0);
        before.insert(no, total.saturating_sub(mine));
    }
    let (planned, flags) = plan_orders(&delta.orders, &before);
    let mut terminals = Vec::new();
    let mut seqs = Vec::new();
    let mut nos = Vec::new();
    let mut displays = Vec::new();
    let mut totals = Vec::new();
    let mut curs = Vec::new();
    let mut ats = Vec::new();
    let mut overrides = Vec::new();
    for p in &planned {
        terminals.push(p.order.terminal.0 as i32);
        seqs.push(int(p.order.seq)?);
        nos.push(p.order.order_no.as_str());
        displays.push(p.display_no.as_str());
        totals.push(p.order.total_minor);
        curs.push(p.order.currency.as_str());
        ats.push(ms(p.order.at_ms));
        overrides.push(p.order.price_override);
    }
    tx.execute(
        "INSERT INTO orders (store, terminal, seq, order_no, display_no, total, currency, at_ms, price_override) \
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], \
         $7::text[], $8::bigint[], $9::bool[])",
        &[
            &store.0, &terminals, &seqs, &nos, &displays, &totals, &curs, &ats, &overrides,
        ],
    )?;
    Ok(flags)
}

/// Logs flags in their order (ids ascending).
pub(super) fn insert_flags(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    flags: &[ReviewFlag],
) -> Result<(), Failure> {
    if flags.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = flags.iter().map(|f| f.kind.as_str()).collect();
    let terminals: Vec<i32> = flags.iter().map(|f| f.terminal.0 as i32).collect();
    let seqs = flags
        .iter()
        .map(|f| int(f.seq))
        .collect::<Result<Vec<i64>, _>>()?;
    let skus: Vec<Option<&str>> = flags
        .iter()
        .map(|f| f.sku.as_ref().map(|s| s.0.as_str()))
        .collect();
    let details: Vec<&str> = flags.iter().map(|f| f.detail.as_str()).collect();
    let ats: Vec<i64> = flags.iter().map(|f| ms(f.at_ms)).collect();
    tx.execute(
        "INSERT INTO flags (store, kind, terminal, seq, sku, detail, at_ms) \
         SELECT $1, k, t, s, sku, d, a FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], \
         $6::text[], $7::bigint[]) WITH ORDINALITY AS u(k, t, s, sku, d, a, n) ORDER BY n",
        &[&store.0, &kinds, &terminals, &seqs, &skus, &details, &ats],
    )?;
    Ok(())
}
