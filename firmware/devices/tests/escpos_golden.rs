//! Golden ESC/POS jobs: receipts of real sales (made through keel-core's
//! engine) at 58 and 80 mm in EUR and IDR, a kitchen ticket and the test
//! page. Each job must match its committed bytes exactly
//! (`tests/golden/NAME.bin`, with a readable view in `NAME.txt`), and its
//! content is checked through the decoder as well.
//!
//! When a job changes on purpose, accept the new files with
//! `KEEL_ACCEPT_GOLDEN=1 cargo test -p keel-devices --test escpos_golden`
//! and review the `.txt` diff.

// The core's own test harness: sales made through the engine, no store.
#[allow(clippy::inconsistent_digit_grouping)]
#[path = "../../core/tests/harness/mod.rs"]
mod harness;

use harness::{profile, Harness};
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::chain::ChainHash;
use keel_core::engine::AddRequest;
use keel_core::event::EventBody;
use keel_core::ids::Sku;
use keel_core::kitchen::Ticket;
use keel_core::money::{Currency, Money};
use keel_core::profile::StoreProfile;
use keel_core::receipt::Receipt;
use keel_core::tax::{CashRounding, RoundingMode, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;
use keel_devices::escpos::decode::{decode, Decoded, Element};
use keel_devices::escpos::{
    keel_logo, kitchen_ticket, receipt, test_page, BarcodeKind, CodePage, CutKind, DrawerPin,
    LayoutOptions, PaperWidth,
};
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `bytes` (and its decoded view) with the committed golden files;
/// writes `.actual` files beside them and fails when they differ, or
/// rewrites the goldens when `KEEL_ACCEPT_GOLDEN=1`.
fn check_golden(name: &str, bytes: &[u8]) {
    let view = decode(bytes).expect("a layout decodes").to_string();
    let dir = golden_dir();
    let bin = dir.join(format!("{name}.bin"));
    let txt = dir.join(format!("{name}.txt"));
    if std::env::var("KEEL_ACCEPT_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&bin, bytes).unwrap();
        std::fs::write(&txt, &view).unwrap();
        let _ = std::fs::remove_file(dir.join(format!("{name}.bin.actual")));
        let _ = std::fs::remove_file(dir.join(format!("{name}.txt.actual")));
        return;
    }
    let expected = std::fs::read(&bin).unwrap_or_default();
    let expected_view = std::fs::read_to_string(&txt).unwrap_or_default();
    if expected != bytes || expected_view != view {
        std::fs::write(dir.join(format!("{name}.bin.actual")), bytes).unwrap();
        std::fs::write(dir.join(format!("{name}.txt.actual")), &view).unwrap();
        let at = expected
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(bytes.len()));
        panic!(
            "golden {name} differs (first difference at byte {at}; {} bytes expected, {} produced).\n\
             The produced job is in {}.actual (view: {}.actual); compare with\n  \
             diff {} {}.actual\n\
             If the change is intended, accept it with\n  \
             KEEL_ACCEPT_GOLDEN=1 cargo test -p keel-devices --test escpos_golden",
            expected.len(),
            bytes.len(),
            bin.display(),
            txt.display(),
            txt.display(),
            txt.display(),
        );
    }
}

fn item(sku: &str, name: &str, price: Money, tax: &str, sold_by: SoldBy) -> CatalogItem {
    CatalogItem {
        sku: Sku(sku.into()),
        barcodes: vec![],
        name: name.into(),
        category: "c".into(),
        price,
        tax_class: tax.into(),
        sold_by,
        active: true,
        kitchen_station: None,
    }
}

/// Adds `key` (`qty`), panicking with the engine's message on refusal.
fn add(h: &mut Harness, key: &str, qty: Option<&str>) {
    let c = h.cashier.clone();
    let ev = h
        .engine()
        .add_item(
            Some(&c),
            AddRequest {
                key,
                qty,
                now_ms: 0,
            },
        )
        .unwrap();
    h.apply(ev);
}

/// Completes the open sale and returns its receipt. The chain hash is fixed
/// per currency so the goldens test the layout, not the journal encoding.
fn complete(h: &mut Harness) -> Receipt {
    let c = h.cashier.clone();
    let (events, sale) = h.engine().complete(Some(&c)).unwrap();
    h.apply(events);
    let event = h
        .journal
        .iter()
        .rev()
        .find(|e| matches!(&e.body, EventBody::SaleCompleted(s) if s.receipt_no == sale.receipt_no))
        .unwrap()
        .clone();
    let hash = ChainHash::of(format!("golden {}", h.profile.currency).as_bytes());
    Receipt::from_sale(&h.profile, &sale, event.dot.seq, &hash, event.hlc.wall_ms)
}

fn eur_profile() -> StoreProfile {
    let mut p = profile(
        TaxMode::Inclusive,
        TaxRoundingScope::PerReceipt,
        RoundingMode::HalfUp,
        1,
    );
    p.store_name = "Keel Café".into();
    p.address = vec!["Friedrichstraße 12".into(), "10117 Berlin".into()];
    p.tax_id = Some("DE123456789".into());
    p.receipt_footer = Some("Danke für Ihren Einkauf!".into());
    p
}

/// A Berlin café sale: two espressos (bar ticket), a discounted croissant,
/// weighed cheese; paid part card, part cash with change.
fn eur_sale() -> (Harness, Receipt) {
    let eur = |m| Money::new(m, Currency::EUR);
    let mut espresso = item("ESPRESSO", "Espresso", eur(2_20), "standard", SoldBy::Unit);
    espresso.kitchen_station = Some("bar".into());
    let items = vec![
        espresso,
        item("CROISSANT", "Croissant", eur(1_80), "reduced", SoldBy::Unit),
        item("CHEESE", "Bergkäse", eur(14_90), "reduced", SoldBy::Weight),
    ];
    let mut h = Harness::new(eur_profile(), items);
    let c = h.cashier.clone();
    let ev = h.engine().open_shift(Some(&c), "100.00").unwrap();
    h.apply(ev);
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    add(&mut h, "ESPRESSO", Some("2"));
    add(&mut h, "CROISSANT", None);
    add(&mut h, "CHEESE", Some("0.350"));
    let ev = h.engine().discount(Some(&c), Some(2), "10%").unwrap();
    h.apply(ev);
    let ev = h
        .engine()
        .tender_card(Some(&c), "5.00", "tok_golden", "4242", Some("visa"))
        .unwrap();
    h.apply(ev);
    let ev = h.engine().tender_cash(Some(&c), "10.00").unwrap();
    h.apply(ev);
    let r = complete(&mut h);
    (h, r)
}

fn idr_profile() -> StoreProfile {
    let mut p = profile(
        TaxMode::Exclusive,
        TaxRoundingScope::PerReceipt,
        RoundingMode::HalfUp,
        100,
    );
    p.currency = Currency::IDR;
    p.store_name = "Warung Keel".into();
    p.address = vec!["Jl. Sudirman No. 5".into(), "Jakarta 10220".into()];
    p.tax_id = Some("01.234.567.8-901.000".into());
    p.receipt_footer = Some("Terima kasih!".into());
    p.tax.rates = vec![TaxRate {
        class: "standard".into(),
        rate_bp: 1100,
        label: "P".into(),
    }];
    p.cash_rounding = CashRounding {
        increment: 100,
        mode: RoundingMode::HalfUp,
    };
    p.card_limits = CardLimits {
        per_transaction: Money::new(5_000_000, Currency::IDR),
        total_offline: Money::new(20_000_000, Currency::IDR),
    };
    p
}

/// A Jakarta warung sale in rupiah (no decimals), tax added on top, cash
/// rounded to 100.
fn idr_sale() -> (Harness, Receipt) {
    let idr = |m| Money::new(m, Currency::IDR);
    let items = vec![
        item("NASI", "Nasi Goreng", idr(25_000), "standard", SoldBy::Unit),
        item("TEH", "Es Teh Manis", idr(5_000), "standard", SoldBy::Unit),
        item("KERUPUK", "Kerupuk", idr(2_500), "standard", SoldBy::Unit),
    ];
    let mut h = Harness::new(idr_profile(), items);
    let c = h.cashier.clone();
    let ev = h.engine().open_shift(Some(&c), "500000").unwrap();
    h.apply(ev);
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    add(&mut h, "NASI", None);
    add(&mut h, "TEH", Some("2"));
    add(&mut h, "KERUPUK", None);
    let ev = h.engine().tender_cash(Some(&c), "50000").unwrap();
    h.apply(ev);
    let r = complete(&mut h);
    (h, r)
}

/// Content checks any receipt must pass, whatever its width or currency.
fn check_receipt_content(r: &Receipt, opts: &LayoutOptions, d: &Decoded) {
    let cols = opts.columns();
    assert_eq!(d.unknown, 0, "{d}");
    assert_eq!(d.code_pages, [opts.code_page.esc_t()]);
    for l in &d.lines {
        let limit = if l.double_width { cols / 2 } else { cols };
        assert!(l.text.chars().count() <= limit, "too wide: {:?}", l.text);
    }
    // Header: the store name, large and bold, centred.
    let name = d.find_line(&r.store_name).expect("store name printed");
    assert!(name.bold && name.double_height, "{name:?}");
    assert_eq!(name.align, keel_devices::escpos::Align::Center);
    // Every line of the core's plain-text receipt is on the paper, in order
    // (centred lines are centred by the printer, so compare trimmed).
    let printed: Vec<&str> = d.lines.iter().map(|l| l.text.trim()).collect();
    let mut at = 0;
    for want in r.render_text(cols).iter().skip(1) {
        let want = want.trim();
        let found = printed[at..].iter().position(|p| *p == want);
        assert!(found.is_some(), "missing {want:?} after line {at}:\n{d}");
        at += found.unwrap_or(0) + 1;
    }
    for l in &r.lines {
        assert!(d.find_line(&l.name).is_some(), "{} missing", l.name);
    }
    // TOTAL emphasized: bold and double height.
    let total = d
        .find_line(&format!("TOTAL {}", r.total.currency))
        .expect("TOTAL line");
    assert!(total.bold && total.double_height, "{total:?}");
    assert!(total.text.ends_with(&r.total.amount_text()));
    // Verification code as QR and as text.
    assert_eq!(d.qr_codes, std::slice::from_ref(&r.verification_code));
    let verify = d.find_line("Verify").expect("verify line");
    assert!(verify.text.ends_with(&r.verification_code));
    // Ends with one cut, after everything else; a kick only when asked, before it.
    assert_eq!(d.cuts, [opts.cut]);
    assert!(matches!(d.order.last(), Some(Element::Cut(0))));
    match opts.kick {
        Some(pin) => {
            assert_eq!(d.kicks, [(pin, 50, 500)]);
            let kick = d.position(|e| matches!(e, Element::Kick(0))).unwrap();
            assert_eq!(kick + 1, d.order.len() - 1, "kick just before the cut");
        }
        None => assert!(d.kicks.is_empty()),
    }
}

#[test]
fn eur_receipt_80mm_with_drawer_kick() {
    let (_, r) = eur_sale();
    let opts = LayoutOptions::new(PaperWidth::Mm80).with_kick(DrawerPin::Pin2);
    let bytes = receipt(&r, &opts);
    let d = decode(&bytes).unwrap();
    check_receipt_content(&r, &opts, &d);
    assert!(d.find_line("Friedrichstraße 12").is_some(), "ß via CP858");
    assert!(d.find_line("Danke für Ihren Einkauf!").is_some());
    assert!(d.find_line("card VISA ****4242").is_some());
    assert!(d.find_line("Change").is_some());
    assert!(d.find_line("0.350 kg x 14.90").is_some());
    check_golden("receipt_eur_80mm", &bytes);
}

#[test]
fn eur_receipt_58mm() {
    let (_, r) = eur_sale();
    let opts = LayoutOptions::new(PaperWidth::Mm58);
    let bytes = receipt(&r, &opts);
    let d = decode(&bytes).unwrap();
    check_receipt_content(&r, &opts, &d);
    assert_eq!(
        d.lines.iter().map(|l| l.text.chars().count()).max(),
        Some(32)
    );
    check_golden("receipt_eur_58mm", &bytes);
}

#[test]
fn idr_receipt_80mm() {
    let (_, r) = idr_sale();
    assert_eq!(r.total.currency, Currency::IDR);
    let opts = LayoutOptions::new(PaperWidth::Mm80).with_kick(DrawerPin::Pin5);
    let bytes = receipt(&r, &opts);
    let d = decode(&bytes).unwrap();
    check_receipt_content(&r, &opts, &d);
    // Zero-decimal amounts exactly as the core formats them.
    let total = d.find_line("TOTAL IDR").unwrap();
    assert!(total.text.ends_with(&r.total.amount_text()));
    assert!(!total.text.contains('.'), "{:?}", total.text);
    assert!(d.find_line("Cash rounding").is_some() || r.rounding.minor == 0);
    check_golden("receipt_idr_80mm", &bytes);
}

#[test]
fn idr_receipt_58mm_with_logo_and_full_cut() {
    let (_, r) = idr_sale();
    let opts = LayoutOptions::new(PaperWidth::Mm58)
        .with_logo(keel_logo())
        .with_cut(CutKind::Full);
    let bytes = receipt(&r, &opts);
    let d = decode(&bytes).unwrap();
    check_receipt_content(&r, &opts, &d);
    assert_eq!(d.images, [(192, 72)]);
    check_golden("receipt_idr_58mm", &bytes);
}

#[test]
fn a_reprint_says_copy_and_is_otherwise_the_same_receipt() {
    let (_, r) = eur_sale();
    let opts = LayoutOptions::new(PaperWidth::Mm80);
    let original = decode(&receipt(&r, &opts)).unwrap();
    assert!(original.find_line("*** COPY ***").is_none(), "{original}");
    let copy = decode(&receipt(&r, &opts.clone().as_copy())).unwrap();
    check_receipt_content(&r, &opts, &copy);
    let mark = copy.find_line("*** COPY ***").expect("the copy mark");
    assert!(mark.bold, "{mark:?}");
    assert_eq!(mark.align, keel_devices::escpos::Align::Center);
    let without: Vec<&str> = copy
        .texts()
        .into_iter()
        .filter(|t| *t != "*** COPY ***")
        .collect();
    assert_eq!(without, original.texts(), "only the mark differs");
    assert_eq!(copy.qr_codes, original.qr_codes);
}

#[test]
fn kitchen_ticket_80mm() {
    let (h, r) = eur_sale();
    let tickets: Vec<&Ticket> = h.state.kitchen.values().collect();
    assert_eq!(tickets.len(), 1, "the espressos go to the bar");
    let t = tickets[0];
    assert_eq!(t.receipt_no, r.receipt_no);
    let opts = LayoutOptions::new(PaperWidth::Mm80);
    let bytes = kitchen_ticket(t, &opts);
    let d = decode(&bytes).unwrap();
    assert_eq!(d.unknown, 0);
    let station = d.find_line("BAR").unwrap();
    assert!(station.bold && station.double_width);
    let number = d.find_line(&format!("#{}", t.id)).unwrap();
    assert!(number.double_width && number.double_height);
    let espresso = d.find_line("Espresso").unwrap();
    assert_eq!(espresso.text, "2 x Espresso");
    assert!(espresso.double_height);
    assert!(d.find_line(&format!("Receipt {}", r.receipt_no)).is_some());
    assert!(d
        .find_line(&keel_core::receipt::format_utc(t.created_ms))
        .is_some());
    assert!(d.find_line("Croissant").is_none(), "not a bar item");
    assert_eq!(d.cuts, [CutKind::Partial]);
    check_golden("kitchen_bar_80mm", &bytes);
}

#[test]
fn test_page_58mm() {
    let opts = LayoutOptions::new(PaperWidth::Mm58).with_code_page(CodePage::Cp437);
    let bytes = test_page(&opts);
    let d = decode(&bytes).unwrap();
    assert_eq!(d.unknown, 0);
    assert_eq!(d.images, [(192, 72)]);
    assert_eq!(d.qr_codes, ["KEEL PRINTER TEST"]);
    assert_eq!(
        d.barcodes,
        [
            (BarcodeKind::Ean13, "4006381333931".to_string()),
            (BarcodeKind::Code128, "KEEL-128".to_string())
        ]
    );
    assert!(d.find_line("12345678901234567890123456789012").is_some());
    assert!(d.find_line("Code page cp437 (ESC t 0)").is_some());
    // CP437 has no euro sign but has the boxes.
    assert!(d.find_line("? £ ¥ ü é ñ ß Ä Ö Ü ç ?").is_some(), "{d}");
    assert!(d.find_line("┌─┬─┐ ╔═╗ ░▒▓█").is_some(), "{d}");
    assert!(d.find_line("Bold").unwrap().bold);
    assert!(d.find_line("Underline").unwrap().underline);
    assert_eq!(
        d.find_line("Right").unwrap().align,
        keel_devices::escpos::Align::Right
    );
    check_golden("test_page_58mm", &bytes);
}
