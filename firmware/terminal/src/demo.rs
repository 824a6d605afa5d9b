//! The built-in demo store (`--demo`): a small grocery and a cafe menu, priced in
//! euros with German-style inclusive VAT, demo PINs cashier 1111, manager 9999,
//! technician 0000. Its catalog and opening stock are journaled on first start
//! like any other catalog change.
//!
//! Prices are written `euros_cents` (`1_49` is 1.49 EUR), hence the lint allowances.

#![allow(clippy::inconsistent_digit_grouping, clippy::zero_prefixed_literal)]

use keel_core::auth::{Role, User};
use keel_core::barcode::check_digit;
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::event::EventBody;
use keel_core::ids::{Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::profile::StoreProfile;
use keel_core::tax::{CashRounding, RoundingMode, TaxConfig, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;

/// The demo store's profile for terminal `terminal`.
pub fn profile(terminal: u32) -> StoreProfile {
    let eur = |minor| Money::new(minor, Currency::EUR);
    StoreProfile {
        store: StoreId("demo-store".into()),
        terminal: TerminalId(terminal),
        store_name: "Keel Demo Market & Cafe".into(),
        address: vec!["1 Harbour Road".into(), "20457 Hamburg".into()],
        tax_id: Some("DE123456789".into()),
        currency: Currency::EUR,
        tax: TaxConfig {
            mode: TaxMode::Inclusive,
            rates: vec![
                TaxRate {
                    class: "standard".into(),
                    rate_bp: 1900,
                    label: "A".into(),
                },
                TaxRate {
                    class: "reduced".into(),
                    rate_bp: 700,
                    label: "B".into(),
                },
                TaxRate {
                    class: "zero".into(),
                    rate_bp: 0,
                    label: "C".into(),
                },
            ],
            rounding: RoundingMode::HalfUp,
            scope: TaxRoundingScope::PerReceipt,
        },
        cash_rounding: CashRounding {
            increment: 1,
            mode: RoundingMode::HalfUp,
        },
        card_limits: CardLimits {
            per_transaction: eur(250_00),
            total_offline: eur(2_000_00),
        },
        users: vec![
            User {
                id: UserId("cashier".into()),
                name: "Demo Cashier".into(),
                role: Role::Cashier,
                pin: "1111".into(),
            },
            User {
                id: UserId("manager".into()),
                name: "Demo Manager".into(),
                role: Role::Manager,
                pin: "9999".into(),
            },
            User {
                id: UserId("technician".into()),
                name: "Demo Technician".into(),
                role: Role::Technician,
                pin: "0000".into(),
            },
        ],
        receipt_footer: Some("Thank you for shopping with Keel".into()),
    }
}

/// An EAN-13 with its check digit computed from 12 digits.
fn ean13(first12: &str) -> String {
    format!("{first12}{}", check_digit(first12).unwrap_or(0))
}

struct DemoItem {
    sku: &'static str,
    barcode: Option<&'static str>,
    name: &'static str,
    category: &'static str,
    price: i64,
    tax: &'static str,
    sold_by: SoldBy,
    station: Option<&'static str>,
    stock: i64,
}

const ITEMS: &[DemoItem] = &[
    DemoItem {
        sku: "CHOC-100",
        barcode: Some("4006381333931"),
        name: "Dark Chocolate 100g",
        category: "Grocery",
        price: 1_49,
        tax: "reduced",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 120,
    },
    DemoItem {
        sku: "MILK-1L",
        barcode: Some("400123400001"),
        name: "Whole Milk 1L",
        category: "Grocery",
        price: 1_19,
        tax: "reduced",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 80,
    },
    DemoItem {
        sku: "BREAD-RYE",
        barcode: Some("400123400002"),
        name: "Rye Bread 750g",
        category: "Bakery",
        price: 3_29,
        tax: "reduced",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 30,
    },
    DemoItem {
        sku: "COFFEE-500",
        barcode: Some("400123400003"),
        name: "Coffee Beans 500g",
        category: "Grocery",
        price: 8_99,
        tax: "reduced",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 40,
    },
    DemoItem {
        sku: "WATER-15",
        barcode: Some("400123400004"),
        name: "Sparkling Water 1.5L",
        category: "Drinks",
        price: 0_79,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 200,
    },
    DemoItem {
        sku: "SOAP-BAR",
        barcode: Some("400123400005"),
        name: "Olive Soap",
        category: "Household",
        price: 2_49,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 50,
    },
    DemoItem {
        sku: "BATT-AA4",
        barcode: Some("400123400006"),
        name: "AA Batteries x4",
        category: "Household",
        price: 4_99,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 60,
    },
    DemoItem {
        sku: "BANANA",
        barcode: None,
        name: "Bananas (per kg)",
        category: "Produce",
        price: 1_69,
        tax: "reduced",
        sold_by: SoldBy::Weight,
        station: None,
        stock: 50_000,
    },
    DemoItem {
        sku: "APPLE",
        barcode: None,
        name: "Apples (per kg)",
        category: "Produce",
        price: 2_49,
        tax: "reduced",
        sold_by: SoldBy::Weight,
        station: None,
        stock: 40_000,
    },
    // Deli cheese: weighed at the counter scale, label 21-00001-GGGGG-C (grams embedded).
    DemoItem {
        sku: "CHEESE-GOUDA",
        barcode: Some("210000100000"),
        name: "Gouda (per kg)",
        category: "Deli",
        price: 14_90,
        tax: "reduced",
        sold_by: SoldBy::Weight,
        station: None,
        stock: 20_000,
    },
    // Bakery bag: priced label 23-00002-PPPPP-C (price embedded).
    DemoItem {
        sku: "BAKERY-BAG",
        barcode: Some("230000200000"),
        name: "Bakery Bag",
        category: "Bakery",
        price: 0,
        tax: "reduced",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 1_000,
    },
    DemoItem {
        sku: "ESPRESSO",
        barcode: None,
        name: "Espresso",
        category: "Cafe",
        price: 2_20,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: Some("bar"),
        stock: 0,
    },
    DemoItem {
        sku: "CAPPUCCINO",
        barcode: None,
        name: "Cappuccino",
        category: "Cafe",
        price: 3_40,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: Some("bar"),
        stock: 0,
    },
    DemoItem {
        sku: "TEA",
        barcode: None,
        name: "Black Tea",
        category: "Cafe",
        price: 2_50,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: Some("bar"),
        stock: 0,
    },
    DemoItem {
        sku: "SANDWICH",
        barcode: None,
        name: "Toasted Sandwich",
        category: "Cafe",
        price: 5_90,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: Some("kitchen"),
        stock: 0,
    },
    DemoItem {
        sku: "SOUP",
        barcode: None,
        name: "Soup of the Day",
        category: "Cafe",
        price: 4_80,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: Some("kitchen"),
        stock: 0,
    },
    DemoItem {
        sku: "CROISSANT",
        barcode: None,
        name: "Butter Croissant",
        category: "Cafe",
        price: 1_90,
        tax: "standard",
        sold_by: SoldBy::Unit,
        station: None,
        stock: 40,
    },
];

/// The demo catalog.
pub fn catalog() -> Vec<CatalogItem> {
    ITEMS
        .iter()
        .map(|i| CatalogItem {
            sku: Sku(i.sku.into()),
            barcodes: i
                .barcode
                .map(|b| {
                    if b.len() == 12 {
                        ean13(b)
                    } else {
                        b.to_string()
                    }
                })
                .into_iter()
                .collect(),
            name: i.name.into(),
            category: i.category.into(),
            price: Money::new(i.price, Currency::EUR),
            tax_class: i.tax.into(),
            sold_by: i.sold_by,
            active: true,
            kitchen_station: i.station.map(str::to_string),
        })
        .collect()
}

/// The events a new demo journal starts with: the catalog and opening stock.
pub fn seed_events() -> Vec<EventBody> {
    let mut out: Vec<EventBody> = catalog()
        .into_iter()
        .map(EventBody::CatalogUpserted)
        .collect();
    for i in ITEMS.iter().filter(|i| i.stock > 0) {
        out.push(EventBody::StockAdjusted {
            sku: Sku(i.sku.into()),
            delta: i.stock,
            reason: "opening stock".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::barcode::{classify, Barcode};

    #[test]
    fn demo_barcodes_are_valid() {
        for item in catalog() {
            for code in &item.barcodes {
                classify(code).unwrap_or_else(|e| panic!("{}: {code}: {e}", item.sku));
            }
        }
        // The deli label for 350 g of Gouda looks up the Gouda item.
        let label = ean13("210000100350");
        let b = classify(&label).unwrap();
        assert!(matches!(b, Barcode::WeightEmbedded { grams: 350, .. }));
        assert!(catalog()
            .iter()
            .any(|i| i.barcodes.contains(&b.embedded_lookup_key())));
    }
}
