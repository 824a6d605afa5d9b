//! `model recognize` with no image takes a frame from the configured camera
//! (`[ai] camera = "file:..."`, as tests and the demo configure it): the
//! console session on a real node recognizes the held-out picture the camera
//! file holds and adds the product as a scan would.

use keel_terminal::config::{AiSettings, CameraSetting};
use keel_terminal::console::session::{Session, SessionState};
use keel_terminal::node::Node;
use std::path::Path;

fn reply(session: &mut Session<'_>, line: &str) -> serde_json::Value {
    let r = session.execute_line(line).expect("a reply");
    serde_json::from_str(&r.render(true)).expect("one JSON object")
}

#[test]
fn recognize_without_an_image_reads_the_camera() {
    let dir = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let picture = models.join("product-recognition/holdout/CHOC-100.png");
    let mut node = Node::open(
        keel_terminal::demo::profile(1),
        dir.path(),
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    let settings = AiSettings {
        camera: CameraSetting::File(picture.clone()),
        ..AiSettings::default()
    };
    keel_terminal::ai::start_on(&mut node, &settings, Some(&models), dir.path());
    // The camera gives the file's frame, as a 320x240 camera would.
    let frame = node
        .ai()
        .unwrap()
        .capture()
        .expect("a frame from the camera");
    assert_eq!((frame.width, frame.height), (320, 240));

    let mut st = SessionState::new(true);
    let mut s = Session::new(&mut node, &mut st, None);
    for line in ["login 1111", "shift open 100.00", "sale new"] {
        assert_eq!(reply(&mut s, line)["ok"], true, "{line}");
    }
    let r = reply(&mut s, "model recognize");
    let ready = s
        .node()
        .ai()
        .unwrap()
        .status()
        .iter()
        .all(|m| m.state == keel_ai::ModelState::Ready);
    if ready {
        assert_eq!(r["recognition"], "accepted", "{r}");
        assert_eq!(r["recognized"], "CHOC-100", "{r}");
        assert_eq!(r["lines"][0]["sku"], "CHOC-100", "{r}");
    } else {
        // keel-ai without the TensorFlow Lite library: manual entry, from the camera.
        assert_eq!(r["recognition"], "manual", "{r}");
        assert!(
            r["image"].as_str().unwrap().starts_with("camera file:"),
            "{r}"
        );
    }

    // A camera that is not there: a clear error, the terminal goes on.
    let missing = AiSettings {
        camera: CameraSetting::File(dir.path().join("nothing.png")),
        ..AiSettings::default()
    };
    keel_terminal::ai::start_on(&mut node, &missing, Some(&models), dir.path());
    let mut s = Session::new(&mut node, &mut st, None);
    let r = reply(&mut s, "model recognize");
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["error"].as_str().unwrap().contains("nothing.png"), "{r}");
    assert_eq!(reply(&mut s, "sale add CHOC-100")["ok"], true);
}
