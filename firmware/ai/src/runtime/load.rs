//! Loading a model directory with every check before it may serve: manifest,
//! kind, sha256 of the file, TensorFlow Lite accepting it with the declared
//! shapes, and each golden pair within tolerance (the smoke test). This module
//! must not swap models in; the runtime does that only after it succeeds.

use super::ReloadError;
use crate::inference::{self, Inference};
use crate::manifest::{Manifest, ModelKind};
use std::path::Path;

/// Loads and verifies `dir` as a model of `kind`.
pub fn load_verified(
    kind: ModelKind,
    dir: &Path,
) -> Result<(Manifest, Box<dyn Inference>), ReloadError> {
    if !dir.is_dir() {
        return Err(ReloadError::MissingDir(dir.display().to_string()));
    }
    let manifest = Manifest::load(dir)?;
    if manifest.kind != kind {
        return Err(ReloadError::WrongKind {
            expected: kind,
            found: manifest.kind,
        });
    }
    manifest.verify_file()?;
    // tflitec panics on some malformed models (e.g. a tensor name that is not
    // UTF-8); a model must never take the terminal down, so that is a refusal too.
    let mut model =
        std::panic::catch_unwind(|| inference::open(&manifest, dir)).unwrap_or_else(|_| {
            Err(inference::InferenceError::Load {
                path: manifest.model_path().display().to_string(),
                message: "the loader panicked".into(),
            })
        })?;
    for (index, golden) in manifest.golden.iter().enumerate() {
        let (input, expected) = manifest.read_golden(golden)?;
        let actual = model.run(&input).map_err(|e| ReloadError::Golden {
            index,
            detail: e.to_string(),
        })?;
        if actual.len() != expected.len() {
            return Err(ReloadError::Golden {
                index,
                detail: format!("{} outputs, golden has {}", actual.len(), expected.len()),
            });
        }
        if let Some((i, (a, e))) = actual
            .iter()
            .zip(&expected)
            .enumerate()
            .find(|(_, (a, e))| !within(**a, **e, golden.tolerance))
        {
            return Err(ReloadError::Golden {
                index,
                detail: format!(
                    "element {i}: got {a}, golden {e} (tolerance {})",
                    golden.tolerance
                ),
            });
        }
    }
    log::info!(
        "model {} {} verified ({} golden pairs)",
        manifest.name,
        manifest.version,
        manifest.golden.len()
    );
    Ok((manifest, model))
}

/// `|actual - expected| <= tolerance`; false for NaN.
fn within(actual: f32, expected: f32, tolerance: f32) -> bool {
    matches!(
        (actual - expected).abs().partial_cmp(&tolerance),
        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
    )
}
