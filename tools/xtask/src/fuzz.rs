//! `cargo xtask fuzz`: builds every libFuzzer target of `fuzz/` once
//! (cargo-fuzz, release with debug assertions, no sanitizer, stable
//! toolchain), runs each for N seconds on a copy of its committed corpus,
//! prints `FUZZ <target> runs=… execs_per_s=… corpus=… crashes=…`, and on a
//! crash copies the input to `fuzz/regressions/<target>/<hash>`, says how to
//! reproduce it and fails. docs/fuzzing.md.
//!
//! This module owns the fuzz run and the cargo-fuzz install step of setup
//! ([`prepare`]). It must not install anything while fuzzing, nor write into
//! `fuzz/corpus` (new inputs go to `target/fuzz-corpus`).

use crate::cmd;
use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cargo-fuzz release setup installs (`cargo install --locked`).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds each target runs by default.
pub const DEFAULT_SECONDS: u64 = 30;

/// The target triple cargo-fuzz builds for (its output directory).
const TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// Options of `cargo xtask fuzz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzOptions {
    /// Seconds per target.
    pub seconds: u64,
    /// Only this target.
    pub target: Option<String>,
    /// Targets run at the same time.
    pub jobs: usize,
    /// Run the target once on this input instead of fuzzing.
    pub reproduce: Option<PathBuf>,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            seconds: DEFAULT_SECONDS,
            target: None,
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            reproduce: None,
        }
    }
}

const USAGE: &str =
    "usage: cargo xtask fuzz [--seconds N] [--target NAME] [--jobs J] [--reproduce FILE]";

/// Parses `fuzz` arguments.
pub fn parse(args: &[String]) -> Result<FuzzOptions> {
    let mut opts = FuzzOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::usage(format!("{name} needs a value ({USAGE})")))
        };
        let number = |name: &str, v: String| -> Result<u64> {
            v.parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::usage(format!("{name}: `{v}` is not a positive number")))
        };
        match arg.as_str() {
            "--seconds" => opts.seconds = number("--seconds", value("--seconds")?)?,
            "--jobs" => opts.jobs = number("--jobs", value("--jobs")?)? as usize,
            "--target" => opts.target = Some(value("--target")?),
            "--reproduce" => opts.reproduce = Some(PathBuf::from(value("--reproduce")?)),
            other => {
                return Err(Error::usage(format!(
                    "unknown fuzz argument `{other}` ({USAGE})"
                )))
            }
        }
    }
    if opts.reproduce.is_some() && opts.target.is_none() {
        return Err(Error::usage("--reproduce needs --target"));
    }
    Ok(opts)
}

/// Installs cargo-fuzz [`CARGO_FUZZ_VERSION`] unless that version is on `PATH`
/// (a setup step: quick when present).
pub fn prepare() -> Result<()> {
    let have = Command::new("cargo-fuzz")
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if have.as_deref() == Some(&format!("cargo-fuzz {CARGO_FUZZ_VERSION}")) {
        println!("xtask setup: cargo-fuzz {CARGO_FUZZ_VERSION} present");
        return Ok(());
    }
    let mut install = cmd::cargo();
    install.args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--force",
        "--version",
        CARGO_FUZZ_VERSION,
    ]);
    println!("xtask setup: {}", cmd::display(&install));
    cmd::run(&mut install).context("installing cargo-fuzz")
}

/// The fuzz workspace.
fn fuzz_dir() -> PathBuf {
    cmd::repo_root().join("fuzz")
}

/// Where the fuzz binaries are built (apart from the main build: other flags).
fn target_dir() -> PathBuf {
    cmd::repo_root().join("target/fuzz")
}

/// The `[[bin]]` names of `fuzz/Cargo.toml`, in file order.
pub fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(v) = line.strip_prefix("name") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                names.push(v.to_string());
            }
        }
    }
    names
}

/// The targets to run.
fn targets(opts: &FuzzOptions) -> Result<Vec<String>> {
    let path = fuzz_dir().join("Cargo.toml");
    let manifest =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let all = bin_names(&manifest);
    match &opts.target {
        Some(t) if all.contains(t) => Ok(vec![t.clone()]),
        Some(t) => Err(Error::usage(format!(
            "no fuzz target `{t}` (targets: {})",
            all.join(", ")
        ))),
        None => Ok(all),
    }
}

/// Builds `target` (or every target) once: release with debug assertions, no
/// sanitizer, 16 codegen units. The fuzz workspace gets the main workspace's Cargo.lock so
/// both build the same dependency versions.
fn build(target: Option<&str>) -> Result<()> {
    let root = cmd::repo_root();
    std::fs::copy(root.join("Cargo.lock"), fuzz_dir().join("Cargo.lock"))
        .context("copying Cargo.lock into fuzz/")?;
    let mut cargo = cmd::cargo();
    cargo.current_dir(fuzz_dir()).args([
        "fuzz",
        "build",
        "--release",
        "--debug-assertions",
        "--sanitizer",
        "none",
        // cargo-fuzz's default of 1 leaves a core idle while the big crates
        // compile; CI fuzzes 30 s a target, where the build dominates.
        "--codegen-units",
        "16",
        "--target-dir",
    ]);
    cargo.arg(target_dir());
    cargo.args(target);
    println!("xtask fuzz: {}", cmd::display(&cargo));
    cmd::run(&mut cargo)
        .context("building the fuzz targets (is cargo-fuzz installed? cargo xtask setup)")
}

fn binary(target: &str) -> PathBuf {
    target_dir().join(TRIPLE).join("release").join(target)
}

/// What one run's libFuzzer output says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Inputs executed.
    pub runs: u64,
    /// Average executions per second.
    pub execs_per_s: u64,
    /// Inputs in the corpus at the end.
    pub corpus: u64,
}

/// Reads libFuzzer's `-print_final_stats=1` lines and its last status line.
pub fn parse_stats(log: &str) -> RunStats {
    let mut stats = RunStats::default();
    for line in log.lines() {
        let stat = |name: &str| {
            line.strip_prefix(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let Some(n) = stat("stat::number_of_executed_units:") {
            stats.runs = n;
        } else if let Some(n) = stat("stat::average_exec_per_sec:") {
            stats.execs_per_s = n;
        } else if let Some(at) = line.find(" corp: ") {
            if let Some(n) = line[at + 7..]
                .split('/')
                .next()
                .and_then(|n| n.parse().ok())
            {
                stats.corpus = n;
            }
        }
    }
    stats
}

/// One target being fuzzed.
struct Running {
    target: String,
    child: Child,
    log: PathBuf,
    artifacts: PathBuf,
}

/// Starts fuzzing `target` for `seconds`: new inputs go to
/// `target/fuzz-corpus/<target>`, the committed corpus and regressions are
/// read only.
fn start(target: &str, seconds: u64) -> Result<Running> {
    let root = cmd::repo_root();
    let corpus = root.join("target/fuzz-corpus").join(target);
    let artifacts = root.join("target/fuzz-artifacts").join(target);
    let logs = root.join("target/fuzz-logs");
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let log = logs.join(format!("{target}.log"));
    let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let err = out.try_clone().context("duplicating the log file")?;
    let mut run = Command::new(binary(target));
    run.arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&corpus);
    for seeds in ["fuzz/corpus", "fuzz/regressions"] {
        let dir = root.join(seeds).join(target);
        if dir.is_dir() {
            run.arg(dir);
        }
    }
    run.stdin(Stdio::null()).stdout(out).stderr(err);
    let child = run
        .spawn()
        .with_context(|| format!("cannot start `{}`", cmd::display(&run)))?;
    Ok(Running {
        target: target.to_string(),
        child,
        log,
        artifacts,
    })
}

/// Copies the crashing inputs libFuzzer left in `artifacts` to
/// `fuzz/regressions/<target>/<hash>` and returns their new paths.
fn keep_crashes(target: &str, artifacts: &Path) -> Result<Vec<PathBuf>> {
    let dest = fuzz_dir().join("regressions").join(target);
    let mut kept = Vec::new();
    for entry in std::fs::read_dir(artifacts)
        .context("reading the artifacts")?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((_, hash)) = name.split_once('-') else {
            continue;
        };
        std::fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
        let path = dest.join(hash);
        std::fs::copy(entry.path(), &path)
            .with_context(|| format!("copying {} to {}", name, path.display()))?;
        std::fs::remove_file(entry.path())
            .with_context(|| format!("removing {}", entry.path().display()))?;
        kept.push(path);
    }
    Ok(kept)
}

/// Reports a finished run; returns whether it crashed.
fn finish(run: Running, status: std::process::ExitStatus) -> Result<bool> {
    let log = std::fs::read_to_string(&run.log).unwrap_or_default();
    let stats = parse_stats(&log);
    let crashes = keep_crashes(&run.target, &run.artifacts)?;
    let crashed = !status.success() || !crashes.is_empty();
    println!(
        "FUZZ {} runs={} execs_per_s={} corpus={} crashes={}",
        run.target,
        stats.runs,
        stats.execs_per_s,
        stats.corpus,
        if crashed { crashes.len().max(1) } else { 0 }
    );
    if crashed {
        println!(
            "xtask fuzz: {} failed ({}); its log: {}",
            run.target,
            cmd::describe(status),
            run.log.display()
        );
        let lines: Vec<&str> = log.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("panicked at") {
                // The panic's message is the next line.
                println!("xtask fuzz:   {line}");
                if let Some(message) = lines.get(i + 1) {
                    println!("xtask fuzz:   {message}");
                }
            } else if line.starts_with("==") || line.contains("ERROR: libFuzzer") {
                println!("xtask fuzz:   {line}");
            }
        }
        for path in &crashes {
            let rel = path.strip_prefix(cmd::repo_root()).unwrap_or(path);
            println!("xtask fuzz: input kept as {}", rel.display());
            println!(
                "xtask fuzz: reproduce: cargo xtask fuzz --target {} --reproduce {}",
                run.target,
                rel.display()
            );
        }
        println!(
            "xtask fuzz: fix the decoder, then commit the input: \
             cargo test -p keel-fuzz-targets --test replay replays it on every run"
        );
    }
    Ok(crashed)
}

/// Runs the fuzz task and returns the exit code.
pub fn fuzz(opts: &FuzzOptions) -> Result<i32> {
    let start_all = Instant::now();
    let targets = targets(opts)?;
    build(opts.target.as_deref())?;
    let build_s = start_all.elapsed().as_secs();
    if let Some(input) = &opts.reproduce {
        let mut run = Command::new(binary(&targets[0]));
        run.arg(input);
        println!("xtask fuzz: {}", cmd::display(&run));
        let status = cmd::status(&mut run)?;
        return Ok(cmd::exit_code(status));
    }
    println!(
        "xtask fuzz: {} targets, {} s each, {} at a time",
        targets.len(),
        opts.seconds,
        opts.jobs
    );
    let mut queue = targets.iter();
    let mut running: Vec<Running> = Vec::new();
    let mut crashed = 0;
    loop {
        while crashed == 0 && running.len() < opts.jobs.max(1) {
            match queue.next() {
                Some(t) => running.push(start(t, opts.seconds)?),
                None => break,
            }
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut i = 0;
        while i < running.len() {
            match running[i]
                .child
                .try_wait()
                .context("waiting for a fuzz target")?
            {
                Some(status) => {
                    let run = running.swap_remove(i);
                    if finish(run, status)? {
                        crashed += 1;
                    }
                }
                None => i += 1,
            }
        }
        if crashed > 0 {
            // Stop: the crash is what matters now.
            for mut run in running.drain(..) {
                let _ = run.child.kill();
                let _ = run.child.wait();
                println!("xtask fuzz: {} stopped after the crash", run.target);
            }
        }
    }
    let secs = start_all.elapsed().as_secs();
    println!(
        "FUZZ total targets={} seconds_each={} build_s={build_s} total_s={secs} crashes={crashed}",
        targets.len(),
        opts.seconds
    );
    Ok(if crashed == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bin_names_of_the_fuzz_manifest() {
        let text = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
        let names = bin_names(&text);
        assert!(names.len() >= 20, "{names:?}");
        assert!(names.contains(&"console_line".to_string()));
        for n in &names {
            assert!(
                fuzz_dir()
                    .join("fuzz_targets")
                    .join(format!("{n}.rs"))
                    .is_file(),
                "{n}"
            );
        }
    }

    #[test]
    fn reads_libfuzzer_stats() {
        let log = "#1024\tpulse  cov: 10 ft: 12 corp: 7/300b lim: 4 exec/s: 512 rss: 30Mb\n\
                   #2048\tDONE   cov: 11 ft: 13 corp: 9/310b lim: 4 exec/s: 1000 rss: 30Mb\n\
                   Done 2048 runs in 2 second(s)\n\
                   stat::number_of_executed_units: 2048\n\
                   stat::average_exec_per_sec:     1000\n\
                   stat::new_units_added:          2\n";
        assert_eq!(
            parse_stats(log),
            RunStats {
                runs: 2048,
                execs_per_s: 1000,
                corpus: 9
            }
        );
    }

    #[test]
    fn parses_options() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let o = parse(&args("--seconds 5 --target grubenv --jobs 3")).unwrap();
        assert_eq!(
            (o.seconds, o.target.as_deref(), o.jobs),
            (5, Some("grubenv"), 3)
        );
        assert_eq!(parse(&[]).unwrap().seconds, DEFAULT_SECONDS);
        assert_eq!(parse(&args("--seconds 0")).unwrap_err().exit_code, 2);
        assert_eq!(parse(&args("--reproduce x")).unwrap_err().exit_code, 2);
        assert_eq!(parse(&args("--frobnicate")).unwrap_err().exit_code, 2);
    }
}
