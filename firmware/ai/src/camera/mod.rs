//! Where frames come from: a V4L2 camera on the appliance (the board config
//! names the device), an image file in tests, or a directory of pictures
//! taken in turn (the demo). This module owns
//! capture and pixel-format conversion; it must not preprocess or run models.

mod dir;
mod file;
pub mod v4l2;
pub mod yuyv;

pub use dir::{png_files, DirectorySource};
pub use file::ImageFileSource;
pub use v4l2::V4l2Source;

use crate::frame::Frame;

/// Why a frame could not be captured.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// Opening, configuring or reading the device failed.
    #[error("{device}: {what}: {source}")]
    Device {
        /// Device path.
        device: String,
        /// The step that failed.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The device cannot capture what we need.
    #[error("{device}: {problem}")]
    Unsupported {
        /// Device path.
        device: String,
        /// What is missing.
        problem: String,
    },
    /// A captured buffer did not hold a whole frame.
    #[error("short frame: {actual} bytes, expected {expected}")]
    ShortFrame {
        /// Expected bytes.
        expected: usize,
        /// Got.
        actual: usize,
    },
    /// The image file could not be decoded.
    #[error("{0}")]
    Image(#[from] crate::frame::FrameError),
}

/// Anything that yields frames.
pub trait FrameSource: Send {
    /// Captures one frame.
    fn capture(&mut self) -> Result<Frame, CameraError>;
}
