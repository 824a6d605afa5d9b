//! Issue 7 on the cashier's screens: whole flows through the Slint UI (the
//! screens' callbacks, the kiosk's mapping, the UI bridge) on a real demo
//! node whose AI runs the repository's models, with a camera reading picture
//! files. The camera button adds a held-out picture's product exactly as a
//! scan of its barcode does; an unsure picture opens the picker with three
//! candidates, and picking the second adds it; no model leaves the manual
//! hint and manual entry goes on; a card payment at high risk (staged with
//! `FixedRisk`, as in keel-terminal's risk tests) shows the manager PIN pad, a
//! wrong PIN is refused there, cancel goes back to the tender, and the
//! manager's PIN completes the sale, flagged as on the console. With the real
//! TensorFlow Lite library (`--features keel-ai/tflite`) the model runs;
//! without it the camera tests check the manual fallback instead.
//! Amounts are written `units_cents` (`100_00` is 100.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_core::event::EventBody;
use keel_core::risk::RiskLevel;
use keel_kiosk::{DemoCardTerminal, HeadlessKiosk};
use keel_terminal::config::{AiSettings, CameraSetting};
use keel_terminal::node::Node;
use keel_terminal::risk::{assessment, FixedRisk};
use keel_terminal::ui_bridge::{UiAction, UiBridge, UiServices};
use keel_ui::generated::{CartLine, Page, UiActions, UiState};
use keel_ui::image::Image;
use slint::{ComponentHandle, Model};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const CHOC_BARCODE: &str = "4006381333931";

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn holdout(sku: &str) -> PathBuf {
    models().join(format!("product-recognition/holdout/{sku}.png"))
}

fn open_node(dir: &Path, models: &Path, camera: CameraSetting) -> Arc<Mutex<Node>> {
    let mut node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    let settings = AiSettings {
        camera,
        ..AiSettings::default()
    };
    keel_terminal::ai::start_on(&mut node, &settings, Some(models), dir);
    Arc::new(Mutex::new(node))
}

/// A headless kiosk on `node`, the cashier logged in with a shift open.
fn kiosk(node: Arc<Mutex<Node>>) -> HeadlessKiosk {
    let bridge = UiBridge::new(node, UiServices::default());
    let cards = Some(Box::new(DemoCardTerminal::default()) as _);
    let mut k = HeadlessKiosk::new(bridge, 1024, 768, cards).unwrap();
    let s = k.send(UiAction::Login { pin: "1111".into() });
    assert!(s.user.is_some(), "{:?}", s.message);
    let s = k.send(UiAction::ShiftOpen { float: 100_00 });
    assert!(s.shift.is_some(), "{:?}", s.message);
    k
}

fn model_ready(k: &HeadlessKiosk) -> bool {
    k.snapshot().status.ai_model.as_deref() == Some("AI ready")
}

fn cart(k: &HeadlessKiosk) -> Vec<CartLine> {
    k.window()
        .global::<UiState<'_>>()
        .get_cart()
        .iter()
        .collect()
}

fn message(k: &HeadlessKiosk) -> String {
    k.window().global::<UiState<'_>>().get_message().to_string()
}

/// Presses the camera button and runs what it sent.
fn press_camera(k: &mut HeadlessKiosk) {
    let w = k.window();
    assert!(
        w.global::<UiState<'_>>().get_camera_ready(),
        "the button is enabled"
    );
    w.global::<UiActions<'_>>().invoke_camera();
    assert!(
        w.global::<UiState<'_>>().get_camera_busy(),
        "waiting for the answer"
    );
    assert_eq!(k.pump(), 1, "one recognize action");
    assert!(!w.global::<UiState<'_>>().get_camera_busy());
}

/// Checks the camera left manual entry: the hint and the focus on the barcode field.
fn manual_hint(k: &HeadlessKiosk, focus_before: i32) {
    let m = message(k);
    assert!(m.starts_with("No product recognized ("), "{m}");
    assert!(m.ends_with("enter the product manually"), "{m}");
    let w = k.window();
    let state = w.global::<UiState<'_>>();
    assert!(!state.get_picker_visible());
    assert_eq!(
        state.get_focus_manual(),
        focus_before + 1,
        "focus to manual entry"
    );
}

/// `a` and `b` (same size) mixed half and half, saved to `out`.
fn blend(a: &Path, b: &Path, out: &Path) {
    let (a, b) = (Image::load_png(a).unwrap(), Image::load_png(b).unwrap());
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let mixed: Vec<u8> = a
        .rgba()
        .iter()
        .zip(b.rgba())
        .map(|(&x, &y)| (u16::from(x) + u16::from(y)).div_ceil(2) as u8)
        .collect();
    Image::new(a.width(), a.height(), mixed)
        .save_png(out)
        .unwrap();
}

#[test]
fn the_camera_button_adds_a_held_out_product_as_its_scan_does() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(
        dir.path(),
        &models(),
        CameraSetting::File(holdout("CHOC-100")),
    );
    let mut k = kiosk(node);
    let focus = k.window().global::<UiState<'_>>().get_focus_manual();
    press_camera(&mut k);
    if !model_ready(&k) {
        manual_hint(&k, focus);
        return;
    }
    let by_camera = cart(&k);
    assert_eq!(by_camera.len(), 1);
    let m = message(&k);
    assert!(
        m.starts_with("Recognized ") && m.ends_with("%): added to the sale"),
        "{m}"
    );
    assert!(m.contains(by_camera[0].name.as_str()), "{m}");

    // The same product's barcode on the manual entry of another till.
    let dir2 = tempfile::tempdir().unwrap();
    let mut scan = kiosk(open_node(dir2.path(), &models(), CameraSetting::None));
    assert!(!scan.window().global::<UiState<'_>>().get_camera_ready());
    scan.window()
        .global::<UiActions<'_>>()
        .invoke_barcode_entered(CHOC_BARCODE.into());
    scan.pump();
    assert_eq!(cart(&scan), by_camera);
    let totals = |k: &HeadlessKiosk| k.window().global::<UiState<'_>>().get_totals();
    assert_eq!(totals(&scan), totals(&k));
}

#[test]
fn an_unsure_picture_opens_the_picker_and_the_second_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let picture = dir.path().join("blend.png");
    blend(&holdout("BATT-AA4"), &holdout("CHOC-100"), &picture);
    let node = open_node(dir.path(), &models(), CameraSetting::File(picture));
    let mut k = kiosk(node);
    let focus = k.window().global::<UiState<'_>>().get_focus_manual();
    press_camera(&mut k);
    if !model_ready(&k) {
        manual_hint(&k, focus);
        return;
    }
    let w = k.window();
    let state = w.global::<UiState<'_>>();
    assert!(state.get_picker_visible(), "{}", message(&k));
    let list: Vec<_> = state.get_picker_candidates().iter().collect();
    assert_eq!(list.len(), 3);
    assert!(list
        .iter()
        .all(|c| c.confidence.ends_with('%') && !c.name.is_empty()));
    assert_eq!(message(&k), "Not sure what this is: pick the product");
    assert!(cart(&k).is_empty());

    // "Enter manually" closes it and puts the focus on the barcode field.
    w.global::<UiActions<'_>>().invoke_enter_manually();
    assert!(!state.get_picker_visible());
    assert_eq!(state.get_focus_manual(), focus + 1);
    k.pump();
    assert!(!state.get_picker_visible());
    assert!(message(&k).is_empty());

    // Again, and the second candidate picked this time.
    press_camera(&mut k);
    assert!(state.get_picker_visible());
    let second = state.get_picker_candidates().row_data(1).unwrap();
    w.global::<UiActions<'_>>()
        .invoke_pick_candidate(second.sku.clone());
    assert!(!state.get_picker_visible());
    assert_eq!(k.pump(), 2, "sale new, then the pick as a scan");
    let lines = cart(&k);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].name, second.name);
    assert!(!state.get_picker_visible());
    let c = k.snapshot().cart.clone().unwrap();
    assert_eq!(c.lines[0].sku, second.sku.as_str());
}

#[test]
fn with_no_model_the_hint_says_so_and_the_sale_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let node = open_node(
        dir.path(),
        empty.path(),
        CameraSetting::File(holdout("TEA")),
    );
    let mut k = kiosk(node);
    let focus = k.window().global::<UiState<'_>>().get_focus_manual();
    press_camera(&mut k);
    manual_hint(&k, focus);
    assert!(cart(&k).is_empty());
    let w = k.window();
    w.global::<UiActions<'_>>()
        .invoke_barcode_entered(CHOC_BARCODE.into());
    k.pump();
    assert_eq!(cart(&k).len(), 1);
    assert!(message(&k).is_empty(), "{}", message(&k));
}

fn flagged(node: &Node) -> Vec<(u64, RiskLevel, Option<String>)> {
    let j = node.journal();
    j.range(1, j.last_seq())
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.event.body {
            EventBody::SaleFlagged {
                receipt_no,
                assessment,
                approved_by,
                ..
            } => Some((receipt_no.0, assessment.level, approved_by.map(|m| m.0))),
            _ => None,
        })
        .collect()
}

fn key_pin(k: &HeadlessKiosk, pin: &str) {
    let w = k.window();
    let actions = w.global::<UiActions<'_>>();
    for d in pin.chars() {
        actions.invoke_pin_key(d.to_string().into());
    }
    actions.invoke_pin_submit();
}

#[test]
fn a_high_risk_card_payment_needs_the_managers_pin_on_the_pad() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(dir.path(), &models(), CameraSetting::None);
    let reasons = ["REFUND_FRAUD".to_string(), "DRAWER_SKIMMING".to_string()];
    let risk = Arc::new(FixedRisk::new(Some(assessment(
        0.91,
        RiskLevel::High,
        &reasons,
        "fixed test source",
    ))));
    node.lock().unwrap().set_risk_source(risk);
    let mut k = kiosk(node.clone());
    let w = k.window();
    let actions = w.global::<UiActions<'_>>();
    let state = w.global::<UiState<'_>>();
    actions.invoke_barcode_entered(CHOC_BARCODE.into());
    k.pump();
    actions.invoke_show_page(Page::Tender);
    assert_eq!(k.screens().ui().page(), Page::Tender);
    let note = state.get_risk_note().to_string();
    assert_eq!(
        note,
        "Review: offline card limit lowered to 125.00; a card payment needs a manager's PIN"
    );

    // Card: refused, the PIN pad opens for it.
    actions.invoke_tender_card();
    k.pump();
    assert!(state.get_pin_visible());
    assert_eq!(
        state.get_pin_title().as_str(),
        "Manager PIN to approve the card payment of 1.49"
    );
    let no_codes = |t: &str| reasons.iter().all(|r| !t.contains(r.as_str()));
    assert!(no_codes(&message(&k)), "{}", message(&k));
    assert!(!state.get_totals().tendered);

    // A wrong PIN: refused on the pad, which stays up.
    key_pin(&k, "5678");
    assert!(state.get_pin_visible(), "up while the answer comes");
    assert_eq!(k.pump(), 1);
    assert!(state.get_pin_visible());
    let e = state.get_pin_error().to_string();
    assert!(e.contains("manager PIN refused"), "{e}");
    assert!(no_codes(&e));
    assert_eq!(state.get_pin_mask().as_str(), "");

    // Cancel: back to the tender, nothing paid.
    actions.invoke_pin_cancel();
    assert!(!state.get_pin_visible());
    k.pump();
    assert!(!state.get_pin_visible());
    assert_eq!(k.screens().ui().page(), Page::Tender);
    assert!(message(&k).is_empty());
    assert!(!state.get_totals().tendered);

    // Card again, the manager's PIN this time: paid, the pad goes.
    actions.invoke_tender_card();
    k.pump();
    assert!(state.get_pin_visible());
    key_pin(&k, "9999");
    k.pump();
    assert!(!state.get_pin_visible(), "{}", state.get_pin_error());
    let t = state.get_totals();
    assert!(t.covered && t.tendered, "{}", message(&k));
    assert_eq!(
        state.get_risk_note().as_str(),
        "Review: offline card limit lowered to 125.00"
    );
    actions.invoke_complete();
    k.pump();
    let receipt = k.snapshot().receipt.as_ref().unwrap().number;
    assert_eq!(
        flagged(&node.lock().unwrap()),
        vec![(receipt, RiskLevel::High, Some("manager".into()))]
    );
    assert_eq!(state.get_risk_note().as_str(), "", "no sale, no note");
}
