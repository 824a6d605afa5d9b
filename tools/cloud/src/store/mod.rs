//! Storage of the cloud service: the append-only events table, per-terminal
//! cursors and stubs, projections (sales per store and day, stock per store and
//! SKU, each customer's newest sealed record), review flags, sales the
//! terminals flagged for risk review, publications,
//! per-store sync status, and customers' data keys with their erasures (kept
//! apart from the events, so an erasure deletes keys while the journals stay
//! whole).
//!
//! Two implementations behind one trait: PostgreSQL (`pg`, many stateless
//! ingest nodes may share one database) and an embedded redb file
//! (`embedded`, for demos). Both must give the same answers; the batch check
//! and projection rules come from `keel_uplink::{ingest, project}`, so this
//! module only loads, locks and writes. Shared between the two: `plan` (display
//! numbers, negative-stock flags, flag order), `customers` (key merges,
//! erasures and what the operator may see of a customer), `prices` (the cached
//! central price book), `rows` (report assembly) and `codec` (stored encodings
//! and number conversions). `release` holds OTA releases, their bundle
//! chunks and terminals' OTA reports (a trait of its own, which every
//! `CloudStore` also implements).
//!
//! Status semantics both follow: a health report is a successful sync (it sets
//! leader, pending, reported failed syncs and disk; without an error it keeps
//! the last error recorded); an acked batch is a successful sync too and clears
//! the count of refusals since the last success; each refusal adds one error
//! and one failed sync. `failed_syncs` is the store's reported count plus
//! refusals since the last acked batch.

mod codec;
mod customers;
pub mod embedded;
mod flagged;
pub mod pg;
mod plan;
mod prices;
pub mod release;
mod rows;

pub use embedded::EmbeddedStore;
pub use flagged::FlaggedSale;
pub use pg::PgStore;

use keel_core::customer::Customer;
use keel_core::ids::{StoreId, TerminalId};
use keel_core::pii::KeyRing;
use keel_uplink::ingest::BatchRefusal;
use keel_uplink::project::{OrderRow, ReviewFlag};
use keel_uplink::wire::{Batch, Publication, PublishedItem, StoreHealth};
use keel_uplink::UplinkMarks;
use std::path::Path;
use thiserror::Error;

/// File name of the embedded store in the service's data directory.
pub const EMBEDDED_FILE: &str = "cloud.redb";

/// Opens the service's storage: PostgreSQL at `database_url` (migrating its
/// schema), or with no URL the embedded store `cloud.redb` in `data_dir`
/// (created with the directory when missing).
pub fn open_store(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Box<dyn CloudStore>, StoreError> {
    match database_url {
        Some(url) => Ok(Box::new(PgStore::connect(url)?)),
        None => {
            std::fs::create_dir_all(data_dir).map_err(|e| {
                StoreError::Database(format!("creating {}: {e}", data_dir.display()))
            })?;
            Ok(Box::new(EmbeddedStore::open(
                &data_dir.join(EMBEDDED_FILE),
            )?))
        }
    }
}

/// Errors of a storage operation.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The batch was refused; nothing of it was stored.
    #[error("batch refused: {0}")]
    Refused(#[from] BatchRefusal),
    /// The database cannot be reached or failed.
    #[error("database: {0}")]
    Database(String),
    /// Stored data cannot be read back (corrupt or from a newer version).
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
    /// A bad argument (unknown store in a query, bad day format...).
    #[error("{0}")]
    Invalid(String),
}

/// What storing a batch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Records newly stored.
    pub accepted: u64,
    /// Records already held.
    pub duplicates: u64,
    /// The cloud's marks for the store after the batch.
    pub marks: UplinkMarks,
    /// Review flags the batch raised (price overrides, negative stock,
    /// order-number conflicts), as stored; the service logs them (one line per batch).
    pub flags: Vec<ReviewFlag>,
}

/// One store in the status view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStatus {
    /// The store.
    pub store: StoreId,
    /// Its leader at the last session.
    pub leader: Option<TerminalId>,
    /// Last successful sync (a session or an acked batch), cloud clock, ms.
    pub last_sync_ms: Option<u64>,
    /// Last time the store was heard from at all, cloud clock, ms.
    pub last_seen_ms: Option<u64>,
    /// Pending records as the store last reported.
    pub pending: u64,
    /// Consecutive failed syncs as the store reported plus batches refused since the last success.
    pub failed_syncs: u32,
    /// Total refusals recorded for the store.
    pub errors: u64,
    /// The last error (the store's own or a refusal), if any.
    pub last_error: Option<String>,
    /// Free disk on the store's leader, percent, as reported.
    pub disk_free_pct: Option<u8>,
    /// Events stored for the store.
    pub events: u64,
    /// Sales its terminals flagged for review (adaptive offline risk).
    pub flagged: u64,
}

/// Sales totals of one store and day in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayRow {
    /// Store.
    pub store: StoreId,
    /// Day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Currency code.
    pub currency: String,
    /// Totals.
    pub totals: keel_uplink::project::DayTotals,
    /// Per tender kind: amount, minor units.
    pub tenders: Vec<(String, i64)>,
    /// Per tax class and rate (bp): net and tax, minor units.
    pub taxes: Vec<(String, u32, i64, i64)>,
}

/// Rows of the sales report, ordered by store then day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalesReport {
    /// One row per store, day and currency.
    pub rows: Vec<DayRow>,
}

/// An order as listed by the cloud, with its display number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedOrder {
    /// Store.
    pub store: StoreId,
    /// The order.
    pub order: OrderRow,
    /// Its display number: the order number, suffixed `-B`, `-C`... when
    /// another store used the same number earlier.
    pub display_no: String,
}

/// A review flag with its store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFlag {
    /// Store.
    pub store: StoreId,
    /// The flag.
    pub flag: ReviewFlag,
}

/// Database health for the health endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbHealth {
    /// `postgresql` or `embedded`.
    pub kind: &'static str,
    /// Reachable and answering.
    pub connected: bool,
    /// Detail (server version, file path, or the error).
    pub detail: String,
}

/// What the operator may see of one customer of a store.
#[derive(Clone, PartialEq, Eq)]
pub enum CustomerView {
    /// The newest sealed record, opened with the customer's key.
    Readable(Customer),
    /// The customer was erased (their keys are deleted); when it was requested
    /// (ms since the epoch; 0 when unknown).
    Erased {
        /// Time of the erasure request.
        at_ms: u64,
    },
    /// A sealed record is here, but the key that sealed it has not reached the
    /// cloud (keys travel apart from the journal).
    KeyMissing,
}

impl std::fmt::Debug for CustomerView {
    /// Never shows personal data (so a stray log line cannot leak it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CustomerView::Readable(c) => write!(f, "Readable({}, personal data hidden)", c.id),
            CustomerView::Erased { at_ms } => write!(f, "Erased {{ at_ms: {at_ms} }}"),
            CustomerView::KeyMissing => write!(f, "KeyMissing"),
        }
    }
}

/// The cloud's storage. Implementations are thread-safe; every method is one
/// transaction. Ingest is idempotent: the same batch twice, or two leaders'
/// overlapping batches, store each record once.
pub trait CloudStore: Send + Sync + release::ReleaseStore {
    /// Checks and stores a batch from `store` in one transaction, with the
    /// projections of the records it adds; refused batches store nothing and are
    /// recorded as a failure of the store (the reason is kept for the status view).
    fn ingest(
        &self,
        store: &StoreId,
        batch: &Batch,
        now_ms: u64,
    ) -> Result<IngestOutcome, StoreError>;

    /// The cloud's marks for a store (no downlink mark: that is the store's own).
    fn marks(&self, store: &StoreId) -> Result<UplinkMarks, StoreError>;

    /// Records a session or health report from a store's leader (a report
    /// without an error keeps the last error recorded).
    fn record_health(
        &self,
        store: &StoreId,
        leader: TerminalId,
        health: &StoreHealth,
        now_ms: u64,
    ) -> Result<(), StoreError>;

    /// Records a refused message from a store (bad hello, malformed bytes...).
    fn record_refusal(&self, store: &StoreId, reason: &str, now_ms: u64) -> Result<(), StoreError>;

    /// Publishes an item to `stores` (empty: every store); returns its number.
    fn publish(
        &self,
        stores: &[StoreId],
        item: &PublishedItem,
        now_ms: u64,
    ) -> Result<u64, StoreError>;

    /// Publications for `store` numbered above `after`, oldest first, at most `limit`.
    fn publications_after(
        &self,
        store: &StoreId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Publication>, StoreError>;

    /// Every store known, for the status view.
    fn status(&self) -> Result<Vec<StoreStatus>, StoreError>;

    /// Sales per store and day between two days inclusive (`YYYY-MM-DD`; `None`: open).
    fn sales_report(&self, from: Option<&str>, to: Option<&str>)
        -> Result<SalesReport, StoreError>;

    /// Orders, newest first, at most `limit` (of one store or all).
    fn orders(&self, store: Option<&StoreId>, limit: usize)
        -> Result<Vec<ListedOrder>, StoreError>;

    /// Review flags (price overrides, negative stock, order-number conflicts), oldest first.
    fn flags(&self, store: Option<&StoreId>) -> Result<Vec<StoreFlag>, StoreError>;

    /// Sales flagged for review by the terminals' risk checks (of one store
    /// or all), oldest first (by time, then store, terminal and record).
    fn flagged_sales(&self, store: Option<&StoreId>) -> Result<Vec<FlaggedSale>, StoreError>;

    /// Stock per SKU of a store.
    fn stock(&self, store: &StoreId) -> Result<Vec<(keel_core::ids::Sku, i64)>, StoreError>;

    /// Events stored (of one store or all).
    fn event_count(&self, store: Option<&StoreId>) -> Result<u64, StoreError>;

    /// One stored journal record exactly as its terminal wrote it (for audits:
    /// the chain can be checked from these bytes), if held in full.
    fn event_record(
        &self,
        store: &StoreId,
        terminal: TerminalId,
        seq: u64,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Merges a chunk of `store`'s key ring into the keys the cloud holds for
    /// that store, in one transaction, with keel-core's `KeyRing` rule (keys
    /// grow; an erasure wins, is final and keeps its earliest time), honouring
    /// erasures recorded for the store or for every store. Returns the merged
    /// entries of exactly the customers in `ring`. Keys of one store are never
    /// given to another.
    fn merge_keys(
        &self,
        store: &StoreId,
        ring: &KeyRing,
        now_ms: u64,
    ) -> Result<KeyRing, StoreError>;

    /// Erases `customer` in `stores` (empty: every store, including stores that
    /// upload a key for that id later): their keys are deleted, an erasure
    /// tombstone at `now_ms` stays. Idempotent. Returns how many stores' keys
    /// were deleted by this call.
    fn erase_customer(
        &self,
        stores: &[StoreId],
        customer: &str,
        now_ms: u64,
    ) -> Result<u64, StoreError>;

    /// What the operator may see of customer `id` of `store`: its newest sealed
    /// record opened with the keys the cloud holds, or that it was erased, or
    /// that its key has not arrived; `None` when the cloud knows nothing of it.
    fn customer(&self, store: &StoreId, id: &str) -> Result<Option<CustomerView>, StoreError>;

    /// Whether the database answers.
    fn health(&self) -> DbHealth;
}
