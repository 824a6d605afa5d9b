//! How a publication from the cloud becomes store events, pure: the leader
//! journals these, and replication carries them to every terminal. Tax rates
//! and promotions become settings that keel-core's `published` reads back
//! when pricing a sale.

use crate::wire::PublishedItem;
use keel_core::catalog::Catalog;
use keel_core::event::EventBody;
use keel_core::money::{Currency, Money};

pub use keel_core::published::{PROMOTION_KEY, TAX_RATE_KEY};

/// The events that apply `item` to a store whose catalog is `catalog` and whose
/// currency is `currency`, or why it cannot be applied (the leader logs it and
/// moves on: a publication never blocks the ones after it).
pub fn events_for(
    item: &PublishedItem,
    catalog: &Catalog,
    currency: Currency,
) -> Result<Vec<EventBody>, String> {
    match item {
        PublishedItem::Item(ci) => {
            if ci.price.currency != currency {
                return Err(format!(
                    "item {} is priced in {}, the store sells in {}",
                    ci.sku.0,
                    ci.price.currency.code(),
                    currency.code()
                ));
            }
            Ok(vec![EventBody::CatalogUpserted(ci.clone())])
        }
        PublishedItem::Price { sku, price_minor } => {
            let Some(existing) = catalog.get(sku) else {
                return Err(format!("price for unknown SKU {}", sku.0));
            };
            if *price_minor < 0 {
                return Err(format!("negative price for {}", sku.0));
            }
            let mut item = existing.clone();
            item.price = Money::new(*price_minor, currency);
            Ok(vec![EventBody::CatalogUpserted(item)])
        }
        PublishedItem::Setting { key, value } => Ok(vec![EventBody::SettingChanged {
            key: key.clone(),
            value: value.clone(),
        }]),
        PublishedItem::TaxRate { class, rate_bp } => Ok(vec![EventBody::SettingChanged {
            key: format!("{TAX_RATE_KEY}{class}"),
            value: rate_bp.to_string(),
        }]),
        PublishedItem::Promotion {
            id,
            sku,
            discount_bp,
            from_ms,
            until_ms,
        } => {
            let (key, value) = keel_core::published::Promotion {
                id: id.clone(),
                sku: sku.clone(),
                discount_bp: *discount_bp,
                from_ms: *from_ms,
                until_ms: *until_ms,
            }
            .setting();
            Ok(vec![EventBody::SettingChanged { key, value }])
        }
        // Erasure deletes a key outside the journal; it adds no event.
        PublishedItem::EraseCustomer { .. } => Ok(Vec::new()),
    }
}
