//! Discovery through a real avahi-daemon, in a private network namespace with a
//! private D-Bus bus (see `keel_testkit::avahi`). Each test starts its own harness.
//!
//! Every terminal runs in its own process: this test binary re-executed in "child
//! mode" (the `discovery_child` test with `KEEL_TESTKIT_CHILD_ROLE` set), because
//! avahi-client finds the bus through `DBUS_SYSTEM_BUS_ADDRESS`, which must differ
//! per harness while tests run in parallel threads. A child prints `KEEL-READY`,
//! one `KEEL-EVENT ...` line per discovery event, and on `stop` (or stdin EOF)
//! stops discovery and prints `KEEL-STOPPED`.

use keel_cluster::discovery::{Advertisement, Discovery, DiscoveryEvent};
use keel_core::ids::{StoreId, TerminalId};
use keel_testkit::avahi::AvahiHarness;
use keel_testkit::process::{reexec_test, ChildGuard, CHILD_ROLE_ENV};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStringExt;
use std::process::Command;
use std::time::{Duration, Instant};

const FW: &str = "0.1.0-test";
const WAIT: Duration = Duration::from_secs(15);

fn fingerprint(terminal: u32) -> String {
    format!("{:064x}", 0xfeed_0000_u64 + u64::from(terminal))
}

fn port(terminal: u32) -> u16 {
    7000 + u16::try_from(terminal).expect("small terminal id")
}

/// Child mode: act one terminal. Does nothing in a normal test run.
#[test]
fn discovery_child() {
    let Ok(role) = std::env::var(CHILD_ROLE_ENV) else {
        return;
    };
    keel_testkit::logging::init(&role);
    let mut parts = role.split_whitespace();
    let store = parts.next().expect("role: store").to_string();
    let terminal: u32 = parts
        .next()
        .expect("role: terminal")
        .parse()
        .expect("terminal id");
    let discovery = Discovery::start(Advertisement {
        store: StoreId(store),
        terminal: TerminalId(terminal),
        port: port(terminal),
        fingerprint: fingerprint(terminal),
        firmware: FW.to_string(),
    })
    .expect("discovery starts");
    let events = discovery.events().clone();
    let printer = std::thread::spawn(move || {
        while let Ok(event) = events.recv_blocking() {
            let line = match event {
                DiscoveryEvent::Found {
                    terminal,
                    addr,
                    fingerprint,
                    firmware,
                } => {
                    format!(
                        "KEEL-EVENT found {} {addr} {fingerprint} {firmware}",
                        terminal.0
                    )
                }
                DiscoveryEvent::Lost { terminal } => format!("KEEL-EVENT lost {}", terminal.0),
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    });
    println!("KEEL-READY");
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        match line {
            Ok(line) if line.trim() == "stop" => break,
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    discovery.stop();
    printer.join().expect("printer thread");
    println!("KEEL-STOPPED");
    let _ = std::io::stdout().flush();
}

/// One terminal process and every line it printed.
struct Terminal {
    id: u32,
    child: ChildGuard,
    seen: Vec<String>,
}

impl Terminal {
    fn spawn(harness: &AvahiHarness, store: &str, id: u32) -> Terminal {
        let mut cmd =
            reexec_test("discovery_child", &format!("{store} {id}")).expect("test binary");
        let child = ChildGuard::spawn(&format!("{store}{id}"), harness.run_in_env(&mut cmd))
            .expect("spawn terminal");
        let mut terminal = Terminal {
            id,
            child,
            seen: Vec::new(),
        };
        terminal
            .wait(|l| l == "KEEL-READY")
            .unwrap_or_else(|| panic!("{store}{id} never ready"));
        terminal
    }

    /// Waits for a line matching `pred`, recording every line read. Lines are
    /// cut to start at `KEEL-` (libtest prints `test discovery_child ... ` before
    /// the child's first line, without a newline).
    fn wait(&mut self, mut pred: impl FnMut(&str) -> bool) -> Option<String> {
        let seen = &mut self.seen;
        self.child
            .wait_line(WAIT, |line| {
                let line = line.find("KEEL-").map_or(line, |i| &line[i..]);
                seen.push(line.to_string());
                pred(line)
            })
            .map(|line| {
                line.find("KEEL-")
                    .map_or(line.clone(), |i| line[i..].to_string())
            })
    }

    /// Records whatever arrives within `settle`.
    fn collect(&mut self, settle: Duration) {
        let seen = &mut self.seen;
        self.child.wait_line(settle, |line| {
            let line = line.find("KEEL-").map_or(line, |i| &line[i..]);
            seen.push(line.to_string());
            false
        });
    }

    fn wait_found(&mut self, terminal: u32) -> Vec<String> {
        let prefix = format!("KEEL-EVENT found {terminal} ");
        let line = self
            .wait(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("T{} never found T{terminal}; saw {:?}", self.id, self.seen));
        line.split_whitespace().map(str::to_string).collect()
    }

    fn wait_lost(&mut self, terminal: u32) {
        let wanted = format!("KEEL-EVENT lost {terminal}");
        self.wait(|l| l == wanted)
            .unwrap_or_else(|| panic!("T{} never lost T{terminal}; saw {:?}", self.id, self.seen));
    }

    fn events(&self) -> Vec<&String> {
        self.seen
            .iter()
            .filter(|l| l.starts_with("KEEL-EVENT"))
            .collect()
    }

    fn stop(&mut self) {
        self.child.send_line("stop").expect("send stop");
        self.wait(|l| l == "KEEL-STOPPED")
            .unwrap_or_else(|| panic!("T{} did not stop; saw {:?}", self.id, self.seen));
        let status = self.child.wait_exit(WAIT).expect("child exits");
        assert!(status.success(), "T{} exited with {status}", self.id);
    }
}

fn start_harness() -> AvahiHarness {
    match AvahiHarness::start() {
        Ok(harness) => harness,
        Err(e) => panic!("cannot start the Avahi test harness: {e}"),
    }
}

fn assert_found(fields: &[String], terminal: u32) {
    // KEEL-EVENT found <terminal> <addr> <fp> <fw>
    assert_eq!(fields[2], terminal.to_string());
    assert_eq!(fields[3], format!("127.0.0.1:{}", port(terminal)));
    assert_eq!(fields[4], fingerprint(terminal));
    assert_eq!(fields[5], FW);
}

#[test]
fn discovery_same_store_found_other_store_ignored_stop_is_lost() {
    let started = Instant::now();
    let harness = start_harness();
    let ready = started.elapsed();
    let mut a1 = Terminal::spawn(&harness, "store-a", 1);
    let mut a2 = Terminal::spawn(&harness, "store-a", 2);
    let mut b9 = Terminal::spawn(&harness, "store-b", 9);

    assert_found(&a1.wait_found(2), 2);
    assert_found(&a2.wait_found(1), 1);
    let found = started.elapsed();

    // avahi-browse in the same environment lists all three registrations.
    let deadline = Instant::now() + WAIT;
    let records = loop {
        let records = harness.avahi_browse("_keel._udp").expect("avahi-browse");
        if records.len() >= 3 || Instant::now() > deadline {
            break records;
        }
    };
    let listed: BTreeSet<(String, String, u16)> = records
        .iter()
        .map(|r| {
            assert_eq!(
                r.txt_value("fp"),
                Some(
                    fingerprint(
                        r.txt_value("terminal")
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0)
                    )
                    .as_str()
                )
            );
            assert_eq!(r.txt_value("fw"), Some(FW));
            (
                r.txt_value("store").unwrap_or("").to_string(),
                r.txt_value("terminal").unwrap_or("").to_string(),
                r.port,
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, u16)> =
        [("store-a", 1), ("store-a", 2), ("store-b", 9)]
            .into_iter()
            .map(|(s, t)| (s.to_string(), t.to_string(), port(t)))
            .collect();
    assert_eq!(listed, expected, "avahi-browse records: {records:?}");

    // B was visible to every browser by now (avahi-browse of the same daemon
    // resolved it); give the children a moment more, then check nobody reported it.
    for t in [&mut a1, &mut a2, &mut b9] {
        t.collect(Duration::from_millis(500));
    }
    assert_eq!(a1.events().len(), 1, "A1 events: {:?}", a1.events());
    assert_eq!(a2.events().len(), 1, "A2 events: {:?}", a2.events());
    assert!(b9.events().is_empty(), "B9 saw store A: {:?}", b9.events());

    // Stopping A2 withdraws its registration: A1 reports it lost; B stays silent.
    let stop_at = Instant::now();
    a2.stop();
    a1.wait_lost(2);
    let lost_after = stop_at.elapsed();
    b9.collect(Duration::from_millis(300));
    assert!(b9.events().is_empty(), "B9 saw store A: {:?}", b9.events());
    a1.stop();
    b9.stop();
    eprintln!(
        "harness {ready:?}, mutual found {found:?}, lost after stop {lost_after:?}, total {:?}",
        started.elapsed()
    );
}

#[test]
fn discovery_killed_peer_is_lost() {
    let started = Instant::now();
    let harness = start_harness();
    let mut a1 = Terminal::spawn(&harness, "store-a", 1);
    let mut a3 = Terminal::spawn(&harness, "store-a", 3);
    assert_found(&a1.wait_found(3), 3);
    let kill_at = Instant::now();
    a3.child.kill(); // SIGKILL: no goodbye from the process; Avahi withdraws its records
    a1.wait_lost(3);
    let lost_after = kill_at.elapsed();
    a1.stop();
    eprintln!(
        "lost after SIGKILL {lost_after:?}, total {:?}",
        started.elapsed()
    );
}

fn publish(harness: &AvahiHarness, name: &str, port: u16, txt: &[&[u8]]) -> ChildGuard {
    let mut cmd = Command::new("avahi-publish");
    cmd.args(["-s", name, "_keel._udp", &port.to_string()])
        .stderr(std::process::Stdio::null());
    cmd.args(txt.iter().map(|t| OsString::from_vec(t.to_vec())));
    ChildGuard::spawn(&format!("publish {name}"), harness.run_in_env(&mut cmd))
        .expect("avahi-publish")
}

/// Garbage TXT records from the network are ignored and the terminal keeps
/// working. Expected in the output: `keel-discovery` panicked at zeroconf's
/// `c_str.rs` ("could not convert raw to str") for the two non-UTF-8 records:
/// zeroconf panics there, `discovery::read_txt` catches it and ignores the record.
#[test]
fn discovery_ignores_garbage_records() {
    let harness = start_harness();
    let mut a1 = Terminal::spawn(&harness, "store-a", 1);
    let fp5 = fingerprint(5);
    let good_fp = format!("fp={fp5}");
    let good: [&[u8]; 5] = [
        b"txtvers=1",
        b"store=store-a",
        b"port=7005",
        good_fp.as_bytes(),
        b"fw=1",
    ];
    let long_fw = format!("fw={}", "x".repeat(240));
    let mut publishers = vec![
        // Not UTF-8 (zeroconf's accessors would panic on these).
        publish(
            &harness,
            "bad utf8 store",
            7005,
            &[
                b"txtvers=1",
                b"store=\xff\xfe",
                b"terminal=6",
                b"port=7005",
                good_fp.as_bytes(),
                b"fw=1",
            ],
        ),
        publish(
            &harness,
            "bad utf8 fp",
            7005,
            &[
                b"txtvers=1",
                b"store=store-a",
                b"terminal=6",
                b"port=7005",
                b"fp=\xc3\x28",
                b"fw=1",
            ],
        ),
        // Missing and malformed fields.
        publish(&harness, "only store", 7005, &[b"store=store-a"]),
        publish(&harness, "no txt", 7005, &[]),
        publish(
            &harness,
            "keys without values",
            7005,
            &[b"txtvers", b"store", b"terminal", b"port", b"fp", b"fw"],
        ),
        publish(
            &harness,
            "negative terminal",
            7005,
            &[
                b"txtvers=1",
                b"store=store-a",
                b"terminal=-6",
                b"port=7005",
                good_fp.as_bytes(),
                b"fw=1",
            ],
        ),
        publish(
            &harness,
            "huge terminal",
            7005,
            &[
                b"txtvers=1",
                b"store=store-a",
                b"terminal=99999999999999999999",
                b"port=7005",
                good_fp.as_bytes(),
                b"fw=1",
            ],
        ),
        publish(
            &harness,
            "port mismatch",
            7006,
            &[
                b"txtvers=1",
                b"store=store-a",
                b"terminal=6",
                b"port=7005",
                good_fp.as_bytes(),
                b"fw=1",
            ],
        ),
        publish(
            &harness,
            "short fp",
            7005,
            &[
                b"txtvers=1",
                b"store=store-a",
                b"terminal=6",
                b"port=7005",
                b"fp=abc",
                b"fw=1",
            ],
        ),
        publish(
            &harness,
            "long fw",
            7005,
            &[
                b"txtvers=1",
                b"store=store-a",
                b"terminal=6",
                b"port=7005",
                good_fp.as_bytes(),
                long_fw.as_bytes(),
            ],
        ),
        publish(
            &harness,
            "future version",
            7005,
            &[
                b"txtvers=2",
                b"store=store-a",
                b"terminal=6",
                b"port=7005",
                good_fp.as_bytes(),
                b"fw=1",
            ],
        ),
    ];
    // Wait until the daemon has all of the garbage, then add one valid record.
    let deadline = Instant::now() + WAIT;
    while harness.avahi_browse("_keel._udp").expect("browse").len() < publishers.len() + 1 {
        assert!(Instant::now() < deadline, "garbage never published");
    }
    let terminal5: Vec<&[u8]> = good
        .iter()
        .copied()
        .chain([b"terminal=5".as_slice()])
        .collect();
    publishers.push(publish(&harness, "keel store-a 5", 7005, &terminal5));

    let fields = a1.wait_found(5);
    assert_eq!(fields[3], "127.0.0.1:7005");
    assert_eq!(fields[4], fp5);
    a1.collect(Duration::from_millis(500));
    assert_eq!(
        a1.events().len(),
        1,
        "garbage was reported: {:?}",
        a1.events()
    );

    // Removing the valid one is noticed; the child survived all of it.
    let mut valid = publishers.pop().expect("valid publisher");
    valid.kill();
    a1.wait_lost(5);
    a1.stop();
}
