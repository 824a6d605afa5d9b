//! Drives the real `keel` binary through its console: `keel console --demo
//! --data-dir DIR --json` with piped stdin/stdout. Every read has a timeout, so
//! a console that hangs fails the test instead of blocking it forever.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one reply may take before the test fails (debug builds, fsync on a busy disk).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// The demo PINs.
pub const CASHIER: &str = "1111";
pub const MANAGER: &str = "9999";
pub const TECHNICIAN: &str = "0000";

/// A running `keel console`.
pub struct Keel {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    dir: PathBuf,
    /// The last line sent, for failure messages.
    last_sent: String,
}

impl Keel {
    /// Starts `keel console --demo --data-dir DIR --json`.
    pub fn start(dir: &Path) -> Keel {
        Keel::start_with(dir, true)
    }

    /// Starts the console, with `--json` or in text mode.
    pub fn start_with(dir: &Path, json: bool) -> Keel {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
        cmd.arg("console").arg("--demo").arg("--data-dir").arg(dir);
        if json {
            cmd.arg("--json");
        }
        Keel::spawn(cmd, dir)
    }

    /// Starts `keel console --config CONFIG --json` (a provisioned terminal).
    pub fn start_config(config: &Path) -> Keel {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
        cmd.arg("console").arg("--config").arg(config).arg("--json");
        Keel::spawn(cmd, config.parent().unwrap_or(Path::new(".")))
    }

    /// Starts a prepared `keel console ... --json` command (e.g. inside a test network namespace).
    pub fn spawn(mut cmd: Command, dir: &Path) -> Keel {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_keel")));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match err_pipe.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => sink
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        Keel {
            child,
            stdin,
            lines,
            stderr,
            dir: dir.to_path_buf(),
            last_sent: String::new(),
        }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the binary wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Writes one command line without reading its reply.
    pub fn write(&mut self, line: &str) {
        self.last_sent = line.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        let r = stdin
            .write_all(line.as_bytes())
            .and_then(|_| stdin.write_all(b"\n"))
            .and_then(|_| stdin.flush());
        if let Err(e) = r {
            panic!("writing {line:?} to keel: {e}; stderr: {}", self.stderr());
        }
    }

    /// Reads one reply line, failing the test after [`REPLY_TIMEOUT`].
    pub fn read_line(&mut self) -> String {
        self.try_read_line(REPLY_TIMEOUT).unwrap_or_else(|why| {
            panic!(
                "no reply to {:?}: {why}; stderr: {}",
                self.last_sent,
                self.stderr()
            )
        })
    }

    /// Reads one reply line within `timeout`.
    pub fn try_read_line(&mut self, timeout: Duration) -> Result<String, String> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Ok(l),
            Err(RecvTimeoutError::Timeout) => Err(format!("timed out after {timeout:?}")),
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                Err(format!("keel closed stdout (exit status {status:?})"))
            }
        }
    }

    /// Reads one JSON reply.
    pub fn read_json(&mut self) -> Value {
        let line = self.read_line();
        serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "reply to {:?} is not one JSON line ({e}): {line:?}",
                self.last_sent
            )
        })
    }

    /// Sends one command and returns its JSON reply.
    pub fn send(&mut self, line: &str) -> Value {
        self.write(line);
        let v = self.read_json();
        assert!(
            v.get("ok").and_then(Value::as_bool).is_some(),
            "reply to {line:?} has no boolean ok: {v}"
        );
        v
    }

    /// Sends one command that must succeed.
    pub fn ok(&mut self, line: &str) -> Value {
        let v = self.send(line);
        assert_eq!(v["ok"], Value::Bool(true), "{line:?} failed: {v}");
        v
    }

    /// Sends one command that must fail; returns its error message.
    pub fn err(&mut self, line: &str) -> String {
        let v = self.send(line);
        assert_eq!(
            v["ok"],
            Value::Bool(false),
            "{line:?} should have failed: {v}"
        );
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("error reply without a message string: {v}"))
            .to_string()
    }

    /// Sends one command in text mode and returns its (single) reply line.
    pub fn send_text(&mut self, line: &str) -> String {
        self.write(line);
        self.read_line()
    }

    /// `quit`, then waits for a clean exit.
    pub fn quit(mut self) {
        self.ok("quit");
        drop(self.stdin.take());
        let status = wait_timeout(&mut self.child, REPLY_TIMEOUT)
            .unwrap_or_else(|| panic!("keel did not exit after quit; stderr: {}", self.stderr()));
        assert!(
            status.success(),
            "keel exited with {status}; stderr: {}",
            self.stderr()
        );
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGKILL, reap, and return every line the binary wrote that was not read yet
    /// (a reply written just before the kill still counts as given to the cashier).
    pub fn kill_collect(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut out = Vec::new();
        loop {
            match self.lines.recv_timeout(REPLY_TIMEOUT) {
                Ok(l) => out.push(l),
                Err(RecvTimeoutError::Disconnected) => return out,
                Err(RecvTimeoutError::Timeout) => panic!("stdout of the killed keel did not close"),
            }
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Keel {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A JSON amount field as text ("12.50").
pub fn amt(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string amount in {v}"))
        .to_string()
}

/// An amount text ("12.50", "-0.30") in minor units, for arithmetic in tests.
pub fn minor(text: &str) -> i64 {
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    assert!(frac.len() <= 2, "amount {text:?} has more than 2 decimals");
    let v = whole
        .parse::<i64>()
        .unwrap_or_else(|_| panic!("bad amount {text:?}"))
        * 100
        + format!("{frac:0<2}").parse::<i64>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

/// Minor units as an EUR amount text.
pub fn text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

/// A random v4-shaped UUID from `rng` (no uuid dependency needed).
pub fn uuid(rng: &mut XorShift) -> String {
    let a = rng.next();
    let b = rng.next();
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// xorshift64*: a tiny seeded PRNG so a failing run can be replayed.
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A seed from the clock and pid, for runs without `KEEL_CRASH_SEED`.
pub fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    t ^ (u64::from(std::process::id()) << 32)
}

/// A base port with `n` free UDP ports after it on 127.0.0.1, in the 6000 ports
/// from `range_start`, never handed out twice in this process (tests run in
/// parallel threads). Keep ranges below the kernel's ephemeral range (32768..):
/// then no relay's or QUIC client's ephemeral socket can take a terminal's port,
/// not even while a killed terminal restarts. Test binaries use distinct ranges in
/// case two run at once.
pub fn free_ports(range_start: u16, n: u16) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() % 500) * 11,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let offset = NEXT.fetch_add(u32::from(n) + 1, Ordering::SeqCst) % 6_000;
        let base = range_start + offset as u16;
        if (0..n).all(|i| std::net::UdpSocket::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}
