//! Ringing up a sale: open, add lines (barcode, SKU or name), quantities, line
//! voids, discounts, price overrides, tenders with offline card limits, and
//! completion into a `Sale`.

use super::{require, Denied, Engine};
use crate::auth::{Permission, User};
use crate::barcode::{self, Barcode};
use crate::cart::{Cart, CartEdit, CartLine, Discount, PriceOverride};
use crate::catalog::{CatalogItem, SoldBy};
use crate::event::{DrawerReason, EventBody};
use crate::ids::TicketId;
use crate::money::{parse_minor, Money, MoneyError};

use crate::pricing::{price_cart, PricedCart, PricingError};
use crate::sale::Sale;
use crate::tender::{CardRecord, Tender};
use thiserror::Error;

/// Most lines one cart may hold.
pub const MAX_LINES: usize = 500;
/// Most units on one line.
pub const MAX_UNITS: i64 = 9_999;
/// Most grams on one weighed line (100 kg).
pub const MAX_GRAMS: i64 = 100_000;

/// Errors from sale commands.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SaleError {
    /// Login or role missing.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No shift is open.
    #[error("no open shift: `shift open <float>` first")]
    NoShift,
    /// No sale is open.
    #[error("no open sale: `sale new` first")]
    NoSale,
    /// A sale with lines is already open.
    #[error("a sale is already open ({0} lines): complete it or `sale cancel`")]
    SaleOpen(usize),
    /// Nothing matches what was scanned or typed.
    #[error("no item matches {0:?}")]
    NotFound(String),
    /// Several items match a name search.
    #[error("{query:?} matches {count} items: {examples}; use the SKU or barcode")]
    Ambiguous {
        /// What was searched.
        query: String,
        /// How many matched.
        count: usize,
        /// Some SKUs.
        examples: String,
    },
    /// A barcode was malformed.
    #[error("bad barcode: {0}")]
    Barcode(String),
    /// The item may not be sold.
    #[error("item {0} is inactive and cannot be sold")]
    Inactive(String),
    /// A quantity is out of range or malformed.
    #[error("bad quantity {0:?}: {1}")]
    Quantity(String, &'static str),
    /// The line does not exist or is voided.
    #[error("no line {0} on this sale")]
    NoLine(u32),
    /// The cart is full.
    #[error("a sale holds at most {MAX_LINES} lines")]
    TooManyLines,
    /// Lines cannot change after payment started.
    #[error("payment has started: lines can no longer change (`sale cancel` to start over)")]
    TenderStarted,
    /// An amount is malformed or negative.
    #[error("bad amount: {0}")]
    Amount(#[from] MoneyError),
    /// A tender of zero.
    #[error("the amount must be above zero")]
    ZeroAmount,
    /// A discount is out of range.
    #[error("bad discount {0:?}: {1}")]
    Discount(String, &'static str),
    /// An override reason is missing.
    #[error("a price override needs a reason")]
    NoReason,
    /// Nothing left to pay.
    #[error("the sale is fully paid: `sale complete`")]
    AlreadyPaid,
    /// Card amount above what is left to pay.
    #[error("card amount {amount} exceeds the {remaining} left to pay")]
    CardExceedsDue {
        /// Card amount.
        amount: String,
        /// Remaining.
        remaining: String,
    },
    /// Over the per-transaction offline card limit.
    #[error("card refused: {amount} is over the offline per-transaction card limit of {limit}")]
    OverTransactionLimit {
        /// Card amount.
        amount: String,
        /// Limit.
        limit: String,
    },
    /// Over the total offline card limit.
    #[error(
        "card refused: over the total offline card limit of {limit} ({held} already held offline)"
    )]
    OverOfflineLimit {
        /// Limit.
        limit: String,
        /// Already held.
        held: String,
    },
    /// Over the per-transaction offline card limit as the risk policy lowered it.
    #[error("card refused: {amount} is over the offline per-transaction card limit of {limit}, lowered to {percent}% by the risk review ({reasons})")]
    OverRiskTransactionLimit {
        /// Card amount.
        amount: String,
        /// Lowered limit.
        limit: String,
        /// Percentage of the usual limit.
        percent: u8,
        /// Reason codes of the assessment.
        reasons: String,
    },
    /// Over the total offline card limit as the risk policy lowered it.
    #[error("card refused: over the total offline card limit of {limit} ({held} already held offline), lowered to {percent}% by the risk review ({reasons})")]
    OverRiskOfflineLimit {
        /// Lowered limit.
        limit: String,
        /// Already held.
        held: String,
        /// Percentage of the usual limit.
        percent: u8,
        /// Reason codes of the assessment.
        reasons: String,
    },
    /// High risk: an offline card tender needs a manager's approval.
    #[error("card needs a manager's approval: high loss-prevention risk ({reasons}); a manager approves with their PIN")]
    ManagerApprovalNeeded {
        /// Reason codes of the assessment.
        reasons: String,
    },
    /// The approving user is not a manager.
    #[error("{0} is not a manager: only a manager can approve a high-risk card tender")]
    ApproverNotManager(String),
    /// The assessment handed to the cart is malformed.
    #[error("bad risk assessment: {0}")]
    Risk(#[from] crate::risk::RiskError),
    /// A card field is malformed (or looks like a card number).
    #[error("bad card record: {0}")]
    Card(&'static str),
    /// Tenders do not cover the amount due.
    #[error("not fully paid: {remaining} still due")]
    NotCovered {
        /// Still due.
        remaining: String,
    },
    /// The sale has no lines.
    #[error("the sale has no lines")]
    Empty,
    /// Pricing failed.
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

/// What to add: a barcode, SKU or name, with an optional quantity text.
#[derive(Clone, Debug)]
pub struct AddRequest<'r> {
    /// Barcode, SKU or name fragment.
    pub key: &'r str,
    /// Units ("3"), or kilograms for weighed items ("0.350").
    pub qty: Option<&'r str>,
    /// Now (ms since the epoch): picks the promotion in force, if any.
    pub now_ms: u64,
}

impl<'a> Engine<'a> {
    fn open_cart(&self) -> Result<&'a Cart, SaleError> {
        self.state.cart.as_ref().ok_or(SaleError::NoSale)
    }

    fn editable_cart(&self) -> Result<&'a Cart, SaleError> {
        let cart = self.open_cart()?;
        if !cart.tenders.is_empty() {
            return Err(SaleError::TenderStarted);
        }
        Ok(cart)
    }

    fn seller(&self, user: Option<&'a User>) -> Result<&'a User, SaleError> {
        let u = require(user, Permission::Sell)?;
        if self.state.shift.is_none() {
            return Err(SaleError::NoShift);
        }
        Ok(u)
    }

    fn edit(u: &User, edit: CartEdit) -> Vec<EventBody> {
        vec![EventBody::CartEdited {
            by: u.id.clone(),
            edit,
        }]
    }

    /// `sale new`: opens a cart. An empty open cart is reused (no event).
    pub fn new_sale(&self, user: Option<&'a User>) -> Result<Vec<EventBody>, SaleError> {
        let u = self.seller(user)?;
        match &self.state.cart {
            Some(c) if c.lines.is_empty() && c.tenders.is_empty() => Ok(Vec::new()),
            Some(c) => Err(SaleError::SaleOpen(c.lines.len())),
            None => Ok(Self::edit(u, CartEdit::Open)),
        }
    }

    /// `sale cancel`: abandons the open cart.
    pub fn cancel_sale(&self, user: Option<&'a User>) -> Result<Vec<EventBody>, SaleError> {
        let u = self.seller(user)?;
        self.open_cart()?;
        Ok(Self::edit(u, CartEdit::Cancel))
    }

    /// Finds the item for a barcode, SKU or unique name match.
    pub fn resolve(&self, key: &str) -> Result<(CatalogItem, Option<Barcode>), SaleError> {
        let key = key.trim();
        let catalog = &self.state.catalog;
        if !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_digit())
            && matches!(key.len(), 8 | 12 | 13)
        {
            let code = barcode::classify(key).map_err(|e| SaleError::Barcode(e.to_string()))?;
            let found = code
                .lookup_keys()
                .iter()
                .find_map(|k| catalog.by_barcode(k))
                .cloned();
            return found
                .map(|i| (i, Some(code)))
                .ok_or_else(|| SaleError::NotFound(key.to_string()));
        }
        if let Some(i) = catalog.get(&crate::ids::Sku(key.to_string())) {
            return Ok((i.clone(), None));
        }
        if let Some(i) = catalog.items().find(|i| i.sku.0.eq_ignore_ascii_case(key)) {
            return Ok((i.clone(), None));
        }
        let hits: Vec<&CatalogItem> = catalog
            .search(key)
            .into_iter()
            .filter(|i| i.active)
            .collect();
        match hits.len() {
            0 => Err(SaleError::NotFound(key.to_string())),
            1 => Ok((hits[0].clone(), None)),
            n => Err(SaleError::Ambiguous {
                query: key.to_string(),
                count: n,
                examples: hits
                    .iter()
                    .take(5)
                    .map(|i| i.sku.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Parses a quantity for an item sold by `sold_by`: whole units, or kilograms with up to 3 decimals (-> grams).
    pub fn parse_qty(text: &str, sold_by: SoldBy) -> Result<i64, SaleError> {
        let t = text.trim();
        match sold_by {
            SoldBy::Unit => {
                let q: i64 = t
                    .parse()
                    .map_err(|_| SaleError::Quantity(t.to_string(), "whole units expected"))?;
                if !(1..=MAX_UNITS).contains(&q) {
                    return Err(SaleError::Quantity(t.to_string(), "must be 1 to 9999"));
                }
                Ok(q)
            }
            SoldBy::Weight => {
                let g = parse_minor(t, 3).map_err(|_| {
                    SaleError::Quantity(t.to_string(), "kilograms with at most 3 decimals expected")
                })?;
                if !(1..=MAX_GRAMS).contains(&g) {
                    return Err(SaleError::Quantity(
                        t.to_string(),
                        "must be 0.001 to 100 kg",
                    ));
                }
                Ok(g)
            }
        }
    }

    /// `sale add`: adds a line.
    pub fn add_item(
        &self,
        user: Option<&'a User>,
        req: AddRequest<'_>,
    ) -> Result<Vec<EventBody>, SaleError> {
        let u = self.seller(user)?;
        let cart = self.editable_cart()?;
        if cart.lines.len() >= MAX_LINES {
            return Err(SaleError::TooManyLines);
        }
        let (item, code) = self.resolve(req.key)?;
        if !item.active {
            return Err(SaleError::Inactive(item.sku.0.clone()));
        }
        let mut qty = match req.qty {
            Some(q) => Self::parse_qty(q, item.sold_by)?,
            None => match item.sold_by {
                SoldBy::Unit => 1,
                SoldBy::Weight => 0,
            },
        };
        let mut embedded_price = None;
        match &code {
            Some(Barcode::PriceEmbedded { price_minor, .. }) => {
                embedded_price = Some(Money::new(*price_minor, self.profile.currency));
                qty = 1;
            }
            Some(Barcode::WeightEmbedded { grams, .. }) => {
                if *grams <= 0 || *grams > MAX_GRAMS {
                    return Err(SaleError::Quantity(
                        grams.to_string(),
                        "embedded weight out of range",
                    ));
                }
                qty = *grams;
            }
            _ => {}
        }
        if qty == 0 {
            return Err(SaleError::Quantity(
                String::new(),
                "a weighed item needs its weight in kg, e.g. `sale add SKU 0.350`",
            ));
        }
        let line_no = cart.lines.iter().map(|l| l.line_no).max().unwrap_or(0) + 1;
        let line = CartLine {
            line_no,
            sku: item.sku.clone(),
            name: item.name.clone(),
            qty,
            sold_by: if embedded_price.is_some() {
                SoldBy::Unit
            } else {
                item.sold_by
            },
            unit_price: item.price,
            embedded_price,
            price_override: None,
            // A published promotion in force discounts the line; the cashier can
            // still change the discount (`sale discount`).
            discount: crate::published::promotion_for(&self.state.settings, &item.sku, req.now_ms)
                .map(|p| Discount::Percent(p.discount_bp)),
            voided: false,
            tax_class: item.tax_class.clone(),
            kitchen_station: item.kitchen_station.clone(),
            barcode: code.as_ref().map(|c| c.code().to_string()),
        };
        Ok(Self::edit(u, CartEdit::AddLine(line)))
    }

    fn line(&self, cart: &'a Cart, line_no: u32) -> Result<&'a CartLine, SaleError> {
        cart.lines
            .iter()
            .find(|l| l.line_no == line_no && !l.voided)
            .ok_or(SaleError::NoLine(line_no))
    }

    /// `sale qty`: changes a line's quantity.
    pub fn set_qty(
        &self,
        user: Option<&'a User>,
        line_no: u32,
        qty: &str,
    ) -> Result<Vec<EventBody>, SaleError> {
        let u = self.seller(user)?;
        let cart = self.editable_cart()?;
        let line = self.line(cart, line_no)?;
        if line.embedded_price.is_some() {
            return Err(SaleError::Quantity(
                qty.to_string(),
                "a price-embedded line is always 1",
            ));
        }
        let q = Self::parse_qty(qty, line.sold_by)?;
        Ok(Self::edit(u, CartEdit::SetQty { line_no, qty: q }))
    }

    /// `sale void-line`: voids a line.
    pub fn void_line(
        &self,
        user: Option<&'a User>,
        line_no: u32,
    ) -> Result<Vec<EventBody>, SaleError> {
        let u = self.seller(user)?;
        let cart = self.editable_cart()?;
        self.line(cart, line_no)?;
        Ok(Self::edit(u, CartEdit::VoidLine { line_no }))
    }

    /// Parses `N%` (up to two decimals) or an amount.
    pub fn parse_discount(&self, text: &str) -> Result<Discount, SaleError> {
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            let bp = parse_minor(p, 2).map_err(|_| {
                SaleError::Discount(t.to_string(), "percent expected like 10% or 12.5%")
            })?;
            if !(1..=10_000).contains(&bp) {
                return Err(SaleError::Discount(
                    t.to_string(),
                    "percent must be above 0 and at most 100",
                ));
            }
            return Ok(Discount::Percent(bp as u32));
        }
        let m = Money::parse_non_negative(t, self.profile.currency)?;
        if m.is_zero() {
            return Err(SaleError::Discount(t.to_string(), "must be above zero"));
        }
        Ok(Discount::Amount(m))
    }

    /// `sale discount <line|all> <amount|N%>`.
    pub fn discount(
        &self,
        user: Option<&'a User>,
        line_no: Option<u32>,
        text: &str,
    ) -> Result<Vec<EventBody>, SaleError> {
        let u = self.seller(user)?;
        let cart = self.editable_cart()?;
        let discount = self.parse_discount(text)?;
        if let Some(n) = line_no {
            let line = self.line(cart, n)?;
            if let Discount::Amount(m) = discount {
                let gross = crate::pricing::line_gross(line)?;
                if m.minor > gross.minor {
                    return Err(SaleError::Discount(
                        text.to_string(),
                        "larger than the line",
                    ));
                }
            }
        } else if cart.lines.iter().all(|l| l.voided) {
            return Err(SaleError::Empty);
        }
        Ok(Self::edit(u, CartEdit::Discount { line_no, discount }))
    }

    /// `sale override <line> <price> <reason>` (manager).
    pub fn override_price(
        &self,
        user: Option<&'a User>,
        line_no: u32,
        price: &str,
        reason: &str,
    ) -> Result<Vec<EventBody>, SaleError> {
        let u = require(user, Permission::PriceOverride)?;
        if self.state.shift.is_none() {
            return Err(SaleError::NoShift);
        }
        let cart = self.editable_cart()?;
        self.line(cart, line_no)?;
        let price = Money::parse_non_negative(price, self.profile.currency)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(SaleError::NoReason);
        }
        Ok(Self::edit(
            u,
            CartEdit::Override {
                line_no,
                price_override: PriceOverride {
                    price,
                    reason: reason.to_string(),
                    by: u.id.clone(),
                },
            },
        ))
    }

    /// Prices the open cart.
    pub fn priced(&self) -> Result<PricedCart, SaleError> {
        Ok(price_cart(self.open_cart()?, &self.selling_profile())?)
    }

    /// What every tender checks first: a seller, a sale with lines not yet paid, an amount above zero.
    fn tender_preamble(
        &self,
        user: Option<&'a User>,
        amount: &str,
    ) -> Result<(&'a User, PricedCart, Money), SaleError> {
        let u = self.seller(user)?;
        let priced = self.priced()?;
        if priced.lines.is_empty() {
            return Err(SaleError::Empty);
        }
        if priced.is_covered() {
            return Err(SaleError::AlreadyPaid);
        }
        let amount = Money::parse_non_negative(amount, self.profile.currency)?;
        if amount.is_zero() {
            return Err(SaleError::ZeroAmount);
        }
        Ok((u, priced, amount))
    }

    /// `sale tender cash <amount>`.
    pub fn tender_cash(
        &self,
        user: Option<&'a User>,
        amount: &str,
    ) -> Result<Vec<EventBody>, SaleError> {
        let (u, _, amount) = self.tender_preamble(user, amount)?;
        Ok(Self::edit(u, CartEdit::Tender(Tender::Cash { amount })))
    }

    /// `sale tender card <amount> <token> <last4> [brand]`: an offline
    /// store-and-forward card record, under the risk assessment the open cart
    /// carries (see `tender_card_assessed` to hand it a new one).
    pub fn tender_card(
        &self,
        user: Option<&'a User>,
        amount: &str,
        token: &str,
        last4: &str,
        brand: Option<&str>,
    ) -> Result<Vec<EventBody>, SaleError> {
        let card = super::risk_ops::CardTender {
            amount,
            token,
            last4,
            brand,
        };
        self.card_tender_under(user, &card, self.state.cart_risk.as_ref())
    }

    /// The card tender's event under `risk` (the cart's assessment, or the one
    /// about to be journaled with it).
    pub(super) fn card_tender_under(
        &self,
        user: Option<&'a User>,
        card: &super::risk_ops::CardTender<'_>,
        risk: Option<&crate::risk::CartRisk>,
    ) -> Result<Vec<EventBody>, SaleError> {
        let (token, last4, brand) = (card.token, card.last4, card.brand);
        let (u, priced, amount) = self.tender_preamble(user, card.amount)?;
        validate_token(token)?;
        if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SaleError::Card("last4 must be exactly 4 digits"));
        }
        if amount.minor > priced.remaining.minor {
            return Err(SaleError::CardExceedsDue {
                amount: amount.amount_text(),
                remaining: priced.remaining.amount_text(),
            });
        }
        let (limits, lowered) = self.risk_card_limits(risk)?;
        if amount.minor > limits.per_transaction.minor {
            let (amount, limit) = (amount.amount_text(), limits.per_transaction.amount_text());
            return Err(match lowered {
                Some((percent, reasons)) => SaleError::OverRiskTransactionLimit {
                    amount,
                    limit,
                    percent,
                    reasons,
                },
                None => SaleError::OverTransactionLimit { amount, limit },
            });
        }
        let held = self.state.counters.card_offline_minor + priced.card_paid.minor;
        if held + amount.minor > limits.total_offline.minor {
            let limit = limits.total_offline.amount_text();
            let held = Money::new(held, self.profile.currency).amount_text();
            return Err(match lowered {
                Some((percent, reasons)) => SaleError::OverRiskOfflineLimit {
                    limit,
                    held,
                    percent,
                    reasons,
                },
                None => SaleError::OverOfflineLimit { limit, held },
            });
        }
        let brand = brand
            .map(|b| b.trim().to_ascii_uppercase())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "CARD".to_string());
        if brand.len() > 16 || !brand.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SaleError::Card("brand must be up to 16 letters or digits"));
        }
        Ok(Self::edit(
            u,
            CartEdit::Tender(Tender::Card(CardRecord {
                amount,
                token: token.to_string(),
                brand,
                last4: last4.to_string(),
            })),
        ))
    }

    /// `sale complete`: the sale and (for cash) the drawer open. The receipt number is the next gapless one.
    pub fn complete(&self, user: Option<&'a User>) -> Result<(Vec<EventBody>, Sale), SaleError> {
        let u = self.seller(user)?;
        let cart = self.open_cart()?;
        let priced = price_cart(cart, &self.selling_profile())?;
        if priced.lines.is_empty() {
            return Err(SaleError::Empty);
        }
        if !priced.is_covered() {
            return Err(SaleError::NotCovered {
                remaining: priced.remaining.amount_text(),
            });
        }
        let shift_no = self.state.shift.as_ref().map(|s| s.shift_no).unwrap_or(0);
        let mut stations: Vec<&str> = Vec::new();
        for l in &priced.lines {
            if let Some(st) = l.kitchen_station.as_deref() {
                if !stations.contains(&st) {
                    stations.push(st);
                }
            }
        }
        let tickets = (0..stations.len() as u64)
            .map(|i| TicketId {
                terminal: self.state.terminal,
                number: self.state.counters.last_ticket + 1 + i,
            })
            .collect();
        let rounding = priced.rounding();
        let sale = Sale {
            receipt_no: self.state.next_receipt(),
            shift_no,
            cashier: u.id.clone(),
            lines: priced.lines,
            voided_lines: priced.voided_lines,
            subtotal: priced.subtotal,
            discount_total: priced.discount_total,
            tax_mode: self.profile.tax.mode,
            taxes: priced.taxes.lines,
            tax_total: priced.taxes.total_tax,
            total: priced.total,
            rounding,
            tenders: cart.tenders.clone(),
            change: priced.change,
            tickets,
        };
        let mut events = vec![EventBody::SaleCompleted(sale.clone())];
        events.extend(self.sale_flag(&sale));
        if priced.cash_paid.minor > 0 {
            events.push(EventBody::DrawerOpened {
                by: u.id.clone(),
                reason: DrawerReason::Sale(sale.receipt_no),
            });
        }
        Ok((events, sale))
    }
}

/// A token is an opaque reference from the card reader; anything that carries
/// a card number is refused so a PAN can never reach the journal: a run of 13
/// to 19 digits passing the Luhn check, also when written with `-` or `_`
/// between the digits or next to letters (`tok_4111...`), or a card-like one
/// at either end of a longer run of digits.
fn validate_token(token: &str) -> Result<(), SaleError> {
    if token.is_empty() || token.len() > 64 {
        return Err(SaleError::Card("token must be 1 to 64 characters"));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(SaleError::Card(
            "token may hold letters, digits, '_' and '-' only",
        ));
    }
    if digit_runs(token).iter().any(|run| holds_card_number(run)) {
        return Err(SaleError::Card(
            "that looks like a card number; only reader tokens are accepted",
        ));
    }
    Ok(())
}

/// The runs of digits in `token`; `-` and `_` between two digits do not end a
/// run (card numbers are often written in groups), letters do.
fn digit_runs(token: &str) -> Vec<Vec<u32>> {
    let bytes = token.as_bytes();
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(d) = (b as char).to_digit(10) {
            run.push(d);
            continue;
        }
        let joins = (b == b'-' || b == b'_')
            && !run.is_empty()
            && bytes.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if !joins && !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Whether a run of digits is a card number (13 to 19 digits passing the
/// Luhn check), or, in a longer run, begins or ends with one that also starts
/// like a payment card (2 to 6: Mastercard, Amex, Visa, Discover, UnionPay).
fn holds_card_number(run: &[u32]) -> bool {
    if (13..=19).contains(&run.len()) {
        return luhn_valid(run);
    }
    let card_like = |d: &[u32]| (2..=6).contains(&d[0]) && luhn_valid(d);
    run.len() > 19
        && (13..=19).any(|len| card_like(&run[..len]) || card_like(&run[run.len() - len..]))
}

fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
