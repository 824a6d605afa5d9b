//! The PostgreSQL store: many stateless ingest nodes may share one database.
//!
//! Owns the connection pool, the schema and its migrations, the ingest
//! transaction, customers' keys and erasures, and the queries. Every ingest runs in one transaction that locks
//! the cursor rows of the batch's origins, so concurrent nodes (or two leaders
//! after a split brain) store each record once. Must not hold state that other
//! nodes would need: the only thing cached in memory is the price book, which
//! is refreshed from `publications` before each batch.

mod flagged;
mod ingest;
mod keys;
mod pool;
mod project;
mod read;
mod release;
mod schema;
mod write;

use super::prices::PriceCache;
use super::{
    CloudStore, CustomerView, DbHealth, IngestOutcome, ListedOrder, SalesReport, StoreError,
    StoreFlag, StoreStatus,
};
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_core::pii::KeyRing;
use keel_uplink::project::PriceBook;
use keel_uplink::wire::{Batch, Publication, PublishedItem, StoreHealth};
use keel_uplink::UplinkMarks;
use pool::{Pool, Retry};
use std::sync::{Arc, Mutex};

/// The cloud's storage in PostgreSQL.
pub struct PgStore {
    pool: Pool,
    prices: Mutex<PriceCache>,
    target: String,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and brings the schema
    /// up to date (safe when several nodes start at once).
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        let pool = Pool::new(url)?;
        let target = describe_target(url);
        let store = PgStore {
            pool,
            prices: Mutex::new(PriceCache::default()),
            target,
        };
        let applied = store.migrate()?;
        log::info!(
            "database {}: schema up to date ({applied} migration(s) applied)",
            store.target
        );
        Ok(store)
    }

    /// Applies missing migrations; returns how many (0 when up to date).
    pub fn migrate(&self) -> Result<usize, StoreError> {
        self.pool.run(Retry::RolledBack, schema::migrate)
    }

    /// The price book for `store`, with publications made since the last call.
    fn price_book(&self, store: &StoreId) -> Result<Arc<PriceBook>, StoreError> {
        let seen = self.prices.lock().map(|p| p.seen()).unwrap_or(0);
        let seen_i = super::codec::int(seen)?;
        let fresh: Vec<Publication> = self.pool.run(Retry::Safe, |c| {
            let rows = c.query(
                "SELECT seq, published_ms, stores, item FROM publications \
                 WHERE seq > $1 AND kind IN ('item', 'price') ORDER BY seq",
                &[&seen_i],
            )?;
            Ok(rows
                .iter()
                .map(read::publication)
                .collect::<Result<Vec<_>, _>>()?)
        })?;
        let mut cache = self
            .prices
            .lock()
            .map_err(|_| StoreError::Database("price cache lock poisoned".into()))?;
        let seen = cache.seen();
        for p in fresh.iter().filter(|p| p.seq > seen) {
            cache.add(p);
        }
        Ok(cache.book_for(store))
    }
}

/// `host:port/db` of a URL, without user or password, for logs and health.
fn describe_target(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or(rest).to_string()
}

impl CloudStore for PgStore {
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

    fn flagged_sales(
        &self,
        store: Option<&StoreId>,
    ) -> Result<Vec<super::FlaggedSale>, StoreError> {
        flagged::list(self, store)
    }

    fn stock(&self, store: &StoreId) -> Result<Vec<(Sku, i64)>, StoreError> {
        read::stock(self, store)
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
        match self.pool.run(Retry::Safe, |c| {
            Ok(
                c.query_one("SELECT current_setting('server_version')", &[])?
                    .get::<_, String>(0),
            )
        }) {
            Ok(version) => DbHealth {
                kind: "postgresql",
                connected: true,
                detail: format!("PostgreSQL {version} at {}", self.target),
            },
            Err(e) => DbHealth {
                kind: "postgresql",
                connected: false,
                detail: format!("{}: {e}", self.target),
            },
        }
    }
}
