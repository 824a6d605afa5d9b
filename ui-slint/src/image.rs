//! An RGBA8 image in memory and its PNG encoding and decoding (the `png`
//! crate, already in the build through Slint).

use crate::error::UiError;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

/// Width x height straight-alpha RGBA pixels, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Image {
    /// An image from its pixels. `rgba` must hold `width * height * 4` bytes;
    /// a shorter buffer is padded with transparent pixels, a longer one cut.
    pub fn new(width: u32, height: u32, mut rgba: Vec<u8>) -> Image {
        rgba.resize(width as usize * height as usize * 4, 0);
        Image {
            width,
            height,
            rgba,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, 4 bytes each.
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// The pixel at (x, y), if inside.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.rgba.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// The image as PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>, UiError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::High);
            let mut w = enc.write_header()?;
            w.write_image_data(&self.rgba)?;
            w.finish()?;
        }
        Ok(out)
    }

    /// Writes the image as a PNG file.
    pub fn save_png(&self, path: &Path) -> Result<(), UiError> {
        let io = |source| UiError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::create(path).map_err(io)?;
        let mut enc = png::Encoder::new(BufWriter::new(file), self.width, self.height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header()?;
        w.write_image_data(&self.rgba)?;
        w.finish()?;
        Ok(())
    }

    /// Reads an 8-bit RGBA or RGB PNG file.
    pub fn load_png(path: &Path) -> Result<Image, UiError> {
        let name = || path.display().to_string();
        let file = File::open(path).map_err(|source| UiError::Io {
            path: name(),
            source,
        })?;
        let decoder = png::Decoder::new(BufReader::new(file));
        let mut reader = decoder.read_info().map_err(|source| UiError::PngDecode {
            path: name(),
            source,
        })?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| UiError::PngFormat {
                path: name(),
                detail: "too large".into(),
            })?;
        let mut buf = vec![0; size];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|source| UiError::PngDecode {
                path: name(),
                source,
            })?;
        buf.truncate(info.buffer_size());
        let rgba = match (info.color_type, info.bit_depth) {
            (png::ColorType::Rgba, png::BitDepth::Eight) => buf,
            (png::ColorType::Rgb, png::BitDepth::Eight) => buf
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            (c, d) => {
                return Err(UiError::PngFormat {
                    path: name(),
                    detail: format!("{c:?} {d:?}"),
                })
            }
        };
        Ok(Image::new(info.width, info.height, rgba))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let img = Image::new(3, 2, (0..24).collect());
        let dir = std::env::temp_dir().join(format!("keel-ui-img-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.png");
        img.save_png(&path).unwrap();
        assert_eq!(Image::load_png(&path).unwrap(), img);
        assert_eq!(img.pixel(2, 1), Some([20, 21, 22, 23]));
        assert_eq!(img.pixel(3, 0), None);
        assert!(img.to_png().unwrap().starts_with(b"\x89PNG"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
