//! PNG bytes -> an RGB [`Frame`]: RGB8 as is, RGBA drops alpha, grayscale is
//! replicated, palettes are expanded and 16-bit samples are stripped to 8 bits.
//! This module only decodes; it must not preprocess.

use super::{Frame, FrameError};
use png::{ColorType, Transformations};

/// Decodes PNG bytes into an RGB frame.
pub(super) fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| FrameError::Png(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| FrameError::Png("image too large".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| FrameError::Png(e.to_string()))?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(FrameError::Unsupported(format!("{:?}", info.bit_depth)));
    }
    let (w, h) = (info.width, info.height);
    let pixels = w as usize * h as usize;
    let channels = match info.color_type {
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        other => return Err(FrameError::Unsupported(format!("{other:?}"))),
    };
    let line = info.line_size;
    if line < w as usize * channels || buf.len() < line * h as usize {
        return Err(FrameError::Png(
            "decoded buffer shorter than the image".into(),
        ));
    }
    let mut rgb = Vec::with_capacity(pixels * 3);
    for y in 0..h as usize {
        let row = &buf[y * line..y * line + w as usize * channels];
        for px in row.chunks_exact(channels) {
            match channels {
                1 | 2 => rgb.extend_from_slice(&[px[0], px[0], px[0]]),
                _ => rgb.extend_from_slice(&px[..3]),
            }
        }
    }
    Frame::new(w, h, rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(w: u32, h: u32, color: ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(color);
            enc.set_depth(depth);
            let mut writer = enc.write_header().unwrap();
            writer.write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn decodes_rgb_rgba_gray_and_16_bit() {
        let rgb = encode(
            2,
            1,
            ColorType::Rgb,
            png::BitDepth::Eight,
            &[1, 2, 3, 4, 5, 6],
        );
        assert_eq!(decode(&rgb).unwrap().rgb, vec![1, 2, 3, 4, 5, 6]);
        let rgba = encode(1, 1, ColorType::Rgba, png::BitDepth::Eight, &[9, 8, 7, 0]);
        assert_eq!(decode(&rgba).unwrap().rgb, vec![9, 8, 7]);
        let gray = encode(2, 1, ColorType::Grayscale, png::BitDepth::Eight, &[50, 60]);
        assert_eq!(decode(&gray).unwrap().rgb, vec![50, 50, 50, 60, 60, 60]);
        let wide = encode(
            1,
            1,
            ColorType::Rgb,
            png::BitDepth::Sixteen,
            &[1, 0, 2, 0, 255, 255],
        );
        assert_eq!(decode(&wide).unwrap().rgb, vec![1, 2, 255]);
        assert!(matches!(decode(b"not a png"), Err(FrameError::Png(_))));
    }
}
