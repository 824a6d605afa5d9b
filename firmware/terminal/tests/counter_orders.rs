//! Counter orders through the real `keel` binary's console (a terminal
//! without a cluster, so takes are local): `order place` turns the open sale
//! into an order, `orders` lists it with its total, `order take` opens it as
//! a sale that is paid as usual, a second take and a cancelled order are
//! refused, `order cancel` needs a manager, and the orders and their
//! numbering survive a restart and a rebuild of the derived state.
mod common;

use common::*;
use serde_json::Value;

fn orders(k: &mut Keel) -> Vec<Value> {
    k.ok("orders")["orders"]
        .as_array()
        .expect("orders array")
        .clone()
}

#[test]
fn counter_orders_are_placed_listed_taken_once_and_cancelled_by_a_manager() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    let help = k.ok("help");
    let usage = help["commands"].to_string();
    for u in [
        "order place",
        "orders",
        "order take <number>",
        "order cancel <number>",
    ] {
        assert!(usage.contains(u), "help lists {u}: {usage}");
    }
    assert!(
        k.err("order take 12").contains("K2-7"),
        "usage names the form"
    );

    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    assert!(k.err("order place").contains("no open sale"));

    // The open sale becomes counter order K1-1 and is closed, nothing sold.
    k.ok("sale new");
    k.ok("sale add ESPRESSO 2");
    k.ok("sale add 4006381333931");
    let placed = k.ok("order place");
    assert_eq!(placed["order"], "K1-1", "{placed}");
    assert_eq!(placed["lines"], 2, "{placed}");
    assert!(k.err("sale show").contains("no open sale"));
    let list = orders(&mut k);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["order"], "K1-1");
    assert_eq!(list[0]["total"], "5.89", "2 x 2.20 + 1.49: {list:?}");
    assert_eq!(list[0]["items"][0]["sku"], "ESPRESSO");
    assert_eq!(list[0]["items"][0]["qty"], 2);
    assert_eq!(list[0]["items"][1]["sku"], "CHOC-100");

    // Not while a sale with lines is open; not an unknown order.
    k.ok("sale new");
    k.ok("sale add MILK-1L");
    assert!(k.err("order take K1-1").contains("sale with 1 line"));
    k.ok("sale cancel");
    assert!(k.err("order take K1-9").contains("no counter order K1-9"));

    // Taken: the sale holds its lines and is paid as usual.
    let taken = k.ok("order take k1-1");
    assert_eq!(taken["order"], "K1-1", "{taken}");
    assert_eq!(taken["total"], "5.89", "{taken}");
    let cart = k.ok("sale show");
    assert_eq!(cart["total"], "5.89", "{cart}");
    assert_eq!(cart["lines"].as_array().map(Vec::len), Some(2), "{cart}");
    k.ok("sale tender cash 10.00");
    let done = k.ok("sale complete");
    assert_eq!(done["change"], "4.11", "{done}");
    assert!(orders(&mut k).is_empty(), "taken: no longer open");
    assert!(k
        .err("order take K1-1")
        .contains("counter order K1-1 was already taken by T01"));

    // Cancelling takes a manager; a cancelled order cannot be taken.
    k.ok("sale new");
    k.ok("sale add ESPRESSO");
    assert_eq!(k.ok("order place")["order"], "K1-2");
    assert!(k.err("order cancel K1-2").contains("manager"));
    k.ok(&format!("login {MANAGER}"));
    assert!(k.err("order cancel K1-1").contains("already taken"));
    assert_eq!(k.ok("order cancel K1-2")["cancelled"], true);
    assert!(orders(&mut k).is_empty());
    k.ok(&format!("login {CASHIER}"));
    assert!(k.err("order take K1-2").contains("was cancelled"));

    // One more, left open across a restart and a rebuild.
    k.ok("sale new");
    k.ok("sale add 4006381333931 3");
    assert_eq!(k.ok("order place")["order"], "K1-3");
    k.quit();
    let mut k = Keel::start(dir.path());
    let list = orders(&mut k);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["order"], "K1-3");
    assert_eq!(list[0]["total"], "4.47");
    k.ok(&format!("login {TECHNICIAN}"));
    k.ok("journal rebuild");
    let list = orders(&mut k);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["order"], "K1-3");
    k.ok(&format!("login {CASHIER}"));
    k.ok("sale new");
    k.ok("sale add ESPRESSO");
    assert_eq!(
        k.ok("order place")["order"],
        "K1-4",
        "numbering goes on after the restart"
    );
    k.quit();
}
