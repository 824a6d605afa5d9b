//! Customers' data keys in the redb file: merging a chunk of a store's key
//! ring, erasing a customer (crypto-shredding), the operator's view of a
//! customer, and the customers projection write of an ingest.
//!
//! Each change is one write transaction (redb runs one writer at a time, so a
//! merge and an erasure never interleave). redb copies pages on write: an
//! erased key's old bytes stay in freed pages until they are reused (see
//! docs/cloud.md). Must not touch events or the sales projections, and must
//! not log anything of a customer.

use super::tables::{db, dec, enc, StoredCustomer, CUSTOMERS, CUSTOMER_ERASURES, CUSTOMER_KEYS};
use super::EmbeddedStore;
use crate::store::codec::{decode_key_entry, decode_sealed, encode_key_entry, encode_sealed, ms};
use crate::store::customers::{self, holds_keys, newer};
use crate::store::{CustomerView, StoreError};
use keel_core::ids::StoreId;
use keel_core::pii::{KeyEntry, KeyRing};
use keel_uplink::project::ProjectionDelta;
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};
use std::collections::BTreeSet;

/// Merges `ring` into `store`'s keys; the merged entries of its customers.
pub(super) fn merge_keys(
    e: &EmbeddedStore,
    store: &StoreId,
    ring: &KeyRing,
    _now_ms: u64,
) -> Result<KeyRing, StoreError> {
    if ring.is_empty() {
        return Ok(KeyRing::new());
    }
    let s = store.0.as_str();
    let txn = e.db.begin_write().map_err(db)?;
    let mut merged = KeyRing::new();
    {
        let erasures = txn.open_table(CUSTOMER_ERASURES).map_err(db)?;
        let mut keys = txn.open_table(CUSTOMER_KEYS).map_err(db)?;
        for (id, incoming) in ring.entries() {
            let everywhere = erasures.get(id.as_str()).map_err(db)?.map(|v| v.value());
            let stored = match keys.get((id.as_str(), s)).map_err(db)? {
                Some(v) => Some(decode_key_entry(id, v.value())?),
                None => None,
            };
            let m = customers::merge(id, stored, everywhere, incoming);
            if m.changed {
                keys.insert((id.as_str(), s), encode_key_entry(&m.entry).as_slice())
                    .map_err(db)?;
            }
            merged.merge_entry(id, &m.entry);
        }
    }
    txn.commit().map_err(db)?;
    Ok(merged)
}

/// Erases `customer` in `stores` (empty: everywhere); how many stores' keys went.
pub(super) fn erase_customer(
    e: &EmbeddedStore,
    stores: &[StoreId],
    customer: &str,
    now_ms: u64,
) -> Result<u64, StoreError> {
    let erasure = KeyEntry::Erased { at_ms: now_ms };
    let txn = e.db.begin_write().map_err(db)?;
    let mut deleted = 0;
    {
        let mut keys = txn.open_table(CUSTOMER_KEYS).map_err(db)?;
        let targets: BTreeSet<String> = if stores.is_empty() {
            let mut erasures = txn.open_table(CUSTOMER_ERASURES).map_err(db)?;
            let before = erasures.get(customer).map_err(db)?.map(|v| v.value());
            let at = before.map_or(now_ms, |b| b.min(now_ms));
            erasures.insert(customer, at).map_err(db)?;
            let mut held = BTreeSet::new();
            for row in keys.range((customer, "")..).map_err(db)? {
                let (k, _) = row.map_err(db)?;
                let (c, s) = k.value();
                if c != customer {
                    break;
                }
                held.insert(s.to_string());
            }
            held
        } else {
            stores.iter().map(|s| s.0.clone()).collect()
        };
        for s in &targets {
            let before = match keys.get((customer, s.as_str())).map_err(db)? {
                Some(v) => Some(decode_key_entry(customer, v.value())?),
                None => None,
            };
            if holds_keys(before.as_ref()) {
                deleted += 1;
            }
            let m = customers::merge(customer, before, None, &erasure);
            if m.changed {
                keys.insert(
                    (customer, s.as_str()),
                    encode_key_entry(&m.entry).as_slice(),
                )
                .map_err(db)?;
            }
        }
    }
    txn.commit().map_err(db)?;
    Ok(deleted)
}

/// What the operator may see of customer `id` of `store` (one read transaction).
pub(super) fn customer(
    e: &EmbeddedStore,
    store: &StoreId,
    id: &str,
) -> Result<Option<CustomerView>, StoreError> {
    let txn = e.db.begin_read().map_err(db)?;
    let everywhere = txn
        .open_table(CUSTOMER_ERASURES)
        .map_err(db)?
        .get(id)
        .map_err(db)?
        .map(|v| v.value());
    let entry = match txn
        .open_table(CUSTOMER_KEYS)
        .map_err(db)?
        .get((id, store.0.as_str()))
        .map_err(db)?
    {
        Some(v) => Some(decode_key_entry(id, v.value())?),
        None => None,
    };
    let sealed = match txn
        .open_table(CUSTOMERS)
        .map_err(db)?
        .get((store.0.as_str(), id))
        .map_err(db)?
    {
        Some(v) => {
            let row: StoredCustomer = dec(v.value(), "customer")?;
            Some(decode_sealed(id, &row.sealed)?)
        }
        None => None,
    };
    customers::view(id, sealed.as_ref(), entry.as_ref(), everywhere)
}

/// Keeps each customer's newest sealed record of the delta (ingest transaction).
pub(super) fn write_customers(
    txn: &WriteTransaction,
    s: &str,
    delta: &ProjectionDelta,
) -> Result<(), StoreError> {
    if delta.customers.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(CUSTOMERS).map_err(db)?;
    for (id, (sealed, at)) in &delta.customers {
        // Clamped like PostgreSQL's bigint, so both keep the same record.
        let at_ms = ms(*at) as u64;
        let bytes = encode_sealed(sealed);
        let replace = match table.get((s, id.as_str())).map_err(db)? {
            Some(v) => {
                let old: StoredCustomer = dec(v.value(), "customer")?;
                newer((at_ms, &bytes), (old.at_ms, &old.sealed))
            }
            None => true,
        };
        if replace {
            let row = enc(&StoredCustomer {
                at_ms,
                sealed: bytes,
            });
            table.insert((s, id.as_str()), row.as_slice()).map_err(db)?;
        }
    }
    Ok(())
}
