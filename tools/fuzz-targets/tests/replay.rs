//! Replays every committed corpus input (`fuzz/corpus/<target>/*`) and every
//! crash found so far (`fuzz/regressions/<target>/*`) through its target on
//! stable, so a crash once fixed stays fixed and the corpus keeps decoding
//! without a panic. Also checks that every target has seeds and that every
//! directory names a target.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// `(target, file)` for every file under `fuzz/<kind>/<target>/`.
fn inputs(kind: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(fuzz_dir().join(kind)) else {
        return out;
    };
    for t in targets.flatten() {
        let name = t.file_name().to_string_lossy().into_owned();
        assert!(
            keel_fuzz_targets::target(&name).is_some(),
            "fuzz/{kind}/{name} names no target"
        );
        for f in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
            if f.path().is_file() {
                out.push((name.clone(), f.path()));
            }
        }
    }
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let inputs = inputs(kind);
    for (target, path) in &inputs {
        let data = std::fs::read(path).unwrap();
        let run = keel_fuzz_targets::target(target).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!(
                "{target} panics on {} (reproduce: cargo xtask fuzz --target {target} --reproduce {})",
                path.display(),
                path.display()
            );
        }
    }
    inputs.len()
}

#[test]
fn every_corpus_input_replays_without_a_panic() {
    let n = replay("corpus");
    assert!(
        n >= keel_fuzz_targets::TARGETS.len(),
        "only {n} corpus inputs"
    );
}

#[test]
fn every_regression_input_replays_without_a_panic() {
    replay("regressions");
}

#[test]
fn every_target_has_seeds() {
    let inputs = inputs("corpus");
    for (name, _) in keel_fuzz_targets::TARGETS {
        assert!(
            inputs.iter().any(|(t, _)| t == name),
            "fuzz/corpus/{name} is empty: run cargo run -p keel-fuzz-targets --bin make-corpus"
        );
    }
}

#[test]
fn the_committed_corpus_is_what_make_corpus_writes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let key = std::fs::read(fuzz_dir().join("corpus-signing-key.pk8")).unwrap();
    for seed in keel_fuzz_targets::seeds::all(&root, &key).unwrap() {
        let path = fuzz_dir().join("corpus").join(seed.target).join(&seed.name);
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == seed.bytes,
            "{} is stale: run cargo run -p keel-fuzz-targets --bin make-corpus",
            path.display()
        );
    }
}

#[test]
fn every_target_has_a_fuzz_binary_and_every_binary_a_target() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let bins: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "keel-fuzz")
        .collect();
    for (name, _) in keel_fuzz_targets::TARGETS {
        assert!(
            bins.contains(name),
            "{name} has no [[bin]] in fuzz/Cargo.toml"
        );
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs is missing"
        );
    }
    for bin in &bins {
        assert!(
            keel_fuzz_targets::target(bin).is_some(),
            "fuzz/Cargo.toml builds {bin}, which is no target"
        );
    }
}
