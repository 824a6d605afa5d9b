//! The snapshot's counter orders: open orders of every terminal with their
//! items, total at today's prices and age, and the number of the last order
//! this terminal placed. Reads the folded state only (node locked by the
//! caller); must not change anything.

use super::snapshot::{CounterItemView, CounterOrderView};
use super::view::qty_text;
use crate::node::Node;
use keel_core::catalog::SoldBy;
use keel_core::counter_order::CounterOrderId;
use keel_core::engine::Engine;

/// Open counter orders, oldest first, aged by `now_ms`.
pub fn open(node: &Node, now_ms: u64) -> Vec<CounterOrderView> {
    let engine = Engine::new(&node.profile, &node.state);
    node.state
        .open_counter_orders()
        .into_iter()
        .map(|o| CounterOrderView {
            number: o.id.to_string(),
            terminal: o.id.terminal.0,
            items: o
                .lines
                .iter()
                .map(|l| {
                    let item = node.state.catalog.get(&l.sku);
                    CounterItemView {
                        name: item
                            .map(|i| i.name.clone())
                            .unwrap_or_else(|| l.sku.0.clone()),
                        qty_text: qty_text(l.qty, item.map(|i| i.sold_by).unwrap_or(SoldBy::Unit)),
                    }
                })
                .collect(),
            total: engine
                .price_counter_order(o, now_ms)
                .ok()
                .map(|p| p.total.into()),
            age_s: now_ms.saturating_sub(o.placed_ms) / 1000,
        })
        .collect()
}

/// The last counter order placed on this terminal, if any.
pub fn last_placed(node: &Node) -> Option<String> {
    (node.state.last_counter_order > 0).then(|| {
        CounterOrderId {
            terminal: node.state.terminal,
            number: node.state.last_counter_order,
        }
        .to_string()
    })
}
