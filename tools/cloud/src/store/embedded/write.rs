//! Writes to the redb file other than ingest: health reports and refusals
//! (sync status) and publications (numbered without gaps: redb runs one
//! writer at a time).
//!
//! Must not touch events, cursors or projections.

use super::tables::{db, dec, enc, StoredPublication, SyncRow, PUBLICATIONS, SYNC};
use super::EmbeddedStore;
use crate::store::codec::encode_item;
use crate::store::StoreError;
use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::wire::{PublishedItem, StoreHealth};
use redb::{ReadableTable, WriteTransaction};

/// Reads, changes and writes back a store's sync row (created when missing).
pub(super) fn update_sync(
    txn: &WriteTransaction,
    store: &str,
    change: impl FnOnce(&mut SyncRow),
) -> Result<(), StoreError> {
    let mut table = txn.open_table(SYNC).map_err(db)?;
    let mut row: SyncRow = match table.get(store).map_err(db)? {
        Some(v) => dec(v.value(), "sync status")?,
        None => SyncRow::default(),
    };
    change(&mut row);
    table.insert(store, enc(&row).as_slice()).map_err(db)?;
    Ok(())
}

/// Records a session or health report.
pub(super) fn record_health(
    e: &EmbeddedStore,
    store: &StoreId,
    leader: TerminalId,
    health: &StoreHealth,
    now_ms: u64,
) -> Result<(), StoreError> {
    let txn = e.db.begin_write().map_err(db)?;
    update_sync(&txn, &store.0, |row| {
        row.leader = Some(leader.0);
        row.last_sync_ms = Some(row.last_sync_ms.unwrap_or(0).max(now_ms));
        row.last_seen_ms = Some(row.last_seen_ms.unwrap_or(0).max(now_ms));
        row.pending = health.pending;
        row.reported_failed = health.failed_syncs;
        if health.last_error.is_some() {
            row.last_error = health.last_error.clone();
        }
        row.disk_free_pct = Some(health.disk_free_pct);
    })?;
    txn.commit().map_err(db)
}

/// Records a refusal: one more error and failed sync, and the reason.
pub(super) fn record_refusal(
    e: &EmbeddedStore,
    store: &StoreId,
    reason: &str,
    now_ms: u64,
) -> Result<(), StoreError> {
    let txn = e.db.begin_write().map_err(db)?;
    update_sync(&txn, &store.0, |row| {
        row.last_seen_ms = Some(row.last_seen_ms.unwrap_or(0).max(now_ms));
        row.refused_since_sync = row.refused_since_sync.saturating_add(1);
        row.errors += 1;
        row.last_error = Some(reason.to_string());
    })?;
    txn.commit().map_err(db)
}

/// Publishes `item` to `stores` (empty: all) and returns its number.
pub(super) fn publish(
    e: &EmbeddedStore,
    stores: &[StoreId],
    item: &PublishedItem,
    now_ms: u64,
) -> Result<u64, StoreError> {
    let txn = e.db.begin_write().map_err(db)?;
    let seq = {
        let mut table = txn.open_table(PUBLICATIONS).map_err(db)?;
        let last = table.last().map_err(db)?.map_or(0, |(k, _)| k.value());
        let seq = last + 1;
        let row = enc(&StoredPublication {
            published_ms: crate::store::codec::ms(now_ms) as u64,
            stores: stores.iter().map(|s| s.0.clone()).collect(),
            kind: item.kind().to_string(),
            item: encode_item(item),
        });
        table.insert(seq, row.as_slice()).map_err(db)?;
        seq
    };
    txn.commit().map_err(db)?;
    log::info!("published #{seq}: {}", item.kind());
    Ok(seq)
}
