//! The simulated store's profile and catalog: a cut-down copy of the demo
//! store's (keel-terminal's `demo`, which the simulator does not link because
//! that crate pulls in the QUIC, device and AI stacks). Owns data only.

// Prices are written euros_cents (3_49 is 3.49 EUR), as in the demo store.
#![allow(clippy::inconsistent_digit_grouping, clippy::zero_prefixed_literal)]

use keel_core::auth::{Role, User};
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::event::EventBody;
use keel_core::ids::{Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::profile::StoreProfile;
use keel_core::tax::{CashRounding, RoundingMode, TaxConfig, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;

/// (sku, name, price in cents, tax class, opening stock).
pub const ITEMS: &[(&str, &str, i64, &str, i64)] = &[
    ("MILK1L", "Whole Milk 1 L", 1_29, "reduced", 200),
    ("BREAD", "Sourdough Loaf", 3_49, "reduced", 120),
    ("COFFEE", "Flat White", 3_20, "standard", 0),
    ("CROISSANT", "Butter Croissant", 1_90, "standard", 150),
    ("WATER", "Still Water 0.5 L", 0_99, "standard", 300),
    ("APPLES", "Apples 1 kg bag", 2_79, "reduced", 90),
    ("CHOC", "Dark Chocolate 100 g", 2_19, "standard", 80),
    ("NEWSPAPER", "Daily Paper", 2_50, "zero", 60),
];

/// The kitchen station an item is made at (a sale of it opens a kitchen ticket there).
pub fn kitchen_station(sku: &str) -> Option<&'static str> {
    match sku {
        "COFFEE" => Some("bar"),
        "CROISSANT" => Some("bakery"),
        _ => None,
    }
}

/// The store profile of terminal `terminal`.
pub fn profile(terminal: u32) -> StoreProfile {
    let eur = |minor| Money::new(minor, Currency::EUR);
    let rate = |class: &str, bp, label: &str| TaxRate {
        class: class.into(),
        rate_bp: bp,
        label: label.into(),
    };
    StoreProfile {
        store: StoreId("sim-store".into()),
        terminal: TerminalId(terminal),
        store_name: "Keel Simulated Market".into(),
        address: vec!["1 Harbour Road".into()],
        tax_id: None,
        currency: Currency::EUR,
        tax: TaxConfig {
            mode: TaxMode::Inclusive,
            rates: vec![
                rate("standard", 1900, "A"),
                rate("reduced", 700, "B"),
                rate("zero", 0, "C"),
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
                name: "Sim Cashier".into(),
                role: Role::Cashier,
                pin: "1111".into(),
            },
            User {
                id: UserId("manager".into()),
                name: "Sim Manager".into(),
                role: Role::Manager,
                pin: "9999".into(),
            },
        ],
        receipt_footer: None,
    }
}

/// The catalog and opening stock a terminal's journal starts with (terminal 1 only,
/// the others receive them by replication, as in a real store's first day).
pub fn seed_events() -> Vec<EventBody> {
    let mut out: Vec<EventBody> = ITEMS
        .iter()
        .map(|(sku, name, price, tax, _)| {
            EventBody::CatalogUpserted(CatalogItem {
                sku: Sku((*sku).into()),
                barcodes: Vec::new(),
                name: (*name).into(),
                category: "Sim".into(),
                price: Money::new(*price, Currency::EUR),
                tax_class: (*tax).into(),
                sold_by: SoldBy::Unit,
                active: true,
                kitchen_station: kitchen_station(sku).map(str::to_string),
            })
        })
        .collect();
    for (sku, _, _, _, stock) in ITEMS.iter().filter(|i| i.4 > 0) {
        out.push(EventBody::StockAdjusted {
            sku: Sku((*sku).into()),
            delta: *stock,
            reason: "opening stock".into(),
        });
    }
    out
}
