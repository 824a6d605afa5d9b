//! Picture seeds: small PNGs in each colour type the decoder handles, written
//! by the png crate's encoder, and the smallest holdout picture of the
//! product-recognition model; V4L2 answers (`format_request` as a driver
//! returns it, with and without line padding) followed by YUYV buffers.

use super::{read, Seed, SeedError};
use std::path::Path;

/// A `width` x `height` PNG of `color`/`depth` with pixel bytes from a pattern.
fn png(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    palette: Option<Vec<u8>>,
) -> Result<Vec<u8>, SeedError> {
    let samples = match color {
        png::ColorType::Grayscale | png::ColorType::Indexed => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
    };
    let bytes_per_sample = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let len = (width * height) as usize * samples * bytes_per_sample;
    let data: Vec<u8> = (0..len)
        .map(|i| (i * 37 % 251) as u8 & if palette.is_some() { 3 } else { 0xff })
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        if let Some(p) = palette {
            encoder.set_palette(p);
        }
        let mut writer = encoder
            .write_header()
            .map_err(|e| SeedError::produce("a PNG header", e))?;
        writer
            .write_image_data(&data)
            .map_err(|e| SeedError::produce("PNG data", e))?;
    }
    Ok(out)
}

pub(super) fn seeds(root: &Path) -> Result<Vec<Seed>, SeedError> {
    use png::{BitDepth, ColorType};
    let palette = vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
    Ok(vec![
        Seed::new(
            "png_frame",
            "rgb_8x6",
            png(8, 6, ColorType::Rgb, BitDepth::Eight, None)?,
        ),
        Seed::new(
            "png_frame",
            "rgba_5x5",
            png(5, 5, ColorType::Rgba, BitDepth::Eight, None)?,
        ),
        Seed::new(
            "png_frame",
            "gray16_4x7",
            png(4, 7, ColorType::Grayscale, BitDepth::Sixteen, None)?,
        ),
        Seed::new(
            "png_frame",
            "palette_6x6",
            png(6, 6, ColorType::Indexed, BitDepth::Eight, Some(palette))?,
        ),
        Seed::new(
            "png_frame",
            "holdout_batt_aa4",
            read(&root.join("models/product-recognition/holdout/BATT-AA4.png"))?,
        ),
    ])
}

/// A driver's `VIDIOC_S_FMT` answer for YUYV `width` x `height` with
/// `bytes_per_line`, then a buffer of `height` lines with a colour ramp.
fn v4l2(width: u32, height: u32, bytes_per_line: u32) -> Vec<u8> {
    use keel_ai::camera::v4l2::{format_request, FORMAT_UNION_OFFSET};
    let mut out = format_request(width, height).to_vec();
    let at = FORMAT_UNION_OFFSET + 16;
    out[at..at + 4].copy_from_slice(&bytes_per_line.to_ne_bytes());
    let size_image = bytes_per_line * height;
    out[at + 4..at + 8].copy_from_slice(&size_image.to_ne_bytes());
    out.extend((0..size_image).map(|i| (16 + i * 29 % 220) as u8));
    out
}

/// The V4L2 seeds.
pub(super) fn v4l2_seeds() -> Vec<Seed> {
    vec![
        Seed::new("v4l2_frame", "yuyv_4x3", v4l2(4, 3, 8)),
        Seed::new("v4l2_frame", "yuyv_6x4_padded", v4l2(6, 4, 16)),
        Seed::new("v4l2_frame", "yuyv_16x2", v4l2(16, 2, 32)),
    ]
}
