//! The real `keel` binary under a systemd-like service manager: a datagram socket named
//! by `NOTIFY_SOCKET` receives `READY=1` once the terminal sells, `WATCHDOG=1` at half
//! of `WATCHDOG_USEC` while it runs, and `STOPPING=1` when the console ends.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every datagram that arrives within `within`, as text.
fn collect(rx: &UnixDatagram, within: Duration, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline && !until(&got) {
        rx.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        if let Ok(n) = rx.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

#[test]
fn keel_says_ready_feeds_the_watchdog_and_says_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("notify");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--demo", "--stdio", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("NOTIFY_SOCKET", &sock)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = collect(&rx, Duration::from_secs(30), |g| {
        g.iter().filter(|m| m.as_str() == "WATCHDOG=1").count() >= 3
    });
    assert!(
        got.first()
            .is_some_and(|m| m.starts_with("READY=1\nSTATUS=terminal T01 of demo-store selling")),
        "first notification: {got:?}"
    );
    let pings = got.iter().filter(|m| m.as_str() == "WATCHDOG=1").count();
    assert!(pings >= 3, "watchdog pings: {got:?}");

    // The console ends: the terminal says it is stopping.
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    let got = collect(&rx, Duration::from_secs(30), |g| {
        g.iter().any(|m| m == "STOPPING=1")
    });
    assert!(got.iter().any(|m| m == "STOPPING=1"), "after quit: {got:?}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn without_notify_socket_keel_runs_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--demo", "--stdio", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("NOTIFY_SOCKET")
        .env("WATCHDOG_USEC", "200000")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_notify_socket_is_logged_and_selling_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--demo", "--stdio", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("NOTIFY_SOCKET", "not-a-path")
        .env("RUST_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "login 1111\nstatus\nquit").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("NOTIFY_SOCKET \"not-a-path\""), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("terminal"));
}
