//! Shifts and their reports: the running totals of an open shift (X report) and
//! the Z report that closes it, with gapless Z numbers. Data and arithmetic only.

use crate::ids::{ReceiptNo, UserId};
use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tax collected at one rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxTotal {
    /// Rate in basis points.
    pub rate_bp: u32,
    /// Net amount.
    pub net: Money,
    /// Tax amount.
    pub tax: Money,
}

/// Running totals of a shift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftTotals {
    /// Completed sales.
    pub sales_count: u64,
    /// Sum of amounts due of completed sales (before voids and refunds).
    pub sales_total: Money,
    /// Payments per tender kind ("cash" is net of change).
    pub tenders: BTreeMap<String, Money>,
    /// Tax per class.
    pub taxes: BTreeMap<String, TaxTotal>,
    /// Discounts given.
    pub discounts_total: Money,
    /// Manager price overrides.
    pub overrides_count: u64,
    /// Sales voided.
    pub voids_count: u64,
    /// Amount of voided sales.
    pub voids_total: Money,
    /// Refunds issued.
    pub refunds_count: u64,
    /// Amount refunded.
    pub refunds_total: Money,
    /// Drawer opens without a sale.
    pub no_sales: u64,
    /// Cash put into the drawer.
    pub cash_in: Money,
    /// Cash taken out of the drawer.
    pub cash_out: Money,
    /// Cash paid back for voids and refunds.
    pub cash_paid_back: Money,
    /// Sum of cash rounding adjustments.
    pub rounding_total: Money,
    /// First receipt of the shift.
    pub first_receipt: Option<ReceiptNo>,
    /// Last receipt of the shift.
    pub last_receipt: Option<ReceiptNo>,
}

impl ShiftTotals {
    /// Empty totals in `currency`.
    pub fn new(currency: crate::money::Currency) -> ShiftTotals {
        let z = Money::zero(currency);
        ShiftTotals {
            sales_count: 0,
            sales_total: z,
            tenders: BTreeMap::new(),
            taxes: BTreeMap::new(),
            discounts_total: z,
            overrides_count: 0,
            voids_count: 0,
            voids_total: z,
            refunds_count: 0,
            refunds_total: z,
            no_sales: 0,
            cash_in: z,
            cash_out: z,
            cash_paid_back: z,
            rounding_total: z,
            first_receipt: None,
            last_receipt: None,
        }
    }

    /// Net sales: sales minus voids minus refunds.
    pub fn net_sales(&self) -> Money {
        Money::new(
            self.sales_total.minor - self.voids_total.minor - self.refunds_total.minor,
            self.sales_total.currency,
        )
    }
}

/// The open shift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenShift {
    /// Shift number (gapless per terminal); the Z number given at close equals it.
    pub shift_no: u64,
    /// Who opened it.
    pub opened_by: UserId,
    /// When (ms since epoch).
    pub opened_ms: u64,
    /// Starting cash.
    pub float: Money,
    /// Running totals.
    pub totals: ShiftTotals,
}

impl OpenShift {
    /// Cash that should be in the drawer now.
    pub fn expected_cash(&self) -> Money {
        let t = &self.totals;
        let cash = t.tenders.get("cash").map(|m| m.minor).unwrap_or(0);
        Money::new(
            self.float.minor + cash + t.cash_in.minor - t.cash_out.minor - t.cash_paid_back.minor,
            self.float.currency,
        )
    }
}

/// A shift report: X (mid-shift, nothing closed) or Z (closing, numbered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReport {
    /// Z number (gapless per terminal); `None` for an X report.
    pub z_no: Option<u64>,
    /// Shift number.
    pub shift_no: u64,
    /// Who opened the shift.
    pub opened_by: UserId,
    /// Who closed it (Z) or asked for the report (X).
    pub reported_by: UserId,
    /// Opening time.
    pub opened_ms: u64,
    /// Report time.
    pub reported_ms: u64,
    /// Starting cash.
    pub float: Money,
    /// Totals.
    pub totals: ShiftTotals,
    /// Cash expected in the drawer.
    pub expected_cash: Money,
    /// Cash counted (Z only).
    pub counted_cash: Option<Money>,
    /// Counted minus expected (Z only): positive is over, negative short.
    pub over_short: Option<Money>,
}
