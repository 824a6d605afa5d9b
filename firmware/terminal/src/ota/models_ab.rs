//! Models A/B on the data partition: `<models>/<name>` is a symlink to
//! `<name>.a` or `<name>.b`. A model bundle is written into a staging
//! directory, becomes the inactive directory, is loaded and smoke-tested by
//! the AI runtime (sha256, shapes, golden vectors), and only then does the
//! symlink switch (a new link renamed over the old one: atomic). A model
//! that fails stays out: the runtime keeps the old model, the symlink stays,
//! the inactive directory is removed.
//!
//! This module owns the directory scheme and the install and rollback
//! sequences; it must not verify bundles itself (keel-ota does) nor run a
//! model (keel-ai does).

use super::layout::sync_dir;
use keel_ai::manifest::Manifest;
use keel_ai::{AiRuntime, ModelKind};
use keel_ota::install::{install_with_progress, ModelDirSink, Progress};
use keel_ota::verify::InstallPolicy;
use keel_ota::version::Version;
use std::path::{Path, PathBuf};

/// The model kinds, in `status` order.
pub const KINDS: [ModelKind; 2] = [ModelKind::Recognition, ModelKind::LossPrevention];

/// Why a model install or rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ModelOtaError {
    /// The bundle was refused (signature, board, truncated, hash...).
    #[error("bundle refused: {0}")]
    Bundle(#[from] keel_ota::verify::BundleError),
    /// The bundle's files hold no valid model manifest.
    #[error("the bundle holds no valid model: {0}")]
    NotAModel(String),
    /// The bundle's version is not newer than the active model's.
    #[error("{kind} model {new} is not newer than the active {active}: use --allow-downgrade")]
    Downgrade {
        /// The model kind.
        kind: String,
        /// The bundle's version.
        new: String,
        /// The active version.
        active: String,
    },
    /// The runtime refused the new model; the previous one stays active.
    #[error("the new {kind} model {version} failed its load and smoke test, the previous one stays: {reason}")]
    SmokeTest {
        /// The model kind.
        kind: String,
        /// The refused version.
        version: String,
        /// The runtime's reason.
        reason: String,
    },
    /// There is no previous model to go back to.
    #[error("no previous {0} model to roll back to")]
    NoPrevious(String),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ModelOtaError {
    let path = path.to_path_buf();
    move |source| ModelOtaError::Io {
        action,
        path,
        source,
    }
}

/// A model kind's word ("recognition", "loss-prevention") and its directory name.
pub fn kind_word(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Recognition => "recognition",
        ModelKind::LossPrevention => "loss-prevention",
    }
}

/// Parses a kind as the console writes it (the word or the directory name).
pub fn parse_kind(s: &str) -> Option<ModelKind> {
    match s.to_ascii_lowercase().as_str() {
        "recognition" | "product-recognition" => Some(ModelKind::Recognition),
        "loss-prevention" | "risk" => Some(ModelKind::LossPrevention),
        _ => None,
    }
}

/// One model's A/B directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbState {
    /// The active letter ('a' or 'b'); None when `<name>` is not a symlink yet.
    pub active: Option<char>,
    /// Version in `<name>.a`.
    pub a_version: Option<String>,
    /// Version in `<name>.b`.
    pub b_version: Option<String>,
}

fn letter_dir(models: &Path, kind: ModelKind, letter: char) -> PathBuf {
    models.join(format!("{}.{letter}", kind.dir_name()))
}

fn other(letter: char) -> char {
    if letter == 'a' {
        'b'
    } else {
        'a'
    }
}

fn version_in(dir: &Path) -> Option<String> {
    Manifest::load(dir).ok().map(|m| m.version)
}

/// Which directory `<models>/<name>` points at, if it is an A/B symlink.
fn active_letter(models: &Path, kind: ModelKind) -> Option<char> {
    let target = std::fs::read_link(models.join(kind.dir_name())).ok()?;
    let name = target.file_name()?.to_str()?;
    let rest = name.strip_prefix(kind.dir_name())?;
    match rest {
        ".a" => Some('a'),
        ".b" => Some('b'),
        _ => None,
    }
}

/// The A/B state of `kind` under `models`.
pub fn state(models: &Path, kind: ModelKind) -> AbState {
    AbState {
        active: active_letter(models, kind),
        a_version: version_in(&letter_dir(models, kind, 'a')),
        b_version: version_in(&letter_dir(models, kind, 'b')),
    }
}

/// Points `<models>/<name>` at `<name>.<letter>` atomically (a new symlink
/// renamed over the old entry), then syncs the directory.
fn switch_link(models: &Path, kind: ModelKind, letter: char) -> Result<(), ModelOtaError> {
    let link = models.join(kind.dir_name());
    let tmp = models.join(format!(".{}.link", kind.dir_name()));
    let _ = std::fs::remove_file(&tmp);
    let target = format!("{}.{letter}", kind.dir_name());
    std::os::unix::fs::symlink(&target, &tmp).map_err(io("creating the symlink", &tmp))?;
    std::fs::rename(&tmp, &link).map_err(io("switching the symlink", &link))?;
    sync_dir(models).map_err(io("syncing", models))
}

/// Makes `<models>/<name>` an A/B symlink: a plain directory moves to
/// `<name>.a` and the link points there. Returns the active letter, or None
/// when there is no model of this kind at all.
pub fn ensure_ab(models: &Path, kind: ModelKind) -> Result<Option<char>, ModelOtaError> {
    let link = models.join(kind.dir_name());
    if let Some(letter) = active_letter(models, kind) {
        return Ok(Some(letter));
    }
    match std::fs::symlink_metadata(&link) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading", &link)(e)),
        Ok(m) if m.is_dir() => {
            let a = letter_dir(models, kind, 'a');
            if a.exists() {
                std::fs::remove_dir_all(&a).map_err(io("removing", &a))?;
            }
            std::fs::rename(&link, &a).map_err(io("moving the model to", &a))?;
            switch_link(models, kind, 'a')?;
            log::info!("models: {} moved to {} (A/B)", link.display(), a.display());
            Ok(Some('a'))
        }
        Ok(_) => Err(ModelOtaError::Io {
            action: "using",
            path: link,
            source: std::io::Error::other("neither a directory nor an A/B symlink"),
        }),
    }
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInstalled {
    /// The model kind.
    pub kind: ModelKind,
    /// The version now active.
    pub version: String,
    /// The previous active version, if any.
    pub previous: Option<String>,
    /// The letter now active.
    pub letter: char,
}

/// Installs the model bundle at `bundle` (verified against `policy`, whose
/// `running` is ignored: the model's own version is compared) into the
/// inactive directory, reloads the runtime from it and switches the link.
pub fn install(
    models: &Path,
    bundle: &Path,
    policy: &InstallPolicy,
    runtime: &AiRuntime,
    progress: &Progress,
) -> Result<ModelInstalled, ModelOtaError> {
    std::fs::create_dir_all(models).map_err(io("creating", models))?;
    let staging = models.join(".incoming");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io("removing", &staging))?;
    }
    let mut file = std::fs::File::open(bundle).map_err(io("opening", bundle))?;
    // The model's own version is compared once its manifest is known: let the
    // header check pass any version, it still checks signature and board.
    let staging_policy = InstallPolicy {
        running: Version {
            major: 0,
            minor: 0,
            patch: 0,
        },
        allow_downgrade: true,
        ..policy.clone()
    };
    let mut sink = ModelDirSink::new(&staging);
    let report = install_with_progress(
        &mut std::io::BufReader::new(&mut file),
        &staging_policy,
        &mut sink,
        progress,
    )?;
    let result = place_and_switch(models, &staging, policy, runtime, &report.manifest.version);
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn place_and_switch(
    models: &Path,
    staging: &Path,
    policy: &InstallPolicy,
    runtime: &AiRuntime,
    bundle_version: &Version,
) -> Result<ModelInstalled, ModelOtaError> {
    let manifest = Manifest::load(staging).map_err(|e| ModelOtaError::NotAModel(e.to_string()))?;
    let kind = manifest.kind;
    if manifest.version != bundle_version.to_string() {
        return Err(ModelOtaError::NotAModel(format!(
            "the bundle says version {bundle_version}, its model manifest {}",
            manifest.version
        )));
    }
    let active = ensure_ab(models, kind)?;
    let previous = active.and_then(|l| version_in(&letter_dir(models, kind, l)));
    if let Some(prev) = &previous {
        let newer = match Version::parse(prev) {
            Ok(p) => *bundle_version > p,
            Err(_) => true,
        };
        if !newer && !policy.allow_downgrade {
            return Err(ModelOtaError::Downgrade {
                kind: kind_word(kind).into(),
                new: bundle_version.to_string(),
                active: prev.clone(),
            });
        }
    }
    let letter = active.map(other).unwrap_or('a');
    let target = letter_dir(models, kind, letter);
    if target.exists() {
        std::fs::remove_dir_all(&target).map_err(io("removing", &target))?;
    }
    std::fs::rename(staging, &target).map_err(io("moving the model to", &target))?;
    sync_dir(models).map_err(io("syncing", models))?;
    if let Err(e) = runtime.reload(kind, &target) {
        let _ = std::fs::remove_dir_all(&target);
        let _ = sync_dir(models);
        return Err(ModelOtaError::SmokeTest {
            kind: kind_word(kind).into(),
            version: bundle_version.to_string(),
            reason: e.to_string(),
        });
    }
    switch_link(models, kind, letter)?;
    log::info!(
        "models: {} {} active in {} (was {:?})",
        kind_word(kind),
        bundle_version,
        target.display(),
        previous
    );
    Ok(ModelInstalled {
        kind,
        version: bundle_version.to_string(),
        previous,
        letter,
    })
}

/// Goes back to the other directory of `kind` (the previous model): reloads
/// it, then switches the link.
pub fn rollback(
    models: &Path,
    kind: ModelKind,
    runtime: &AiRuntime,
) -> Result<ModelInstalled, ModelOtaError> {
    let no_previous = || ModelOtaError::NoPrevious(kind_word(kind).into());
    let active = active_letter(models, kind).ok_or_else(no_previous)?;
    let letter = other(active);
    let target = letter_dir(models, kind, letter);
    let version = version_in(&target).ok_or_else(no_previous)?;
    let previous = version_in(&letter_dir(models, kind, active));
    runtime
        .reload(kind, &target)
        .map_err(|e| ModelOtaError::SmokeTest {
            kind: kind_word(kind).into(),
            version: version.clone(),
            reason: e.to_string(),
        })?;
    switch_link(models, kind, letter)?;
    log::info!("models: {} rolled back to {version}", kind_word(kind));
    Ok(ModelInstalled {
        kind,
        version,
        previous,
        letter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_directory_becomes_a_and_the_link_switches() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path();
        let kind = ModelKind::LossPrevention;
        assert_eq!(ensure_ab(models, kind).unwrap(), None);
        std::fs::create_dir(models.join("loss-prevention")).unwrap();
        std::fs::write(models.join("loss-prevention/x"), b"1").unwrap();
        assert_eq!(ensure_ab(models, kind).unwrap(), Some('a'));
        assert_eq!(
            std::fs::read(models.join("loss-prevention/x")).unwrap(),
            b"1"
        );
        assert!(models.join("loss-prevention.a/x").is_file());
        assert_eq!(ensure_ab(models, kind).unwrap(), Some('a'));
        std::fs::create_dir(models.join("loss-prevention.b")).unwrap();
        switch_link(models, kind, 'b').unwrap();
        assert_eq!(state(models, kind).active, Some('b'));
        assert!(!models.join("loss-prevention/x").exists());
    }
}
