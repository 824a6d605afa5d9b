//! The inference trait and how a model directory is opened: through TensorFlow
//! Lite with the `tflite` feature, or not at all without it
//! ([`InferenceError::NotBuilt`]). This module owns the model-execution
//! boundary; it must not decide what results mean (see `recognition`, `risk`).

#[cfg(feature = "tflite")]
mod tflite;

#[cfg(feature = "tflite")]
pub use self::tflite::TfliteModel;

use crate::manifest::Manifest;
use std::path::Path;

/// Why a model could not be opened or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// This build has no inference engine (the `tflite` feature is off).
    #[error("inference not built in (feature `tflite` is off)")]
    NotBuilt,
    /// The runtime library refused the model file.
    #[error("TensorFlow Lite refused {path}: {message}")]
    Load {
        /// The model file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The model's tensor differs from what the manifest declares.
    #[error("{tensor} tensor mismatch: model has {model}, manifest says {manifest}")]
    ShapeMismatch {
        /// `input` or `output`.
        tensor: &'static str,
        /// What the model has.
        model: String,
        /// What the manifest says.
        manifest: String,
    },
    /// The input has the wrong number of elements.
    #[error("input has {actual} values, the model takes {expected}")]
    InputSize {
        /// Expected.
        expected: usize,
        /// Given.
        actual: usize,
    },
    /// Running the model failed.
    #[error("inference failed: {0}")]
    Run(String),
    /// The output holds NaN or infinity.
    #[error("model output is not finite (NaN or infinity at element {index})")]
    NotFinite {
        /// First bad element.
        index: usize,
    },
}

/// A loaded model that maps an input vector to an output vector.
pub trait Inference: Send {
    /// Runs the model on `input` (row-major f32, the manifest's input element
    /// count) and returns the output; a NaN or infinite output is
    /// [`InferenceError::NotFinite`].
    fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, InferenceError>;
}

/// Opens the model file of `manifest` (in `dir`), checking its tensors against the manifest.
pub fn open(manifest: &Manifest, dir: &Path) -> Result<Box<dyn Inference>, InferenceError> {
    #[cfg(feature = "tflite")]
    {
        let model = TfliteModel::load(&dir.join(&manifest.file), manifest)?;
        Ok(Box::new(model))
    }
    #[cfg(not(feature = "tflite"))]
    {
        let _ = (manifest, dir);
        Err(InferenceError::NotBuilt)
    }
}

/// The index of the first non-finite value, if any.
pub fn first_non_finite(values: &[f32]) -> Option<usize> {
    values.iter().position(|v| !v.is_finite())
}
