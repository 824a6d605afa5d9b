//! Counter orders: the engine's place/take/cancel rules, the state they fold
//! into (and load back from the derived tables), and the fold's convergence
//! when several terminals' places, takes and cancels arrive in any order.

mod harness;

use harness::{item, profile, Harness};
use keel_core::catalog::SoldBy;
use keel_core::chain::ChainHash;
use keel_core::counter_order::{CounterLine, CounterOrderId, CounterStatus};
use keel_core::engine::{AddRequest, CounterOrderError};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, ReceiptNo, Sku, StoreId, TerminalId, UserId};
use keel_core::money::Currency;
use keel_core::state::TerminalState;
use keel_core::tax::{RoundingMode, TaxMode, TaxRoundingScope};
use proptest::prelude::*;

fn harness() -> Harness {
    let mut inactive = item("OLD", 100, "standard", SoldBy::Unit);
    inactive.active = false;
    let mut h = Harness::new(
        profile(
            TaxMode::Inclusive,
            TaxRoundingScope::PerLine,
            RoundingMode::HalfUp,
            1,
        ),
        vec![
            item("COFFEE", 250, "standard", SoldBy::Unit),
            item("BAGEL", 320, "reduced", SoldBy::Unit),
            inactive,
        ],
    );
    let c = h.cashier.clone();
    let ev = h.engine().open_shift(Some(&c), "50.00").unwrap();
    h.apply(ev);
    h
}

fn line(sku: &str, qty: i64) -> CounterLine {
    CounterLine {
        sku: Sku(sku.into()),
        qty,
    }
}

fn add(h: &mut Harness, sku: &str, qty: &str) {
    let c = h.cashier.clone();
    let now = h.now;
    let ev = h
        .engine()
        .add_item(
            Some(&c),
            AddRequest {
                key: sku,
                qty: Some(qty),
                now_ms: now,
            },
        )
        .unwrap();
    h.apply(ev);
}

#[test]
fn place_checks_lines_and_numbers_orders_per_terminal() {
    let mut h = harness();
    let c = h.cashier.clone();
    let e = h.engine();
    assert_eq!(
        e.place_counter_order(None, vec![line("COFFEE", 1)]),
        Err(CounterOrderError::Denied(
            keel_core::engine::Denied::NotLoggedIn
        ))
    );
    assert_eq!(
        e.place_counter_order(Some(&c), vec![]),
        Err(CounterOrderError::Empty)
    );
    assert_eq!(
        e.place_counter_order(Some(&c), vec![line("NOPE", 1)]),
        Err(CounterOrderError::UnknownSku("NOPE".into()))
    );
    assert_eq!(
        e.place_counter_order(Some(&c), vec![line("OLD", 1)]),
        Err(CounterOrderError::Inactive("OLD".into()))
    );
    assert!(matches!(
        e.place_counter_order(Some(&c), vec![line("COFFEE", 0)]),
        Err(CounterOrderError::Quantity { qty: 0, .. })
    ));
    let (ev, id) = e
        .place_counter_order(Some(&c), vec![line("COFFEE", 2)])
        .unwrap();
    assert_eq!(id.to_string(), "K1-1");
    h.apply(ev);
    let (ev, id) = h
        .engine()
        .place_counter_order(Some(&c), vec![line("BAGEL", 1)])
        .unwrap();
    assert_eq!(id.to_string(), "K1-2");
    h.apply(ev);
    assert_eq!(h.state.open_counter_orders().len(), 2);
    assert_eq!(h.loaded(), h.state);
    assert_eq!(h.replayed(), h.state);
}

#[test]
fn placing_the_open_sale_clears_it() {
    let mut h = harness();
    let c = h.cashier.clone();
    assert!(matches!(
        h.engine().place_open_sale(Some(&c)),
        Err(CounterOrderError::Sale(_))
    ));
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    add(&mut h, "COFFEE", "2");
    add(&mut h, "BAGEL", "1");
    let (ev, id) = h.engine().place_open_sale(Some(&c)).unwrap();
    h.apply(ev);
    assert!(h.state.cart.is_none());
    let o = &h.state.counter_orders[&id];
    assert_eq!(o.lines, vec![line("COFFEE", 2), line("BAGEL", 1)]);
    assert!(o.is_open());
}

#[test]
fn take_opens_a_sale_at_todays_prices_and_only_once() {
    let mut h = harness();
    let c = h.cashier.clone();
    let m = h.manager.clone();
    let (ev, id) = h
        .engine()
        .place_counter_order(Some(&c), vec![line("COFFEE", 2), line("BAGEL", 1)])
        .unwrap();
    h.apply(ev);
    // A price change between placing and taking: the take uses today's price.
    h.apply(vec![EventBody::CatalogUpserted(item(
        "COFFEE",
        300,
        "standard",
        SoldBy::Unit,
    ))]);
    let priced = h
        .engine()
        .price_counter_order(&h.state.counter_orders[&id], h.now)
        .unwrap();
    assert_eq!(priced.total.minor, 2 * 300 + 320);
    // A sale with lines open refuses the take.
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    add(&mut h, "BAGEL", "1");
    assert_eq!(
        h.engine().take_counter_order(Some(&c), "K1-1", h.now, 0),
        Err(CounterOrderError::SaleOpen(1))
    );
    let ev = h.engine().cancel_sale(Some(&c)).unwrap();
    h.apply(ev);
    assert!(matches!(
        h.engine().take_counter_order(Some(&c), "K9-9", h.now, 0),
        Err(CounterOrderError::NoOrder(_))
    ));
    let (ev, taken) = h
        .engine()
        .take_counter_order(Some(&c), "k1-1", h.now, 7)
        .unwrap();
    assert_eq!(taken, id);
    h.apply(ev);
    let cart = h.state.cart.as_ref().unwrap();
    assert_eq!(cart.lines.len(), 2);
    assert_eq!(cart.lines[0].unit_price.minor, 300);
    assert_eq!(h.engine().priced().unwrap().total.minor, 920);
    let o = &h.state.counter_orders[&id];
    assert_eq!(o.status(), CounterStatus::Taken);
    assert_eq!(o.taken.as_ref().unwrap().receipt_no, ReceiptNo(1));
    assert!(h.state.open_counter_orders().is_empty());
    // Taken: a second take and a cancel are refused.
    let ev = h.engine().cancel_sale(Some(&c)).unwrap();
    h.apply(ev);
    assert_eq!(
        h.engine().take_counter_order(Some(&c), "K1-1", h.now, 0),
        Err(CounterOrderError::AlreadyTaken {
            order: id,
            terminal: TerminalId(1)
        })
    );
    assert!(matches!(
        h.engine().cancel_counter_order(Some(&m), "K1-1"),
        Err(CounterOrderError::AlreadyTaken { .. })
    ));
    assert_eq!(h.loaded(), h.state);
}

#[test]
fn cancel_needs_a_manager_and_closes_the_order() {
    let mut h = harness();
    let c = h.cashier.clone();
    let m = h.manager.clone();
    let (ev, id) = h
        .engine()
        .place_counter_order(Some(&c), vec![line("COFFEE", 1)])
        .unwrap();
    h.apply(ev);
    assert!(matches!(
        h.engine().cancel_counter_order(Some(&c), "K1-1"),
        Err(CounterOrderError::Denied(_))
    ));
    let (ev, _) = h.engine().cancel_counter_order(Some(&m), "K1-1").unwrap();
    h.apply(ev);
    assert_eq!(
        h.state.counter_orders[&id].status(),
        CounterStatus::Cancelled
    );
    assert_eq!(
        h.engine().take_counter_order(Some(&c), "K1-1", h.now, 0),
        Err(CounterOrderError::Cancelled(id))
    );
}

// --- convergence ---------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// Place the origin's next order.
    Place(i64),
    /// Take order (placing terminal, number).
    Take(u32, u64),
    /// Cancel order (placing terminal, number).
    Cancel(u32, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..5).prop_map(Op::Place),
        (1u32..4, 1u64..4).prop_map(|(t, n)| Op::Take(t, n)),
        (1u32..4, 1u64..4).prop_map(|(t, n)| Op::Cancel(t, n)),
    ]
}

fn journals(ops: &[Vec<(u64, Op)>]) -> Vec<Vec<Event>> {
    ops.iter()
        .enumerate()
        .map(|(o, list)| {
            let terminal = TerminalId(o as u32 + 1);
            let mut placed = 0;
            let mut wall = o as u64 * 3;
            list.iter()
                .enumerate()
                .map(|(i, (step, op))| {
                    wall += step;
                    let order = |t: u32, n: u64| CounterOrderId {
                        terminal: TerminalId(t),
                        number: n,
                    };
                    let body = match op {
                        Op::Place(q) => {
                            placed += 1;
                            EventBody::CounterOrderPlaced {
                                order: order(terminal.0, placed),
                                lines: vec![line("COFFEE", *q)],
                                by: UserId("k".into()),
                            }
                        }
                        Op::Take(t, n) => EventBody::CounterOrderTaken {
                            order: order(*t, *n),
                            receipt_no: ReceiptNo(i as u64 + 1),
                            raft_index: 0,
                            by: UserId("c".into()),
                        },
                        Op::Cancel(t, n) => EventBody::CounterOrderCancelled {
                            order: order(*t, *n),
                            by: UserId("m".into()),
                        },
                    };
                    Event {
                        dot: Dot {
                            terminal,
                            seq: i as u64 + 1,
                        },
                        hlc: Hlc {
                            wall_ms: wall,
                            counter: 0,
                            node: terminal.0,
                        },
                        prev: ChainHash::default(),
                        body,
                    }
                })
                .collect()
        })
        .collect()
}

/// Folds the journals into terminal `me`'s state, interleaving by `order`
/// (each origin's own order kept, as replication guarantees).
fn fold(me: u32, journals: &[Vec<Event>], order: &[usize]) -> TerminalState {
    let mut s = TerminalState::new(StoreId("s".into()), TerminalId(me), Currency::EUR);
    let mut next = vec![0usize; journals.len()];
    let mut picks = order.iter().cycle();
    let total: usize = journals.iter().map(Vec::len).sum();
    for _ in 0..total {
        let o = *picks.next().unwrap_or(&0) % journals.len();
        let o = (0..journals.len())
            .map(|d| (o + d) % journals.len())
            .find(|c| next[*c] < journals[*c].len())
            .unwrap();
        s.apply(&journals[o][next[o]]);
        next[o] += 1;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn counter_orders_converge_in_any_delivery_order(
        ops in proptest::collection::vec(proptest::collection::vec((1u64..20, op()), 0..15), 3),
        order_a in proptest::collection::vec(0usize..3, 1..30),
        order_b in proptest::collection::vec(0usize..3, 1..30),
    ) {
        let js = journals(&ops);
        let a = fold(1, &js, &order_a);
        let b = fold(2, &js, &order_b);
        let c = fold(3, &js, &[2, 1, 0]);
        for other in [&b, &c] {
            prop_assert_eq!(&a.counter_orders, &other.counter_orders);
        }
        for o in a.counter_orders.values() {
            let takes: Vec<&Event> = js.iter().flatten().filter(|e| matches!(&e.body, EventBody::CounterOrderTaken { order, .. } if *order == o.id)).collect();
            // Every take is kept: one owner, the others flagged.
            prop_assert_eq!(takes.len(), o.taken.iter().count() + o.conflicts.len());
            // The owner is the earliest take.
            if let Some(first) = takes.iter().min_by_key(|e| (e.hlc, e.dot.terminal)) {
                prop_assert_eq!(o.taken.as_ref().map(|t| (t.at, t.terminal)), Some((first.hlc, first.dot.terminal)));
                prop_assert!(!o.is_open());
            }
        }
        // Own counters stay own: each terminal numbers only its own orders.
        let own = js[1].iter().filter(|e| matches!(e.body, EventBody::CounterOrderPlaced { .. })).count() as u64;
        prop_assert_eq!(b.last_counter_order, own);
    }
}
