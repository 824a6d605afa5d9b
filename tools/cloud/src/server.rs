//! The cloud's QUIC endpoint: accepts store leaders (mutual TLS against the
//! operator CA), and answers each one's uplink session on its one bidirectional
//! stream, message by message (`Hello` -> `Welcome`, `Batch` -> `Ack`/`Refused`,
//! `Health` -> `Publications`, `Keys` -> `Keys`: customers' data keys merged
//! into the cloud's, erasures the cloud knows coming back; `OtaReport` ->
//! `Releases` and `FetchRelease` -> `ReleaseChunk`, see `release_wire`).
//!
//! This module owns the sessions: who a connection speaks for (its certificate,
//! checked against its `Hello`), framing, refusals of bad input (answered with
//! the reason, then that connection alone is closed), and running storage calls
//! on the blocking pool (`smol::unblock`) so a slow database never stalls another
//! connection. It must not decide what a batch means (keel-uplink's check inside
//! the store) nor how keys merge (keel-core's `KeyRing` inside the store), and
//! must not log customer ids or keys.

use crate::init::{CloudDir, DirError};
use crate::store::{open_store, CloudStore, StoreError};
use crate::{now_ms, Service};
use keel_cluster::cloud::{cloud_server_config, peer_chain, verify_store_client, CloudTlsError};
use keel_core::ids::{StoreId, TerminalId};
use keel_core::pii::KeyRing;
use keel_uplink::wire::{
    frame, frame_len, CloudMessage, StoreMessage, MAX_KEYS_PER_MESSAGE, MAX_MESSAGE_BYTES,
};
use quinn::{ReadExactError, RecvStream, SendStream, VarInt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Connections served at once; more are refused until some end.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Most publications sent in one answer (the rest follow on the next `Health`).
pub const PUBLICATIONS_PER_ANSWER: usize = 256;

/// How long a connection may take to open its stream.
const STREAM_WAIT: Duration = Duration::from_secs(30);

/// How long the body of a message may take once its length arrived.
const BODY_WAIT: Duration = Duration::from_secs(30);

/// How long a refusal is given to reach the store before the connection closes.
const LINGER: Duration = Duration::from_secs(2);

/// QUIC close codes the cloud uses.
pub mod code {
    /// Session over (the store closed its stream).
    pub const DONE: u32 = 0;
    /// The client certificate does not name a terminal of a store it may speak for.
    pub const REFUSED_IDENTITY: u32 = 1;
    /// The store sent something that is not a valid message, or broke the protocol.
    pub const REFUSED_INPUT: u32 = 2;
    /// The store did not open its stream in time.
    pub const TIMEOUT: u32 = 3;
}

/// Environment variable naming the PostgreSQL URL.
pub const DATABASE_URL_ENV: &str = "KEEL_CLOUD_DATABASE_URL";

/// How `keel-cloud serve` was asked to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    /// The cloud directory.
    pub dir: std::path::PathBuf,
    /// QUIC address (default: `cloud.toml`'s `listen`).
    pub listen: Option<SocketAddr>,
    /// HTTP address (default: `cloud.toml`'s `http`).
    pub http: Option<SocketAddr>,
    /// PostgreSQL URL (default: `KEEL_CLOUD_DATABASE_URL`, then `cloud.toml`'s
    /// `database_url`; none: the embedded store).
    pub database_url: Option<String>,
}

/// Why the service cannot start.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The cloud directory is missing or broken.
    #[error("{0}")]
    Dir(#[from] DirError),
    /// The TLS configuration cannot be built.
    #[error("TLS: {0}")]
    Tls(#[from] CloudTlsError),
    /// The storage cannot be opened.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// An address cannot be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// Opens everything, prints the ready line
/// (`keel-cloud listening quic=ADDR http=ADDR store=KIND`) and serves until the
/// process is stopped.
pub fn serve(opts: &ServeOptions) -> Result<(), ServeError> {
    let dir = CloudDir::open(&opts.dir)?;
    let listen = opts.listen.unwrap_or(dir.settings.listen);
    let http_addr = opts.http.unwrap_or(dir.settings.http);
    let url = opts
        .database_url
        .clone()
        .or_else(|| {
            std::env::var(DATABASE_URL_ENV)
                .ok()
                .filter(|u| !u.is_empty())
        })
        .or_else(|| dir.settings.database_url.clone());
    let config = cloud_server_config(&dir.operator_ca_pem()?, &dir.server_identity()?)?;
    let admin_token = dir.admin_token()?;
    let store: Arc<dyn CloudStore> = Arc::from(open_store(url.as_deref(), &dir.data_dir())?);
    let kind = store.health().kind;
    let endpoint = bind(listen, config)?;
    let quic = endpoint
        .local_addr()
        .map_err(|e| ServeError::Bind(listen, e))?;
    let listener =
        std::net::TcpListener::bind(http_addr).map_err(|e| ServeError::Bind(http_addr, e))?;
    let http = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(http_addr, e))?;
    let service = Arc::new(Service {
        store,
        admin_token,
        dir: opts.dir.clone(),
        started: Instant::now(),
    });
    let for_http = service.clone();
    std::thread::Builder::new()
        .name("keel-cloud-http".into())
        .spawn(move || crate::http::serve(listener, for_http))
        .map_err(|e| ServeError::Bind(http, e))?;
    log::info!("keel-cloud: QUIC on {quic}, HTTP on {http}, store {kind}");
    println!("keel-cloud listening quic={quic} http={http} store={kind}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    smol::block_on(run(endpoint, service));
    Ok(())
}

/// Binds the QUIC endpoint on `addr` (quinn on smol).
pub fn bind(addr: SocketAddr, config: quinn::ServerConfig) -> Result<quinn::Endpoint, ServeError> {
    let socket = std::net::UdpSocket::bind(addr).map_err(|e| ServeError::Bind(addr, e))?;
    quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(config),
        socket,
        Arc::new(quinn::SmolRuntime),
    )
    .map_err(|e| ServeError::Bind(addr, e))
}

/// Accepts connections until the endpoint closes; each runs in its own task, at
/// most [`MAX_CONNECTIONS`] at once.
pub async fn run(endpoint: quinn::Endpoint, service: Arc<Service>) {
    let active = Arc::new(AtomicUsize::new(0));
    while let Some(incoming) = endpoint.accept().await {
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            log::warn!(
                "uplink: refused {}: {MAX_CONNECTIONS} connections already open",
                incoming.remote_address()
            );
            incoming.refuse();
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let service = service.clone();
        let active = active.clone();
        smol::spawn(async move {
            connection(service, incoming).await;
            active.fetch_sub(1, Ordering::SeqCst);
        })
        .detach();
    }
}

async fn connection(service: Arc<Service>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => {
            log::warn!("uplink: refused {remote} during the handshake: {e}");
            return;
        }
    };
    let (store, terminal) = match verify_store_client(&peer_chain(&conn)) {
        Ok(who) => who,
        Err(e) => {
            log::warn!("uplink: refused {remote}: {e}");
            let reason = e.to_string();
            conn.close(
                VarInt::from_u32(code::REFUSED_IDENTITY),
                &reason.as_bytes()[..reason.len().min(512)],
            );
            return;
        }
    };
    log::info!("uplink: {store} terminal {terminal} connected from {remote}");
    let stream = smol::future::or(async { conn.accept_bi().await.ok() }, async {
        smol::Timer::after(STREAM_WAIT).await;
        None
    })
    .await;
    let Some((send, recv)) = stream else {
        conn.close(VarInt::from_u32(code::TIMEOUT), b"no stream opened");
        log::info!("uplink: {store} terminal {terminal}: no stream, closed");
        return;
    };
    let mut session = Session {
        service,
        store,
        terminal,
        hello: false,
    };
    let closed = session.run(send, recv).await;
    match closed {
        End::Done => conn.close(VarInt::from_u32(code::DONE), b"bye"),
        End::Refused(reason) => conn.close(
            VarInt::from_u32(code::REFUSED_INPUT),
            &reason.as_bytes()[..reason.len().min(512)],
        ),
        End::Lost(e) => log::debug!(
            "uplink: {} terminal {}: connection lost: {e}",
            session.store,
            session.terminal
        ),
    }
    log::info!(
        "uplink: {} terminal {} disconnected",
        session.store,
        session.terminal
    );
}

/// How a session ended.
enum End {
    /// The store finished its stream.
    Done,
    /// Bad input: the refusal was sent, close with this reason.
    Refused(String),
    /// The connection broke.
    Lost(String),
}

/// What to do after answering a message.
#[derive(Debug, PartialEq, Eq)]
enum After {
    Continue,
    Close(String),
}

struct Session {
    service: Arc<Service>,
    store: StoreId,
    terminal: TerminalId,
    hello: bool,
}

impl Session {
    async fn run(&mut self, mut send: SendStream, mut recv: RecvStream) -> End {
        loop {
            let mut prefix = [0u8; 4];
            match recv.read_exact(&mut prefix).await {
                Ok(()) => {}
                Err(ReadExactError::FinishedEarly(0)) => return End::Done,
                Err(ReadExactError::FinishedEarly(n)) => {
                    let reason =
                        format!("truncated frame: the stream ended after {n} of 4 length bytes");
                    return self.refuse_and_close(&mut send, 0, reason).await;
                }
                Err(ReadExactError::ReadError(e)) => return End::Lost(e.to_string()),
            }
            let n = match frame_len(prefix) {
                Ok(n) => n,
                Err(e) => return self.refuse_and_close(&mut send, 0, e.to_string()).await,
            };
            let mut body = vec![0u8; n];
            let read = smol::future::or(async { Some(recv.read_exact(&mut body).await) }, async {
                smol::Timer::after(BODY_WAIT).await;
                None
            })
            .await;
            match read {
                Some(Ok(())) => {}
                Some(Err(ReadExactError::FinishedEarly(got))) => {
                    let reason =
                        format!("truncated frame: {got} of {n} bytes before the stream ended");
                    return self.refuse_and_close(&mut send, 0, reason).await;
                }
                Some(Err(ReadExactError::ReadError(e))) => return End::Lost(e.to_string()),
                None => {
                    let reason = format!("a {n}-byte message did not arrive within {BODY_WAIT:?}");
                    return self.refuse_and_close(&mut send, 0, reason).await;
                }
            }
            let msg = match StoreMessage::decode(&body) {
                Ok(m) => m,
                Err(e) => return self.refuse_and_close(&mut send, 0, e.to_string()).await,
            };
            let store = self.service.store.clone();
            let who = (self.store.clone(), self.terminal);
            let hello = self.hello;
            let (answer, after, hello) =
                smol::unblock(move || answer(store.as_ref(), &who, hello, msg, now_ms())).await;
            self.hello = hello;
            if let Err(e) = write(&mut send, &answer).await {
                return End::Lost(e);
            }
            if let After::Close(reason) = after {
                return self.linger(&mut send, reason).await;
            }
        }
    }

    /// Answers bad input with `Refused`, records it, and ends the session.
    async fn refuse_and_close(&self, send: &mut SendStream, batch: u64, reason: String) -> End {
        log::warn!(
            "uplink: {} terminal {}: refused: {reason}",
            self.store,
            self.terminal
        );
        let store = self.service.store.clone();
        let (s, r) = (self.store.clone(), reason.clone());
        smol::unblock(move || record_refusal(store.as_ref(), &s, &r)).await;
        let msg = CloudMessage::Refused {
            batch,
            reason: reason.clone(),
        };
        if let Err(e) = write(send, &msg).await {
            return End::Lost(e);
        }
        self.linger(send, reason).await
    }

    /// Finishes the stream and waits (briefly) until the store has the last answer.
    async fn linger(&self, send: &mut SendStream, reason: String) -> End {
        let _ = send.finish();
        smol::future::or(
            async {
                let _ = send.stopped().await;
            },
            async {
                smol::Timer::after(LINGER).await;
            },
        )
        .await;
        End::Refused(reason)
    }
}

async fn write(send: &mut SendStream, msg: &CloudMessage) -> Result<(), String> {
    send.write_all(&frame(&msg.encode()))
        .await
        .map_err(|e| e.to_string())
}

fn record_refusal(store: &dyn CloudStore, who: &StoreId, reason: &str) {
    if let Err(e) = store.record_refusal(who, reason, now_ms()) {
        log::error!("uplink: {who}: cannot record a refusal: {e}");
    }
}

/// Publications for `who` after `after`, cut so the answer stays well within a message.
fn publications(
    store: &dyn CloudStore,
    who: &StoreId,
    after: u64,
) -> Result<Vec<keel_uplink::Publication>, StoreError> {
    let mut pubs = store.publications_after(who, after, PUBLICATIONS_PER_ANSWER)?;
    while !pubs.is_empty()
        && CloudMessage::Publications(pubs.clone()).encode().len() > MAX_MESSAGE_BYTES / 2
    {
        pubs.truncate(pubs.len() / 2);
    }
    Ok(pubs)
}

/// One line for a batch's review flags: per kind, how many and the first one
/// (a store's orders can all collide with other stores' numbers, so one line
/// per flag would flood the log).
fn flags_summary(flags: &[keel_uplink::project::ReviewFlag]) -> String {
    let mut kinds: Vec<(&str, usize, &keel_uplink::project::ReviewFlag)> = Vec::new();
    for f in flags {
        match kinds.iter_mut().find(|(k, _, _)| *k == f.kind) {
            Some((_, n, _)) => *n += 1,
            None => kinds.push((&f.kind, 1, f)),
        }
    }
    kinds
        .iter()
        .map(|(kind, n, first)| {
            format!(
                "{kind} x{n} (first {}:{}: {})",
                first.terminal, first.seq, first.detail
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn storage_refusal(batch: u64, who: &StoreId, e: &StoreError) -> CloudMessage {
    log::error!("uplink: {who}: storage failed: {e}");
    CloudMessage::Refused {
        batch,
        reason: format!("the cloud cannot store this now ({e}); retry later"),
    }
}

/// Answers one message of the session of `who` (store, terminal from the
/// certificate); `hello` says whether the session has greeted. Returns the answer,
/// what to do next and whether the session has greeted now. Blocking (storage).
fn answer(
    store: &dyn CloudStore,
    who: &(StoreId, TerminalId),
    hello: bool,
    msg: StoreMessage,
    now: u64,
) -> (CloudMessage, After, bool) {
    let (s, t) = who;
    match msg {
        StoreMessage::Hello {
            store: claimed,
            terminal,
            firmware,
            marks,
            health,
        } => {
            if &claimed != s || terminal != *t {
                let reason = format!(
                    "hello names store {claimed} terminal {terminal}, but the certificate is store {s} terminal {t}"
                );
                log::warn!("uplink: {s} terminal {t}: refused: {reason}");
                record_refusal(store, s, &reason);
                return (
                    CloudMessage::Refused {
                        batch: 0,
                        reason: reason.clone(),
                    },
                    After::Close(reason),
                    hello,
                );
            }
            log::info!(
                "uplink: {s} terminal {t} (firmware {firmware}) hello: {} pending, downlink {}",
                health.pending,
                marks.downlink
            );
            let answer = store
                .record_health(s, *t, &health, now)
                .and_then(|_| store.marks(s))
                .and_then(|m| Ok((m, publications(store, s, marks.downlink)?)));
            match answer {
                Ok((marks, publications)) => (
                    CloudMessage::Welcome {
                        marks,
                        publications,
                    },
                    After::Continue,
                    true,
                ),
                Err(e) => (storage_refusal(0, s, &e), After::Continue, hello),
            }
        }
        StoreMessage::Batch(batch) if !hello => {
            let reason = format!("batch {} before hello: send Hello first", batch.id);
            record_refusal(store, s, &reason);
            (
                CloudMessage::Refused {
                    batch: batch.id,
                    reason: reason.clone(),
                },
                After::Close(reason),
                hello,
            )
        }
        StoreMessage::Batch(batch) => match store.ingest(s, &batch, now) {
            Ok(out) => {
                log::debug!(
                    "uplink: {s}: batch {} stored: {} new, {} duplicates",
                    batch.id,
                    out.accepted,
                    out.duplicates
                );
                if !out.flags.is_empty() {
                    log::warn!(
                        "uplink: {s}: batch {} raised review flags: {}",
                        batch.id,
                        flags_summary(&out.flags)
                    );
                }
                (
                    CloudMessage::Ack {
                        batch: batch.id,
                        marks: out.marks,
                        accepted: out.accepted,
                        duplicates: out.duplicates,
                    },
                    After::Continue,
                    hello,
                )
            }
            Err(StoreError::Refused(r)) => {
                log::warn!("uplink: {s} terminal {t}: batch {} refused: {r}", batch.id);
                (
                    CloudMessage::Refused {
                        batch: batch.id,
                        reason: r.to_string(),
                    },
                    After::Continue,
                    hello,
                )
            }
            Err(StoreError::Invalid(r)) => {
                log::warn!("uplink: {s} terminal {t}: batch {} refused: {r}", batch.id);
                (
                    CloudMessage::Refused {
                        batch: batch.id,
                        reason: r,
                    },
                    After::Continue,
                    hello,
                )
            }
            Err(e) => (storage_refusal(batch.id, s, &e), After::Continue, hello),
        },
        StoreMessage::Health { .. } if !hello => {
            let reason = "health before hello: send Hello first".to_string();
            record_refusal(store, s, &reason);
            (
                CloudMessage::Refused {
                    batch: 0,
                    reason: reason.clone(),
                },
                After::Close(reason),
                hello,
            )
        }
        StoreMessage::Keys { ring } if !hello => {
            let reason = format!(
                "keys of {} customers before hello: send Hello first",
                ring.len()
            );
            record_refusal(store, s, &reason);
            (
                CloudMessage::Refused {
                    batch: 0,
                    reason: reason.clone(),
                },
                After::Close(reason),
                hello,
            )
        }
        StoreMessage::Keys { ring } => {
            let (answer, after) = keys(store, s, *t, &ring, now);
            (answer, after, hello)
        }
        StoreMessage::OtaReport { .. } | StoreMessage::FetchRelease { .. } if !hello => {
            let reason = "OTA request before hello: send Hello first".to_string();
            record_refusal(store, s, &reason);
            (
                CloudMessage::Refused {
                    batch: 0,
                    reason: reason.clone(),
                },
                After::Close(reason),
                hello,
            )
        }
        StoreMessage::OtaReport { terminals } => (
            crate::release_wire::answer_report(store, s, &terminals, now),
            After::Continue,
            hello,
        ),
        StoreMessage::FetchRelease { id, offset, len } => (
            crate::release_wire::answer_fetch(store, s, id, offset, len),
            After::Continue,
            hello,
        ),
        StoreMessage::Health { health, downlink } => {
            let answer = store
                .record_health(s, *t, &health, now)
                .and_then(|_| publications(store, s, downlink));
            match answer {
                Ok(p) => (CloudMessage::Publications(p), After::Continue, hello),
                Err(e) => (storage_refusal(0, s, &e), After::Continue, hello),
            }
        }
    }
}

/// Answers a chunk of the store's key ring with the cloud's merged entries of
/// the same customers; a chunk too large or with a bad customer id is refused
/// (the session goes on). Logs counts only, never customer ids or keys.
fn keys(
    store: &dyn CloudStore,
    s: &StoreId,
    t: TerminalId,
    ring: &KeyRing,
    now: u64,
) -> (CloudMessage, After) {
    let bad = if ring.len() > MAX_KEYS_PER_MESSAGE {
        Some(format!(
            "keys of {} customers in one message; at most {MAX_KEYS_PER_MESSAGE}: send chunks",
            ring.len()
        ))
    } else {
        ring.entries()
            .find_map(|(id, _)| crate::customer::check_id(id).err())
            .map(|e| format!("keys refused: {e}"))
    };
    if let Some(reason) = bad {
        log::warn!("uplink: {s} terminal {t}: refused: {reason}");
        record_refusal(store, s, &reason);
        return (CloudMessage::Refused { batch: 0, reason }, After::Continue);
    }
    match store.merge_keys(s, ring, now) {
        Ok(merged) => {
            let erased = merged
                .entries()
                .filter(|(id, _)| merged.is_erased(id))
                .count();
            log::debug!(
                "uplink: {s}: keys of {} customers merged, {erased} of them erased",
                ring.len()
            );
            let answer = CloudMessage::Keys { ring: merged };
            if answer.encode().len() > MAX_MESSAGE_BYTES {
                let reason = format!(
                    "the merged keys of {} customers exceed a message: send smaller chunks",
                    ring.len()
                );
                return (CloudMessage::Refused { batch: 0, reason }, After::Continue);
            }
            (answer, After::Continue)
        }
        Err(e) => (storage_refusal(0, s, &e), After::Continue),
    }
}
