//! Screenshot tests of the kitchen display and the self-order kiosk, at
//! 1024x768 and 1280x800, compared with the reference PNGs in
//! tests/screenshots/ (see keel_ui::screenshot for the tolerance; accept new
//! images with KEEL_ACCEPT_SCREENSHOTS=1 after looking at them).

use keel_ui::demo;
use keel_ui::generated::{Page, SelfOrderActions};
use keel_ui::headless::HeadlessUi;
use keel_ui::screens::self_order::Stage;
use keel_ui::screenshot::{check, Outcome, Tolerance};
use keel_ui::view::{ReceiptView, TicketItemView, TicketStatus, TicketView, ViewModel};
use keel_ui::{ScreenMode, Ui};
use slint::ComponentHandle;
use std::path::PathBuf;

const SIZES: [(u32, u32); 2] = [(1024, 768), (1280, 800)];
/// The large landscape screen and the portraits, for the screens with a
/// layout of their own (the welcome and thank-you screens only centre).
const MORE_SIZES: [(u32, u32); 3] = [(1920, 1080), (768, 1024), (1080, 1920)];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots")
}

/// Renders at the base sizes after `setup`, checks each; fails listing all mismatches.
fn screen(name: &str, setup: impl Fn(&Ui)) {
    screen_at(name, &SIZES, setup)
}

/// Renders at `sizes` after `setup`, checks each; fails listing all mismatches.
fn screen_at(name: &str, sizes: &[(u32, u32)], setup: impl Fn(&Ui)) {
    let mut failures = Vec::new();
    for &(w, h) in sizes {
        let (ui, _rx) = HeadlessUi::with_channel(w, h).unwrap();
        setup(ui.ui());
        let image = ui.render().unwrap();
        assert_eq!((image.width(), image.height()), (w, h));
        match check(
            &format!("{name}-{w}x{h}"),
            &image,
            &dir(),
            Tolerance::default(),
        )
        .unwrap()
        {
            Outcome::Matched(_) => {}
            Outcome::Accepted(p) => eprintln!("accepted {}", p.display()),
            Outcome::Failed(m) => failures.push(m),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn ticket(
    id: &str,
    receipt: u64,
    station: &str,
    items: &[(i64, &str)],
    status: TicketStatus,
    age_s: u64,
) -> TicketView {
    TicketView {
        id: id.into(),
        terminal: id.split('-').next().unwrap().parse().unwrap(),
        station: station.into(),
        receipt,
        items: items
            .iter()
            .map(|(qty, name)| TicketItemView {
                name: (*name).into(),
                qty: *qty,
            })
            .collect(),
        status,
        age_s,
        recalled: false,
    }
}

/// A kitchen with five open orders of three ages and two served ones.
fn kitchen() -> ViewModel {
    let mut recalled = ticket(
        "1-38",
        38,
        "grill",
        &[(1, "Cheeseburger")],
        TicketStatus::Served,
        14 * 60 + 5,
    );
    recalled.recalled = true;
    ViewModel {
        serial: 1,
        cart: None,
        message: None,
        kitchen: vec![
            recalled,
            ticket(
                "2-17",
                17,
                "grill",
                &[(2, "Cheeseburger"), (1, "Fries"), (1, "Club sandwich")],
                TicketStatus::Preparing,
                11 * 60 + 42,
            ),
            ticket(
                "1-41",
                41,
                "bar",
                &[(2, "Cappuccino"), (1, "Latte macchiato")],
                TicketStatus::Ready,
                6 * 60 + 3,
            ),
            ticket(
                "3-9",
                9,
                "bar",
                &[(1, "Espresso")],
                TicketStatus::Pending,
                65,
            ),
            ticket(
                "1-42",
                42,
                "grill",
                &[(3, "Toast"), (1, "Soup of the day"), (2, "Side salad")],
                TicketStatus::Pending,
                12,
            ),
        ],
        kitchen_served: vec![
            ticket("2-16", 16, "bar", &[(1, "Tea")], TicketStatus::Served, 900),
            ticket(
                "1-37",
                37,
                "grill",
                &[(1, "Fries")],
                TicketStatus::Served,
                1500,
            ),
        ],
        ..demo::idle()
    }
}

#[test]
fn kitchen_display() {
    screen("kitchen", |ui| {
        ui.set_mode(ScreenMode::Kitchen);
        ui.show(kitchen());
        assert_eq!(ui.page(), Page::Kitchen);
    });
}

#[test]
fn kitchen_display_large_and_portrait() {
    screen_at("kitchen", &MORE_SIZES, |ui| {
        ui.set_mode(ScreenMode::Kitchen);
        ui.show(kitchen());
    });
}

#[test]
fn kitchen_display_filtered_to_one_station() {
    screen("kitchen-bar", |ui| {
        ui.set_mode(ScreenMode::Kitchen);
        ui.show(kitchen());
        let k = ui
            .window()
            .global::<keel_ui::generated::KitchenActions<'_>>();
        k.invoke_filter("bar".into());
        assert_eq!(ui.kitchen_filter().as_deref(), Some("bar"));
    });
}

#[test]
fn self_order_welcome() {
    screen("self-order-welcome", |ui| {
        ui.set_mode(ScreenMode::SelfOrder);
        ui.show(ViewModel {
            serial: 1,
            cart: None,
            ..demo::sale()
        });
        assert_eq!(ui.page(), Page::SelfOrder);
        assert_eq!(ui.self_order_stage().0, Stage::Welcome);
    });
}

/// The café with a sale open on its Drinks tab, as the kiosk shows it.
fn ordering() -> ViewModel {
    let mut v = demo::sale();
    v.serial = 1;
    v.category = Some("Drinks".into());
    v
}

#[test]
fn self_order_browsing_with_an_order() {
    screen("self-order-browse", |ui| {
        ui.set_mode(ScreenMode::SelfOrder);
        ui.show(ordering());
        ui.window().global::<SelfOrderActions<'_>>().invoke_start();
        assert_eq!(ui.self_order_stage().0, Stage::Browse);
    });
}

#[test]
fn self_order_browsing_large_and_portrait() {
    screen_at("self-order-browse", &MORE_SIZES, |ui| {
        ui.set_mode(ScreenMode::SelfOrder);
        ui.show(ordering());
        ui.window().global::<SelfOrderActions<'_>>().invoke_start();
    });
}

#[test]
fn self_order_thank_you_with_the_order_number() {
    screen("self-order-thanks", |ui| {
        ui.set_mode(ScreenMode::SelfOrder);
        ui.show(ordering());
        let a = ui.window().global::<SelfOrderActions<'_>>();
        a.invoke_start();
        a.invoke_pay_card();
        assert_eq!(ui.self_order_stage().0, Stage::Paying);
        ui.show(ViewModel {
            cart: None,
            receipt: Some(ReceiptView {
                number: 42,
                lines: vec!["Keel Café".into()],
            }),
            ..ordering()
        });
        assert_eq!(
            ui.self_order_stage(),
            (Stage::Thanks, Some("42".to_string()))
        );
    });
}

#[test]
fn self_order_thank_you_paying_at_the_counter() {
    screen("self-order-thanks-counter", |ui| {
        ui.set_mode(ScreenMode::SelfOrder);
        ui.show(ViewModel {
            last_counter_order: Some("K2-6".into()),
            ..ordering()
        });
        let a = ui.window().global::<SelfOrderActions<'_>>();
        a.invoke_start();
        a.invoke_pay_counter();
        assert_eq!(ui.self_order_stage().0, Stage::Paying);
        // A snapshot still showing the earlier order number changes nothing.
        ui.show(ViewModel {
            last_counter_order: Some("K2-6".into()),
            ..ordering()
        });
        assert_eq!(ui.self_order_stage().0, Stage::Paying);
        ui.show(ViewModel {
            cart: None,
            last_counter_order: Some("K2-7".into()),
            ..ordering()
        });
        assert_eq!(
            ui.self_order_stage(),
            (Stage::Thanks, Some("K2-7".to_string()))
        );
    });
}
