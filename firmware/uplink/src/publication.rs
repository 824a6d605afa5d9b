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

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::catalog::{CatalogItem, SoldBy};
    use keel_core::ids::Sku;
    use keel_core::published::Promotion;

    fn tea(price: Money) -> CatalogItem {
        CatalogItem {
            sku: Sku("TEA".into()),
            barcodes: vec![],
            name: "Tea".into(),
            category: "drinks".into(),
            price,
            tax_class: "standard".into(),
            sold_by: SoldBy::Unit,
            active: true,
            kitchen_station: None,
        }
    }

    #[test]
    fn every_kind_becomes_events_or_a_reason() {
        let eur = Currency::EUR;
        let mut catalog = Catalog::default();
        // An item in the store's currency is upserted; in another, refused.
        let item = PublishedItem::Item(tea(Money::new(2_00, eur)));
        assert_eq!(
            events_for(&item, &catalog, eur).unwrap(),
            [EventBody::CatalogUpserted(tea(Money::new(2_00, eur)))]
        );
        let idr = PublishedItem::Item(tea(Money::new(8_000, Currency::IDR)));
        let e = events_for(&idr, &catalog, eur).unwrap_err();
        assert!(e.contains("priced in IDR"), "{e}");
        // A price: the known item at the new price; unknown or negative refused.
        let price = |minor| PublishedItem::Price {
            sku: Sku("TEA".into()),
            price_minor: minor,
        };
        assert!(events_for(&price(2_50), &catalog, eur)
            .unwrap_err()
            .contains("unknown SKU TEA"));
        catalog.upsert(tea(Money::new(2_00, eur)));
        assert_eq!(
            events_for(&price(2_50), &catalog, eur).unwrap(),
            [EventBody::CatalogUpserted(tea(Money::new(2_50, eur)))]
        );
        assert!(events_for(&price(-1), &catalog, eur)
            .unwrap_err()
            .contains("negative price"));
        // A setting, a tax rate and a promotion are settings keel-core reads back.
        let setting = PublishedItem::Setting {
            key: "receipt.footer".into(),
            value: "Danke".into(),
        };
        assert_eq!(
            events_for(&setting, &catalog, eur).unwrap(),
            [EventBody::SettingChanged {
                key: "receipt.footer".into(),
                value: "Danke".into()
            }]
        );
        let rate = PublishedItem::TaxRate {
            class: "luxury".into(),
            rate_bp: 2_500,
        };
        assert_eq!(
            events_for(&rate, &catalog, eur).unwrap(),
            [EventBody::SettingChanged {
                key: format!("{TAX_RATE_KEY}luxury"),
                value: "2500".into()
            }]
        );
        let promo = PublishedItem::Promotion {
            id: "P1".into(),
            sku: Sku("TEA".into()),
            discount_bp: 1_000,
            from_ms: 5,
            until_ms: 9,
        };
        let events = events_for(&promo, &catalog, eur).unwrap();
        let [EventBody::SettingChanged { key, value }] = events.as_slice() else {
            panic!("one setting")
        };
        assert_eq!(
            Promotion::parse(key, value),
            Some(Promotion {
                id: "P1".into(),
                sku: Sku("TEA".into()),
                discount_bp: 1_000,
                from_ms: 5,
                until_ms: 9,
            })
        );
        // An erasure adds no event (it deletes a key outside the journal).
        let erase = PublishedItem::EraseCustomer {
            customer: "C-1".into(),
        };
        assert!(events_for(&erase, &catalog, eur).unwrap().is_empty());
    }
}
