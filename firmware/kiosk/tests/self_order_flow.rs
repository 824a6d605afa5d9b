//! The self-order kiosk through the UI layer: a customer's whole order on a
//! real demo node (welcome, a category, pictures tapped, the order edited,
//! paid by card through the kiosk's card terminal, the order number shown,
//! the welcome screen back after the timeout), and a sweep of taps over every
//! self-order screen showing that no cashier or manager function is reachable.
#![allow(clippy::inconsistent_digit_grouping)]

use keel_kiosk::{DemoCardTerminal, HeadlessKiosk};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::snapshot::MessageKind;
use keel_terminal::ui_bridge::{UiAction, UiBridge, UiServices};
use keel_ui::action::Action;
use keel_ui::generated::{Page, SelfOrderActions, SelfOrderState, UiActions, UiState};
use keel_ui::headless::{advance_clock, HeadlessUi};
use keel_ui::screens::self_order::{Stage, IDLE_TIMEOUT, THANKS_TIMEOUT};
use keel_ui::view::{ReceiptView, ViewModel};
use keel_ui::{demo, ScreenMode, Ui};
use slint::{ComponentHandle, Model};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CASHIER: &str = "1111";

fn demo_node(dir: &std::path::Path) -> Arc<Mutex<Node>> {
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    Arc::new(Mutex::new(node))
}

/// A self-order kiosk on a demo node with the demo card terminal, set up as
/// staff do: the login page, then the shift page, then the kiosk.
fn kiosk(dir: &std::path::Path) -> HeadlessKiosk {
    let bridge = UiBridge::new(demo_node(dir), UiServices::default());
    let mut k = HeadlessKiosk::new(
        bridge,
        1024,
        768,
        Some(Box::new(DemoCardTerminal::default())),
    )
    .unwrap();
    k.screens().ui().set_mode(ScreenMode::SelfOrder);
    for (page, a) in [
        (
            Page::Login,
            UiAction::Login {
                pin: CASHIER.into(),
            },
        ),
        (Page::Shift, UiAction::ShiftOpen { float: 0 }),
    ] {
        assert_eq!(k.screens().ui().page(), page, "staff set the kiosk up");
        let s = k.send(a);
        assert!(
            s.message
                .as_ref()
                .is_none_or(|m| m.kind == MessageKind::Notice),
            "{:?}",
            s.message
        );
    }
    assert_eq!(k.screens().ui().page(), Page::SelfOrder);
    k
}

fn stage(k: &HeadlessKiosk) -> (Stage, Option<String>) {
    k.screens().ui().self_order_stage()
}

/// Renders (as the screen would) and taps at (x, y); returns bridge actions run.
fn tap(k: &mut HeadlessKiosk, x: f32, y: f32) -> usize {
    k.screens().render().unwrap();
    k.screens().tap(x, y);
    k.pump()
}

fn lines(k: &HeadlessKiosk) -> Vec<(String, String, String)> {
    k.window()
        .global::<SelfOrderState<'_>>()
        .get_lines()
        .iter()
        .map(|l| {
            (
                l.name.to_string(),
                l.qty_text.to_string(),
                l.amount_text.to_string(),
            )
        })
        .collect()
}

#[test]
fn a_customer_orders_edits_pays_by_card_sees_the_order_number_and_the_kiosk_resets() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = kiosk(dir.path());
    assert_eq!(k.screens().ui().page(), Page::SelfOrder);
    assert_eq!(stage(&k).0, Stage::Welcome);
    let img = k.screens().render().unwrap();
    assert_eq!(
        img.pixel(5, 5).unwrap(),
        [0x1f, 0x5f, 0xbf, 255],
        "no status bar at the top: the welcome screen starts at the top edge"
    );

    // A touch anywhere starts an order (nothing reaches the terminal yet).
    assert_eq!(tap(&mut k, 500.0, 700.0), 0);
    assert_eq!(stage(&k).0, Stage::Browse);

    // The second category button (Cafe) on the left, 72 high with 8 gaps.
    let w = k.window();
    let st = w.global::<SelfOrderState<'_>>();
    let cats: Vec<String> = st
        .get_categories()
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(cats[1], "Cafe", "{cats:?}");
    tap(&mut k, 98.0, 124.0);
    assert_eq!(k.snapshot().category.as_deref(), Some("Cafe"));
    let products: Vec<(String, String, String)> = st
        .get_products()
        .iter()
        .map(|p| (p.sku.to_string(), p.name.to_string(), p.initial.to_string()))
        .collect();
    assert!(products.len() >= 4, "{products:?}");
    for (_, name, initial) in &products {
        assert_eq!(
            initial.chars().next(),
            name.chars().next(),
            "the picture's letter"
        );
    }

    // The first two pictures (two columns of the grid right of the categories).
    assert_eq!(
        tap(&mut k, 314.0, 118.0),
        2,
        "the first item opens the sale"
    );
    assert_eq!(tap(&mut k, 560.0, 118.0), 1);
    let l = lines(&k);
    assert_eq!(l.len(), 2, "{l:?}");
    assert_eq!(
        (l[0].0.as_str(), l[1].0.as_str()),
        (products[0].1.as_str(), products[1].1.as_str())
    );

    // Edit: + on the first line twice, − once, then remove the second line.
    let a = w.global::<SelfOrderActions<'_>>();
    a.invoke_plus(1);
    k.pump();
    a.invoke_plus(1);
    k.pump();
    a.invoke_minus(1);
    k.pump();
    a.invoke_remove(2);
    k.pump();
    let l = lines(&k);
    assert_eq!(l.len(), 1, "the removed line is gone from the order: {l:?}");
    assert_eq!(l[0].1, "2");
    let cart = k.snapshot().cart.clone().expect("sale open");
    assert_eq!(cart.lines[0].qty, 2);
    assert!(cart.lines[1].voided);
    assert_eq!(st.get_total().as_str(), cart.total.text, "the core's total");
    assert_eq!(st.get_item_count(), 2);
    // − on a single unit takes the line off (a void, as Remove).
    a.invoke_add(products[2].0.as_str().into());
    k.pump();
    assert_eq!(lines(&k).len(), 2);
    a.invoke_minus(3);
    k.pump();
    assert_eq!(lines(&k).len(), 1);
    let total = k.snapshot().cart.as_ref().unwrap().total.minor;

    // Pay by card: the card terminal's token, then complete.
    assert!(st.get_can_pay());
    // "Pay by card" is the left of the two pay buttons (the right one pays at the counter).
    assert_eq!(tap(&mut k, 749.0, 648.0), 2, "card tender, then complete");
    assert!(k.take_refused().is_empty());
    let s = k.snapshot().clone();
    assert!(s.cart.is_none(), "{:?}", s.message);
    let receipt = s.receipt.expect("the order's receipt");
    assert_eq!(receipt.total.minor, total);
    assert!(
        receipt.lines.iter().any(|l| l.contains("0000")),
        "{:#?}",
        receipt.lines
    );
    assert_eq!(s.shift.map(|x| x.sales_count), Some(1));
    assert_eq!(stage(&k), (Stage::Thanks, Some(receipt.number.to_string())));
    assert_eq!(st.get_order_number().as_str(), receipt.number.to_string());
    assert_eq!(k.screens().ui().page(), Page::SelfOrder);
    assert!(
        w.global::<UiState<'_>>().get_message().is_empty(),
        "no message line here"
    );

    // The thank-you screen stays until the timeout, then welcome is back.
    advance_clock(THANKS_TIMEOUT - Duration::from_secs(1));
    assert_eq!(stage(&k).0, Stage::Thanks);
    k.send(UiAction::Refresh);
    assert_eq!(stage(&k).0, Stage::Thanks, "a snapshot does not end it");
    advance_clock(Duration::from_secs(2));
    assert_eq!(stage(&k), (Stage::Welcome, None));
    assert!(st.get_lines().row_count() == 0);

    // The next customer cancels: the open sale is cancelled on the terminal.
    tap(&mut k, 500.0, 700.0);
    a.invoke_add(products[0].0.as_str().into());
    assert_eq!(k.pump(), 2);
    a.invoke_cancel();
    assert_eq!(k.pump(), 1);
    assert!(k.snapshot().cart.is_none());
    assert_eq!(stage(&k).0, Stage::Welcome);

    // The one after walks away: each tap restarts the idle timer; when it
    // runs out the order is cancelled and the welcome screen is back.
    tap(&mut k, 500.0, 700.0);
    a.invoke_add(products[0].0.as_str().into());
    assert_eq!(k.pump(), 2);
    advance_clock(IDLE_TIMEOUT - Duration::from_secs(10));
    a.invoke_plus(1);
    assert_eq!(k.pump(), 1);
    advance_clock(IDLE_TIMEOUT - Duration::from_secs(10));
    assert_eq!(stage(&k).0, Stage::Browse, "the tap restarted the timer");
    assert!(k.snapshot().cart.is_some());
    advance_clock(Duration::from_secs(11));
    assert_eq!(stage(&k).0, Stage::Welcome);
    assert_eq!(k.pump(), 1, "the abandoned order is cancelled");
    assert!(k.snapshot().cart.is_none(), "{:?}", k.snapshot().message);
    assert_eq!(k.snapshot().shift.as_ref().map(|x| x.sales_count), Some(1));
}

/// Puts a fresh self-order UI (demo café, no terminal) at `stage`.
fn enter(ui: &Ui, stage: Stage) {
    ui.set_mode(ScreenMode::SelfOrder);
    let open = ViewModel {
        serial: 1,
        ..demo::sale()
    };
    ui.show(open.clone());
    let a = ui.window().global::<SelfOrderActions<'_>>();
    if stage == Stage::Welcome {
        return;
    }
    a.invoke_start();
    if stage == Stage::Browse {
        return;
    }
    a.invoke_pay_card();
    ui.show(ViewModel {
        cart: None,
        receipt: Some(ReceiptView {
            number: 7,
            lines: Vec::new(),
        }),
        ..open
    });
    assert_eq!(ui.self_order_stage().0, Stage::Thanks);
}

fn allowed(a: &Action) -> bool {
    matches!(
        a,
        Action::AddItem { .. }
            | Action::SetQty { .. }
            | Action::VoidLine { .. }
            | Action::Cancel
            | Action::TenderCard { .. }
            | Action::Complete
            | Action::PlaceCounterOrder
            | Action::SwitchCategory { .. }
    )
}

fn drain(rx: &Receiver<Action>) -> Vec<Action> {
    rx.try_iter().collect()
}

#[test]
fn no_cashier_or_manager_function_is_reachable_in_self_order_mode() {
    for (w, h) in [(1024u32, 768u32), (1280, 800)] {
        let (ui, rx) = HeadlessUi::with_channel(w, h).unwrap();
        for stage in [Stage::Welcome, Stage::Browse, Stage::Thanks] {
            enter(ui.ui(), stage);
            drain(&rx);
            let mut sent = Vec::new();
            ui.render().unwrap();
            for y in (4..h).step_by(24) {
                for x in (4..w).step_by(24) {
                    ui.tap(x as f32, y as f32);
                    let state = ui.ui().window().global::<UiState<'_>>();
                    assert_eq!(
                        ui.ui().page(),
                        Page::SelfOrder,
                        "tap at {x},{y} on {stage:?}"
                    );
                    assert!(!state.get_pin_visible(), "PIN pad from a tap at {x},{y}");
                    for a in drain(&rx) {
                        assert!(allowed(&a), "{a:?} from a tap at {x},{y} on {stage:?}");
                        sent.push(a);
                    }
                    if ui.ui().self_order_stage().0 != stage {
                        enter(ui.ui(), stage);
                        drain(&rx);
                    }
                }
            }
            if stage == Stage::Browse {
                assert!(
                    sent.iter().any(|a| matches!(a, Action::AddItem { .. })),
                    "the sweep reached the pictures"
                );
            }
        }
        // The cashier's own callbacks, were anything to call them, change nothing.
        enter(ui.ui(), Stage::Browse);
        let cashier = ui.ui().window().global::<UiActions<'_>>();
        cashier.invoke_show_page(Page::Sale);
        cashier.invoke_show_page(Page::Tender);
        cashier.invoke_show_page(Page::Kitchen);
        cashier.invoke_void_receipt();
        let state = ui.ui().window().global::<UiState<'_>>();
        assert_eq!(ui.ui().page(), Page::SelfOrder);
        assert!(!state.get_pin_visible());
        assert!(drain(&rx).is_empty());
        // And a snapshot with no sale does not bring the sale screen back.
        ui.ui().show(ViewModel {
            serial: 2,
            cart: None,
            ..demo::idle()
        });
        assert_eq!(ui.ui().page(), Page::SelfOrder);
    }
}
