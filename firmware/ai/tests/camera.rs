//! Frame sources: PNG files (tests and the demo) into the preprocessing, and
//! the runtime handle's thread-safety contract.

mod support;

use keel_ai::camera::{FrameSource, ImageFileSource};
use keel_ai::frame::preprocess;

#[test]
fn an_image_file_source_captures_a_held_out_frame() {
    let path = support::models_dir().join("product-recognition/holdout/BANANA.png");
    let mut source: Box<dyn FrameSource> = Box::new(ImageFileSource::new(&path));
    let frame = source.capture().unwrap();
    assert_eq!((frame.width, frame.height), (320, 240));
    let input = preprocess(&frame, 64).unwrap();
    assert_eq!(input.len(), 64 * 64 * 3);
    assert!(input.iter().all(|v| (0.0..=1.0).contains(v)));
    let mut missing = ImageFileSource::new("/nonexistent/frame.png");
    assert!(missing.capture().is_err());
}

#[test]
fn the_runtime_handle_is_clone_send_and_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<keel_ai::AiRuntime>();
}
