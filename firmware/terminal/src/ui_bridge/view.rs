//! Builds a [`UiSnapshot`] from the node's folded state (never from reply
//! text): user, shift, the priced cart, the product grid, kitchen tickets and
//! the status bar. Reads only, with the node locked by the caller for the one
//! snapshot; must not change state or wait on any runtime.

use super::records;
use super::screen::{Outside, Screen};
use super::snapshot::{
    CartView, CategoryView, LineView, MoneyView, ProductView, ShiftView, TicketItemView,
    TicketView, UiSnapshot, UserView,
};
use super::status_bar::{status_bar, StatusInputs};
use crate::node::Node;
use keel_core::auth::User;
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::engine::Engine;
use keel_core::money::{format_minor, Money};
use std::collections::BTreeMap;

/// Quantity as shown: `2`, or `0.750 kg` for weighed items.
pub fn qty_text(qty: i64, sold_by: SoldBy) -> String {
    match sold_by {
        SoldBy::Unit => qty.to_string(),
        SoldBy::Weight => format!("{} kg", format_minor(qty, 3)),
    }
}

fn product(i: &CatalogItem) -> ProductView {
    let by_weight = i.sold_by == SoldBy::Weight;
    ProductView {
        sku: i.sku.0.clone(),
        name: i.name.clone(),
        price: i.price.into(),
        price_text: if by_weight {
            format!("{}/kg", i.price.amount_text())
        } else {
            i.price.amount_text()
        },
        barcode: i.barcodes.first().cloned(),
        by_weight,
        station: i.kitchen_station.clone(),
    }
}

fn by_name(mut v: Vec<ProductView>) -> Vec<ProductView> {
    v.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.sku.cmp(&b.sku)));
    v
}

/// Category tabs (sorted) with their active products.
pub fn categories(node: &Node) -> Vec<CategoryView> {
    let mut map: BTreeMap<&str, Vec<ProductView>> = BTreeMap::new();
    for i in node.state.catalog.items().filter(|i| i.active) {
        map.entry(i.category.as_str()).or_default().push(product(i));
    }
    map.into_iter()
        .map(|(name, products)| CategoryView {
            name: name.to_string(),
            products: by_name(products),
        })
        .collect()
}

/// Active products matching `query` (SKU, name, category or barcode).
pub fn search(node: &Node, query: &str) -> Vec<ProductView> {
    if query.trim().is_empty() {
        return Vec::new();
    }
    by_name(
        node.state
            .catalog
            .search(query)
            .into_iter()
            .filter(|i| i.active)
            .map(product)
            .collect(),
    )
}

/// The open sale, priced by the same function that prices the completed sale.
pub fn cart(node: &Node) -> Option<CartView> {
    let c = node.state.cart.as_ref()?;
    let currency = node.profile.currency;
    let zero = MoneyView::from(Money::zero(currency));
    let priced = match Engine::new(&node.profile, &node.state).priced() {
        Ok(p) => p,
        Err(e) => {
            log::warn!("ui: the open sale cannot be priced: {e}");
            return Some(CartView::default());
        }
    };
    let lines = c
        .lines
        .iter()
        .map(|l| {
            let p = priced.lines.iter().find(|x| x.line_no == l.line_no);
            LineView {
                line: l.line_no,
                sku: l.sku.0.clone(),
                name: l.name.clone(),
                qty: l.qty,
                qty_text: qty_text(l.qty, l.sold_by),
                by_weight: l.sold_by == SoldBy::Weight,
                unit_price: p.map(|x| x.unit_price).unwrap_or(l.unit_price).into(),
                discount: p.map(|x| x.discount.into()).unwrap_or_else(|| zero.clone()),
                amount: p.map(|x| x.amount.into()).unwrap_or_else(|| zero.clone()),
                voided: l.voided,
                overridden: l.price_override.is_some(),
            }
        })
        .collect();
    let paid = Money::new(
        priced
            .cash_paid
            .minor
            .saturating_add(priced.card_paid.minor),
        currency,
    );
    Some(CartView {
        lines,
        subtotal: priced.subtotal.into(),
        discount: priced.discount_total.into(),
        tax: priced.taxes.total_tax.into(),
        total: priced.total.into(),
        due: priced.due.into(),
        paid: paid.into(),
        remaining: priced.remaining.into(),
        change: priced.change.into(),
        covered: priced.is_covered(),
        tendered: !c.tenders.is_empty(),
    })
}

/// Served tickets the kitchen display lists for recall (the newest orders).
pub const KITCHEN_SERVED_MAX: usize = 12;

/// Open kitchen tickets of every terminal, oldest first, aged by `now_ms`.
pub fn kitchen(node: &Node, now_ms: u64) -> Vec<TicketView> {
    let mut open: Vec<_> = node
        .state
        .kitchen
        .values()
        .filter(|t| t.is_open())
        .collect();
    open.sort_by_key(|t| (t.created_ms, t.id));
    open.into_iter().map(|t| ticket(t, now_ms)).collect()
}

/// Served (and not recalled) tickets of every terminal, newest order first,
/// at most [`KITCHEN_SERVED_MAX`]: what the kitchen display can recall.
pub fn kitchen_served(node: &Node, now_ms: u64) -> Vec<TicketView> {
    let mut served: Vec<_> = node
        .state
        .kitchen
        .values()
        .filter(|t| t.created && !t.is_open())
        .collect();
    served.sort_by_key(|t| std::cmp::Reverse((t.created_ms, t.id)));
    served
        .into_iter()
        .take(KITCHEN_SERVED_MAX)
        .map(|t| ticket(t, now_ms))
        .collect()
}

fn ticket(t: &keel_core::kitchen::Ticket, now_ms: u64) -> TicketView {
    TicketView {
        id: t.id.to_string(),
        terminal: t.id.terminal.0,
        station: t.station.clone(),
        receipt: t.receipt_no.0,
        items: t
            .items
            .iter()
            .map(|i| TicketItemView {
                name: i.name.clone(),
                qty: i.qty,
            })
            .collect(),
        status: t.status.as_str().to_string(),
        age_s: now_ms.saturating_sub(t.created_ms) / 1000,
        recalls: t.recalls,
        recalled: t.recalls > t.dismissed_recalls,
    }
}

fn user(u: &User) -> UserView {
    UserView {
        id: u.id.0.clone(),
        name: u.name.clone(),
        role: u.role.as_str().to_string(),
    }
}

fn shift(node: &Node) -> Option<ShiftView> {
    node.state.shift.as_ref().map(|s| ShiftView {
        number: s.shift_no,
        opened_by: s.opened_by.0.clone(),
        opened_ms: s.opened_ms,
        float: s.float.into(),
        expected_cash: s.expected_cash().into(),
        sales_count: s.totals.sales_count,
    })
}

/// The whole snapshot. `outside` holds the runtimes' statuses, copied before
/// the node was locked.
pub fn build(
    node: &Node,
    logged_in: Option<&User>,
    screen: &Screen,
    outside: &Outside,
    now_ms: u64,
    serial: u64,
) -> UiSnapshot {
    let (pending, last_sync_ms) = records::sync_counts(node, outside);
    let ai_models = node.ai().map(|a| a.status());
    let status = status_bar(&StatusInputs {
        cluster: outside.cluster.as_ref(),
        uplink: outside.uplink.as_ref(),
        pending,
        last_sync_ms,
        printer: outside.printer.as_ref(),
        ai: ai_models.as_deref(),
        now_ms,
    });
    let categories = categories(node);
    let category = screen
        .category
        .clone()
        .filter(|c| categories.iter().any(|x| &x.name == c))
        .or_else(|| categories.first().map(|c| c.name.clone()));
    UiSnapshot {
        serial,
        now_ms,
        store_name: node.profile.store_name.clone(),
        terminal: node.profile.terminal.to_string(),
        currency: node.profile.currency.code().to_string(),
        user: logged_in.map(user),
        shift: shift(node),
        cart: cart(node),
        receipt: records::receipt_preview(node, screen.preview),
        report: screen.report.clone(),
        search_results: search(node, &screen.search),
        search: screen.search.clone(),
        category,
        categories,
        kitchen: kitchen(node, now_ms),
        kitchen_served: kitchen_served(node, now_ms),
        customers: screen.customers.clone(),
        counter_orders: super::counter_orders::open(node, now_ms),
        last_counter_order: super::counter_orders::last_placed(node),
        recent_receipts: super::history::recent(node),
        diagnostics: super::diagnostics::build(node, screen, outside, &status),
        status,
        message: screen.message.clone(),
        camera: super::camera::available(node),
        recognition: screen.recognition.clone(),
        card_risk: super::card_risk::view(node, logged_in, now_ms),
        card_approval: super::card_risk::approval_view(node, screen),
    }
}
