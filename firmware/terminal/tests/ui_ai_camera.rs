//! The sale screen's camera button through the UI bridge (issue 7) on a real
//! demo node with the AI started on the repository's models and a camera
//! reading picture files: a held-out picture's product becomes a cart line
//! exactly as a scan of it makes; a blend of two held-out pictures (the
//! model is unsure) leaves the top three to pick from, and picking the second
//! adds it as a scan; no model, or no camera, leaves manual entry with the
//! reason and the sale goes on. With the real TensorFlow Lite library
//! (`--features keel-ai/tflite`) the model runs; without it the models are in
//! fallback and every press is manual entry, which these tests then check.

use keel_terminal::config::{AiSettings, CameraSetting};
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::snapshot::{MessageKind, RecognitionView};
use keel_terminal::ui_bridge::{AddSource, UiAction, UiBridge, UiServices, UiSnapshot};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn holdout(sku: &str) -> PathBuf {
    models().join(format!("product-recognition/holdout/{sku}.png"))
}

/// A bridge on a fresh demo node whose AI uses `models` and `camera`; the
/// cashier logged in with a shift open.
fn bridge(dir: &Path, models: &Path, camera: CameraSetting) -> UiBridge {
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
    let mut b = UiBridge::new(Arc::new(Mutex::new(node)), UiServices::default());
    let s = b.apply(UiAction::Login { pin: "1111".into() });
    assert!(s.user.is_some(), "{:?}", s.message);
    let s = b.apply(UiAction::ShiftOpen { float: 10_000 });
    assert!(s.shift.is_some(), "{:?}", s.message);
    b
}

/// Whether the recognition model runs here (the real library is built in).
fn model_ready(b: &mut UiBridge) -> bool {
    b.snapshot().status.ai_model.as_deref() == Some("AI ready")
}

/// Decodes a PNG to (width, height, RGB bytes).
fn rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let f = keel_ai::Frame::from_png_file(path).unwrap();
    (f.width, f.height, f.rgb)
}

/// Writes `a * (1 - t) + b * t` (both pictures the same size) to `out`.
fn blend(a: &Path, b: &Path, t: f32, out: &Path) {
    let (w, h, pa) = rgb(a);
    let (w2, h2, pb) = rgb(b);
    assert_eq!((w, h), (w2, h2));
    let mixed: Vec<u8> = pa
        .iter()
        .zip(&pb)
        .map(|(&x, &y)| (f32::from(x) * (1.0 - t) + f32::from(y) * t).round() as u8)
        .collect();
    let file = std::fs::File::create(out).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .unwrap()
        .write_image_data(&mixed)
        .unwrap();
}

/// The open sale's lines as (SKU, quantity, amount).
fn lines(s: &UiSnapshot) -> Vec<(String, i64, i64)> {
    s.cart
        .as_ref()
        .map(|c| {
            c.lines
                .iter()
                .map(|l| (l.sku.clone(), l.qty, l.amount.minor))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the camera button and checks a model in fallback gave manual entry.
fn manual(b: &mut UiBridge) -> UiSnapshot {
    let s = b.apply(UiAction::Recognize);
    match &s.recognition {
        Some(RecognitionView::Manual { reason }) => assert!(!reason.is_empty()),
        other => panic!("manual entry expected, got {other:?}"),
    }
    let m = s.message.as_ref().expect("the reason on the message line");
    assert_eq!(m.kind, MessageKind::Notice, "{}", m.text);
    assert!(m.text.contains("enter the product manually"), "{}", m.text);
    s
}

#[test]
fn a_held_out_picture_becomes_the_same_cart_line_as_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let camera = CameraSetting::File(holdout("CHOC-100"));
    let mut b = bridge(dir.path(), &models(), camera);
    assert!(b.snapshot().camera, "a camera is configured");
    if !model_ready(&mut b) {
        // keel-ai without the TensorFlow Lite library: manual entry.
        manual(&mut b);
        return;
    }
    // No sale open: the camera opens one, as a scan at the till does.
    let s = b.apply(UiAction::Recognize);
    match &s.recognition {
        Some(RecognitionView::Added(c)) => {
            assert_eq!(c.sku, "CHOC-100");
            assert!(c.confidence_permille >= 600, "{c:?}");
            assert!(!c.name.is_empty() && !c.name.contains("not in the catalog"));
        }
        other => panic!("added expected, got {other:?}"),
    }
    let m = s.message.clone().expect("what was recognized");
    assert_eq!(m.kind, MessageKind::Notice);
    assert!(m.text.starts_with("recognized CHOC-100 ("), "{}", m.text);
    assert!(
        m.text.contains("with confidence") && m.text.ends_with("added to the sale"),
        "{}",
        m.text
    );
    let by_camera = lines(&s);
    assert_eq!(by_camera.len(), 1, "{by_camera:?}");

    // The same product scanned on a second terminal's fresh node: the same line.
    let dir2 = tempfile::tempdir().unwrap();
    let mut scan = bridge(dir2.path(), &models(), CameraSetting::None);
    scan.apply(UiAction::SaleNew);
    let s2 = scan.apply(UiAction::AddItem {
        code: "CHOC-100".into(),
        qty: None,
        source: AddSource::Scan,
    });
    assert_eq!(lines(&s2), by_camera);
    assert_eq!(
        s2.cart.as_ref().unwrap().lines,
        s.cart.as_ref().unwrap().lines
    );

    // The finding lasts until the next action; a second press adds it again,
    // as a second scan does (a line per scan).
    let s = b.apply(UiAction::Refresh);
    assert!(matches!(s.recognition, Some(RecognitionView::Added(_))));
    let s = b.apply(UiAction::Recognize);
    let s2 = scan.apply(UiAction::AddItem {
        code: "CHOC-100".into(),
        qty: None,
        source: AddSource::Scan,
    });
    assert_eq!(lines(&s).len(), 2);
    assert_eq!(lines(&s), lines(&s2));
    let s = b.apply(UiAction::DismissMessage);
    assert!(s.recognition.is_none() && s.message.is_none());
}

#[test]
fn an_unsure_picture_offers_three_and_picking_the_second_adds_it() {
    let dir = tempfile::tempdir().unwrap();
    let blended = dir.path().join("blend.png");
    // Half chocolate bar, half batteries: the model is unsure between the two.
    blend(&holdout("BATT-AA4"), &holdout("CHOC-100"), 0.5, &blended);
    let mut b = bridge(dir.path(), &models(), CameraSetting::File(blended));
    if !model_ready(&mut b) {
        manual(&mut b);
        return;
    }
    b.apply(UiAction::SaleNew);
    let s = b.apply(UiAction::Recognize);
    let list = match &s.recognition {
        Some(RecognitionView::Choose(list)) => list.clone(),
        other => panic!("the top three expected, got {other:?}"),
    };
    assert_eq!(list.len(), 3, "{list:?}");
    let mut top2: Vec<&str> = list[..2].iter().map(|c| c.sku.as_str()).collect();
    top2.sort_unstable();
    assert_eq!(top2, ["BATT-AA4", "CHOC-100"], "{list:?}");
    assert!(list.iter().all(|c| c.confidence_permille < 600), "{list:?}");
    assert!(
        list.windows(2)
            .all(|w| w[0].confidence_permille >= w[1].confidence_permille),
        "best first: {list:?}"
    );
    assert!(list.iter().all(|c| !c.name.contains("not in the catalog")));
    assert!(lines(&s).is_empty(), "nothing added while unsure");
    assert!(s.message.as_ref().unwrap().text.contains("not sure"));

    // The picker's second button: the screen sends a scan of that SKU.
    let second = list[1].sku.clone();
    let s = b.apply(UiAction::AddItem {
        code: second.clone(),
        qty: None,
        source: AddSource::Scan,
    });
    assert!(s.recognition.is_none(), "the picker closes");
    assert!(s.message.is_none(), "{:?}", s.message);
    assert_eq!(lines(&s).len(), 1);
    assert_eq!(lines(&s)[0].0, second);
}

#[test]
fn a_directory_camera_takes_the_pictures_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let pictures = dir.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    for (i, sku) in ["TEA", "CROISSANT"].iter().enumerate() {
        std::fs::copy(holdout(sku), pictures.join(format!("{i}-{sku}.png"))).unwrap();
    }
    let mut b = bridge(dir.path(), &models(), CameraSetting::Dir(pictures));
    if !model_ready(&mut b) {
        manual(&mut b);
        return;
    }
    let got: Vec<String> = (0..3)
        .map(|_| {
            let s = b.apply(UiAction::Recognize);
            match s.recognition {
                Some(RecognitionView::Added(c)) => c.sku,
                other => panic!("added expected, got {other:?}: {:?}", s.message),
            }
        })
        .collect();
    assert_eq!(got, ["TEA", "CROISSANT", "TEA"]);
    let s = b.snapshot();
    assert_eq!(
        lines(&s)
            .iter()
            .map(|l| (l.0.as_str(), l.1))
            .collect::<Vec<_>>(),
        [("TEA", 1), ("CROISSANT", 1), ("TEA", 1)]
    );
}

#[test]
fn no_model_or_no_camera_is_manual_entry_and_the_sale_goes_on() {
    // No model: the models directory is empty.
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let camera = CameraSetting::File(holdout("CHOC-100"));
    let mut b = bridge(dir.path(), empty.path(), camera);
    b.apply(UiAction::SaleNew);
    let s = manual(&mut b);
    assert!(lines(&s).is_empty());
    // The cashier enters it by hand; the sale goes on.
    let s = b.apply(UiAction::AddItem {
        code: "4006381333931".into(),
        qty: None,
        source: AddSource::Scan,
    });
    assert!(s.message.is_none(), "{:?}", s.message);
    assert!(s.recognition.is_none());
    assert_eq!(lines(&s).len(), 1);

    // No camera configured: the button says so, nothing else changes.
    let dir = tempfile::tempdir().unwrap();
    let mut b = bridge(dir.path(), &models(), CameraSetting::None);
    assert!(!b.snapshot().camera);
    let s = manual(&mut b);
    assert!(
        matches!(&s.recognition, Some(RecognitionView::Manual { reason }) if reason == "no camera configured")
    );
    assert!(s.cart.is_none(), "no sale opened for nothing");

    // A camera whose file is gone: manual entry with the camera's error.
    let dir = tempfile::tempdir().unwrap();
    let gone = CameraSetting::File(dir.path().join("nothing.png"));
    let mut b = bridge(dir.path(), &models(), gone);
    let s = manual(&mut b);
    assert!(
        matches!(&s.recognition, Some(RecognitionView::Manual { reason }) if reason.contains("nothing.png")),
        "{:?}",
        s.recognition
    );
}
