//! A full disk through the real binary: `keel` runs with a file-size limit
//! (RLIMIT_FSIZE, so the kernel refuses to grow the journal file exactly as a
//! full filesystem would refuse a write). Sales go on until the journal cannot
//! grow; that sale is refused with a clear "disk full" error, the terminal keeps
//! serving, and after a restart without the limit every acknowledged sale is
//! there, the chain verifies, and selling continues.

mod common;

use common::Keel;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

struct Limited {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Limited {
    fn start(dir: &Path, max_file_bytes: u64) -> Limited {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
        cmd.args(["console", "--demo", "--json", "--data-dir"])
            .arg(dir);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: max_file_bytes,
                    rlim_max: max_file_bytes,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Limited {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, line: &str) -> Value {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let mut reply = String::new();
        self.stdout.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{line:?} -> {reply:?}: {e}"))
    }
}

#[test]
fn a_full_disk_refuses_the_sale_and_damages_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("t1");
    // Create the journal and open a shift without limits.
    let mut k = Keel::start(&data);
    k.ok("login 1111");
    k.ok("shift open 100.00");
    k.quit();
    let size = std::fs::metadata(data.join("journal.redb")).unwrap().len();

    // Now the journal may grow by at most 1 MiB.
    let mut t = Limited::start(&data, size + 1048576);
    assert_eq!(t.send("login 1111")["ok"], true);
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for _ in 0..20_000 {
        let mut failed = None;
        for cmd in [
            "sale new",
            "sale add 4006381333931 3",
            "sale add BREAD-RYE",
            "sale tender cash 50.00",
            "sale complete",
        ] {
            let r = t.send(cmd);
            if r["ok"] != true {
                failed = Some((cmd, r));
                break;
            }
            if cmd == "sale complete" {
                acknowledged.push(r["receipt"].as_u64().unwrap());
            }
        }
        if let Some((cmd, r)) = failed {
            let e = r["error"].as_str().unwrap_or("").to_string();
            assert!(e.contains("disk full"), "{cmd}: unexpected error {e}");
            refusal = Some(e);
            break;
        }
    }
    let refusal = refusal.expect("the journal never hit the size limit");
    eprintln!("disk full after {} acknowledged sales", acknowledged.len());
    assert!(
        acknowledged.len() > 10,
        "the limit should leave room for some sales first"
    );
    assert!(refusal.contains("free space"), "{refusal}");
    // The terminal still answers, and reading works.
    assert_eq!(t.send("status")["ok"], true);
    t.child.kill().unwrap();
    let _ = t.child.wait();

    // Space is back: every acknowledged sale is there once, the chain verifies, selling goes on.
    let mut k = Keel::start(&data);
    k.ok("login 0000");
    k.ok("journal verify");
    let status = k.ok("status");
    let last = status["last_receipt"].as_u64().unwrap();
    assert_eq!(
        last,
        acknowledged.last().copied().unwrap_or(0),
        "no sale beyond the acknowledged ones"
    );
    for (i, no) in acknowledged.iter().enumerate() {
        assert_eq!(*no, i as u64 + 1, "gapless receipts");
        let r = k.ok(&format!("receipt show {no}"));
        assert_eq!(r["total"], "7.76");
    }
    k.ok("login 1111");
    k.send("sale cancel");
    k.ok("sale new");
    k.ok("sale add 4006381333931");
    k.ok("sale tender cash 2.00");
    let r = k.ok("sale complete");
    assert_eq!(r["receipt"].as_u64().unwrap(), last + 1);
    k.quit();
}
