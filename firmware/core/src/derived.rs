//! Derived state as the store persists it: named tables of key -> bytes that the
//! fold of the journal produces. The store writes these in the same transaction
//! as the events that caused them, and can rebuild them by replaying the journal.
//! This module only names the tables and the write; it does no I/O.

use serde::{Deserialize, Serialize};

/// The derived tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DerivedTable {
    /// The open cart (single key `open`).
    Cart,
    /// The open shift (single key `open`).
    Shift,
    /// Stock on hand per SKU.
    Stock,
    /// Kitchen tickets by id.
    Kitchen,
    /// Catalog items by SKU.
    Catalog,
    /// Receipt number -> journal seq of its sale, and its void/refund state.
    Receipts,
    /// Counters and small singletons (next receipt, next shift, card offline total...).
    Counters,
    /// Store settings (last writer by HLC wins).
    Settings,
    /// Customers (last writer by HLC wins), legacy records in clear.
    Customers,
    /// Customers with personal fields sealed (last writer by HLC wins).
    SealedCustomers,
    /// Counter orders by id (open and recently closed), and this terminal's
    /// last order number (key `last`).
    CounterOrders,
}

impl DerivedTable {
    /// Every table, for clearing and rebuilding.
    pub const ALL: [DerivedTable; 11] = [
        DerivedTable::Cart,
        DerivedTable::Shift,
        DerivedTable::Stock,
        DerivedTable::Kitchen,
        DerivedTable::Catalog,
        DerivedTable::Receipts,
        DerivedTable::Counters,
        DerivedTable::Settings,
        DerivedTable::Customers,
        DerivedTable::SealedCustomers,
        DerivedTable::CounterOrders,
    ];

    /// Stable name, used as the redb table name suffix.
    pub fn name(self) -> &'static str {
        match self {
            DerivedTable::Cart => "cart",
            DerivedTable::Shift => "shift",
            DerivedTable::Stock => "stock",
            DerivedTable::Kitchen => "kitchen",
            DerivedTable::Catalog => "catalog",
            DerivedTable::Receipts => "receipts",
            DerivedTable::Counters => "counters",
            DerivedTable::Settings => "settings",
            DerivedTable::Customers => "customers",
            DerivedTable::SealedCustomers => "sealed-customers",
            DerivedTable::CounterOrders => "counter-orders",
        }
    }
}

/// One write to a derived table: `Some` puts the value, `None` deletes the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedWrite {
    /// Table.
    pub table: DerivedTable,
    /// Key.
    pub key: String,
    /// New value (postcard bytes), or `None` to delete.
    pub value: Option<Vec<u8>>,
}
