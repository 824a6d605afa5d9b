//! Shared test helpers: the repository's models directory, copying a model
//! directory, rewriting a manifest, and hand-built journals.
#![allow(dead_code)]

pub mod journal;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository's models/ directory.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// Copies a directory tree.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Replaces `key = ...` (a whole line starting with `key =`) in dir/manifest.toml.
pub fn set_manifest_line(dir: &Path, key: &str, line: &str) {
    let path = dir.join("manifest.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !found && l.starts_with(&format!("{key} =")) {
                found = true;
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(found, "{key} not in manifest");
    std::fs::write(path, out.join("\n") + "\n").unwrap();
}

/// Writes the model file's real sha256 into the manifest.
pub fn fix_sha(dir: &Path) {
    let sha = keel_ai::manifest::sha256_file(&dir.join("model.tflite")).unwrap();
    set_manifest_line(dir, "sha256", &format!("sha256 = \"{sha}\""));
}

/// A models dir holding `recognition` and `loss` (copied) under the standard names.
pub fn models_with(root: &Path, recognition: Option<&Path>, loss: Option<&Path>) -> PathBuf {
    if let Some(r) = recognition {
        copy_dir(r, &root.join("product-recognition"));
    }
    if let Some(l) = loss {
        copy_dir(l, &root.join("loss-prevention"));
    }
    root.to_path_buf()
}

/// A config over `dir` with generous limits.
pub fn config(dir: &Path) -> keel_ai::AiConfig {
    keel_ai::AiConfig {
        models_dir: dir.to_path_buf(),
        recognize_limit: Duration::from_secs(5),
        score_limit: Duration::from_secs(5),
    }
}
