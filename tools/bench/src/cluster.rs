//! `keel-bench cluster`: a 3-terminal store of real release `keel` processes on
//! loopback, every link through a fault-injecting UDP relay
//! (`firmware/terminal/tests/common/relay.rs`, shared with the tests). Measures:
//!
//! - **replication latency**: a sale completes on terminal A (the clock starts
//!   when `sale complete` has answered, i.e. the sale is durable on A); A's new
//!   last seq is read from A's `status`; then B's `status.origins[A]` is polled
//!   every `--poll-us` (default 1000 µs) until it reaches that seq. A and B
//!   rotate over the pairs. p50/p99/max over `--samples` (default 200).
//!   Target: p99 < 250 ms.
//! - **failover**: `--kills` times (default 20) the terminal that claims to be
//!   leader is SIGKILLed; the clock runs from the kill until one of the other
//!   two names a different leader (`leader`). The killed terminal is restarted
//!   with the same config and the next round waits until it names the leader
//!   and every terminal reports a live connection to both others
//!   (`status.peers_connected`), so every kill starts from a healthy store and
//!   leaves a connected majority; that rejoin time is printed too.
//!   p50/p99/max. Target: p99 < 1.5 s.
//! - **convergence after a partition heals**: `--heals` rounds (default 3): the
//!   relays cut terminal 3 off from terminals 1 and 2 for `--cut-ms` (default
//!   5000, longer than the 4 s after which QUIC declares a silent peer down),
//!   while both sides sell; then every relay heals and the clock runs until
//!   every terminal holds every origin's records up to that origin's own last
//!   seq (`status.origins` against each terminal's `last_seq`). The BENCH line
//!   reports the median round.
//!
//! The keel binary: `--keel PATH`, else `KEEL_BIN`, else `target/release/keel`
//! next to this binary, which is (re)built first with
//! `cargo build --release -p keel-terminal --bin keel` (a no-op when it is up to
//! date) so the figures are always for the current source.
//!
//! The relays add one user-space hop per datagram (tens of microseconds) to
//! every figure. Consoles are driven over stdin/stdout (`--json`), one command
//! at a time, exactly as the tests do. Ends with one line:
//! `BENCH cluster repl_p99_ms=<f> failover_p99_ms=<f> heal_converge_ms=<f>`.

#[path = "../../../firmware/terminal/tests/common/relay.rs"]
mod relay;

use keel_core::ids::StoreId;
use keel_terminal::provision::{provision, ProvisionPlan};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: keel-bench cluster [--samples N] [--kills K] [--heals H] [--cut-ms MS] [--poll-us US] [--keel PATH]\n\
  --samples N  replication latency samples (default 200)\n\
  --kills K    leader kills (default 20)\n\
  --heals H    partition/heal rounds (default 3)\n\
  --cut-ms MS  how long each partition lasts (default 5000)\n\
  --poll-us US polling interval while waiting for replication (default 1000)\n\
  --keel PATH  the keel binary (default: KEEL_BIN, else target/release/keel next to this binary, rebuilt first with cargo build --release -p keel-terminal)";

/// One reply may take this long before the bench gives up.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
const N: u32 = 3;

struct Args {
    samples: usize,
    kills: usize,
    heals: usize,
    cut: Duration,
    poll: Duration,
    keel: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(2);
    let mut out = Args {
        samples: 200,
        kills: 20,
        heals: 3,
        cut: Duration::from_millis(5000),
        poll: Duration::from_micros(1000),
        keel: None,
    };
    let number = |flag: &str, v: Option<String>| -> Result<u64, String> {
        let v = v.ok_or(format!("{flag} needs a number"))?;
        v.parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("{flag}: {v:?} is not a positive number"))
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--samples" => out.samples = number("--samples", args.next())? as usize,
            "--kills" => out.kills = number("--kills", args.next())? as usize,
            "--heals" => out.heals = number("--heals", args.next())? as usize,
            "--cut-ms" => out.cut = Duration::from_millis(number("--cut-ms", args.next())?),
            "--poll-us" => out.poll = Duration::from_micros(number("--poll-us", args.next())?),
            "--keel" => out.keel = Some(PathBuf::from(args.next().ok_or("--keel needs a path")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(out)
}

/// A running `keel console --config FILE --json`.
struct Console {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    name: String,
}

impl Console {
    fn start(keel: &Path, config: &Path, name: String) -> Result<Console, String> {
        let mut child = Command::new(keel)
            .arg("console")
            .arg("--config")
            .arg(config)
            .arg("--json")
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", keel.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(l) = line else { return };
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Ok(Console {
            child,
            stdin,
            lines,
            name,
        })
    }

    fn send(&mut self, line: &str) -> Result<Value, String> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("{}: writing {line:?}: {e}", self.name))?;
        let reply = self
            .lines
            .recv_timeout(REPLY_TIMEOUT)
            .map_err(|e| format!("{}: no reply to {line:?}: {e}", self.name))?;
        serde_json::from_str(&reply).map_err(|e| {
            format!(
                "{}: reply to {line:?} is not JSON ({e}): {reply}",
                self.name
            )
        })
    }

    fn ok(&mut self, line: &str) -> Result<Value, String> {
        let v = self.send(line)?;
        if v["ok"] == Value::Bool(true) {
            Ok(v)
        } else {
            Err(format!("{}: {line:?} failed: {v}", self.name))
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn leader(&mut self) -> Result<Option<u32>, String> {
        Ok(self.ok("leader")?["leader"].as_u64().map(|l| l as u32))
    }

    fn sell(&mut self) -> Result<u64, String> {
        self.ok("sale new")?;
        self.ok("sale add 4006381333931")?;
        self.ok("sale tender cash 50.00")?;
        self.ok("sale complete")?["receipt"]
            .as_u64()
            .ok_or_else(|| format!("{}: sale complete without a receipt", self.name))
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keel_binary(args: &Args) -> Result<PathBuf, String> {
    if let Some(p) = args
        .keel
        .clone()
        .or_else(|| std::env::var_os("KEEL_BIN").map(PathBuf::from))
    {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{} is not a file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe.with_file_name("keel");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("building the release keel binary: cargo build --release -p keel-terminal --bin keel");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "keel-terminal", "--bin", "keel"])
        .status()
        .map_err(|e| format!("cannot run cargo ({e}); build it with `cargo build --release -p keel-terminal` and pass --keel target/release/keel"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --release -p keel-terminal failed ({status})"
        ));
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing after the build; pass --keel PATH",
            bin.display()
        ))
    }
}

/// A base port with `n` free UDP ports on 127.0.0.1.
fn free_ports(n: u16) -> Result<u16, String> {
    // Below the kernel's ephemeral range (32768..), so the relays' ephemeral sockets
    // never take a terminal's port while it restarts.
    let start = 14_000 + (std::process::id() % 500) as u16 * 11;
    (0..2_000u16)
        .map(|k| 14_000 + (start - 14_000 + k * (n + 1)) % 6_000)
        .find(|&b| (0..n).all(|i| std::net::UdpSocket::bind(("127.0.0.1", b + i)).is_ok()))
        .ok_or_else(|| "no free UDP ports on 127.0.0.1".into())
}

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
}

/// Nearest-rank percentiles in milliseconds.
fn stats(samples: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[(((p / 100.0) * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Stats {
        p50: at(50.0),
        p99: at(99.0),
        max: *ms.last().unwrap_or(&0.0),
    }
}

struct Store {
    keel: PathBuf,
    configs: Vec<PathBuf>,
    consoles: Vec<Option<Console>>,
}

impl Store {
    fn start(&mut self, t: u32) -> Result<(), String> {
        let mut c = Console::start(&self.keel, &self.configs[t as usize - 1], format!("T{t}"))?;
        c.ok("login 1111")?;
        if c.ok("status")?["shift"].is_null() {
            c.ok("shift open 100.00")?;
        }
        self.consoles[t as usize - 1] = Some(c);
        Ok(())
    }

    fn get(&mut self, t: u32) -> Result<&mut Console, String> {
        self.consoles
            .get_mut(t as usize - 1)
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("terminal {t} is not running"))
    }

    /// Milliseconds-precise wait until every terminal holds every origin up to its own last seq.
    fn wait_converged(&mut self, timeout: Duration, poll: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut own = Vec::new();
            let mut held = Vec::new();
            for t in 1..=N {
                let s = self.get(t)?.ok("status")?;
                own.push(s["last_seq"].as_u64().unwrap_or(0));
                held.push(s["origins"].clone());
            }
            if held
                .iter()
                .all(|o| (0..N as usize).all(|i| o[(i + 1).to_string()].as_u64() == Some(own[i])))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no convergence within {timeout:?}: own {own:?}, held {held:?}"
                ));
            }
            std::thread::sleep(poll);
        }
    }

    /// The terminal that claims to lead, once exactly one does.
    fn leader(&mut self, timeout: Duration) -> Result<u32, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut claims = Vec::new();
            for t in 1..=N {
                if let Some(c) = self.consoles[t as usize - 1].as_mut() {
                    if c.ok("leader")?["is_leader"] == Value::Bool(true) {
                        claims.push(t);
                    }
                }
            }
            if let [l] = claims[..] {
                return Ok(l);
            }
            if Instant::now() > deadline {
                return Err(format!("no single leader within {timeout:?}: {claims:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn replication(store: &mut Store, samples: usize, poll: Duration) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(samples);
    for s in 0..samples {
        // Every ordered pair in turn.
        const PAIRS: [(u32, u32); 6] = [(1, 2), (2, 3), (3, 1), (1, 3), (2, 1), (3, 2)];
        let (a, b) = PAIRS[s % PAIRS.len()];
        store.get(a)?.sell()?;
        let committed = Instant::now();
        let seq = store.get(a)?.ok("status")?["last_seq"]
            .as_u64()
            .ok_or("status without last_seq")?;
        let key = a.to_string();
        loop {
            let held = store.get(b)?.ok("status")?["origins"][&key]
                .as_u64()
                .unwrap_or(0);
            if held >= seq {
                out.push(committed.elapsed());
                break;
            }
            if committed.elapsed() > Duration::from_secs(30) {
                return Err(format!("T{b} did not receive T{a}'s seq {seq} within 30 s"));
            }
            std::thread::sleep(poll);
        }
    }
    Ok(out)
}

fn failover(store: &mut Store, kills: usize) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let mut times = Vec::with_capacity(kills);
    let mut rejoins = Vec::with_capacity(kills);
    for round in 0..kills {
        let leader = store.leader(Duration::from_secs(20))?;
        let victim = store
            .consoles
            .get_mut(leader as usize - 1)
            .and_then(Option::take)
            .ok_or_else(|| format!("leader T{leader:02} is not running"))?;
        let t0 = Instant::now();
        victim.kill();
        'wait: loop {
            for t in (1..=N).filter(|&t| t != leader) {
                if let Some(l) = store.get(t)?.leader()? {
                    if l != leader {
                        times.push(t0.elapsed());
                        break 'wait;
                    }
                }
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "round {round}: no new leader 30 s after killing T{leader}"
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        store.start(leader)?;
        let t1 = Instant::now();
        loop {
            if matches!(store.get(leader)?.leader()?, Some(l) if l != leader) {
                break;
            }
            if t1.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "round {round}: restarted T{leader} names no leader after 30 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let named = t1.elapsed();
        // And until every terminal has a live connection to every other one, so the
        // next kill starts from a healthy store (a terminal that names the leader may
        // still lack its link to the other follower).
        'links: loop {
            let mut all = true;
            for t in 1..=N {
                all &= store.get(t)?.ok("status")?["peers_connected"].as_u64()
                    == Some(u64::from(N - 1));
            }
            if all {
                break 'links;
            }
            if t1.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "round {round}: restarted T{leader} not connected to every peer after 30 s"
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        rejoins.push(t1.elapsed());
        println!(
            "  kill {round:2}: T{leader} killed, new leader after {:7.1} ms; restarted T{leader} names the leader after {:7.1} ms, all links up after {:7.1} ms",
            times[round].as_secs_f64() * 1000.0,
            named.as_secs_f64() * 1000.0,
            t1.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok((times, rejoins))
}

fn heal(
    store: &mut Store,
    mesh: &relay::Mesh,
    rounds: usize,
    cut: Duration,
    poll: Duration,
) -> Result<Vec<Duration>, String> {
    let mut out = Vec::new();
    for round in 0..rounds {
        mesh.partition(&[1, 2], &[3]);
        let start = Instant::now();
        let mut sold = 0;
        while start.elapsed() < cut {
            for t in 1..=N {
                store.get(t)?.sell()?;
                sold += 1;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        mesh.heal_all();
        let healed = Instant::now();
        store.wait_converged(Duration::from_secs(60), poll)?;
        let took = healed.elapsed();
        println!("  heal {round}: {sold} sales during a {:.1} s cut {{1,2}}|{{3}}; converged {:.1} ms after healing", cut.as_secs_f64(), took.as_secs_f64() * 1000.0);
        out.push(took);
        // Let the store settle (leader back, connections idle) before the next round.
        store.leader(Duration::from_secs(20))?;
    }
    Ok(out)
}

fn run(args: &Args) -> Result<(Stats, Stats, Vec<Duration>), String> {
    let keel = keel_binary(args)?;
    let temp = tempfile::Builder::new()
        .prefix("keel-bench-cluster-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let configs = provision(&ProvisionPlan {
        store: StoreId("bench".into()),
        terminals: N,
        out: temp.path().join("store"),
        host: std::net::Ipv4Addr::LOCALHOST.into(),
        base_port: free_ports(N as u16)?,
        mdns: false,
        demo_catalog: true,
    })
    .map_err(|e| e.to_string())?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mesh = relay::Mesh::for_configs(&configs, seed).map_err(|e| format!("relays: {e}"))?;
    println!(
        "cluster bench: {N} terminals of {} on 127.0.0.1, every link through a UDP relay, in {}",
        keel.display(),
        temp.path().display()
    );
    let mut store = Store {
        keel,
        configs,
        consoles: (0..N).map(|_| None).collect(),
    };
    for t in 1..=N {
        store.start(t)?;
    }
    // The demo catalog (seeded by terminal 1) everywhere, and a leader, before measuring.
    let deadline = Instant::now() + Duration::from_secs(30);
    for t in 1..=N {
        while store.get(t)?.ok("catalog list")?["items"]
            .as_array()
            .map_or(0, Vec::len)
            < 17
        {
            if Instant::now() > deadline {
                return Err(format!("T{t}: the demo catalog did not replicate"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    store.leader(Duration::from_secs(30))?;
    // Warm-up: a few sales everywhere, converged.
    for _ in 0..3 {
        for t in 1..=N {
            store.get(t)?.sell()?;
        }
    }
    store.wait_converged(Duration::from_secs(30), args.poll)?;

    println!(
        "replication latency: {} samples (sale complete on A -> A's seq held by B)",
        args.samples
    );
    let repl = stats(&replication(&mut store, args.samples, args.poll)?);
    println!(
        "  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (target p99 < 250 ms)",
        repl.p50, repl.p99, repl.max
    );

    println!(
        "failover: {} leader kills (SIGKILL -> another terminal names a new leader)",
        args.kills
    );
    let (times, rejoins) = failover(&mut store, args.kills)?;
    let fo = stats(&times);
    let rj = stats(&rejoins);
    println!(
        "  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  (target p99 < 1500 ms)",
        fo.p50, fo.p99, fo.max
    );
    println!("  restarted terminal connected to every peer again: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms", rj.p50, rj.p99, rj.max);

    println!(
        "partition heal: {} rounds of a {:.1} s cut with sales on both sides",
        args.heals,
        args.cut.as_secs_f64()
    );
    let heals = heal(&mut store, &mesh, args.heals, args.cut, args.poll)?;
    for t in 1..=N {
        let c = store.get(t)?;
        c.ok("login 0000")?;
        c.ok("journal verify")?;
    }
    for c in store.consoles.iter_mut().filter_map(Option::as_mut) {
        let _ = c.send("quit");
    }
    drop(store);
    drop(mesh);
    Ok((repl, fo, heals))
}

/// Entry point of `keel-bench cluster ...`.
pub fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("keel-bench cluster: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(&args) {
        Ok((repl, fo, heals)) => {
            let h = stats(&heals);
            println!(
                "  heal convergence: p50 {:.1} ms  max {:.1} ms",
                h.p50, h.max
            );
            println!(
                "BENCH cluster repl_p99_ms={:.3} failover_p99_ms={:.3} heal_converge_ms={:.3}",
                repl.p99, fo.p99, h.p50
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keel-bench cluster: {e}");
            ExitCode::FAILURE
        }
    }
}
