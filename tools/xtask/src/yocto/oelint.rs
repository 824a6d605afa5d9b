//! oelint-adv, the BitBake recipe linter from the Python package index:
//! installs it, pinned, into a virtualenv under `target/pyenv` (`cargo xtask
//! setup` calls [`prepare`]) and runs it over the layer with the layer's
//! configuration (`yocto-layer/oelint.cfg`). Owns the pin and the run; the
//! rules and their few suppressions live in the configuration.

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The linter's version; its parser and rule data are pinned with it so a
/// new upload to the index cannot change what passes.
pub const VERSION: &str = "9.11.2";

/// What pip installs.
pub const PINS: &[&str] = &[
    "oelint-adv==9.11.2",
    "oelint-parser==8.13.2",
    "oelint-data==1.5.26",
];

/// The virtualenv the linter lives in.
pub fn venv_dir() -> PathBuf {
    cmd::repo_root().join("target").join("pyenv")
}

/// The linter's executable in the virtualenv.
pub fn linter() -> PathBuf {
    venv_dir().join("bin").join("oelint-adv")
}

/// The installed linter's version, if it runs.
pub fn installed_version() -> Option<String> {
    let out = Command::new(linter())
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().last().map(str::to_string)
}

/// Installs the pinned linter unless it is already there (then this only
/// asks it its version).
pub fn prepare() -> Result<()> {
    if installed_version().as_deref() == Some(VERSION) {
        return Ok(());
    }
    let venv = venv_dir();
    if !venv.join("bin").join("pip").is_file() {
        let mut create = Command::new("python3");
        create.arg("-m").arg("venv").arg(&venv);
        println!("xtask setup: {}", cmd::display(&create));
        cmd::run(create.stdin(Stdio::null()))
            .context("creating the Python virtualenv for oelint-adv (Debian: python3-venv)")?;
    }
    let mut pip = Command::new(venv.join("bin").join("pip"));
    pip.args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PINS);
    println!("xtask setup: {}", cmd::display(&pip));
    cmd::run(pip.stdin(Stdio::null()))
        .context("installing oelint-adv from the Python package index")?;
    match installed_version() {
        Some(v) if v == VERSION => {
            println!("xtask setup: oelint-adv {VERSION} in {}", venv.display());
            Ok(())
        }
        other => Err(Error::msg(format!(
            "pip finished but {} reports version {other:?}, not {VERSION}",
            linter().display()
        ))),
    }
}

/// Runs the linter with `config` over `files` and returns its findings, one
/// line each (`file:line:severity:rule:message`); empty when clean.
pub fn run(config: &Path, files: &[PathBuf]) -> Result<Vec<String>> {
    match installed_version() {
        Some(v) if v == VERSION => {}
        other => {
            return Err(Error::msg(format!(
                "oelint-adv {VERSION} is not installed in {} (found {other:?}): run `cargo xtask setup`",
                venv_dir().display()
            )))
        }
    }
    let mut lint = Command::new(linter());
    lint.env("OELINT_CONFIG", config)
        .args(["--jobs", "2"])
        .args(files)
        .stdin(Stdio::null());
    let out = lint
        .output()
        .with_context(|| format!("cannot start `{}`", cmd::display(&lint)))?;
    let findings: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&out.stdout).lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if !out.status.success() && findings.is_empty() {
        return Err(Error::msg(format!(
            "`{}` failed ({}) without a finding",
            cmd::display(&lint),
            cmd::describe(out.status)
        )));
    }
    // With `quiet = True` a clean run prints nothing: every line is a finding.
    Ok(findings)
}
