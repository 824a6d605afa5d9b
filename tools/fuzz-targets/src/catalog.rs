//! Catalog imports (`keel_core::catalog_import::parse_auto`): a CSV or JSON
//! file from a USB stick or the console's `catalog import`, in EUR and in IDR
//! (exponent 2 and 0), the format picked by content as for a file without an
//! extension, then by each extension.
//!
//! Property: every item that imports has a non-negative price in the store's
//! currency (money is integer minor units) and a non-empty SKU.

use keel_core::catalog_import::parse_auto;
use keel_core::money::Currency;

/// Imports `data` as a catalog file.
pub fn catalog_import(data: &[u8]) {
    let text = crate::text(data);
    for code in ["EUR", "IDR"] {
        let Ok(currency) = Currency::from_code(code) else {
            panic!("{code} is a known currency");
        };
        for hint in ["catalog", "catalog.csv", "catalog.json"] {
            if let Ok(items) = parse_auto(hint, &text, currency) {
                for item in &items {
                    assert!(!item.sku.0.is_empty(), "empty SKU imported: {item:?}");
                    assert!(item.price.minor >= 0, "negative price imported: {item:?}");
                    assert_eq!(item.price.currency, currency, "price in another currency");
                }
            }
        }
    }
}
