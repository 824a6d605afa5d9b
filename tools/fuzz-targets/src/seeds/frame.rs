//! PNG seeds: small pictures in each colour type the decoder handles, written
//! by the png crate's encoder, and the smallest holdout picture of the
//! product-recognition model.

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
