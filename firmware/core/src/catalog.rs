//! The catalog: items with their barcodes, prices, tax classes and units of
//! sale, plus lookup by barcode, SKU or name. Pure data and search; imports are
//! parsed in `catalog_import`.

use crate::hlc::Hlc;
use crate::ids::Sku;
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an item is measured at the till.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SoldBy {
    /// Whole units; the price is per unit.
    Unit,
    /// Weight in grams; the price is per kilogram.
    Weight,
}

/// One catalog item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    /// Stock-keeping unit, unique in the store.
    pub sku: Sku,
    /// Barcodes that identify this item (EAN-13, EAN-8, UPC-A), check digits valid.
    pub barcodes: Vec<String>,
    /// Name shown on screen and receipts.
    pub name: String,
    /// Category for the product grid and reports.
    pub category: String,
    /// Price per unit, or per kilogram for items sold by weight.
    pub price: Money,
    /// Tax class naming a rate in the store's tax table.
    pub tax_class: String,
    /// Unit or weight.
    pub sold_by: SoldBy,
    /// Inactive items cannot be sold but stay in history.
    pub active: bool,
    /// Kitchen station that prepares this item, if any (e.g. `grill`, `bar`).
    pub kitchen_station: Option<String>,
}

/// The store's catalog, indexed by SKU and by barcode.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    items: BTreeMap<Sku, CatalogItem>,
    by_barcode: BTreeMap<String, Sku>,
    /// When each item was last written (last-writer-wins register per SKU).
    versions: BTreeMap<Sku, Hlc>,
}

impl Catalog {
    /// Inserts or replaces an item (last write wins), re-indexing its barcodes.
    pub fn upsert(&mut self, item: CatalogItem) {
        if let Some(old) = self.items.get(&item.sku) {
            for code in &old.barcodes {
                if self.by_barcode.get(code) == Some(&old.sku) {
                    self.by_barcode.remove(code);
                }
            }
        }
        for code in &item.barcodes {
            self.by_barcode.insert(code.clone(), item.sku.clone());
        }
        self.items.insert(item.sku.clone(), item);
    }

    /// Last-writer-wins upsert: applies `item` written at `at` only if no later
    /// write of the same SKU was applied (ties broken by the HLC's node). Returns
    /// whether it was applied. Merging in any order gives the same catalog.
    pub fn upsert_lww(&mut self, item: CatalogItem, at: Hlc) -> bool {
        if self
            .versions
            .get(&item.sku)
            .is_some_and(|current| *current >= at)
        {
            return false;
        }
        self.versions.insert(item.sku.clone(), at);
        self.upsert(item);
        true
    }

    /// When the item with this SKU was last written.
    pub fn version(&self, sku: &Sku) -> Option<Hlc> {
        self.versions.get(sku).copied()
    }

    /// The item with this SKU.
    pub fn get(&self, sku: &Sku) -> Option<&CatalogItem> {
        self.items.get(sku)
    }

    /// The item carrying exactly this barcode.
    pub fn by_barcode(&self, code: &str) -> Option<&CatalogItem> {
        self.by_barcode
            .get(code)
            .and_then(|sku| self.items.get(sku))
    }

    /// Items whose SKU, name, category or barcode contains `query` (case-insensitive), SKU order.
    pub fn search(&self, query: &str) -> Vec<&CatalogItem> {
        let q = query.trim().to_lowercase();
        self.items
            .values()
            .filter(|i| {
                q.is_empty()
                    || i.sku.0.to_lowercase().contains(&q)
                    || i.name.to_lowercase().contains(&q)
                    || i.category.to_lowercase().contains(&q)
                    || i.barcodes.iter().any(|b| b.contains(&q))
            })
            .collect()
    }

    /// All items in SKU order.
    pub fn items(&self) -> impl Iterator<Item = &CatalogItem> {
        self.items.values()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
