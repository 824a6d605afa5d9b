//! `cargo xtask yocto-lint`: checks yocto-layer/meta-keel without a Yocto
//! build. oelint-adv (pinned, from the Python package index, see [`oelint`])
//! lints every recipe, append, class, include and config file; the
//! structural checks ([`layer`], [`src_uri`], [`boards`], [`boot_files`], [`wks`],
//! [`crates`])
//! prove what the linter
//! cannot: the layer configuration, that bitbake reads every recipe, that
//! every `file://` exists, the A/B partition labels, the boards, and that the
//! recipe's crate list is Cargo.lock's. The tests below run the same checks
//! on the real layer, so a dependency change without
//! `python3 tools/yocto/gen_crates.py` fails the test suite.
//!
//! This module owns the checks; it must not change the layer.

pub mod bitbake;
pub mod boards;
pub mod boot_files;
pub mod crates;
pub mod layer;
pub mod oelint;
pub mod src_uri;
pub mod wks;

use crate::cmd;
use crate::error::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    /// A problem with `file` as a whole.
    pub fn file(file: &Path, message: impl Into<String>) -> Finding {
        Finding::at(file, 0, message)
    }

    /// A problem at `line` of `file`.
    pub fn at(file: &Path, line: usize, message: impl Into<String>) -> Finding {
        Finding {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// The layer, in the repository at `repo`.
pub fn layer_dir(repo: &Path) -> PathBuf {
    repo.join("yocto-layer").join("meta-keel")
}

/// The linter's configuration for the layer.
pub fn oelint_config(repo: &Path) -> PathBuf {
    repo.join("yocto-layer").join("oelint.cfg")
}

/// The generated crate list of the keel recipe.
pub fn crates_inc(repo: &Path) -> PathBuf {
    layer_dir(repo).join("recipes-keel/keel/keel-crates.inc")
}

/// Every structural problem of the layer in the repository at `repo`.
pub fn structural(repo: &Path) -> Vec<Finding> {
    let layer = layer_dir(repo);
    let mut findings = Vec::new();
    layer::check_layer_conf(&layer, &mut findings);
    src_uri::check(&layer, repo, &mut findings);
    boards::check(&layer, repo, &mut findings);
    boot_files::check_grub_deploy(&layer, &mut findings);
    if let Some(wks_path) = layer::wks_file(&layer, &mut findings) {
        match std::fs::read_to_string(&wks_path) {
            Ok(text) => {
                findings.extend(
                    wks::check(&text)
                        .into_iter()
                        .map(|m| Finding::file(&wks_path, m)),
                );
                boot_files::check_wks_vars(&layer, &wks_path, &text, &mut findings);
            }
            Err(e) => findings.push(Finding::file(&wks_path, format!("cannot read: {e}"))),
        }
    }
    let lock_path = repo.join("Cargo.lock");
    let inc_path = crates_inc(repo);
    match (
        std::fs::read_to_string(&lock_path),
        std::fs::read_to_string(&inc_path),
    ) {
        (Ok(lock), Ok(inc)) => match crates::from_lock(&lock) {
            Ok(lock) => findings.extend(crates::compare(&lock, &inc).into_iter().map(|m| {
                Finding::file(
                    &inc_path,
                    format!("{m} (run `python3 tools/yocto/gen_crates.py`)"),
                )
            })),
            Err(e) => findings.push(Finding::file(&lock_path, e)),
        },
        (Err(e), _) => findings.push(Finding::file(&lock_path, format!("cannot read: {e}"))),
        (_, Err(e)) => findings.push(Finding::file(&inc_path, format!("cannot read: {e}"))),
    }
    findings
}

/// The files oelint-adv reads: recipes, appends, classes, includes and
/// configuration files of the layer.
pub fn lint_files(repo: &Path) -> Vec<PathBuf> {
    layer::files_with(
        &layer_dir(repo),
        &[".bb", ".bbappend", ".bbclass", ".inc", ".conf"],
    )
}

/// Runs the linter over the layer; its findings (empty when clean).
pub fn lint(repo: &Path) -> Result<Vec<String>> {
    oelint::run(&oelint_config(repo), &lint_files(repo))
}

/// `cargo xtask yocto-lint`: prints every finding and exits 1 if there is one.
pub fn yocto_lint(args: &[String]) -> Result<i32> {
    if let Some(arg) = args.first() {
        return Err(Error::usage(format!(
            "unknown yocto-lint argument `{arg}` (usage: cargo xtask yocto-lint)"
        )));
    }
    let repo = cmd::repo_root();
    let structural = structural(&repo);
    for f in &structural {
        println!("{f}");
    }
    let lint = lint(&repo)?;
    for f in &lint {
        println!("{f}");
    }
    let files = lint_files(&repo).len();
    if structural.is_empty() && lint.is_empty() {
        println!(
            "yocto-lint: meta-keel is clean ({files} files; oelint-adv {})",
            oelint::VERSION
        );
        Ok(0)
    } else {
        println!(
            "yocto-lint: {} structural problem(s), {} oelint-adv finding(s)",
            structural.len(),
            lint.len()
        );
        Ok(1)
    }
}

#[cfg(test)]
mod tests;
