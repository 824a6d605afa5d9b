//! QUIC transport between a store's terminals: quinn on the smol runtime, mutual TLS
//! (see `tls`), one connection per peer pair, one unidirectional stream per channel and
//! direction, length-prefixed frames with a size bound, reconnect with backoff.
//!
//! This module owns:
//! - the quinn endpoint (one UDP socket, used both to listen and to dial, so a peer's
//!   inbound address is also its listening address);
//! - the post-handshake peer check (store and terminal in the certificate's SAN URI);
//!   every refusal is logged with `log::warn!` and reported as [`TransportEvent::Refused`];
//! - connection de-duplication: when both sides dial at once, the connection dialed by
//!   the lower terminal id is kept and the other is closed gracefully; but a new
//!   connection always replaces a STALE one: each transport picks a random boot id at
//!   bind and both sides exchange it right after the handshake (acceptor in its welcome,
//!   dialer in its hello), so a connection from a peer whose boot id differs from the
//!   existing connection's means the peer restarted and the old connection is dead; an
//!   existing connection on which nothing (not even a keep-alive ack) arrived for
//!   1.5 keep-alive intervals is stale too. Either way the old connection is closed at
//!   once and reported as [`TransportEvent::PeerDown`] followed by
//!   [`TransportEvent::PeerUp`] (so owners resynchronise with the restarted peer);
//! - stateless resets: the reset key is derived from the terminal's private key and any
//!   8-byte connection id is accepted as possibly ours (see `CidGenerator`; quinn's
//!   default signs ids with a per-process random key, so a restarted process silently
//!   dropped its predecessor's packets as "invalid CID"). So the restarted process
//!   answers the first packet a peer sends on a stale connection with a stateless reset
//!   and that connection ends at once ("connection reset by peer"), whichever side
//!   dialed it (a quinn server moves to a client-issued connection id, which has a reset
//!   token, right after the handshake). A peer that sends nothing learns it from the
//!   restarted process's new connection (boot id) or its next keep-alive;
//! - framing: on each stream the first byte is the [`Channel`] tag, then frames of a
//!   u32 big-endian length and that many payload bytes. A length above `max_frame`, an
//!   unknown tag, a second stream for the same channel or a frame cut short closes THAT
//!   connection with a logged reason ([`TransportEvent::PeerDown`]); nothing else is affected;
//! - per peer and channel a bounded send queue drained by a writer task, and a dialer task
//!   that reconnects with exponential backoff (100 ms doubling to 5 s) and jitter drawn
//!   from the configured seed (no thread RNG).
//!
//! It must not interpret payloads (raft, replication and control messages are opaque
//! bytes here), persist anything, or decide membership: peers come from static config or
//! discovery through [`Transport::set_peer_addr`].
//!
//! Delivery: in order per peer and channel on one connection; at most once across
//! connection changes. A message written on a connection that then dies (or loses the
//! duplicate tie-break, or is replaced as stale) may be lost: raft retransmits and replication repairs by
//! anti-entropy. A message whose write failed is retried on the next connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use keel_core::ids::{StoreId, TerminalId};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ConnectionError, Endpoint, ReadExactError, RecvStream, VarInt};
use smol::channel::{Receiver, Sender};
use smol::Task;

use crate::identity::{terminal_dns_name, TerminalIdentity};
use crate::tls;
use crate::transport_frame::FrameDecoder;

/// Most bytes taken from a channel stream at a time (frames may span chunks).
const READ_CHUNK: usize = 64 * 1024;

/// Default bound on one frame's payload: 4 MiB.
pub const DEFAULT_MAX_FRAME: usize = 4 * 1024 * 1024;
/// Default capacity of each per-peer, per-channel send queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Application close codes (QUIC `APPLICATION_CLOSE`).
mod code {
    /// Transport shutting down.
    pub const SHUTDOWN: u32 = 0;
    /// Loser of the simultaneous-dial tie-break.
    pub const DUPLICATE: u32 = 1;
    /// Replaced by a newer connection dialed by the same side.
    pub const SUPERSEDED: u32 = 2;
    /// Peer refused after the handshake (wrong store or terminal).
    pub const REFUSED: u32 = 3;
    /// Framing violation (oversized, unknown tag, truncated, duplicate stream).
    pub const PROTOCOL: u32 = 4;
    /// The peer was forgotten locally.
    pub const FORGOTTEN: u32 = 5;
    /// Replaced by a new connection because this one is stale (the peer restarted, or
    /// nothing was heard on it for 1.5 keep-alive intervals).
    pub const STALE: u32 = 6;
}

/// Timers and backoff of a transport; the defaults suit a store LAN.
#[derive(Clone, Debug)]
pub struct Timing {
    /// QUIC keep-alive interval (default 1 s).
    pub keep_alive: Duration,
    /// QUIC idle timeout: a silent peer is declared down after this (default 4 s).
    pub idle_timeout: Duration,
    /// First reconnect delay (default 100 ms); doubles per failed attempt.
    pub backoff_min: Duration,
    /// Cap on the reconnect delay (default 5 s).
    pub backoff_max: Duration,
    /// How long the higher terminal id waits before dialing a lower one whose connection
    /// is not up, so that usually only the lower id dials (default 300 ms; 0 dials at once).
    pub yield_to_lower: Duration,
    /// How long the acceptor of a connection that competes with a live one waits for the
    /// dialer's hello (its boot id) before deciding between them without it (default 4 s).
    /// A dialer sends its hello at once, so this only bounds a stalled or old dialer; a
    /// hello that comes later still reports a restart (PeerDown then PeerUp).
    pub hello_wait: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            keep_alive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(4),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            yield_to_lower: Duration::from_millis(300),
            hello_wait: Duration::from_secs(4),
        }
    }
}

/// Everything a transport needs.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// UDP address to bind (port 0 for an ephemeral port).
    pub listen: SocketAddr,
    /// This terminal's store.
    pub store: StoreId,
    /// This terminal.
    pub terminal: TerminalId,
    /// The store CA certificate (PEM): the only root trusted for peers.
    pub ca_pem: String,
    /// This terminal's certificate and key.
    pub identity: TerminalIdentity,
    /// Largest frame payload accepted or sent (default [`DEFAULT_MAX_FRAME`]).
    pub max_frame: usize,
    /// Capacity of each per-peer, per-channel send queue (default [`DEFAULT_QUEUE_CAPACITY`]).
    pub queue_capacity: usize,
    /// Seed for reconnect jitter (replayable; no thread RNG).
    pub seed: u64,
    /// Timers and backoff.
    pub timing: Timing,
}

impl TransportConfig {
    /// A configuration with default limits, timing and seed 0.
    pub fn new(
        listen: SocketAddr,
        store: StoreId,
        terminal: TerminalId,
        ca_pem: String,
        identity: TerminalIdentity,
    ) -> TransportConfig {
        TransportConfig {
            listen,
            store,
            terminal,
            ca_pem,
            identity,
            max_frame: DEFAULT_MAX_FRAME,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            seed: 0,
            timing: Timing::default(),
        }
    }
}

/// What a message is for; each channel has its own stream (and ordering) per direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// raft-rs messages.
    Raft,
    /// Journal replication (anti-entropy, push on commit).
    Replication,
    /// Everything else between terminals (console queries, health).
    Control,
}

impl Channel {
    /// All channels, in tag order.
    pub const ALL: [Channel; 3] = [Channel::Raft, Channel::Replication, Channel::Control];

    /// The tag byte that opens this channel's stream.
    pub fn tag(self) -> u8 {
        match self {
            Channel::Raft => 1,
            Channel::Replication => 2,
            Channel::Control => 3,
        }
    }

    /// The channel for a tag byte, if any.
    pub fn from_tag(tag: u8) -> Option<Channel> {
        match tag {
            1 => Some(Channel::Raft),
            2 => Some(Channel::Replication),
            3 => Some(Channel::Control),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self.tag() as usize - 1
    }
}

/// A message received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The sender, as named by its certificate.
    pub from: TerminalId,
    /// The channel it came on.
    pub channel: Channel,
    /// The frame's payload.
    pub payload: Vec<u8>,
}

/// What the transport reports to its owner (see [`Transport::next_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportEvent {
    /// A message arrived.
    Message(Incoming),
    /// A verified connection to this peer is up (at that remote address).
    PeerUp(TerminalId, SocketAddr),
    /// The connection to this peer ended, with the reason.
    PeerDown(TerminalId, String),
    /// A connection attempt (inbound or outbound) from/to this address was refused, with the reason.
    Refused(SocketAddr, String),
}

/// A peer as the transport sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The peer.
    pub id: TerminalId,
    /// Where we dial it (configured, discovered, or learned from its inbound connection).
    pub addr: Option<SocketAddr>,
    /// Whether a verified connection is up.
    pub connected: bool,
    /// When connected: whether we dialed that connection.
    pub outbound: Option<bool>,
    /// Milliseconds since we last heard from the peer (connection up or a frame received).
    pub last_seen_ms: Option<u64>,
    /// Frames written to this peer.
    pub sent: u64,
    /// Frames received from this peer.
    pub received: u64,
    /// Frames waiting in its send queues.
    pub queued: usize,
}

/// Errors from [`Transport::bind`].
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The TLS configuration could not be built from the CA and identity.
    #[error("TLS setup: {0}")]
    Tls(#[from] tls::TlsError),
    /// quinn rejected the TLS configuration (e.g. no TLS 1.3 suite).
    #[error("QUIC crypto setup: {0}")]
    QuicCrypto(String),
    /// A configuration value is out of range.
    #[error("invalid transport configuration: {0}")]
    Config(String),
    /// The UDP socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Errors from [`Transport::send`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The transport was closed.
    #[error("transport closed")]
    Closed,
    /// The payload is larger than the frame limit.
    #[error("payload of {len} bytes exceeds the frame limit of {max}")]
    TooLarge {
        /// Payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The queue for this peer and channel is full (never for Raft: its oldest message is dropped).
    #[error("send queue to {peer} on {channel:?} is full")]
    QueueFull {
        /// The peer.
        peer: TerminalId,
        /// The channel.
        channel: Channel,
    },
    /// Sending to ourselves.
    #[error("cannot send to ourselves ({0})")]
    ToSelf(TerminalId),
}

/// A tiny notify-all: listeners register before checking their condition.
#[derive(Default)]
struct Notify {
    waiters: Mutex<Vec<Sender<()>>>,
}

impl Notify {
    fn listen(&self) -> Receiver<()> {
        let (tx, rx) = smol::channel::bounded(1);
        lock(&self.waiters).push(tx);
        rx
    }

    fn notify_all(&self) {
        for w in lock(&self.waiters).drain(..) {
            let _ = w.try_send(());
        }
    }
}

/// Locks a mutex, recovering from poisoning (a panicked task must not wedge the transport).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The live connection to a peer.
#[derive(Clone)]
struct Active {
    conn: quinn::Connection,
    outbound: bool,
    info: Arc<ConnInfo>,
}

/// What we know about one verified connection besides quinn's handle.
struct ConnInfo {
    /// The boot id of the peer process at the other end (0: not known, e.g. older firmware).
    peer_boot: AtomicU64,
    /// The boot id of the connection this one superseded while this one's own boot id was
    /// not yet known (0: none). When the dialer's hello comes late and carries a different
    /// boot id, the peer restarted after all: reported then (see `Inner::read_stream`).
    replaced_boot: AtomicU64,
    /// quinn's count of datagrams received on it, and when that count last changed.
    heard: Mutex<(u64, Instant)>,
}

impl ConnInfo {
    fn new(conn: &quinn::Connection, peer_boot: u64) -> Arc<ConnInfo> {
        Arc::new(ConnInfo {
            peer_boot: AtomicU64::new(peer_boot),
            replaced_boot: AtomicU64::new(0),
            heard: Mutex::new((conn.stats().udp_rx.datagrams, Instant::now())),
        })
    }

    /// How long nothing at all (frame, ack, keep-alive) has arrived on `conn`.
    fn silent_for(&self, conn: &quinn::Connection) -> Duration {
        let now = conn.stats().udp_rx.datagrams;
        let mut heard = lock(&self.heard);
        if heard.0 != now {
            *heard = (now, Instant::now());
        }
        heard.1.elapsed()
    }
}

/// Connection ids: 8 random bytes. Unlike quinn's default (ids signed with a per-process
/// random key), every id is accepted as possibly ours, so a restarted process answers
/// packets on its predecessor's connections with a stateless reset (same reset key)
/// instead of dropping them as "invalid CID".
struct CidGenerator {
    rng: ring::rand::SystemRandom,
    fallback: u64,
}

impl quinn::ConnectionIdGenerator for CidGenerator {
    fn generate_cid(&mut self) -> quinn::ConnectionId {
        use ring::rand::SecureRandom;
        let mut id = [0u8; 8];
        if self.rng.fill(&mut id).is_err() {
            id = splitmix(&mut self.fallback).to_be_bytes();
        }
        quinn::ConnectionId::new(&id)
    }

    fn cid_len(&self) -> usize {
        8
    }

    fn cid_lifetime(&self) -> Option<Duration> {
        None
    }
}

struct Queue {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
}

struct Peer {
    addr: Option<SocketAddr>,
    active: Option<Active>,
    /// Whether the owner was told PeerUp without a PeerDown since.
    up_reported: bool,
    queues: Vec<Queue>,
    /// Wakes this peer's writers and dialer on connection or address changes.
    notify: Arc<Notify>,
    last_seen: Option<Instant>,
    sent: u64,
    received: u64,
    /// Set by set_peer_addr: the dialer restarts its backoff.
    redial_now: bool,
    /// Its writers and dialer; dropping the peer cancels them.
    _tasks: Vec<Task<()>>,
}

struct Inner {
    store: StoreId,
    me: TerminalId,
    /// This process's boot id (random per bind, never 0), sent to every peer.
    boot_id: u64,
    max_frame: usize,
    queue_capacity: usize,
    timing: Timing,
    local_addr: SocketAddr,
    endpoint: Mutex<Option<Endpoint>>,
    client_config: quinn::ClientConfig,
    events_tx: Sender<TransportEvent>,
    events_rx: Receiver<TransportEvent>,
    peers: Mutex<HashMap<TerminalId, Peer>>,
    rng: Mutex<u64>,
    closed: AtomicBool,
    tasks: Mutex<Vec<Task<()>>>,
}

/// Frees the transport's tasks when the last handle goes.
struct Handle {
    inner: Arc<Inner>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.inner.shutdown_now();
    }
}

/// The QUIC transport of one terminal. Cheap to clone; dropping the last clone (or
/// [`Transport::close`]) stops it.
#[derive(Clone)]
pub struct Transport {
    handle: Arc<Handle>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A boot id: the configured seed mixed with the time, the process and OS randomness
/// (it only has to differ between two runs of the same terminal; never 0).
fn new_boot_id(seed: u64, terminal: TerminalId) -> u64 {
    use ring::rand::SecureRandom;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut state = seed ^ nanos ^ (u64::from(std::process::id()) << 32) ^ u64::from(terminal.0);
    let mut id = splitmix(&mut state);
    let mut random = [0u8; 8];
    if ring::rand::SystemRandom::new().fill(&mut random).is_ok() {
        id ^= u64::from_be_bytes(random);
    }
    id.max(1)
}

/// A readable reason for a connection's end.
pub fn describe_connection_error(e: &ConnectionError) -> String {
    match e {
        ConnectionError::TransportError(te) => {
            let code = u64::from(te.code);
            if (0x100..0x200).contains(&code) {
                format!("TLS handshake failed: {}", clean_tls_reason(&te.reason))
            } else {
                format!("QUIC transport error: {te}")
            }
        }
        ConnectionError::ConnectionClosed(cc) => {
            let code = u64::from(cc.error_code);
            let reason = String::from_utf8_lossy(&cc.reason);
            if (0x100..0x200).contains(&code) {
                format!(
                    "peer refused the TLS handshake (alert {}): {}",
                    code & 0xff,
                    clean_tls_reason(&reason)
                )
            } else {
                format!("peer closed the connection: {}: {reason}", cc.error_code)
            }
        }
        ConnectionError::ApplicationClosed(ac) => {
            format!(
                "peer closed the connection: {}",
                String::from_utf8_lossy(&ac.reason)
            )
        }
        ConnectionError::Reset => "connection reset by peer (it restarted)".to_string(),
        ConnectionError::TimedOut => {
            "peer timed out (nothing heard within the idle timeout)".to_string()
        }
        ConnectionError::LocallyClosed => "closed locally".to_string(),
        other => other.to_string(),
    }
}

fn quinn_transport_config(timing: &Timing) -> Result<quinn::TransportConfig, TransportError> {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(timing.keep_alive));
    t.max_idle_timeout(Some(
        timing
            .idle_timeout
            .try_into()
            .map_err(|_| TransportError::Config("idle timeout too large".into()))?,
    ));
    t.max_concurrent_bidi_streams(VarInt::from_u32(0));
    // Three channels, plus slack so a misbehaving peer's extra stream is seen and refused.
    t.max_concurrent_uni_streams(VarInt::from_u32(8));
    Ok(t)
}

impl Transport {
    /// Binds the UDP socket, builds mutual-TLS configs and spawns the accept loop on smol's
    /// global executor. Peers are added with [`Transport::set_peer_addr`].
    pub async fn bind(cfg: TransportConfig) -> Result<Transport, TransportError> {
        if cfg.max_frame == 0 || cfg.max_frame > u32::MAX as usize {
            return Err(TransportError::Config(format!(
                "max_frame {} out of range",
                cfg.max_frame
            )));
        }
        if cfg.queue_capacity == 0 {
            return Err(TransportError::Config(
                "queue_capacity must be at least 1".into(),
            ));
        }
        let server_tls = tls::server_config(&cfg.ca_pem, &cfg.identity, &cfg.store)?;
        let client_tls = tls::client_config(&cfg.ca_pem, &cfg.identity, &cfg.store)?;
        let transport = Arc::new(quinn_transport_config(&cfg.timing)?);
        let server_crypto = QuicServerConfig::try_from(server_tls)
            .map_err(|e| TransportError::QuicCrypto(e.to_string()))?;
        let mut server_config = quinn::ServerConfig::with_crypto(Arc::new(server_crypto));
        server_config.transport_config(transport.clone());
        let client_crypto = QuicClientConfig::try_from(client_tls)
            .map_err(|e| TransportError::QuicCrypto(e.to_string()))?;
        let mut client_config = quinn::ClientConfig::new(Arc::new(client_crypto));
        client_config.transport_config(transport);

        // Stateless-reset key derived from our private key: after a restart on the same
        // address we can reset a peer's stale connection at once instead of it idling out.
        let reset_seed = ring::digest::digest(
            &ring::digest::SHA256,
            format!("keel quic reset key\n{}", cfg.identity.key_pem).as_bytes(),
        );
        let reset_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, reset_seed.as_ref());
        let mut endpoint_config = quinn::EndpointConfig::new(Arc::new(reset_key));
        let cid_seed = cfg.seed ^ u64::from(cfg.terminal.0);
        endpoint_config.cid_generator(move || {
            Box::new(CidGenerator {
                rng: ring::rand::SystemRandom::new(),
                fallback: cid_seed,
            })
        });
        let boot_id = new_boot_id(cfg.seed, cfg.terminal);

        let socket =
            std::net::UdpSocket::bind(cfg.listen).map_err(|source| TransportError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let endpoint = Endpoint::new(
            endpoint_config,
            Some(server_config),
            socket,
            Arc::new(quinn::SmolRuntime),
        )
        .map_err(|source| TransportError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let local_addr = endpoint
            .local_addr()
            .map_err(|source| TransportError::Bind {
                addr: cfg.listen,
                source,
            })?;

        let (events_tx, events_rx) = smol::channel::bounded(4096);
        let inner = Arc::new(Inner {
            store: cfg.store.clone(),
            me: cfg.terminal,
            boot_id,
            max_frame: cfg.max_frame,
            queue_capacity: cfg.queue_capacity,
            timing: cfg.timing.clone(),
            local_addr,
            endpoint: Mutex::new(Some(endpoint.clone())),
            client_config,
            events_tx,
            events_rx,
            peers: Mutex::new(HashMap::new()),
            rng: Mutex::new(cfg.seed ^ u64::from(cfg.terminal.0).rotate_left(32)),
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        });
        let accept = smol::spawn(Inner::accept_loop(inner.clone(), endpoint));
        lock(&inner.tasks).push(accept);
        log::info!(
            "transport: {} of store {} listening on {local_addr} (boot id {boot_id:016x})",
            cfg.terminal,
            cfg.store
        );
        Ok(Transport {
            handle: Arc::new(Handle { inner }),
        })
    }

    fn inner(&self) -> &Arc<Inner> {
        &self.handle.inner
    }

    /// The bound UDP address (with the actual port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner().local_addr
    }

    /// This terminal's id.
    pub fn terminal(&self) -> TerminalId {
        self.inner().me
    }

    /// This transport's boot id: random per [`Transport::bind`], never 0. Peers compare it
    /// to tell a restarted process's new connection from a duplicate.
    pub fn boot_id(&self) -> u64 {
        self.inner().boot_id
    }

    /// Sets where to dial a peer (static config or discovery) and (re)connects at once if
    /// not connected. An existing connection is kept even if the address differs.
    pub fn set_peer_addr(&self, peer: TerminalId, addr: SocketAddr) {
        let inner = self.inner();
        if peer == inner.me || inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let mut peers = lock(&inner.peers);
        let p = inner.peer_entry(&mut peers, peer);
        p.addr = Some(addr);
        p.redial_now = true;
        p.notify.notify_all();
    }

    /// Stops dialing a peer, drops its queues and closes its connection (reported as
    /// PeerDown). If the peer dials us again it is accepted again.
    pub fn forget_peer(&self, peer: TerminalId) {
        let inner = self.inner().clone();
        let removed = lock(&inner.peers).remove(&peer);
        if let Some(p) = removed {
            if let Some(a) = &p.active {
                a.conn
                    .close(VarInt::from_u32(code::FORGOTTEN), b"forgotten");
            }
            p.notify.notify_all();
            if p.up_reported {
                let tx = inner.events_tx.clone();
                smol::spawn(async move {
                    let _ = tx
                        .send(TransportEvent::PeerDown(peer, "forgotten locally".into()))
                        .await;
                })
                .detach();
            }
            drop(p); // cancels its dialer and writers
        }
    }

    /// Queues a message; never blocks. The peer's writer sends it when a connection is up
    /// (dialing if needed). When the queue is full, Raft drops its oldest queued message
    /// (raft retransmits); other channels return [`SendError::QueueFull`].
    pub fn send(
        &self,
        peer: TerminalId,
        channel: Channel,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        let inner = self.inner();
        if inner.closed.load(Ordering::SeqCst) {
            return Err(SendError::Closed);
        }
        if peer == inner.me {
            return Err(SendError::ToSelf(peer));
        }
        if payload.len() > inner.max_frame {
            return Err(SendError::TooLarge {
                len: payload.len(),
                max: inner.max_frame,
            });
        }
        let mut peers = lock(&inner.peers);
        let p = inner.peer_entry(&mut peers, peer);
        let q = &p.queues[channel.index()];
        match q.tx.try_send(payload) {
            Ok(()) => Ok(()),
            Err(smol::channel::TrySendError::Full(payload)) if channel == Channel::Raft => {
                let _ = q.rx.try_recv();
                log::debug!("transport: raft queue to {peer} full, dropped its oldest message");
                q.tx.try_send(payload)
                    .map_err(|_| SendError::QueueFull { peer, channel })
            }
            Err(smol::channel::TrySendError::Full(_)) => {
                Err(SendError::QueueFull { peer, channel })
            }
            Err(smol::channel::TrySendError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// The next event. Must be drained: received messages wait here (bounded, so a slow
    /// owner slows its peers through QUIC flow control rather than growing memory).
    pub async fn next_event(&self) -> TransportEvent {
        match self.inner().events_rx.recv().await {
            Ok(e) => e,
            // Invariant: Inner holds a sender for as long as this receiver exists.
            Err(_) => std::future::pending().await,
        }
    }

    /// The event receiver, for `select`-style use (same stream as [`Transport::next_event`]).
    pub fn events(&self) -> Receiver<TransportEvent> {
        self.inner().events_rx.clone()
    }

    /// Every known peer with its state, sorted by id.
    pub fn peers(&self) -> Vec<PeerStatus> {
        let peers = lock(&self.inner().peers);
        let mut out: Vec<PeerStatus> = peers
            .iter()
            .map(|(id, p)| PeerStatus {
                id: *id,
                addr: p.addr,
                connected: p.active.is_some(),
                outbound: p.active.as_ref().map(|a| a.outbound),
                last_seen_ms: p.last_seen.map(|t| t.elapsed().as_millis() as u64),
                sent: p.sent,
                received: p.received,
                queued: p.queues.iter().map(|q| q.tx.len()).sum(),
            })
            .collect();
        out.sort_by_key(|p| p.id);
        out
    }

    /// QUIC connections currently open on the endpoint (including ones being closed or
    /// refused); for diagnostics and tests.
    pub fn open_connections(&self) -> usize {
        lock(&self.inner().endpoint)
            .as_ref()
            .map_or(0, |e| e.open_connections())
    }

    /// Closes every connection gracefully (peers see it at once), stops all tasks and
    /// releases the UDP port. Further sends fail with [`SendError::Closed`].
    pub async fn close(&self) {
        let inner = self.inner();
        let endpoint = lock(&inner.endpoint).take();
        inner.shutdown_now();
        if let Some(endpoint) = endpoint {
            endpoint.close(VarInt::from_u32(code::SHUTDOWN), b"shutting down");
            // Give the close frames a moment to go out. Not longer: an abandoned dial
            // (peer unreachable) would keep the endpoint busy for its whole handshake
            // timeout, and the UDP port is released once that drains anyway.
            let idle = endpoint.wait_idle();
            smol::future::or(idle, async {
                smol::Timer::after(Duration::from_millis(300)).await;
            })
            .await;
        }
    }
}

impl Inner {
    /// Marks closed, cancels every task and closes the endpoint (idempotent).
    fn shutdown_now(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(ep) = lock(&self.endpoint).take() {
            ep.close(VarInt::from_u32(code::SHUTDOWN), b"shutting down");
        }
        let peers: Vec<Peer> = lock(&self.peers).drain().map(|(_, p)| p).collect();
        for p in &peers {
            if let Some(a) = &p.active {
                a.conn
                    .close(VarInt::from_u32(code::SHUTDOWN), b"shutting down");
            }
            p.notify.notify_all();
        }
        drop(peers);
        let tasks: Vec<Task<()>> = lock(&self.tasks).drain(..).collect();
        drop(tasks);
        log::info!("transport: {} closed", self.me);
    }

    fn jitter(&self, base: Duration) -> Duration {
        let r = splitmix(&mut lock(&self.rng));
        // Uniform in [base/2, base].
        let half = base / 2;
        half + Duration::from_nanos(r % (half.as_nanos().max(1) as u64 + 1))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .timing
            .backoff_min
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.timing.backoff_max);
        self.jitter(base)
    }

    /// The peer's entry, created (with its writers and dialer) if new.
    fn peer_entry<'a>(
        self: &Arc<Self>,
        peers: &'a mut HashMap<TerminalId, Peer>,
        id: TerminalId,
    ) -> &'a mut Peer {
        peers.entry(id).or_insert_with(|| {
            let notify = Arc::new(Notify::default());
            let queues: Vec<Queue> = Channel::ALL
                .iter()
                .map(|_| {
                    let (tx, rx) = smol::channel::bounded(self.queue_capacity);
                    Queue { tx, rx }
                })
                .collect();
            let mut tasks = Vec::new();
            for ch in Channel::ALL {
                let rx = queues[ch.index()].rx.clone();
                tasks.push(smol::spawn(Inner::writer(
                    self.clone(),
                    id,
                    ch,
                    rx,
                    notify.clone(),
                )));
            }
            tasks.push(smol::spawn(Inner::dialer(self.clone(), id, notify.clone())));
            Peer {
                addr: None,
                active: None,
                up_reported: false,
                queues,
                notify,
                last_seen: None,
                sent: 0,
                received: 0,
                redial_now: false,
                _tasks: tasks,
            }
        })
    }

    async fn emit(&self, event: TransportEvent) {
        let _ = self.events_tx.send(event).await;
    }

    async fn refuse(&self, addr: SocketAddr, reason: String) {
        log::warn!("transport: {}: refused {addr}: {reason}", self.me);
        self.emit(TransportEvent::Refused(addr, reason)).await;
    }

    async fn accept_loop(self: Arc<Self>, endpoint: Endpoint) {
        while let Some(incoming) = endpoint.accept().await {
            let inner = self.clone();
            smol::spawn(async move {
                let remote = incoming.remote_address();
                match incoming.await {
                    Ok(conn) => match inner.verify(&conn, None) {
                        Ok(peer) => {
                            if let Err(e) = send_welcome(&conn, inner.boot_id).await {
                                log::debug!(
                                    "transport: {}: welcome to {peer} failed: {e}",
                                    inner.me
                                );
                                return;
                            }
                            // Only when this competes with a live connection does the
                            // dialer's boot id matter before installing: wait for it.
                            let (boot, first) = if inner.has_live_connection(peer) {
                                inner.read_hello(&conn).await
                            } else {
                                (0, None)
                            };
                            inner.install(peer, conn, false, boot, first).await
                        }
                        Err(reason) => {
                            conn.close(VarInt::from_u32(code::REFUSED), reason.as_bytes());
                            inner.refuse(remote, reason).await;
                        }
                    },
                    Err(e) => {
                        if !inner.closed.load(Ordering::SeqCst) {
                            inner.refuse(remote, describe_connection_error(&e)).await;
                        }
                    }
                }
            })
            .detach();
        }
    }

    /// The post-handshake check of a connection's peer certificate.
    fn verify(
        &self,
        conn: &quinn::Connection,
        expected: Option<TerminalId>,
    ) -> Result<TerminalId, String> {
        let certs = conn
            .peer_identity()
            .and_then(|any| {
                any.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
                    .ok()
            })
            .ok_or_else(|| "peer presented no certificate".to_string())?;
        tls::check_peer(&certs, &self.store, self.me, expected).map_err(|e| e.to_string())
    }

    /// Reconnects a peer whenever it has an address and no connection.
    async fn dialer(self: Arc<Self>, peer: TerminalId, notify: Arc<Notify>) {
        let mut attempt: u32 = 0;
        loop {
            // Wait until there is something to do.
            let addr = loop {
                let listener = notify.listen();
                if self.closed.load(Ordering::SeqCst) {
                    return;
                }
                {
                    let mut peers = lock(&self.peers);
                    let Some(p) = peers.get_mut(&peer) else {
                        return;
                    };
                    if p.redial_now {
                        p.redial_now = false;
                        attempt = 0;
                    }
                    if p.active.is_none() {
                        if let Some(addr) = p.addr {
                            break addr;
                        }
                    }
                }
                let _ = listener.recv().await;
            };
            // Let the lower id dial first (fewer duplicate connections).
            if attempt == 0 && peer < self.me && !self.timing.yield_to_lower.is_zero() {
                let listener = notify.listen();
                smol::future::or(
                    async {
                        smol::Timer::after(self.timing.yield_to_lower).await;
                    },
                    async {
                        let _ = listener.recv().await;
                    },
                )
                .await;
                if lock(&self.peers)
                    .get(&peer)
                    .is_some_and(|p| p.active.is_some())
                {
                    continue;
                }
            }
            let ok = self.dial_once(peer, addr).await;
            if ok {
                attempt = 0;
                continue;
            }
            let delay = self.backoff(attempt);
            attempt = attempt.saturating_add(1);
            log::debug!(
                "transport: {}: redial {peer} at {addr} in {delay:?}",
                self.me
            );
            let listener = notify.listen();
            smol::future::or(
                async {
                    smol::Timer::after(delay).await;
                },
                async {
                    // Woken early by set_peer_addr (redial_now) or a connection change.
                    let _ = listener.recv().await;
                },
            )
            .await;
        }
    }

    /// One dial attempt; true if a verified connection was installed.
    async fn dial_once(self: &Arc<Self>, peer: TerminalId, addr: SocketAddr) -> bool {
        let Some(endpoint) = lock(&self.endpoint).clone() else {
            return false;
        };
        let name = terminal_dns_name(&self.store, peer);
        let connecting = match endpoint.connect_with(self.client_config.clone(), addr, &name) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("transport: {}: cannot dial {peer} at {addr}: {e}", self.me);
                return false;
            }
        };
        drop(endpoint);
        match connecting.await {
            Ok(conn) => match self.verify(&conn, Some(peer)) {
                Ok(_) => match self.await_welcome(&conn).await {
                    Ok(boot) => {
                        // An acceptor that sent its boot id understands our hello (older
                        // firmware would refuse its tag as an unknown channel).
                        if boot != 0 {
                            if let Err(e) = send_hello(&conn, self.boot_id).await {
                                log::debug!("transport: {}: hello to {peer} failed: {e}", self.me);
                            }
                        }
                        self.install(peer, conn, true, boot, None).await;
                        true
                    }
                    Err(Some(reason)) => {
                        self.refuse(addr, reason).await;
                        false
                    }
                    Err(None) => false,
                },
                Err(reason) => {
                    conn.close(VarInt::from_u32(code::REFUSED), reason.as_bytes());
                    self.refuse(addr, reason).await;
                    false
                }
            },
            Err(e) => {
                let reason = describe_connection_error(&e);
                match e {
                    ConnectionError::TimedOut | ConnectionError::LocallyClosed => {
                        log::debug!("transport: {}: dial {peer} at {addr}: {reason}", self.me)
                    }
                    _ => self.refuse(addr, reason).await,
                }
                false
            }
        }
    }

    /// Dialing side: in TLS 1.3 our handshake completes before the acceptor has checked
    /// our certificate, so a connection only counts once the acceptor's welcome stream
    /// arrives; Ok carries the acceptor's boot id (0 if it sent none: older firmware).
    /// Err(Some(reason)) is a refusal by the peer; Err(None) a benign end (the peer kept a
    /// duplicate connection instead, or we are closing).
    async fn await_welcome(&self, conn: &quinn::Connection) -> Result<u64, Option<String>> {
        let wait = async {
            let mut s = conn.accept_uni().await?;
            let mut tag = [0u8; 1];
            match s.read_exact(&mut tag).await {
                Ok(()) if tag[0] == WELCOME_TAG => Ok(Ok(read_boot_id(&mut s).await)),
                Ok(()) => Ok(Err(format!(
                    "peer opened with tag 0x{:02x} instead of a welcome",
                    tag[0]
                ))),
                Err(e) => Ok(Err(format!("welcome stream failed: {e}"))),
            }
        };
        let timeout = async {
            smol::Timer::after(self.timing.idle_timeout).await;
            Ok(Err(
                "no welcome from the peer within the idle timeout".to_string()
            ))
        };
        match smol::future::or(wait, timeout).await {
            Ok(Ok(boot)) => Ok(boot),
            Ok(Err(reason)) => {
                conn.close(VarInt::from_u32(code::PROTOCOL), reason.as_bytes());
                Err(Some(reason))
            }
            Err(e) => {
                let benign = matches!(&e, ConnectionError::LocallyClosed)
                    || matches!(&e, ConnectionError::ApplicationClosed(ac)
                        if ac.error_code == VarInt::from_u32(code::DUPLICATE)
                            || ac.error_code == VarInt::from_u32(code::SHUTDOWN));
                if benign {
                    Err(None)
                } else {
                    Err(Some(describe_connection_error(&e)))
                }
            }
        }
    }

    /// Whether the peer has a connection installed that is not closed.
    fn has_live_connection(&self, peer: TerminalId) -> bool {
        lock(&self.peers)
            .get(&peer)
            .and_then(|p| p.active.as_ref())
            .is_some_and(|a| a.conn.close_reason().is_none())
    }

    /// Acceptor side, when this connection competes with a live one: waits briefly for the
    /// dialer's hello (its boot id, sent as soon as it has our welcome) so that `install`
    /// can tell a restarted peer from a duplicate. Returns the boot id (0: none came, e.g.
    /// older firmware) and, if the dialer's first stream was a channel instead, that
    /// stream with its tag already read (for `serve`).
    async fn read_hello(&self, conn: &quinn::Connection) -> (u64, Option<(u8, RecvStream)>) {
        let hello = async {
            let mut s = conn.accept_uni().await.ok()?;
            let mut tag = [0u8; 1];
            s.read_exact(&mut tag).await.ok()?;
            if tag[0] != HELLO_TAG {
                return Some((0, Some((tag[0], s))));
            }
            Some((read_boot_id(&mut s).await, None))
        };
        // A dialer with a boot id sends its hello right after our welcome, so this wait
        // ends as soon as it arrives; only an old dialer that sends nothing waits it out.
        // Under load the hello can take well over a keep-alive interval: a short wait here
        // would install the restarted peer's connection without knowing it restarted.
        let timeout = async {
            smol::Timer::after(self.timing.hello_wait).await;
            None
        };
        smol::future::or(hello, timeout).await.unwrap_or((0, None))
    }

    /// How long an existing connection may have been silent before a new connection from
    /// the same peer replaces it regardless of who dialed (keep-alives arrive every
    /// `keep_alive` on a live one).
    fn stale_after(&self) -> Duration {
        self.timing.keep_alive.saturating_mul(3) / 2
    }

    /// Makes a verified connection the peer's active one, or closes it if the existing one
    /// wins. A stale existing connection always loses: the peer's boot id changed (it
    /// restarted), or nothing was heard on it for [`Inner::stale_after`]; that is reported
    /// as PeerDown then PeerUp. Otherwise the tie-break: the same dialer's newer connection
    /// wins, and between the two dialers the connection dialed by the lower id wins.
    /// `peer_boot` is the peer's boot id if known (0 if not); `first` is a stream already
    /// accepted by `read_hello`.
    async fn install(
        self: &Arc<Self>,
        peer: TerminalId,
        conn: quinn::Connection,
        outbound: bool,
        peer_boot: u64,
        first: Option<(u8, RecvStream)>,
    ) {
        let remote = conn.remote_address();
        let info = ConnInfo::new(&conn, peer_boot);
        let mut up = false;
        let mut replaced_stale: Option<String> = None;
        {
            let mut peers = lock(&self.peers);
            if self.closed.load(Ordering::SeqCst) {
                conn.close(VarInt::from_u32(code::SHUTDOWN), b"shutting down");
                return;
            }
            let me = self.me;
            let stale_after = self.stale_after();
            let p = self.peer_entry(&mut peers, peer);
            if !outbound && p.addr.is_none() {
                // One socket listens and dials, so the inbound source is its listening address.
                p.addr = Some(remote);
            }
            if let Some(old) = p
                .active
                .as_ref()
                .filter(|a| a.conn.close_reason().is_none())
            {
                let old_boot = old.info.peer_boot.load(Ordering::SeqCst);
                let silent = old.info.silent_for(&old.conn);
                let stale = if peer_boot != 0 && old_boot != 0 && peer_boot != old_boot {
                    Some(format!(
                        "{peer} restarted (boot id {old_boot:016x} -> {peer_boot:016x})"
                    ))
                } else if silent > stale_after {
                    Some(format!(
                        "nothing heard from {peer} for {} ms",
                        silent.as_millis()
                    ))
                } else {
                    None
                };
                if let Some(why) = stale {
                    log::info!(
                        "transport: {me}: {peer}: {why}: replacing its stale connection ({}) with the new one ({})",
                        if old.outbound { "dialed" } else { "accepted" },
                        if outbound { "dialed" } else { "accepted" }
                    );
                    old.conn.close(
                        VarInt::from_u32(code::STALE),
                        format!("replaced by a newer connection: {why}").as_bytes(),
                    );
                    replaced_stale = Some(why);
                } else {
                    let lower_dialed_new = if outbound { me < peer } else { peer < me };
                    let keep_new = old.outbound == outbound || lower_dialed_new;
                    if keep_new {
                        if peer_boot == 0 {
                            // Its hello may still show the peer restarted (read_stream).
                            info.replaced_boot.store(old_boot, Ordering::SeqCst);
                        }
                        let (c, why) = if old.outbound == outbound {
                            (code::SUPERSEDED, "superseded by a newer connection")
                        } else {
                            (
                                code::DUPLICATE,
                                "duplicate connection: keeping the one dialed by the lower id",
                            )
                        };
                        log::info!("transport: {me}: {peer}: replacing connection ({why})");
                        old.conn.close(VarInt::from_u32(c), why.as_bytes());
                    } else {
                        log::info!("transport: {me}: {peer}: closing duplicate connection, keeping the one dialed by the lower id");
                        conn.close(
                            VarInt::from_u32(code::DUPLICATE),
                            b"duplicate connection: keeping the one dialed by the lower id",
                        );
                        return;
                    }
                }
            }
            p.active = Some(Active {
                conn: conn.clone(),
                outbound,
                info: info.clone(),
            });
            p.last_seen = Some(Instant::now());
            if !p.up_reported || replaced_stale.is_some() {
                p.up_reported = true;
                up = true;
            }
            p.notify.notify_all();
        }
        log::info!(
            "transport: {}: connected to {peer} at {remote} ({})",
            self.me,
            if outbound { "dialed" } else { "accepted" }
        );
        // Events before any message of the new connection can be emitted.
        if let Some(why) = replaced_stale {
            self.emit(TransportEvent::PeerDown(peer, why)).await;
        }
        if up {
            self.emit(TransportEvent::PeerUp(peer, remote)).await;
        }
        // The dialer's hello may still come if read_hello did not see its first stream.
        let hello_expected = !outbound && peer_boot == 0 && first.is_none();
        smol::spawn(Inner::serve(
            self.clone(),
            peer,
            conn,
            info,
            hello_expected,
            first,
        ))
        .detach();
    }

    /// Reads the peer's streams until the connection ends, then reports it.
    /// `hello_expected`: we accepted it and the dialer's hello (its first stream) may still
    /// come; `first`: a stream `read_hello` already took, with its tag.
    async fn serve(
        self: Arc<Self>,
        peer: TerminalId,
        conn: quinn::Connection,
        info: Arc<ConnInfo>,
        hello_expected: bool,
        first: Option<(u8, RecvStream)>,
    ) {
        let violation: Arc<Mutex<Option<String>>> = Arc::default();
        // One flag per channel, then one for the hello (valid once, and only if expected).
        let seen: Arc<Mutex<[bool; 4]>> =
            Arc::new(Mutex::new([false, false, false, !hello_expected]));
        let accept = {
            let inner = self.clone();
            let conn = conn.clone();
            let violation = violation.clone();
            let info = info.clone();
            async move {
                let mut first = first;
                loop {
                    let (tag, stream) = match first.take() {
                        Some((tag, stream)) => (Some(tag), stream),
                        None => match conn.accept_uni().await {
                            Ok(stream) => (None, stream),
                            Err(_) => break,
                        },
                    };
                    let inner = inner.clone();
                    let conn = conn.clone();
                    let violation = violation.clone();
                    let seen = seen.clone();
                    let info = info.clone();
                    smol::spawn(async move {
                        if let Err(reason) = inner
                            .read_stream(peer, &conn, &info, stream, tag, &seen)
                            .await
                        {
                            *lock(&violation) = Some(reason.clone());
                            log::warn!(
                                "transport: {}: closing connection to {peer}: {reason}",
                                inner.me
                            );
                            conn.close(VarInt::from_u32(code::PROTOCOL), reason.as_bytes());
                        }
                    })
                    .detach();
                }
            }
        };
        // Keeps `info.heard` current (the stale check also samples at decision time).
        let watch = async {
            let every = (self.timing.keep_alive / 4).max(Duration::from_millis(10));
            loop {
                smol::Timer::after(every).await;
                info.silent_for(&conn);
            }
        };
        let closed = conn.closed();
        let err = smol::future::or(
            closed,
            smol::future::or(
                async {
                    accept.await;
                    conn.closed().await
                },
                watch,
            ),
        )
        .await;
        let reason = lock(&violation)
            .clone()
            .unwrap_or_else(|| describe_connection_error(&err));
        let duplicate = matches!(&err, ConnectionError::ApplicationClosed(ac)
            if ac.error_code == VarInt::from_u32(code::DUPLICATE));
        let mut down = false;
        {
            let mut peers = lock(&self.peers);
            let Some(p) = peers.get_mut(&peer) else {
                return;
            };
            let is_active = p
                .active
                .as_ref()
                .is_some_and(|a| a.conn.stable_id() == conn.stable_id());
            if !is_active {
                return;
            }
            p.active = None;
            p.notify.notify_all();
            if !duplicate && p.up_reported {
                p.up_reported = false;
                down = true;
            }
        }
        if duplicate {
            // The peer kept the other connection, which should be (or soon be) installed.
            log::debug!(
                "transport: {}: {peer} closed a duplicate connection",
                self.me
            );
            let inner = self.clone();
            smol::spawn(async move {
                smol::Timer::after(inner.timing.idle_timeout).await;
                let report = {
                    let mut peers = lock(&inner.peers);
                    match peers.get_mut(&peer) {
                        Some(p) if p.active.is_none() && p.up_reported => {
                            p.up_reported = false;
                            true
                        }
                        _ => false,
                    }
                };
                if report {
                    inner
                        .emit(TransportEvent::PeerDown(
                            peer,
                            "duplicate connection closed and no replacement arrived".into(),
                        ))
                        .await;
                }
            })
            .detach();
            return;
        }
        if down {
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            log::warn!("transport: {}: {peer} down: {reason}", self.me);
            self.emit(TransportEvent::PeerDown(peer, reason)).await;
        }
    }

    /// A hello that came after `install` superseded an older connection of the peer without
    /// knowing this one's boot id: if the boot ids differ, the peer restarted, and the owner
    /// hears it as PeerDown then PeerUp, exactly as when `install` sees it at once (so a
    /// restart is never swapped in silently, whatever the scheduling delays). Only while
    /// this connection is still the peer's active one, and at most once.
    async fn report_late_restart(
        &self,
        peer: TerminalId,
        conn: &quinn::Connection,
        info: &ConnInfo,
        boot: u64,
    ) {
        let old_boot = info.replaced_boot.swap(0, Ordering::SeqCst);
        if old_boot == 0 || old_boot == boot {
            return;
        }
        let still_active = lock(&self.peers).get(&peer).is_some_and(|p| {
            p.up_reported
                && p.active
                    .as_ref()
                    .is_some_and(|a| a.conn.stable_id() == conn.stable_id())
        });
        if !still_active || self.closed.load(Ordering::SeqCst) {
            return;
        }
        let why = format!("{peer} restarted (boot id {old_boot:016x} -> {boot:016x})");
        log::info!(
            "transport: {}: {peer}: {why} (learned from its late hello)",
            self.me
        );
        self.emit(TransportEvent::PeerDown(peer, why)).await;
        self.emit(TransportEvent::PeerUp(peer, conn.remote_address()))
            .await;
    }

    /// Reads one channel stream (or the dialer's hello) to its end; `tag` if already read.
    /// Err is a framing violation (closes the connection).
    async fn read_stream(
        &self,
        peer: TerminalId,
        conn: &quinn::Connection,
        info: &ConnInfo,
        mut stream: RecvStream,
        tag: Option<u8>,
        seen: &Mutex<[bool; 4]>,
    ) -> Result<(), String> {
        let tag = match tag {
            Some(tag) => tag,
            None => {
                let mut tag = [0u8; 1];
                match stream.read_exact(&mut tag).await {
                    Ok(()) => tag[0],
                    Err(ReadExactError::FinishedEarly(_)) => return Ok(()),
                    Err(ReadExactError::ReadError(e)) => {
                        log::debug!("transport: {}: stream from {peer} ended: {e}", self.me);
                        return Ok(());
                    }
                }
            }
        };
        if tag == HELLO_TAG && !std::mem::replace(&mut lock(seen)[3], true) {
            let boot = read_boot_id(&mut stream).await;
            if boot != 0 {
                // Kept if read_hello did not already know it (install compares them).
                let _ =
                    info.peer_boot
                        .compare_exchange(0, boot, Ordering::SeqCst, Ordering::SeqCst);
                self.report_late_restart(peer, conn, info, boot).await;
            }
            return Ok(());
        }
        let channel =
            Channel::from_tag(tag).ok_or_else(|| format!("unknown channel tag 0x{tag:02x}"))?;
        {
            let mut seen = lock(seen);
            if seen[channel.index()] {
                return Err(format!("second stream for channel {channel:?}"));
            }
            seen[channel.index()] = true;
        }
        let mut frames = FrameDecoder::new(self.max_frame);
        loop {
            let chunk = match stream.read_chunk(READ_CHUNK, true).await {
                Ok(Some(chunk)) => chunk.bytes,
                Ok(None) => return frames.finish().map_err(|e| format!("{e} on {channel:?}")),
                Err(e) => {
                    log::debug!(
                        "transport: {}: {channel:?} stream from {peer} ended: {e}",
                        self.me
                    );
                    return Ok(());
                }
            };
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let (used, frame) = frames
                    .push(rest)
                    .map_err(|e| format!("{e} on {channel:?}"))?;
                rest = &rest[used..];
                let Some(payload) = frame else {
                    continue;
                };
                {
                    let mut peers = lock(&self.peers);
                    match peers.get_mut(&peer) {
                        Some(p)
                            if p.active
                                .as_ref()
                                .is_some_and(|a| a.conn.stable_id() == conn.stable_id()) =>
                        {
                            p.received += 1;
                            p.last_seen = Some(Instant::now());
                        }
                        // Replaced or forgotten: drop what the old connection still carries.
                        _ => return Ok(()),
                    }
                }
                self.emit(TransportEvent::Message(Incoming {
                    from: peer,
                    channel,
                    payload,
                }))
                .await;
            }
        }
    }

    /// Waits for the peer's active connection; None when the peer is gone or we closed.
    async fn wait_connection(
        &self,
        peer: TerminalId,
        notify: &Notify,
    ) -> Option<quinn::Connection> {
        loop {
            let listener = notify.listen();
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            {
                let peers = lock(&self.peers);
                let p = peers.get(&peer)?;
                if let Some(a) = &p.active {
                    if a.conn.close_reason().is_none() {
                        return Some(a.conn.clone());
                    }
                }
            }
            let _ = listener.recv().await;
        }
    }

    /// Drains one peer's queue for one channel onto that channel's stream.
    async fn writer(
        self: Arc<Self>,
        peer: TerminalId,
        channel: Channel,
        rx: Receiver<Vec<u8>>,
        notify: Arc<Notify>,
    ) {
        let mut pending: Option<Vec<u8>> = None;
        let mut stream: Option<(usize, quinn::SendStream)> = None;
        loop {
            let msg = match pending.take() {
                Some(m) => m,
                None => match rx.recv().await {
                    Ok(m) => m,
                    Err(_) => return,
                },
            };
            let Some(conn) = self.wait_connection(peer, &notify).await else {
                return;
            };
            if stream
                .as_ref()
                .is_some_and(|(id, _)| *id != conn.stable_id())
            {
                stream = None;
            }
            let result = async {
                if stream.is_none() {
                    let mut s = conn.open_uni().await.map_err(|e| e.to_string())?;
                    s.write_all(&[channel.tag()])
                        .await
                        .map_err(|e| e.to_string())?;
                    stream = Some((conn.stable_id(), s));
                }
                let Some((_, s)) = stream.as_mut() else {
                    return Err("no stream".to_string());
                };
                let len = u32::try_from(msg.len()).map_err(|_| "frame too large".to_string())?;
                s.write_all(&len.to_be_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                s.write_all(&msg).await.map_err(|e| e.to_string())?;
                Ok(())
            }
            .await;
            match result {
                Ok(()) => {
                    if let Some(p) = lock(&self.peers).get_mut(&peer) {
                        p.sent += 1;
                    }
                }
                Err(e) => {
                    log::debug!(
                        "transport: {}: write to {peer} on {channel:?} failed ({e}); retrying on the next connection",
                        self.me
                    );
                    pending = Some(msg);
                    stream = None;
                    // Wait for this connection to be gone before retrying.
                    conn.closed().await;
                }
            }
        }
    }
}

/// Tag of the acceptor's first stream: "your certificate is accepted", then the
/// acceptor's boot id (u64 big-endian; absent from older firmware). Never valid as a
/// channel tag.
const WELCOME_TAG: u8 = 0;
/// Tag of the dialer's first stream (sent once it has a welcome carrying a boot id):
/// the dialer's boot id (u64 big-endian).
const HELLO_TAG: u8 = 0;

/// Accepting side: tells the dialer we accepted its certificate (see `await_welcome`).
/// Opened before any channel stream, so it is the dialer's first incoming stream.
async fn send_welcome(conn: &quinn::Connection, boot_id: u64) -> Result<(), String> {
    send_tagged_boot_id(conn, WELCOME_TAG, boot_id).await
}

/// Dialing side: our boot id, as our first stream (before any channel stream).
async fn send_hello(conn: &quinn::Connection, boot_id: u64) -> Result<(), String> {
    send_tagged_boot_id(conn, HELLO_TAG, boot_id).await
}

async fn send_tagged_boot_id(
    conn: &quinn::Connection,
    tag: u8,
    boot_id: u64,
) -> Result<(), String> {
    let mut s = conn.open_uni().await.map_err(|e| e.to_string())?;
    let mut msg = [0u8; 9];
    msg[0] = tag;
    msg[1..].copy_from_slice(&boot_id.to_be_bytes());
    s.write_all(&msg).await.map_err(|e| e.to_string())?;
    s.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// The boot id after a welcome's or hello's tag; 0 if the stream ends first.
async fn read_boot_id(stream: &mut RecvStream) -> u64 {
    let mut boot = [0u8; 8];
    match stream.read_exact(&mut boot).await {
        Ok(()) => u64::from_be_bytes(boot),
        Err(_) => 0,
    }
}

/// Turns rustls' debug rendering of our readable refusal back into plain text.
fn clean_tls_reason(reason: &str) -> String {
    const START: &str = "Other(OtherError(ChainRefusal(\"";
    match reason.find(START) {
        Some(i) => {
            let rest = &reason[i + START.len()..];
            let inner = rest.split("\")))").next().unwrap_or(rest);
            format!("{}{}", &reason[..i], inner)
        }
        None => reason.to_string(),
    }
}
