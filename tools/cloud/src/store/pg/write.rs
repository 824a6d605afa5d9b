//! PostgreSQL writes other than ingest: health reports and refusals in
//! `sync_status`, and publications (numbered without gaps under an advisory
//! lock, so concurrent publishers on several nodes never share a number).
//!
//! Must not touch events, cursors or projections.

use super::pool::{Failure, Retry};
use super::PgStore;
use crate::store::codec::{encode_item, int, ms};
use crate::store::StoreError;
use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::wire::{PublishedItem, StoreHealth};

/// Key of the advisory lock serializing publications ("keel-pub").
const PUBLISH_LOCK: i64 = 0x6b65_656c_2d70_7562;

/// Records a session or health report.
pub(super) fn record_health(
    pg: &PgStore,
    store: &StoreId,
    leader: TerminalId,
    health: &StoreHealth,
    now_ms: u64,
) -> Result<(), StoreError> {
    let leader = leader.0 as i32;
    let now = ms(now_ms);
    let pending = int(health.pending)?;
    let failed = i32::try_from(health.failed_syncs).unwrap_or(i32::MAX);
    let disk = i16::from(health.disk_free_pct);
    pg.pool.run(Retry::Safe, |c| {
        c.execute(
            "INSERT INTO sync_status AS s (store, leader, last_sync_ms, last_seen_ms, pending, \
             reported_failed, last_error, disk_free_pct) VALUES ($1, $2, $3, $3, $4, $5, $6, $7) \
             ON CONFLICT (store) DO UPDATE SET leader = $2, \
             last_sync_ms = greatest(s.last_sync_ms, $3), last_seen_ms = greatest(s.last_seen_ms, $3), \
             pending = $4, reported_failed = $5, last_error = coalesce($6, s.last_error), \
             disk_free_pct = $7",
            &[
                &store.0,
                &leader,
                &now,
                &pending,
                &failed,
                &health.last_error,
                &disk,
            ],
        )?;
        Ok(())
    })
}

/// Records a refusal: one more error and failed sync, and the reason.
pub(super) fn record_refusal(
    pg: &PgStore,
    store: &StoreId,
    reason: &str,
    now_ms: u64,
) -> Result<(), StoreError> {
    let now = ms(now_ms);
    pg.pool.run(Retry::Safe, |c| {
        c.execute(
            "INSERT INTO sync_status AS s (store, last_seen_ms, refused_since_sync, errors, last_error) \
             VALUES ($1, $2, 1, 1, $3) ON CONFLICT (store) DO UPDATE SET \
             last_seen_ms = greatest(s.last_seen_ms, $2), refused_since_sync = s.refused_since_sync + 1, \
             errors = s.errors + 1, last_error = $3",
            &[&store.0, &now, &reason],
        )?;
        Ok(())
    })
}

/// Publishes `item` to `stores` (empty: all) and returns its number.
pub(super) fn publish(
    pg: &PgStore,
    stores: &[StoreId],
    item: &PublishedItem,
    now_ms: u64,
) -> Result<u64, StoreError> {
    let names: Vec<&str> = stores.iter().map(|s| s.0.as_str()).collect();
    let bytes = encode_item(item);
    let now = ms(now_ms);
    // Not retried on a lost connection: the commit may have happened.
    let seq = pg.pool.run(Retry::RolledBack, |c| {
        let mut tx = c.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PUBLISH_LOCK])?;
        let seq: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) + 1 FROM publications", &[])?
            .get(0);
        tx.execute(
            "INSERT INTO publications (seq, published_ms, stores, kind, item) VALUES ($1, $2, $3, $4, $5)",
            &[&seq, &now, &names, &item.kind(), &bytes],
        )?;
        tx.commit()?;
        Ok::<i64, Failure>(seq)
    })?;
    log::info!(
        "published #{seq}: {} to {}",
        item.kind(),
        if names.is_empty() {
            "every store".to_string()
        } else {
            names.join(", ")
        }
    );
    Ok(seq as u64)
}
