//! Crash safety of the real `keel` binary: sales are completed continuously
//! through the console and the process is killed with SIGKILL at random moments
//! (between commands, while a command is in flight, while a `sale complete` is
//! in flight, during start-up), then restarted on the same data directory.
//!
//! After every restart:
//! - `journal verify` passes;
//! - every sale whose completion was acknowledged (its reply was written, even
//!   if the kill came right after) is there, under its receipt number, with the
//!   acknowledged total, seq and verification code;
//! - receipt numbers 1..=last_receipt all exist, and each belongs to exactly one
//!   of the command ids the driver sent (no duplicate sales), and there is none
//!   beyond the last;
//! - a `sale complete <id>` whose reply was lost is resolved by resending the same
//!   id: it either was committed (no cart left, the receipt is the next number,
//!   and the resend returns that sale) or was not (the cart is still open exactly
//!   as acknowledged, and the resend completes it) -- never a second sale;
//! - a resend of an older acknowledged id returns its sale and adds nothing.
//!
//! `KEEL_CRASH_ITERATIONS` (default 200) sets the number of kills;
//! `KEEL_CRASH_SEED` replays a run (the seed is printed at the start).
mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Items that keep every sale under the 50.00 cash tender: (key, max qty, weighed).
const ITEMS: &[(&str, u64, bool)] = &[
    ("4006381333931", 3, false),
    ("MILK-1L", 3, false),
    ("BREAD-RYE", 3, false),
    ("WATER-15", 3, false),
    ("CROISSANT", 3, false),
    ("ESPRESSO", 2, false),
    ("BANANA", 0, true),
];

/// A completion the terminal acknowledged.
#[derive(Debug, Clone)]
struct Ack {
    id: String,
    total: String,
    seq: u64,
    verification: String,
}

/// The cart as the driver knows it from acknowledged replies.
#[derive(Debug, Clone)]
struct Cart {
    lines: u64,
    target: u64,
    tendered: bool,
    total: String,
}

#[derive(Debug, Clone)]
enum Cmd {
    New,
    Add(String),
    Tender,
    Complete(String),
}

impl Cmd {
    fn line(&self) -> String {
        match self {
            Cmd::New => "sale new".into(),
            Cmd::Add(what) => format!("sale add {what}"),
            Cmd::Tender => "sale tender cash 50.00".into(),
            Cmd::Complete(id) => format!("sale complete {id}"),
        }
    }
}

#[derive(Default)]
struct Stats {
    kills: u64,
    kills_idle: u64,
    kills_in_flight: u64,
    kills_during_complete: u64,
    kills_at_startup: u64,
    complete_committed_unacked: u64,
    complete_not_committed: u64,
    complete_reply_after_kill: u64,
    sales_acknowledged: u64,
    commands: u64,
}

struct Model {
    /// Acknowledged sales by receipt number.
    acked: BTreeMap<u64, Ack>,
    /// Receipts known to exist (all acknowledged once pending completions are resolved).
    receipts: u64,
    /// Receipts 1..=checked were read back and compared already.
    checked: u64,
    cart: Option<Cart>,
    /// The command whose reply was lost in the kill.
    in_flight: Option<Cmd>,
    shift_open: bool,
}

impl Model {
    /// Applies an acknowledged reply of `cmd`.
    fn apply(&mut self, cmd: &Cmd, reply: &Value, rng: &mut XorShift, stats: &mut Stats) {
        assert_eq!(reply["ok"], true, "{} failed: {reply}", cmd.line());
        match cmd {
            Cmd::New => {
                assert!(self.cart.is_none());
                self.cart = Some(Cart {
                    lines: 0,
                    target: 1 + rng.below(3),
                    tendered: false,
                    total: "0.00".into(),
                });
            }
            Cmd::Add(_) | Cmd::Tender => {
                let cart = self.cart.as_mut().expect("an open cart");
                let live = reply["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|l| l["voided"] == false)
                    .count() as u64;
                match cmd {
                    Cmd::Add(_) => cart.lines += 1,
                    _ => {
                        cart.tendered = true;
                        assert_eq!(reply["covered"], true, "{reply}");
                    }
                }
                assert_eq!(live, cart.lines, "{reply}");
                cart.total = amt(reply, "total");
            }
            Cmd::Complete(id) => {
                let cart = self.cart.take().expect("an open cart");
                self.record_completion(id, &cart.total, reply);
                stats.sales_acknowledged += 1;
            }
        }
    }

    fn record_completion(&mut self, id: &str, total: &str, reply: &Value) {
        let receipt = reply["receipt"]
            .as_u64()
            .unwrap_or_else(|| panic!("no receipt number: {reply}"));
        assert_eq!(
            receipt,
            self.receipts + 1,
            "receipt numbers are gapless and one per sale: {reply}"
        );
        assert_eq!(
            reply["total"], total,
            "the receipt has the cart's total: {reply}"
        );
        let seq = reply["seq"].as_u64().unwrap();
        let verification = reply["verification"].as_str().unwrap().to_string();
        assert!(
            self.acked.values().all(|a| a.id != id),
            "command id {id} used twice"
        );
        self.acked.insert(
            receipt,
            Ack {
                id: id.to_string(),
                total: total.to_string(),
                seq,
                verification,
            },
        );
        self.receipts = receipt;
    }

    fn next_cmd(&self, rng: &mut XorShift) -> Cmd {
        match &self.cart {
            None => Cmd::New,
            Some(c) if c.lines < c.target => {
                let (key, max, weighed) = ITEMS[rng.below(ITEMS.len() as u64) as usize];
                if weighed {
                    Cmd::Add(format!("{key} 0.{:03}", 100 + rng.below(900)))
                } else if rng.chance(50) {
                    Cmd::Add(key.to_string())
                } else {
                    Cmd::Add(format!("{key} {}", 1 + rng.below(max)))
                }
            }
            Some(c) if !c.tendered => Cmd::Tender,
            Some(_) => Cmd::Complete(uuid(rng)),
        }
    }
}

fn compare_receipt(k: &mut Keel, no: u64, ack: &Ack) {
    let r = k.ok(&format!("receipt show {no}"));
    assert_eq!(r["receipt"], no, "{r}");
    assert_eq!(
        r["total"],
        ack.total.as_str(),
        "receipt {no} total as acknowledged: {r}"
    );
    assert_eq!(r["seq"], ack.seq, "receipt {no} seq as acknowledged: {r}");
    assert_eq!(
        r["verification"],
        ack.verification.as_str(),
        "receipt {no} verification code as acknowledged: {r}"
    );
    assert_eq!(r["voided"], false, "{r}");
}

/// After a restart: reconciles the in-flight command, then checks everything.
fn recover_and_check(
    k: &mut Keel,
    m: &mut Model,
    rng: &mut XorShift,
    stats: &mut Stats,
    full: bool,
) {
    k.ok(&format!("login {MANAGER}"));
    let st = k.ok("status");
    let last = st["last_receipt"].as_u64().unwrap();
    let open_lines = st["sale_open_lines"].as_u64();
    let max_acked = m.acked.keys().next_back().copied().unwrap_or(0);
    assert!(
        last >= max_acked,
        "last_receipt {last} is below an acknowledged receipt {max_acked}: {st}"
    );
    if m.shift_open {
        assert_eq!(st["shift"], 1, "the shift stays open across kills: {st}");
    }
    let acked_lines = m.cart.as_ref().map(|c| c.lines);
    match m.in_flight.take() {
        None => {
            assert_eq!(last, m.receipts, "{st}");
            assert_eq!(
                open_lines, acked_lines,
                "the open cart is as acknowledged: {st}"
            );
        }
        Some(Cmd::New) => {
            assert_eq!(last, m.receipts, "{st}");
            assert!(
                open_lines.is_none() || open_lines == Some(0),
                "an unacknowledged `sale new` is all or nothing: {st}"
            );
            m.cart = open_lines.map(|_| Cart {
                lines: 0,
                target: 1 + rng.below(3),
                tendered: false,
                total: "0.00".into(),
            });
        }
        Some(Cmd::Add(what)) => {
            assert_eq!(last, m.receipts, "{st}");
            let n = acked_lines.expect("an add has a cart");
            let got = open_lines.unwrap_or_else(|| {
                panic!("the cart vanished after an interrupted `sale add {what}`: {st}")
            });
            assert!(got == n || got == n + 1, "an unacknowledged add is all or nothing: {n} acknowledged lines, {got} found: {st}");
            let c = k.ok("sale show");
            let cart = m.cart.as_mut().unwrap();
            cart.lines = got;
            cart.total = amt(&c, "total");
        }
        Some(Cmd::Tender) => {
            assert_eq!(last, m.receipts, "{st}");
            assert_eq!(open_lines, acked_lines, "{st}");
            let c = k.ok("sale show");
            let paid = amt(&c, "cash_paid");
            assert!(
                paid == "0.00" || paid == "50.00",
                "an unacknowledged tender is all or nothing: {c}"
            );
            assert_eq!(c["total"], m.cart.as_ref().unwrap().total.as_str(), "{c}");
            m.cart.as_mut().unwrap().tendered = paid == "50.00";
        }
        Some(Cmd::Complete(id)) => {
            let cart = m.cart.take().expect("a complete has a cart");
            if last == m.receipts + 1 {
                // Committed, but the reply never reached us.
                stats.complete_committed_unacked += 1;
                assert_eq!(open_lines, None, "a committed sale leaves no cart: {st}");
            } else {
                stats.complete_not_committed += 1;
                assert_eq!(last, m.receipts, "at most one sale per complete: {st}");
                assert_eq!(
                    open_lines,
                    Some(cart.lines),
                    "an uncommitted complete leaves the cart as it was: {st}"
                );
                let c = k.ok("sale show");
                assert_eq!(c["total"], cart.total.as_str(), "{c}");
                assert_eq!(c["covered"], true, "{c}");
            }
            // The terminal retries with the same command id: one sale either way.
            let r = k.ok(&format!("sale complete {id}"));
            m.record_completion(&id, &cart.total, &r);
            stats.sales_acknowledged += 1;
            let again = k.ok(&format!("sale complete {id}"));
            assert_eq!(again["receipt"], r["receipt"], "{again}");
            assert_eq!(again["seq"], r["seq"], "{again}");
        }
    }

    let v = k.send("journal verify");
    assert_eq!(v["ok"], true, "journal verify after a kill: {v}");
    let st = k.ok("status");
    assert_eq!(
        st["last_receipt"], m.receipts,
        "no sale beyond those the driver made: {st}"
    );
    assert_eq!(v["records"], st["last_seq"], "{v} {st}");

    // Gapless, and every receipt is one acknowledged command id's sale.
    let from = if full { 1 } else { m.checked + 1 };
    for no in from..=m.receipts {
        let ack = m.acked.get(&no).unwrap_or_else(|| {
            panic!("receipt {no} exists but no command id the driver sent made it")
        });
        compare_receipt(k, no, &ack.clone());
    }
    m.checked = m.receipts;
    let e = k.err(&format!("receipt show {}", m.receipts + 1));
    assert!(e.contains("no receipt"), "{e}");

    // Older acknowledged sales: still there, and a late resend of their id adds nothing.
    for _ in 0..2 {
        if m.receipts == 0 {
            break;
        }
        let no = 1 + rng.below(m.receipts);
        let ack = m.acked[&no].clone();
        compare_receipt(k, no, &ack);
        let r = k.ok(&format!("sale complete {}", ack.id));
        assert_eq!(r["receipt"], no, "a resent id returns its first sale: {r}");
        assert_eq!(r["seq"], ack.seq, "{r}");
    }
    assert_eq!(k.ok("status")["last_receipt"], m.receipts);
    if full {
        assert_eq!(m.acked.len() as u64, m.receipts);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
    )
}

/// A delay to wait before the kill, up to 30 ms; often very short, so that kills
/// land inside a command's commit (which takes well under a millisecond on a fast disk).
fn kill_delay(rng: &mut XorShift) -> Duration {
    match rng.below(10) {
        0..=3 => Duration::from_micros(rng.below(400)),
        4..=6 => Duration::from_micros(rng.below(3_000)),
        _ => Duration::from_micros(rng.below(30_000)),
    }
}

/// Waits `d`, spinning for short delays (sleep cannot resolve tens of microseconds).
fn pause(d: Duration) {
    if d < Duration::from_millis(1) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    } else {
        std::thread::sleep(d);
    }
}

#[test]
fn acknowledged_sales_survive_sigkill_at_random_moments() {
    let iterations = env_u64("KEEL_CRASH_ITERATIONS").unwrap_or(200);
    let seed = env_u64("KEEL_CRASH_SEED").unwrap_or_else(fresh_seed);
    eprintln!("crash test: KEEL_CRASH_SEED={seed} KEEL_CRASH_ITERATIONS={iterations}");
    let mut rng = XorShift::new(seed);
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut m = Model {
        acked: BTreeMap::new(),
        receipts: 0,
        checked: 0,
        cart: None,
        in_flight: None,
        shift_open: false,
    };
    let mut stats = Stats::default();

    while stats.kills < iterations {
        let round = stats.kills;
        let mut k = Keel::start(dir.path());
        if round > 0 && rng.chance(5) {
            // Killed while starting up (opening the journal, loading or rebuilding state).
            pause(kill_delay(&mut rng));
            let extra = k.kill_collect();
            assert!(
                extra.is_empty(),
                "nothing was asked, nothing may be answered: {extra:?}"
            );
            stats.kills += 1;
            stats.kills_at_startup += 1;
            continue;
        }
        if round > 0 {
            recover_and_check(&mut k, &mut m, &mut rng, &mut stats, false);
        }
        k.ok(&format!("login {CASHIER}"));
        if !m.shift_open {
            let st = k.ok("status");
            if st["shift"].is_null() {
                k.ok("shift open 100.00");
            }
            m.shift_open = true;
        }
        if m.cart.is_some() && rng.chance(30) {
            // A cart left over from the kill: drop it (otherwise carry on with it).
            k.ok("sale cancel");
            m.cart = None;
        }

        // Sell until the kill.
        loop {
            let cmd = m.next_cmd(&mut rng);
            let completing = matches!(cmd, Cmd::Complete(_));
            k.write(&cmd.line());
            stats.commands += 1;
            let kill_now = rng.chance(if completing { 30 } else { 4 });
            if !kill_now {
                let reply = k.read_json();
                m.apply(&cmd, &reply, &mut rng, &mut stats);
                continue;
            }
            stats.kills += 1;
            if rng.chance(35) {
                // Idle: the reply is in, the process is killed a moment later.
                let reply = k.read_json();
                m.apply(&cmd, &reply, &mut rng, &mut stats);
                pause(kill_delay(&mut rng));
                let extra = k.kill_collect();
                assert!(extra.is_empty(), "replies nobody asked for: {extra:?}");
                stats.kills_idle += 1;
            } else {
                // In flight: killed before its reply was read.
                pause(kill_delay(&mut rng));
                let extra = k.kill_collect();
                stats.kills_in_flight += 1;
                if completing {
                    stats.kills_during_complete += 1;
                }
                match extra.as_slice() {
                    [] => m.in_flight = Some(cmd),
                    [line] => {
                        // The reply was written before the kill: the cashier saw it, so it counts.
                        let reply: Value =
                            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
                        m.apply(&cmd, &reply, &mut rng, &mut stats);
                        if completing {
                            stats.complete_reply_after_kill += 1;
                        }
                    }
                    more => panic!("one reply per command, got {more:?}"),
                }
            }
            break;
        }
    }

    // Final restart: reconcile, then check every receipt and the journal once more, and stop cleanly.
    let mut k = Keel::start(dir.path());
    recover_and_check(&mut k, &mut m, &mut rng, &mut stats, true);
    k.quit();

    let elapsed = started.elapsed();
    eprintln!(
        "crash test summary: seed={seed} iterations={} sales_acknowledged={} receipts={} commands={} kills_idle={} kills_in_flight={} kills_during_complete={} (committed_unacked={} not_committed={} reply_before_kill={}) kills_at_startup={} elapsed={:.1}s",
        stats.kills,
        stats.sales_acknowledged,
        m.receipts,
        stats.commands,
        stats.kills_idle,
        stats.kills_in_flight,
        stats.kills_during_complete,
        stats.complete_committed_unacked,
        stats.complete_not_committed,
        stats.complete_reply_after_kill,
        stats.kills_at_startup,
        elapsed.as_secs_f64()
    );
    assert!(stats.kills >= iterations);
    assert!(m.receipts > 0, "the run made no sale at all");
}
