//! `cargo xtask run`: the README's run command. Builds the `keel` binary,
//! provisions a demo store (a store CA, a certificate and a config per
//! terminal, on loopback) the first time, and starts its terminals on this
//! machine so they find each other and replicate every sale.
//!
//! A [`DemoStore`] is a plan: which terminals, with which configs. With tmux
//! on a terminal, every terminal's console gets its own pane, so a sale rung up
//! in one pane shows up in the others (`status`, `stock`, `kitchen list`).
//! Without tmux (or without a terminal), terminal 1's console is attached to
//! stdin/stdout and the others run in the background, their consoles kept open
//! and their output in `<root>/tN.log`. The cloud service and the UI window
//! become more processes here as they land.

use crate::cmd;
use crate::error::{Context, Error, Result};
use crate::setup;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Default number of terminals in the demo store.
pub const DEFAULT_TERMINALS: u32 = 3;
/// UDP port of terminal 1 (terminal n uses this + n - 1), loopback only.
pub const BASE_PORT: u16 = 7101;
/// The demo store's id.
pub const STORE: &str = "demo-store";

/// Options of `cargo xtask run`.
#[derive(Default)]
pub struct RunOptions {
    /// Demo data root (default `target/keel-demo`).
    pub data_dir: Option<PathBuf>,
    /// Wipe the demo store (certificates and journals) before starting.
    pub fresh: bool,
    /// Skip the apt package check.
    pub skip_setup: bool,
    /// Number of terminals (default 3).
    pub terminals: Option<u32>,
    /// Never use tmux: terminal 1 on this terminal, the others in the background.
    pub no_tmux: bool,
    /// Arguments after `--`, appended to terminal 1's `keel console` (e.g. `--json`).
    pub console_args: Vec<String>,
}

const USAGE: &str = "usage: cargo xtask run [--terminals N] [--data-dir DIR] [--fresh] [--no-tmux] [--skip-setup] [-- CONSOLE-ARGS]";

/// Parses `run` arguments.
pub fn parse(args: &[String]) -> Result<RunOptions> {
    let mut opts = RunOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--" => opts.console_args = it.by_ref().cloned().collect(),
            "--fresh" => opts.fresh = true,
            "--skip-setup" => opts.skip_setup = true,
            "--no-tmux" => opts.no_tmux = true,
            "--terminals" => {
                let n = it
                    .next()
                    .ok_or_else(|| Error::usage("--terminals needs a number"))?;
                let n: u32 = n.parse().map_err(|_| {
                    Error::usage(format!("--terminals must be a number, got `{n}`"))
                })?;
                if !(1..=9).contains(&n) {
                    return Err(Error::usage("--terminals must be 1 to 9"));
                }
                opts.terminals = Some(n);
            }
            "--data-dir" => {
                let dir = it
                    .next()
                    .ok_or_else(|| Error::usage("--data-dir needs a directory"))?;
                opts.data_dir = Some(PathBuf::from(dir));
            }
            other => {
                return Err(Error::usage(format!(
                    "unknown run argument `{other}` ({USAGE})"
                )))
            }
        }
    }
    Ok(opts)
}

/// One terminal of the demo store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTerminal {
    /// Short name: `t1`, `t2`, ...
    pub name: String,
    /// Its `terminal.toml`.
    pub config: PathBuf,
}

/// The plan for a demo store on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoStore {
    /// Where the demo keeps its data.
    pub root: PathBuf,
    /// Terminals, terminal 1 first.
    pub terminals: Vec<DemoTerminal>,
}

impl DemoStore {
    /// The demo store of `n` terminals under `root` (provisioned in `root/store`).
    pub fn plan(root: PathBuf, n: u32) -> DemoStore {
        let terminals = (1..=n)
            .map(|i| DemoTerminal {
                name: format!("t{i}"),
                config: root
                    .join("store")
                    .join(format!("t{i}"))
                    .join("terminal.toml"),
            })
            .collect();
        DemoStore { root, terminals }
    }

    /// Removes the demo store.
    pub fn wipe(&self) -> Result<()> {
        let dir = self.root.join("store");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("removing demo store {}", dir.display()))?;
            println!("xtask run: removed {}", dir.display());
        }
        Ok(())
    }

    /// Provisions the store unless it already is (with this many terminals).
    pub fn provision(&self, keel: &Path) -> Result<()> {
        let store = self.root.join("store");
        if self.terminals.iter().all(|t| t.config.is_file()) {
            return Ok(());
        }
        if store.exists() {
            // A store with another number of terminals: start it over.
            std::fs::remove_dir_all(&store)
                .with_context(|| format!("removing {}", store.display()))?;
        }
        let mut c = Command::new(keel);
        c.arg("provision")
            .args([
                "--store",
                STORE,
                "--terminals",
                &self.terminals.len().to_string(),
                "--base-port",
                &BASE_PORT.to_string(),
            ])
            .arg("--out")
            .arg(&store);
        println!("xtask run: {}", cmd::display(&c));
        cmd::run(c.stdout(Stdio::null())).context("provisioning the demo store")
    }

    /// `keel console --config ...` for terminal `t`.
    pub fn console(&self, keel: &Path, t: &DemoTerminal) -> Command {
        let mut c = Command::new(keel);
        c.arg("console").arg("--config").arg(&t.config);
        c
    }

    /// What the user sees before the consoles start.
    pub fn banner(&self, tmux: bool) -> String {
        let mut s = format!("Keel demo store `{STORE}`: {} terminals on loopback (a small grocery and a cafe menu)\n", self.terminals.len());
        for (i, t) in self.terminals.iter().enumerate() {
            let how = match (tmux, i) {
                (true, _) => "tmux pane".to_string(),
                (false, 0) => "console on this terminal".to_string(),
                (false, _) => format!(
                    "background, output in {}",
                    self.root.join(format!("{}.log", t.name)).display()
                ),
            };
            s.push_str(&format!(
                "  terminal {}: {how}; config {}\n",
                t.name,
                t.config.display()
            ));
        }
        s.push_str("  demo PINs: cashier 1111, manager 9999, technician 0000\n");
        s.push_str("  try: login 1111, shift open 100.00, sale new, sale add 4006381333931, sale tender cash 5.00, sale complete;\n");
        s.push_str(
            "       then `status`, `peers`, `stock CHOC-100` in another terminal's console\n",
        );
        if tmux {
            s.push_str("  tmux: Ctrl-b then an arrow key moves between panes; Ctrl-b d detaches; `tmux kill-session -t keel-demo` stops the store\n");
        } else {
            s.push_str("  Ctrl-D ends terminal 1 and stops the others\n");
        }
        s.push_str("  (`cargo xtask run --fresh` starts over)");
        s
    }

    /// Runs every terminal in its own tmux pane and attaches; returns tmux's exit code.
    pub fn start_tmux(&self, keel: &Path) -> Result<i32> {
        let session = "keel-demo";
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", session])
            .stderr(Stdio::null())
            .status();
        for (i, t) in self.terminals.iter().enumerate() {
            let line = cmd::display(&self.console(keel, t));
            let mut c = Command::new("tmux");
            if i == 0 {
                c.args([
                    "new-session",
                    "-d",
                    "-s",
                    session,
                    "-x",
                    "200",
                    "-y",
                    "50",
                    &line,
                ]);
            } else {
                c.args(["split-window", "-t", session, &line]);
            }
            cmd::run(&mut c).with_context(|| format!("tmux pane for {}", t.name))?;
            cmd::run(Command::new("tmux").args(["select-layout", "-t", session, "even-vertical"]))?;
        }
        cmd::run(Command::new("tmux").args([
            "set-option",
            "-t",
            session,
            "remain-on-exit",
            "off",
        ]))?;
        cmd::status(Command::new("tmux").args(["attach-session", "-t", session]))
            .map(cmd::exit_code)
    }

    /// Starts terminals 2.. in the background (consoles held open, output to logs)
    /// and terminal 1 in the foreground; returns terminal 1's exit code after
    /// stopping the others.
    pub fn start_plain(&self, keel: &Path, console_args: &[String]) -> Result<i32> {
        let mut background: Vec<(String, Child)> = Vec::new();
        for t in self.terminals.iter().skip(1) {
            let log = self.root.join(format!("{}.log", t.name));
            let out = std::fs::File::create(&log)
                .with_context(|| format!("creating {}", log.display()))?;
            let err = out
                .try_clone()
                .with_context(|| format!("opening {}", log.display()))?;
            let child = self
                .console(keel, t)
                .stdin(Stdio::piped())
                .stdout(out)
                .stderr(err)
                .spawn();
            match child.with_context(|| format!("starting {}", t.name)) {
                Ok(c) => background.push((t.name.clone(), c)),
                Err(e) => {
                    stop(&mut background);
                    return Err(e);
                }
            }
        }
        let result = match self.terminals.first() {
            Some(t) => cmd::status(self.console(keel, t).args(console_args))
                .with_context(|| format!("running terminal {}", t.name))
                .map(cmd::exit_code),
            None => Err(Error::msg("the demo store has no terminals")),
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

fn stdio_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Runs setup, builds keel, provisions and starts the demo store; returns the exit code.
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
    let store = DemoStore::plan(root.clone(), opts.terminals.unwrap_or(DEFAULT_TERMINALS));
    if opts.fresh {
        store.wipe()?;
    }
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let keel = build_keel()?;
    store.provision(&keel)?;
    let tmux = !opts.no_tmux
        && opts.console_args.is_empty()
        && stdio_is_terminal()
        && cmd::on_path("tmux")
        && std::env::var_os("TMUX").is_none();
    println!("{}", store.banner(tmux));
    if tmux {
        store.start_tmux(&keel)
    } else {
        store.start_plain(&keel, &opts.console_args)
    }
}

/// `cargo xtask provision ...`: builds keel and runs `keel provision ...`.
pub fn provision(args: &[String]) -> Result<i32> {
    let keel = build_keel()?;
    let mut c = Command::new(keel);
    c.arg("provision").args(args);
    cmd::status(&mut c).map(cmd::exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_names_a_config_per_terminal() {
        let s = DemoStore::plan(PathBuf::from("/x/demo"), 3);
        assert_eq!(s.terminals.len(), 3);
        assert_eq!(
            s.terminals[2].config,
            PathBuf::from("/x/demo/store/t3/terminal.toml")
        );
        let args: Vec<_> = s
            .console(Path::new("/bin/keel"), &s.terminals[0])
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            ["console", "--config", "/x/demo/store/t1/terminal.toml"]
        );
    }

    #[test]
    fn plain_start_forwards_terminal_one_exit_code_and_stops_the_others() {
        let root = std::env::temp_dir().join(format!("xtask-demo-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("root");
        let store = DemoStore::plan(root.clone(), 2);
        assert_eq!(
            store
                .start_plain(Path::new("/bin/true"), &[])
                .expect("starts"),
            0
        );
        assert_eq!(
            store
                .start_plain(Path::new("/bin/false"), &[])
                .expect("starts"),
            1
        );
        assert!(root.join("t2.log").is_file());
        std::fs::remove_dir_all(&root).expect("cleans up");
    }

    #[test]
    fn parse_run_options() {
        let args: Vec<String> = [
            "--fresh",
            "--terminals",
            "5",
            "--data-dir",
            "d",
            "--",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = parse(&args).expect("parses");
        assert!(o.fresh);
        assert_eq!(o.terminals, Some(5));
        assert_eq!(o.data_dir, Some(PathBuf::from("d")));
        assert_eq!(o.console_args, ["--json"]);
        assert!(parse(&["--terminals".to_string(), "0".to_string()]).is_err());
    }
}
