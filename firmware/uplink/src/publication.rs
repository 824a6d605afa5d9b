//! How a publication from the cloud becomes store events, pure: the leader
//! journals these once raft has committed the publication, and replication
//! carries them to every terminal.

use crate::wire::PublishedItem;
use keel_core::catalog::Catalog;
use keel_core::event::EventBody;
use keel_core::money::{Currency, Money};

/// Setting key prefix under which published tax rates are recorded.
pub const TAX_RATE_KEY: &str = "tax.rate.";

/// Setting key prefix under which published promotions are recorded.
pub const PROMOTION_KEY: &str = "promotion.";

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
        } => Ok(vec![EventBody::SettingChanged {
            key: format!("{PROMOTION_KEY}{id}"),
            value: format!("{} {} {} {}", sku.0, discount_bp, from_ms, until_ms),
        }]),
        // Erasure deletes a key outside the journal; it adds no event.
        PublishedItem::EraseCustomer { .. } => Ok(Vec::new()),
    }
}
