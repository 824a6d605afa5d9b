//! Errors of the UI crate.

use thiserror::Error;

/// What can go wrong creating, rendering or saving a screen.
#[derive(Debug, Error)]
pub enum UiError {
    /// Slint could not create the window or its platform.
    #[error("ui platform: {0}")]
    Platform(#[from] slint::PlatformError),
    /// A headless platform could not be installed on this thread.
    #[error("ui platform: another platform is already set on this thread")]
    PlatformTaken,
    /// The headless window was never created by the platform (an invariant of
    /// [`crate::headless`]: every component creation goes through it).
    #[error("headless: the component did not get a software window")]
    NoWindow,
    /// A size of zero, or one too large for a pixel buffer.
    #[error("headless: bad size {width}x{height}")]
    BadSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The renderer drew nothing (no redraw was pending).
    #[error("headless: nothing was drawn")]
    NothingDrawn,
    /// Reading or writing an image file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Encoding a PNG.
    #[error("png encode: {0}")]
    PngEncode(#[from] png::EncodingError),
    /// Decoding a PNG.
    #[error("png decode {path}: {source}")]
    PngDecode {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: png::DecodingError,
    },
    /// A screen mode other than `cashier`, `kitchen` or `self-order`.
    #[error("screen mode {0:?}: expected cashier, kitchen or self-order")]
    UnknownMode(String),
    /// A PNG in a pixel format the comparison does not read.
    #[error("png {path}: unsupported format {detail}")]
    PngFormat {
        /// The file.
        path: String,
        /// Colour type and bit depth found.
        detail: String,
    },
}
