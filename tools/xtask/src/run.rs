//! `cargo xtask run`: the README's run command. Builds the `keel` binary and
//! starts a demo store on this machine.
//!
//! A [`DemoStore`] is a plan: which processes to start, with which data
//! directories. Today it is one terminal whose technician console is attached
//! to the user's terminal. More terminals, the cloud reference service and the
//! UI window become more [`DemoProcess`]es in [`DemoStore::processes`]; the
//! background ones are started first and stopped when the interactive one ends.

use crate::cmd;
use crate::error::{Context, Error, Result};
use crate::setup;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// Options of `cargo xtask run`.
#[derive(Default)]
pub struct RunOptions {
    /// Demo data root; terminal `tN` keeps its data in `<root>/tN`.
    pub data_dir: Option<PathBuf>,
    /// Wipe the demo terminals' data before starting.
    pub fresh: bool,
    /// Skip the apt package check.
    pub skip_setup: bool,
    /// Arguments after `--`, appended to the interactive `keel console` (e.g. `--json`).
    pub console_args: Vec<String>,
}

/// Parses `run` arguments.
pub fn parse(args: &[String]) -> Result<RunOptions> {
    let mut opts = RunOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--" => opts.console_args = it.by_ref().cloned().collect(),
            "--fresh" => opts.fresh = true,
            "--skip-setup" => opts.skip_setup = true,
            "--data-dir" => {
                let dir = it.next().ok_or_else(|| Error::usage("--data-dir needs a directory"))?;
                opts.data_dir = Some(PathBuf::from(dir));
            }
            other => {
                return Err(Error::usage(format!(
                    "unknown run argument `{other}` \
                     (usage: cargo xtask run [--data-dir DIR] [--fresh] [--skip-setup] [-- CONSOLE-ARGS])"
                )))
            }
        }
    }
    Ok(opts)
}

/// One terminal of the demo store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTerminal {
    /// Short name, also its data directory's name: `t1`, `t2`, ...
    pub name: String,
    /// Its `--data-dir`.
    pub data_dir: PathBuf,
    /// Whether its console is attached to the user's terminal (exactly one is).
    pub interactive: bool,
}

/// The plan for a demo store on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoStore {
    /// Where the demo keeps its data.
    pub root: PathBuf,
    /// The terminals, the interactive one first.
    pub terminals: Vec<DemoTerminal>,
}

/// A process the demo starts.
pub struct DemoProcess {
    /// Name for messages.
    pub name: String,
    /// What to run.
    pub command: Command,
    /// Runs in the foreground with the user's stdin/stdout; the demo ends when it exits.
    pub interactive: bool,
}

impl DemoStore {
    /// The demo store for `root`: for now a single terminal, `t1`.
    pub fn plan(root: PathBuf) -> DemoStore {
        let terminals = vec![DemoTerminal {
            name: "t1".to_string(),
            data_dir: root.join("t1"),
            interactive: true,
        }];
        DemoStore { root, terminals }
    }

    /// Removes every planned terminal's data directory.
    pub fn wipe(&self) -> Result<()> {
        for t in &self.terminals {
            if t.data_dir.exists() {
                std::fs::remove_dir_all(&t.data_dir)
                    .with_context(|| format!("removing demo data {}", t.data_dir.display()))?;
                println!("xtask run: removed {}", t.data_dir.display());
            }
        }
        Ok(())
    }

    /// The processes to start, given the built `keel` binary.
    pub fn processes(&self, keel: &Path, console_args: &[String]) -> Vec<DemoProcess> {
        self.terminals
            .iter()
            .map(|t| {
                let mut command = Command::new(keel);
                command
                    .arg("console")
                    .arg("--demo")
                    .arg("--data-dir")
                    .arg(&t.data_dir);
                if t.interactive {
                    command.args(console_args);
                }
                DemoProcess {
                    name: t.name.clone(),
                    command,
                    interactive: t.interactive,
                }
            })
            .collect()
    }

    /// What the user sees before the console starts.
    pub fn banner(&self) -> String {
        let mut s = String::from("Keel demo store (a small grocery and a cafe menu)\n");
        for t in &self.terminals {
            let how = if t.interactive {
                "console on this terminal"
            } else {
                "background"
            };
            s.push_str(&format!(
                "  terminal {}: {how}, data in {}\n",
                t.name,
                t.data_dir.display()
            ));
        }
        s.push_str("  demo PINs: cashier 1111, manager 9999, technician 0000\n");
        s.push_str("  type `help` for commands, `login 1111` to start; Ctrl-D ends the session\n");
        s.push_str("  (`cargo xtask run --fresh` starts over with empty journals)");
        s
    }

    /// Starts every process; returns the interactive one's exit code once it
    /// ends, after stopping the others.
    pub fn start(&self, keel: &Path, console_args: &[String]) -> Result<i32> {
        for t in &self.terminals {
            std::fs::create_dir_all(&t.data_dir).with_context(|| {
                format!("creating demo data directory {}", t.data_dir.display())
            })?;
        }
        let mut background: Vec<(String, Child)> = Vec::new();
        let mut foreground = None;
        for mut p in self.processes(keel, console_args) {
            if p.interactive {
                foreground = Some(p);
                continue;
            }
            let child = p
                .command
                .spawn()
                .with_context(|| format!("starting {}: `{}`", p.name, cmd::display(&p.command)));
            match child {
                Ok(child) => background.push((p.name, child)),
                Err(e) => {
                    stop(&mut background);
                    return Err(e);
                }
            }
        }
        let result = match foreground {
            Some(mut p) => cmd::status(&mut p.command)
                .with_context(|| format!("running terminal {}", p.name))
                .map(cmd::exit_code),
            None => Err(Error::msg("the demo plan has no interactive process")),
        };
        stop(&mut background);
        result
    }
}

/// Kills and reaps background processes.
fn stop(children: &mut Vec<(String, Child)>) {
    for (name, child) in children.iter_mut() {
        if let Err(e) = child.kill() {
            eprintln!("xtask run: stopping {name}: {e}");
        }
        let _ = child.wait();
    }
    children.clear();
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `<repo>/target`).
pub fn target_dir() -> PathBuf {
    let root = cmd::repo_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds the `keel` binary in release mode and returns its path.
pub fn build_keel() -> Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo.args(["build", "--release", "-p", "keel-terminal"]);
    println!("xtask run: {}", cmd::display(&cargo));
    cmd::run(&mut cargo).context("building keel")?;
    let keel = target_dir().join("release").join("keel");
    if !keel.is_file() {
        return Err(Error::msg(format!(
            "the build succeeded but {} is missing",
            keel.display()
        )));
    }
    Ok(keel)
}

/// Runs setup, builds keel and starts the demo store; returns the exit code.
pub fn run(opts: &RunOptions) -> Result<i32> {
    if !opts.skip_setup {
        setup::setup(&setup::SetupOptions::default()).context("setup")?;
    }
    let root = match &opts.data_dir {
        Some(dir) => std::env::current_dir()
            .context("current directory")?
            .join(dir),
        None => cmd::repo_root().join("target").join("keel-demo"),
    };
    let store = DemoStore::plan(root);
    if opts.fresh {
        store.wipe()?;
    }
    let keel = build_keel()?;
    println!("{}", store.banner());
    store.start(&keel, &opts.console_args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_has_one_interactive_terminal_under_root() {
        let s = DemoStore::plan(PathBuf::from("/x/demo"));
        assert_eq!(s.terminals.iter().filter(|t| t.interactive).count(), 1);
        assert_eq!(s.terminals[0].data_dir, PathBuf::from("/x/demo/t1"));
        let p = s.processes(Path::new("/bin/keel"), &["--json".to_string()]);
        let args: Vec<_> = p[0]
            .command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            ["console", "--demo", "--data-dir", "/x/demo/t1", "--json"]
        );
    }

    #[test]
    fn start_runs_the_interactive_process_and_forwards_its_exit_code() {
        let root = std::env::temp_dir().join(format!("xtask-demo-test-{}", std::process::id()));
        let store = DemoStore::plan(root.clone());
        assert_eq!(store.start(Path::new("/bin/true"), &[]).expect("starts"), 0);
        assert!(store.terminals[0].data_dir.is_dir());
        assert_eq!(
            store.start(Path::new("/bin/false"), &[]).expect("starts"),
            1
        );
        store.wipe().expect("wipes");
        assert!(!store.terminals[0].data_dir.exists());
        std::fs::remove_dir_all(&root).expect("cleans up");
    }

    #[test]
    fn parse_run_options() {
        let args: Vec<String> = ["--fresh", "--data-dir", "d", "--", "--json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse(&args).expect("parses");
        assert!(o.fresh);
        assert_eq!(o.data_dir, Some(PathBuf::from("d")));
        assert_eq!(o.console_args, ["--json"]);
    }
}
