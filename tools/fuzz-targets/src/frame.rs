//! Picture frames for product recognition: PNG files from a camera
//! directory source decoded by `keel_ai::Frame::from_png_bytes`, then
//! `keel_ai::frame::preprocess` as recognition does; and a V4L2 camera's
//! driver answers and captured buffers (`keel_ai::camera::v4l2`:
//! `parse_capability`, `parse_format`, `Geometry::convert`, YUYV to RGB).
//!
//! Properties: a decoded frame holds width x height RGB pixels and
//! preprocessing it gives side x side x 3 values in [0, 1]; a geometry the
//! driver's answer gives holds its lines and frames; a converted buffer is a
//! frame of that geometry.

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

/// `data` as a V4L2 camera's answers: the `struct v4l2_format` the driver
/// returned from `VIDIOC_S_FMT` (its first `FORMAT_SIZE` bytes, whose first
/// `CAPABILITY_SIZE` bytes are also read as a `struct v4l2_capability`), then
/// a buffer read() returned.
pub fn v4l2_frame(data: &[u8]) {
    use keel_ai::camera::v4l2::{parse_capability, parse_format, CAPABILITY_SIZE, FORMAT_SIZE};
    let Some((format, buf)) = data.split_first_chunk::<FORMAT_SIZE>() else {
        return;
    };
    if let Some(cap) = data.first_chunk::<CAPABILITY_SIZE>() {
        let _ = parse_capability(cap);
    }
    let Ok(g) = parse_format("/dev/video0", format) else {
        return;
    };
    assert!(
        u64::from(g.bytes_per_line) >= u64::from(g.width) * 2,
        "a line of {} bytes for {} pixels",
        g.bytes_per_line,
        g.width
    );
    assert!(
        u64::from(g.size_image) >= u64::from(g.bytes_per_line) * u64::from(g.height),
        "a frame of {} bytes for {} lines of {}",
        g.size_image,
        g.height,
        g.bytes_per_line
    );
    if let Ok(frame) = g.convert(buf) {
        assert_eq!((frame.width, frame.height), (g.width, g.height));
        assert_eq!(
            frame.rgb.len(),
            g.width as usize * g.height as usize * 3,
            "frame buffer size"
        );
    }
}
