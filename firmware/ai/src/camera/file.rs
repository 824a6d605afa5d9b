//! A frame source reading a PNG file on every capture (tests and the demo).

use super::{CameraError, FrameSource};
use crate::frame::Frame;
use std::path::PathBuf;

/// Captures by decoding a PNG file.
#[derive(Clone, Debug)]
pub struct ImageFileSource {
    path: PathBuf,
}

impl ImageFileSource {
    /// A source for `path` (read on each capture, so the file may change).
    pub fn new(path: impl Into<PathBuf>) -> ImageFileSource {
        ImageFileSource { path: path.into() }
    }
}

impl FrameSource for ImageFileSource {
    fn capture(&mut self) -> Result<Frame, CameraError> {
        Ok(Frame::from_png_file(&self.path)?)
    }
}
