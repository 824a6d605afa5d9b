//! PNG bytes -> an RGB [`Frame`]: RGB8 as is, RGBA drops alpha, grayscale is
//! replicated, palettes are expanded and 16-bit samples are stripped to 8 bits.
//! This module only decodes; it must not preprocess.

use super::{Frame, FrameError};
use png::{ColorType, Transformations};

/// Most pixels a picture may have (a 24-megapixel camera, 6000 x 4000). A
/// header claiming more is refused before anything is allocated: fuzzing
/// found a 320 x 67,109,104 header that made the decoder ask for 64 GB and
/// abort.
pub const MAX_PIXELS: u64 = 24_000_000;

/// Refuses a PLTE chunk whose length is not 1 to 256 whole RGB entries (the
/// PNG specification's rule), before the png crate sees it: png 0.18 accepts
/// such a palette and then panics expanding it (fuzzing found a 140-byte
/// palette). Walks the chunk list only; a broken chunk structure is left to
/// the decoder, which refuses it with an error.
fn check_palettes(bytes: &[u8]) -> Result<(), FrameError> {
    const SIGNATURE_LEN: usize = 8;
    let mut at = SIGNATURE_LEN;
    while let Some(head) = bytes.get(at..at.saturating_add(8)) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        if kind == b"PLTE" && (len == 0 || !len.is_multiple_of(3) || len > 256 * 3) {
            return Err(FrameError::Png(format!(
                "palette of {len} bytes (a PNG palette is 1 to 256 entries of 3 bytes)"
            )));
        }
        if kind == b"IEND" {
            break;
        }
        // length, type, data, CRC
        at = at.saturating_add(12).saturating_add(len);
    }
    Ok(())
}

/// Decodes PNG bytes into an RGB frame.
pub(super) fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
    check_palettes(bytes)?;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| FrameError::Png(e.to_string()))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(FrameError::Png(format!(
            "image too large: {width} x {height} pixels (at most {MAX_PIXELS})"
        )));
    }
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

    #[test]
    fn a_palette_of_partial_entries_is_refused_not_panicked_on() {
        // The fuzz find: a 6 x 6 palette image whose PLTE holds 140 bytes.
        let find = include_bytes!(
            "../../../../fuzz/regressions/png_frame/41216e31f6364f49c2050e2cdf9574a84ba664fd"
        );
        let e = decode(find).unwrap_err();
        assert!(e.to_string().contains("palette of 140 bytes"), "{e}");
    }

    #[test]
    fn a_huge_header_is_refused_before_allocating() {
        // The IHDR of the fuzz find (320 x 0x040000f0, RGB), then an empty IDAT.
        let mut png_bytes = encode(
            320,
            2,
            ColorType::Rgb,
            png::BitDepth::Eight,
            &[0; 320 * 2 * 3],
        );
        png_bytes[20..24].copy_from_slice(&0x0400_00f0u32.to_be_bytes());
        let crc = crc32(&png_bytes[12..29]);
        png_bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = decode(&png_bytes).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
    }

    /// CRC-32 of PNG chunks (IEEE, as zlib).
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

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
    fn a_whole_palette_still_decodes() {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 2, 1);
            enc.set_color(ColorType::Indexed);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_palette(vec![10, 20, 30, 40, 50, 60]);
            let mut writer = enc.write_header().unwrap();
            writer.write_image_data(&[1, 0]).unwrap();
        }
        assert_eq!(decode(&out).unwrap().rgb, vec![40, 50, 60, 10, 20, 30]);
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
