//! Customers' data keys in PostgreSQL: merging a chunk of a store's key ring,
//! erasing a customer (crypto-shredding), and the operator's view of a customer.
//!
//! Every change to a customer's keys first locks that customer's row in
//! `customer_ids` (created when missing; locked in id order, so concurrent
//! merges cannot deadlock). A merge on one node and an erasure on another thus
//! serialize: a key uploaded while the customer is erased everywhere either
//! lands first and is deleted by the erasure, or lands after and meets the
//! tombstone. Merges and erasures are idempotent, so a lost connection is
//! retried. Must not touch events or the sales projections, and must not log
//! anything of a customer.

use super::pool::{Failure, Retry};
use super::PgStore;
use crate::store::codec::{decode_key_entry, decode_sealed, encode_key_entry, ms, uint};
use crate::store::customers::{self, holds_keys};
use crate::store::{CustomerView, StoreError};
use keel_core::ids::StoreId;
use keel_core::pii::{KeyEntry, KeyRing};
use postgres::Transaction;
use std::collections::BTreeMap;

/// Creates the missing `customer_ids` rows of `ids` and locks them all, in id
/// order; returns, per id, when it was erased for every store (if it was).
fn lock_ids(
    tx: &mut Transaction<'_>,
    ids: &[&str],
) -> Result<BTreeMap<String, Option<u64>>, Failure> {
    tx.execute(
        "INSERT INTO customer_ids (customer) SELECT c FROM unnest($1::text[]) AS u(c) \
         ORDER BY c COLLATE \"C\" ON CONFLICT DO NOTHING",
        &[&ids],
    )?;
    let rows = tx.query(
        "SELECT customer, erased_ms FROM customer_ids WHERE customer = ANY($1) \
         ORDER BY customer COLLATE \"C\" FOR UPDATE",
        &[&ids],
    )?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, Option<i64>>(1).map(uint)))
        .collect())
}

/// Writes changed entries of `store` (one multi-row upsert).
fn write_entries(
    tx: &mut Transaction<'_>,
    store: &str,
    changed: &[(&str, Vec<u8>)],
    now_ms: u64,
) -> Result<(), Failure> {
    if changed.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = changed.iter().map(|(id, _)| *id).collect();
    let entries: Vec<&[u8]> = changed.iter().map(|(_, e)| e.as_slice()).collect();
    tx.execute(
        "INSERT INTO customer_keys (customer, store, entry, updated_ms) \
         SELECT c, $1, e, $4 FROM unnest($2::text[], $3::bytea[]) AS u(c, e) \
         ON CONFLICT (customer, store) DO UPDATE SET entry = excluded.entry, \
         updated_ms = excluded.updated_ms",
        &[&store, &ids, &entries, &ms(now_ms)],
    )?;
    Ok(())
}

/// Merges `ring` into `store`'s keys; the merged entries of its customers.
pub(super) fn merge_keys(
    pg: &PgStore,
    store: &StoreId,
    ring: &KeyRing,
    now_ms: u64,
) -> Result<KeyRing, StoreError> {
    if ring.is_empty() {
        return Ok(KeyRing::new());
    }
    let ids: Vec<&str> = ring.entries().map(|(id, _)| id.as_str()).collect();
    pg.pool.run(Retry::Safe, |c| {
        let mut tx = c.transaction()?;
        let erased = lock_ids(&mut tx, &ids)?;
        let mut stored = BTreeMap::new();
        for r in tx.query(
            "SELECT customer, entry FROM customer_keys WHERE store = $1 AND customer = ANY($2)",
            &[&store.0, &ids],
        )? {
            let id: String = r.get(0);
            let entry = decode_key_entry(&id, r.get(1))?;
            stored.insert(id, entry);
        }
        let mut merged = KeyRing::new();
        let mut changed = Vec::new();
        for (id, incoming) in ring.entries() {
            let everywhere = erased.get(id).copied().flatten();
            let m = customers::merge(id, stored.remove(id), everywhere, incoming);
            if m.changed {
                changed.push((id.as_str(), encode_key_entry(&m.entry)));
            }
            merged.merge_entry(id, &m.entry);
        }
        write_entries(&mut tx, &store.0, &changed, now_ms)?;
        tx.commit()?;
        Ok(merged)
    })
}

/// Erases `customer` in `stores` (empty: everywhere); how many stores' keys went.
pub(super) fn erase_customer(
    pg: &PgStore,
    stores: &[StoreId],
    customer: &str,
    now_ms: u64,
) -> Result<u64, StoreError> {
    let everywhere = stores.is_empty();
    let mut names: Vec<&str> = stores.iter().map(|s| s.0.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let erasure = KeyEntry::Erased { at_ms: now_ms };
    pg.pool.run(Retry::Safe, |c| {
        let mut tx = c.transaction()?;
        lock_ids(&mut tx, &[customer])?;
        if everywhere {
            tx.execute(
                "UPDATE customer_ids SET erased_ms = least(coalesce(erased_ms, $2), $2) \
                 WHERE customer = $1",
                &[&customer, &ms(now_ms)],
            )?;
        }
        let mut held: BTreeMap<String, KeyEntry> = BTreeMap::new();
        for r in tx.query(
            "SELECT store, entry FROM customer_keys WHERE customer = $1 AND ($2 OR store = ANY($3))",
            &[&customer, &everywhere, &names],
        )? {
            held.insert(r.get(0), decode_key_entry(customer, r.get(1))?);
        }
        let targets: Vec<String> = if everywhere {
            held.keys().cloned().collect()
        } else {
            names.iter().map(|s| s.to_string()).collect()
        };
        let mut deleted = 0;
        for store in &targets {
            let before = held.remove(store);
            if holds_keys(before.as_ref()) {
                deleted += 1;
            }
            let m = customers::merge(customer, before, None, &erasure);
            if m.changed {
                write_entries(
                    &mut tx,
                    store,
                    &[(customer, encode_key_entry(&m.entry))],
                    now_ms,
                )?;
            }
        }
        tx.commit()?;
        Ok::<u64, Failure>(deleted)
    })
}

/// What the operator may see of customer `id` of `store` (one consistent read).
pub(super) fn customer(
    pg: &PgStore,
    store: &StoreId,
    id: &str,
) -> Result<Option<CustomerView>, StoreError> {
    let (erased, entry, sealed) = pg.pool.run(Retry::Safe, |c| {
        let r = c.query_one(
            "SELECT (SELECT erased_ms FROM customer_ids WHERE customer = $2), \
             (SELECT entry FROM customer_keys WHERE customer = $2 AND store = $1), \
             (SELECT sealed FROM customers WHERE store = $1 AND customer = $2)",
            &[&store.0, &id],
        )?;
        Ok::<_, Failure>((
            r.get::<_, Option<i64>>(0).map(uint),
            r.get::<_, Option<Vec<u8>>>(1),
            r.get::<_, Option<Vec<u8>>>(2),
        ))
    })?;
    let entry = entry.map(|b| decode_key_entry(id, &b)).transpose()?;
    let sealed = sealed.map(|b| decode_sealed(id, &b)).transpose()?;
    customers::view(id, sealed.as_ref(), entry.as_ref(), erased)
}
