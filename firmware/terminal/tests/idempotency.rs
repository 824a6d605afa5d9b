//! Idempotency through the real binary: `sale complete <command-id>` sent twice,
//! in the same session or after a restart, makes one sale and returns the first
//! result.
mod common;

use common::*;
use serde_json::Value;

const ID: &str = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

fn one_sale(k: &mut Keel, id: &str) -> Value {
    k.ok("sale new");
    k.ok("sale add 4006381333931 2");
    k.ok("sale add ESPRESSO");
    k.ok("sale tender cash 10.00");
    k.ok(&format!("sale complete {id}"))
}

fn same_receipt(a: &Value, b: &Value) {
    for f in [
        "receipt",
        "seq",
        "total",
        "change",
        "verification",
        "lines",
        "tenders",
        "time_ms",
    ] {
        assert_eq!(
            a[f], b[f],
            "the repeated command returns the first result ({f}): {a} vs {b}"
        );
    }
}

#[test]
fn the_same_command_id_twice_makes_one_sale() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    let first = one_sale(&mut k, ID);
    assert_eq!(first["receipt"], 1, "{first}");
    assert_eq!(first["total"], "5.18", "{first}");
    let seq_after = k.ok("status")["last_seq"].clone();

    let again = k.ok(&format!("sale complete {ID}"));
    same_receipt(&first, &again);
    let st = k.ok("status");
    assert_eq!(st["last_receipt"], 1, "one sale only: {st}");
    assert_eq!(
        st["last_seq"], seq_after,
        "the repeat appended nothing: {st}"
    );

    // Upper-case spelling of the same UUID is the same command.
    let upper = k.ok(&format!("sale complete {}", ID.to_uppercase()));
    same_receipt(&first, &upper);
    assert_eq!(k.ok("status")["last_receipt"], 1);

    // Even with a new cart open, the old id answers with the old sale and leaves the cart alone.
    k.ok("sale new");
    k.ok("sale add MILK-1L");
    let again = k.ok(&format!("sale complete {ID}"));
    same_receipt(&first, &again);
    let st = k.ok("status");
    assert_eq!(st["last_receipt"], 1, "{st}");
    assert_eq!(st["sale_open_lines"], 1, "the open cart is untouched: {st}");
    k.ok("sale tender cash 2.00");
    let second = k.ok("sale complete 0a0b0c0d-0e0f-4a1b-9c2d-3e4f5a6b7c8d");
    assert_eq!(second["receipt"], 2, "{second}");
    k.quit();

    // After a restart on the same data directory, the same ids return the same receipts.
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    let seq_before = k.ok("status")["last_seq"].clone();
    let again = k.ok(&format!("sale complete {ID}"));
    same_receipt(&first, &again);
    let again2 = k.ok("sale complete 0a0b0c0d-0e0f-4a1b-9c2d-3e4f5a6b7c8d");
    same_receipt(&second, &again2);
    let st = k.ok("status");
    assert_eq!(st["last_receipt"], 2, "no new sale after restart: {st}");
    assert_eq!(st["last_seq"], seq_before, "nothing appended: {st}");
    assert_eq!(k.ok("receipt show 1")["total"], first["total"]);
    assert!(!k.err("receipt show 3").is_empty());
    k.ok(&format!("login {TECHNICIAN}"));
    k.ok("journal verify");
    k.quit();
}

#[test]
fn a_repeat_after_sigkill_returns_the_acknowledged_sale() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    let first = one_sale(&mut k, ID);
    // Killed right after the acknowledgement: no clean shutdown.
    k.kill();

    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    // The terminal retries the same command (e.g. the cashier pressed "complete" again).
    let again = k.ok(&format!("sale complete {ID}"));
    same_receipt(&first, &again);
    let st = k.ok("status");
    assert_eq!(st["last_receipt"], 1, "{st}");
    assert_eq!(st["sale_open_lines"], Value::Null, "{st}");
    // A new sale gets the next number.
    let next = one_sale(&mut k, "11111111-2222-4333-8444-555555555555");
    assert_eq!(next["receipt"], 2, "{next}");
    k.quit();
}

#[test]
fn a_command_id_without_a_cart_and_never_used_is_an_error_not_a_sale() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    let e = k.err(&format!("sale complete {ID}"));
    assert!(!e.is_empty());
    assert_eq!(k.ok("status")["last_receipt"], 0);
    // The failed attempt did not consume the id: it still works for a real sale.
    let r = one_sale(&mut k, ID);
    assert_eq!(r["receipt"], 1, "{r}");
    k.quit();
}
