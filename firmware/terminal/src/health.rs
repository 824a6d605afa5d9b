//! The terminal's health endpoint on the store LAN: a small HTTP/1.1 server
//! on `[health] listen` answering `GET /health` with a JSON report (see
//! `report`). One request per connection, served one at a time on its own
//! thread, with a bounded request size and read/write timeouts; anything that
//! is not a well-formed `GET` gets a 4xx answer.
//!
//! Owns: the listening socket and the answers (`request` reads and parses
//! requests). Must not change any state: it only reads the node (one cheap
//! journal read under the lock), the cluster's and the uplink's status.

pub mod disk;
pub mod report;
pub mod request;

pub use disk::disk_free_pct;
pub use request::MAX_REQUEST;

use crate::cluster_runtime::ClusterLink;
use crate::node::{Node, FIRMWARE_VERSION};
use crate::uplink_runtime::{self, UplinkView};
use request::HealthRequest;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

/// How long a client may take to send its request, or to take the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Errors starting the health endpoint.
#[derive(Debug, Error)]
pub enum HealthStartError {
    /// The address cannot be bound.
    #[error("health endpoint: cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server thread cannot be spawned.
    #[error("health endpoint: cannot start its thread: {0}")]
    Thread(std::io::Error),
}

/// Where the report's figures come from.
#[derive(Clone)]
pub struct Sources {
    /// The terminal.
    pub node: Arc<Mutex<Node>>,
    /// The cluster runtime, if any.
    pub cluster: Option<ClusterLink>,
    /// The uplink runtime, if a cloud is configured.
    pub uplink: Option<UplinkView>,
}

/// A running health endpoint.
pub struct HealthHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HealthHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HealthHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Gathers the report's figures now.
pub fn gather(src: &Sources) -> report::Figures {
    let cluster = src.cluster.as_ref().map(|c| c.status());
    let uplink = src.uplink.as_ref().map(|u| u.status());
    let replicated = cluster
        .as_ref()
        .map(|c| c.uplink_marks.clone())
        .unwrap_or_default();
    let n = uplink_runtime::lock(&src.node);
    let journal = n.journal();
    let database_error = journal
        .read(journal.last_seq())
        .err()
        .map(|e| e.to_string());
    let pending = uplink
        .as_ref()
        .and_then(|u| uplink_runtime::pending_of(&n, &u.best_marks(&replicated)));
    let last_sync_ms = uplink
        .as_ref()
        .and_then(|u| u.last_sync_ms)
        .max((replicated.acked_at_ms > 0).then_some(replicated.acked_at_ms));
    report::Figures {
        store: n.profile.store.0.clone(),
        terminal: n.profile.terminal.0,
        firmware: FIRMWARE_VERSION.to_string(),
        database_error,
        disk_free_pct: disk_free_pct(n.data_dir()),
        uptime_s: n.uptime_ms() / 1000,
        now_ms: n.now_ms(),
        cluster,
        uplink,
        pending,
        last_sync_ms,
    }
}

/// Starts serving on `listen`.
pub fn start(listen: SocketAddr, sources: Sources) -> Result<HealthHandle, HealthStartError> {
    let bind = |source| HealthStartError::Bind {
        addr: listen,
        source,
    };
    let listener = TcpListener::bind(listen).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("keel-health".into())
        .spawn(move || serve(listener, sources, flag))
        .map_err(HealthStartError::Thread)?;
    log::info!("health endpoint on http://{addr}/health");
    Ok(HealthHandle {
        addr,
        stop,
        thread: Some(thread),
    })
}

fn serve(listener: TcpListener, sources: Sources, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = answer(stream, &sources) {
                    log::debug!("health: request from {peer}: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                log::warn!("health: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn answer(mut stream: TcpStream, sources: &Sources) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (code, phrase, body) = match request::read_request(&mut stream) {
        Ok(HealthRequest::Health) => {
            let (healthy, v) = report::report(&gather(sources));
            // 200 either way: the body says healthy or degraded (a load balancer
            // must not take a degraded but selling terminal out).
            let _ = healthy;
            (200, "OK", v.to_string())
        }
        Err(e) => {
            let (code, phrase) = e.status();
            (
                code,
                phrase,
                serde_json::json!({ "error": e.to_string() }).to_string(),
            )
        }
    };
    let response = format!(
        "HTTP/1.1 {code} {phrase}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(raw).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn serves_the_report_over_http() {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::open(
            crate::demo::profile(1),
            dir.path(),
            Box::new(crate::clock::SystemClock::new()),
            Vec::new(),
        )
        .unwrap();
        let sources = Sources {
            node: Arc::new(Mutex::new(node)),
            cluster: None,
            uplink: None,
        };
        let h = start("127.0.0.1:0".parse().unwrap(), sources).unwrap();
        let addr = h.local_addr();
        let r = get(addr, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["database"], "ok");
        assert_eq!(v["role"], "standalone");
        assert!(v["uptime_s"].is_u64());
        let r = get(addr, b"BREW /pot HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 405"), "{r}");
        let r = get(addr, b"garbage\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
        let mut big = b"GET /health HTTP/1.1\r\n".to_vec();
        big.extend(vec![b'a'; MAX_REQUEST + 10]);
        let r = get(addr, &big);
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
        // A client that sends nothing is cut off after the timeout, and the
        // server goes on answering.
        let idle = TcpStream::connect(addr).unwrap();
        let r = get(addr, b"GET /health HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        drop(idle);
        h.shutdown();
    }
}
