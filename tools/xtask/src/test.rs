//! `cargo xtask test`: the README's test command and what `.ci/run` runs.
//!
//! Runs setup, then `cargo test --workspace --features keel-ai/tflite --locked
//! --no-fail-fast` (the AI tests on the real TensorFlow Lite library), passing
//! cargo's output through unchanged (CI reads its `test result:` lines), and
//! ends with one summary line totalling every test binary. When the whole
//! workspace was tested, it then runs the README's run command end to end on
//! the debug binaries just built (`cargo xtask demo-check`, [`crate::demo_check`]:
//! the demo store's sales must reach the cloud's report), builds the appliance's UI binary as the image
//! ships it (`keel-kiosk --features kms,tflite`: linuxkms with GL, the AI on
//! the real TensorFlow Lite library), so a change that breaks the fullscreen
//! build fails the suite even though no test here can open a DRM device; runs
//! 1,000 seeds of the store simulator (`cargo xtask sim`, [`crate::sim`]); runs
//! every fuzz target for 30 s (`cargo xtask fuzz`, [`crate::fuzz`]); and
//! builds the dev disk image with that binary and boots it under qemu
//! (`cargo xtask image`, `cargo xtask boot-test`). Exits with the first
//! failing step's exit code.

use crate::cmd;
use crate::error::{Context, Error, Result};
use crate::setup;
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Instant;

/// Environment variable read by the terminal's crash test: how many SIGKILLs.
pub const CRASH_ITERATIONS_VAR: &str = "KEEL_CRASH_ITERATIONS";

/// Default crash iterations when the variable is unset (the test's own default).
pub const CRASH_ITERATIONS_DEFAULT: u32 = 200;

/// Options of `cargo xtask test`.
#[derive(Default)]
pub struct TestOptions {
    /// Skip the apt package check.
    pub skip_setup: bool,
    /// Sets `KEEL_CRASH_ITERATIONS` for the run.
    pub crash_iterations: Option<u32>,
    /// Arguments after `--`, appended to `cargo test`.
    pub cargo_args: Vec<String>,
}

/// Parses `test` arguments.
pub fn parse(args: &[String]) -> Result<TestOptions> {
    let mut opts = TestOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--" => {
                opts.cargo_args = it.by_ref().cloned().collect();
            }
            "--skip-setup" => opts.skip_setup = true,
            "--crash-iterations" => {
                let n = it.next().ok_or_else(|| Error::usage("--crash-iterations needs a number"))?;
                let n = n
                    .parse()
                    .map_err(|_| Error::usage(format!("--crash-iterations: `{n}` is not a number")))?;
                opts.crash_iterations = Some(n);
            }
            other => {
                return Err(Error::usage(format!(
                    "unknown test argument `{other}` \
                     (usage: cargo xtask test [--skip-setup] [--crash-iterations N] [-- CARGO-TEST-ARGS])"
                )))
            }
        }
    }
    Ok(opts)
}

/// Totals collected from cargo test's `test result:` lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Number of `test result:` lines (test binaries and doc-test runs).
    pub runs: u32,
    /// Tests passed.
    pub passed: u64,
    /// Tests failed.
    pub failed: u64,
    /// Tests ignored.
    pub ignored: u64,
    /// Names of failed tests (`test NAME ... FAILED`).
    pub failures: Vec<String>,
    /// Each failed test's panic (its `---- NAME stdout ----` section's
    /// `panicked at` line and the message after it), repeated at the end of
    /// the run so a long log's tail still says why.
    pub panics: Vec<(String, Vec<String>)>,
    /// The failure section being read and whether its panic message is being copied.
    section: Option<(String, bool)>,
}

/// Lines of one panic message kept for the summary.
const PANIC_LINES: usize = 12;

impl Totals {
    /// Feeds one line of cargo test's stdout.
    pub fn line(&mut self, line: &str) {
        let line = line.trim_end();
        self.failure_section(line);
        if let Some(rest) = line.strip_prefix("test result: ") {
            self.runs += 1;
            for part in rest.split(['.', ';']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next()) {
                    if let Ok(n) = n.parse::<u64>() {
                        match what {
                            "passed" => self.passed += n,
                            "failed" => self.failed += n,
                            "ignored" => self.ignored += n,
                            _ => {}
                        }
                    }
                }
            }
        } else if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|l| l.strip_suffix(" ... FAILED"))
        {
            self.failures.push(name.to_string());
        }
    }

    /// Follows libtest's failure sections: `---- NAME stdout ----`, the
    /// test's output, then `failures:`.
    fn failure_section(&mut self, line: &str) {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            self.section = Some((name.to_string(), false));
            return;
        }
        let Some((name, copying)) = self.section.as_mut() else {
            return;
        };
        if line == "failures:" || line.starts_with("test result: ") {
            self.section = None;
        } else if line.contains("panicked at") {
            *copying = true;
            self.panics.push((name.clone(), vec![line.to_string()]));
        } else if *copying {
            let stop = line.is_empty()
                || line.starts_with("stack backtrace:")
                || line.starts_with("note: run with");
            match self.panics.last_mut() {
                Some((_, lines)) if !stop && lines.len() < PANIC_LINES => {
                    lines.push(line.to_string())
                }
                _ => *copying = false,
            }
        }
    }
}

/// The feature that runs inference through the real TensorFlow Lite library.
pub const AI_FEATURE: &str = "keel-ai/tflite";

/// Whether the caller's cargo arguments pick packages (`-p`, `--package`).
fn picks_package(extra: &[String]) -> bool {
    extra
        .iter()
        .take_while(|a| a.as_str() != "--")
        .any(|a| a == "-p" || a.starts_with("--package") || (a.starts_with("-p") && a.len() > 2))
}

/// The `cargo` arguments: the whole workspace unless the caller picked
/// packages (`-- -p keel-core`), which `--workspace` would override.
pub fn test_args(extra: &[String]) -> Vec<String> {
    let mut args = vec!["test".to_string()];
    if !picks_package(extra) {
        args.push("--workspace".to_string());
        // The AI tests run on the real TensorFlow Lite library (setup unpacks it).
        args.extend(["--features", AI_FEATURE].map(String::from));
    }
    args.extend(["--locked", "--no-fail-fast"].map(String::from));
    args.extend(extra.iter().cloned());
    args
}

/// `cargo fmt --all --check`: unformatted code fails the suite. Adds the rustfmt
/// component first when this toolchain lacks it.
fn check_format() -> Result<()> {
    let has_rustfmt = cmd::cargo()
        .args(["fmt", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_rustfmt {
        println!("xtask test: rustup component add rustfmt");
        cmd::run(std::process::Command::new("rustup").args(["component", "add", "rustfmt"]))
            .context("installing rustfmt")?;
    }
    let mut fmt = cmd::cargo();
    fmt.args(["fmt", "--all", "--check"]);
    println!("xtask test: {}", cmd::display(&fmt));
    cmd::run(&mut fmt).context("formatting differs from `cargo fmt --all`; run it and commit")
}

/// Runs the whole test suite and returns the exit code to end with.
pub fn test(opts: &TestOptions) -> Result<i32> {
    let start = Instant::now();
    if !opts.skip_setup {
        setup::setup(&setup::SetupOptions::default()).context("setup")?;
    }
    check_format()?;
    let mut cargo = cmd::cargo();
    cargo.args(test_args(&opts.cargo_args));
    if let Some(n) = opts.crash_iterations {
        cargo.env(CRASH_ITERATIONS_VAR, n.to_string());
    }
    let crash = opts
        .crash_iterations
        .map(|n| n.to_string())
        .or_else(|| std::env::var(CRASH_ITERATIONS_VAR).ok())
        .unwrap_or_else(|| format!("{CRASH_ITERATIONS_DEFAULT} (default)"));
    println!(
        "xtask test: {} ({CRASH_ITERATIONS_VAR}={crash})",
        cmd::display(&cargo)
    );
    flush();

    // Tests never read the terminal: a test waiting on stdin would hang CI.
    cargo.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut child = cargo
        .spawn()
        .with_context(|| format!("cannot start `{}`", cmd::display(&cargo)))?;
    let mut totals = Totals::default();
    if let Some(mut out) = child.stdout.take() {
        pass_through(&mut out, &mut totals).context("reading cargo test output")?;
    }
    let status = child.wait().context("waiting for cargo test")?;
    let mut code = cmd::exit_code(status);
    let secs = start.elapsed().as_secs();
    let counts = format!(
        "{} passed, {} failed, {} ignored in {} test runs, {secs} s",
        totals.passed, totals.failed, totals.ignored, totals.runs
    );
    if status.success() {
        println!("xtask test: ok: {counts}");
    } else {
        if !totals.failures.is_empty() {
            println!("xtask test: failed tests: {}", totals.failures.join(", "));
        }
        for (name, lines) in &totals.panics {
            println!("xtask test: {name}:");
            for l in lines {
                println!("xtask test:   {l}");
            }
        }
        let when = if totals.runs == 0 {
            ", before any test ran; see the errors above"
        } else {
            ""
        };
        println!(
            "xtask test: FAILED (cargo test {}{when}): {counts}",
            cmd::describe(status)
        );
    }
    flush();
    if !picks_package(&opts.cargo_args) {
        let demo = run_demo_check();
        if code == 0 {
            code = demo;
        }
        let appliance = build_appliance_ui();
        if code == 0 {
            code = appliance;
        }
        let simulated = run_sim();
        if code == 0 {
            code = simulated;
        }
        let fuzzed = run_fuzz();
        if code == 0 {
            code = fuzzed;
        }
        let booted = run_image_boot_test();
        if code == 0 {
            code = booted;
        }
    }
    Ok(code)
}

/// The README's run command end to end on the debug `keel` and `keel-cloud`
/// the test suite has just built (`cargo xtask demo-check --bin-dir
/// target/debug`): the demo store's sales must show in the cloud's report.
fn run_demo_check() -> i32 {
    let opts = crate::demo_check::DemoCheckOptions {
        bin_dir: Some(crate::run::target_dir().join("debug")),
        skip_setup: true,
        ..Default::default()
    };
    println!("xtask test: demo-check (the run command's store and cloud, on the debug binaries)");
    flush();
    match crate::demo_check::demo_check(&opts) {
        Ok(code) => code,
        Err(e) => {
            println!("xtask test: demo-check: {e}");
            1
        }
    }
}

/// The `cargo build` arguments of the appliance UI check: exactly the image's
/// build of keel-kiosk, so the image step reuses the binary.
pub fn appliance_build_args() -> Vec<String> {
    crate::image::kiosk_build_args()
}

/// Builds the dev disk image afresh (a warm rebuild reuses the debootstrap
/// cache and the appliance binary just built) and boots it under qemu
/// (`cargo xtask boot-test`); returns the exit code.
fn run_image_boot_test() -> i32 {
    let step = || -> Result<i32> {
        let image = crate::image::parse(&[])?;
        println!(
            "xtask test: image: building {} for {}",
            image.out.display(),
            image.board
        );
        flush();
        crate::image::build(&image)?;
        let mut boot = crate::boot_test::parse(&[])?;
        boot.image = image.out.clone();
        boot.board = image.board.clone();
        // The OTA phase too: update into slot B, a failing update rolled back
        // (about 3.5 min more under TCG; docs/image.md).
        boot.ota = true;
        println!("xtask test: boot-test --ota: {}", boot.image.display());
        flush();
        crate::boot_test::boot_test(&boot)
    };
    match step() {
        Ok(0) => {
            println!("xtask test: image and boot-test: ok");
            0
        }
        Ok(code) => {
            println!("xtask test: FAILED: boot-test (see the xtask boot-test lines above)");
            code
        }
        Err(e) => {
            println!("xtask test: FAILED: image or boot-test: {e}");
            e.exit_code.max(1)
        }
    }
}

/// Builds `keel-kiosk` with its `kms` feature (linuxkms, femtovg over EGL/GBM
/// with the software renderer as fallback) and `tflite`, as the image ships
/// it, and returns the exit code.
fn build_appliance_ui() -> i32 {
    let mut cargo = cmd::cargo();
    cargo.args(appliance_build_args()).stdin(Stdio::null());
    println!("xtask test: appliance UI build: {}", cmd::display(&cargo));
    flush();
    match cargo.status() {
        Ok(status) if status.success() => {
            println!("xtask test: appliance UI build: ok");
            0
        }
        Ok(status) => {
            println!(
                "xtask test: FAILED: appliance UI build (keel-kiosk --features kms,tflite) {}",
                cmd::describe(status)
            );
            cmd::exit_code(status).max(1)
        }
        Err(e) => {
            println!("xtask test: FAILED: cannot start the appliance UI build: {e}");
            1
        }
    }
}

/// Runs the store simulator's CI seeds ([`crate::sim::CI_ARGS`]: 1,000 seeds,
/// sizes from each seed; keel-sim prints its `SIM seeds=…` line) and returns
/// the exit code.
fn run_sim() -> i32 {
    let args: Vec<String> = crate::sim::CI_ARGS.iter().map(|a| a.to_string()).collect();
    println!("xtask test: sim: {}", args.join(" "));
    flush();
    match crate::sim::sim(&args) {
        Ok(0) => {
            println!("xtask test: sim: ok");
            0
        }
        Ok(code) => {
            println!("xtask test: FAILED: sim (see the failing seeds' replay lines above)");
            code
        }
        Err(e) => {
            println!("xtask test: FAILED: sim: {e}");
            e.exit_code.max(1)
        }
    }
}

/// Runs every fuzz target for [`crate::fuzz::DEFAULT_SECONDS`] (`cargo xtask
/// fuzz`) and returns the exit code.
fn run_fuzz() -> i32 {
    let opts = crate::fuzz::FuzzOptions::default();
    println!(
        "xtask test: fuzz: every target for {} s, {} at a time",
        opts.seconds, opts.jobs
    );
    flush();
    match crate::fuzz::fuzz(&opts) {
        Ok(0) => {
            println!("xtask test: fuzz: ok");
            0
        }
        Ok(code) => {
            println!("xtask test: FAILED: fuzz (a target crashed; see FUZZ lines above)");
            code
        }
        Err(e) => {
            println!("xtask test: FAILED: fuzz: {e}");
            e.exit_code.max(1)
        }
    }
}

/// Copies `out` to our stdout as it arrives (partial lines included) while
/// feeding complete lines to `totals`.
fn pass_through(out: &mut impl Read, totals: &mut Totals) -> Result<()> {
    let stdout = std::io::stdout();
    let mut buf = [0u8; 8192];
    let mut line = Vec::new();
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let mut lock = stdout.lock();
        // A closed stdout (e.g. `| head`) must not abort the test run.
        let _ = lock.write_all(&buf[..n]).and_then(|()| lock.flush());
        for &b in &buf[..n] {
            if b == b'\n' {
                totals.line(&String::from_utf8_lossy(&line));
                line.clear();
            } else {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        totals.line(&String::from_utf8_lossy(&line));
    }
    Ok(())
}

fn flush() {
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_result_lines_and_collect_failures() {
        let mut t = Totals::default();
        for l in [
            "running 3 tests",
            "test a::b ... ok",
            "test a::c ... FAILED",
            "test a::d ... ignored",
            "test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: ok. 12 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s",
        ] {
            t.line(l);
        }
        assert_eq!(t.runs, 2);
        assert_eq!((t.passed, t.failed, t.ignored), (13, 1, 1));
        assert_eq!(t.failures, vec!["a::c".to_string()]);
    }

    #[test]
    fn panics_are_kept_from_failure_sections() {
        let mut t = Totals::default();
        for l in [
            "test a::c ... FAILED",
            "",
            "failures:",
            "",
            "---- a::c stdout ----",
            "some output the test printed",
            "",
            "thread 'a::c' (123) panicked at src/a.rs:9:5:",
            "assertion `left == right` failed: counted",
            "  left: 1",
            " right: 2",
            "stack backtrace:",
            "   0: frames",
            "",
            "failures:",
            "    a::c",
            "thread 'x' panicked at elsewhere.rs:1:1:",
            "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s",
        ] {
            t.line(l);
        }
        assert_eq!(
            t.panics,
            vec![(
                "a::c".to_string(),
                vec![
                    "thread 'a::c' (123) panicked at src/a.rs:9:5:".to_string(),
                    "assertion `left == right` failed: counted".to_string(),
                    "  left: 1".to_string(),
                    " right: 2".to_string(),
                ]
            )]
        );
    }

    #[test]
    fn parse_forwards_args_after_double_dash() {
        let args: Vec<String> = ["--crash-iterations", "5", "--", "-p", "keel-core"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse(&args).expect("parses");
        assert_eq!(o.crash_iterations, Some(5));
        assert_eq!(o.cargo_args, vec!["-p", "keel-core"]);
    }

    #[test]
    fn workspace_unless_a_package_is_picked() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(
            test_args(&[]),
            s(&[
                "test",
                "--workspace",
                "--features",
                "keel-ai/tflite",
                "--locked",
                "--no-fail-fast"
            ])
        );
        assert_eq!(
            test_args(&s(&["-p", "xtask"])),
            s(&["test", "--locked", "--no-fail-fast", "-p", "xtask"])
        );
        assert!(test_args(&s(&["--", "-p"])).contains(&"--workspace".to_string()));
    }

    #[test]
    fn appliance_build_is_the_kms_feature_with_gl() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert!(!picks_package(&[]));
        assert!(picks_package(&s(&["-p", "keel-core"])));
        assert!(picks_package(&s(&["--package=keel-core"])));
        let args = appliance_build_args();
        let features = args
            .iter()
            .skip_while(|a| a.as_str() != "--features")
            .nth(1)
            .cloned()
            .unwrap_or_default();
        assert_eq!(features, "kms,tflite", "{args:?}");
        let feature = "kms";
        // The feature the check builds must be the one that turns on linuxkms and GL.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let kiosk = std::fs::read_to_string(root.join("firmware/kiosk/Cargo.toml")).unwrap();
        let line = kiosk
            .lines()
            .find(|l| l.starts_with(&format!("{feature} =")))
            .unwrap_or_else(|| panic!("keel-kiosk has no feature `{feature}`"));
        assert!(
            line.contains("keel-ui/linuxkms") && line.contains("keel-ui/gl"),
            "{line}"
        );
        let ui = std::fs::read_to_string(root.join("ui-slint/Cargo.toml")).unwrap();
        assert!(ui
            .lines()
            .any(|l| l.starts_with("gl =") && l.contains("slint/renderer-femtovg")));
    }
}
