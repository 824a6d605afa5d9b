//! Cart data: lines, discounts, overrides and tenders of the sale being rung up.
//! The rules that change a cart live in `engine::cart_rules`; this module is data.

use crate::catalog::SoldBy;
use crate::ids::{Sku, UserId};
use crate::money::Money;
use crate::tender::Tender;
use serde::{Deserialize, Serialize};

/// A discount on one line or the whole cart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Discount {
    /// A fixed amount off.
    Amount(Money),
    /// A percentage off, in basis points (1000 = 10 %).
    Percent(u32),
}

/// A manager's price override on a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// The new unit price.
    pub price: Money,
    /// Why (printed in the journal and on reports).
    pub reason: String,
    /// The manager who authorised it.
    pub by: UserId,
}

/// One line of the cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// 1-based line number, stable for the life of the cart.
    pub line_no: u32,
    /// Item sold.
    pub sku: Sku,
    /// Item name at the time of sale.
    pub name: String,
    /// Units, or grams for items sold by weight.
    pub qty: i64,
    /// Unit or weight.
    pub sold_by: SoldBy,
    /// Catalog price at the time of sale (per unit, or per kg).
    pub unit_price: Money,
    /// Price embedded in the barcode (price-embedded EAN-13): the whole line price.
    pub embedded_price: Option<Money>,
    /// Manager override of the unit price.
    pub price_override: Option<PriceOverride>,
    /// Line discount.
    pub discount: Option<Discount>,
    /// Voided lines stay on the cart (and in the journal) but count for nothing.
    pub voided: bool,
    /// Tax class at the time of sale.
    pub tax_class: String,
    /// Kitchen station to route to, if any.
    pub kitchen_station: Option<String>,
    /// The barcode scanned, if the line came from a scan.
    pub barcode: Option<String>,
}

/// An edit to the open cart; each is journaled as its own event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CartEdit {
    /// Start a new cart.
    Open,
    /// Add a line.
    AddLine(CartLine),
    /// Change a line's quantity.
    SetQty {
        /// Line number.
        line_no: u32,
        /// New quantity (units or grams).
        qty: i64,
    },
    /// Void one line.
    VoidLine {
        /// Line number.
        line_no: u32,
    },
    /// Discount one line (`Some(n)`) or the whole cart (`None`).
    Discount {
        /// Line number, or the whole cart.
        line_no: Option<u32>,
        /// The discount.
        discount: Discount,
    },
    /// Override a line's unit price (manager).
    Override {
        /// Line number.
        line_no: u32,
        /// The override.
        price_override: PriceOverride,
    },
    /// Add a tender.
    Tender(Tender),
    /// Abandon the cart (nothing sold).
    Cancel,
}

/// The open cart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// Lines in order of entry.
    pub lines: Vec<CartLine>,
    /// Whole-cart discount.
    pub cart_discount: Option<Discount>,
    /// Tenders so far.
    pub tenders: Vec<Tender>,
    /// Who opened the cart.
    pub opened_by: Option<UserId>,
}
