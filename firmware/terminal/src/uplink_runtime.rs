//! The store uplink of one terminal: a thread running a smol executor that,
//! while this terminal is the store's raft leader, keeps a session with the
//! operator's cloud: uploads every journal the store holds in priority order,
//! proposes the acknowledged high-water marks through raft, and applies what
//! the cloud publishes. On followers it idles.
//!
//! Owns: the session loop (`session`), the downlink's journal writes
//! (`downlink`), retry with exponential backoff and jitter, and the status the
//! console and the health endpoint show (`status`), and the leader's OTA
//! exchange (`ota`: the store's OTA reports, releases downloaded once).
//!
//! Must not: hold the node lock across a network wait, or let anything here
//! delay a sale (a cloud outage only shows up in the status); decide what a
//! batch holds (keel-uplink's `BatchBuilder` does) or how to talk QUIC
//! (keel-cluster's `CloudSession` does).

pub mod downlink;
pub mod ota;
pub mod session;
pub mod status;
pub mod transport;

pub use status::{UplinkState, UplinkStatus};

use crate::cluster_runtime::ClusterLink;
use crate::config::{CloudConfig, ClusterConfig};
use crate::node::Node;
use keel_cluster::cloud_session::SessionError;
use keel_cluster::identity::TerminalIdentity;
use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::backoff::Backoff;
use keel_uplink::{StoreHealth, UplinkMarks};
use session::SessionEnd;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// First retry delay after a failure (doubling up to the configured cap).
pub const RETRY_BASE: Duration = Duration::from_millis(250);

/// How often a follower checks whether it became the leader.
const LEADER_POLL: Duration = Duration::from_millis(200);

/// Errors starting the uplink runtime.
#[derive(Debug, Error)]
pub enum UplinkStartError {
    /// The terminal certificate, its key or the operator CA cannot be read.
    #[error("cloud uplink identity: {0}")]
    Identity(String),
    /// The runtime thread cannot be spawned.
    #[error("cloud uplink: cannot start the runtime thread: {0}")]
    Thread(std::io::Error),
}

/// Why a sync attempt failed (shown as the status's last error).
#[derive(Debug, Error)]
pub enum SyncError {
    /// The TLS configuration for the cloud cannot be built from the certificates.
    #[error("cloud TLS: {0}")]
    Tls(String),
    /// Connecting, a timeout, a broken connection or bytes that are no message.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The cloud refused a message, with its reason; nothing of it was stored.
    #[error("refused by the cloud: {0}")]
    Refused(String),
    /// The cloud answered out of turn.
    #[error("uplink protocol: {0}")]
    Protocol(String),
    /// Reading the journal failed.
    #[error("reading the journal: {0}")]
    Journal(String),
    /// Journaling publications failed (nothing of them was written).
    #[error("applying publications: {0}")]
    Downlink(String),
}

/// A running uplink runtime.
pub struct UplinkHandle {
    status: Arc<Mutex<UplinkStatus>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Read access to the uplink's status for other threads (the health endpoint).
#[derive(Clone)]
pub struct UplinkView(Arc<Mutex<UplinkStatus>>);

impl UplinkView {
    /// A snapshot of the uplink's status.
    pub fn status(&self) -> UplinkStatus {
        lock(&self.0).clone()
    }
}

impl UplinkHandle {
    /// A snapshot of the uplink's status.
    pub fn status(&self) -> UplinkStatus {
        lock(&self.status).clone()
    }

    /// A view of the status for another thread.
    pub fn view(&self) -> UplinkView {
        UplinkView(self.status.clone())
    }

    /// Stops the runtime (closing any session) and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for UplinkHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Records the cloud does not hold in full, counted from `node`'s replication
/// heads and `marks` (any terminal can count this; `None` if the journal
/// cannot be read).
pub fn pending_of(node: &Node, marks: &UplinkMarks) -> Option<u64> {
    let heads: BTreeMap<TerminalId, u64> = node
        .replication_heads()
        .ok()?
        .into_iter()
        .map(|(t, h)| (t, h.seq))
        .collect();
    Some(marks.pending(&heads))
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// What a session needs.
pub(crate) struct Ctx {
    node: Arc<Mutex<Node>>,
    cluster: ClusterLink,
    cfg: CloudConfig,
    operator_ca: String,
    identity: TerminalIdentity,
    store: StoreId,
    me: TerminalId,
    status: Arc<Mutex<UplinkStatus>>,
    stop: Arc<AtomicBool>,
    backoff: Mutex<Backoff>,
}

impl Ctx {
    /// Changes the shared status.
    fn set(&self, f: impl FnOnce(&mut UplinkStatus)) {
        f(&mut lock(&self.status))
    }

    /// Why the current session must end now, if it must.
    fn must_end(&self) -> Option<SessionEnd> {
        if self.stop.load(Ordering::SeqCst) {
            Some(SessionEnd::Stopped)
        } else if !self.cluster.status().is_leader() {
            Some(SessionEnd::LostLeadership)
        } else {
            None
        }
    }

    fn backoff_reset(&self) {
        lock(&self.backoff).reset();
    }

    /// The store's health figures for the cloud.
    fn health(&self, heads: &BTreeMap<TerminalId, u64>, marks: &UplinkMarks) -> StoreHealth {
        let cluster = self.cluster.status();
        let (failed_syncs, last_error) = {
            let s = lock(&self.status);
            (s.failed_syncs, s.last_error.clone())
        };
        let data_dir = lock(&self.node).data_dir().to_path_buf();
        StoreHealth {
            pending: marks.pending(heads),
            failed_syncs,
            last_error,
            disk_free_pct: crate::health::disk_free_pct(&data_dir).unwrap_or(0),
            terminals_up: cluster.terminals_up(),
            terminals: cluster.members.len().max(1) as u32,
            now_ms: now_ms(),
        }
    }
}

/// A tiny seeded generator for retry jitter (xorshift64*).
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Starts the uplink runtime for `node` (a member of the cluster `cluster`
/// runs, configured by `cluster_cfg`) towards the cloud in `cfg`.
pub fn start(
    node: Arc<Mutex<Node>>,
    cluster: ClusterLink,
    cfg: &CloudConfig,
    cluster_cfg: &ClusterConfig,
) -> Result<UplinkHandle, UplinkStartError> {
    let identity = TerminalIdentity::from_files(&cluster_cfg.cert, &cluster_cfg.key)
        .map_err(|e| UplinkStartError::Identity(e.to_string()))?;
    let operator_ca = std::fs::read_to_string(&cfg.ca_cert)
        .map_err(|e| UplinkStartError::Identity(format!("{}: {e}", cfg.ca_cert.display())))?;
    let (store, me) = {
        let n = lock(&node);
        (n.profile.store.clone(), n.profile.terminal)
    };
    let status = Arc::new(Mutex::new(UplinkStatus {
        cloud: Some(cfg.addr),
        ..UplinkStatus::default()
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = Ctx {
        node,
        cluster,
        cfg: cfg.clone(),
        operator_ca,
        identity,
        store,
        me,
        status: status.clone(),
        stop: stop.clone(),
        backoff: Mutex::new(Backoff::new(RETRY_BASE, cfg.retry_max)),
    };
    let thread = std::thread::Builder::new()
        .name(format!("keel-uplink-{me}"))
        .spawn(move || smol::block_on(run(ctx)))
        .map_err(UplinkStartError::Thread)?;
    Ok(UplinkHandle {
        status,
        stop,
        thread: Some(thread),
    })
}

async fn run(ctx: Ctx) {
    let mut jitter = Jitter((u64::from(ctx.me.0) << 32 ^ now_ms()) | 1);
    let mut next_batch = now_ms();
    loop {
        if ctx.stop.load(Ordering::SeqCst) {
            break;
        }
        let leader = ctx.cluster.status().is_leader();
        ctx.set(|s| s.leader = leader);
        if !leader {
            ctx.set(|s| {
                s.state = UplinkState::Idle;
                s.retry_at_ms = None;
            });
            smol::Timer::after(LEADER_POLL).await;
            continue;
        }
        match session::run(&ctx, &mut next_batch).await {
            Ok(SessionEnd::Stopped) => break,
            Ok(SessionEnd::LostLeadership) => {
                log::info!(
                    "uplink: {} is no longer the store leader; session closed",
                    ctx.me
                );
                ctx.set(|s| {
                    s.state = UplinkState::Idle;
                    s.leader = false;
                });
            }
            Err(e) => {
                let delay = lock(&ctx.backoff).fail(jitter.next());
                let why = e.to_string();
                log::warn!("uplink: sync with the cloud failed: {why}; retrying in {delay:?}");
                ctx.set(|s| {
                    s.failed_syncs = s.failed_syncs.saturating_add(1);
                    s.failed_total += 1;
                    s.last_error = Some(why);
                    s.state = UplinkState::Backoff;
                    s.retry_at_ms = Some(now_ms() + delay.as_millis() as u64);
                });
                let deadline = std::time::Instant::now() + delay;
                while std::time::Instant::now() < deadline && ctx.must_end().is_none() {
                    smol::Timer::after(Duration::from_millis(100)).await;
                }
            }
        }
    }
    ctx.set(|s| {
        s.state = UplinkState::Idle;
        s.retry_at_ms = None;
    });
}
