//! `cargo xtask demo-check`: proves the README's run command end to end without
//! a person at the keyboard. It starts the same demo store as `cargo xtask run`
//! (a fresh one under `target/tmp/demo-check`: the cloud service with embedded
//! storage plus N terminals on loopback, provisioned by `keel provision
//! --operator`), rings up cash sales on terminal 1's console (`--json`), and
//! waits until the cloud's sales report (`keel-cloud report --csv`, what the
//! operator reads) shows exactly those sales with exactly their total.
//!
//! It prints `DEMO terminals=… sales=… gross_minor=… sale_to_cloud_s=…` and the
//! report. `cargo xtask test` runs it on the debug binaries the test suite
//! has just built (`--bin-dir target/debug`); on its own it builds the release
//! binaries as `run` does.
//!
//! This module only drives processes and reads their output; it must not
//! reach into the store's or the cloud's files.

use crate::cmd;
use crate::error::{Context, Error, Result};
use crate::run::{Binaries, DemoStore};
use crate::setup;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The barcode rung up (the demo catalog's dark chocolate, CHOC-100).
const BARCODE: &str = "4006381333931";
/// How long one console command may take to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the sales may take to show in the cloud's report.
const CLOUD_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of `cargo xtask demo-check`.
#[derive(Debug, PartialEq, Eq)]
pub struct DemoCheckOptions {
    /// Where `keel` and `keel-cloud` are (`None`: build them in release).
    pub bin_dir: Option<PathBuf>,
    /// Terminals in the demo store.
    pub terminals: u32,
    /// Cash sales rung up on terminal 1.
    pub sales: u32,
    /// Skip the apt package check.
    pub skip_setup: bool,
}

impl Default for DemoCheckOptions {
    fn default() -> Self {
        DemoCheckOptions {
            bin_dir: None,
            terminals: crate::run::DEFAULT_TERMINALS,
            sales: 3,
            skip_setup: false,
        }
    }
}

/// Parses `demo-check` arguments.
pub fn parse(args: &[String]) -> Result<DemoCheckOptions> {
    let mut opts = DemoCheckOptions::default();
    let mut it = args.iter();
    let number = |flag: &str, v: Option<&String>, range: std::ops::RangeInclusive<u32>| {
        let v = v.ok_or_else(|| Error::usage(format!("{flag} needs a number")))?;
        v.parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                Error::usage(format!(
                    "{flag} must be {} to {}, got `{v}`",
                    range.start(),
                    range.end()
                ))
            })
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bin-dir" => {
                let dir = it
                    .next()
                    .ok_or_else(|| Error::usage("--bin-dir needs a directory"))?;
                opts.bin_dir = Some(PathBuf::from(dir));
            }
            "--terminals" => opts.terminals = number("--terminals", it.next(), 1..=9)?,
            "--sales" => opts.sales = number("--sales", it.next(), 1..=100)?,
            "--skip-setup" => opts.skip_setup = true,
            other => {
                return Err(Error::usage(format!(
                    "unknown demo-check argument `{other}`"
                )))
            }
        }
    }
    Ok(opts)
}

/// Processes started by the check; killed and reaped when dropped.
struct Started(Vec<(String, Child)>);

impl Drop for Started {
    fn drop(&mut self) {
        for (name, child) in self.0.iter_mut() {
            if let Err(e) = child.kill() {
                eprintln!("xtask demo-check: stopping {name}: {e}");
            }
            let _ = child.wait();
        }
    }
}

/// Terminal 1's console: its stdin and the lines it prints.
struct Console {
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Console {
    /// Sends `command` and returns its JSON reply line; a reply with
    /// `"ok":false` or none in time is an error naming the command.
    fn ask(&mut self, command: &str) -> Result<String> {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .with_context(|| format!("sending `{command}` to terminal 1"))?;
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Error::msg(format!(
                        "terminal 1 did not answer `{command}` within {} s",
                        REPLY_TIMEOUT.as_secs()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::msg(format!(
                        "terminal 1 exited before answering `{command}`"
                    )))
                }
            };
            if !line.starts_with('{') {
                continue;
            }
            if line.contains("\"ok\":true") {
                return Ok(line);
            }
            return Err(Error::msg(format!(
                "terminal 1 refused `{command}`: {line}"
            )));
        }
    }
}

/// Runs the check; returns the exit code (0: the cloud shows the sales).
pub fn demo_check(opts: &DemoCheckOptions) -> Result<i32> {
    if !opts.skip_setup {
        setup::setup(&setup::SetupOptions::default()).context("setup")?;
    }
    let bins = match &opts.bin_dir {
        Some(dir) => binaries_in(dir)?,
        None => crate::run::build_demo(None)?,
    };
    let root = crate::run::target_dir().join("tmp").join("demo-check");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let store = DemoStore::plan(root.clone(), opts.terminals);
    store.init_cloud(&bins.keel_cloud)?;
    store.provision(&bins.keel)?;
    let outcome = check(&store, &bins, opts);
    match &outcome {
        Ok(()) => {
            if let Err(e) = std::fs::remove_dir_all(&root) {
                eprintln!("xtask demo-check: removing {}: {e}", root.display());
            }
        }
        Err(e) => {
            println!("xtask demo-check: FAILED: {e}");
            print_log_tails(&root, opts.terminals);
            println!("xtask demo-check: logs kept in {}", root.display());
        }
    }
    Ok(if outcome.is_ok() { 0 } else { 1 })
}

/// `keel` and `keel-cloud` from `dir`.
fn binaries_in(dir: &Path) -> Result<Binaries> {
    let find = |name: &str| {
        let path = dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            Err(Error::msg(format!(
                "{} is missing (build it first, or leave out --bin-dir)",
                path.display()
            )))
        }
    };
    Ok(Binaries {
        keel: find("keel")?,
        keel_cloud: find("keel-cloud")?,
        kiosk: None,
    })
}

/// Starts the cloud and the terminals, sells, and waits for the report.
fn check(store: &DemoStore, bins: &Binaries, opts: &DemoCheckOptions) -> Result<()> {
    let mut started = Started(Vec::new());
    let cloud = logged(
        store.cloud_serve(&bins.keel_cloud),
        &store.root.join("cloud.log"),
    )?
    .stdin(Stdio::null())
    .spawn()
    .context("starting keel-cloud serve")?;
    started.0.push(("cloud".into(), cloud));
    for t in store.terminals.iter().skip(1) {
        let child = logged(
            store.console(&bins.keel, t),
            &store.root.join(format!("{}.log", t.name)),
        )?
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", t.name))?;
        started.0.push((t.name.clone(), child));
    }
    let first = store
        .terminals
        .first()
        .ok_or_else(|| Error::msg("the demo store has no terminals"))?;
    let t1_log = std::fs::File::create(store.root.join("t1.log")).context("creating t1.log")?;
    let mut t1 = store
        .console(&bins.keel, first)
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(t1_log)
        .spawn()
        .context("starting terminal 1")?;
    let stdin = t1
        .stdin
        .take()
        .ok_or_else(|| Error::msg("terminal 1 has no stdin"))?;
    let stdout = t1
        .stdout
        .take()
        .ok_or_else(|| Error::msg("terminal 1 has no stdout"))?;
    started.0.push((first.name.clone(), t1));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut console = Console { stdin, lines: rx };

    console.ask("login 1111")?;
    console.ask("shift open 100.00")?;
    let mut gross = 0i64;
    let mut last_sale = Instant::now();
    for _ in 0..opts.sales {
        console.ask("sale new")?;
        console.ask(&format!("sale add {BARCODE}"))?;
        console.ask("sale tender cash 20.00")?;
        let receipt = console.ask("sale complete")?;
        let total = json_string(&receipt, "total")
            .ok_or_else(|| Error::msg(format!("`sale complete` gave no total: {receipt}")))?;
        gross += minor_units(&total)
            .ok_or_else(|| Error::msg(format!("`sale complete` gave a bad total {total:?}")))?;
        last_sale = Instant::now();
    }
    println!(
        "xtask demo-check: {} cash sales on terminal 1, {gross} minor units; waiting for the cloud's report",
        opts.sales
    );

    let deadline = last_sale + CLOUD_TIMEOUT;
    loop {
        let seen = match report_csv(bins, store) {
            Ok(csv) => {
                if let Some((sales, in_cloud)) = store_totals(&csv, crate::run::STORE) {
                    if sales == i64::from(opts.sales) && in_cloud == gross {
                        let secs = last_sale.elapsed().as_secs_f64();
                        println!(
                            "DEMO terminals={} sales={} gross_minor={gross} sale_to_cloud_s={secs:.1}",
                            opts.terminals, opts.sales
                        );
                        print_report(bins, store);
                        return Ok(());
                    }
                    if sales > i64::from(opts.sales) || in_cloud > gross {
                        return Err(Error::msg(format!(
                            "the cloud counts more than was sold ({sales} sales, {in_cloud} minor units):\n{csv}"
                        )));
                    }
                }
                csv
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(Error::msg(format!(
                "the cloud's report did not show {} sales of {gross} minor units within {} s; last report:\n{seen}",
                opts.sales,
                CLOUD_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `command` with stdout and stderr appended to `log`.
fn logged(mut command: Command, log: &Path) -> Result<Command> {
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("opening {}", log.display()))?;
    command.stdout(out).stderr(err);
    Ok(command)
}

/// `keel-cloud report --dir <cloud> --csv`, as the operator runs it.
fn report_csv(bins: &Binaries, store: &DemoStore) -> Result<String> {
    let out = Command::new(&bins.keel_cloud)
        .args(["report", "--csv", "--dir"])
        .arg(&store.cloud)
        .stdin(Stdio::null())
        .output()
        .context("running keel-cloud report")?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "keel-cloud report {}: {}",
            cmd::describe(out.status),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Prints the operator's text report (best effort: the check has passed).
fn print_report(bins: &Binaries, store: &DemoStore) {
    let out = Command::new(&bins.keel_cloud)
        .args(["report", "--dir"])
        .arg(&store.cloud)
        .stdin(Stdio::null())
        .output();
    if let Ok(out) = out {
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// The sum of the `sales` and `gross` columns (minor units) over `store`'s
/// rows of a report CSV; `None` when the store has no row yet.
pub fn store_totals(csv: &str, store: &str) -> Option<(i64, i64)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (store_col, sales_col, gross_col) = (column("store")?, column("sales")?, column("gross")?);
    let mut found = None;
    for line in lines {
        // Store ids, days and amounts hold no commas, so the columns that
        // matter here are plain fields.
        let fields: Vec<&str> = line.split(',').collect();
        if fields.get(store_col) != Some(&store) {
            continue;
        }
        let sales = fields.get(sales_col)?.parse::<i64>().ok()?;
        let gross = minor_units(fields.get(gross_col)?)?;
        let (s, g) = found.unwrap_or((0, 0));
        found = Some((s + sales, g + gross));
    }
    found
}

/// The string value of `"key":"…"` in a one-line JSON object.
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let len = line[start..].find('"')?;
    Some(line[start..start + len].to_string())
}

/// A decimal amount such as `1.49` or `-0.50` in minor units (two decimals;
/// a whole amount has none).
pub fn minor_units(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "00"));
    if fraction.len() != 2 || whole.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = fraction.parse().ok()?;
    let value = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -value } else { value })
}

/// Prints the last lines of every log, for a failed check.
fn print_log_tails(root: &Path, terminals: u32) {
    let names =
        std::iter::once("cloud".to_string()).chain((1..=terminals).map(|i| format!("t{i}")));
    for name in names {
        let path = root.join(format!("{name}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        println!("xtask demo-check: last lines of {}:", path.display());
        for l in &lines[lines.len().saturating_sub(15)..] {
            println!("  {l}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parse_reads_every_option_and_refuses_bad_ones() {
        let o = parse(&args(
            "--bin-dir target/debug --terminals 2 --sales 5 --skip-setup",
        ))
        .unwrap();
        assert_eq!(o.bin_dir, Some(PathBuf::from("target/debug")));
        assert_eq!((o.terminals, o.sales, o.skip_setup), (2, 5, true));
        assert_eq!(parse(&[]).unwrap(), DemoCheckOptions::default());
        for bad in [
            "--terminals 0",
            "--terminals x",
            "--sales 0",
            "--bin-dir",
            "--what",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_minor_units() {
        assert_eq!(minor_units("1.49"), Some(149));
        assert_eq!(minor_units("-0.50"), Some(-50));
        assert_eq!(minor_units("12"), Some(1200));
        for bad in ["1.5", "1.499", "", ".50", "a.00"] {
            assert_eq!(minor_units(bad), None, "{bad}");
        }
    }

    #[test]
    fn store_totals_sum_the_stores_days_and_skip_totals() {
        let csv = "store,day,currency,sales,gross,tax,voids,voided,refunds,refunded,tender:cash\n\
                   demo-store,2026-11-22,EUR,2,2.98,0.20,0,0.00,0,0.00,2.98\n\
                   demo-store,2026-11-23,EUR,1,1.49,0.10,0,0.00,0,0.00,1.49\n\
                   other,2026-11-23,EUR,7,9.00,0.10,0,0.00,0,0.00,9.00\n\
                   ALL,2026-11-23,EUR,8,10.49,0.20,0,0.00,0,0.00,10.49\n";
        assert_eq!(store_totals(csv, "demo-store"), Some((3, 447)));
        assert_eq!(store_totals(csv, "nobody"), None);
        assert_eq!(store_totals("", "demo-store"), None);
    }

    #[test]
    fn json_values_are_found_by_key() {
        let line = r#"{"ok":true,"receipt":1,"total":"1.49","verification":"8GYCDPP7"}"#;
        assert_eq!(json_string(line, "total").as_deref(), Some("1.49"));
        assert_eq!(
            json_string(line, "verification").as_deref(),
            Some("8GYCDPP7")
        );
        assert_eq!(json_string(line, "change"), None);
    }
}
