//! The terminal's state as a fold of its journal, and the derived-table writes
//! that persist it. `apply` is total: it never fails and never panics on any
//! event sequence, so replay and rebuild always finish. Receipt lookups (sale,
//! void and refund records) are persisted as keys in the `Receipts` table and
//! read on demand by the caller; everything else the engine needs is in memory.

use crate::cart::{Cart, CartEdit};
use crate::catalog::Catalog;
use crate::counter_order::{CounterOrder, CounterOrderId, CounterTake};
use crate::derived::{DerivedTable, DerivedWrite};
use crate::event::{DrawerReason, Event, EventBody};
use crate::hlc::Hlc;
use crate::ids::{ReceiptNo, Sku, StoreId, TerminalId, TicketId};
use crate::kitchen::{Ticket, TicketItem};
use crate::money::{Currency, Money};
use crate::shift::{OpenShift, ShiftTotals, TaxTotal};
use crate::tender::Tender;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// Served tickets kept for recall; older served tickets are dropped from the derived state.
pub const SERVED_TICKETS_KEPT: usize = 100;

/// Closed (taken or cancelled) counter orders kept; older ones are dropped from the derived state.
pub const CLOSED_COUNTER_ORDERS_KEPT: usize = 200;

/// Key of the open cart's risk assessment in the `Cart` table (the cart itself is `open`).
pub const CART_RISK_KEY: &str = "risk";

/// Key of this terminal's last counter order number in the `CounterOrders` table.
pub const LAST_COUNTER_ORDER_KEY: &str = "last";

/// Small counters kept together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Last journal seq applied.
    pub last_seq: u64,
    /// Last HLC applied.
    pub last_hlc: Hlc,
    /// Last receipt number used (0 = none yet).
    pub last_receipt: u64,
    /// Last shift number used.
    pub last_shift: u64,
    /// Last Z number used.
    pub last_z: u64,
    /// Last kitchen ticket number used.
    pub last_ticket: u64,
    /// Offline card payments held, in minor units.
    pub card_offline_minor: i64,
}

/// Keys of the `Receipts` derived table: per origin terminal, so replicated
/// receipts of other terminals sit beside this terminal's own.
pub mod receipt_keys {
    use crate::ids::{ReceiptNo, TerminalId};

    /// Seq of the sale with this receipt number.
    pub fn sale(t: TerminalId, no: ReceiptNo) -> String {
        format!("sale/{:06}/{:012}", t.0, no.0)
    }
    /// Seq of the void of this receipt.
    pub fn void(t: TerminalId, no: ReceiptNo) -> String {
        format!("void/{:06}/{:012}", t.0, no.0)
    }
    /// Prefix of the refunds of this receipt.
    pub fn refund_prefix(t: TerminalId, no: ReceiptNo) -> String {
        format!("refund/{:06}/{:012}/", t.0, no.0)
    }
    /// Seq of one refund of this receipt.
    pub fn refund(t: TerminalId, no: ReceiptNo, seq: u64) -> String {
        format!("refund/{:06}/{:012}/{:012}", t.0, no.0, seq)
    }
    /// Seq of the shift close carrying Z report `z`.
    pub fn z_report(t: TerminalId, z: u64) -> String {
        format!("z/{:06}/{z:012}", t.0)
    }
}

/// Errors loading state from derived tables.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// A stored value does not decode.
    #[error("derived table {table}, key {key:?}: {reason}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Key.
        key: String,
        /// Decoder's reason.
        reason: String,
    },
}

/// The in-memory state of one terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalState {
    /// Store.
    pub store: StoreId,
    /// Terminal.
    pub terminal: TerminalId,
    /// Store currency.
    pub currency: Currency,
    /// Counters.
    pub counters: Counters,
    /// Catalog.
    pub catalog: Catalog,
    /// Open cart.
    pub cart: Option<Cart>,
    /// The risk assessment handed to the open cart, if any (see `risk`).
    pub cart_risk: Option<crate::risk::CartRisk>,
    /// Open shift.
    pub shift: Option<OpenShift>,
    /// Stock on hand per SKU (units or grams).
    pub stock: BTreeMap<Sku, i64>,
    /// Kitchen tickets (open and recently served).
    pub kitchen: BTreeMap<TicketId, Ticket>,
    /// Store settings: value and when it was written (last writer by HLC wins).
    pub settings: BTreeMap<String, (String, Hlc)>,
    /// Customers by id, with when each was written (last writer by HLC wins).
    pub customers: BTreeMap<String, (crate::customer::Customer, Hlc)>,
    /// Customers whose personal fields are sealed, by id, with when each was
    /// written (last writer by HLC wins, across both maps: see [`TerminalState::customer`]).
    pub sealed_customers: BTreeMap<String, (crate::pii::SealedCustomer, Hlc)>,
    /// Counter orders of every terminal (open and recently closed).
    pub counter_orders: BTreeMap<CounterOrderId, CounterOrder>,
    /// This terminal's last counter order number (0 = none yet).
    pub last_counter_order: u64,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Invariant: postcard serialises these plain data types into a Vec without failing.
    postcard::to_stdvec(value).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(
    table: DerivedTable,
    key: &str,
    bytes: &[u8],
) -> Result<T, LoadError> {
    postcard::from_bytes(bytes).map_err(|e| LoadError::Corrupt {
        table: table.name(),
        key: key.to_string(),
        reason: e.to_string(),
    })
}

/// Tracks what an `apply` touched, to emit derived writes.
#[derive(Default)]
struct Touched {
    cart: bool,
    shift: bool,
    stock: BTreeSet<Sku>,
    kitchen: BTreeSet<TicketId>,
    kitchen_removed: BTreeSet<TicketId>,
    catalog: BTreeSet<Sku>,
    receipts: Vec<(String, u64)>,
    settings: BTreeSet<String>,
    customers: BTreeSet<String>,
    sealed_customers: BTreeSet<String>,
    counter_orders: BTreeSet<CounterOrderId>,
    counter_removed: BTreeSet<CounterOrderId>,
    last_counter_order: bool,
}

impl TerminalState {
    /// The state of a terminal whose journal is empty.
    pub fn new(store: StoreId, terminal: TerminalId, currency: Currency) -> TerminalState {
        TerminalState {
            store,
            terminal,
            currency,
            counters: Counters::default(),
            catalog: Catalog::default(),
            cart: None,
            cart_risk: None,
            shift: None,
            stock: BTreeMap::new(),
            kitchen: BTreeMap::new(),
            settings: BTreeMap::new(),
            customers: BTreeMap::new(),
            sealed_customers: BTreeMap::new(),
            counter_orders: BTreeMap::new(),
            last_counter_order: 0,
        }
    }

    /// Loads the state from derived tables (`rows` gives each table's key/value pairs).
    pub fn load(
        store: StoreId,
        terminal: TerminalId,
        currency: Currency,
        rows: &mut dyn FnMut(DerivedTable) -> Vec<(String, Vec<u8>)>,
    ) -> Result<TerminalState, LoadError> {
        let mut s = TerminalState::new(store, terminal, currency);
        for (k, v) in rows(DerivedTable::Counters) {
            s.counters = decode(DerivedTable::Counters, &k, &v)?;
        }
        for (k, v) in rows(DerivedTable::Cart) {
            if k == CART_RISK_KEY {
                s.cart_risk = Some(decode(DerivedTable::Cart, &k, &v)?);
            } else {
                s.cart = Some(decode(DerivedTable::Cart, &k, &v)?);
            }
        }
        for (k, v) in rows(DerivedTable::Shift) {
            s.shift = Some(decode(DerivedTable::Shift, &k, &v)?);
        }
        for (k, v) in rows(DerivedTable::Catalog) {
            let (item, at): (crate::catalog::CatalogItem, Hlc) =
                decode(DerivedTable::Catalog, &k, &v)?;
            s.catalog.upsert_lww(item, at);
        }
        for (k, v) in rows(DerivedTable::Stock) {
            let qty: i64 = decode(DerivedTable::Stock, &k, &v)?;
            s.stock.insert(Sku(k), qty);
        }
        for (k, v) in rows(DerivedTable::Settings) {
            let entry: (String, Hlc) = decode(DerivedTable::Settings, &k, &v)?;
            s.settings.insert(k, entry);
        }
        for (k, v) in rows(DerivedTable::Customers) {
            let entry: (crate::customer::Customer, Hlc) = decode(DerivedTable::Customers, &k, &v)?;
            s.customers.insert(k, entry);
        }
        for (k, v) in rows(DerivedTable::SealedCustomers) {
            let entry: (crate::pii::SealedCustomer, Hlc) =
                decode(DerivedTable::SealedCustomers, &k, &v)?;
            s.sealed_customers.insert(k, entry);
        }
        for (k, v) in rows(DerivedTable::CounterOrders) {
            if k == LAST_COUNTER_ORDER_KEY {
                s.last_counter_order = decode(DerivedTable::CounterOrders, &k, &v)?;
            } else {
                let o: CounterOrder = decode(DerivedTable::CounterOrders, &k, &v)?;
                s.counter_orders.insert(o.id, o);
            }
        }
        for (k, v) in rows(DerivedTable::Kitchen) {
            let t: Ticket = decode(DerivedTable::Kitchen, &k, &v)?;
            s.kitchen.insert(t.id, t);
        }
        Ok(s)
    }

    /// Applies one event, from this terminal's journal or replicated from another
    /// terminal's, and returns the derived writes that persist its effect.
    ///
    /// Store-wide state is a CRDT fold, the same whatever order events of different
    /// origins arrive in: the catalog is a last-writer-wins register per SKU by HLC,
    /// stock a PN-counter per SKU (sum of every origin's deltas), kitchen tickets only
    /// move forward, counter orders are open until taken or cancelled (the
    /// earliest take owns an order, see `counter_order`). The open cart, the open shift and this terminal's counters come
    /// from its own events only.
    pub fn apply(&mut self, event: &Event) -> Vec<DerivedWrite> {
        let mut t = Touched::default();
        let origin = event.dot.terminal;
        let own = origin == self.terminal;
        if own {
            self.counters.last_seq = self.counters.last_seq.max(event.dot.seq);
        }
        self.counters.last_hlc = self.counters.last_hlc.max(event.hlc);
        match &event.body {
            EventBody::JournalOpened { .. } | EventBody::DayClosed { .. } => {}
            EventBody::CustomerUpserted(c) => {
                let newer = self
                    .customers
                    .get(&c.id)
                    .is_none_or(|(_, at)| *at < event.hlc);
                if newer {
                    self.customers.insert(c.id.clone(), (c.clone(), event.hlc));
                    t.customers.insert(c.id.clone());
                }
            }
            EventBody::CustomerSealed(c) => {
                let newer = self
                    .sealed_customers
                    .get(&c.id)
                    .is_none_or(|(_, at)| *at < event.hlc);
                if newer {
                    self.sealed_customers
                        .insert(c.id.clone(), (c.clone(), event.hlc));
                    t.sealed_customers.insert(c.id.clone());
                }
            }
            EventBody::SettingChanged { key, value } => {
                let newer = self.settings.get(key).is_none_or(|(_, at)| *at < event.hlc);
                if newer {
                    self.settings
                        .insert(key.clone(), (value.clone(), event.hlc));
                    t.settings.insert(key.clone());
                }
            }
            EventBody::CatalogUpserted(item) => {
                if self.catalog.upsert_lww(item.clone(), event.hlc) {
                    t.catalog.insert(item.sku.clone());
                }
            }
            EventBody::StockAdjusted { sku, delta, .. } => {
                *self.stock.entry(sku.clone()).or_insert(0) += delta;
                t.stock.insert(sku.clone());
            }
            EventBody::ShiftOpened {
                shift_no,
                by,
                float,
            } => {
                if own {
                    self.counters.last_shift = self.counters.last_shift.max(*shift_no);
                    self.shift = Some(OpenShift {
                        shift_no: *shift_no,
                        opened_by: by.clone(),
                        opened_ms: event.hlc.wall_ms,
                        float: *float,
                        totals: ShiftTotals::new(self.currency),
                    });
                    t.shift = true;
                }
            }
            EventBody::CashMoved { amount, .. } => {
                if let (true, Some(s)) = (own, &mut self.shift) {
                    if amount.minor >= 0 {
                        s.totals.cash_in.minor += amount.minor;
                    } else {
                        s.totals.cash_out.minor -= amount.minor;
                    }
                    t.shift = true;
                }
            }
            EventBody::ShiftClosed(report) => {
                if let Some(z) = report.z_no {
                    t.receipts
                        .push((receipt_keys::z_report(origin, z), event.dot.seq));
                }
                if own {
                    self.shift = None;
                    t.shift = true;
                    if let Some(z) = report.z_no {
                        self.counters.last_z = self.counters.last_z.max(z);
                    }
                }
            }
            EventBody::CartEdited { by, edit } => {
                if own {
                    self.apply_cart_edit(by, edit);
                    t.cart = true;
                }
            }
            EventBody::SaleCompleted(sale) => {
                t.receipts
                    .push((receipt_keys::sale(origin, sale.receipt_no), event.dot.seq));
                for l in &sale.lines {
                    *self.stock.entry(l.sku.clone()).or_insert(0) -= l.qty;
                    t.stock.insert(l.sku.clone());
                }
                self.open_tickets(sale, origin, event.hlc.wall_ms, &mut t);
                if own {
                    self.apply_own_sale(sale, &mut t);
                }
            }
            EventBody::SaleVoided(v) => {
                t.receipts
                    .push((receipt_keys::void(origin, v.receipt_no), event.dot.seq));
                for (sku, qty) in &v.restock {
                    *self.stock.entry(sku.clone()).or_insert(0) += qty;
                    t.stock.insert(sku.clone());
                }
                if own {
                    let card = v.amount.minor - v.cash_returned.minor;
                    self.counters.card_offline_minor -= card;
                    if let Some(s) = &mut self.shift {
                        s.totals.voids_count += 1;
                        s.totals.voids_total.minor += v.amount.minor;
                        s.totals.cash_paid_back.minor += v.cash_returned.minor;
                        t.shift = true;
                    }
                }
            }
            EventBody::RefundIssued(r) => {
                t.receipts.push((
                    receipt_keys::refund(origin, r.original, event.dot.seq),
                    event.dot.seq,
                ));
                for l in &r.lines {
                    *self.stock.entry(l.sku.clone()).or_insert(0) += l.qty;
                    t.stock.insert(l.sku.clone());
                }
                if let (true, Some(s)) = (own, &mut self.shift) {
                    s.totals.refunds_count += 1;
                    s.totals.refunds_total.minor += r.total.minor;
                    s.totals.cash_paid_back.minor += r.total.minor;
                    t.shift = true;
                }
            }
            EventBody::DrawerOpened { reason, .. } => {
                if let (true, DrawerReason::NoSale, Some(s)) = (own, reason, &mut self.shift) {
                    s.totals.no_sales += 1;
                    t.shift = true;
                }
            }
            EventBody::KitchenAdvanced {
                ticket,
                to,
                dismissed_recalls,
                ..
            } => {
                let k = self
                    .kitchen
                    .entry(*ticket)
                    .or_insert_with(|| Ticket::placeholder(*ticket));
                k.status = k.status.max(*to);
                k.dismissed_recalls = k.dismissed_recalls.max(*dismissed_recalls);
                t.kitchen.insert(*ticket);
                self.prune_served(&mut t);
            }
            EventBody::KitchenRecalled {
                ticket, recalls, ..
            } => {
                let k = self
                    .kitchen
                    .entry(*ticket)
                    .or_insert_with(|| Ticket::placeholder(*ticket));
                k.recalls = k.recalls.max(*recalls);
                t.kitchen.insert(*ticket);
            }
            EventBody::CounterOrderPlaced { order, lines, .. } => {
                if own {
                    self.last_counter_order = self.last_counter_order.max(order.number);
                    t.last_counter_order = true;
                }
                let o = self
                    .counter_orders
                    .entry(*order)
                    .or_insert_with(|| CounterOrder::placeholder(*order));
                o.lines = lines.clone();
                o.placed_ms = event.hlc.wall_ms;
                o.placed = true;
                t.counter_orders.insert(*order);
                self.prune_counter_orders(&mut t);
            }
            EventBody::CounterOrderTaken {
                order,
                receipt_no,
                by,
                ..
            } => {
                let o = self
                    .counter_orders
                    .entry(*order)
                    .or_insert_with(|| CounterOrder::placeholder(*order));
                o.merge_take(CounterTake {
                    at: event.hlc,
                    terminal: origin,
                    receipt_no: *receipt_no,
                    by: by.clone(),
                });
                t.counter_orders.insert(*order);
                self.prune_counter_orders(&mut t);
            }
            EventBody::CounterOrderCancelled { order, .. } => {
                let o = self
                    .counter_orders
                    .entry(*order)
                    .or_insert_with(|| CounterOrder::placeholder(*order));
                o.cancelled = true;
                t.counter_orders.insert(*order);
                self.prune_counter_orders(&mut t);
            }
            EventBody::CartRiskAssessed {
                assessment,
                approved_by,
                ..
            } => {
                if own && self.cart.is_some() {
                    self.cart_risk = Some(crate::risk::CartRisk {
                        assessment: assessment.clone(),
                        approved_by: approved_by.clone(),
                    });
                    t.cart = true;
                }
            }
            // Flags are for the cloud's review; the terminal's state keeps nothing of them.
            EventBody::SaleFlagged { .. } => {}
        }
        // The assessment belongs to the open cart: it goes when the cart goes
        // or a new one opens.
        let new_cart = matches!(
            &event.body,
            EventBody::CartEdited {
                edit: CartEdit::Open,
                ..
            }
        );
        if own && self.cart_risk.is_some() && (self.cart.is_none() || new_cart) {
            self.cart_risk = None;
            t.cart = true;
        }
        self.writes(t)
    }

    /// The effects of this terminal's own sale: cart, receipt counter, offline card total, shift totals.
    fn apply_own_sale(&mut self, sale: &crate::sale::Sale, t: &mut Touched) {
        let zero = Money::zero(self.currency);
        self.cart = None;
        t.cart = true;
        self.counters.last_receipt = self.counters.last_receipt.max(sale.receipt_no.0);
        let card: i64 = sale
            .tenders
            .iter()
            .filter(|x| matches!(x, Tender::Card(_)))
            .map(|x| x.amount().minor)
            .sum();
        self.counters.card_offline_minor += card;
        if let Some(s) = &mut self.shift {
            let tot = &mut s.totals;
            tot.sales_count += 1;
            tot.sales_total.minor += sale.amount_due().minor;
            let cash_in: i64 = sale
                .tenders
                .iter()
                .filter(|x| matches!(x, Tender::Cash { .. }))
                .map(|x| x.amount().minor)
                .sum();
            if cash_in > 0 || card == 0 {
                tot.tenders.entry("cash".into()).or_insert(zero).minor +=
                    cash_in - sale.change.minor;
            }
            if card > 0 {
                tot.tenders.entry("card".into()).or_insert(zero).minor += card;
            }
            for tl in &sale.taxes {
                let e = tot.taxes.entry(tl.class.clone()).or_insert(TaxTotal {
                    rate_bp: tl.rate_bp,
                    net: zero,
                    tax: zero,
                });
                e.net.minor += tl.net.minor;
                e.tax.minor += tl.tax.minor;
            }
            tot.discounts_total.minor += sale.discount_total.minor;
            tot.overrides_count += sale
                .lines
                .iter()
                .filter(|l| l.override_reason.is_some())
                .count() as u64;
            tot.rounding_total.minor += sale.rounding.minor;
            tot.first_receipt = tot.first_receipt.or(Some(sale.receipt_no));
            tot.last_receipt = Some(sale.receipt_no);
            t.shift = true;
        }
    }

    fn apply_cart_edit(&mut self, by: &crate::ids::UserId, edit: &CartEdit) {
        match edit {
            CartEdit::Open => {
                self.cart = Some(Cart {
                    opened_by: Some(by.clone()),
                    ..Cart::default()
                });
            }
            CartEdit::Cancel => self.cart = None,
            other => {
                let cart = self.cart.get_or_insert_with(Cart::default);
                match other {
                    CartEdit::AddLine(line) => cart.lines.push(line.clone()),
                    CartEdit::SetQty { line_no, qty } => {
                        if let Some(l) = cart.lines.iter_mut().find(|l| l.line_no == *line_no) {
                            l.qty = *qty;
                        }
                    }
                    CartEdit::VoidLine { line_no } => {
                        if let Some(l) = cart.lines.iter_mut().find(|l| l.line_no == *line_no) {
                            l.voided = true;
                        }
                    }
                    CartEdit::Discount {
                        line_no: None,
                        discount,
                    } => cart.cart_discount = Some(*discount),
                    CartEdit::Discount {
                        line_no: Some(n),
                        discount,
                    } => {
                        if let Some(l) = cart.lines.iter_mut().find(|l| l.line_no == *n) {
                            l.discount = Some(*discount);
                        }
                    }
                    CartEdit::Override {
                        line_no,
                        price_override,
                    } => {
                        if let Some(l) = cart.lines.iter_mut().find(|l| l.line_no == *line_no) {
                            l.price_override = Some(price_override.clone());
                        }
                    }
                    CartEdit::Tender(tender) => cart.tenders.push(tender.clone()),
                    CartEdit::Open | CartEdit::Cancel => {}
                }
            }
        }
    }

    fn open_tickets(
        &mut self,
        sale: &crate::sale::Sale,
        origin: TerminalId,
        now_ms: u64,
        t: &mut Touched,
    ) {
        let mut stations: Vec<&str> = Vec::new();
        for l in &sale.lines {
            if let Some(st) = l.kitchen_station.as_deref() {
                if !stations.contains(&st) {
                    stations.push(st);
                }
            }
        }
        for (station, id) in stations.iter().zip(sale.tickets.iter()) {
            let items = sale
                .lines
                .iter()
                .filter(|l| l.kitchen_station.as_deref() == Some(*station))
                .map(|l| TicketItem {
                    name: l.name.clone(),
                    qty: l.qty,
                })
                .collect();
            if origin == self.terminal {
                self.counters.last_ticket = self.counters.last_ticket.max(id.number);
            }
            // A placeholder may already hold state changes made elsewhere: keep the most advanced.
            let known = self
                .kitchen
                .remove(id)
                .unwrap_or_else(|| Ticket::placeholder(*id));
            self.kitchen.insert(
                *id,
                Ticket {
                    id: *id,
                    station: station.to_string(),
                    receipt_no: sale.receipt_no,
                    items,
                    status: known.status,
                    recalls: known.recalls,
                    dismissed_recalls: known.dismissed_recalls,
                    created_ms: now_ms,
                    created: true,
                },
            );
            t.kitchen.insert(*id);
        }
    }

    fn prune_served(&mut self, t: &mut Touched) {
        let served: Vec<TicketId> = self
            .kitchen
            .values()
            .filter(|k| k.created && !k.is_open())
            .map(|k| k.id)
            .collect();
        if served.len() > SERVED_TICKETS_KEPT {
            for id in served.iter().take(served.len() - SERVED_TICKETS_KEPT) {
                self.kitchen.remove(id);
                t.kitchen.remove(id);
                t.kitchen_removed.insert(*id);
            }
        }
    }

    /// Drops the oldest closed counter orders beyond [`CLOSED_COUNTER_ORDERS_KEPT`].
    fn prune_counter_orders(&mut self, t: &mut Touched) {
        let closed: Vec<CounterOrderId> = self
            .counter_orders
            .values()
            .filter(|o| o.placed && !o.is_open())
            .map(|o| o.id)
            .collect();
        if closed.len() > CLOSED_COUNTER_ORDERS_KEPT {
            for id in closed
                .iter()
                .take(closed.len() - CLOSED_COUNTER_ORDERS_KEPT)
            {
                self.counter_orders.remove(id);
                t.counter_orders.remove(id);
                t.counter_removed.insert(*id);
            }
        }
    }

    /// Open counter orders, oldest first.
    pub fn open_counter_orders(&self) -> Vec<&CounterOrder> {
        let mut v: Vec<&CounterOrder> = self
            .counter_orders
            .values()
            .filter(|o| o.is_open())
            .collect();
        v.sort_by_key(|o| (o.placed_ms, o.id));
        v
    }

    fn writes(&self, t: Touched) -> Vec<DerivedWrite> {
        let mut out = Vec::new();
        let put = |table, key: String, value: Option<Vec<u8>>| DerivedWrite { table, key, value };
        out.push(put(
            DerivedTable::Counters,
            "counters".into(),
            Some(encode(&self.counters)),
        ));
        if t.cart {
            out.push(put(
                DerivedTable::Cart,
                "open".into(),
                self.cart.as_ref().map(encode),
            ));
            out.push(put(
                DerivedTable::Cart,
                CART_RISK_KEY.into(),
                self.cart_risk.as_ref().map(encode),
            ));
        }
        if t.shift {
            out.push(put(
                DerivedTable::Shift,
                "open".into(),
                self.shift.as_ref().map(encode),
            ));
        }
        for sku in t.stock {
            let v = self.stock.get(&sku).map(encode);
            out.push(put(DerivedTable::Stock, sku.0, v));
        }
        for id in t.kitchen {
            out.push(put(
                DerivedTable::Kitchen,
                ticket_key(id),
                self.kitchen.get(&id).map(encode),
            ));
        }
        for id in t.kitchen_removed {
            out.push(put(DerivedTable::Kitchen, ticket_key(id), None));
        }
        for sku in t.catalog {
            let v = self
                .catalog
                .get(&sku)
                .map(|item| encode(&(item, self.catalog.version(&sku).unwrap_or_default())));
            out.push(put(DerivedTable::Catalog, sku.0, v));
        }
        for id in t.customers {
            let v = self.customers.get(&id).map(encode);
            out.push(put(DerivedTable::Customers, id, v));
        }
        for id in t.sealed_customers {
            let v = self.sealed_customers.get(&id).map(encode);
            out.push(put(DerivedTable::SealedCustomers, id, v));
        }
        for key in t.settings {
            let v = self.settings.get(&key).map(encode);
            out.push(put(DerivedTable::Settings, key, v));
        }
        for id in t.counter_orders {
            out.push(put(
                DerivedTable::CounterOrders,
                counter_order_key(id),
                self.counter_orders.get(&id).map(encode),
            ));
        }
        for id in t.counter_removed {
            out.push(put(
                DerivedTable::CounterOrders,
                counter_order_key(id),
                None,
            ));
        }
        if t.last_counter_order {
            out.push(put(
                DerivedTable::CounterOrders,
                LAST_COUNTER_ORDER_KEY.into(),
                Some(encode(&self.last_counter_order)),
            ));
        }
        for (key, seq) in t.receipts {
            out.push(put(DerivedTable::Receipts, key, Some(encode(&seq))));
        }
        out
    }

    /// Decodes a seq stored in the `Receipts` table.
    pub fn decode_seq(bytes: &[u8]) -> Option<u64> {
        postcard::from_bytes(bytes).ok()
    }

    /// A customer as this terminal can read it: the newest record by HLC, legacy
    /// (clear) or sealed; sealed ones are opened with `keys`. `None` when unknown.
    pub fn customer(
        &self,
        id: &str,
        keys: &crate::pii::KeyRing,
    ) -> Option<Result<crate::customer::Customer, crate::pii::PiiError>> {
        let legacy = self.customers.get(id);
        let sealed = self.sealed_customers.get(id);
        match (legacy, sealed) {
            (None, None) => None,
            (Some((c, at)), Some((_, sat))) if at > sat => Some(Ok(c.clone())),
            (Some((c, _)), None) => Some(Ok(c.clone())),
            (_, Some((s, _))) => Some(keys.open(s)),
        }
    }

    /// Ids of every customer known (legacy and sealed), sorted.
    pub fn customer_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .customers
            .keys()
            .chain(self.sealed_customers.keys())
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Offline card payments held.
    pub fn card_offline(&self) -> Money {
        Money::new(self.counters.card_offline_minor, self.currency)
    }

    /// The receipt number the next sale gets.
    pub fn next_receipt(&self) -> ReceiptNo {
        ReceiptNo(self.counters.last_receipt + 1)
    }
}

/// Key of a counter order in the `CounterOrders` table (sorts by terminal, then number).
pub fn counter_order_key(id: CounterOrderId) -> String {
    format!("{:06}/{:012}", id.terminal.0, id.number)
}

/// Key of a ticket in the `Kitchen` table (sorts by terminal, then number).
pub fn ticket_key(id: TicketId) -> String {
    format!("{:06}/{:012}", id.terminal.0, id.number)
}
