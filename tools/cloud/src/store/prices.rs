//! The central price book as ingest needs it, cached in memory: every price
//! published (an `Item` with its price, or a `Price`), by publication time, per
//! store (publications for every store, plus those naming the store).
//!
//! Adapters feed it the publications numbered above [`PriceCache::seen`] when
//! the stored count moved, then ask for one store's book. Must not read storage
//! itself.

use keel_core::ids::{Sku, StoreId};
use keel_uplink::project::PriceBook;
use keel_uplink::wire::{Publication, PublishedItem};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One published price.
#[derive(Clone, Debug)]
struct Entry {
    stores: Vec<StoreId>,
    sku: Sku,
    at_ms: u64,
    price_minor: i64,
}

/// Price books built from publications, per store.
#[derive(Debug, Default)]
pub(crate) struct PriceCache {
    seen: u64,
    entries: Vec<Entry>,
    all: Arc<PriceBook>,
    targeted: HashSet<StoreId>,
    per_store: HashMap<StoreId, Arc<PriceBook>>,
}

impl PriceCache {
    /// The newest publication number folded in.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    /// Folds in a publication (any kind; only prices matter here).
    pub(crate) fn add(&mut self, p: &Publication) {
        self.seen = self.seen.max(p.seq);
        let (sku, price_minor) = match &p.item {
            PublishedItem::Item(item) => (item.sku.clone(), item.price.minor),
            PublishedItem::Price { sku, price_minor } => (sku.clone(), *price_minor),
            _ => return,
        };
        let e = Entry {
            stores: p.stores.clone(),
            sku,
            at_ms: p.published_ms,
            price_minor,
        };
        if e.stores.is_empty() {
            Arc::make_mut(&mut self.all).add(e.sku.clone(), e.at_ms, e.price_minor);
        } else {
            self.targeted.extend(e.stores.iter().cloned());
        }
        self.entries.push(e);
        self.per_store.clear();
    }

    /// The book that applies to `store`.
    pub(crate) fn book_for(&mut self, store: &StoreId) -> Arc<PriceBook> {
        if !self.targeted.contains(store) {
            return self.all.clone();
        }
        if let Some(b) = self.per_store.get(store) {
            return b.clone();
        }
        let mut book = PriceBook::default();
        for e in &self.entries {
            if e.stores.is_empty() || e.stores.contains(store) {
                book.add(e.sku.clone(), e.at_ms, e.price_minor);
            }
        }
        let book = Arc::new(book);
        self.per_store.insert(store.clone(), book.clone());
        book
    }
}
