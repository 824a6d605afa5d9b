//! A fault-injecting UDP relay for cluster tests and the cluster benchmark.
//!
//! QUIC runs over UDP, so one relay per ordered terminal pair lets a test cut a
//! link without network namespaces. Relay `R(i→j)` listens on an ephemeral port
//! of 127.0.0.1 and forwards every datagram it receives from anyone other than
//! `j` (that is, from terminal `i`'s socket) to `j`'s real listen address, from
//! its own socket; datagrams from `j` go back to the last address that sent to
//! the relay. Terminal `i`'s config names `R(i→j)` as the static address of
//! peer `j`, and `j` reaches `i` through `R(j→i)`, so every QUIC connection of
//! the pair runs through exactly one relay and [`Relay::cut`] severs it.
//!
//! Controls: [`Relay::cut`] / [`Relay::heal`] (drop everything while cut) and
//! [`Relay::set_loss`] (drop that percentage of datagrams, drawn from a seeded
//! xorshift so a run can be replayed). Each relay is one thread with a 20 ms
//! receive timeout; it stops and is joined when the relay is dropped. Loopback
//! only: [`Relay::new`] refuses a non-loopback target.
//!
//! This file has no dependencies beyond std, so `tools/bench` includes it too
//! (`#[path]`), and it must stay that way.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest datagram relayed (QUIC datagrams are far smaller).
const MAX_DATAGRAM: usize = 65_536;

struct Shared {
    cut: AtomicBool,
    loss_percent: AtomicU32,
    stop: AtomicBool,
    rng: Mutex<u64>,
    forwarded: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    /// True if this datagram should be dropped (cut, or lost by the PRNG).
    fn drop_this(&self) -> bool {
        if self.cut.load(Ordering::SeqCst) {
            return true;
        }
        let loss = u64::from(self.loss_percent.load(Ordering::Relaxed));
        if loss == 0 {
            return false;
        }
        let mut s = self.rng.lock().unwrap();
        // xorshift64*
        let mut x = *s;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D) % 100 < loss
    }
}

/// One direction of a terminal pair: forwards `i`'s datagrams to `target` and
/// the target's replies back to `i`.
pub struct Relay {
    addr: SocketAddr,
    target: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// A relay listening on 127.0.0.1:ephemeral that forwards to `target` (a
    /// loopback address). `seed` drives the loss PRNG.
    pub fn new(target: SocketAddr, seed: u64) -> std::io::Result<Relay> {
        if !target.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("relay target {target} is not a loopback address"),
            ));
        }
        let socket = UdpSocket::bind(("127.0.0.1", 0))?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        let addr = socket.local_addr()?;
        let shared = Arc::new(Shared {
            cut: AtomicBool::new(false),
            loss_percent: AtomicU32::new(0),
            stop: AtomicBool::new(false),
            rng: Mutex::new(if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            }),
            forwarded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("relay-{}", addr.port()))
            .spawn(move || {
                let mut buf = vec![0u8; MAX_DATAGRAM];
                // The dialing side's socket: where the target's replies go.
                let mut client: Option<SocketAddr> = None;
                while !s.stop.load(Ordering::SeqCst) {
                    let (n, from) = match socket.recv_from(&mut buf) {
                        Ok(r) => r,
                        // Timeouts (to check `stop`) and ICMP errors of a target that is down.
                        Err(_) => continue,
                    };
                    let to = if from == target {
                        match client {
                            Some(c) => c,
                            None => continue,
                        }
                    } else {
                        client = Some(from);
                        target
                    };
                    if s.drop_this() {
                        s.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    // A send error (target down: ICMP refused) is a lost datagram, as on a network.
                    if socket.send_to(&buf[..n], to).is_ok() {
                        s.forwarded.fetch_add(1, Ordering::Relaxed);
                    } else {
                        s.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })?;
        Ok(Relay {
            addr,
            target,
            shared,
            thread: Some(thread),
        })
    }

    /// Where the dialing terminal should send (the relay's own address).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The real address datagrams are forwarded to.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Drops every datagram, both directions, until [`Relay::heal`].
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
    }

    /// Forwards again.
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Whether the relay is cut.
    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    /// Drops `percent` (0..=100) of the datagrams it would forward.
    pub fn set_loss(&self, percent: u32) {
        self.shared
            .loss_percent
            .store(percent.min(100), Ordering::SeqCst);
    }

    /// Datagrams forwarded and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.shared.forwarded.load(Ordering::Relaxed),
            self.shared.dropped.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A relay for every ordered pair of a store's terminals (ids 1..=n).
pub struct Mesh {
    relays: BTreeMap<(u32, u32), Relay>,
}

impl Mesh {
    /// Relays between terminals whose real listen addresses are `listen[id - 1]`.
    pub fn new(listen: &[SocketAddr], seed: u64) -> std::io::Result<Mesh> {
        let mut relays = BTreeMap::new();
        for i in 1..=listen.len() as u32 {
            for j in 1..=listen.len() as u32 {
                if i != j {
                    let pair_seed = seed ^ (u64::from(i) << 40) ^ (u64::from(j) << 20) ^ 0x5151;
                    relays.insert((i, j), Relay::new(listen[j as usize - 1], pair_seed)?);
                }
            }
        }
        Ok(Mesh { relays })
    }

    /// Relays for the terminals of provisioned configs (their `[cluster] listen`),
    /// rewriting each config so that its static peers are reached through them.
    pub fn for_configs(configs: &[impl AsRef<Path>], seed: u64) -> std::io::Result<Mesh> {
        let listen: Vec<SocketAddr> = configs
            .iter()
            .map(|c| listen_of(c.as_ref()))
            .collect::<std::io::Result<_>>()?;
        let mesh = Mesh::new(&listen, seed)?;
        for (i, c) in configs.iter().enumerate() {
            mesh.rewrite_config(c.as_ref(), i as u32 + 1)?;
        }
        Ok(mesh)
    }

    /// The relay `from → to`.
    pub fn relay(&self, from: u32, to: u32) -> &Relay {
        self.relays
            .get(&(from, to))
            .unwrap_or_else(|| panic!("no relay {from}->{to}"))
    }

    /// Rewrites the `addr` of every `[[cluster.peers]]` entry of terminal `me`'s
    /// config to the relay `me → id`.
    pub fn rewrite_config(&self, path: &Path, me: u32) -> std::io::Result<()> {
        let text = std::fs::read_to_string(path)?;
        let mut out = String::with_capacity(text.len());
        let mut in_peer = false;
        let mut peer: Option<u32> = None;
        let mut pending_addr: Option<usize> = None;
        let lines: Vec<&str> = text.lines().collect();
        let mut rewritten: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        for (n, line) in lines.iter().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                in_peer = t == "[[cluster.peers]]";
                peer = None;
                pending_addr = None;
                continue;
            }
            if !in_peer {
                continue;
            }
            if let Some(v) = t.strip_prefix("id") {
                let v = v.trim_start().trim_start_matches('=').trim();
                peer = v.parse().ok();
            } else if t.starts_with("addr") {
                pending_addr = Some(n);
            }
            if let (Some(p), Some(a)) = (peer, pending_addr) {
                rewritten[a] = format!("addr = \"{}\"", self.relay(me, p).addr());
                pending_addr = None;
                peer = None;
            }
        }
        for l in rewritten {
            out.push_str(&l);
            out.push('\n');
        }
        std::fs::write(path, out)
    }

    /// Cuts every link between a terminal of `a` and one of `b`, both directions.
    pub fn partition(&self, a: &[u32], b: &[u32]) {
        for &i in a {
            for &j in b {
                self.relay(i, j).cut();
                self.relay(j, i).cut();
            }
        }
    }

    /// Cuts every link of terminal `t`.
    pub fn isolate(&self, t: u32) {
        for (&(i, j), r) in &self.relays {
            if i == t || j == t {
                r.cut();
            }
        }
    }

    /// Heals every link.
    pub fn heal_all(&self) {
        for r in self.relays.values() {
            r.heal();
        }
    }

    /// Sets the loss percentage on every link.
    pub fn set_loss(&self, percent: u32) {
        for r in self.relays.values() {
            r.set_loss(percent);
        }
    }
}

/// The `[cluster] listen = "..."` address of a terminal config.
pub fn listen_of(config: &Path) -> std::io::Result<SocketAddr> {
    let text = std::fs::read_to_string(config)?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("listen") && l.contains('='))
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: no listen address", config.display()),
            )
        })?;
    let v = line
        .split_once('=')
        .map(|(_, v)| v.trim().trim_matches('"'))
        .unwrap_or_default();
    v.parse().map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: listen {v:?}: {e}", config.display()),
        )
    })
}
