//! The layout of `cloud.redb`: table definitions and the encodings of their
//! values (a version byte, then postcard).
//!
//! Layout (schema version 1; keys are tuples, `&str` sorts by bytes):
//! - `meta` (`&str` -> u64): `schema_version`, `next_flag`.
//! - `events` ((store, terminal, seq) -> [`StoredEvent`]).
//! - `cursors` ((store, terminal) -> `TerminalCursor`).
//! - `stubs` ((store, terminal, seq) -> `Stub`).
//! - `sales_daily` ((store, day, currency) -> [`Totals`]).
//! - `sales_tender` ((store, day, currency, tender) -> i64 minor units).
//! - `sales_tax` ((store, day, currency, class, rate bp) -> (net, tax)).
//! - `stock` ((store, sku) -> i64).
//! - `order_numbers` (order number -> uses).
//! - `orders` ((store, terminal, seq) -> [`StoredOrder`]) and `orders_by_time`
//!   ((at_ms, store, terminal, seq) -> ()) for newest-first listing.
//! - `flags` (id -> [`StoredFlag`]), ids ascending in the order raised.
//! - `publications` (seq -> [`StoredPublication`]).
//! - `sync_status` (store -> [`SyncRow`]).
//! - `customer_erasures` (customer -> ms of the request): customers erased for
//!   every store, including stores that upload a key for them later.
//! - `customer_keys` ((customer, store) -> version byte + postcard `KeyEntry`:
//!   keys, or an erasure tombstone), apart from `events` so erasing deletes keys
//!   while the journals stay whole.
//! - `customers` ((store, customer) -> [`StoredCustomer`]): the newest sealed record.
//! - `flagged_sales` ((store, terminal, seq) -> `FlaggedSale`): sales the
//!   terminals flagged for risk review, one row per flag record.
//!
//! Tables added later are created when a file is opened, so schema version 1
//! still describes a file that lacks them (an older build ignores them).
//!
//! Owns names and encodings only; must not decide what is written.

use crate::store::StoreError;
use redb::TableDefinition;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The schema version this build writes.
pub(super) const SCHEMA_VERSION: u64 = 1;
/// Version byte of every encoded value.
const VALUE_VERSION: u8 = 1;

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const KEY_SCHEMA: &str = "schema_version";
pub(super) const KEY_NEXT_FLAG: &str = "next_flag";

pub(super) const EVENTS: TableDefinition<(&str, u32, u64), &[u8]> = TableDefinition::new("events");
pub(super) const CURSORS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("cursors");
pub(super) const STUBS: TableDefinition<(&str, u32, u64), &[u8]> = TableDefinition::new("stubs");
pub(super) const DAILY: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("sales_daily");
pub(super) const TENDERS: TableDefinition<(&str, &str, &str, &str), i64> =
    TableDefinition::new("sales_tender");
/// Key of `sales_tax`: store, day, currency, tax class, rate (bp).
pub(super) type TaxKey = (&'static str, &'static str, &'static str, &'static str, u32);
pub(super) const TAXES: TableDefinition<TaxKey, (i64, i64)> = TableDefinition::new("sales_tax");
pub(super) const STOCK: TableDefinition<(&str, &str), i64> = TableDefinition::new("stock");
pub(super) const ORDER_NUMBERS: TableDefinition<&str, u64> = TableDefinition::new("order_numbers");
pub(super) const ORDERS: TableDefinition<(&str, u32, u64), &[u8]> = TableDefinition::new("orders");
pub(super) const ORDERS_BY_TIME: TableDefinition<(u64, &str, u32, u64), ()> =
    TableDefinition::new("orders_by_time");
pub(super) const FLAGS: TableDefinition<u64, &[u8]> = TableDefinition::new("flags");
pub(super) const PUBLICATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("publications");
pub(super) const SYNC: TableDefinition<&str, &[u8]> = TableDefinition::new("sync_status");
pub(super) const CUSTOMER_ERASURES: TableDefinition<&str, u64> =
    TableDefinition::new("customer_erasures");
pub(super) const CUSTOMER_KEYS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("customer_keys");
pub(super) const CUSTOMERS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("customers");
pub(super) const FLAGGED: TableDefinition<(&str, u32, u64), &[u8]> =
    TableDefinition::new("flagged_sales");

/// An event's row (the record exactly as received, plus what is indexed in SQL).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredEvent {
    pub hash: [u8; 32],
    pub prev: [u8; 32],
    pub kind: String,
    pub at_ms: u64,
    pub record: Vec<u8>,
}

/// A day's totals: sales, gross, tax, voids, voided, refunds, refunded.
pub(super) type Totals = [i64; 7];

/// An order's row.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredOrder {
    pub order_no: String,
    pub display_no: String,
    pub total_minor: i64,
    pub currency: String,
    pub at_ms: u64,
    pub price_override: bool,
}

/// A flag's row.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredFlag {
    pub store: String,
    pub kind: String,
    pub terminal: u32,
    pub seq: u64,
    pub sku: Option<String>,
    pub detail: String,
    pub at_ms: u64,
}

/// A publication's row (the item in its own versioned encoding).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredPublication {
    pub published_ms: u64,
    pub stores: Vec<String>,
    pub kind: String,
    pub item: Vec<u8>,
}

/// A store's sync status row.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct SyncRow {
    pub leader: Option<u32>,
    pub last_sync_ms: Option<u64>,
    pub last_seen_ms: Option<u64>,
    pub pending: u64,
    pub reported_failed: u32,
    pub refused_since_sync: u32,
    pub errors: u64,
    pub last_error: Option<String>,
    pub disk_free_pct: Option<u8>,
    pub events: u64,
}

/// A customer's newest sealed record: its time and its stored bytes (the
/// codec's versioned encoding of the `SealedCustomer`, ciphertext inside).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredCustomer {
    pub at_ms: u64,
    pub sealed: Vec<u8>,
}

/// Version byte + postcard.
pub(super) fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing owned plain data into a Vec cannot fail; an empty value is
    // reported as unreadable when read back.
    postcard::to_extend(v, vec![VALUE_VERSION]).unwrap_or_default()
}

/// Reads [`enc`]'s output.
pub(super) fn dec<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
        }
        _ => Err(StoreError::Corrupt(format!(
            "{what}: unknown value version"
        ))),
    }
}

/// A redb error as the service reports it.
pub(super) fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Database(format!("embedded store: {}", e.into()))
}

/// Creates every table (a no-op for those that exist).
pub(super) fn create_all(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(META).map_err(db)?;
    txn.open_table(EVENTS).map_err(db)?;
    txn.open_table(CURSORS).map_err(db)?;
    txn.open_table(STUBS).map_err(db)?;
    txn.open_table(DAILY).map_err(db)?;
    txn.open_table(TENDERS).map_err(db)?;
    txn.open_table(TAXES).map_err(db)?;
    txn.open_table(STOCK).map_err(db)?;
    txn.open_table(ORDER_NUMBERS).map_err(db)?;
    txn.open_table(ORDERS).map_err(db)?;
    txn.open_table(ORDERS_BY_TIME).map_err(db)?;
    txn.open_table(FLAGS).map_err(db)?;
    txn.open_table(PUBLICATIONS).map_err(db)?;
    txn.open_table(SYNC).map_err(db)?;
    txn.open_table(CUSTOMER_ERASURES).map_err(db)?;
    txn.open_table(CUSTOMER_KEYS).map_err(db)?;
    txn.open_table(CUSTOMERS).map_err(db)?;
    txn.open_table(FLAGGED).map_err(db)?;
    Ok(())
}
