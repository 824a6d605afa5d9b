//! Counter orders: place one from the open sale (the self-order kiosk's "pay at
//! the counter"), take one into a new sale on this terminal at today's prices,
//! cancel one (manager), and price one for display. Whether a take needs the
//! store's consensus first is the caller's business; the engine decides
//! from the folded state only.

use super::{require, Denied, Engine, SaleError};
use crate::auth::{Permission, User};
use crate::cart::{Cart, CartEdit, CartLine, Discount};
use crate::catalog::CatalogItem;
use crate::counter_order::{CounterLine, CounterOrder, CounterOrderId, CounterStatus};
use crate::event::EventBody;
use crate::ids::{ReceiptNo, Sku, TerminalId};
use crate::pricing::{price_cart, PricedCart, PricingError};
use thiserror::Error;

/// Most lines one counter order may hold (a cart's limit).
pub const MAX_COUNTER_LINES: usize = super::sale_ops::MAX_LINES;

/// Errors from counter order commands.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CounterOrderError {
    /// Login or role missing.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The open sale cannot be placed or replaced (no shift, no sale, tendered...).
    #[error(transparent)]
    Sale(#[from] SaleError),
    /// An order with no lines.
    #[error("the order has no lines")]
    Empty,
    /// Too many lines.
    #[error("an order holds at most {MAX_COUNTER_LINES} lines")]
    TooManyLines,
    /// A line's item is not in the catalog.
    #[error("unknown item {0}")]
    UnknownSku(String),
    /// A line's item may not be sold.
    #[error("item {0} is inactive and cannot be sold")]
    Inactive(String),
    /// A line's quantity is zero or negative.
    #[error("bad quantity {qty} for {sku}: must be above zero")]
    Quantity {
        /// Item.
        sku: String,
        /// Quantity given.
        qty: i64,
    },
    /// The order number does not parse or is unknown.
    #[error("no counter order {0} (see `orders`)")]
    NoOrder(String),
    /// Already in a sale.
    #[error("counter order {order} was already taken by {terminal}")]
    AlreadyTaken {
        /// Order.
        order: CounterOrderId,
        /// Terminal whose sale holds it.
        terminal: TerminalId,
    },
    /// Cancelled by a manager.
    #[error("counter order {0} was cancelled")]
    Cancelled(CounterOrderId),
    /// A sale with lines is open on this terminal.
    #[error(
        "a sale with {0} line(s) is open: complete or cancel it before taking a counter order"
    )]
    SaleOpen(usize),
    /// Pricing failed.
    #[error(transparent)]
    Pricing(#[from] PricingError),
}

impl<'a> Engine<'a> {
    /// Finds a counter order by its number (`K2-7`).
    pub fn find_counter_order(&self, text: &str) -> Result<&'a CounterOrder, CounterOrderError> {
        let not_found = || CounterOrderError::NoOrder(text.trim().to_string());
        let id = CounterOrderId::parse(text).ok_or_else(not_found)?;
        self.state
            .counter_orders
            .get(&id)
            .filter(|o| o.placed)
            .ok_or_else(not_found)
    }

    fn sellable(&self, sku: &Sku) -> Result<&'a CatalogItem, CounterOrderError> {
        let item = self
            .state
            .catalog
            .get(sku)
            .ok_or_else(|| CounterOrderError::UnknownSku(sku.0.clone()))?;
        if !item.active {
            return Err(CounterOrderError::Inactive(sku.0.clone()));
        }
        Ok(item)
    }

    /// Places `lines` as this terminal's next counter order. Every line must
    /// name a known, active item with a quantity above zero.
    pub fn place_counter_order(
        &self,
        user: Option<&'a User>,
        lines: Vec<CounterLine>,
    ) -> Result<(Vec<EventBody>, CounterOrderId), CounterOrderError> {
        let u = require(user, Permission::Sell)?;
        if lines.is_empty() {
            return Err(CounterOrderError::Empty);
        }
        if lines.len() > MAX_COUNTER_LINES {
            return Err(CounterOrderError::TooManyLines);
        }
        for l in &lines {
            self.sellable(&l.sku)?;
            if l.qty <= 0 {
                return Err(CounterOrderError::Quantity {
                    sku: l.sku.0.clone(),
                    qty: l.qty,
                });
            }
        }
        let order = CounterOrderId {
            terminal: self.state.terminal,
            number: self.state.last_counter_order + 1,
        };
        Ok((
            vec![EventBody::CounterOrderPlaced {
                order,
                lines,
                by: u.id.clone(),
            }],
            order,
        ))
    }

    /// `order place`: places the open sale's lines (voided ones left out) as a
    /// counter order and closes the sale without selling anything.
    pub fn place_open_sale(
        &self,
        user: Option<&'a User>,
    ) -> Result<(Vec<EventBody>, CounterOrderId), CounterOrderError> {
        let u = require(user, Permission::Sell)?;
        if self.state.shift.is_none() {
            return Err(SaleError::NoShift.into());
        }
        let cart = self.state.cart.as_ref().ok_or(SaleError::NoSale)?;
        if !cart.tenders.is_empty() {
            return Err(SaleError::TenderStarted.into());
        }
        let lines: Vec<CounterLine> = cart
            .lines
            .iter()
            .filter(|l| !l.voided)
            .map(|l| CounterLine {
                sku: l.sku.clone(),
                qty: l.qty,
            })
            .collect();
        let (mut events, order) = self.place_counter_order(user, lines)?;
        events.push(EventBody::CartEdited {
            by: u.id.clone(),
            edit: CartEdit::Cancel,
        });
        Ok((events, order))
    }

    /// Checks that this terminal may take `text` now (seller with a shift, no
    /// sale with lines open, order open); returns the order.
    pub fn check_take(
        &self,
        user: Option<&'a User>,
        text: &str,
    ) -> Result<&'a CounterOrder, CounterOrderError> {
        require(user, Permission::Sell)?;
        if self.state.shift.is_none() {
            return Err(SaleError::NoShift.into());
        }
        if let Some(c) = &self.state.cart {
            if !c.lines.is_empty() || !c.tenders.is_empty() {
                return Err(CounterOrderError::SaleOpen(c.lines.len()));
            }
        }
        let o = self.find_counter_order(text)?;
        match (o.status(), &o.taken) {
            (CounterStatus::Taken, Some(t)) => Err(CounterOrderError::AlreadyTaken {
                order: o.id,
                terminal: t.terminal,
            }),
            (CounterStatus::Cancelled, _) => Err(CounterOrderError::Cancelled(o.id)),
            _ => {
                for l in &o.lines {
                    self.sellable(&l.sku)?;
                }
                Ok(o)
            }
        }
    }

    /// `order take <number>`: the take, then a sale opened on this terminal with
    /// the order's lines at today's prices (and promotions in force at
    /// `now_ms`). `raft_index` is the consensus entry that granted the take
    /// (0 on a terminal without a cluster).
    pub fn take_counter_order(
        &self,
        user: Option<&'a User>,
        text: &str,
        now_ms: u64,
        raft_index: u64,
    ) -> Result<(Vec<EventBody>, CounterOrderId), CounterOrderError> {
        let o = self.check_take(user, text)?;
        let u = require(user, Permission::Sell)?;
        let mut events = vec![EventBody::CounterOrderTaken {
            order: o.id,
            receipt_no: ReceiptNo(self.state.counters.last_receipt + 1),
            raft_index,
            by: u.id.clone(),
        }];
        if self.state.cart.is_none() {
            events.push(EventBody::CartEdited {
                by: u.id.clone(),
                edit: CartEdit::Open,
            });
        }
        for (i, l) in o.lines.iter().enumerate() {
            let item = self.sellable(&l.sku)?;
            events.push(EventBody::CartEdited {
                by: u.id.clone(),
                edit: CartEdit::AddLine(self.order_line(item, l.qty, i as u32 + 1, now_ms)),
            });
        }
        Ok((events, o.id))
    }

    /// `order cancel <number>` (manager): an open order is cancelled.
    pub fn cancel_counter_order(
        &self,
        user: Option<&'a User>,
        text: &str,
    ) -> Result<(Vec<EventBody>, CounterOrderId), CounterOrderError> {
        let u = require(user, Permission::Void)?;
        let o = self.find_counter_order(text)?;
        match (o.status(), &o.taken) {
            (CounterStatus::Taken, Some(t)) => Err(CounterOrderError::AlreadyTaken {
                order: o.id,
                terminal: t.terminal,
            }),
            (CounterStatus::Cancelled, _) => Err(CounterOrderError::Cancelled(o.id)),
            _ => Ok((
                vec![EventBody::CounterOrderCancelled {
                    order: o.id,
                    by: u.id.clone(),
                }],
                o.id,
            )),
        }
    }

    /// The order priced as a sale at today's prices (items no longer in the
    /// catalog or inactive are refused).
    pub fn price_counter_order(
        &self,
        order: &CounterOrder,
        now_ms: u64,
    ) -> Result<PricedCart, CounterOrderError> {
        let mut cart = Cart::default();
        for (i, l) in order.lines.iter().enumerate() {
            let item = self.sellable(&l.sku)?;
            cart.lines
                .push(self.order_line(item, l.qty, i as u32 + 1, now_ms));
        }
        Ok(price_cart(&cart, &self.selling_profile())?)
    }

    /// A cart line for `qty` of `item` at its catalog price, with the
    /// promotion in force at `now_ms` (as `sale add` makes it).
    fn order_line(&self, item: &CatalogItem, qty: i64, line_no: u32, now_ms: u64) -> CartLine {
        CartLine {
            line_no,
            sku: item.sku.clone(),
            name: item.name.clone(),
            qty,
            sold_by: item.sold_by,
            unit_price: item.price,
            embedded_price: None,
            price_override: None,
            discount: crate::published::promotion_for(&self.state.settings, &item.sku, now_ms)
                .map(|p| Discount::Percent(p.discount_bp)),
            voided: false,
            tax_class: item.tax_class.clone(),
            kitchen_station: item.kitchen_station.clone(),
            barcode: None,
        }
    }
}
