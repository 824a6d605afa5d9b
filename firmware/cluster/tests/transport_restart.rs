//! A peer process that is SIGKILLed and restarted on the same address must be reachable
//! again at once (not after its peers' idle timeout), whichever side has the lower id; a
//! peer that dies for good is still reported down within the idle timeout; and what QUIC
//! stateless resets do for a restarted peer that does not dial us.
//!
//! Real processes and real sockets on 127.0.0.1: the test binary re-executes itself as
//! a child ([`reexec_test`], role [`ROLE`]) that binds one transport on a given port,
//! echoes every message back on its channel and prints `KEEL-READY <addr> <boot id>`.
//! Certificates are issued once per case by a [`StoreCa`] and handed to the child as PEM
//! files in a temporary directory.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel_cluster::identity::{StoreCa, TerminalIdentity};
use keel_cluster::transport::{Channel, Transport, TransportConfig, TransportEvent};
use keel_core::ids::{StoreId, TerminalId};
use keel_testkit::process::{reexec_test, ChildGuard, CHILD_ROLE_ENV};

/// The child-mode role of the re-executed test binary.
const ROLE: &str = "transport-echo";
/// Child parameters (besides the role).
const ENV_DIR: &str = "KEEL_TRANSPORT_CHILD_DIR";
const ENV_ID: &str = "KEEL_TRANSPORT_CHILD_ID";
const ENV_PORT: &str = "KEEL_TRANSPORT_CHILD_PORT";
/// `<id>@<addr>` of the parent's transport; absent: the child knows no peer (it only answers).
const ENV_PEER: &str = "KEEL_TRANSPORT_CHILD_PEER";
/// The idle timeout of the default timing (what a dead peer is detected by).
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// How often the parent sends a probe, like a raft leader's heartbeats.
const PROBE_EVERY: Duration = Duration::from_millis(100);

fn store() -> StoreId {
    StoreId("demo".to_string())
}

fn config(ca_pem: &str, id: TerminalIdentity, t: u32, listen: SocketAddr) -> TransportConfig {
    let mut cfg = TransportConfig::new(listen, store(), TerminalId(t), ca_pem.to_string(), id);
    cfg.seed = 42 + u64::from(t);
    cfg
}

// ---------------------------------------------------------------------------------------
// Child side.

/// Child mode: one transport that echoes every message. Does nothing in a normal run.
#[test]
fn transport_echo_child() {
    if std::env::var(CHILD_ROLE_ENV).as_deref() != Ok(ROLE) {
        return;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let id: u32 = var(ENV_ID).parse().expect("child id");
    keel_testkit::logging::init(&format!("child-t{id}"));
    // The parent closes our stdin (or dies): stop. And never outlive a stuck test.
    std::thread::spawn(|| {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            if line.is_err() {
                break;
            }
        }
        std::process::exit(0);
    });
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(300));
        eprintln!("child: still running after 300 s; exiting");
        std::process::exit(3);
    });
    let dir = PathBuf::from(var(ENV_DIR));
    let port: u16 = var(ENV_PORT).parse().expect("child port");
    let peer = std::env::var(ENV_PEER).ok().map(|p| {
        let (id, addr) = p.split_once('@').expect("peer as id@addr");
        (
            TerminalId(id.parse().expect("peer id")),
            addr.parse::<SocketAddr>().expect("peer addr"),
        )
    });
    smol::block_on(child_main(&dir, id, port, peer));
}

async fn child_main(dir: &Path, id: u32, port: u16, peer: Option<(TerminalId, SocketAddr)>) {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    let ca_pem = read("ca.pem");
    let identity = TerminalIdentity {
        cert_pem: read(&format!("t{id}.crt")),
        key_pem: read(&format!("t{id}.key")),
    };
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // The killed predecessor's socket is gone with it, but retry briefly anyway.
    let started = Instant::now();
    let t = loop {
        match Transport::bind(config(&ca_pem, identity.clone(), id, listen)).await {
            Ok(t) => break t,
            Err(e) if started.elapsed() < Duration::from_secs(3) => {
                eprintln!("child t{id}: bind {listen}: {e}; retrying");
                smol::Timer::after(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("child t{id}: bind {listen}: {e}"),
        }
    };
    if let Some((p, addr)) = peer {
        t.set_peer_addr(p, addr);
    }
    println!("KEEL-READY {} {:016x}", t.local_addr(), t.boot_id());
    let _ = std::io::stdout().flush();
    loop {
        if let TransportEvent::Message(m) = t.next_event().await {
            if let Err(e) = t.send(m.from, m.channel, m.payload) {
                eprintln!("child t{id}: echo to {}: {e}", m.from);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parent side.

/// A store CA with one child terminal's PEM files written to a temporary directory.
struct Pki {
    ca: StoreCa,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new(child: u32) -> Pki {
        keel_testkit::logging::init("parent");
        let ca = StoreCa::generate(&store()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
        let pki = Pki { ca, dir };
        pki.issue(child);
        pki
    }

    /// (Re)issues the child's certificate, with a new key, into its files.
    fn issue(&self, child: u32) {
        let id = self.ca.issue_terminal(TerminalId(child)).unwrap();
        std::fs::write(self.dir.path().join(format!("t{child}.crt")), &id.cert_pem).unwrap();
        std::fs::write(self.dir.path().join(format!("t{child}.key")), &id.key_pem).unwrap();
    }

    async fn transport(&self, t: u32, hello_wait: Option<Duration>) -> Transport {
        let id = self.ca.issue_terminal(TerminalId(t)).unwrap();
        let mut cfg = config(&self.ca.cert_pem(), id, t, "127.0.0.1:0".parse().unwrap());
        if let Some(wait) = hello_wait {
            cfg.timing.hello_wait = wait;
        }
        Transport::bind(cfg).await.unwrap()
    }
}

/// One running child process.
struct Child {
    guard: ChildGuard,
    addr: SocketAddr,
    boot: String,
}

/// Starts the echo child `id` on `port` (0: any); `peer` is the parent transport it
/// knows (as static config would), if any. Waits for it to listen.
/// A port for a child that is restarted on it: below the kernel's ephemeral range
/// (32768 and up), so no other test's ephemeral socket can take it between a kill
/// and the restart, and free when picked.
fn restart_port() -> u16 {
    use std::sync::atomic::AtomicU16;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() % 300) as u16 * 2,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = 32_100 + NEXT.fetch_add(1, Ordering::SeqCst) % 600;
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn spawn_child(pki: &Pki, id: u32, port: u16, peer: Option<&Transport>) -> Child {
    let mut cmd = reexec_test("transport_echo_child", ROLE).expect("test binary");
    cmd.env(ENV_DIR, pki.dir.path())
        .env(ENV_ID, id.to_string())
        .env(ENV_PORT, port.to_string());
    match peer {
        Some(p) => cmd.env(ENV_PEER, format!("{}@{}", p.terminal().0, p.local_addr())),
        None => cmd.env_remove(ENV_PEER),
    };
    let guard = ChildGuard::spawn(&format!("t{id}"), &mut cmd).expect("spawn child");
    // libtest prints `test transport_echo_child ... ` before the child's first line.
    let line = guard
        .wait_line(Duration::from_secs(10), |l| l.contains("KEEL-READY "))
        .unwrap_or_else(|| panic!("child t{id} never ready"));
    let line = &line[line.find("KEEL-READY ").unwrap()..];
    let mut words = line.split_whitespace().skip(1);
    let addr: SocketAddr = words.next().unwrap().parse().unwrap();
    let boot = words.next().unwrap_or("?").to_string();
    Child { guard, addr, boot }
}

/// Sends `r<epoch>-<seq>` to `to` on Control every [`PROBE_EVERY`] while alive, with the
/// epoch read at each send (so echoes of probes sent after a kill are told apart).
fn probe(a: &Transport, to: u32, epoch: Arc<AtomicU32>) -> smol::Task<()> {
    let a = a.clone();
    smol::spawn(async move {
        for seq in 0u64.. {
            let e = epoch.load(Ordering::SeqCst);
            let _ = a.send(
                TerminalId(to),
                Channel::Control,
                format!("r{e}-{seq}").into_bytes(),
            );
            smol::Timer::after(PROBE_EVERY).await;
        }
    })
}

/// Waits until `pred` holds for an event of `a`, for at most `within`; returns every
/// event seen (the matching one last) and whether it matched.
async fn wait_event(
    a: &Transport,
    within: Duration,
    pred: impl Fn(&TransportEvent) -> bool,
) -> (Vec<TransportEvent>, bool) {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = smol::future::or(async { Some(a.next_event().await) }, async {
            smol::Timer::after(left).await;
            None
        })
        .await;
        match ev {
            Some(e) => {
                let hit = pred(&e);
                seen.push(e);
                if hit {
                    return (seen, true);
                }
            }
            None => return (seen, false),
        }
    }
}

fn is_echo(from: u32, epoch: u32) -> impl Fn(&TransportEvent) -> bool {
    let prefix = format!("r{epoch}-");
    move |e| matches!(e, TransportEvent::Message(m) if m.from.0 == from && m.payload.starts_with(prefix.as_bytes()))
}

/// Everything but the (many) echoes, for the log.
fn summary(events: &[TransportEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !matches!(e, TransportEvent::Message(_)))
        .map(|e| format!("{e:?}"))
        .collect()
}

/// Parent `a_id` ↔ child `b_id`: five times, SIGKILL the child, restart it on the same
/// port after `down` (with a newly issued key if `new_key`), and time the first echo of a
/// probe after it listens again. Returns the times and, per round, A's PeerDown reasons.
fn restart_case(
    a_id: u32,
    b_id: u32,
    down: Duration,
    new_key: bool,
) -> (Vec<Duration>, Vec<Vec<String>>) {
    restart_case_with(a_id, b_id, down, new_key, None)
}

/// [`restart_case`] with the parent's `hello_wait` set (None: the default).
fn restart_case_with(
    a_id: u32,
    b_id: u32,
    down: Duration,
    new_key: bool,
    hello_wait: Option<Duration>,
) -> (Vec<Duration>, Vec<Vec<String>>) {
    smol::block_on(async {
        let pki = Pki::new(b_id);
        let a = pki.transport(a_id, hello_wait).await;
        let mut b = spawn_child(&pki, b_id, restart_port(), Some(&a));
        let b_addr = b.addr;
        a.set_peer_addr(TerminalId(b_id), b_addr);
        let epoch = Arc::new(AtomicU32::new(0));
        let _task = probe(&a, b_id, epoch.clone());
        let (seen, ok) = wait_event(&a, Duration::from_secs(10), is_echo(b_id, 0)).await;
        assert!(
            ok,
            "t{a_id} <-> t{b_id}: no first echo; saw {:?}",
            summary(&seen)
        );
        // Let a simultaneous dial settle and the connection carry traffic for a while.
        smol::Timer::after(Duration::from_millis(500)).await;

        let mut times = Vec::new();
        let mut downs = Vec::new();
        for round in 1..=5u32 {
            let killed = Instant::now();
            b.guard.kill();
            // Probes sent from now on can only be echoed by the restarted child.
            epoch.store(round, Ordering::SeqCst);
            if new_key {
                pki.issue(b_id);
            }
            smol::Timer::after(down).await;
            let old_boot = b.boot.clone();
            b = spawn_child(&pki, b_id, b_addr.port(), Some(&a));
            assert_eq!(b.addr, b_addr);
            let ready = Instant::now();
            let (mut seen, ok) =
                wait_event(&a, Duration::from_secs(15), is_echo(b_id, round)).await;
            let recovered = ready.elapsed();
            assert!(
                ok,
                "round {round}: t{b_id} never echoed after its restart; saw {:?}",
                summary(&seen)
            );
            // Under load the first echo can overtake the restart's PeerDown/PeerUp
            // on the event queue: wait a little for the report before judging it.
            if !seen
                .iter()
                .any(|e| matches!(e, TransportEvent::PeerDown(..)))
            {
                let (more, _) = wait_event(&a, Duration::from_secs(3), |e| {
                    matches!(e, TransportEvent::PeerDown(..))
                })
                .await;
                seen.extend(more);
            }
            println!(
                "t{a_id} <-> t{b_id} round {round}: restarted (boot {old_boot} -> {}) {:?} after SIGKILL; \
                 echo {recovered:?} after it listened; events: {:?}",
                b.boot,
                ready - killed,
                summary(&seen)
            );
            times.push(recovered);
            downs.push(
                seen.iter()
                    .filter_map(|e| match e {
                        TransportEvent::PeerDown(_, why) => Some(why.clone()),
                        _ => None,
                    })
                    .collect(),
            );
            // The restarted pair carries traffic for a while before the next kill.
            smol::Timer::after(Duration::from_millis(300)).await;
        }
        b.guard.close_stdin();
        b.guard.kill();
        a.close().await;
        (times, downs)
    })
}

fn check(label: &str, times: &[Duration]) {
    let max = times.iter().max().copied().unwrap_or_default();
    println!("{label}: recovery times {times:?} (max {max:?})");
    // The property: a restart is detected (boot id, stateless reset) instead of the
    // stale connection lingering until the idle timeout declares it dead. How fast
    // is a figure for the cluster benchmark, not a test limit.
    assert!(
        max < IDLE_TIMEOUT,
        "{label}: recovery took {max:?}, as long as the idle timeout ({IDLE_TIMEOUT:?}): the restart was not detected: {times:?}"
    );
}

/// Every round's restart was reported as one PeerDown (followed by PeerUp).
fn check_reported(label: &str, downs: &[Vec<String>], want: &str) {
    for (i, d) in downs.iter().enumerate() {
        assert!(
            d.len() == 1 && d[0].contains(want),
            "{label} round {}: PeerDown reasons {d:?}, want {want:?}",
            i + 1
        );
    }
}

#[test]
fn restarted_higher_id_is_reachable_at_once() {
    // The parent (2) dialed the connection that goes stale; the restarted 3 dials it back
    // after yielding to the lower id. The parent's probes on the stale connection are
    // answered with stateless resets (first), and 3's new connection carries a new boot id.
    let (quick, downs) = restart_case(2, 3, Duration::ZERO, false);
    check_reported("higher id restarted at once", &downs, "restarted");
    let (slow, downs) = restart_case(2, 3, Duration::from_millis(1000), false);
    check_reported("higher id restarted after 1 s", &downs, "restarted");
    check("higher id restarted at once", &quick);
    check("higher id restarted after 1 s", &slow);
}

#[test]
fn restarted_lower_id_is_reachable_at_once() {
    // The restarted 1 dialed the connection that goes stale, and dials again at once.
    let (quick, downs) = restart_case(2, 1, Duration::ZERO, false);
    check_reported("lower id restarted at once", &downs, "restarted");
    let (slow, downs) = restart_case(2, 1, Duration::from_millis(1000), false);
    check_reported("lower id restarted after 1 s", &downs, "restarted");
    check("lower id restarted at once", &quick);
    check("lower id restarted after 1 s", &slow);
}

/// The restarted lower id's hello (its new boot id) reaches the parent only after the
/// parent has already swapped its new connection in for the stale one (as when the child
/// is starved of CPU; forced here with a zero hello wait): the restart is still reported,
/// once, as PeerDown then PeerUp, when the hello arrives. (Seen under CI load before the
/// late-hello report existed: the stale connection was replaced with no event at all.)
#[test]
fn restart_is_reported_when_the_new_boot_id_comes_late() {
    let (times, downs) = restart_case_with(2, 1, Duration::ZERO, false, Some(Duration::ZERO));
    check_reported("lower id restarted, hello late", &downs, "restarted");
    check("lower id restarted, hello late", &times);
}

/// The original bug, isolated from stateless resets: the restarted higher id comes back
/// with a newly issued key (so its reset key differs and the parent's stale connection
/// never gets a recognisable reset). Only the boot id in its new connection tells the
/// parent that its own (lower-id-dialed) connection is stale.
#[test]
fn restarted_with_a_new_key_replaces_the_stale_connection_by_boot_id() {
    let (times, downs) = restart_case(2, 3, Duration::ZERO, true);
    check("higher id restarted with a new key", &times);
    check_reported(
        "higher id restarted with a new key",
        &downs,
        "restarted (boot id",
    );
}

/// A child that dies for good is reported down within the idle timeout (plus slack),
/// even while messages keep being queued for it.
#[test]
fn killed_peer_is_reported_down_within_the_idle_timeout() {
    smol::block_on(async {
        let pki = Pki::new(2);
        let a = pki.transport(1, None).await;
        let mut b = spawn_child(&pki, 2, 0, Some(&a));
        a.set_peer_addr(TerminalId(2), b.addr);
        let task = probe(&a, 2, Arc::new(AtomicU32::new(0)));
        let (seen, ok) = wait_event(&a, Duration::from_secs(10), is_echo(2, 0)).await;
        assert!(ok, "no first echo; saw {:?}", summary(&seen));
        smol::Timer::after(Duration::from_millis(500)).await;
        let killed = Instant::now();
        b.guard.kill();
        let (seen, ok) = wait_event(
            &a,
            IDLE_TIMEOUT + Duration::from_secs(3),
            |e| matches!(e, TransportEvent::PeerDown(p, _) if p.0 == 2),
        )
        .await;
        drop(task);
        let took = killed.elapsed();
        assert!(ok, "no PeerDown; saw {:?}", summary(&seen));
        println!(
            "dead peer reported down {took:?} after SIGKILL: {:?}",
            seen.last()
        );
        assert!(
            took <= IDLE_TIMEOUT + Duration::from_secs(1),
            "PeerDown took {took:?}"
        );
        a.close().await;
    });
}

/// The restarted child does NOT know the parent (no address: it cannot dial), so only the
/// parent's own traffic on the stale connection can reveal the restart: the new process
/// answers it with a QUIC stateless reset (same reset key, derived from the terminal key,
/// and connection ids the new process does not reject as foreign). Both when the parent
/// dialed the stale connection (reset token from the server's transport parameters) and
/// when the child did (quinn's server switches to a connection id the client issued with a
/// token right after the handshake).
#[test]
fn stateless_reset_after_restart() {
    for (a_id, b_id) in [(2u32, 3u32), (2, 1)] {
        smol::block_on(async {
            let pki = Pki::new(b_id);
            let a = pki.transport(a_id, None).await;
            // The first child knows the parent, so that with b_id 1 it dials (lower id first).
            let mut b = spawn_child(&pki, b_id, restart_port(), Some(&a));
            let b_addr = b.addr;
            a.set_peer_addr(TerminalId(b_id), b_addr);
            let epoch = Arc::new(AtomicU32::new(0));
            let task = probe(&a, b_id, epoch.clone());
            let (seen, ok) = wait_event(&a, Duration::from_secs(10), is_echo(b_id, 0)).await;
            assert!(ok, "no first echo; saw {:?}", summary(&seen));
            smol::Timer::after(Duration::from_millis(500)).await;
            let dialed_by_parent = a.peers()[0].outbound;

            b.guard.kill();
            epoch.store(1, Ordering::SeqCst);
            smol::Timer::after(Duration::from_millis(300)).await;
            b = spawn_child(&pki, b_id, b_addr.port(), None);
            let ready = Instant::now();
            let (seen, ok) = wait_event(
                &a,
                IDLE_TIMEOUT + Duration::from_secs(3),
                |e| matches!(e, TransportEvent::PeerDown(p, _) if p.0 == b_id),
            )
            .await;
            let down_after = ready.elapsed();
            assert!(ok, "t{b_id}: no PeerDown; saw {:?}", summary(&seen));
            let Some(TransportEvent::PeerDown(_, reason)) = seen.last() else {
                unreachable!()
            };
            let reset = reason.contains("reset");
            println!(
                "t{a_id} (dialed the stale connection: {dialed_by_parent:?}) saw t{b_id} down {down_after:?} \
                 after its restart: {reason} (stateless reset: {reset})"
            );
            // The parent redials the restarted child, which answers again.
            let (seen, ok) = wait_event(&a, Duration::from_secs(10), is_echo(b_id, 1)).await;
            drop(task);
            assert!(
                ok,
                "t{b_id}: no echo after the restart; saw {:?}",
                summary(&seen)
            );
            println!("  echo {:?} after its restart", ready.elapsed());
            assert!(reset, "t{b_id}: no stateless reset: {reason}");
            assert!(
                down_after < Duration::from_millis(1000),
                "reset took {down_after:?}"
            );
            b.guard.close_stdin();
            b.guard.kill();
            a.close().await;
        });
    }
}
