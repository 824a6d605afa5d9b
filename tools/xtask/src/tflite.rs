//! The TensorFlow Lite C library and headers the `tflite` feature builds
//! against, put where `.cargo/config.toml` points `tflitec`'s build script:
//! `target/tflite/lib/libtensorflowlite_c.so` (`TFLITEC_PREBUILT_PATH`) and
//! `target/tflite/include` (`TFLITEC_HEADER_DIR`).
//!
//! Nothing binary is committed: both come out of crates in the cargo registry,
//! pinned and checksummed by `Cargo.lock`. The library (TFLite 2.6, x86_64) is
//! the one `tflitec` ships in `build-res/docsrs_res.zip`; the headers are the
//! TFLite C headers `edgefirst-tflite-sys` ships under `tensorflow/`.
//! `tflitec` copies only `tensorflow/lite/c/c_api.h` and `c_api_types.h` from
//! the header dir and runs bindgen on them alone, while the shipped headers
//! live in `tensorflow/lite/core/c/` and include further headers by path; so
//! the two files written here are those headers with every
//! `#include "tensorflow/..."` inlined (each file once, its include guard
//! kept), self-contained wherever they are copied.
//!
//! This module owns that preparation; it must not build anything.

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate that ships the library.
const LIB_CRATE: &str = "tflitec";
/// The crate that ships the headers.
const HEADER_CRATE: &str = "edgefirst-tflite-sys";
/// The library's file name.
pub const LIB_NAME: &str = "libtensorflowlite_c.so";

/// The two headers `tflitec` reads, and the real header each stands for.
const WRAPPED: &[(&str, &str)] = &[
    (
        "tensorflow/lite/c/c_api.h",
        "tensorflow/lite/core/c/c_api.h",
    ),
    (
        "tensorflow/lite/c/c_api_types.h",
        "tensorflow/lite/core/c/c_api_types.h",
    ),
];

/// Where the library and headers go (under the workspace's `target/`).
pub fn dir() -> PathBuf {
    cmd::repo_root().join("target").join("tflite")
}

/// The library's path once prepared.
pub fn lib_path() -> PathBuf {
    dir().join("lib").join(LIB_NAME)
}

/// Prepares the library and headers unless they are already there.
pub fn prepare() -> Result<()> {
    let lib = lib_path();
    let include = dir().join("include");
    let ready = lib.is_file() && WRAPPED.iter().all(|(dst, _)| include.join(dst).is_file());
    if ready {
        return Ok(());
    }
    let lib_src = crate_dir(LIB_CRATE)?;
    let header_src = crate_dir(HEADER_CRATE)?;
    extract_lib(&lib_src.join("build-res").join("docsrs_res.zip"), &lib)?;
    for (dst, src) in WRAPPED {
        let text = flatten(&header_src, Path::new(src))
            .with_context(|| format!("inlining {src} from {}", header_src.display()))?;
        let out = include.join(dst);
        write(&out, &text)?;
    }
    println!(
        "xtask setup: TensorFlow Lite 2.6 C library and headers in {}",
        dir().display()
    );
    Ok(())
}

/// Unpacks the library from `zip` to `lib` (through a temp dir, so a
/// half-written library is never left at `lib`).
fn extract_lib(zip: &Path, lib: &Path) -> Result<()> {
    let parent = lib
        .parent()
        .ok_or_else(|| Error::msg(format!("{} has no parent", lib.display())))?;
    let tmp = parent.join(".unzip");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    cmd::run(
        Command::new("unzip")
            .arg("-q")
            .arg("-o")
            .arg(zip)
            .arg(LIB_NAME)
            .arg("-d")
            .arg(&tmp),
    )
    .with_context(|| format!("unzipping {LIB_NAME} from {}", zip.display()))?;
    std::fs::rename(tmp.join(LIB_NAME), lib)
        .with_context(|| format!("moving the library to {}", lib.display()))?;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The registry source directory of `name` at the version `Cargo.lock` pins,
/// fetching it first (`cargo fetch --locked`) when it is not unpacked yet.
fn crate_dir(name: &str) -> Result<PathBuf> {
    let lock = std::fs::read_to_string(cmd::repo_root().join("Cargo.lock"))
        .context("reading Cargo.lock")?;
    let version = locked_version(&lock, name).ok_or_else(|| {
        Error::msg(format!(
            "Cargo.lock has no `{name}` (firmware/ai depends on it; run cargo from the workspace)"
        ))
    })?;
    if let Some(dir) = find_in_registry(name, &version) {
        return Ok(dir);
    }
    println!("xtask setup: cargo fetch --locked (for {name} {version})");
    cmd::run(cmd::cargo().args(["fetch", "--locked"])).context("cargo fetch")?;
    find_in_registry(name, &version).ok_or_else(|| {
        Error::msg(format!(
            "{name} {version} is not in the cargo registry even after `cargo fetch`"
        ))
    })
}

/// The version of package `name` in a `Cargo.lock` text (the first one).
pub fn locked_version(lock: &str, name: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{name}\"") {
            let v = lines.next()?.trim();
            return v
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    None
}

fn find_in_registry(name: &str, version: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = home.join("registry").join("src");
    let mut indexes: Vec<PathBuf> = std::fs::read_dir(&src)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    indexes.sort();
    indexes
        .into_iter()
        .map(|i| i.join(format!("{name}-{version}")))
        .find(|d| d.join("Cargo.toml").is_file())
}

/// `file` (relative to `root`) with every `#include "tensorflow/..."` replaced
/// by that file's own flattened text, each file inlined once.
pub fn flatten(root: &Path, file: &Path) -> Result<String> {
    let mut seen = HashSet::new();
    let mut out = String::new();
    inline(root, file, &mut seen, &mut out)?;
    Ok(out)
}

fn inline(root: &Path, file: &Path, seen: &mut HashSet<PathBuf>, out: &mut String) -> Result<()> {
    if !seen.insert(file.to_path_buf()) {
        return Ok(());
    }
    let path = root.join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    out.push_str(&format!("/* ---- {} ---- */\n", file.display()));
    for line in text.lines() {
        match quoted_tensorflow_include(line) {
            Some(inc) => inline(root, Path::new(inc), seen, out)?,
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(())
}

/// The path of an `#include "tensorflow/..."` line, if `line` is one.
fn quoted_tensorflow_include(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("include")?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let inc = &rest[..end];
    inc.starts_with("tensorflow/").then_some(inc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_locked_version() {
        let lock = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"tflitec\"\nversion = \"0.6.0\"\n";
        assert_eq!(locked_version(lock, "tflitec").as_deref(), Some("0.6.0"));
        assert_eq!(locked_version(lock, "b"), None);
    }

    #[test]
    fn inlines_each_tensorflow_header_once() {
        let root = std::env::temp_dir().join(format!("xtask-flatten-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("tensorflow/x")).unwrap();
        std::fs::write(
            root.join("tensorflow/x/a.h"),
            "#include <stdint.h>\n#include \"tensorflow/x/b.h\"\n  # include \"tensorflow/x/b.h\"\nint a;\n",
        )
        .unwrap();
        std::fs::write(
            root.join("tensorflow/x/b.h"),
            "#include \"other/c.h\"\nint b;\n",
        )
        .unwrap();
        let text = flatten(&root, Path::new("tensorflow/x/a.h")).unwrap();
        assert_eq!(
            text,
            "/* ---- tensorflow/x/a.h ---- */\n#include <stdint.h>\n\
             /* ---- tensorflow/x/b.h ---- */\n#include \"other/c.h\"\nint b;\nint a;\n"
        );
        assert!(flatten(&root, Path::new("tensorflow/x/missing.h")).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
