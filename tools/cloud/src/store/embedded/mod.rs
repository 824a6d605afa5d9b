//! The embedded store: one redb file (`cloud.redb`) for a demo or a single
//! node, with the same answers as PostgreSQL.
//!
//! Owns the file, its schema version, customers' keys and erasures, and the
//! same ingest semantics as the PostgreSQL store (redb serializes write transactions, so concurrent ingests
//! of overlapping batches store each record once). Must not be shared by two
//! processes: redb locks the file, and the service with no database URL is a
//! single node by design.

mod flagged;
mod ingest;
mod keys;
mod read;
mod release;
mod tables;
mod write;

use super::prices::PriceCache;
use super::{
    CloudStore, CustomerView, DbHealth, IngestOutcome, ListedOrder, SalesReport, StoreError,
    StoreFlag, StoreStatus,
};
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_core::pii::KeyRing;
use keel_uplink::wire::{Batch, Publication, PublishedItem, StoreHealth};
use keel_uplink::UplinkMarks;
use redb::{Database, ReadableDatabase, ReadableTable};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tables::{db, KEY_SCHEMA, META, SCHEMA_VERSION};

/// The cloud's storage in one redb file.
pub struct EmbeddedStore {
    db: Database,
    path: PathBuf,
    prices: Mutex<PriceCache>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        let database = Database::create(path)
            .map_err(|e| StoreError::Database(format!("opening {}: {e}", path.display())))?;
        let txn = database.begin_write().map_err(db)?;
        {
            tables::create_all(&txn)?;
            release::create(&txn)?;
            let mut meta = txn.open_table(META).map_err(db)?;
            let version = meta.get(KEY_SCHEMA).map_err(db)?.map(|v| v.value());
            match version {
                None => {
                    meta.insert(KEY_SCHEMA, SCHEMA_VERSION).map_err(db)?;
                }
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::Corrupt(format!(
                        "{} has schema version {v}, newer than this build's {SCHEMA_VERSION}",
                        path.display()
                    )))
                }
                Some(_) => {}
            }
        }
        txn.commit().map_err(db)?;
        log::info!("embedded store {}", path.display());
        Ok(EmbeddedStore {
            db: database,
            path: path.to_path_buf(),
            prices: Mutex::new(PriceCache::default()),
        })
    }
}

impl CloudStore for EmbeddedStore {
    fn ingest(
        &self,
        store: &StoreId,
        batch: &Batch,
        now_ms: u64,
    ) -> Result<IngestOutcome, StoreError> {
        ingest::ingest(self, store, batch, now_ms)
    }

    fn marks(&self, store: &StoreId) -> Result<UplinkMarks, StoreError> {
        read::marks(self, store)
    }

    fn record_health(
        &self,
        store: &StoreId,
        leader: TerminalId,
        health: &StoreHealth,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        write::record_health(self, store, leader, health, now_ms)
    }

    fn record_refusal(&self, store: &StoreId, reason: &str, now_ms: u64) -> Result<(), StoreError> {
        write::record_refusal(self, store, reason, now_ms)
    }

    fn publish(
        &self,
        stores: &[StoreId],
        item: &PublishedItem,
        now_ms: u64,
    ) -> Result<u64, StoreError> {
        write::publish(self, stores, item, now_ms)
    }

    fn publications_after(
        &self,
        store: &StoreId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Publication>, StoreError> {
        read::publications_after(self, store, after, limit)
    }

    fn status(&self) -> Result<Vec<StoreStatus>, StoreError> {
        read::status(self)
    }

    fn sales_report(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<SalesReport, StoreError> {
        read::sales_report(self, from, to)
    }

    fn orders(
        &self,
        store: Option<&StoreId>,
        limit: usize,
    ) -> Result<Vec<ListedOrder>, StoreError> {
        read::orders(self, store, limit)
    }

    fn flags(&self, store: Option<&StoreId>) -> Result<Vec<StoreFlag>, StoreError> {
        read::flags(self, store)
    }

    fn stock(&self, store: &StoreId) -> Result<Vec<(Sku, i64)>, StoreError> {
        read::stock(self, store)
    }

    fn flagged_sales(
        &self,
        store: Option<&StoreId>,
    ) -> Result<Vec<super::FlaggedSale>, StoreError> {
        flagged::list(self, store)
    }

    fn event_count(&self, store: Option<&StoreId>) -> Result<u64, StoreError> {
        read::event_count(self, store)
    }

    fn event_record(
        &self,
        store: &StoreId,
        terminal: TerminalId,
        seq: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        read::event_record(self, store, terminal, seq)
    }

    fn merge_keys(
        &self,
        store: &StoreId,
        ring: &KeyRing,
        now_ms: u64,
    ) -> Result<KeyRing, StoreError> {
        keys::merge_keys(self, store, ring, now_ms)
    }

    fn erase_customer(
        &self,
        stores: &[StoreId],
        customer: &str,
        now_ms: u64,
    ) -> Result<u64, StoreError> {
        keys::erase_customer(self, stores, customer, now_ms)
    }

    fn customer(&self, store: &StoreId, id: &str) -> Result<Option<CustomerView>, StoreError> {
        keys::customer(self, store, id)
    }

    fn health(&self) -> DbHealth {
        let ok = self.db.begin_read().map(|_| ()).map_err(db);
        DbHealth {
            kind: "embedded",
            connected: ok.is_ok(),
            detail: match ok {
                Ok(()) => format!("redb file {}", self.path.display()),
                Err(e) => format!("redb file {}: {e}", self.path.display()),
            },
        }
    }
}
