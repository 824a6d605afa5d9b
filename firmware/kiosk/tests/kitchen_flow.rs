//! The kitchen display through the UI layer on real nodes (journals in temp
//! dirs): a ticket bumped through its states by taps on the rendered page,
//! then recalled; its age colour following the bridge's (injected) clock; the
//! station filter; the chime once per new order; and a kitchen display on
//! terminal 2 of a real two-terminal cluster (QUIC on loopback) following a
//! sale completed on terminal 1.
//!
//! Amounts are written `euros_cents` (`5_00` is 5.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_core::ids::StoreId;
use keel_kiosk::HeadlessKiosk;
use keel_terminal::clock::Clock;
use keel_terminal::node::Node;
use keel_terminal::provision::{provision, ProvisionPlan};
use keel_terminal::ui_bridge::snapshot::MessageKind;
use keel_terminal::ui_bridge::{AddSource, UiAction, UiBridge, UiServices};
use keel_ui::generated::{
    KitchenActions, KitchenState, KitchenTicket, Level, Page, TicketState, UiState,
};
use keel_ui::screens::chime::CountingChime;
use keel_ui::ScreenMode;
use slint::{ComponentHandle, Model};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CASHIER: &str = "1111";
/// Loopback UDP ports of this test binary (below the ephemeral range).
const PORTS: std::ops::Range<u16> = 29_000..29_999;

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn new() -> TestClock {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        TestClock(Arc::new(AtomicU64::new(now)))
    }
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
    fn uptime_ms(&self) -> u64 {
        0
    }
}

/// A demo node whose records are stamped by `clock` (the bridge's too, so
/// ticket ages are exact).
fn demo_node(dir: &Path, clock: &TestClock) -> Arc<Mutex<Node>> {
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(clock.clone()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    Arc::new(Mutex::new(node))
}

/// Runs `action` on the kiosk's bridge and fails if it was refused.
fn ok(k: &mut HeadlessKiosk, action: UiAction) {
    let what = format!("{action:?}");
    let s = k.send(action);
    if let Some(m) = &s.message {
        assert_eq!(m.kind, MessageKind::Notice, "{what}: {}", m.text);
    }
}

fn login_and_open_shift(k: &mut HeadlessKiosk) {
    ok(
        k,
        UiAction::Login {
            pin: CASHIER.into(),
        },
    );
    ok(k, UiAction::ShiftOpen { float: 100_00 });
}

fn add(sku: &str) -> UiAction {
    UiAction::AddItem {
        code: sku.into(),
        qty: None,
        source: AddSource::Grid,
    }
}

/// A cash sale of `items` run on the kiosk's own terminal (as its till would).
fn sell(k: &mut HeadlessKiosk, items: &[&str]) {
    ok(k, UiAction::SaleNew);
    for i in items {
        ok(k, add(i));
    }
    ok(k, UiAction::TenderCash { amount: 50_00 });
    ok(k, UiAction::Complete { command_id: None });
}

/// A kitchen display (kitchen mode, counting chime) on a demo node, node and
/// bridge on `clock`.
fn kitchen(
    dir: &Path,
    clock: &TestClock,
    width: u32,
    height: u32,
) -> (HeadlessKiosk, CountingChime) {
    let services = UiServices {
        clock: Box::new(clock.clone()),
        ..UiServices::default()
    };
    let bridge = UiBridge::new(demo_node(dir, clock), services);
    let mut k = HeadlessKiosk::new(bridge, width, height, None).unwrap();
    let chime = CountingChime::new();
    k.screens().ui().set_chime(Box::new(chime.clone()));
    k.screens().ui().set_mode(ScreenMode::Kitchen);
    assert_eq!(
        k.screens().ui().page(),
        Page::Login,
        "someone logs in first"
    );
    login_and_open_shift(&mut k);
    assert_eq!(k.screens().ui().page(), Page::Kitchen);
    (k, chime)
}

fn cards(k: &HeadlessKiosk) -> Vec<KitchenTicket> {
    k.window()
        .global::<KitchenState<'_>>()
        .get_tickets()
        .iter()
        .collect()
}

fn served(k: &HeadlessKiosk) -> Vec<KitchenTicket> {
    k.window()
        .global::<KitchenState<'_>>()
        .get_served()
        .iter()
        .collect()
}

/// Where the first card's Bump button and the first Recall button are drawn
/// at 1024x768: below the status bar (40), the message line when one shows
/// (48), the station tabs (48) and the gaps; the card is 280 high with its
/// button at the bottom; the served list is the 250-pixel column on the right.
fn first_bump(k: &HeadlessKiosk) -> (f32, f32) {
    (80.0, 352.0 + message_offset(k))
}

fn first_recall(k: &HeadlessKiosk) -> (f32, f32) {
    (960.0, 136.0 + message_offset(k))
}

fn message_offset(k: &HeadlessKiosk) -> f32 {
    let w = k.window();
    if w.global::<UiState<'_>>().get_message().is_empty() {
        0.0
    } else {
        48.0
    }
}

/// Renders the frame (as the screen would before the tap) and taps where
/// `at` says; returns the bridge actions run.
fn tap(k: &mut HeadlessKiosk, at: impl Fn(&HeadlessKiosk) -> (f32, f32)) -> usize {
    k.screens().render().unwrap();
    let (x, y) = at(k);
    k.screens().tap(x, y);
    k.pump()
}

fn rgb(hex: u32) -> [u8; 4] {
    [(hex >> 16) as u8, (hex >> 8) as u8, hex as u8, 255]
}

#[test]
fn a_ticket_is_bumped_through_its_states_by_taps_then_recalled_and_ages_in_colour() {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new();
    let (mut k, chime) = kitchen(dir.path(), &clock, 1024, 768);
    assert_eq!(k.screens().ui().page(), Page::Kitchen);
    assert!(cards(&k).is_empty());

    sell(&mut k, &["ESPRESSO", "CHOC-100"]);
    assert_eq!(
        k.screens().ui().page(),
        Page::Kitchen,
        "the page stays pinned"
    );
    let c = cards(&k);
    assert_eq!(c.len(), 1, "one kitchen item, one ticket: {c:?}");
    assert_eq!(c[0].state, TicketState::Pending);
    assert_eq!(c[0].station.as_str(), "bar");
    assert_eq!(c[0].order.as_str(), "1");
    assert_eq!(c[0].terminal.as_str(), "T01");
    assert_eq!(c[0].items.as_str(), "1 × Espresso");
    assert_eq!((c[0].timer.as_str(), c[0].age), ("00:00", Level::Ok));
    assert_eq!(chime.count(), 1, "the new order chimed");

    // The age colour follows the bridge's clock: fresh, getting late, late,
    // on the models and on the rendered card's header.
    let header = |k: &HeadlessKiosk| {
        let img = k.screens().render().unwrap();
        img.pixel(14, (112.0 + message_offset(k)) as u32).unwrap()
    };
    assert_eq!(header(&k), rgb(0x2fbf71), "fresh: level-ok green");
    clock.advance(Duration::from_secs(6 * 60));
    ok(&mut k, UiAction::Refresh);
    let c = cards(&k);
    assert_eq!((c[0].timer.as_str(), c[0].age), ("06:00", Level::Warn));
    assert_eq!(header(&k), rgb(0xf2a93b), "getting late: level-warn amber");
    clock.advance(Duration::from_secs(5 * 60 + 7));
    ok(&mut k, UiAction::Refresh);
    let c = cards(&k);
    assert_eq!((c[0].timer.as_str(), c[0].age), ("11:07", Level::Bad));
    assert_eq!(header(&k), rgb(0xe5484d), "late: level-bad red");

    // Bump by tapping the card's button: pending -> preparing -> ready -> served.
    assert_eq!(tap(&mut k, first_bump), 1);
    assert_eq!(cards(&k)[0].state, TicketState::Preparing);
    assert_eq!(tap(&mut k, first_bump), 1);
    assert_eq!(cards(&k)[0].state, TicketState::Ready);
    assert_eq!(tap(&mut k, first_bump), 1);
    assert!(
        cards(&k).is_empty(),
        "served leaves the grid: {:?}",
        cards(&k)
    );
    let s = served(&k);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].state, TicketState::Served);
    let id = s[0].id.to_string();

    // Recall from the served list: back on the grid, marked recalled, no chime.
    assert_eq!(tap(&mut k, first_recall), 1);
    let c = cards(&k);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id.as_str(), id);
    assert!(c[0].recalled);
    assert!(served(&k).is_empty());
    assert_eq!(chime.count(), 1, "a recall is not a new order");
    // Bumped again ("Done"), it is served once more.
    assert_eq!(tap(&mut k, first_bump), 1);
    assert!(cards(&k).is_empty());
    assert_eq!(served(&k).len(), 1);
    assert!(k.take_refused().is_empty());
}

#[test]
fn the_station_filter_shows_one_station_and_new_orders_chime_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let (mut k, chime) = kitchen(dir.path(), &TestClock::new(), 1280, 800);
    // One sale with a bar item and a kitchen item: two tickets, two chimes.
    sell(&mut k, &["ESPRESSO", "SANDWICH"]);
    assert_eq!(cards(&k).len(), 2, "{:?}", cards(&k));
    assert_eq!(chime.count(), 2);
    // Later snapshots of the same tickets do not chime again.
    for _ in 0..3 {
        ok(&mut k, UiAction::Refresh);
    }
    assert_eq!(chime.count(), 2);

    let w = k.window();
    let state = w.global::<KitchenState<'_>>();
    let tabs: Vec<(String, bool)> = state
        .get_stations()
        .iter()
        .map(|t| (t.station.to_string(), t.selected))
        .collect();
    assert_eq!(
        tabs,
        vec![
            (String::new(), true),
            ("bar".into(), false),
            ("kitchen".into(), false)
        ],
        "All, then each station seen"
    );
    w.global::<KitchenActions<'_>>()
        .invoke_filter("kitchen".into());
    assert_eq!(
        k.screens().ui().kitchen_filter().as_deref(),
        Some("kitchen")
    );
    let c = cards(&k);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].station.as_str(), "kitchen");
    assert_eq!(state.get_open_count(), 1);
    // The filter is screen-local: it holds across snapshots and new orders.
    sell(&mut k, &["TEA"]);
    assert_eq!(
        chime.count(),
        3,
        "a bar order chimes even while filtered out"
    );
    let c = cards(&k);
    assert_eq!(c.len(), 1, "still only the kitchen station: {c:?}");
    assert_eq!(k.snapshot().kitchen.len(), 3);
    // Tapping the "All" tab (the first one, left of the tabs row).
    tap(&mut k, |k| (30.0, 72.0 + message_offset(k)));
    assert_eq!(k.screens().ui().kitchen_filter(), None);
    assert_eq!(cards(&k).len(), 3);
}

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
    cluster: Arc<keel_terminal::cluster_runtime::ClusterHandle>,
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

#[test]
fn the_kitchen_display_follows_orders_from_another_terminal() {
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

    // Terminal 2 is the kitchen display.
    let services = |t: &Terminal| UiServices {
        cluster: Some(Arc::clone(&t.cluster)),
        ..UiServices::default()
    };
    let bridge2 = UiBridge::new(t2.node.clone(), services(&t2));
    let mut k = HeadlessKiosk::new(bridge2, 1024, 768, None).unwrap();
    let chime = CountingChime::new();
    k.screens().ui().set_chime(Box::new(chime.clone()));
    k.screens().ui().set_mode(ScreenMode::Kitchen);
    ok(
        &mut k,
        UiAction::Login {
            pin: CASHIER.into(),
        },
    );

    // Terminal 1 is a till: once the catalog is there, it sells an espresso.
    let mut till = UiBridge::new(t1.node.clone(), services(&t1));
    let ok1 = |b: &mut UiBridge, a: UiAction| {
        let what = format!("{a:?}");
        let s = b.apply(a);
        if let Some(m) = &s.message {
            assert_eq!(m.kind, MessageKind::Notice, "T01 {what}: {}", m.text);
        }
        s
    };
    ok1(
        &mut till,
        UiAction::Login {
            pin: CASHIER.into(),
        },
    );
    wait_for(
        "the shift to open on T01 (the cluster settles)",
        Duration::from_secs(30),
        || {
            let s = till.apply(UiAction::ShiftOpen { float: 100_00 });
            s.shift.is_some()
        },
    );
    ok1(&mut till, UiAction::SaleNew);
    ok1(&mut till, add("ESPRESSO"));
    ok1(&mut till, add("CHOC-100"));
    ok1(&mut till, UiAction::TenderCash { amount: 10_00 });
    let s = ok1(&mut till, UiAction::Complete { command_id: None });
    let receipt = s.receipt.expect("receipt preview").number;
    assert_eq!(s.kitchen.len(), 1, "the ticket on T01: {:?}", s.kitchen);
    assert_eq!(chime.count(), 0);

    // The kitchen on T02 shows it once it has replicated, and chimes once.
    wait_for(
        "T01's ticket on T02's kitchen display",
        Duration::from_secs(30),
        || {
            k.send(UiAction::Refresh);
            !cards(&k).is_empty()
        },
    );
    let c = cards(&k);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].terminal.as_str(), "T01");
    assert_eq!(c[0].order.as_str(), receipt.to_string());
    assert_eq!(c[0].items.as_str(), "1 × Espresso");
    assert_eq!(c[0].state, TicketState::Pending);
    for _ in 0..3 {
        k.send(UiAction::Refresh);
    }
    assert_eq!(chime.count(), 1, "one chime for one new order");

    // Bumped on T02's display, the state is the store's: T01 sees it too.
    let id = c[0].id.to_string();
    k.window()
        .global::<KitchenActions<'_>>()
        .invoke_bump(id.as_str().into());
    assert_eq!(k.pump(), 1);
    assert_eq!(
        cards(&k)[0].state,
        TicketState::Preparing,
        "{:?}",
        k.snapshot().message
    );
    wait_for(
        "the bump replicated to T01",
        Duration::from_secs(30),
        || {
            till.snapshot()
                .kitchen
                .iter()
                .any(|t| t.id == id && t.status == "preparing")
        },
    );
    drop(k);
    drop(till);
    for t in [t1, t2] {
        if let Ok(c) = Arc::try_unwrap(t.cluster) {
            c.shutdown();
        }
    }
}
