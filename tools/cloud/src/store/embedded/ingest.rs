//! Ingest of one batch into the redb file, in one write transaction (redb
//! runs one writer at a time, which is the embedded store's lock).
//!
//! Same steps as the PostgreSQL store: read the cursors and stubs of the
//! batch's origins, check, then write records, stubs, cursors, projections
//! (customers' sealed records through `keys`), flags and sync status. Must not decide anything itself: the checks are
//! `keel_uplink::ingest`, the projections `keel_uplink::project`, the
//! remaining rules `store::plan`.

use super::tables::{
    db, dec, enc, StoredEvent, StoredFlag, StoredOrder, StoredPublication, SyncRow, Totals,
    CURSORS, DAILY, EVENTS, FLAGS, KEY_NEXT_FLAG, META, ORDERS, ORDERS_BY_TIME, ORDER_NUMBERS,
    PUBLICATIONS, STOCK, STUBS, TAXES, TENDERS,
};
use super::EmbeddedStore;
use crate::store::codec::decode_item;
use crate::store::flagged::flagged_in;
use crate::store::plan::{batch_flags, negative_stock_flags, order_counts, plan_orders, precheck};
use crate::store::{IngestOutcome, StoreError};
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_uplink::ingest::{
    check_batch, marks_of, BatchRefusal, CheckedBatch, Stub, TerminalCursor,
};
use keel_uplink::project::{project, PriceBook, ProjectionDelta, ReviewFlag};
use keel_uplink::wire::{Batch, Publication};
use keel_uplink::UplinkMarks;
use redb::{ReadableTable, WriteTransaction};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Checks and stores `batch`; a refusal stores nothing and is recorded.
pub(super) fn ingest(
    e: &EmbeddedStore,
    store: &StoreId,
    batch: &Batch,
    now_ms: u64,
) -> Result<IngestOutcome, StoreError> {
    if let Some(refusal) = precheck(batch) {
        return refuse(e, store, refusal, now_ms);
    }
    let txn = e.db.begin_write().map_err(db)?;
    let book = price_book(e, &txn, store)?;
    let cursors = read_cursors(&txn, store, batch)?;
    let stubs = read_stubs(&txn, store, &cursors)?;
    match check_batch(store, batch, &cursors, &stubs) {
        Err(refusal) => {
            txn.abort().map_err(db)?;
            refuse(e, store, refusal, now_ms)
        }
        Ok(checked) => {
            let outcome = write(&txn, store, &checked, &book, now_ms)?;
            txn.commit().map_err(db)?;
            Ok(outcome)
        }
    }
}

fn refuse(
    e: &EmbeddedStore,
    store: &StoreId,
    refusal: BatchRefusal,
    now_ms: u64,
) -> Result<IngestOutcome, StoreError> {
    log::warn!("store {store}: batch refused: {refusal}");
    super::write::record_refusal(e, store, &format!("batch refused: {refusal}"), now_ms)?;
    Err(StoreError::Refused(refusal))
}

/// The price book for `store`, with publications made since the last call.
fn price_book(
    e: &EmbeddedStore,
    txn: &WriteTransaction,
    store: &StoreId,
) -> Result<Arc<PriceBook>, StoreError> {
    let mut cache = e
        .prices
        .lock()
        .map_err(|_| StoreError::Database("price cache lock poisoned".into()))?;
    let table = txn.open_table(PUBLICATIONS).map_err(db)?;
    for row in table.range(cache.seen() + 1..).map_err(db)? {
        let (k, v) = row.map_err(db)?;
        let p: StoredPublication = dec(v.value(), "publication")?;
        if p.kind == "item" || p.kind == "price" {
            cache.add(&Publication {
                seq: k.value(),
                published_ms: p.published_ms,
                stores: p.stores.into_iter().map(StoreId).collect(),
                item: decode_item(&p.item)?,
            });
        }
    }
    Ok(cache.book_for(store))
}

fn read_cursors(
    txn: &WriteTransaction,
    store: &StoreId,
    batch: &Batch,
) -> Result<BTreeMap<TerminalId, TerminalCursor>, StoreError> {
    let table = txn.open_table(CURSORS).map_err(db)?;
    let mut out = BTreeMap::new();
    for e in &batch.entries {
        if out.contains_key(&e.origin) {
            continue;
        }
        if let Some(v) = table.get((store.0.as_str(), e.origin.0)).map_err(db)? {
            out.insert(e.origin, dec(v.value(), "cursor")?);
        }
    }
    Ok(out)
}

fn read_stubs(
    txn: &WriteTransaction,
    store: &StoreId,
    cursors: &BTreeMap<TerminalId, TerminalCursor>,
) -> Result<BTreeMap<(TerminalId, u64), Stub>, StoreError> {
    let table = txn.open_table(STUBS).map_err(db)?;
    let mut out = BTreeMap::new();
    for (t, c) in cursors.iter().filter(|(_, c)| c.bodies < c.chain) {
        let s = store.0.as_str();
        for row in table
            .range((s, t.0, c.bodies + 1)..=(s, t.0, c.chain))
            .map_err(db)?
        {
            let (_, v) = row.map_err(db)?;
            let stub: Stub = dec(v.value(), "stub")?;
            out.insert((stub.origin, stub.seq), stub);
        }
    }
    Ok(out)
}

/// Writes an accepted batch and everything it projects to.
fn write(
    txn: &WriteTransaction,
    store: &StoreId,
    checked: &CheckedBatch,
    book: &PriceBook,
    now_ms: u64,
) -> Result<IngestOutcome, StoreError> {
    let s = store.0.as_str();
    {
        let mut events = txn.open_table(EVENTS).map_err(db)?;
        for r in &checked.records {
            let row = enc(&StoredEvent {
                hash: r.hash.0,
                prev: r.prev.0,
                kind: r.kind().to_string(),
                at_ms: r.at_ms(),
                record: r.record.clone(),
            });
            if events
                .insert((s, r.origin.0, r.seq), row.as_slice())
                .map_err(db)?
                .is_some()
            {
                return Err(StoreError::Corrupt(format!(
                    "store {store}: record {}:{} was already in the events table beyond the cloud's cursor",
                    r.origin, r.seq
                )));
            }
        }
    }
    {
        let mut stubs = txn.open_table(STUBS).map_err(db)?;
        for stub in &checked.stubs {
            stubs
                .insert((s, stub.origin.0, stub.seq), enc(stub).as_slice())
                .map_err(db)?;
        }
        for (t, seq) in &checked.filled {
            stubs.remove((s, t.0, *seq)).map_err(db)?;
        }
        let mut cursors = txn.open_table(CURSORS).map_err(db)?;
        for (t, c) in &checked.cursors {
            cursors.insert((s, t.0), enc(c).as_slice()).map_err(db)?;
        }
    }
    let delta = project(&checked.records, book);
    write_days(txn, s, &delta)?;
    let stock_flags = write_stock(txn, s, checked, &delta)?;
    super::keys::write_customers(txn, s, &delta)?;
    let accepted = checked.records.len() as u64;
    super::write::update_sync(txn, s, |row: &mut SyncRow| {
        row.last_sync_ms = Some(row.last_sync_ms.unwrap_or(0).max(now_ms));
        row.last_seen_ms = Some(row.last_seen_ms.unwrap_or(0).max(now_ms));
        row.events += accepted;
        row.refused_since_sync = 0;
        row.pending = row.pending.saturating_sub(accepted);
    })?;
    let order_flags = write_orders(txn, s, &delta)?;
    let flags = batch_flags(&delta.flags, stock_flags, order_flags);
    insert_flags(txn, s, &flags)?;
    super::flagged::write(txn, s, &flagged_in(store, &checked.records))?;
    Ok(IngestOutcome {
        accepted,
        duplicates: checked.duplicates,
        marks: store_marks(txn, s)?,
        flags,
    })
}

/// The marks of every terminal of `store` (as this transaction sees them).
fn store_marks(txn: &WriteTransaction, s: &str) -> Result<UplinkMarks, StoreError> {
    let table = txn.open_table(CURSORS).map_err(db)?;
    let mut all = BTreeMap::new();
    for row in table.range((s, 0)..=(s, u32::MAX)).map_err(db)? {
        let (k, v) = row.map_err(db)?;
        all.insert(TerminalId(k.value().1), dec(v.value(), "cursor")?);
    }
    Ok(marks_of(&all))
}

fn write_days(txn: &WriteTransaction, s: &str, delta: &ProjectionDelta) -> Result<(), StoreError> {
    let mut daily = txn.open_table(DAILY).map_err(db)?;
    for ((day, cur), t) in &delta.days {
        let key = (s, day.as_str(), cur.as_str());
        let mut totals: Totals = match daily.get(key).map_err(db)? {
            Some(v) => dec(v.value(), "day totals")?,
            None => [0; 7],
        };
        for (slot, add) in totals.iter_mut().zip([
            t.sales,
            t.gross_minor,
            t.tax_minor,
            t.voids,
            t.voided_minor,
            t.refunds,
            t.refunded_minor,
        ]) {
            *slot = slot.saturating_add(add);
        }
        daily.insert(key, enc(&totals).as_slice()).map_err(db)?;
    }
    let mut tenders = txn.open_table(TENDERS).map_err(db)?;
    for ((day, cur, kind), amount) in &delta.tenders {
        let key = (s, day.as_str(), cur.as_str(), kind.as_str());
        let before = tenders.get(key).map_err(db)?.map_or(0, |v| v.value());
        tenders
            .insert(key, before.saturating_add(*amount))
            .map_err(db)?;
    }
    let mut taxes = txn.open_table(TAXES).map_err(db)?;
    for ((day, cur, class, rate), (net, tax)) in &delta.taxes {
        let key = (s, day.as_str(), cur.as_str(), class.as_str(), *rate);
        let (n0, t0) = taxes.get(key).map_err(db)?.map_or((0, 0), |v| v.value());
        taxes
            .insert(key, (n0.saturating_add(*net), t0.saturating_add(*tax)))
            .map_err(db)?;
    }
    Ok(())
}

fn write_stock(
    txn: &WriteTransaction,
    s: &str,
    checked: &CheckedBatch,
    delta: &ProjectionDelta,
) -> Result<Vec<ReviewFlag>, StoreError> {
    let mut stock = txn.open_table(STOCK).map_err(db)?;
    let mut moves: Vec<(Sku, i64, i64)> = Vec::new();
    for (sku, d) in &delta.stock {
        let key = (s, sku.0.as_str());
        let before = stock.get(key).map_err(db)?.map_or(0, |v| v.value());
        stock.insert(key, before.saturating_add(*d)).map_err(db)?;
        moves.push((sku.clone(), before, *d));
    }
    Ok(negative_stock_flags(&checked.records, &moves))
}

fn write_orders(
    txn: &WriteTransaction,
    s: &str,
    delta: &ProjectionDelta,
) -> Result<Vec<ReviewFlag>, StoreError> {
    if delta.orders.is_empty() {
        return Ok(Vec::new());
    }
    let mut numbers = txn.open_table(ORDER_NUMBERS).map_err(db)?;
    let mut before = BTreeMap::new();
    for (no, n) in order_counts(&delta.orders) {
        let used = numbers
            .get(no.as_str())
            .map_err(db)?
            .map_or(0, |v| v.value());
        numbers.insert(no.as_str(), used + n).map_err(db)?;
        before.insert(no, used);
    }
    let (planned, flags) = plan_orders(&delta.orders, &before);
    let mut orders = txn.open_table(ORDERS).map_err(db)?;
    let mut by_time = txn.open_table(ORDERS_BY_TIME).map_err(db)?;
    for p in planned {
        let o = &p.order;
        let row = enc(&StoredOrder {
            order_no: o.order_no.clone(),
            display_no: p.display_no.clone(),
            total_minor: o.total_minor,
            currency: o.currency.clone(),
            at_ms: o.at_ms,
            price_override: o.price_override,
        });
        orders
            .insert((s, o.terminal.0, o.seq), row.as_slice())
            .map_err(db)?;
        by_time
            .insert((o.at_ms, s, o.terminal.0, o.seq), ())
            .map_err(db)?;
    }
    Ok(flags)
}

/// Logs flags in their order (ids ascending).
fn insert_flags(txn: &WriteTransaction, s: &str, flags: &[ReviewFlag]) -> Result<(), StoreError> {
    if flags.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(META).map_err(db)?;
    let mut next = meta
        .get(KEY_NEXT_FLAG)
        .map_err(db)?
        .map_or(1, |v| v.value());
    let mut table = txn.open_table(FLAGS).map_err(db)?;
    for f in flags {
        let row = enc(&StoredFlag {
            store: s.to_string(),
            kind: f.kind.clone(),
            terminal: f.terminal.0,
            seq: f.seq,
            sku: f.sku.as_ref().map(|k| k.0.clone()),
            detail: f.detail.clone(),
            at_ms: f.at_ms,
        });
        table.insert(next, row.as_slice()).map_err(db)?;
        next += 1;
    }
    meta.insert(KEY_NEXT_FLAG, next).map_err(db)?;
    Ok(())
}
