//! Camera frames and the recognition preprocessing (center crop, box average
//! to a square of `side` pixels, bytes / 255), exactly as
//! tools/models/preprocess.py does it for training. This module owns the
//! pixel arithmetic; it must not capture frames or run models.

mod png_decode;

use std::path::Path;

/// An 8-bit RGB image, row-major, 3 bytes a pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, R G B per pixel.
    pub rgb: Vec<u8>,
}

/// Why a frame could not be decoded or preprocessed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The image file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes are not a PNG the decoder accepts.
    #[error("not a usable PNG: {0}")]
    Png(String),
    /// The pixel format is not one the decoder converts to RGB.
    #[error("unsupported PNG pixel format {0}")]
    Unsupported(String),
    /// The pixel buffer's length does not match width x height x 3.
    #[error("frame {width}x{height} needs {expected} bytes, has {actual}")]
    BadBuffer {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// The frame's shorter side is below the model's input side.
    #[error("frame {width}x{height} is smaller than {side} px")]
    TooSmall {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Required side.
        side: u32,
    },
}

impl Frame {
    /// A frame from RGB bytes, checking the length.
    pub fn new(width: u32, height: u32, rgb: Vec<u8>) -> Result<Frame, FrameError> {
        let expected = width as usize * height as usize * 3;
        if rgb.len() != expected {
            return Err(FrameError::BadBuffer {
                width,
                height,
                expected,
                actual: rgb.len(),
            });
        }
        Ok(Frame { width, height, rgb })
    }

    /// Decodes a PNG file (RGB, RGBA, grayscale, palette; 16-bit is stripped to 8).
    pub fn from_png_file(path: &Path) -> Result<Frame, FrameError> {
        let bytes = std::fs::read(path).map_err(|source| FrameError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Frame::from_png_bytes(&bytes)
    }

    /// Decodes PNG bytes (RGB, RGBA, grayscale, palette; 16-bit is stripped to 8).
    pub fn from_png_bytes(bytes: &[u8]) -> Result<Frame, FrameError> {
        png_decode::decode(bytes)
    }
}

/// Center-crops `frame` to a square of side S = min(W, H) and box-averages it
/// to `side` x `side`: output pixel (oy, ox) is the mean of the source pixels
/// with y in [oy*S/side, (oy+1)*S/side) and x likewise (integer division), per
/// channel, in f32 (sum / count), divided by 255. Returns `side*side*3` values,
/// row-major (y, x, channel).
pub fn preprocess(frame: &Frame, side: u32) -> Result<Vec<f32>, FrameError> {
    let expected = frame.width as usize * frame.height as usize * 3;
    if frame.rgb.len() != expected {
        return Err(FrameError::BadBuffer {
            width: frame.width,
            height: frame.height,
            expected,
            actual: frame.rgb.len(),
        });
    }
    let s = frame.width.min(frame.height);
    if side == 0 || s < side {
        return Err(FrameError::TooSmall {
            width: frame.width,
            height: frame.height,
            side,
        });
    }
    let (s, side_us) = (s as usize, side as usize);
    let left = (frame.width as usize - s) / 2;
    let top = (frame.height as usize - s) / 2;
    let bounds: Vec<usize> = (0..=side_us).map(|i| i * s / side_us).collect();
    let stride = frame.width as usize * 3;
    let mut out = Vec::with_capacity(side_us * side_us * 3);
    for oy in 0..side_us {
        let (y0, y1) = (bounds[oy], bounds[oy + 1]);
        for ox in 0..side_us {
            let (x0, x1) = (bounds[ox], bounds[ox + 1]);
            let mut sums = [0u32; 3];
            for y in y0..y1 {
                let row = (top + y) * stride;
                for x in x0..x1 {
                    let p = row + (left + x) * 3;
                    sums[0] += u32::from(frame.rgb[p]);
                    sums[1] += u32::from(frame.rgb[p + 1]);
                    sums[2] += u32::from(frame.rgb[p + 2]);
                }
            }
            let area = ((y1 - y0) * (x1 - x0)) as f32;
            for sum in sums {
                out.push(sum as f32 / area / 255.0);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Frame {
        let mut rgb = Vec::new();
        for y in 0..h {
            for x in 0..w {
                rgb.extend_from_slice(&f(x, y));
            }
        }
        Frame::new(w, h, rgb).unwrap()
    }

    #[test]
    fn crops_the_center_and_averages_2x2_boxes() {
        // 128x96: S = 96, left = 16, top = 0; each output pixel averages a
        // 1.5 px box: bounds are floor(i*96/64) = 0,1,3,4,6,...
        let f = frame(128, 96, |x, y| [x as u8, y as u8, 200]);
        let out = preprocess(&f, 64).unwrap();
        assert_eq!(out.len(), 64 * 64 * 3);
        // (0,0): y in [0,1), x in [0,1) -> source x 16, y 0.
        assert_eq!(out[0], 16.0 / 255.0);
        assert_eq!(out[1], 0.0);
        assert_eq!(out[2], 200.0 / 255.0);
        // (0,1): x in [1,3) -> source x 17,18 -> mean 17.5.
        assert_eq!(out[3], 17.5 / 255.0);
        // (1,0): y in [1,3) -> mean 1.5; x in [0,1) -> 16.
        let p = 64 * 3;
        assert_eq!(out[p], 16.0 / 255.0);
        assert_eq!(out[p + 1], 1.5 / 255.0);
        // last pixel: y,x in [94,96) -> y mean 94.5, x 16+94.5 = 110.5.
        let last = out.len() - 3;
        assert_eq!(out[last], 110.5 / 255.0);
        assert_eq!(out[last + 1], 94.5 / 255.0);
    }

    #[test]
    fn a_tall_frame_crops_top_and_bottom() {
        // 64x70: S = 64, top = 3; 1:1 boxes.
        let f = frame(64, 70, |x, y| [x as u8, y as u8, 0]);
        let out = preprocess(&f, 64).unwrap();
        assert_eq!(out[1], 3.0 / 255.0);
        assert_eq!(out[(63 * 64 + 63) * 3 + 1], 66.0 / 255.0);
        assert_eq!(out[(63 * 64 + 63) * 3], 63.0 / 255.0);
    }

    #[test]
    fn box_average_of_a_4x4_frame_to_2x2() {
        let f = frame(4, 4, |x, y| [(x + 4 * y) as u8 * 10, 255, 0]);
        let out = preprocess(&f, 2).unwrap();
        // top-left box: values 0,10,40,50 -> 25.
        assert_eq!(out[0], 25.0 / 255.0);
        assert_eq!(out[1], 1.0);
        // bottom-right: 100,110,140,150 -> 125.
        assert_eq!(out[9], 125.0 / 255.0);
    }

    #[test]
    fn small_frames_and_bad_buffers_are_errors() {
        let f = frame(100, 63, |_, _| [0, 0, 0]);
        assert!(matches!(
            preprocess(&f, 64),
            Err(FrameError::TooSmall {
                width: 100,
                height: 63,
                side: 64
            })
        ));
        assert!(matches!(
            Frame::new(2, 2, vec![0; 11]),
            Err(FrameError::BadBuffer { expected: 12, .. })
        ));
    }
}
