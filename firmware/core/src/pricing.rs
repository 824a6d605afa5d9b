//! Pricing a cart: line amounts, line and cart discounts, taxes, totals, cash
//! rounding and tender coverage. Pure integer arithmetic; the same function
//! prices `sale show` and the completed sale, so they can never disagree.

use crate::cart::{Cart, CartLine, Discount};
use crate::catalog::SoldBy;
use crate::money::{Money, MoneyError};
use crate::profile::StoreProfile;
use crate::sale::SaleLine;
use crate::tax::{apply_basis_points, div_round, RoundingMode, TaxBreakdown, TaxError};
use crate::tender::Tender;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors from pricing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PricingError {
    /// Money arithmetic failed (overflow or mixed currencies).
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Tax computation failed.
    #[error(transparent)]
    Tax(#[from] TaxError),
}

/// A priced cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    /// Lines not voided, priced.
    pub lines: Vec<SaleLine>,
    /// Voided line count.
    pub voided_lines: u32,
    /// Sum of line amounts after all discounts.
    pub subtotal: Money,
    /// All discounts.
    pub discount_total: Money,
    /// Taxes.
    pub taxes: TaxBreakdown,
    /// Total owed (exact, before cash rounding).
    pub total: Money,
    /// Amount due given the tenders so far (total with cash rounding on the cash part).
    pub due: Money,
    /// Card tenders so far.
    pub card_paid: Money,
    /// Cash tendered so far.
    pub cash_paid: Money,
    /// Still to pay (zero when covered).
    pub remaining: Money,
    /// Still to pay if the rest is paid in cash: the cash part rounded to the cash
    /// step (equals `remaining` when the store does no cash rounding).
    pub cash_remaining: Money,
    /// Change to give (cash only).
    pub change: Money,
}

impl PricedCart {
    /// True when the tenders cover the amount due.
    pub fn is_covered(&self) -> bool {
        self.remaining.is_zero() && !self.lines.is_empty()
    }

    /// Cash rounding adjustment (due - total).
    pub fn rounding(&self) -> Money {
        Money::new(self.due.minor - self.total.minor, self.total.currency)
    }
}

/// Gross amount of a line before discounts.
pub fn line_gross(line: &CartLine) -> Result<Money, PricingError> {
    if let Some(p) = line.embedded_price {
        return Ok(p);
    }
    let unit = line
        .price_override
        .as_ref()
        .map(|o| o.price)
        .unwrap_or(line.unit_price);
    let minor = match line.sold_by {
        SoldBy::Unit => i128::from(unit.minor) * i128::from(line.qty),
        // Price per kilogram times grams, rounded half-up to the minor unit.
        SoldBy::Weight => div_round(
            i128::from(unit.minor) * i128::from(line.qty),
            1000,
            RoundingMode::HalfUp,
        ),
    };
    Ok(Money::new(
        i64::try_from(minor).map_err(|_| MoneyError::Overflow)?,
        unit.currency,
    ))
}

fn discount_of(
    discount: Option<Discount>,
    base: Money,
    mode: RoundingMode,
) -> Result<Money, PricingError> {
    let d = match discount {
        None => Money::zero(base.currency),
        Some(Discount::Amount(m)) => {
            base.same_currency(m)?;
            Money::new(m.minor.clamp(0, base.minor.max(0)), base.currency)
        }
        Some(Discount::Percent(bp)) => apply_basis_points(base, bp.min(10_000), mode),
    };
    Ok(d)
}

/// Prices `cart` under `profile`.
pub fn price_cart(cart: &Cart, profile: &StoreProfile) -> Result<PricedCart, PricingError> {
    let currency = profile.currency;
    let zero = Money::zero(currency);
    let mode = profile.tax.rounding;
    let mut lines: Vec<SaleLine> = Vec::new();
    let mut voided = 0u32;
    for l in &cart.lines {
        if l.voided {
            voided += 1;
            continue;
        }
        let gross = line_gross(l)?;
        let discount = discount_of(l.discount, gross, mode)?;
        lines.push(SaleLine {
            line_no: l.line_no,
            sku: l.sku.clone(),
            name: l.name.clone(),
            qty: l.qty,
            sold_by: l.sold_by,
            unit_price: l
                .price_override
                .as_ref()
                .map(|o| o.price)
                .unwrap_or(l.unit_price),
            list_price: l.unit_price,
            gross,
            discount,
            amount: gross.checked_sub(discount)?,
            tax_class: l.tax_class.clone(),
            override_reason: l.price_override.as_ref().map(|o| o.reason.clone()),
            kitchen_station: l.kitchen_station.clone(),
        });
    }
    // Whole-cart discount, spread over lines in proportion to their amounts
    // (largest remainder), so each line's tax sees its real price.
    let before_cart: i64 = lines.iter().map(|l| l.amount.minor).sum();
    let cart_discount = discount_of(cart.cart_discount, Money::new(before_cart, currency), mode)?;
    if cart_discount.minor > 0 && before_cart > 0 {
        let total = i128::from(before_cart);
        let mut shares: Vec<(usize, i64, i128)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let exact = i128::from(cart_discount.minor) * i128::from(l.amount.minor);
                (i, i64::try_from(exact / total).unwrap_or(0), exact % total)
            })
            .collect();
        let mut left = cart_discount.minor - shares.iter().map(|s| s.1).sum::<i64>();
        shares.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        for s in shares.iter_mut() {
            if left == 0 {
                break;
            }
            s.1 += 1;
            left -= 1;
        }
        for (i, share, _) in shares {
            let l = &mut lines[i];
            l.discount = Money::new(l.discount.minor + share, currency);
            l.amount = Money::new(l.amount.minor - share, currency);
        }
    }
    let subtotal = Money::new(lines.iter().map(|l| l.amount.minor).sum(), currency);
    let discount_total = Money::new(lines.iter().map(|l| l.discount.minor).sum(), currency);
    let tax_input: Vec<(&str, Money)> = lines
        .iter()
        .map(|l| (l.tax_class.as_str(), l.amount))
        .collect();
    let taxes = profile.tax.compute(&tax_input, currency)?;
    let total = taxes.total_gross;

    let mut card_paid = zero;
    let mut cash_paid = zero;
    for t in &cart.tenders {
        match t {
            Tender::Cash { amount } => cash_paid = cash_paid.checked_add(*amount)?,
            Tender::Card(c) => card_paid = card_paid.checked_add(c.amount)?,
        }
    }
    // Cash rounding applies to the part paid in cash.
    let due = if cash_paid.minor > 0 {
        let cash_part = total.checked_sub(card_paid)?;
        card_paid.checked_add(profile.cash_rounding.round(cash_part))?
    } else {
        total
    };
    let paid = card_paid.checked_add(cash_paid)?;
    let remaining = Money::new((due.minor - paid.minor).max(0), currency);
    let cash_due =
        card_paid.checked_add(profile.cash_rounding.round(total.checked_sub(card_paid)?))?;
    let cash_remaining = Money::new((cash_due.minor - paid.minor).max(0), currency);
    let change = Money::new(
        (paid.minor - due.minor).max(0).min(cash_paid.minor),
        currency,
    );
    Ok(PricedCart {
        lines,
        voided_lines: voided,
        subtotal,
        discount_total,
        taxes,
        total,
        due,
        card_paid,
        cash_paid,
        remaining,
        cash_remaining,
        change,
    })
}
