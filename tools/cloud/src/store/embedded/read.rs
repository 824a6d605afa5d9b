//! Queries on the redb file behind the status view, reports, order and flag
//! lists, marks, publications and stored records, answering exactly as the PostgreSQL store
//! does (same orders, same rows).
//!
//! Read-only: must not write.

use super::tables::{
    db, dec, StoredEvent, StoredFlag, StoredOrder, StoredPublication, SyncRow, Totals, CURSORS,
    DAILY, EVENTS, FLAGS, ORDERS, ORDERS_BY_TIME, PUBLICATIONS, STOCK, SYNC, TAXES, TENDERS,
};
use super::EmbeddedStore;
use crate::store::codec::{check_day, day_in, decode_item};
use crate::store::rows::ReportBuilder;
use crate::store::{ListedOrder, SalesReport, StoreError, StoreFlag, StoreStatus};
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_uplink::ingest::{marks_of, TerminalCursor};
use keel_uplink::project::{DayTotals, OrderRow, ReviewFlag};
use keel_uplink::wire::Publication;
use keel_uplink::UplinkMarks;
use redb::{ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;

fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
    e: &EmbeddedStore,
    def: TableDefinition<K, V>,
) -> Result<ReadOnlyTable<K, V>, StoreError> {
    e.db.begin_read().map_err(db)?.open_table(def).map_err(db)
}

pub(super) fn marks(e: &EmbeddedStore, store: &StoreId) -> Result<UplinkMarks, StoreError> {
    let table = open(e, CURSORS)?;
    let s = store.0.as_str();
    let mut all: BTreeMap<TerminalId, TerminalCursor> = BTreeMap::new();
    for row in table.range((s, 0)..=(s, u32::MAX)).map_err(db)? {
        let (k, v) = row.map_err(db)?;
        all.insert(TerminalId(k.value().1), dec(v.value(), "cursor")?);
    }
    Ok(marks_of(&all))
}

pub(super) fn publications_after(
    e: &EmbeddedStore,
    store: &StoreId,
    after: u64,
    limit: usize,
) -> Result<Vec<Publication>, StoreError> {
    let table = open(e, PUBLICATIONS)?;
    let mut out = Vec::new();
    for row in table.range(after.saturating_add(1)..).map_err(db)? {
        if out.len() >= limit {
            break;
        }
        let (k, v) = row.map_err(db)?;
        let p: StoredPublication = dec(v.value(), "publication")?;
        if p.stores.is_empty() || p.stores.contains(&store.0) {
            out.push(Publication {
                seq: k.value(),
                published_ms: p.published_ms,
                stores: p.stores.into_iter().map(StoreId).collect(),
                item: decode_item(&p.item)?,
            });
        }
    }
    Ok(out)
}

pub(super) fn status(e: &EmbeddedStore) -> Result<Vec<StoreStatus>, StoreError> {
    let table = open(e, SYNC)?;
    let mut out = Vec::new();
    for row in table.iter().map_err(db)? {
        let (k, v) = row.map_err(db)?;
        let r: SyncRow = dec(v.value(), "sync status")?;
        out.push(StoreStatus {
            store: StoreId(k.value().to_string()),
            leader: r.leader.map(TerminalId),
            last_sync_ms: r.last_sync_ms,
            last_seen_ms: r.last_seen_ms,
            pending: r.pending,
            failed_syncs: r.reported_failed.saturating_add(r.refused_since_sync),
            errors: r.errors,
            last_error: r.last_error,
            disk_free_pct: r.disk_free_pct,
            events: r.events,
            flagged: super::flagged::count(e, k.value())?,
        });
    }
    Ok(out)
}

pub(super) fn sales_report(
    e: &EmbeddedStore,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<SalesReport, StoreError> {
    for d in [from, to].into_iter().flatten() {
        check_day(d)?;
    }
    let txn = e.db.begin_read().map_err(db)?;
    let mut b = ReportBuilder::default();
    let daily = txn.open_table(DAILY).map_err(db)?;
    for row in daily.iter().map_err(db)? {
        let (k, v) = row.map_err(db)?;
        let (store, day, cur) = k.value();
        if !day_in(day, from, to) {
            continue;
        }
        let t: Totals = dec(v.value(), "day totals")?;
        b.totals(
            store,
            day,
            cur,
            DayTotals {
                sales: t[0],
                gross_minor: t[1],
                tax_minor: t[2],
                voids: t[3],
                voided_minor: t[4],
                refunds: t[5],
                refunded_minor: t[6],
            },
        );
    }
    let tenders = txn.open_table(TENDERS).map_err(db)?;
    for row in tenders.iter().map_err(db)? {
        let (k, v) = row.map_err(db)?;
        let (store, day, cur, kind) = k.value();
        if day_in(day, from, to) {
            b.tender(store, day, cur, kind, v.value());
        }
    }
    let taxes = txn.open_table(TAXES).map_err(db)?;
    for row in taxes.iter().map_err(db)? {
        let (k, v) = row.map_err(db)?;
        let (store, day, cur, class, rate) = k.value();
        if day_in(day, from, to) {
            let (net, tax) = v.value();
            b.tax(store, day, cur, class, rate, net, tax);
        }
    }
    Ok(b.finish())
}

pub(super) fn orders(
    e: &EmbeddedStore,
    store: Option<&StoreId>,
    limit: usize,
) -> Result<Vec<ListedOrder>, StoreError> {
    let txn = e.db.begin_read().map_err(db)?;
    let by_time = txn.open_table(ORDERS_BY_TIME).map_err(db)?;
    let orders = txn.open_table(ORDERS).map_err(db)?;
    let mut out = Vec::new();
    for row in by_time.iter().map_err(db)?.rev() {
        if out.len() >= limit {
            break;
        }
        let (k, _) = row.map_err(db)?;
        let (_, s, terminal, seq) = k.value();
        if store.is_some_and(|want| want.0 != s) {
            continue;
        }
        let Some(v) = orders.get((s, terminal, seq)).map_err(db)? else {
            return Err(StoreError::Corrupt(format!(
                "order index names {s} {terminal}:{seq}, which is not stored"
            )));
        };
        let o: StoredOrder = dec(v.value(), "order")?;
        out.push(ListedOrder {
            store: StoreId(s.to_string()),
            order: OrderRow {
                terminal: TerminalId(terminal),
                seq,
                order_no: o.order_no,
                total_minor: o.total_minor,
                currency: o.currency,
                at_ms: o.at_ms,
                price_override: o.price_override,
            },
            display_no: o.display_no,
        });
    }
    Ok(out)
}

pub(super) fn flags(
    e: &EmbeddedStore,
    store: Option<&StoreId>,
) -> Result<Vec<StoreFlag>, StoreError> {
    let table = open(e, FLAGS)?;
    let mut out = Vec::new();
    for row in table.iter().map_err(db)? {
        let (_, v) = row.map_err(db)?;
        let f: StoredFlag = dec(v.value(), "flag")?;
        if store.is_some_and(|want| want.0 != f.store) {
            continue;
        }
        out.push(StoreFlag {
            store: StoreId(f.store),
            flag: ReviewFlag {
                kind: f.kind,
                terminal: TerminalId(f.terminal),
                seq: f.seq,
                sku: f.sku.map(Sku),
                detail: f.detail,
                at_ms: f.at_ms,
            },
        });
    }
    Ok(out)
}

pub(super) fn stock(e: &EmbeddedStore, store: &StoreId) -> Result<Vec<(Sku, i64)>, StoreError> {
    let table = open(e, STOCK)?;
    let s = store.0.as_str();
    let mut out = Vec::new();
    for row in table.range((s, "")..).map_err(db)? {
        let (k, v) = row.map_err(db)?;
        let (ks, sku) = k.value();
        if ks != s {
            break;
        }
        out.push((Sku(sku.to_string()), v.value()));
    }
    Ok(out)
}

pub(super) fn event_count(e: &EmbeddedStore, store: Option<&StoreId>) -> Result<u64, StoreError> {
    let table = open(e, SYNC)?;
    let mut n = 0u64;
    for row in table.iter().map_err(db)? {
        let (k, v) = row.map_err(db)?;
        if store.is_some_and(|want| want.0 != k.value()) {
            continue;
        }
        let r: SyncRow = dec(v.value(), "sync status")?;
        n += r.events;
    }
    Ok(n)
}

pub(super) fn event_record(
    e: &EmbeddedStore,
    store: &StoreId,
    terminal: TerminalId,
    seq: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let table = open(e, EVENTS)?;
    match table.get((store.0.as_str(), terminal.0, seq)).map_err(db)? {
        Some(v) => {
            let row: StoredEvent = dec(v.value(), "event")?;
            Ok(Some(row.record))
        }
        None => Ok(None),
    }
}
