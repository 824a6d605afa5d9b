//! A sale driven through the UI layer on a headless window: the callbacks the
//! screens invoke (tap a product, step a line, manual barcode, keypad, cash,
//! complete) emit the expected actions, and each snapshot the terminal would
//! send back updates the models and the page.

use keel_ui::action::{Action, AddSource, PinPurpose};
use keel_ui::demo;
use keel_ui::generated::{Page, UiActions, UiState};
use keel_ui::headless::HeadlessUi;
use keel_ui::view::{
    CartView, LineView, MessageKind, MessageView, MoneyView, ReceiptView, ViewModel,
};
use slint::{ComponentHandle, Model};
use std::sync::mpsc::Receiver;

fn eur(minor: i64) -> MoneyView {
    MoneyView::new(minor, keel_core::money::format_minor(minor, 2))
}

fn drain(rx: &Receiver<Action>) -> Vec<Action> {
    rx.try_iter().collect()
}

fn croissants(qty: i64, paid: i64) -> CartView {
    let total = 240 * qty;
    CartView {
        lines: vec![LineView {
            line: 1,
            name: "Croissant".into(),
            qty,
            qty_text: qty.to_string(),
            by_weight: false,
            unit_price: eur(240),
            amount: eur(total),
            voided: false,
        }],
        subtotal: eur(total),
        discount: eur(0),
        tax: eur(total / 10),
        total: eur(total),
        paid: eur(paid),
        remaining: eur((total - paid).max(0)),
        change: eur((paid - total).max(0)),
        covered: paid >= total,
        tendered: paid > 0,
    }
}

fn with_cart(cart: Option<CartView>) -> ViewModel {
    ViewModel {
        cart,
        ..demo::sale()
    }
}

#[test]
fn a_cash_sale_through_the_ui() {
    let (h, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let ui = h.ui();
    let actions = ui.window().global::<UiActions<'_>>();
    let state = ui.window().global::<UiState<'_>>();

    ui.show(with_cart(None));
    assert_eq!(ui.page(), Page::Sale);
    assert!(!state.get_has_sale());
    assert_eq!(state.get_products().row_count(), 9, "Bakery's products");
    assert!(state.get_categories().row_data(0).unwrap().selected);

    // Nothing to pay yet: the tender screen does not open.
    actions.invoke_show_page(Page::Tender);
    assert_eq!(ui.page(), Page::Sale);

    // Tap a product; the terminal answers with a one-line cart.
    actions.invoke_tap_product("CROISSANT".into());
    assert_eq!(
        drain(&rx),
        vec![Action::AddItem {
            code: "CROISSANT".into(),
            source: AddSource::Grid
        }]
    );
    ui.show(with_cart(Some(croissants(1, 0))));
    assert!(state.get_has_sale());
    let lines = state.get_cart();
    assert_eq!(lines.row_count(), 1);
    let l = lines.row_data(0).unwrap();
    assert_eq!(
        (l.name.as_str(), l.amount_text.as_str(), l.editable),
        ("Croissant", "2.40", true)
    );
    assert_eq!(state.get_totals().total.as_str(), "2.40");

    // + on the line, a barcode typed by hand, a category tab, a search.
    actions.invoke_line_plus(1);
    actions.invoke_line_minus(1); // at one unit: refused, Void removes lines
    actions.invoke_barcode_entered("  4006381333931 ".into());
    actions.invoke_barcode_entered("   ".into());
    actions.invoke_select_category("Drinks".into());
    actions.invoke_search_edited("lat".into());
    assert_eq!(
        drain(&rx),
        vec![
            Action::SetQty { line: 1, qty: 2 },
            Action::AddItem {
                code: "4006381333931".into(),
                source: AddSource::Scan
            },
            Action::SwitchCategory {
                category: "Drinks".into()
            },
            Action::ProductSearch {
                query: "lat".into()
            },
        ]
    );
    ui.show(with_cart(Some(croissants(2, 0))));
    assert_eq!(state.get_totals().total.as_str(), "4.80");
    assert_eq!(state.get_cart().row_data(0).unwrap().qty_text.as_str(), "2");

    // Pay: the tender screen, quick amounts for 4.80, cash keyed as 5.00.
    actions.invoke_show_page(Page::Tender);
    assert_eq!(ui.page(), Page::Tender);
    let quick: Vec<String> = state
        .get_quick_amounts()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(quick, ["4.80", "5.00", "10.00", "20.00"]);
    for key in ["5", "0", "0"] {
        actions.invoke_keypad(key.into());
    }
    assert_eq!(state.get_keypad_text().as_str(), "5.00");
    assert_eq!(state.get_keypad_change().as_str(), "Change 0.20");
    assert!(state.get_keypad_covers());
    actions.invoke_complete(); // not covered yet: nothing sent
    actions.invoke_tender_cash();
    assert_eq!(drain(&rx), vec![Action::TenderCash { amount: 500 }]);
    assert_eq!(state.get_keypad_text().as_str(), "0.00", "keypad cleared");

    // Tendered and covered: back to the sale is refused, Complete goes through.
    ui.show(with_cart(Some(croissants(2, 500))));
    assert!(state.get_totals().covered);
    assert_eq!(state.get_totals().change.as_str(), "0.20");
    actions.invoke_show_page(Page::Sale);
    assert_eq!(ui.page(), Page::Tender);
    actions.invoke_line_plus(1); // lines are locked once tendered
    actions.invoke_complete();
    assert_eq!(drain(&rx), vec![Action::Complete]);

    // The sale is done: back on the sale screen with the receipt and a notice.
    let mut done = with_cart(None);
    done.receipt = Some(ReceiptView {
        number: 42,
        lines: vec!["Keel Café".into(), "TOTAL 4.80".into()],
    });
    done.message = Some(MessageView {
        kind: MessageKind::Notice,
        text: "Sale complete: receipt 42".into(),
    });
    ui.show(done);
    assert_eq!(ui.page(), Page::Sale);
    assert!(!state.get_has_sale());
    assert_eq!(state.get_receipt().row_count(), 2);
    assert_eq!(state.get_receipt_title().as_str(), "Receipt 42");
    assert_eq!(state.get_message().as_str(), "Sale complete: receipt 42");
    actions.invoke_dismiss_message();
    assert_eq!(drain(&rx), vec![Action::DismissMessage]);
    // The window still renders after all that.
    h.render().unwrap();
}

#[test]
fn card_tender_takes_the_remaining_amount() {
    let (h, rx) = HeadlessUi::with_channel(1280, 800).unwrap();
    let ui = h.ui();
    let actions = ui.window().global::<UiActions<'_>>();
    ui.show(with_cart(Some(croissants(3, 0))));
    actions.invoke_show_page(Page::Tender);
    actions.invoke_tender_card();
    // Nothing keyed: Cash means the exact amount.
    actions.invoke_tender_cash();
    actions.invoke_quick_amount(2); // 7.20, 10.00, 20.00, 50.00
    actions.invoke_tender_cash();
    assert_eq!(
        drain(&rx),
        vec![
            Action::TenderCard { amount: 720 },
            Action::TenderCash { amount: 720 },
            Action::TenderCash { amount: 2000 },
        ]
    );
}

#[test]
fn void_receipt_needs_the_managers_pin() {
    let (h, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let ui = h.ui();
    let actions = ui.window().global::<UiActions<'_>>();
    let state = ui.window().global::<UiState<'_>>();
    ui.show(demo::idle());
    actions.invoke_void_receipt();
    assert!(state.get_pin_visible());
    assert_eq!(
        state.get_pin_title().as_str(),
        "Manager PIN to void receipt 41"
    );
    actions.invoke_pin_submit(); // empty: refused, pad stays
    assert!(state.get_pin_visible());
    assert!(!state.get_pin_error().is_empty());
    for k in ["9", "9", "8", "back", "9", "9"] {
        actions.invoke_pin_key(k.into());
    }
    assert_eq!(state.get_pin_mask().as_str(), "●●●●");
    actions.invoke_pin_submit();
    assert!(!state.get_pin_visible());
    assert_eq!(
        drain(&rx),
        vec![Action::ManagerAuthorised {
            purpose: PinPurpose::VoidReceipt { receipt: 41 },
            pin: "9999".into()
        }]
    );
    // Cancel closes without sending.
    actions.invoke_void_receipt();
    actions.invoke_pin_key("1".into());
    actions.invoke_pin_cancel();
    assert!(!state.get_pin_visible());
    assert!(drain(&rx).is_empty());
}

/// Taps at screen positions (read off the reference screenshots at
/// 1024x768) reach the callbacks: the .slint buttons are wired, not only the
/// globals.
#[test]
fn taps_on_the_touch_screen_reach_the_actions() {
    let (h, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    h.ui().show(demo::sale());
    h.render().unwrap();
    h.tap(85.0, 230.0); // the Bagel tile
    h.tap(823.0, 157.0); // + on the Cappuccino line
    h.tap(963.0, 493.0); // Void on the weighed Bananas line
    h.tap(266.0, 72.0); // the Drinks tab
    h.tap(768.0, 381.0); // − on the voided Espresso line: disabled
    assert_eq!(
        drain(&rx),
        vec![
            Action::AddItem {
                code: "BAGEL".into(),
                source: AddSource::Grid
            },
            Action::SetQty { line: 1, qty: 3 },
            Action::VoidLine { line: 4 },
            Action::SwitchCategory {
                category: "Drinks".into()
            },
        ]
    );
    h.tap(816.0, 720.0); // Pay
    assert_eq!(h.ui().page(), Page::Tender);
    for (x, y) in [(735.0, 507.0), (735.0, 622.0), (553.0, 622.0)] {
        h.tap(x, y); // 2, 0, 00
    }
    let state = h.ui().window().global::<UiState<'_>>();
    assert_eq!(state.get_keypad_text().as_str(), "20.00");
    h.tap(818.0, 716.0); // Cash 20.00
    assert_eq!(drain(&rx), vec![Action::TenderCash { amount: 2000 }]);
    h.tap(74.0, 728.0); // Back to sale (nothing tendered in this snapshot)
    assert_eq!(h.ui().page(), Page::Sale);
}
