//! Running child processes: the repository root, the cargo binary, and
//! commands whose failures name the command line.

use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// The workspace root (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// The cargo that started xtask (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(repo_root());
    // `cargo run` gives xtask the environment of the xtask package; keep it
    // out of nested builds and test binaries, which get their own.
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str() {
            if key.starts_with("CARGO_PKG_")
                || matches!(
                    key,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                )
            {
                cmd.env_remove(key);
            }
        }
    }
    cmd
}

/// The command line of `cmd`, for messages.
pub fn display(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '$') {
            out.push('\'');
            out.push_str(&arg.replace('\'', "'\\''"));
            out.push('\'');
        } else {
            out.push_str(&arg);
        }
    }
    out
}

/// Runs `cmd` to completion with inherited stdio and returns its status.
pub fn status(cmd: &mut Command) -> Result<ExitStatus> {
    cmd.status()
        .with_context(|| format!("cannot start `{}`", display(cmd)))
}

/// Runs `cmd` and fails unless it exits with 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let st = status(cmd)?;
    if st.success() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "`{}` failed ({})",
            display(cmd),
            describe(st)
        )))
    }
}

/// "exit code 3" or "killed by signal 9".
pub fn describe(st: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "unknown status".to_string(),
    }
}

/// The exit code to forward for `st` (128 + signal when killed, as shells do).
pub fn exit_code(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// True when a program named `name` is on `PATH`.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}
