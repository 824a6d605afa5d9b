//! YUYV (YUV 4:2:2, Y0 U Y1 V per two pixels) to RGB with BT.601 limited-range
//! integer coefficients. Pure; the V4L2 source feeds it captured buffers.

use super::CameraError;
use crate::frame::Frame;

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// One pixel: BT.601 limited range (Y 16..235, UV 16..240), fixed point / 256.
pub fn pixel(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = i32::from(y) - 16;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    [
        clamp((298 * c + 409 * e + 128) >> 8),
        clamp((298 * c - 100 * d - 208 * e + 128) >> 8),
        clamp((298 * c + 516 * d + 128) >> 8),
    ]
}

/// Converts a YUYV buffer of `width` x `height` (width even; `stride` bytes a
/// line, at least width * 2) into an RGB frame.
pub fn to_frame(buf: &[u8], width: u32, height: u32, stride: usize) -> Result<Frame, CameraError> {
    let (w, h) = (width as usize, height as usize);
    let line = w * 2;
    let stride = stride.max(line);
    let expected = if h == 0 { 0 } else { stride * (h - 1) + line };
    if buf.len() < expected || w % 2 != 0 {
        return Err(CameraError::ShortFrame {
            expected,
            actual: buf.len(),
        });
    }
    if w == 0 || h == 0 {
        // No pixels (and no per-line work for billions of empty lines).
        return Ok(Frame::new(width, height, Vec::new())?);
    }
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        let start = row * stride;
        for q in buf[start..start + line].chunks_exact(4) {
            rgb.extend_from_slice(&pixel(q[0], q[1], q[3]));
            rgb.extend_from_slice(&pixel(q[2], q[1], q[3]));
        }
    }
    Ok(Frame::new(width, height, rgb)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bt601_reference_colours() {
        assert_eq!(pixel(16, 128, 128), [0, 0, 0]);
        assert_eq!(pixel(235, 128, 128), [255, 255, 255]);
        // BT.601 red (Y 81, U 90, V 240), green (145, 54, 34), blue (41, 240, 110).
        let close = |a: [u8; 3], b: [u8; 3]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 2)
        };
        assert!(
            close(pixel(81, 90, 240), [255, 0, 0]),
            "{:?}",
            pixel(81, 90, 240)
        );
        assert!(
            close(pixel(145, 54, 34), [0, 255, 0]),
            "{:?}",
            pixel(145, 54, 34)
        );
        assert!(
            close(pixel(41, 240, 110), [0, 0, 255]),
            "{:?}",
            pixel(41, 240, 110)
        );
    }

    #[test]
    fn converts_a_recorded_2x2_buffer_with_padding() {
        // Two lines of 2 pixels, stride 6 (2 bytes of padding a line).
        let buf = [16, 128, 235, 128, 0xAA, 0xAA, 81, 90, 81, 240, 0xAA, 0xAA];
        let f = to_frame(&buf, 2, 2, 6).unwrap();
        assert_eq!(&f.rgb[0..6], &[0, 0, 0, 255, 255, 255]);
        assert_eq!(&f.rgb[6..9], &f.rgb[9..12]);
        assert!(f.rgb[6] > 250 && f.rgb[7] < 3);
        assert!(matches!(
            to_frame(&buf[..8], 2, 2, 6),
            Err(CameraError::ShortFrame {
                expected: 10,
                actual: 8
            })
        ));
    }
}
