//! Replicated state converges: every terminal folds the same events of several
//! origins in a different interleaving (each origin's own order kept, as
//! replication guarantees) and ends with the same catalog, stock and kitchen
//! tickets; applying an event twice is detected by the caller's version vector,
//! but the fold itself also never moves a ticket backwards or lets an older
//! price win.

use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::chain::ChainHash;
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, ReceiptNo, Sku, StoreId, TerminalId, TicketId, UserId};
use keel_core::kitchen::TicketStatus;
use keel_core::money::{Currency, Money};
use keel_core::sale::{Sale, SaleLine};
use keel_core::state::TerminalState;
use keel_core::tax::TaxMode;
use proptest::prelude::*;

fn eur(m: i64) -> Money {
    Money::new(m, Currency::EUR)
}

fn item(sku: &str, price: i64) -> CatalogItem {
    CatalogItem {
        sku: Sku(sku.into()),
        barcodes: vec![],
        name: sku.into(),
        category: "c".into(),
        price: eur(price),
        tax_class: "standard".into(),
        sold_by: SoldBy::Unit,
        active: true,
        kitchen_station: None,
    }
}

fn sale(receipt: u64, sku: &str, qty: i64, ticket: Option<TicketId>) -> Sale {
    let line = SaleLine {
        line_no: 1,
        sku: Sku(sku.into()),
        name: sku.into(),
        qty,
        sold_by: SoldBy::Unit,
        unit_price: eur(100),
        list_price: eur(100),
        gross: eur(100 * qty),
        discount: eur(0),
        amount: eur(100 * qty),
        tax_class: "standard".into(),
        override_reason: None,
        kitchen_station: ticket.map(|_| "bar".to_string()),
    };
    Sale {
        receipt_no: ReceiptNo(receipt),
        shift_no: 1,
        cashier: UserId("c".into()),
        lines: vec![line],
        voided_lines: 0,
        subtotal: eur(100 * qty),
        discount_total: eur(0),
        tax_mode: TaxMode::Inclusive,
        taxes: vec![],
        tax_total: eur(0),
        total: eur(100 * qty),
        rounding: eur(0),
        tenders: vec![],
        change: eur(0),
        tickets: ticket.into_iter().collect(),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Price(usize, i64),
    Stock(usize, i64),
    Sale(usize, i64, bool),
    Advance(usize, u64, u8),
    Setting(usize, u8),
    Customer(usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..3, 1i64..1000).prop_map(|(s, p)| Op::Price(s, p)),
        (0usize..3, -5i64..20).prop_map(|(s, d)| Op::Stock(s, d)),
        (0usize..3, 1i64..4, any::<bool>()).prop_map(|(s, q, k)| Op::Sale(s, q, k)),
        (0usize..3, 1u64..4, 0u8..4).prop_map(|(t, n, st)| Op::Advance(t, n, st)),
        (0usize..2, any::<u8>()).prop_map(|(k, v)| Op::Setting(k, v)),
        (0usize..3, any::<u8>()).prop_map(|(k, v)| Op::Customer(k, v)),
    ]
}

const SKUS: [&str; 3] = ["A", "B", "C"];

/// Builds each origin's journal from its ops; wall clocks are skewed per origin.
fn journals(ops: &[Vec<(u64, Op)>]) -> Vec<Vec<Event>> {
    ops.iter()
        .enumerate()
        .map(|(o, list)| {
            let terminal = TerminalId(o as u32 + 1);
            let mut receipt = 0;
            let mut ticket = 0;
            // An origin's HLC only moves forward; origins' clocks are skewed against each other.
            let mut wall_acc = o as u64 * 7;
            list.iter()
                .enumerate()
                .map(|(i, (wall, op))| {
                    let body = match op {
                        Op::Price(s, p) => EventBody::CatalogUpserted(item(SKUS[*s], *p)),
                        Op::Stock(s, d) => EventBody::StockAdjusted {
                            sku: Sku(SKUS[*s].into()),
                            delta: *d,
                            reason: "r".into(),
                        },
                        Op::Sale(s, q, k) => {
                            receipt += 1;
                            let t = if *k {
                                ticket += 1;
                                Some(TicketId {
                                    terminal,
                                    number: ticket,
                                })
                            } else {
                                None
                            };
                            EventBody::SaleCompleted(sale(receipt, SKUS[*s], *q, t))
                        }
                        Op::Customer(k, v) if v % 2 == 0 => EventBody::CustomerUpserted(
                            keel_core::customer::Customer::new(
                                ["C1", "C2", "C3"][*k],
                                &format!("Name {v}"),
                                None,
                            )
                            .unwrap(),
                        ),
                        Op::Customer(k, v) => EventBody::CustomerSealed(keel_core::pii::seal(
                            &keel_core::customer::Customer::new(
                                ["C1", "C2", "C3"][*k],
                                &format!("Name {v}"),
                                None,
                            )
                            .unwrap(),
                            &keel_core::pii::CustomerKey([*v; 32]),
                            [*v; 12],
                        )),
                        Op::Setting(k, v) => EventBody::SettingChanged {
                            key: ["receipt.footer", "store.name"][*k].into(),
                            value: v.to_string(),
                        },
                        Op::Advance(t, n, st) => EventBody::KitchenAdvanced {
                            ticket: TicketId {
                                terminal: TerminalId(*t as u32 + 1),
                                number: *n,
                            },
                            to: [
                                TicketStatus::Pending,
                                TicketStatus::Preparing,
                                TicketStatus::Ready,
                                TicketStatus::Served,
                            ][*st as usize],
                            dismissed_recalls: 0,
                            by: UserId("k".into()),
                        },
                    };
                    wall_acc += *wall % 3;
                    Event {
                        dot: Dot {
                            terminal,
                            seq: i as u64 + 1,
                        },
                        hlc: Hlc {
                            wall_ms: wall_acc,
                            counter: i as u32,
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

/// Folds the journals into terminal `me`'s state, interleaving by `order` (origin picks).
fn fold(me: u32, journals: &[Vec<Event>], order: &[usize]) -> TerminalState {
    let mut s = TerminalState::new(StoreId("s".into()), TerminalId(me), Currency::EUR);
    let mut next = vec![0usize; journals.len()];
    let mut picks = order.iter().cycle();
    let total: usize = journals.iter().map(Vec::len).sum();
    let mut applied = 0;
    while applied < total {
        let o = *picks.next().unwrap_or(&0) % journals.len();
        let o = (0..journals.len())
            .map(|d| (o + d) % journals.len())
            .find(|c| next[*c] < journals[*c].len())
            .unwrap();
        s.apply(&journals[o][next[o]]);
        next[o] += 1;
        applied += 1;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn any_interleaving_converges(
        ops in proptest::collection::vec(proptest::collection::vec((1u64..50, op()), 0..25), 3),
        order_a in proptest::collection::vec(0usize..3, 1..40),
        order_b in proptest::collection::vec(0usize..3, 1..40),
    ) {
        let js = journals(&ops);
        let a = fold(1, &js, &order_a);
        let b = fold(2, &js, &order_b);
        let c = fold(3, &js, &[2, 1, 0]);
        for other in [&b, &c] {
            prop_assert_eq!(&a.catalog, &other.catalog);
            prop_assert_eq!(&a.stock, &other.stock);
            prop_assert_eq!(&a.kitchen, &other.kitchen);
            prop_assert_eq!(&a.settings, &other.settings);
            prop_assert_eq!(&a.customers, &other.customers);
            prop_assert_eq!(&a.sealed_customers, &other.sealed_customers);
        }
        // The price that wins is the one with the greatest HLC.
        for (i, sku) in SKUS.iter().enumerate() {
            let latest = js.iter().flatten().filter(|e| matches!(&e.body, EventBody::CatalogUpserted(it) if it.sku.0 == *sku)).max_by_key(|e| e.hlc);
            let _ = i;
            if let Some(e) = latest {
                if let EventBody::CatalogUpserted(it) = &e.body {
                    prop_assert_eq!(a.catalog.get(&Sku(sku.to_string())).map(|x| x.price), Some(it.price));
                }
            }
        }
        // Own-only state stays own: terminal 1's receipt counter counts only its sales.
        let own_sales = js[0].iter().filter(|e| matches!(e.body, EventBody::SaleCompleted(_))).count() as u64;
        prop_assert_eq!(a.counters.last_receipt, own_sales);
    }
}
