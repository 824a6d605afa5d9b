//! A fixed view-model of a small café: the screenshot tests render it, and a
//! developer can show it without a terminal behind the UI. Amounts are
//! integer minor units in EUR with their text as keel-core formats them.

use crate::view::{
    CartView, CategoryView, CloudState, LineView, MessageKind, MessageView, MoneyView, ProductView,
    ReceiptView, StatusView, ViewModel,
};
use keel_core::money::format_minor;

fn eur(minor: i64) -> MoneyView {
    MoneyView::new(minor, format_minor(minor, 2))
}

fn product(sku: &str, name: &str, minor: i64) -> ProductView {
    ProductView {
        sku: sku.into(),
        name: name.into(),
        price_text: format_minor(minor, 2),
    }
}

/// The catalog: three categories.
pub fn categories() -> Vec<CategoryView> {
    vec![
        CategoryView {
            name: "Bakery".into(),
            products: vec![
                product("BAGEL", "Bagel", 180),
                product("BAGUETTE", "Baguette", 220),
                product("BROWNIE", "Brownie", 290),
                product("CROISSANT", "Croissant", 240),
                product("CINNAMON", "Cinnamon roll", 310),
                product("MUFFIN", "Blueberry muffin", 275),
                product("PRETZEL", "Pretzel", 150),
                product("SCONE", "Scone with jam", 260),
                product("SOURDOUGH", "Sourdough loaf", 520),
            ],
        },
        CategoryView {
            name: "Drinks".into(),
            products: vec![
                product("CAPPU", "Cappuccino", 350),
                product("ESPRESSO", "Espresso", 220),
                product("LATTE", "Latte macchiato", 390),
                product("OJ", "Orange juice", 320),
                product("TEA", "Black tea", 250),
                product("WATER", "Sparkling water", 190),
            ],
        },
        CategoryView {
            name: "Produce".into(),
            products: vec![
                ProductView {
                    sku: "BANANA".into(),
                    name: "Bananas".into(),
                    price_text: "1.69/kg".into(),
                },
                product("APPLE", "Apple", 60),
            ],
        },
    ]
}

fn line(line: u32, name: &str, qty: i64, unit: i64) -> LineView {
    LineView {
        line,
        name: name.into(),
        qty,
        qty_text: qty.to_string(),
        by_weight: false,
        unit_price: eur(unit),
        amount: eur(unit * qty),
        voided: false,
    }
}

/// A sale with four lines (one voided, one weighed), nothing paid yet.
pub fn cart() -> CartView {
    let mut voided = line(3, "Espresso", 1, 220);
    voided.voided = true;
    voided.amount = eur(0);
    let lines = vec![
        line(1, "Cappuccino", 2, 350),
        line(2, "Croissant", 1, 240),
        voided,
        LineView {
            line: 4,
            name: "Bananas".into(),
            qty: 750,
            qty_text: "0.750 kg".into(),
            by_weight: true,
            unit_price: eur(169),
            amount: eur(127),
            voided: false,
        },
    ];
    // 700 + 240 + 127
    let total = 1067;
    CartView {
        lines,
        subtotal: eur(total),
        discount: eur(0),
        tax: eur(118),
        total: eur(total),
        paid: eur(0),
        remaining: eur(total),
        change: eur(0),
        covered: false,
        tendered: false,
    }
}

/// The status bar of a follower in a three-terminal store, cloud unreachable.
pub fn status() -> StatusView {
    StatusView {
        cloud: CloudState::Offline,
        pending_sync: Some(12),
        standalone: false,
        leader: Some(1),
        is_leader: false,
        peers_connected: 2,
        peers_total: 2,
        printer: "ready".into(),
        print_queue: 0,
        ai_model: Some("produce-v3".into()),
    }
}

/// The sale screen's snapshot: Bakery selected, a sale open.
pub fn sale() -> ViewModel {
    ViewModel {
        store_name: "Keel Café".into(),
        terminal: "T02".into(),
        user: Some("Ana (cashier)".into()),
        currency_exponent: 2,
        cash_notes: vec![500, 1000, 2000, 5000],
        categories: categories(),
        category: Some("Bakery".into()),
        search: String::new(),
        search_results: Vec::new(),
        cart: Some(cart()),
        receipt: None,
        status: status(),
        message: None,
        ops: crate::screens::ops_demo::ops(),
        camera: true,
        ..ViewModel::default()
    }
}

/// The sale screen after the camera was unsure: the picker with its top three.
pub fn picker() -> ViewModel {
    let c = |sku: &str, name: &str, confidence_permille| crate::view::CandidateView {
        sku: sku.into(),
        name: name.into(),
        confidence_permille,
    };
    ViewModel {
        recognition: Some(crate::view::RecognitionView::Choose(vec![
            c("CROISSANT", "Croissant", 514),
            c("MUFFIN", "Blueberry muffin", 327),
            c("BAGEL", "Bagel", 96),
        ])),
        message: Some(MessageView {
            kind: MessageKind::Notice,
            text: "not sure what this is".into(),
        }),
        ..sale()
    }
}

/// The tender screen when a card payment at high risk waits for a manager's
/// PIN, after a wrong one: the risk note (limit halved to 125.00), the PIN
/// pad's amount and why the PIN was refused.
pub fn card_approval() -> ViewModel {
    ViewModel {
        card_risk: Some(crate::view::CardRiskView {
            level: "high".into(),
            card_limit: eur(12500),
            approval_needed: true,
        }),
        card_approval: Some(crate::view::CardApprovalView {
            amount: eur(567),
            error: Some("manager PIN refused: wrong PIN".into()),
        }),
        message: Some(MessageView {
            kind: MessageKind::Error,
            text: "manager PIN refused: wrong PIN".into(),
        }),
        ..tender()
    }
}

/// The sale screen with no sale open: the last receipt previewed and a notice.
pub fn idle() -> ViewModel {
    ViewModel {
        cart: None,
        receipt: Some(ReceiptView {
            number: 41,
            lines: [
                "Keel Café",
                "Receipt T02-41",
                "--------------------------------",
                "2 x Cappuccino            7.00",
                "1 x Croissant             2.40",
                "--------------------------------",
                "TOTAL EUR                 9.40",
                "Cash                     10.00",
                "Change                    0.60",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }),
        message: Some(MessageView {
            kind: MessageKind::Notice,
            text: "Sale complete: receipt 41".into(),
        }),
        ..sale()
    }
}

/// The tender screen's snapshot: 5.00 paid in cash, 5.67 to go.
pub fn tender() -> ViewModel {
    let mut view = sale();
    if let Some(c) = view.cart.as_mut() {
        c.paid = eur(500);
        c.remaining = eur(567);
        c.tendered = true;
    }
    view
}
