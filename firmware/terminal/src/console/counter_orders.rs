//! The console's counter order commands: `order place` (the self-order
//! kiosk's "pay at the counter": the open sale becomes a counter order),
//! `orders` (open orders with their total at today's prices and age, and
//! any order two terminals took),
//! `order take <number>` (the order becomes this terminal's sale) and
//! `order cancel <number>` (manager).
//!
//! In a store with a cluster a take is granted by the store's consensus first
//! (the raft log orders competing takes: the first committed one wins, the
//! others are refused), then journaled here; a terminal without a cluster
//! takes locally. This module decides nothing itself: the engine does, and
//! the cluster runtime orders the takes.

use super::reply::Reply;
use crate::fields;
use crate::node::Node;
use keel_core::auth::User;
use keel_core::counter_order::CounterOrder;
use keel_core::engine::Engine;
use serde_json::{json, Value};

/// `order place`: the open sale's lines become this terminal's next counter
/// order and the sale is closed (nothing sold).
pub fn place(node: &mut Node, user: Option<&User>) -> Result<Reply, Reply> {
    let (events, order) = Engine::new(&node.profile, &node.state)
        .place_open_sale(user)
        .map_err(Reply::err)?;
    node.commit(events, None).map_err(Reply::err)?;
    let lines = node
        .state
        .counter_orders
        .get(&order)
        .map(|o| o.lines.len())
        .unwrap_or(0);
    Ok(Reply::ok(
        fields! { "order" => order.to_string(), "lines" => lines },
        vec![format!(
            "counter order {order} placed ({lines} line(s)): please pay at the counter"
        )],
    ))
}

/// One open order as `orders` lists it (JSON), priced at today's prices.
pub fn order_json(node: &Node, o: &CounterOrder, now_ms: u64) -> Value {
    let engine = Engine::new(&node.profile, &node.state);
    let total = engine
        .price_counter_order(o, now_ms)
        .map(|p| p.total.amount_text())
        .ok();
    json!({
        "order": o.id.to_string(),
        "terminal": o.id.terminal.0,
        "placed_ms": o.placed_ms,
        "age_s": now_ms.saturating_sub(o.placed_ms) / 1000,
        "total": total,
        "items": o.lines.iter().map(|l| json!({
            "sku": l.sku.0,
            "name": node.state.catalog.get(&l.sku).map(|i| i.name.clone()).unwrap_or_else(|| l.sku.0.clone()),
            "qty": l.qty,
        })).collect::<Vec<_>>(),
    })
}

/// `orders`: open counter orders, oldest first.
pub fn list(node: &Node, now_ms: u64) -> Reply {
    let open = node.state.open_counter_orders();
    let list: Vec<Value> = open.iter().map(|o| order_json(node, o, now_ms)).collect();
    let mut text: Vec<String> = list
        .iter()
        .map(|v| {
            let items = v["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| format!("{}x {}", i["qty"], i["name"].as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            format!(
                "{:<8} {:>10} {:>5}s  {items}",
                v["order"].as_str().unwrap_or(""),
                v["total"].as_str().unwrap_or("?"),
                v["age_s"]
            )
        })
        .collect();
    if text.is_empty() {
        text.push("no open counter orders".into());
    }
    // Orders taken by more than one terminal (possible only without a
    // cluster or across a partition): the earliest take owns the order, the
    // others are to be settled by hand.
    let conflicts: Vec<Value> = node
        .state
        .counter_orders
        .values()
        .filter(|o| !o.conflicts.is_empty())
        .filter_map(|o| {
            let owner = o.taken.as_ref()?;
            let others: Vec<String> = o.conflicts.iter().map(|t| t.terminal.to_string()).collect();
            text.push(format!(
                "CONFLICT {}: taken by {} (receipt {}) and also by {}",
                o.id,
                owner.terminal,
                owner.receipt_no,
                others.join(", ")
            ));
            Some(json!({
                "order": o.id.to_string(),
                "owner": owner.terminal.to_string(),
                "owner_receipt": owner.receipt_no.0,
                "also_taken_by": others,
            }))
        })
        .collect();
    Reply::ok(fields! { "orders" => list, "conflicts" => conflicts }, text)
}

/// `order take <number>` after the checks (and, in a cluster, the consensus
/// that granted it at `raft_index`): journals the take and opens the sale.
pub fn take(
    node: &mut Node,
    user: Option<&User>,
    number: &str,
    raft_index: u64,
) -> Result<Reply, Reply> {
    let now = node.now_ms();
    let (events, order) = Engine::new(&node.profile, &node.state)
        .take_counter_order(user, number, now, raft_index)
        .map_err(Reply::err)?;
    node.commit(events, None).map_err(Reply::err)?;
    let total = Engine::new(&node.profile, &node.state)
        .priced()
        .map(|p| p.total.amount_text())
        .unwrap_or_default();
    let lines = node.state.cart.as_ref().map(|c| c.lines.len()).unwrap_or(0);
    Ok(Reply::ok(
        fields! { "order" => order.to_string(), "lines" => lines, "total" => total, "raft_index" => raft_index },
        vec![format!(
            "counter order {order} taken: sale open with {lines} line(s), total {total}"
        )],
    ))
}

/// `order cancel <number>` (manager).
pub fn cancel(node: &mut Node, user: Option<&User>, number: &str) -> Result<Reply, Reply> {
    let (events, order) = Engine::new(&node.profile, &node.state)
        .cancel_counter_order(user, number)
        .map_err(Reply::err)?;
    node.commit(events, None).map_err(Reply::err)?;
    Ok(Reply::ok(
        fields! { "order" => order.to_string(), "cancelled" => true },
        vec![format!("counter order {order} cancelled")],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::counter_order::{CounterLine, CounterOrderId, CounterTake};
    use keel_core::hlc::Hlc;
    use keel_core::ids::{ReceiptNo, Sku, TerminalId, UserId};

    fn take(terminal: u32, ms: u64, receipt: u64) -> CounterTake {
        CounterTake {
            at: Hlc {
                wall_ms: ms,
                counter: 0,
                node: terminal,
            },
            terminal: TerminalId(terminal),
            receipt_no: ReceiptNo(receipt),
            by: UserId("c".into()),
        }
    }

    #[test]
    fn orders_lists_open_orders_and_flags_an_order_two_terminals_took() {
        let dir = tempfile::tempdir().unwrap();
        let mut node = Node::open(
            crate::demo::profile(1),
            dir.path(),
            Box::new(crate::clock::SystemClock::new()),
            crate::demo::seed_events(),
        )
        .unwrap();
        let id = |n| CounterOrderId {
            terminal: TerminalId(2),
            number: n,
        };
        let mut open = CounterOrder::placeholder(id(1));
        open.placed = true;
        open.lines = vec![CounterLine {
            sku: Sku("ESPRESSO".into()),
            qty: 2,
        }];
        let mut twice = open.clone();
        twice.id = id(2);
        twice.merge_take(take(3, 20, 8));
        twice.merge_take(take(1, 10, 5));
        node.state.counter_orders.insert(id(1), open);
        node.state.counter_orders.insert(id(2), twice);
        let r = list(&node, 0);
        let fields = r.result.clone().unwrap();
        assert_eq!(fields["orders"].as_array().map(Vec::len), Some(1));
        assert_eq!(fields["orders"][0]["order"], "K2-1");
        assert_eq!(fields["orders"][0]["total"], "4.40");
        assert_eq!(fields["conflicts"][0]["order"], "K2-2");
        assert_eq!(fields["conflicts"][0]["owner"], "T01", "the earliest take");
        assert_eq!(fields["conflicts"][0]["owner_receipt"], 5);
        assert_eq!(fields["conflicts"][0]["also_taken_by"][0], "T03");
        assert!(
            r.text.iter().any(|l| l.starts_with("CONFLICT K2-2")),
            "{:?}",
            r.text
        );
    }
}
