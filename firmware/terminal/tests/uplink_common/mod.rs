//! Support for the uplink tests (`uplink_*.rs`): the real `keel-cloud` service
//! on a real PostgreSQL (`keel_testkit::postgres`), a store of real `keel`
//! terminals provisioned with `keel provision --operator CLOUD_DIR --cloud
//! ADDR`, and helpers to sell, find the leader and wait for the cloud to hold
//! everything.
//!
//! `keel-cloud` is found beside `keel` in the target directory: `cargo test
//! --workspace` builds it; run `cargo build -p keel-cloud` before running these
//! tests alone.
#![allow(dead_code)]

use crate::common::{free_ports, Keel};
use keel_testkit::postgres::PostgresHarness;
use keel_testkit::process::ChildGuard;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The `keel-cloud` binary (beside `keel`).
pub fn cloud_bin() -> PathBuf {
    let keel = PathBuf::from(env!("CARGO_BIN_EXE_keel"));
    let bin = keel.with_file_name("keel-cloud");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p keel-cloud`; `cargo test --workspace` does)",
        bin.display()
    );
    bin
}

/// A loopback port free for both UDP and TCP when asked.
pub fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs `keel-cloud ARGS` to completion: (success, stdout, stderr).
pub fn run_cloud(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(cloud_bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The cloud: its directory, addresses, database and (while running) process.
pub struct Cloud {
    pub dir: PathBuf,
    pub quic: SocketAddr,
    pub http: SocketAddr,
    database_url: String,
    child: Option<ChildGuard>,
    log: PathBuf,
}

impl Cloud {
    /// `keel-cloud init` in `root/cloud` on fresh loopback ports; not started.
    pub fn init(root: &Path, database_url: &str) -> Cloud {
        let dir = root.join("cloud");
        let quic: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let (ok, out, err) = run_cloud(&[
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            &quic.to_string(),
            "--http",
            &http.to_string(),
        ]);
        assert!(ok, "keel-cloud init failed: {out}{err}");
        Cloud {
            log: root.join("cloud.log"),
            dir,
            quic,
            http,
            database_url: database_url.to_string(),
            child: None,
        }
    }

    /// `keel-cloud serve` on the database; waits until it listens.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the cloud is already running");
        let mut cmd = Command::new(cloud_bin());
        cmd.args(["serve", "--dir", self.dir.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .env("KEEL_CLOUD_DATABASE_URL", &self.database_url);
        let child = ChildGuard::spawn("keel-cloud", &mut cmd).unwrap();
        child
            .wait_line(Duration::from_secs(60), |l| l.contains("listening"))
            .unwrap_or_else(|| panic!("keel-cloud serve did not start"));
        self.child = Some(child);
    }

    /// SIGKILL (a crash), then reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    /// Whether the service is running.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// An admin command (`--dir` added) that must succeed; its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.try_admin(args);
        assert!(ok, "keel-cloud {args:?} failed: {out}{err}");
        out
    }

    /// An admin command (`--dir` added): (success, stdout, stderr).
    pub fn try_admin(&self, args: &[&str]) -> (bool, String, String) {
        let dir = self.dir.to_str().unwrap().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.insert(1, "--dir");
        all.insert(2, &dir);
        run_cloud(&all)
    }

    /// `keel-cloud status --json`, the row of `store` (Null if it never connected).
    pub fn store_status(&self, store: &str) -> Value {
        let out = self.admin(&["status", "--json"]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        v["stores"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["store"] == store).cloned())
            .unwrap_or(Value::Null)
    }

    /// Events the cloud stores for `store`.
    pub fn events(&self, store: &str) -> u64 {
        self.store_status(store)["events"].as_u64().unwrap_or(0)
    }
}

/// A provisioned store: its directory and terminal configs.
pub struct Store {
    pub name: String,
    pub dir: PathBuf,
    pub configs: Vec<PathBuf>,
}

/// `keel provision --store NAME --terminals N --operator CLOUD_DIR --cloud ADDR`
/// in `root/NAME`, then `cloud_extra` (lines like `batch_bytes = 2048`) added to
/// every terminal's `[cloud]` section.
pub fn provision(
    root: &Path,
    name: &str,
    n: u32,
    cloud: &Cloud,
    dial: SocketAddr,
    cloud_extra: &str,
    port_range: u16,
) -> Store {
    let dir = root.join(name);
    // UDP ports for the cluster, TCP base + 100 + t for the health endpoints;
    // every range stays below Linux's ephemeral ports (32768 and up), which
    // outgoing connections (the database's, the cloud's) take at random.
    assert!(
        u32::from(port_range) + 6_000 + 100 + n < 32_768,
        "port range {port_range} reaches the ephemeral ports"
    );
    let base = loop {
        let base = free_ports(port_range, n as u16);
        let health_free = (1..=n as u16)
            .all(|t| std::net::TcpListener::bind(("127.0.0.1", base + 100 + t)).is_ok());
        if health_free {
            break base;
        }
    };
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args([
            "provision",
            "--store",
            name,
            "--terminals",
            &n.to_string(),
            "--out",
            dir.to_str().unwrap(),
            "--base-port",
            &base.to_string(),
            "--operator",
            cloud.dir.to_str().unwrap(),
            "--cloud",
            &dial.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keel provision failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let configs: Vec<PathBuf> = (1..=n)
        .map(|t| dir.join(format!("t{t}")).join("terminal.toml"))
        .collect();
    for c in &configs {
        let text = std::fs::read_to_string(c).unwrap();
        let anchor = "ca_cert = \"operator-ca.pem\"\n";
        assert!(text.contains("[cloud]") && text.contains(anchor), "{text}");
        let text = text.replacen(anchor, &format!("{anchor}{cloud_extra}\n"), 1);
        std::fs::write(c, text).unwrap();
    }
    Store {
        name: name.to_string(),
        dir,
        configs,
    }
}

impl Store {
    /// Starts terminal `t` (1-based).
    pub fn start(&self, t: usize) -> Keel {
        Keel::start_config(&self.configs[t - 1])
    }

    /// Starts every terminal.
    pub fn start_all(&self) -> Vec<Option<Keel>> {
        (1..=self.configs.len())
            .map(|t| Some(self.start(t)))
            .collect()
    }
}

/// Logs in as cashier and opens a shift unless one is open.
pub fn ready_to_sell(k: &mut Keel) {
    k.ok("login 1111");
    if k.ok("status")["shift"].is_null() {
        k.ok("shift open 100.00");
    }
}

/// One cash sale of `lines` (sku, qty); the `sale complete` reply.
pub fn sell(k: &mut Keel, lines: &[(&str, u32)]) -> Value {
    k.ok("sale new");
    let mut due = String::new();
    for (sku, qty) in lines {
        let v = k.ok(&format!("sale add {sku} {qty}"));
        due = v["due"].as_str().unwrap().to_string();
    }
    k.ok(&format!("sale tender cash {due}"));
    k.ok("sale complete")
}

/// The price text of `sku` on `k`.
pub fn price_of(k: &mut Keel, sku: &str) -> String {
    let v = k.ok(&format!("catalog list {sku}"));
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["sku"] == sku)
        .unwrap_or_else(|| panic!("no {sku}: {v}"))["price"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Index (0-based) of the terminal every live terminal agrees leads.
pub fn wait_leader(ks: &mut [Option<Keel>], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let seen: Vec<Option<u64>> = ks
            .iter_mut()
            .flatten()
            .map(|k| k.ok("leader")["leader"].as_u64())
            .collect();
        if let Some(Some(l)) = seen.first() {
            let idx = (*l - 1) as usize;
            if seen.iter().all(|s| *s == Some(*l)) && ks.get(idx).is_some_and(Option::is_some) {
                return idx;
            }
        }
        assert!(Instant::now() < deadline, "no agreed leader: {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until every live terminal has the demo catalog.
pub fn wait_catalog(ks: &mut [Option<Keel>]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for k in ks.iter_mut().flatten() {
        while k.ok("catalog list")["items"].as_array().unwrap().len() < 17 {
            assert!(Instant::now() < deadline, "catalog did not replicate");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Waits until every live terminal holds the same records of every origin;
/// returns the number of records in the store (every origin's journal).
pub fn wait_converged(ks: &mut [Option<Keel>], timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let origins: Vec<Value> = ks
            .iter_mut()
            .flatten()
            .map(|k| k.ok("status")["origins"].clone())
            .collect();
        if origins.windows(2).all(|w| w[0] == w[1]) {
            return origins[0]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
        }
        assert!(
            Instant::now() < deadline,
            "terminals did not converge: {origins:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the cloud stores exactly every record of the store and the
/// leader reports nothing pending. Returns the record count.
pub fn wait_synced(cloud: &Cloud, store: &str, ks: &mut [Option<Keel>], timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let total = wait_converged(ks, timeout);
        let events = cloud.events(store);
        assert!(
            events <= total,
            "the cloud holds {events} events of {store}, more than the store's {total} records"
        );
        let pending: Vec<u64> = ks
            .iter_mut()
            .flatten()
            .map(|k| k.ok("cloud status")["pending"].as_u64().unwrap_or(u64::MAX))
            .collect();
        if events == total && pending.iter().all(|p| *p == 0) {
            return total;
        }
        if Instant::now() > deadline {
            let statuses: Vec<Value> = ks
                .iter_mut()
                .flatten()
                .map(|k| k.ok("cloud status"))
                .collect();
            panic!(
                "not synced within {timeout:?}: cloud {events} events, store {total} records, pending {pending:?}; {statuses:#?}"
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Sum of every live terminal's own journal length (`status.last_seq`).
pub fn own_journals(ks: &mut [Option<Keel>]) -> u64 {
    ks.iter_mut()
        .flatten()
        .map(|k| k.ok("status")["last_seq"].as_u64().unwrap())
        .sum()
}

/// Starts a PostgreSQL for one test.
pub fn postgres() -> PostgresHarness {
    PostgresHarness::start().unwrap_or_else(|e| panic!("PostgreSQL for the test: {e}"))
}
