//! "Pay at the counter" end to end, on two in-process terminals in a real
//! QUIC cluster on loopback: on the self-order kiosk (terminal 2) a customer
//! adds items and taps "Pay at the counter" and sees the order number; on the
//! cashier's till (terminal 1) the order appears on the Counter orders page,
//! the cashier takes it (the sale holds its lines at today's prices), takes
//! cash and completes; the order is gone on both terminals; taking it again,
//! on the till or on the kiosk, is refused; and a take the store's consensus
//! already granted to another terminal is refused on the till with the
//! winner named, though the till's own journal still showed the order open.
//!
//! Amounts are written `euros_cents` (`5_00` is 5.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_core::ids::StoreId;
use keel_kiosk::{DemoCardTerminal, HeadlessKiosk};
use keel_terminal::cluster_runtime::{ClusterHandle, Consensus};
use keel_terminal::node::Node;
use keel_terminal::provision::{provision, ProvisionPlan};
use keel_terminal::ui_bridge::snapshot::MessageKind;
use keel_terminal::ui_bridge::{UiAction, UiBridge, UiServices, UiSnapshot};
use keel_ui::generated::{
    CounterOrdersActions, CounterOrdersState, NavActions, Page, SelfOrderActions, SelfOrderState,
    UiState,
};
use keel_ui::screens::self_order::Stage;
use keel_ui::ScreenMode;
use slint::{ComponentHandle, Model};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CASHIER: &str = "1111";
/// Loopback UDP ports of this test binary (below the ephemeral range).
const PORTS: std::ops::Range<u16> = 31_000..31_999;

/// `n` consecutive loopback UDP ports in [`PORTS`], free now.
fn free_ports(n: u16) -> u16 {
    let span = PORTS.end - PORTS.start - n;
    let mut base = PORTS.start + (std::process::id() % u32::from(span)) as u16;
    for _ in 0..span {
        if (0..n).all(|i| std::net::UdpSocket::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
        base = PORTS.start + (base - PORTS.start + n + 1) % span;
    }
    panic!("no {n} free ports in {PORTS:?}");
}

/// A provisioned terminal opened in-process with its cluster runtime.
struct Terminal {
    node: Arc<Mutex<Node>>,
    cluster: Arc<ClusterHandle>,
}

fn start_terminal(config: &Path) -> Terminal {
    let cfg = keel_terminal::config::load(config).unwrap();
    let seed = if cfg.demo_catalog {
        keel_terminal::demo::seed_events()
    } else {
        Vec::new()
    };
    let node = Node::open(
        cfg.profile,
        &cfg.data_dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        seed,
    )
    .unwrap();
    let node = Arc::new(Mutex::new(node));
    let cluster =
        keel_terminal::cluster_runtime::start(node.clone(), cfg.cluster.as_ref().unwrap()).unwrap();
    Terminal {
        node,
        cluster: Arc::new(cluster),
    }
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn services(t: &Terminal) -> UiServices {
    UiServices {
        cluster: Some(Arc::clone(&t.cluster)),
        ..UiServices::default()
    }
}

/// Fails if the snapshot carries an error.
fn no_error(s: &UiSnapshot, what: &str) {
    if let Some(m) = &s.message {
        assert_eq!(m.kind, MessageKind::Notice, "{what}: {}", m.text);
    }
}

/// Logs in and opens the shift, retrying while the cluster settles.
fn set_up(k: &mut HeadlessKiosk, who: &str) {
    let s = k.send(UiAction::Login {
        pin: CASHIER.into(),
    });
    no_error(s, who);
    wait_for(
        &format!("the shift to open on {who}"),
        Duration::from_secs(30),
        || {
            k.send(UiAction::ShiftOpen { float: 100_00 })
                .shift
                .is_some()
        },
    );
}

fn rows(k: &HeadlessKiosk) -> Vec<(String, String, String)> {
    k.window()
        .global::<CounterOrdersState<'_>>()
        .get_orders()
        .iter()
        .map(|r| {
            (
                r.number.to_string(),
                r.items.to_string(),
                r.total.to_string(),
            )
        })
        .collect()
}

/// The customer orders `skus` on the kiosk and taps "Pay at the counter";
/// returns the order number shown.
fn order_at_the_kiosk(kiosk: &mut HeadlessKiosk, skus: &[&str]) -> String {
    let w = kiosk.window();
    let a = w.global::<SelfOrderActions<'_>>();
    a.invoke_start();
    for sku in skus {
        a.invoke_add((*sku).into());
        kiosk.pump();
        no_error(kiosk.snapshot(), sku);
    }
    assert!(kiosk.take_refused().is_empty());
    assert_eq!(
        kiosk
            .window()
            .global::<SelfOrderState<'_>>()
            .get_lines()
            .row_count(),
        skus.len()
    );
    // "Pay at the counter": the right of the two pay buttons under the order.
    kiosk.screens().render().unwrap();
    kiosk.screens().tap(910.0, 648.0);
    assert_eq!(kiosk.pump(), 1, "one action: place the order");
    assert!(kiosk.take_refused().is_empty());
    let s = kiosk.snapshot().clone();
    no_error(&s, "pay at the counter");
    assert!(s.cart.is_none(), "the kiosk's sale is closed");
    assert_eq!(
        s.shift.as_ref().map(|x| x.sales_count),
        Some(0),
        "nothing sold"
    );
    let (stage, number) = kiosk.screens().ui().self_order_stage();
    assert_eq!(stage, Stage::Thanks);
    let number = number.expect("the order number");
    assert_eq!(Some(&number), s.last_counter_order.as_ref());
    let st = w.global::<SelfOrderState<'_>>();
    assert!(st.get_at_counter(), "'please pay at the counter'");
    assert_eq!(st.get_order_number().as_str(), number);
    assert!(
        w.global::<UiState<'_>>().get_message().is_empty(),
        "no message line over the customer's thank-you"
    );
    a.invoke_done();
    number
}

#[test]
fn an_order_paid_at_the_counter_goes_from_the_kiosk_to_the_till_and_is_taken_once() {
    let dir = tempfile::tempdir().unwrap();
    let configs = provision(&ProvisionPlan {
        store: StoreId("corner".into()),
        terminals: 2,
        out: dir.path().join("corner"),
        host: "127.0.0.1".parse().unwrap(),
        base_port: free_ports(2),
        mdns: false,
        demo_catalog: true,
    })
    .unwrap();
    let t1 = start_terminal(&configs[0]);
    let t2 = start_terminal(&configs[1]);

    // Terminal 2 is the self-order kiosk, set up by staff.
    let mut kiosk = HeadlessKiosk::new(
        UiBridge::new(t2.node.clone(), services(&t2)),
        1024,
        768,
        Some(Box::new(DemoCardTerminal::default())),
    )
    .unwrap();
    kiosk.screens().ui().set_mode(ScreenMode::SelfOrder);
    set_up(&mut kiosk, "T02");
    // The catalog comes from terminal 1 (which seeds the demo café).
    wait_for("the catalog on T02", Duration::from_secs(30), || {
        kiosk
            .send(UiAction::Refresh)
            .categories
            .iter()
            .flat_map(|c| &c.products)
            .any(|p| p.sku == "CHOC-100")
    });
    assert_eq!(kiosk.screens().ui().page(), Page::SelfOrder);

    // Terminal 1 is the cashier's till.
    let mut till = HeadlessKiosk::new(
        UiBridge::new(t1.node.clone(), services(&t1)),
        1024,
        768,
        None,
    )
    .unwrap();
    set_up(&mut till, "T01");

    // The customer orders two espressos and a chocolate, to pay at the counter.
    let number = order_at_the_kiosk(&mut kiosk, &["ESPRESSO", "ESPRESSO", "CHOC-100"]);
    assert_eq!(number, "K2-1");
    let on_kiosk = kiosk.send(UiAction::Refresh).counter_orders.clone();
    assert_eq!(on_kiosk.len(), 1, "{on_kiosk:?}");
    let total = on_kiosk[0].total.clone().expect("priced");

    // A take needs the store's consensus: wait for a leader.
    wait_for("a raft leader", Duration::from_secs(30), || {
        t1.cluster.status().raft.is_some_and(|r| r.leader.is_some())
    });

    // The order reaches the till's Counter orders page.
    till.window()
        .global::<NavActions<'_>>()
        .invoke_go(Page::CounterOrders);
    assert_eq!(till.screens().ui().page(), Page::CounterOrders);
    wait_for("K2-1 on T01", Duration::from_secs(30), || {
        !till.send(UiAction::Refresh).counter_orders.is_empty()
    });
    let r = rows(&till);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "K2-1");
    assert_eq!(r[0].2, total.text, "the same total at today's prices");
    assert!(r[0].1.contains("Espresso"), "{r:?}");

    // The cashier takes it: the store's consensus grants it, the sale opens
    // on the till with the order's lines and the sale screen comes up.
    till.window()
        .global::<CounterOrdersActions<'_>>()
        .invoke_take("K2-1".into());
    assert_eq!(till.pump(), 1);
    let s = till.snapshot().clone();
    no_error(&s, "take K2-1");
    let cart = s.cart.clone().expect("the order's sale");
    let live: Vec<_> = cart.lines.iter().filter(|l| !l.voided).collect();
    assert_eq!(live.len(), 3, "{:?}", cart.lines);
    assert_eq!(cart.total, total);
    assert!(s.counter_orders.is_empty(), "taken: no longer open");
    assert_eq!(till.screens().ui().page(), Page::Sale);

    // The normal tender: cash, complete.
    no_error(
        till.send(UiAction::TenderCash {
            amount: total.minor + 1_00,
        }),
        "cash",
    );
    let s = till.send(UiAction::Complete { command_id: None }).clone();
    no_error(&s, "complete");
    assert!(s.cart.is_none());
    let receipt = s.receipt.expect("receipt");
    assert_eq!(receipt.total, total);
    assert_eq!(s.shift.as_ref().map(|x| x.sales_count), Some(1));

    // Gone from the kiosk's terminal too, once the take has replicated.
    wait_for(
        "the take replicated to T02",
        Duration::from_secs(30),
        || kiosk.send(UiAction::Refresh).counter_orders.is_empty(),
    );

    // Taking it again is refused: on the till, and on the other terminal.
    let s = till.send(UiAction::TakeCounterOrder {
        number: "K2-1".into(),
    });
    let m = s.message.clone().expect("refused");
    assert_eq!(m.kind, MessageKind::Error);
    assert!(m.text.contains("already taken by T01"), "{}", m.text);
    assert!(s.cart.is_none(), "no sale opened");
    let s = kiosk.send(UiAction::TakeCounterOrder {
        number: "K2-1".into(),
    });
    let m = s.message.clone().expect("refused");
    assert!(m.text.contains("already taken by T01"), "{}", m.text);
    // The store's log refuses it as well: the first committed take won.
    let e = t2
        .cluster
        .consensus(Consensus::TakeCounterOrder {
            order: "K2-1".into(),
            terminal: 2,
        })
        .unwrap_err();
    assert!(e.contains("already taken by T01"), "{e}");

    // A second order, granted by consensus to terminal 2 before the till
    // knows of any take: the till's journal still shows it open, but its
    // take is refused by the store with the winner named, and nothing opens.
    let number = order_at_the_kiosk(&mut kiosk, &["CHOC-100"]);
    assert_eq!(number, "K2-2");
    wait_for("K2-2 on T01", Duration::from_secs(30), || {
        !till.send(UiAction::Refresh).counter_orders.is_empty()
    });
    t2.cluster
        .consensus(Consensus::TakeCounterOrder {
            order: "K2-2".into(),
            terminal: 2,
        })
        .expect("the first take of K2-2 is granted");
    till.window()
        .global::<NavActions<'_>>()
        .invoke_go(Page::CounterOrders);
    till.window()
        .global::<CounterOrdersActions<'_>>()
        .invoke_take("K2-2".into());
    assert_eq!(till.pump(), 1);
    let s = till.snapshot().clone();
    let m = s.message.clone().expect("refused");
    assert_eq!(m.kind, MessageKind::Error);
    assert!(
        m.text.contains("K2-2 was already taken by T02"),
        "{}",
        m.text
    );
    assert!(s.cart.is_none(), "no sale opened");
    assert_eq!(
        till.screens().ui().page(),
        Page::CounterOrders,
        "a refusal stays on the page"
    );
    assert_eq!(till.screens().ui().counter_taking(), None);

    drop(kiosk);
    drop(till);
    for t in [t1, t2] {
        if let Ok(c) = Arc::try_unwrap(t.cluster) {
            c.shutdown();
        }
    }
}
