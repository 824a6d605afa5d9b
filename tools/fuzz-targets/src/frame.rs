//! Picture frames for product recognition: PNG files from a camera
//! directory source decoded by `keel_ai::Frame::from_png_bytes`, then
//! `keel_ai::frame::preprocess` as recognition does.
//!
//! Properties: a decoded frame holds width x height RGB pixels and
//! preprocessing it gives side x side x 3 values in [0, 1].

use keel_ai::frame::preprocess;
use keel_ai::Frame;

/// Side of the preprocessed square (small: the fuzzer runs it per input).
const SIDE: u32 = 8;

/// `data` as a PNG file.
pub fn png_frame(data: &[u8]) {
    if let Ok(frame) = Frame::from_png_bytes(data) {
        let pixels = frame.width as usize * frame.height as usize;
        assert_eq!(frame.rgb.len(), pixels * 3, "frame buffer size");
        if let Ok(values) = preprocess(&frame, SIDE) {
            assert_eq!(values.len(), (SIDE * SIDE * 3) as usize);
            assert!(
                values.iter().all(|v| (0.0..=1.0).contains(v)),
                "value out of [0, 1]"
            );
        }
    }
}
