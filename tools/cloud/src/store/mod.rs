//! Storage of the cloud service: the append-only events table, per-terminal
//! cursors and stubs, projections (sales per store and day, stock per store and
//! SKU), review flags, publications and per-store sync status.
//!
//! Two implementations behind one trait: PostgreSQL (`pg`, many stateless
//! ingest nodes may share one database) and an embedded redb file
//! (`embedded`, for demos). Both must give the same answers; the batch check
//! and projection rules come from `keel_uplink::{ingest, project}`, so this
//! module only loads, locks and writes. Shared between the two: `plan` (display
//! numbers, negative-stock flags, flag order), `prices` (the cached central
//! price book), `rows` (report assembly) and `codec` (stored encodings and
//! number conversions).
//!
//! Status semantics both follow: a health report is a successful sync (it sets
//! leader, pending, reported failed syncs and disk; without an error it keeps
//! the last error recorded); an acked batch is a successful sync too and clears
//! the count of refusals since the last success; each refusal adds one error
//! and one failed sync. `failed_syncs` is the store's reported count plus
//! refusals since the last acked batch.

mod codec;
pub mod embedded;
pub mod pg;
mod plan;
mod prices;
mod rows;

pub use embedded::EmbeddedStore;
pub use pg::PgStore;

use keel_core::ids::{StoreId, TerminalId};
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

/// The cloud's storage. Implementations are thread-safe; every method is one
/// transaction. Ingest is idempotent: the same batch twice, or two leaders'
/// overlapping batches, store each record once.
pub trait CloudStore: Send + Sync {
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

    /// Stock per SKU of a store.
    fn stock(&self, store: &StoreId) -> Result<Vec<(keel_core::ids::Sku, i64)>, StoreError>;

    /// Events stored (of one store or all).
    fn event_count(&self, store: Option<&StoreId>) -> Result<u64, StoreError>;

    /// Whether the database answers.
    fn health(&self) -> DbHealth;
}
