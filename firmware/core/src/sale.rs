//! Completed sales, voids and refunds as journaled: everything a receipt, a
//! report or the cloud needs, priced and taxed at the moment of sale.

use crate::catalog::SoldBy;
use crate::ids::{ReceiptNo, Sku, TicketId, UserId};
use crate::money::Money;
use crate::tax::{TaxLine, TaxMode};
use crate::tender::Tender;
use serde::{Deserialize, Serialize};

/// A priced line of a completed sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    /// Line number from the cart.
    pub line_no: u32,
    /// Item.
    pub sku: Sku,
    /// Name at the time of sale.
    pub name: String,
    /// Units or grams.
    pub qty: i64,
    /// Unit or weight.
    pub sold_by: SoldBy,
    /// Unit price charged (after any override), per unit or per kg.
    pub unit_price: Money,
    /// Catalog price at the time of sale.
    pub list_price: Money,
    /// Line amount before discounts.
    pub gross: Money,
    /// Line discount plus this line's share of the cart discount (positive).
    pub discount: Money,
    /// Amount charged for the line (gross - discount), as priced on the shelf.
    pub amount: Money,
    /// Tax class.
    pub tax_class: String,
    /// Override reason, when a manager changed the price.
    pub override_reason: Option<String>,
    /// Kitchen station, if routed.
    pub kitchen_station: Option<String>,
}

/// A completed sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    /// Gapless receipt number on this terminal.
    pub receipt_no: ReceiptNo,
    /// Shift the sale belongs to.
    pub shift_no: u64,
    /// Cashier.
    pub cashier: UserId,
    /// Lines that were not voided.
    pub lines: Vec<SaleLine>,
    /// Number of lines voided before completion (for reports).
    pub voided_lines: u32,
    /// Sum of line amounts (shelf prices after discounts).
    pub subtotal: Money,
    /// Total discount given.
    pub discount_total: Money,
    /// Inclusive or exclusive pricing at the time.
    pub tax_mode: TaxMode,
    /// Taxes per rate.
    pub taxes: Vec<TaxLine>,
    /// Tax total.
    pub tax_total: Money,
    /// Total owed before cash rounding.
    pub total: Money,
    /// Cash rounding adjustment (rounded due - total); zero without cash.
    pub rounding: Money,
    /// Tenders received.
    pub tenders: Vec<Tender>,
    /// Change given in cash.
    pub change: Money,
    /// Kitchen tickets created for this sale.
    pub tickets: Vec<TicketId>,
}

impl Sale {
    /// What the customer paid net of change (total + rounding).
    pub fn amount_due(&self) -> Money {
        Money::new(self.total.minor + self.rounding.minor, self.total.currency)
    }
}

/// A void of a completed sale (the whole receipt).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidRecord {
    /// Receipt voided.
    pub receipt_no: ReceiptNo,
    /// Manager who authorised it.
    pub by: UserId,
    /// Amount returned (the sale's amount due).
    pub amount: Money,
    /// Part of `amount` paid back in cash from the drawer.
    pub cash_returned: Money,
    /// Stock returned per SKU (units or grams).
    pub restock: Vec<(Sku, i64)>,
    /// Shift in which the void happened.
    pub shift_no: u64,
}

/// One refunded line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// Line number on the original receipt.
    pub line_no: u32,
    /// Item.
    pub sku: Sku,
    /// Quantity refunded (units or grams).
    pub qty: i64,
    /// Amount returned for this line.
    pub amount: Money,
    /// Tax class of the line.
    pub tax_class: String,
}

/// A refund against an original receipt, paid back in cash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    /// Original receipt.
    pub original: ReceiptNo,
    /// Refunded lines.
    pub lines: Vec<RefundLine>,
    /// Total returned.
    pub total: Money,
    /// Manager who authorised it.
    pub by: UserId,
    /// Shift in which the refund happened.
    pub shift_no: u64,
}
