//! [`Inference`] through the TensorFlow Lite C library (tflitec): load the
//! model file, check tensor shapes and types against the manifest, run on one
//! thread. This module owns the FFI-facing lifetime juggling; it must not
//! interpret outputs.

use super::{first_non_finite, Inference, InferenceError};
use crate::manifest::Manifest;
use std::path::Path;
use tflitec::interpreter::{Interpreter, Options};
use tflitec::model::Model;
use tflitec::tensor::DataType;

/// A TensorFlow Lite model with its interpreter (1 thread).
pub struct TfliteModel {
    /// Borrows `*model`; declared first so it drops first.
    interpreter: Option<Interpreter<'static>>,
    /// Owned, from `Box::into_raw`; freed in `Drop` after the interpreter.
    model: *mut Model<'static>,
    input_len: usize,
}

// SAFETY: the interpreter is Send (tflitec says so) and the model is Send + Sync;
// both are only used through `&mut self`.
unsafe impl Send for TfliteModel {}

impl Drop for TfliteModel {
    fn drop(&mut self) {
        self.interpreter = None;
        // SAFETY: `model` came from Box::into_raw in `load` and nothing borrows it any more.
        unsafe { drop(Box::from_raw(self.model)) };
    }
}

fn load_err(path: &Path, message: impl Into<String>) -> InferenceError {
    InferenceError::Load {
        path: path.display().to_string(),
        message: message.into(),
    }
}

impl TfliteModel {
    /// Loads `path` and checks its single input and output against `manifest`.
    pub fn load(path: &Path, manifest: &Manifest) -> Result<TfliteModel, InferenceError> {
        let text = path
            .to_str()
            .filter(|t| !t.contains('\0'))
            .ok_or_else(|| load_err(path, "path is not UTF-8"))?;
        if !path.is_file() {
            return Err(load_err(path, "no such file"));
        }
        let model = Model::new(text).map_err(|e| load_err(path, e.to_string()))?;
        let model: *mut Model<'static> = Box::into_raw(Box::new(model));
        let mut this = TfliteModel {
            interpreter: None,
            model,
            input_len: manifest.input.element_count(),
        };
        // SAFETY: `model` lives until Drop, which drops the interpreter first.
        let model_ref: &'static Model<'static> = unsafe { &*this.model };
        let options = Options { thread_count: 1 };
        let interpreter = Interpreter::new(model_ref, Some(options))
            .map_err(|e| load_err(path, e.to_string()))?;
        interpreter
            .allocate_tensors()
            .map_err(|e| load_err(path, e.to_string()))?;
        if interpreter.input_tensor_count() != 1 || interpreter.output_tensor_count() != 1 {
            return Err(load_err(
                path,
                format!(
                    "{} inputs and {} outputs, expected 1 and 1",
                    interpreter.input_tensor_count(),
                    interpreter.output_tensor_count()
                ),
            ));
        }
        let input = interpreter
            .input(0)
            .map_err(|e| load_err(path, e.to_string()))?;
        check(
            "input",
            input.shape().dimensions(),
            input.data_type(),
            &manifest.input.shape,
        )?;
        let output = interpreter
            .output(0)
            .map_err(|e| load_err(path, e.to_string()))?;
        check(
            "output",
            output.shape().dimensions(),
            output.data_type(),
            &manifest.output.shape,
        )?;
        this.interpreter = Some(interpreter);
        log::info!(
            "loaded {} ({} {})",
            path.display(),
            manifest.name,
            manifest.version
        );
        Ok(this)
    }
}

fn check(
    tensor: &'static str,
    dims: &[usize],
    dtype: DataType,
    want: &[usize],
) -> Result<(), InferenceError> {
    if dims != want || dtype != DataType::Float32 {
        return Err(InferenceError::ShapeMismatch {
            tensor,
            model: format!("{dims:?} {dtype:?}"),
            manifest: format!("{want:?} Float32"),
        });
    }
    Ok(())
}

impl Inference for TfliteModel {
    fn run(&mut self, input: &[f32]) -> Result<Vec<f32>, InferenceError> {
        if input.len() != self.input_len {
            return Err(InferenceError::InputSize {
                expected: self.input_len,
                actual: input.len(),
            });
        }
        let interpreter = self
            .interpreter
            .as_ref()
            .ok_or_else(|| InferenceError::Run("interpreter gone".into()))?;
        interpreter
            .copy(input, 0)
            .map_err(|e| InferenceError::Run(e.to_string()))?;
        interpreter
            .invoke()
            .map_err(|e| InferenceError::Run(e.to_string()))?;
        let output = interpreter
            .output(0)
            .map_err(|e| InferenceError::Run(e.to_string()))?;
        let values = output.data::<f32>().to_vec();
        if let Some(index) = first_non_finite(&values) {
            return Err(InferenceError::NotFinite { index });
        }
        Ok(values)
    }
}
