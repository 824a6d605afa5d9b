//! The AI's indicator in the UI (issue 7): the status bar's `ai_model` and the
//! technician page's AI line, through the UI bridge on a real node whose AI
//! started on an empty models directory (both models in fallback, saying
//! why) and on the repository's models (ready with the real library).

use keel_terminal::config::AiSettings;
use keel_terminal::node::Node;
use keel_terminal::ui_bridge::{UiBridge, UiServices};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn bridge_with_ai(dir: &Path, models: &Path) -> UiBridge {
    let mut node = Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    keel_terminal::ai::start_on(&mut node, &AiSettings::default(), Some(models), dir);
    UiBridge::new(Arc::new(Mutex::new(node)), UiServices::default())
}

#[test]
fn the_status_bar_says_when_the_ai_falls_back_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut b = bridge_with_ai(dir.path(), empty.path());
    let s = b.snapshot();
    let indicator = s.status.ai_model.expect("the AI shows in the status bar");
    assert!(indicator.starts_with("AI fallback ("), "{indicator}");
    assert!(indicator.chars().count() <= 48, "kept short: {indicator}");
    let diag = &s.diagnostics.ai_model;
    assert!(
        diag.contains("product-recognition") && diag.contains("loss-prevention"),
        "{diag}"
    );
    assert_eq!(diag.matches("fallback: ").count(), 2, "{diag}");
}

#[test]
fn the_status_bar_shows_the_shipped_models() {
    let dir = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let mut b = bridge_with_ai(dir.path(), &models);
    let s = b.snapshot();
    let indicator = s.status.ai_model.expect("the AI shows in the status bar");
    let diag = &s.diagnostics.ai_model;
    let manifest = keel_ai::manifest::Manifest::load(&models.join("loss-prevention")).unwrap();
    let built = !matches!(
        keel_ai::inference::open(&manifest, &models.join("loss-prevention")),
        Err(keel_ai::inference::InferenceError::NotBuilt)
    );
    if built {
        assert_eq!(indicator, "AI ready", "{diag}");
        assert_eq!(diag.matches(": ready").count(), 2, "{diag}");
        assert!(diag.contains(&manifest.version), "{diag}");
    } else {
        // keel-ai without the TensorFlow Lite library: the models cannot run.
        assert!(indicator.starts_with("AI fallback"), "{indicator}");
    }
}
