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
//! and their output in `<root>/tN.log`.
//!
//! The cloud reference service runs beside them: `keel-cloud init` makes the
//! operator's CA and the service's certificate in `<root>/cloud` once, the store
//! is provisioned with a store CA issued by that operator CA, and
//! `keel-cloud serve` (embedded storage, no database needed) takes the store
//! leader's uploads on loopback; its report is at `http://127.0.0.1:7480/report`
//! and `keel-cloud report --dir <root>/cloud`. The UI window becomes one more
//! process here when it lands.

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
/// The demo cloud's QUIC address (loopback only).
pub const CLOUD_QUIC: &str = "127.0.0.1:7400";
/// The demo cloud's HTTP address: health, status, reports (loopback only).
pub const CLOUD_HTTP: &str = "127.0.0.1:7480";

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
    /// The cloud service's directory (operator CA, its certificate, its data).
    pub cloud: PathBuf,
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
        let cloud = root.join("cloud");
        DemoStore {
            root,
            terminals,
            cloud,
        }
    }

    /// Makes the cloud's directory (`keel-cloud init`) unless it exists.
    pub fn init_cloud(&self, keel_cloud: &Path) -> Result<()> {
        if self.cloud.join("cloud.toml").is_file() {
            return Ok(());
        }
        let mut c = Command::new(keel_cloud);
        c.args(["init", "--dir"])
            .arg(&self.cloud)
            .args(["--listen", CLOUD_QUIC, "--http", CLOUD_HTTP]);
        println!("xtask run: {}", cmd::display(&c));
        cmd::run(c.stdout(Stdio::null())).context("making the demo cloud")
    }

    /// `keel-cloud serve` for the demo cloud (embedded storage).
    pub fn cloud_serve(&self, keel_cloud: &Path) -> Command {
        let mut c = Command::new(keel_cloud);
        c.args(["serve", "--dir"]).arg(&self.cloud);
        c
    }

    /// Removes the demo store and its cloud.
    pub fn wipe(&self) -> Result<()> {
        for dir in [self.root.join("store"), self.cloud.clone()] {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
                println!("xtask run: removed {}", dir.display());
            }
        }
        Ok(())
    }

    /// Whether every terminal's config is there and reports to the cloud.
    fn provisioned(&self) -> bool {
        self.terminals
            .iter()
            .all(|t| std::fs::read_to_string(&t.config).is_ok_and(|text| text.contains("[cloud]")))
    }

    /// Provisions the store unless it already is (with this many terminals).
    pub fn provision(&self, keel: &Path) -> Result<()> {
        let store = self.root.join("store");
        if self.provisioned() {
            return Ok(());
        }
        if store.exists() {
            // A store with another number of terminals, or from before the
            // cloud (no operator-issued CA): start it over.
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
                "--cloud",
                CLOUD_QUIC,
            ])
            .arg("--operator")
            .arg(&self.cloud)
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
        let cloud_how = if tmux {
            "first tmux pane".to_string()
        } else {
            format!(
                "background, output in {}",
                self.root.join("cloud.log").display()
            )
        };
        s.push_str(&format!(
            "  cloud service: {cloud_how}; QUIC {CLOUD_QUIC}; status http://{CLOUD_HTTP}/status, sales report http://{CLOUD_HTTP}/report (CSV: /report.csv)\n    or: target/release/keel-cloud report --dir {}\n",
            self.cloud.display()
        ));
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

    /// Runs the cloud and every terminal in its own tmux pane and attaches;
    /// returns tmux's exit code.
    pub fn start_tmux(&self, keel: &Path, keel_cloud: &Path) -> Result<i32> {
        let session = "keel-demo";
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", session])
            .stderr(Stdio::null())
            .status();
        let mut panes = vec![(
            "cloud".to_string(),
            cmd::display(&self.cloud_serve(keel_cloud)),
        )];
        for t in &self.terminals {
            panes.push((t.name.clone(), cmd::display(&self.console(keel, t))));
        }
        for (i, (name, line)) in panes.iter().enumerate() {
            let line = line.as_str();
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
                    line,
                ]);
            } else {
                c.args(["split-window", "-t", session, line]);
            }
            cmd::run(&mut c).with_context(|| format!("tmux pane for {name}"))?;
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

    /// Starts the cloud and terminals 2.. in the background (consoles held open,
    /// output to logs) and terminal 1 in the foreground; returns terminal 1's exit
    /// code after stopping the others.
    pub fn start_plain(
        &self,
        keel: &Path,
        keel_cloud: &Path,
        console_args: &[String],
    ) -> Result<i32> {
        let mut background: Vec<(String, Child)> = Vec::new();
        let log = self.root.join("cloud.log");
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out
            .try_clone()
            .with_context(|| format!("opening {}", log.display()))?;
        let cloud = self
            .cloud_serve(keel_cloud)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("starting the cloud service")?;
        background.push(("cloud".into(), cloud));
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
    Ok(build_release(&["keel-terminal"], &["keel"])?.remove(0))
}

/// Builds the `keel` and `keel-cloud` binaries in release mode; returns their paths.
pub fn build_keel_and_cloud() -> Result<(PathBuf, PathBuf)> {
    let mut bins = build_release(&["keel-terminal", "keel-cloud"], &["keel", "keel-cloud"])?;
    let cloud = bins.remove(1);
    Ok((bins.remove(0), cloud))
}

fn build_release(packages: &[&str], bins: &[&str]) -> Result<Vec<PathBuf>> {
    let mut cargo = cmd::cargo();
    cargo.args(["build", "--release"]);
    for p in packages {
        cargo.args(["-p", p]);
    }
    println!("xtask run: {}", cmd::display(&cargo));
    cmd::run(&mut cargo).context("building keel")?;
    bins.iter()
        .map(|b| {
            let path = target_dir().join("release").join(b);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Error::msg(format!(
                    "the build succeeded but {} is missing",
                    path.display()
                )))
            }
        })
        .collect()
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
    let (keel, keel_cloud) = build_keel_and_cloud()?;
    store.init_cloud(&keel_cloud)?;
    store.provision(&keel)?;
    let tmux = !opts.no_tmux
        && opts.console_args.is_empty()
        && stdio_is_terminal()
        && cmd::on_path("tmux")
        && std::env::var_os("TMUX").is_none();
    println!("{}", store.banner(tmux));
    if tmux {
        store.start_tmux(&keel, &keel_cloud)
    } else {
        store.start_plain(&keel, &keel_cloud, &opts.console_args)
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
        let serve: Vec<_> = s
            .cloud_serve(Path::new("/bin/keel-cloud"))
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(serve, ["serve", "--dir", "/x/demo/cloud"]);
    }

    #[test]
    fn plain_start_forwards_terminal_one_exit_code_and_stops_the_others() {
        let root = std::env::temp_dir().join(format!("xtask-demo-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("root");
        let store = DemoStore::plan(root.clone(), 2);
        let t = Path::new("/bin/true");
        assert_eq!(store.start_plain(t, t, &[]).expect("starts"), 0);
        assert_eq!(
            store
                .start_plain(Path::new("/bin/false"), t, &[])
                .expect("starts"),
            1
        );
        assert!(root.join("t2.log").is_file());
        assert!(root.join("cloud.log").is_file());
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
