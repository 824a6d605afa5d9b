//! Engine rules: roles, shift and cart preconditions, card limits and PAN
//! refusal, embedded barcodes, voids, kitchen tickets moving forward only.

mod harness;

use harness::{item, profile, Harness};
use keel_core::barcode::check_digit;
use keel_core::catalog::SoldBy;
use keel_core::engine::{AddRequest, SaleError};
use keel_core::kitchen::TicketStatus;
use keel_core::tax::{RoundingMode, TaxMode, TaxRoundingScope};

fn ean(first12: &str) -> String {
    format!("{first12}{}", check_digit(first12).unwrap())
}

fn store() -> Harness {
    let mut cheese = item("CHEESE", 14_90, "reduced", SoldBy::Weight);
    cheese.barcodes = vec![ean("210000100000")];
    let mut bag = item("BAG", 0, "reduced", SoldBy::Unit);
    bag.barcodes = vec![ean("230000200000")];
    let mut choc = item("CHOC", 1_49, "reduced", SoldBy::Unit);
    choc.barcodes = vec!["4006381333931".into()];
    let mut espresso = item("ESPRESSO", 2_20, "standard", SoldBy::Unit);
    espresso.kitchen_station = Some("bar".into());
    let mut soup = item("SOUP", 4_80, "standard", SoldBy::Unit);
    soup.kitchen_station = Some("kitchen".into());
    let mut old = item("OLD", 1_00, "standard", SoldBy::Unit);
    old.active = false;
    Harness::new(
        profile(
            TaxMode::Inclusive,
            TaxRoundingScope::PerReceipt,
            RoundingMode::HalfUp,
            1,
        ),
        vec![cheese, bag, choc, espresso, soup, old],
    )
}

fn open(h: &mut Harness) {
    let c = h.cashier.clone();
    let ev = h.engine().open_shift(Some(&c), "50.00").unwrap();
    h.apply(ev);
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
}

fn add(h: &mut Harness, key: &str, qty: Option<&str>) -> Result<(), SaleError> {
    let c = h.cashier.clone();
    let ev = h.engine().add_item(
        Some(&c),
        AddRequest {
            key,
            qty,
            now_ms: 0,
        },
    )?;
    h.apply(ev);
    Ok(())
}

#[test]
fn selling_needs_login_and_shift() {
    let mut h = store();
    assert!(h
        .engine()
        .new_sale(None)
        .unwrap_err()
        .to_string()
        .contains("not logged in"));
    let c = h.cashier.clone();
    assert!(matches!(
        h.engine().new_sale(Some(&c)),
        Err(SaleError::NoShift)
    ));
    open(&mut h);
    assert!(matches!(
        add(&mut h, "NOPE", None),
        Err(SaleError::NotFound(_))
    ));
    assert!(matches!(
        add(&mut h, "OLD", None),
        Err(SaleError::Inactive(_))
    ));
}

#[test]
fn embedded_barcodes_price_and_weigh_lines() {
    let mut h = store();
    open(&mut h);
    add(&mut h, &ean("210000100350"), None).unwrap(); // 350 g of cheese at 14.90/kg = 5.215 -> 5.22
    add(&mut h, &ean("230000200275"), None).unwrap(); // bakery bag priced 2.75
    add(&mut h, "4006381333931", Some("3")).unwrap();
    let p = h.engine().priced().unwrap();
    assert_eq!(p.lines[0].qty, 350);
    assert_eq!(p.lines[0].amount.minor, 5_22);
    assert_eq!(p.lines[1].amount.minor, 2_75);
    assert_eq!(p.lines[2].amount.minor, 4_47);
    assert!(matches!(
        add(&mut h, "4006381333932", None),
        Err(SaleError::Barcode(_))
    ));
    assert!(matches!(
        add(&mut h, "CHEESE", None),
        Err(SaleError::Quantity(..))
    ));
}

#[test]
fn price_override_needs_a_manager_and_a_reason() {
    let mut h = store();
    open(&mut h);
    add(&mut h, "CHOC", None).unwrap();
    let c = h.cashier.clone();
    let m = h.manager.clone();
    let e = h
        .engine()
        .override_price(Some(&c), 1, "1.00", "dented")
        .unwrap_err()
        .to_string();
    assert!(e.contains("manager role needed"), "{e}");
    assert!(matches!(
        h.engine().override_price(Some(&m), 1, "1.00", " "),
        Err(SaleError::NoReason)
    ));
    let ev = h
        .engine()
        .override_price(Some(&m), 1, "1.00", "dented")
        .unwrap();
    h.apply(ev);
    assert_eq!(h.engine().priced().unwrap().total.minor, 1_00);
}

#[test]
fn card_limits_and_pan_refusal() {
    let mut h = store();
    open(&mut h);
    add(&mut h, "CHOC", Some("9999")).unwrap(); // 14 898.51 due
    let c = h.cashier.clone();
    let e = h
        .engine()
        .tender_card(Some(&c), "300.00", "tok", "4242", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("per-transaction card limit of 250.00"), "{e}");
    let e = h
        .engine()
        .tender_card(Some(&c), "10.00", "4111111111111111", "1111", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("looks like a card number"), "{e}");
    assert!(h
        .engine()
        .tender_card(Some(&c), "10.00", "tok", "42", None)
        .is_err());
    for _ in 0..4 {
        let ev = h
            .engine()
            .tender_card(Some(&c), "250.00", "tok", "4242", Some("visa"))
            .unwrap();
        h.apply(ev);
    }
    let e = h
        .engine()
        .tender_card(Some(&c), "1.00", "tok", "4242", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("total offline card limit of 1000.00"), "{e}");
    // Lines are locked once payment starts.
    assert!(matches!(
        add(&mut h, "CHOC", None),
        Err(SaleError::TenderStarted)
    ));
}

#[test]
fn complete_needs_exact_cover_and_gives_change_from_cash_only() {
    let mut h = store();
    open(&mut h);
    add(&mut h, "CHOC", Some("2")).unwrap(); // 2.98
    let c = h.cashier.clone();
    assert!(matches!(
        h.engine().complete(Some(&c)),
        Err(SaleError::NotCovered { .. })
    ));
    let e = h
        .engine()
        .tender_card(Some(&c), "3.00", "tok", "4242", None)
        .unwrap_err();
    assert!(matches!(e, SaleError::CardExceedsDue { .. }));
    let ev = h
        .engine()
        .tender_card(Some(&c), "1.00", "tok", "4242", None)
        .unwrap();
    h.apply(ev);
    let ev = h.engine().tender_cash(Some(&c), "5.00").unwrap();
    h.apply(ev);
    assert!(matches!(
        h.engine().tender_cash(Some(&c), "1.00"),
        Err(SaleError::AlreadyPaid)
    ));
    let (ev, sale) = h.engine().complete(Some(&c)).unwrap();
    assert_eq!(sale.change.minor, 3_02);
    h.apply(ev);
    assert_eq!(h.state.counters.card_offline_minor, 1_00);
    assert!(h.state.cart.is_none());
}

#[test]
fn void_rules() {
    let mut h = store();
    open(&mut h);
    add(&mut h, "CHOC", None).unwrap();
    let c = h.cashier.clone();
    let m = h.manager.clone();
    let ev = h.engine().tender_cash(Some(&c), "2.00").unwrap();
    h.apply(ev);
    let (ev, sale) = h.engine().complete(Some(&c)).unwrap();
    h.apply(ev);
    let stock_after_sale = h.state.stock[&sale.lines[0].sku];
    assert!(h
        .engine()
        .void_sale(Some(&c), &sale, false, &[])
        .unwrap_err()
        .to_string()
        .contains("manager role needed"));
    let ev = h.engine().void_sale(Some(&m), &sale, false, &[]).unwrap();
    h.apply(ev);
    assert_eq!(h.state.stock[&sale.lines[0].sku], stock_after_sale + 1);
    assert!(h
        .engine()
        .void_sale(Some(&m), &sale, true, &[])
        .unwrap_err()
        .to_string()
        .contains("already voided"));
    let t = &h.state.shift.as_ref().unwrap().totals;
    assert_eq!(
        (t.voids_count, t.voids_total.minor, t.cash_paid_back.minor),
        (1, 1_49, 1_49)
    );
}

#[test]
fn kitchen_tickets_only_move_forward() {
    let mut h = store();
    open(&mut h);
    add(&mut h, "ESPRESSO", Some("2")).unwrap();
    add(&mut h, "SOUP", None).unwrap();
    let c = h.cashier.clone();
    let ev = h.engine().tender_cash(Some(&c), "20.00").unwrap();
    h.apply(ev);
    let (ev, sale) = h.engine().complete(Some(&c)).unwrap();
    assert_eq!(sale.tickets.len(), 2, "one ticket per station");
    h.apply(ev);
    let id = sale.tickets[0].to_string();
    for expected in [
        TicketStatus::Preparing,
        TicketStatus::Ready,
        TicketStatus::Served,
    ] {
        let (ev, to) = h.engine().kitchen_advance(Some(&c), &id).unwrap();
        assert_eq!(to, expected);
        h.apply(ev);
    }
    assert!(h.engine().kitchen_advance(Some(&c), &id).is_err());
    // A late, stale event cannot move the ticket backwards.
    h.apply(vec![keel_core::event::EventBody::KitchenAdvanced {
        ticket: sale.tickets[0],
        to: TicketStatus::Preparing,
        dismissed_recalls: 0,
        by: c.id.clone(),
    }]);
    assert_eq!(
        h.state.kitchen[&sale.tickets[0]].status,
        TicketStatus::Served
    );
    // Recall brings it back; bumping dismisses the recall.
    let ev = h.engine().kitchen_recall(Some(&c), &id).unwrap();
    h.apply(ev);
    assert!(h.state.kitchen[&sale.tickets[0]].is_open());
    let (ev, _) = h.engine().kitchen_advance(Some(&c), &id).unwrap();
    h.apply(ev);
    assert!(!h.state.kitchen[&sale.tickets[0]].is_open());
    assert!(h
        .engine()
        .kitchen_recall(Some(&c), &sale.tickets[1].to_string())
        .is_err());
}

#[test]
fn published_tax_rates_and_promotions_change_how_sales_price() {
    use keel_core::event::EventBody;
    let mut h = store();
    open(&mut h);
    add(&mut h, "ESPRESSO", None).unwrap();
    let before = h.engine().priced().unwrap();
    let c = h.cashier.clone();
    let ev = h.engine().cancel_sale(Some(&c)).unwrap();
    h.apply(ev);
    // The cloud publishes a new standard rate and a 10 % promotion on espresso.
    let promo = keel_core::published::Promotion {
        id: "MORNING".into(),
        sku: keel_core::ids::Sku("ESPRESSO".into()),
        discount_bp: 1000,
        from_ms: 0,
        until_ms: 1_000,
    };
    let (key, value) = promo.setting();
    h.apply(vec![
        EventBody::SettingChanged {
            key: "tax.rate.standard".into(),
            value: "2500".into(),
        },
        EventBody::SettingChanged { key, value },
    ]);
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    let ev = h
        .engine()
        .add_item(
            Some(&c),
            AddRequest {
                key: "ESPRESSO",
                qty: None,
                now_ms: 500,
            },
        )
        .unwrap();
    h.apply(ev);
    let after = h.engine().priced().unwrap();
    assert_eq!(after.total.minor, 198, "2.20 less 10 %");
    assert_eq!(after.taxes.lines[0].rate_bp, 2500);
    assert!(after.taxes.total_tax.minor > before.taxes.total_tax.minor * 198 / 220);
    // Outside the promotion's window the price is the list price again.
    let ev = h
        .engine()
        .add_item(
            Some(&c),
            AddRequest {
                key: "ESPRESSO",
                qty: None,
                now_ms: 1_000,
            },
        )
        .unwrap();
    h.apply(ev);
    assert_eq!(h.engine().priced().unwrap().total.minor, 198 + 220);
}

#[test]
fn card_numbers_are_refused_however_they_are_written() {
    let mut h = store();
    open(&mut h);
    add(&mut h, "CHOC", None).unwrap();
    let c = h.cashier.clone();
    let tender = |h: &Harness, token: &str| {
        h.engine()
            .tender_card(Some(&c), "1.00", token, "1111", None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    for pan in [
        "4111111111111111",
        "4111-1111-1111-1111",
        "4111_1111_1111_1111",
        "tok_4111111111111111",
        "4111111111111111x",
        "378282246310005",      // Amex, 15 digits
        "6011-1111-1111-1117",  // Discover
        "41111111111111119999", // a card number, then more digits
        "99994111111111111111", // more digits, then a card number
    ] {
        let e = tender(&h, pan).expect_err(pan);
        assert!(e.contains("looks like a card number"), "{pan}: {e}");
    }
    for token in [
        "tok",
        "tok_1N3xYz9Q",
        "4111111111111112", // fails the Luhn check
        "550e8400-e29b-41d4-a716-446655440000",
        "ref-2026-11-23-0001",
        "000123",
    ] {
        assert_eq!(tender(&h, token), Ok(()), "{token}");
    }
}
