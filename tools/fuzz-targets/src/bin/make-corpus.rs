//! Writes the seed corpus: `fuzz/corpus/<target>/<name>` for every seed of
//! `keel_fuzz_targets::seeds`, replacing the seeds it made before (files it
//! does not make are left alone). Run from anywhere in the workspace:
//! `cargo run -p keel-fuzz-targets --bin make-corpus`.

use keel_fuzz_targets::seeds::{self, Seed};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The corpus-only signing key of the bundle seeds (trusted by nothing).
const KEY_FILE: &str = "fuzz/corpus-signing-key.pk8";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The corpus key, made once and kept so the bundle seed stays the same.
fn key(root: &Path) -> Result<Vec<u8>, String> {
    let path = root.join(KEY_FILE);
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes);
    }
    let key = keel_ota::keys::generate(&ring::rand::SystemRandom::new())
        .map_err(|e| format!("making the corpus key: {e}"))?;
    std::fs::write(&path, key.pkcs8()).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(key.pkcs8().to_vec())
}

fn write(root: &Path, seeds: &[Seed]) -> Result<u64, String> {
    let mut total = 0u64;
    for seed in seeds {
        if keel_fuzz_targets::target(seed.target).is_none() {
            return Err(format!(
                "seed {} is for unknown target {}",
                seed.name, seed.target
            ));
        }
        let dir = root.join("fuzz/corpus").join(seed.target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let path = dir.join(&seed.name);
        std::fs::write(&path, &seed.bytes)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        total += seed.bytes.len() as u64;
    }
    Ok(total)
}

fn main() -> ExitCode {
    let root = root();
    let result = key(&root).and_then(|key| {
        let seeds = seeds::all(&root, &key).map_err(|e| e.to_string())?;
        let bytes = write(&root, &seeds)?;
        Ok((seeds.len(), bytes))
    });
    match result {
        Ok((count, bytes)) => {
            println!("make-corpus: {count} seeds, {bytes} bytes under fuzz/corpus");
            for (name, _) in keel_fuzz_targets::TARGETS {
                if !root.join("fuzz/corpus").join(name).is_dir() {
                    println!("make-corpus: warning: target {name} has no seeds");
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make-corpus: {e}");
            ExitCode::FAILURE
        }
    }
}
