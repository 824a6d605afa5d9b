//! Model manifests (`models/<name>/manifest.toml`): parsing, validation, the
//! sha256 check of the model file and reading golden vectors. This module owns
//! the on-disk schema; it must not run models.

use ring::digest;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a model does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum ModelKind {
    /// Camera frame -> one of the catalog's products.
    #[serde(rename = "recognition")]
    Recognition,
    /// Journal features -> fraud risk with reason codes.
    #[serde(rename = "loss-prevention")]
    LossPrevention,
}

impl ModelKind {
    /// The directory name under the models directory (`product-recognition`, `loss-prevention`).
    pub fn dir_name(self) -> &'static str {
        match self {
            ModelKind::Recognition => "product-recognition",
            ModelKind::LossPrevention => "loss-prevention",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Recognition => "recognition",
            ModelKind::LossPrevention => "loss-prevention",
        })
    }
}

/// Element type of a tensor (only float32 models are supported).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Dtype {
    /// 32-bit IEEE float.
    #[serde(rename = "float32")]
    Float32,
}

/// Shape and element type of a model's input or output tensor.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TensorSpec {
    /// Dimensions, e.g. `[1, 64, 64, 3]`.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: Dtype,
}

impl TensorSpec {
    /// Number of elements (product of the dimensions).
    pub fn element_count(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Decision thresholds: `accept` for recognition, `review`/`high` for loss prevention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct Thresholds {
    /// Recognition: top-1 probability at or above it is accepted.
    pub accept: Option<f32>,
    /// Loss prevention: a label at or above it is a reason code (level Review).
    pub review: Option<f32>,
    /// Loss prevention: a score at or above it is level High.
    pub high: Option<f32>,
}

/// One golden input/output pair (paths relative to the model directory).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Golden {
    /// Raw little-endian f32 input.
    pub input: PathBuf,
    /// Raw little-endian f32 expected output.
    pub output: PathBuf,
    /// Maximum absolute difference per element.
    pub tolerance: f32,
}

/// A parsed and validated manifest.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Manifest {
    /// Model name (`product-recognition`, `loss-prevention`).
    pub name: String,
    /// What the model does.
    pub kind: ModelKind,
    /// Semantic version, e.g. `1.0.0`.
    pub version: String,
    /// Model file name inside the directory.
    pub file: String,
    /// Hex sha256 of the model file.
    pub sha256: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The command that reproduces the model.
    #[serde(default)]
    pub trained_by: String,
    /// Input tensor.
    pub input: TensorSpec,
    /// Output tensor.
    pub output: TensorSpec,
    /// Output labels in order (SKUs or reason codes).
    pub labels: Vec<String>,
    /// Decision thresholds.
    pub thresholds: Thresholds,
    /// Held-out figures as reported in models/README.md.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Golden vectors.
    #[serde(default)]
    pub golden: Vec<Golden>,
    /// The directory the manifest was loaded from.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Why a manifest could not be loaded or verified.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TOML did not parse or misses a key.
    #[error("{path}: {message}")]
    Parse {
        /// The manifest file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A field holds a value the schema does not allow.
    #[error("manifest {field}: {problem}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A golden file's size does not match the tensor's element count.
    #[error("golden file {path} holds {bytes} bytes, expected {expected} ({elements} f32)")]
    GoldenSize {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// Expected size in bytes.
        expected: u64,
        /// Expected element count.
        elements: usize,
    },
    /// The model file's sha256 differs from the manifest's.
    #[error("sha256 mismatch for {path}: manifest says {expected}, file is {actual}")]
    Sha256Mismatch {
        /// The model file.
        path: PathBuf,
        /// From the manifest.
        expected: String,
        /// Computed.
        actual: String,
    },
}

fn invalid(field: &'static str, problem: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field,
        problem: problem.into(),
    }
}

impl Manifest {
    /// Loads `dir/manifest.toml` and validates it (keys, dtypes, shapes against
    /// labels, thresholds, golden file sizes). Does not hash the model file: see
    /// [`Manifest::verify_file`].
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join("manifest.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io {
            path: path.clone(),
            source,
        })?;
        Manifest::parse(dir, &text)
    }

    /// Parses and validates the text of `dir/manifest.toml` (what [`Manifest::load`]
    /// read); the decoding entry point, also the fuzzing target's. Golden file
    /// sizes are checked against the files in `dir`.
    pub fn parse(dir: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let path = dir.join("manifest.toml");
        let mut manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse {
            path: path.clone(),
            message: e.message().to_string(),
        })?;
        manifest.dir = dir.to_path_buf();
        manifest.validate()?;
        Ok(manifest)
    }

    /// Path of the model file.
    pub fn model_path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }

    fn validate(&self) -> Result<(), ManifestError> {
        if !is_semver(&self.version) {
            return Err(invalid(
                "version",
                format!("{:?} is not MAJOR.MINOR.PATCH", self.version),
            ));
        }
        if self.file.is_empty() || self.file.contains('/') || self.file.contains("..") {
            return Err(invalid(
                "file",
                format!("{:?} must name a file in the model directory", self.file),
            ));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("sha256", "must be 64 hex digits"));
        }
        for (field, spec) in [("input.shape", &self.input), ("output.shape", &self.output)] {
            if spec.shape.is_empty() || spec.shape.contains(&0) {
                return Err(invalid(
                    field,
                    format!(
                        "{:?} must be non-empty with positive dimensions",
                        spec.shape
                    ),
                ));
            }
        }
        if self.labels.len() != self.output.element_count() {
            return Err(invalid(
                "labels",
                format!(
                    "{} labels but the output {:?} has {} elements",
                    self.labels.len(),
                    self.output.shape,
                    self.output.element_count()
                ),
            ));
        }
        let in_unit = |v: f32| v > 0.0 && v <= 1.0;
        match self.kind {
            ModelKind::Recognition => match self.thresholds.accept {
                Some(a) if in_unit(a) => {}
                Some(a) => return Err(invalid("thresholds.accept", format!("{a} not in (0, 1]"))),
                None => return Err(invalid("thresholds.accept", "missing (recognition)")),
            },
            ModelKind::LossPrevention => match (self.thresholds.review, self.thresholds.high) {
                (Some(r), Some(h)) if in_unit(r) && in_unit(h) && r <= h => {}
                (Some(r), Some(h)) => {
                    return Err(invalid(
                        "thresholds",
                        format!("review {r} and high {h} must be in (0, 1] with review <= high"),
                    ))
                }
                _ => {
                    return Err(invalid(
                        "thresholds",
                        "review and high are required (loss-prevention)",
                    ))
                }
            },
        }
        if self.golden.is_empty() {
            return Err(invalid("golden", "at least one golden pair is required"));
        }
        for g in &self.golden {
            if !(g.tolerance.is_finite() && g.tolerance >= 0.0) {
                return Err(invalid(
                    "golden.tolerance",
                    format!("{} is not >= 0", g.tolerance),
                ));
            }
            self.check_golden_size(&g.input, self.input.element_count())?;
            self.check_golden_size(&g.output, self.output.element_count())?;
        }
        Ok(())
    }

    fn check_golden_size(&self, rel: &Path, elements: usize) -> Result<(), ManifestError> {
        let path = self.dir.join(rel);
        let bytes = std::fs::metadata(&path)
            .map_err(|source| ManifestError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        let expected = elements as u64 * 4;
        if bytes != expected {
            return Err(ManifestError::GoldenSize {
                path,
                bytes,
                expected,
                elements,
            });
        }
        Ok(())
    }

    /// Checks the model file's sha256 against the manifest.
    pub fn verify_file(&self) -> Result<(), ManifestError> {
        let path = self.model_path();
        let actual = sha256_file(&path)?;
        if !actual.eq_ignore_ascii_case(&self.sha256) {
            return Err(ManifestError::Sha256Mismatch {
                path,
                expected: self.sha256.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Reads a golden pair as (input, expected output).
    pub fn read_golden(&self, golden: &Golden) -> Result<(Vec<f32>, Vec<f32>), ManifestError> {
        Ok((
            read_f32_file(&self.dir.join(&golden.input))?,
            read_f32_file(&self.dir.join(&golden.output))?,
        ))
    }
}

/// `MAJOR.MINOR.PATCH` with decimal parts (no pre-release suffix).
fn is_semver(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, ManifestError> {
    let io = |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Reads a raw little-endian f32 file.
pub fn read_f32_file(path: &Path) -> Result<Vec<f32>, ManifestError> {
    let bytes = std::fs::read(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() % 4 != 0 {
        return Err(invalid(
            "golden",
            format!("{} is not a whole number of f32", path.display()),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}
