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
//! and `keel-cloud report --dir <root>/cloud`.
//!
//! Terminal 1 runs with its touch UI (`keel-kiosk`, the same terminal and
//! console as `keel console` plus the screens): in a window when a display
//! server is there (`DISPLAY` or `WAYLAND_DISPLAY`; keel-kiosk is then built
//! with its `desktop` feature), headless otherwise, its newest frame written
//! to `<root>/t1-ui.png` ([`UiPlan`]). `--no-ui` runs plain `keel console`
//! there instead.

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
    /// Terminal 1 without its UI (plain `keel console`).
    pub no_ui: bool,
    /// Arguments after `--`, appended to terminal 1's `keel console` (e.g. `--json`).
    pub console_args: Vec<String>,
}

const USAGE: &str = "usage: cargo xtask run [--terminals N] [--data-dir DIR] [--fresh] [--no-tmux] [--no-ui] [--skip-setup] [-- CONSOLE-ARGS]";

/// The variable that overrides keel-kiosk's backend choice.
pub const UI_BACKEND_ENV: &str = "KEEL_UI_BACKEND";

/// How terminal 1's UI runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiPlan {
    /// A window on this desktop: the display server's variable and value.
    Window {
        /// `WAYLAND_DISPLAY` or `DISPLAY`.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// No display: the software renderer draws off-screen; the newest frame
    /// is written to `frame`.
    Headless {
        /// The PNG the newest frame goes to.
        frame: PathBuf,
    },
}

impl UiPlan {
    /// The plan for this machine: a window when `env` has a display server,
    /// headless (frames in `root/t1-ui.png`) otherwise.
    pub fn detect(root: &Path, env: impl Fn(&str) -> Option<String>) -> UiPlan {
        let var = |name: &'static str| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|value| (name, value))
        };
        match var("WAYLAND_DISPLAY").or_else(|| var("DISPLAY")) {
            Some((var, value)) => UiPlan::Window { var, value },
            None => UiPlan::Headless {
                frame: root.join("t1-ui.png"),
            },
        }
    }

    /// The cargo feature keel-kiosk is built with for this plan.
    pub fn cargo_feature(&self) -> Option<&'static str> {
        match self {
            UiPlan::Window { .. } => Some("keel-kiosk/desktop"),
            UiPlan::Headless { .. } => None,
        }
    }

    /// `keel-kiosk`'s environment: the backend (unless `override_backend`,
    /// the user's own `KEEL_UI_BACKEND`, says otherwise), and the display or
    /// the frame file.
    pub fn env(&self, override_backend: Option<String>) -> Vec<(String, String)> {
        let (backend, extra) = match self {
            UiPlan::Window { var, value } => ("winit", (var.to_string(), value.clone())),
            UiPlan::Headless { frame } => (
                "headless",
                ("KEEL_UI_FRAME".to_string(), frame.display().to_string()),
            ),
        };
        vec![
            (
                UI_BACKEND_ENV.to_string(),
                override_backend.unwrap_or_else(|| backend.to_string()),
            ),
            extra,
        ]
    }

    /// One line for the banner.
    pub fn describe(&self) -> String {
        match self {
            UiPlan::Window { var, value } => {
                format!("touch UI in a window on {var}={value} (keel-kiosk; closing it ends terminal 1)")
            }
            UiPlan::Headless { frame } => format!(
                "touch UI headless (no DISPLAY or WAYLAND_DISPLAY; keel-kiosk renders off-screen, newest frame in {})",
                frame.display()
            ),
        }
    }
}

/// The programs the demo store runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// `keel`.
    pub keel: PathBuf,
    /// `keel-cloud`.
    pub keel_cloud: PathBuf,
    /// `keel-kiosk` and how its UI runs, for terminal 1 (`None`: no UI).
    pub kiosk: Option<(PathBuf, UiPlan)>,
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
            "--no-tmux" => opts.no_tmux = true,
            "--no-ui" => opts.no_ui = true,
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

    /// Gives every terminal the demo camera (`[ai] camera = "dir:<pictures>"`:
    /// the held-out product pictures, one per press of the camera button)
    /// unless its config already has an `[ai]` section.
    pub fn add_demo_camera(&self, pictures: &Path) -> Result<()> {
        for t in &self.terminals {
            let text = std::fs::read_to_string(&t.config)
                .with_context(|| format!("reading {}", t.config.display()))?;
            if text.lines().any(|l| l.trim() == "[ai]") {
                continue;
            }
            let section = demo_camera_section(pictures);
            std::fs::write(&t.config, format!("{}\n{section}", text.trim_end()))
                .with_context(|| format!("writing {}", t.config.display()))?;
        }
        Ok(())
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

    /// `env KEEL_UI_BACKEND=... keel-kiosk --config ... --demo-cards` for
    /// terminal `t`: the same terminal and console as [`DemoStore::console`]
    /// with the touch UI (`env` puts the plan's variables on the command line,
    /// so a tmux pane gets them too). The demo store has no card terminal, so
    /// the demo one approves card tenders.
    pub fn kiosk(
        &self,
        kiosk: &Path,
        ui: &UiPlan,
        override_backend: Option<String>,
        t: &DemoTerminal,
    ) -> Command {
        let mut c = Command::new("env");
        for (k, v) in ui.env(override_backend) {
            c.arg(format!("{k}={v}"));
        }
        c.arg(kiosk)
            .arg("--config")
            .arg(&t.config)
            .arg("--demo-cards");
        c
    }

    /// The command for the terminal at `index` (0 is terminal 1, the one with the UI).
    fn terminal_command(&self, bins: &Binaries, index: usize, t: &DemoTerminal) -> Command {
        match (&bins.kiosk, index) {
            (Some((kiosk, ui)), 0) => self.kiosk(kiosk, ui, std::env::var(UI_BACKEND_ENV).ok(), t),
            _ => self.console(&bins.keel, t),
        }
    }

    /// What the user sees before the consoles start.
    pub fn banner(&self, tmux: bool, ui: Option<&UiPlan>) -> String {
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
            if let (0, Some(ui)) = (i, ui) {
                s.push_str(&format!("    and its {}\n", ui.describe()));
            }
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
    pub fn start_tmux(&self, bins: &Binaries) -> Result<i32> {
        let session = "keel-demo";
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", session])
            .stderr(Stdio::null())
            .status();
        let mut panes = vec![(
            "cloud".to_string(),
            cmd::display(&self.cloud_serve(&bins.keel_cloud)),
        )];
        for (i, t) in self.terminals.iter().enumerate() {
            panes.push((
                t.name.clone(),
                cmd::display(&self.terminal_command(bins, i, t)),
            ));
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
    pub fn start_plain(&self, bins: &Binaries, console_args: &[String]) -> Result<i32> {
        let mut background: Vec<(String, Child)> = Vec::new();
        let log = self.root.join("cloud.log");
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out
            .try_clone()
            .with_context(|| format!("opening {}", log.display()))?;
        let cloud = self
            .cloud_serve(&bins.keel_cloud)
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
                .console(&bins.keel, t)
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
            Some(t) => cmd::status(self.terminal_command(bins, 0, t).args(console_args))
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

/// Builds `keel`, `keel-cloud` and, for `ui`, `keel-kiosk` (with the
/// feature the plan needs) in release mode; returns their paths.
pub fn build_demo(ui: Option<UiPlan>) -> Result<Binaries> {
    let (packages, names, mut features): (Vec<&str>, Vec<&str>, Vec<&str>) = match &ui {
        Some(plan) => (
            vec!["keel-terminal", "keel-cloud", "keel-kiosk"],
            vec!["keel", "keel-cloud", "keel-kiosk"],
            plan.cargo_feature().into_iter().collect(),
        ),
        None => (
            vec!["keel-terminal", "keel-cloud"],
            vec!["keel", "keel-cloud"],
            Vec::new(),
        ),
    };
    // The demo runs its AI models through the real TensorFlow Lite library
    // (setup has unpacked it into target/tflite).
    features.push("keel-terminal/tflite");
    let mut paths = build_release_with(&packages, &names, &features)?.into_iter();
    let mut next = || {
        paths
            .next()
            .ok_or_else(|| Error::msg("the build returned fewer binaries than asked"))
    };
    let keel = next()?;
    let keel_cloud = next()?;
    let kiosk = match ui {
        Some(plan) => Some((next()?, plan)),
        None => None,
    };
    Ok(Binaries {
        keel,
        keel_cloud,
        kiosk,
    })
}

fn build_release(packages: &[&str], bins: &[&str]) -> Result<Vec<PathBuf>> {
    build_release_with(packages, bins, &[])
}

fn build_release_with(packages: &[&str], bins: &[&str], features: &[&str]) -> Result<Vec<PathBuf>> {
    let mut cargo = cmd::cargo();
    cargo.args(["build", "--release"]);
    for p in packages {
        cargo.args(["-p", p]);
    }
    if !features.is_empty() {
        cargo.args(["--features", &features.join(",")]);
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

/// The demo camera's pictures: the product-recognition model's held-out frames.
pub fn demo_pictures() -> PathBuf {
    cmd::repo_root().join("models/product-recognition/holdout")
}

/// The `[ai]` section naming `pictures` as the camera (a TOML basic string).
fn demo_camera_section(pictures: &Path) -> String {
    let path = pictures.display().to_string();
    let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\n[ai]\n# The demo's camera: the held-out product pictures, one per capture.\ncamera = \"dir:{quoted}\"\n")
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
    let ui = (!opts.no_ui).then(|| UiPlan::detect(&root, |k| std::env::var(k).ok()));
    let bins = build_demo(ui)?;
    store.init_cloud(&bins.keel_cloud)?;
    store.provision(&bins.keel)?;
    store.add_demo_camera(&demo_pictures())?;
    let tmux = !opts.no_tmux
        && opts.console_args.is_empty()
        && stdio_is_terminal()
        && cmd::on_path("tmux")
        && std::env::var_os("TMUX").is_none();
    println!(
        "{}",
        store.banner(tmux, bins.kiosk.as_ref().map(|(_, plan)| plan))
    );
    if tmux {
        store.start_tmux(&bins)
    } else {
        store.start_plain(&bins, &opts.console_args)
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
    fn the_demo_camera_is_added_once() {
        let dir = std::env::temp_dir().join(format!("xtask-camera-{}", std::process::id()));
        let s = DemoStore::plan(dir.clone(), 1);
        let config = &s.terminals[0].config;
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(config, "[terminal]\nid = 1\n").unwrap();
        let pictures = Path::new("/x/models/product-recognition/holdout");
        s.add_demo_camera(pictures).unwrap();
        s.add_demo_camera(pictures).unwrap();
        let text = std::fs::read_to_string(config).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(text.matches("[ai]").count(), 1, "{text}");
        assert!(text.starts_with("[terminal]\nid = 1\n\n[ai]\n"), "{text}");
        assert!(
            text.contains("\ncamera = \"dir:/x/models/product-recognition/holdout\"\n"),
            "{text}"
        );
        assert_eq!(
            demo_camera_section(Path::new("/a \"b\"")).lines().last(),
            Some("camera = \"dir:/a \\\"b\\\"\"")
        );
    }

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
        let bins = |keel: &str| Binaries {
            keel: keel.into(),
            keel_cloud: "/bin/true".into(),
            kiosk: None,
        };
        assert_eq!(
            store.start_plain(&bins("/bin/true"), &[]).expect("starts"),
            0
        );
        assert_eq!(
            store.start_plain(&bins("/bin/false"), &[]).expect("starts"),
            1
        );
        // With a UI, terminal 1 is keel-kiosk: its exit code is the one forwarded.
        let headless = UiPlan::Headless {
            frame: root.join("t1-ui.png"),
        };
        let with_ui = |kiosk: &str| Binaries {
            kiosk: Some((kiosk.into(), headless.clone())),
            ..bins("/bin/true")
        };
        assert_eq!(
            store
                .start_plain(&with_ui("/bin/false"), &[])
                .expect("starts"),
            1
        );
        assert_eq!(
            store
                .start_plain(&with_ui("/bin/true"), &[])
                .expect("starts"),
            0
        );
        assert!(root.join("t2.log").is_file());
        assert!(root.join("cloud.log").is_file());
        std::fs::remove_dir_all(&root).expect("cleans up");
    }

    #[test]
    fn terminal_one_gets_a_window_with_a_display_and_runs_headless_without() {
        let root = Path::new("/x/demo");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let window = UiPlan::detect(root, env(&[("DISPLAY", ":0")]));
        assert_eq!(
            window,
            UiPlan::Window {
                var: "DISPLAY",
                value: ":0".into()
            }
        );
        assert_eq!(window.cargo_feature(), Some("keel-kiosk/desktop"));
        let wayland = UiPlan::detect(
            root,
            env(&[("DISPLAY", ":0"), ("WAYLAND_DISPLAY", "wayland-0")]),
        );
        assert!(matches!(
            wayland,
            UiPlan::Window {
                var: "WAYLAND_DISPLAY",
                ..
            }
        ));
        let headless = UiPlan::detect(root, env(&[("DISPLAY", " ")]));
        assert_eq!(
            headless,
            UiPlan::Headless {
                frame: PathBuf::from("/x/demo/t1-ui.png")
            }
        );
        assert_eq!(headless.cargo_feature(), None);

        let s = DemoStore::plan(root.to_path_buf(), 2);
        let args = |c: Command| -> Vec<String> {
            std::iter::once(c.get_program().to_string_lossy().into_owned())
                .chain(c.get_args().map(|a| a.to_string_lossy().into_owned()))
                .collect()
        };
        assert_eq!(
            args(s.kiosk(Path::new("/bin/keel-kiosk"), &window, None, &s.terminals[0])),
            [
                "env",
                "KEEL_UI_BACKEND=winit",
                "DISPLAY=:0",
                "/bin/keel-kiosk",
                "--config",
                "/x/demo/store/t1/terminal.toml",
                "--demo-cards"
            ]
        );
        assert_eq!(
            args(s.kiosk(
                Path::new("/bin/keel-kiosk"),
                &headless,
                None,
                &s.terminals[0]
            ))[1..3],
            [
                "KEEL_UI_BACKEND=headless",
                "KEEL_UI_FRAME=/x/demo/t1-ui.png"
            ]
        );
        // The user's own override wins.
        assert_eq!(
            args(s.kiosk(
                Path::new("/bin/keel-kiosk"),
                &window,
                Some("headless".into()),
                &s.terminals[0]
            ))[1],
            "KEEL_UI_BACKEND=headless"
        );
        // Terminal 1 has the UI, the others stay plain consoles.
        let bins = Binaries {
            keel: "/bin/keel".into(),
            keel_cloud: "/bin/keel-cloud".into(),
            kiosk: Some(("/bin/keel-kiosk".into(), headless.clone())),
        };
        assert_eq!(
            args(s.terminal_command(&bins, 0, &s.terminals[0]))[0],
            "env"
        );
        assert_eq!(
            args(s.terminal_command(&bins, 1, &s.terminals[1])),
            [
                "/bin/keel",
                "console",
                "--config",
                "/x/demo/store/t2/terminal.toml"
            ]
        );
        let banner = s.banner(false, Some(&headless));
        assert!(banner.contains("touch UI headless"), "{banner}");
        assert!(banner.contains("/x/demo/t1-ui.png"), "{banner}");
        assert!(!s.banner(false, None).contains("touch UI"));
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
        assert!(!o.no_ui);
        assert!(parse(&["--no-ui".to_string()]).expect("parses").no_ui);
        assert!(parse(&["--terminals".to_string(), "0".to_string()]).is_err());
    }
}
