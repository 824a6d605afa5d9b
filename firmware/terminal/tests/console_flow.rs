//! A whole trading day through the real `keel` binary's console in JSON mode,
//! plus the console's error, lockout, card-safety and mode-switch behaviour.
mod common;

use common::*;
use serde_json::Value;

fn line<'v>(cart: &'v Value, no: u64) -> &'v Value {
    cart["lines"]
        .as_array()
        .expect("lines array")
        .iter()
        .find(|l| l["line"] == no)
        .unwrap_or_else(|| panic!("no line {no} in {cart}"))
}

#[test]
fn a_whole_day_through_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());

    let who = k.ok(&format!("login {CASHIER}"));
    assert_eq!(who["role"], "cashier", "{who}");
    let shift = k.ok("shift open 100.00");
    assert_eq!(shift["shift"], 1, "{shift}");
    assert_eq!(shift["float"], "100.00", "{shift}");

    // --- Sale 1: barcode, SKU, weighed item, qty change, void-line, line and cart discounts.
    k.ok("sale new");
    let c = k.ok("sale add 4006381333931");
    assert_eq!(line(&c, 1)["sku"], "CHOC-100", "{c}");
    assert_eq!(line(&c, 1)["amount"], "1.49", "{c}");
    let c = k.ok("sale add MILK-1L 2");
    assert_eq!(line(&c, 2)["amount"], "2.38", "{c}");
    let c = k.ok("sale add BANANA 0.750");
    assert_eq!(line(&c, 3)["sku"], "BANANA", "{c}");
    assert_eq!(line(&c, 3)["qty"], 750, "weight is kept in grams: {c}");
    assert_eq!(
        line(&c, 3)["amount"],
        "1.27",
        "0.750 kg x 1.69 = 1.2675, half-up: {c}"
    );
    let c = k.ok("sale add ESPRESSO");
    assert_eq!(line(&c, 4)["amount"], "2.20", "{c}");
    assert_eq!(c["total"], "7.34", "{c}");
    let c = k.ok("sale qty 1 3");
    assert_eq!(line(&c, 1)["qty"], 3, "{c}");
    assert_eq!(line(&c, 1)["amount"], "4.47", "{c}");
    assert_eq!(c["total"], "10.32", "{c}");
    let c = k.ok("sale void-line 2");
    assert_eq!(line(&c, 2)["voided"], true, "{c}");
    assert_eq!(c["total"], "7.94", "{c}");
    let c = k.ok("sale discount 3 0.10");
    assert_eq!(line(&c, 3)["discount"], "0.10", "{c}");
    assert_eq!(line(&c, 3)["amount"], "1.17", "{c}");
    assert_eq!(c["total"], "7.84", "{c}");
    let c = k.ok("sale discount all 10%");
    // 10% of 7.84 = 0.784 -> 0.78 spread over the lines; total discount 0.10 + 0.78.
    assert_eq!(c["discount"], "0.88", "{c}");
    assert_eq!(c["total"], "7.06", "{c}");
    let live: i64 = c["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["voided"] == false)
        .map(|l| minor(l["amount"].as_str().unwrap()))
        .sum();
    assert_eq!(text(live), "7.06", "line amounts add up to the total: {c}");

    // Split tender: card first, then cash over the remainder gives change.
    let c = k.ok("sale tender card 5.00 tok_4f9a2c 4242 VISA");
    assert_eq!(c["card_paid"], "5.00", "{c}");
    assert_eq!(c["remaining"], "2.06", "{c}");
    assert_eq!(c["covered"], false, "{c}");
    let c = k.ok("sale tender cash 20.00");
    assert_eq!(c["covered"], true, "{c}");
    assert_eq!(c["change"], "17.94", "{c}");
    let shown = k.ok("sale show");
    assert_eq!(shown["total"], "7.06", "{shown}");

    let r1 = k.ok("sale complete");
    assert_eq!(r1["receipt"], 1, "{r1}");
    assert_eq!(r1["total"], "7.06", "{r1}");
    assert_eq!(r1["change"], "17.94", "{r1}");
    assert!(r1["seq"].as_u64().is_some_and(|s| s > 1), "{r1}");
    let code = r1["verification"].as_str().unwrap_or("");
    assert!(
        !code.is_empty(),
        "receipt carries a verification code: {r1}"
    );
    let lines = r1["lines"].as_array().unwrap();
    assert_eq!(
        lines.len(),
        3,
        "the voided line is not on the receipt: {r1}"
    );
    let tenders = r1["tenders"].as_array().unwrap();
    assert_eq!(tenders.len(), 2, "{r1}");
    assert!(
        tenders.iter().any(|t| t["kind"] == "card"
            && t["amount"] == "5.00"
            && t["detail"].as_str().unwrap_or("").contains("4242")),
        "{r1}"
    );
    assert!(
        !r1.to_string().contains("tok_4f9a2c"),
        "the card token is not printed on the receipt: {r1}"
    );
    assert!(
        tenders
            .iter()
            .any(|t| t["kind"] == "cash" && t["amount"] == "20.00"),
        "{r1}"
    );
    // No open cart after completion.
    let st = k.ok("status");
    assert_eq!(st["last_receipt"], 1, "{st}");
    assert_eq!(st["sale_open_lines"], Value::Null, "{st}");

    // receipt show 1 is the same receipt.
    let shown = k.ok("receipt show 1");
    for f in [
        "receipt",
        "total",
        "change",
        "verification",
        "seq",
        "lines",
        "tenders",
        "taxes",
        "subtotal",
        "discount",
        "tax",
        "cashier",
        "terminal",
        "store",
    ] {
        assert_eq!(
            shown[f], r1[f],
            "receipt show 1 differs in {f}: {shown} vs {r1}"
        );
    }
    assert_eq!(shown["voided"], false, "{shown}");

    // --- Sale 2: kitchen item and a bakery item, cash with change.
    k.ok("sale new");
    k.ok("sale add SANDWICH");
    let c = k.ok("sale add BREAD-RYE");
    assert_eq!(c["total"], "9.19", "{c}");
    k.ok("sale tender cash 10.00");
    let r2 = k.ok("sale complete");
    assert_eq!(r2["receipt"], 2, "{r2}");
    assert_eq!(r2["total"], "9.19", "{r2}");
    assert_eq!(r2["change"], "0.81", "{r2}");
    assert!(
        r2["seq"].as_u64().unwrap() > r1["seq"].as_u64().unwrap(),
        "{r2}"
    );

    // --- Void: a cashier is refused with the role named; a manager may.
    let e = k.err("void 2");
    assert!(
        e.to_lowercase().contains("manager"),
        "the error names the manager role: {e}"
    );
    assert_eq!(k.ok("receipt show 2")["voided"], false);
    let who = k.ok(&format!("login {MANAGER}"));
    assert_eq!(who["role"], "manager", "{who}");
    let v = k.ok("void 2");
    assert_eq!(v["voided"], 2, "{v}");
    assert_eq!(v["amount"], "9.19", "{v}");
    assert_eq!(k.ok("receipt show 2")["voided"], true);
    let e = k.err("void 2");
    assert!(!e.is_empty(), "voiding twice is refused");

    // --- Refund: part of line 1 of receipt 1, then more than is left is refused.
    let rf = k.ok("refund 1 1:1");
    assert_eq!(rf["refunded"], 1, "{rf}");
    let refund = minor(&amt(&rf, "amount"));
    assert!(
        refund > 0 && refund <= 403,
        "one of three chocolates (line amount 4.03): {rf}"
    );
    let rl = rf["lines"].as_array().unwrap();
    assert_eq!(rl.len(), 1, "{rf}");
    assert_eq!(rl[0]["line"], 1, "{rf}");
    let e = k.err("refund 1 1:3");
    assert!(!e.is_empty());
    let shown = k.ok("receipt show 1");
    let refunds = shown["refunds"].as_array().unwrap();
    assert_eq!(
        refunds.len(),
        1,
        "only the accepted refund is recorded: {shown}"
    );
    assert_eq!(refunds[0]["amount"], rf["amount"], "{shown}");
    // The remaining two may still be refunded... but not now: the day's totals below count one refund.

    // --- No-sale drawer open.
    assert_eq!(k.ok("drawer open")["drawer"], "open");

    // --- Kitchen: the espresso ticket of receipt 1 at the bar moves forward only.
    let kl = k.ok("kitchen list");
    let tickets = kl["tickets"].as_array().unwrap();
    let esp = tickets
        .iter()
        .find(|t| t["receipt"] == 1 && t["station"] == "bar")
        .unwrap_or_else(|| panic!("no bar ticket for receipt 1: {kl}"));
    assert_eq!(esp["status"], "pending", "{kl}");
    assert!(
        esp["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "Espresso" && i["qty"] == 1),
        "{kl}"
    );
    let ticket = esp["ticket"].as_str().unwrap().to_string();
    for want in ["preparing", "ready", "served"] {
        let a = k.ok(&format!("kitchen advance {ticket}"));
        assert_eq!(a["status"], want, "{a}");
        assert_eq!(a["ticket"], ticket.as_str(), "{a}");
    }
    let e = k.err(&format!("kitchen advance {ticket}"));
    assert!(!e.is_empty());
    let kl = k.ok("kitchen list");
    assert!(
        !kl["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["ticket"] == ticket.as_str()),
        "a served ticket is no longer open: {kl}"
    );

    // --- X report: the shift so far.
    // Cash: float 100.00 + sale 1 (20.00 - 17.94 change) + sale 2 (10.00 - 0.81) - void of sale 2 - refund.
    let expected_cash = 100_00 + (20_00 - 17_94) + (10_00 - 81) - 9_19 - refund;
    let x = k.ok("report x");
    assert_eq!(x["z"], Value::Null, "an X report has no Z number: {x}");
    assert_eq!(x["shift"], 1, "{x}");
    assert_eq!(x["sales_count"], 2, "{x}");
    assert_eq!(x["sales_total"], text(7_06 + 9_19).as_str(), "{x}");
    assert_eq!(x["voids"], 1, "{x}");
    assert_eq!(x["voids_total"], "9.19", "{x}");
    assert_eq!(x["refunds"], 1, "{x}");
    assert_eq!(x["refunds_total"], text(refund).as_str(), "{x}");
    assert_eq!(
        x["net_sales"],
        text(7_06 + 9_19 - 9_19 - refund).as_str(),
        "{x}"
    );
    assert_eq!(x["tenders"]["card"], "5.00", "{x}");
    assert_eq!(
        x["tenders"]["cash"],
        text((20_00 - 17_94) + (10_00 - 81)).as_str(),
        "cash is net of change: {x}"
    );
    assert_eq!(x["discounts_total"], "0.88", "{x}");
    assert_eq!(x["no_sales"], 1, "{x}");
    assert_eq!(x["float"], "100.00", "{x}");
    assert_eq!(x["expected_cash"], text(expected_cash).as_str(), "{x}");
    assert_eq!(x["first_receipt"], 1, "{x}");
    assert_eq!(x["last_receipt"], 2, "{x}");
    assert_eq!(x["counted_cash"], Value::Null, "{x}");
    let tax_sum: i64 = x["taxes"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| minor(t["net"].as_str().unwrap()) + minor(t["tax"].as_str().unwrap()))
        .sum();
    assert_eq!(
        tax_sum,
        7_06 + 9_19,
        "tax nets plus taxes are the gross sales: {x}"
    );

    // --- Close the shift 0.50 short: Z report 1.
    let counted = expected_cash - 50;
    let z = k.ok(&format!("shift close {}", text(counted)));
    assert_eq!(z["z"], 1, "{z}");
    assert_eq!(z["shift"], 1, "{z}");
    assert_eq!(z["counted_cash"], text(counted).as_str(), "{z}");
    assert_eq!(z["expected_cash"], text(expected_cash).as_str(), "{z}");
    assert_eq!(z["over_short"], "-0.50", "{z}");
    assert_eq!(z["sales_count"], 2, "{z}");
    assert_eq!(z["refunds_total"], x["refunds_total"], "{z}");
    assert_eq!(z["tenders"], x["tenders"], "{z}");
    let e = k.err("sale new");
    assert!(
        e.to_lowercase().contains("shift"),
        "no sale without an open shift: {e}"
    );

    let rz = k.ok("report z");
    for f in [
        "z",
        "shift",
        "counted_cash",
        "expected_cash",
        "over_short",
        "sales_count",
        "sales_total",
        "tenders",
        "taxes",
        "voids_total",
        "refunds_total",
    ] {
        assert_eq!(rz[f], z[f], "report z differs in {f}: {rz} vs {z}");
    }
    assert_eq!(k.ok("report z 1")["z"], 1);
    assert!(!k.err("report z 2").is_empty());

    // The next shift's Z number follows gaplessly.
    k.ok("shift open 50.00");
    let z2 = k.ok("shift close 50.00");
    assert_eq!(z2["z"], 2, "{z2}");
    assert_eq!(z2["over_short"], "0.00", "{z2}");

    // The journal of the day verifies.
    k.ok(&format!("login {TECHNICIAN}"));
    let v = k.ok("journal verify");
    let st = k.ok("status");
    assert_eq!(v["records"], st["last_seq"], "{v} {st}");
    k.quit();
}

#[test]
fn unknown_commands_and_bad_arguments_reply_with_usage_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    for bad in [
        "sale qty x 2",
        "sale qty 1",
        "refund 3 1-2",
        "shift open",
        "receipt show abc",
        "sale fly",
        "json maybe",
        "login",
    ] {
        let e = k.err(bad);
        assert!(
            e.contains("usage"),
            "{bad:?}: error should carry the usage: {e}"
        );
        assert!(!e.contains('\n'), "{bad:?}: one-line error: {e:?}");
    }
    let e = k.err("sale complete not-a-uuid");
    assert!(e.contains("usage"), "{e}");
    // The session is still alive and still logged in.
    assert_eq!(k.ok("status")["role"], "cashier");
    k.quit();
}

#[test]
fn unknown_command_replies_with_usage() {
    // Console contract: "Unknown commands and bad arguments get a one-line error with the usage".
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    let e = k.err("frobnicate now");
    assert!(!e.contains('\n'), "{e:?}");
    assert!(
        e.contains("usage"),
        "an unknown command's error should carry the usage: {e}"
    );
    assert_eq!(k.ok("status")["ok"], true);
    k.quit();
}

#[test]
fn five_wrong_pins_lock_login() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    for i in 1..=4 {
        let e = k.err("login 1234");
        assert!(e.contains("wrong PIN"), "try {i}: {e}");
    }
    let e = k.err("login 1234");
    assert!(e.contains("locked"), "the fifth wrong PIN locks: {e}");
    let e = k.err(&format!("login {MANAGER}"));
    assert!(
        e.contains("locked"),
        "the right PIN is refused while locked: {e}"
    );
    assert_eq!(k.ok("status")["user"], Value::Null, "nobody is logged in");
    k.quit();
}

#[test]
fn a_card_number_is_refused_as_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    k.ok("sale new");
    k.ok("sale add COFFEE-500");
    for pan in ["4111111111111111", "5555555555554444", "378282246310005"] {
        let e = k.err(&format!(
            "sale tender card 8.99 {pan} {}",
            &pan[pan.len() - 4..]
        ));
        assert!(e.contains("card number"), "{pan}: {e}");
    }
    let c = k.ok("sale show");
    assert_eq!(c["card_paid"], "0.00", "{c}");
    // A non-Luhn digit string of card length is a valid opaque token.
    let c = k.ok("sale tender card 8.99 4111111111111112 1112");
    assert_eq!(c["covered"], true, "{c}");
    let r = k.ok("sale complete");
    assert!(!r.to_string().contains("4111111111111111"));
    k.quit();
}

#[test]
fn over_the_offline_per_transaction_card_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    k.ok(&format!("login {CASHIER}"));
    k.ok("shift open 100.00");
    k.ok("sale new");
    let c = k.ok("sale add COFFEE-500 30");
    assert_eq!(c["total"], "269.70", "{c}");
    let e = k.err("sale tender card 250.01 tok_big 4242");
    assert!(e.contains("250.00"), "the error names the limit: {e}");
    assert!(
        e.contains("per-transaction"),
        "the error says which limit: {e}"
    );
    let c = k.ok("sale show");
    assert_eq!(c["card_paid"], "0.00", "{c}");
    // At the limit is fine; the rest in cash.
    k.ok("sale tender card 250.00 tok_big 4242");
    let c = k.ok("sale tender cash 19.70");
    assert_eq!(c["covered"], true, "{c}");
    assert_eq!(k.ok("sale complete")["receipt"], 1);
    k.quit();
}

#[test]
fn json_off_and_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    // The reply to `json off` is already text, and so is every reply after it.
    assert_eq!(k.send_text("json off"), "json off");
    let t = k.send_text(&format!("login {CASHIER}"));
    assert!(
        t.starts_with("logged in as") && t.contains("cashier"),
        "{t:?}"
    );
    assert!(serde_json::from_str::<Value>(&t).is_err(), "{t:?}");
    let t = k.send_text("sale add MILK-1L");
    assert!(t.starts_with("error: "), "{t:?}");
    let t = k.send_text("json on");
    let v: Value =
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("json on replies in JSON ({e}): {t:?}"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(k.ok("status")["role"], "cashier");

    // Started without --json, `json on` switches a text session to JSON.
    drop(k);
    let mut k = Keel::start_with(dir.path(), false);
    assert_eq!(k.send_text("logout"), "logged out");
    let v: Value = serde_json::from_str(&k.send_text("json on")).unwrap();
    assert_eq!(v["json"], true, "{v}");
    assert_eq!(k.ok("status")["user"], Value::Null);
    k.quit();
}
