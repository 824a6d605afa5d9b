//! Product pictures: decoding a PNG file into a size-capped RGBA pixel buffer
//! (any thread: the buffers are `Send`), and [`Pictures`], the set the UI
//! thread shows, keyed by SKU (`slint::Image`s made from those buffers, which
//! is cheap: no decoding, no disk).
//!
//! Where the files come from and the thread that watches them are the
//! kiosk's (`keel_kiosk::pictures`). This module must not touch the disk on
//! the UI thread: only [`load_picture`] reads a file, and it is called by the
//! loader thread.

use slint::{Image, Rgba8Pixel, SharedPixelBuffer};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// A decoded picture, ready to become a `slint::Image` on the UI thread.
pub type PictureBuffer = SharedPixelBuffer<Rgba8Pixel>;

/// Decoded pictures by SKU, as the loader thread hands them over.
pub type PictureBuffers = HashMap<String, PictureBuffer>;

/// The largest side a picture keeps: larger ones are scaled down to fit.
pub const MAX_SIDE: u32 = 512;

/// The largest side of a file that is decoded at all (larger ones are refused
/// before their pixels are read, so a huge file cannot exhaust memory).
pub const MAX_SOURCE_SIDE: u32 = 4096;

/// The largest file read (bytes).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Why a picture file was not used.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a PNG, or a damaged one.
    #[error("{path}: not a readable PNG: {source}")]
    Decode {
        /// The file.
        path: String,
        /// The decoder's reason.
        #[source]
        source: png::DecodingError,
    },
    /// Too large to decode (pixels or bytes).
    #[error("{path}: too large ({detail})")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        detail: String,
    },
    /// A PNG layout this decoder does not take.
    #[error("{path}: unsupported PNG ({detail})")]
    Format {
        /// The file.
        path: String,
        /// What it is.
        detail: String,
    },
}

/// Reads and decodes a PNG picture, scaled down to fit [`MAX_SIDE`].
/// Grey, grey+alpha, RGB and RGBA of any bit depth and palette images are
/// taken (expanded to 8-bit RGBA). Called off the UI thread.
pub fn load_picture(path: &Path) -> Result<PictureBuffer, PictureError> {
    let name = path.display().to_string();
    let io = |source| PictureError::Io {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(PictureError::TooLarge {
            path: name,
            detail: format!("{len} bytes"),
        });
    }
    let mut bytes = Vec::new();
    BufReader::new(file)
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    decode_png(&bytes, &name)
}

/// Decodes PNG bytes (`name` only names them in errors), scaled down to fit
/// [`MAX_SIDE`].
pub fn decode_png(bytes: &[u8], name: &str) -> Result<PictureBuffer, PictureError> {
    let decode = |source| PictureError::Decode {
        path: name.to_string(),
        source,
    };
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(decode)?;
    let (w, h) = {
        let info = reader.info();
        (info.width, info.height)
    };
    if w == 0 || h == 0 || w > MAX_SOURCE_SIDE || h > MAX_SOURCE_SIDE {
        return Err(PictureError::TooLarge {
            path: name.to_string(),
            detail: format!("{w}x{h} pixels, at most {MAX_SOURCE_SIDE} a side"),
        });
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| PictureError::TooLarge {
            path: name.to_string(),
            detail: format!("{w}x{h}"),
        })?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(decode)?;
    buf.truncate(frame.buffer_size());
    let rgba: Vec<u8> = match frame.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        other => {
            return Err(PictureError::Format {
                path: name.to_string(),
                detail: format!("{other:?} after expansion"),
            })
        }
    };
    if rgba.len() != w as usize * h as usize * 4 {
        return Err(PictureError::Format {
            path: name.to_string(),
            detail: format!("{} bytes for {w}x{h}", rgba.len()),
        });
    }
    let (w, h, rgba) = fit(w, h, &rgba, MAX_SIDE);
    Ok(PictureBuffer::clone_from_slice(&rgba, w, h))
}

/// Scales `w` x `h` RGBA pixels down (averaging each box of source pixels)
/// so neither side exceeds `max`; smaller pictures are returned as they are.
pub fn fit(w: u32, h: u32, rgba: &[u8], max: u32) -> (u32, u32, Vec<u8>) {
    if w <= max && h <= max {
        return (w, h, rgba.to_vec());
    }
    let scale = f64::from(max) / f64::from(w.max(h));
    let nw = ((f64::from(w) * scale).round() as u32).clamp(1, max);
    let nh = ((f64::from(h) * scale).round() as u32).clamp(1, max);
    let mut out = Vec::with_capacity(nw as usize * nh as usize * 4);
    for y in 0..nh {
        let (y0, y1) = span(y, nh, h);
        for x in 0..nw {
            let (x0, x1) = span(x, nw, w);
            let mut sum = [0u64; 4];
            for sy in y0..y1 {
                for sx in x0..x1 {
                    let i = (sy as usize * w as usize + sx as usize) * 4;
                    for (s, v) in sum.iter_mut().zip(&rgba[i..i + 4]) {
                        *s += u64::from(*v);
                    }
                }
            }
            let n = u64::from((x1 - x0) * (y1 - y0)).max(1);
            out.extend(sum.iter().map(|s| u8::try_from(s / n).unwrap_or(u8::MAX)));
        }
    }
    (nw, nh, out)
}

/// The source range `[from, to)` that destination index `i` of `n` covers in `len`.
fn span(i: u32, n: u32, len: u32) -> (u32, u32) {
    let from = u64::from(i) * u64::from(len) / u64::from(n);
    let to = (u64::from(i + 1) * u64::from(len) / u64::from(n)).max(from + 1);
    (
        u32::try_from(from).unwrap_or(len - 1),
        u32::try_from(to).unwrap_or(len).min(len),
    )
}

/// The pictures on screen, by SKU. Lives on the UI thread; clones share it.
#[derive(Clone, Default)]
pub struct Pictures {
    images: Rc<HashMap<String, Image>>,
}

impl Pictures {
    /// The images for decoded buffers (cheap: the pixels are shared, not copied).
    pub fn from_buffers(buffers: PictureBuffers) -> Pictures {
        let images = buffers
            .into_iter()
            .map(|(sku, b)| (sku, Image::from_rgba8(b)))
            .collect();
        Pictures {
            images: Rc::new(images),
        }
    }

    /// The picture of a product, if it has one.
    pub fn get(&self, sku: &str) -> Option<Image> {
        self.images.get(sku).cloned()
    }

    /// How many products have a picture.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// No product has a picture.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The picture of `sku` and whether there is one, as the tiles take them
    /// (an empty image when there is none).
    pub fn tile(&self, sku: &str) -> (Image, bool) {
        match self.get(sku) {
            Some(i) => (i, true),
            None => (Image::default(), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
        let rgba: Vec<u8> = (0..w * h).flat_map(|_| px).collect();
        crate::image::Image::new(w, h, rgba).to_png().unwrap()
    }

    #[test]
    fn small_pictures_decode_as_they_are() {
        let b = decode_png(&png(4, 3, [10, 20, 30, 255]), "x").unwrap();
        assert_eq!((b.width(), b.height()), (4, 3));
        assert!(b.as_slice().iter().all(|p| (p.r, p.g, p.b) == (10, 20, 30)));
    }

    #[test]
    fn large_pictures_are_scaled_to_fit() {
        let b = decode_png(&png(1024, 600, [200, 0, 0, 255]), "big").unwrap();
        assert_eq!((b.width(), b.height()), (512, 300));
        assert!(b.as_slice().iter().all(|p| p.r == 200 && p.a == 255));
    }

    #[test]
    fn huge_and_corrupt_files_are_refused() {
        let e = decode_png(&png(MAX_SOURCE_SIDE + 1, 1, [0; 4]), "huge").unwrap_err();
        assert!(matches!(e, PictureError::TooLarge { .. }), "{e}");
        let mut bytes = png(8, 8, [1, 2, 3, 255]);
        bytes.truncate(bytes.len() / 2);
        assert!(decode_png(&bytes, "cut").is_err());
        let e = decode_png(b"not a png at all", "text").unwrap_err();
        assert!(e.to_string().contains("text"), "{e}");
    }

    #[test]
    fn fit_averages_boxes() {
        // 4x2 -> 2x1: each destination pixel averages a 2x2 box.
        let mut rgba = Vec::new();
        for v in [0u8, 100, 200, 200, 0, 100, 200, 200] {
            rgba.extend([v, v, v, 255]);
        }
        let (w, h, out) = fit(4, 2, &rgba, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(&out[..4], &[50, 50, 50, 255]);
        assert_eq!(&out[4..], &[200, 200, 200, 255]);
    }
}
