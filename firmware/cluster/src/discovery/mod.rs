//! mDNS discovery of a store's terminals through Avahi (zeroconf over D-Bus).
//!
//! Owns: registering this terminal as a `_keel._udp` service whose TXT record
//! carries store, terminal, QUIC port, certificate fingerprint and firmware version
//! ([`txt`]); browsing `_keel._udp`; turning resolved peers of the same store into
//! [`DiscoveryEvent::Found`] and vanished ones into [`DiscoveryEvent::Lost`].
//!
//! How: zeroconf's Avahi types are not `Send`, so [`Discovery::start`] spawns one
//! thread (`keel-discovery`) that creates the registration and the browser and
//! polls both Avahi event loops until [`Discovery::stop`]. Events go out on an
//! unbounded `smol::channel` (async-channel): the consumer awaits `recv()` on smol
//! or calls `recv_blocking()` from a plain thread.
//!
//! Must not do: trust the network. Every TXT field is validated ([`txt::parse`]);
//! a bad or incomplete record, a record of another store, our own record and
//! non-IPv4 addresses are ignored with a debug log. zeroconf 0.18 panics inside its
//! TXT accessors on values that are not UTF-8 (binary TXT data arrives intact over
//! D-Bus); those accessors are called under `catch_unwind`, so such a record is
//! ignored too (this relies on `panic = "unwind"`, the default profile setting).
//! Discovery is a hint, not an authentication: the fingerprint it reports is
//! checked by the TLS layer when connecting. It never decides membership, opens
//! connections, or talks to any bus other than the system bus named by
//! `DBUS_SYSTEM_BUS_ADDRESS` (libdbus's default when unset).
//!
//! Limits: zeroconf reports removals by service name only, so a peer visible on
//! two interfaces is reported lost when it vanishes from the first, and it never
//! retries a failed resolution; the worker therefore browses afresh shortly after
//! any removal or failure and every minute, which finds such a peer again. When
//! avahi-daemon goes away the worker logs the failure and stops sending events.

pub mod txt;

use keel_core::ids::{StoreId, TerminalId};
use smol::channel::{Receiver, Sender};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use zeroconf::prelude::*;
use zeroconf::{
    BrowserEvent, MdnsBrowser, MdnsService, ServiceDiscovery, ServiceRegistration, ServiceType,
    TxtRecord,
};

pub use txt::{PeerRecord, TxtError};

/// DNS-SD service name (without protocol).
pub const SERVICE_NAME: &str = "keel";
/// DNS-SD protocol label.
pub const SERVICE_PROTOCOL: &str = "udp";
/// Longest DNS-SD instance name, in bytes.
const MAX_INSTANCE_LEN: usize = 63;
/// How long each Avahi event loop is polled per turn of the worker loop.
const POLL_SLICE: Duration = Duration::from_millis(50);
/// After a removal or a failed resolution, the browser is started afresh this
/// much later: Avahi reports removals by name only and zeroconf never retries a
/// failed resolution, so a peer withdrawn and announced again (or whose
/// resolution timed out) would otherwise stay unseen. A fresh browse lists every
/// instance again; peers already known and unchanged produce no event.
const REBROWSE_AFTER: Duration = Duration::from_secs(2);
/// A fresh browse at least this often, whatever happened.
const REBROWSE_EVERY: Duration = Duration::from_secs(60);

/// What this terminal publishes about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertisement {
    /// Our store.
    pub store: StoreId,
    /// Our terminal id (not 0).
    pub terminal: TerminalId,
    /// The UDP port our QUIC endpoint listens on (not 0).
    pub port: u16,
    /// SHA-256 of our certificate (DER), 64 hex digits.
    pub fingerprint: String,
    /// Our firmware version (printable ASCII, no spaces, at most 64 bytes).
    pub firmware: String,
}

/// A change in the set of same-store peers seen on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryEvent {
    /// A peer of our store was resolved, or its address, fingerprint or firmware
    /// changed.
    Found {
        /// The peer's terminal id.
        terminal: TerminalId,
        /// Its IPv4 address and QUIC port.
        addr: SocketAddr,
        /// SHA-256 of its certificate, 64 lowercase hex digits (to check when
        /// connecting; unauthenticated until then).
        fingerprint: String,
        /// Its firmware version.
        firmware: String,
    },
    /// A peer previously `Found` disappeared (goodbye packet, its registration
    /// removed when its process died, or its records expired).
    Lost {
        /// The peer's terminal id.
        terminal: TerminalId,
    },
}

/// Why discovery could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Our own advertisement would be rejected by peers.
    #[error("invalid advertisement: {0}")]
    InvalidAdvertisement(#[from] TxtError),
    /// Avahi refused the registration or the browser (most often: avahi-daemon is
    /// not running or not reachable on the D-Bus system bus).
    #[error("avahi: {0} (is avahi-daemon running on the D-Bus system bus named by DBUS_SYSTEM_BUS_ADDRESS?)")]
    Avahi(String),
    /// The worker thread could not be spawned or died before reporting.
    #[error("discovery worker: {0}")]
    Worker(String),
}

/// Running discovery: our registration plus the browser, on their own thread.
/// Dropping it stops like [`Discovery::stop`].
#[derive(Debug)]
pub struct Discovery {
    events: Receiver<DiscoveryEvent>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    instance: String,
}

impl Discovery {
    /// Registers `_keel._udp` for `adv` and browses for peers of the same store.
    /// Returns once Avahi accepted both the registration request and the browser
    /// (the registration itself completes asynchronously and is logged).
    pub fn start(adv: Advertisement) -> Result<Discovery, DiscoveryError> {
        let pairs = txt::encode(&adv)?;
        let instance = instance_name(&adv);
        let (events_tx, events_rx) = smol::channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let worker = {
            let stop = Arc::clone(&stop);
            let instance = instance.clone();
            thread::Builder::new()
                .name("keel-discovery".into())
                .spawn(move || worker(adv, pairs, instance, events_tx, stop, ready_tx))
                .map_err(|e| DiscoveryError::Worker(e.to_string()))?
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Discovery {
                events: events_rx,
                stop,
                worker: Some(worker),
                instance,
            }),
            Ok(Err(e)) => {
                let _ = worker.join();
                Err(e)
            }
            Err(_) => {
                let _ = worker.join();
                Err(DiscoveryError::Worker("exited before reporting".into()))
            }
        }
    }

    /// Discovery events, in order. The channel closes when discovery stops.
    pub fn events(&self) -> &Receiver<DiscoveryEvent> {
        &self.events
    }

    /// The DNS-SD instance name we asked for (Avahi may append ` #2` on a
    /// collision; the actual name is logged).
    pub fn instance_name(&self) -> &str {
        &self.instance
    }

    /// Withdraws our registration (Avahi sends a goodbye), stops browsing and joins
    /// the worker thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                log::error!("discovery worker panicked");
            }
        }
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `keel <store> <terminal>`, cut to 63 bytes at a char boundary.
fn instance_name(adv: &Advertisement) -> String {
    let full = format!("{SERVICE_NAME} {} {}", adv.store, adv.terminal.0);
    let mut end = full.len().min(MAX_INSTANCE_LEN);
    while !full.is_char_boundary(end) {
        end -= 1;
    }
    full[..end].to_string()
}

/// The worker thread: owns every zeroconf object.
fn worker(
    adv: Advertisement,
    pairs: Vec<(&'static str, String)>,
    instance: String,
    events: Sender<DiscoveryEvent>,
    stop: Arc<AtomicBool>,
    ready: mpsc::Sender<Result<(), DiscoveryError>>,
) {
    let avahi =
        |what: &str, e: zeroconf::error::Error| DiscoveryError::Avahi(format!("{what}: {e}"));
    let setup = (|| {
        let service_type = ServiceType::new(SERVICE_NAME, SERVICE_PROTOCOL)
            .map_err(|e| avahi("service type", e))?;

        let mut txt = TxtRecord::new();
        for (key, value) in &pairs {
            txt.insert(key, value).map_err(|e| avahi("TXT record", e))?;
        }
        let mut service = MdnsService::new(service_type.clone(), adv.port);
        service.set_name(&instance);
        service.set_txt_record(txt);
        service.set_registered_callback(Box::new(on_registered));
        let service_loop = service.register().map_err(|e| avahi("registering", e))?;

        let state = Arc::new(Mutex::new(BrowseState {
            store: adv.store.clone(),
            terminal: adv.terminal,
            peers: HashMap::new(),
            events,
            rebrowse: false,
        }));
        let (browser, browser_loop) =
            browse(&service_type, &state).map_err(|e| avahi("browsing", e))?;
        Ok((
            service_type,
            state,
            service,
            service_loop,
            browser,
            browser_loop,
        ))
    })();

    let (service_type, state, service, service_loop, mut browser, mut browser_loop) = match setup {
        Ok(parts) => parts,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    log::info!(
        "discovery: advertising {instance:?} ({} {} port {}), browsing {SERVICE_NAME}._{SERVICE_PROTOCOL}",
        adv.store,
        adv.terminal,
        adv.port
    );
    let mut browsed = Instant::now();
    let mut rebrowse_at: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = service_loop.poll(POLL_SLICE) {
            log::error!("discovery: registration event loop failed: {e}; stopping");
            break;
        }
        if let Err(e) = browser_loop.poll(POLL_SLICE) {
            log::error!("discovery: browser event loop failed: {e}; stopping");
            break;
        }
        // A removal or a failed resolution asks for a fresh browse shortly after
        // (see REBROWSE_AFTER); a periodic one heals anything else missed.
        let asked = state
            .lock()
            .map(|mut s| std::mem::take(&mut s.rebrowse))
            .unwrap_or(false);
        if asked && rebrowse_at.is_none() {
            rebrowse_at = Some(Instant::now() + REBROWSE_AFTER);
        }
        let due = rebrowse_at.is_some_and(|at| Instant::now() >= at)
            || browsed.elapsed() >= REBROWSE_EVERY;
        if due {
            drop(browser_loop);
            drop(browser);
            match browse(&service_type, &state) {
                Ok((b, l)) => {
                    log::debug!("discovery: browsing afresh");
                    (browser, browser_loop) = (b, l);
                }
                Err(e) => {
                    log::error!("discovery: browsing again failed: {e}; stopping");
                    drop(service_loop);
                    drop(service);
                    return;
                }
            }
            browsed = Instant::now();
            rebrowse_at = None;
        }
    }
    // Browser first, then the registration (freeing its Avahi client withdraws
    // the entry group, so Avahi sends a goodbye).
    drop(browser_loop);
    drop(browser);
    drop(service_loop);
    drop(service);
    log::info!("discovery: stopped advertising {instance:?}");
}

/// Starts a browser for `service_type` whose events go to `state`.
fn browse(
    service_type: &ServiceType,
    state: &Arc<Mutex<BrowseState>>,
) -> zeroconf::Result<(MdnsBrowser, zeroconf::EventLoop)> {
    let mut browser = MdnsBrowser::new(service_type.clone());
    let state = Arc::clone(state);
    browser.set_service_callback(Box::new(move |event, _| match state.lock() {
        Ok(mut state) => state.on_browse(event),
        Err(_) => log::error!("discovery state poisoned; event dropped"),
    }));
    let event_loop = browser.browse_services()?;
    Ok((browser, event_loop))
}

fn on_registered(
    result: zeroconf::Result<ServiceRegistration>,
    _context: Option<Arc<dyn std::any::Any + Send + Sync>>,
) {
    match result {
        Ok(reg) => log::info!("discovery: registered as {:?}", reg.name()),
        Err(e) => log::error!("discovery: registration failed: {e}"),
    }
}

/// A peer as last reported, per DNS-SD instance name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    terminal: TerminalId,
    addr: SocketAddr,
    fingerprint: String,
    firmware: String,
}

/// The browser's state, shared with the zeroconf callback.
struct BrowseState {
    store: StoreId,
    terminal: TerminalId,
    peers: HashMap<String, Seen>,
    events: Sender<DiscoveryEvent>,
    /// A removal or a failed resolution happened: browse afresh soon.
    rebrowse: bool,
}

impl BrowseState {
    fn on_browse(&mut self, event: zeroconf::Result<BrowserEvent>) {
        match event {
            Ok(BrowserEvent::Add(found)) => self.on_found(&found),
            Ok(BrowserEvent::Remove(removed)) => self.on_removed(removed.name()),
            Err(e) => {
                // A resolution that failed (e.g. timed out on a loaded machine)
                // is not retried by zeroconf: the next browse resolves again.
                self.rebrowse = true;
                log::debug!("discovery: browser: {e}")
            }
        }
    }

    fn on_found(&mut self, found: &ServiceDiscovery) {
        let name = found.name();
        let Some(fields) = read_txt(found.txt().as_ref()) else {
            log::debug!("discovery: ignoring {name:?}: TXT record is not readable text");
            return;
        };
        let record = match txt::parse(|key| fields.get(key).cloned(), *found.port()) {
            Ok(record) => record,
            Err(e) => {
                log::debug!("discovery: ignoring {name:?}: {e}");
                return;
            }
        };
        if record.store != self.store {
            log::debug!(
                "discovery: ignoring {name:?}: store {} is not ours",
                record.store
            );
            return;
        }
        if record.terminal == self.terminal {
            log::debug!(
                "discovery: ignoring {name:?}: that is us ({})",
                record.terminal
            );
            return;
        }
        let ip = match found.address().parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip,
            Ok(IpAddr::V6(_)) => {
                log::debug!(
                    "discovery: ignoring {name:?}: IPv6 address {}",
                    found.address()
                );
                return;
            }
            Err(_) => {
                log::debug!(
                    "discovery: ignoring {name:?}: unparsable address {:?}",
                    found.address()
                );
                return;
            }
        };
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
            log::debug!("discovery: ignoring {name:?}: unusable address {ip}");
            return;
        }
        let seen = Seen {
            terminal: record.terminal,
            addr: SocketAddr::new(IpAddr::V4(ip), record.port),
            fingerprint: record.fingerprint,
            firmware: record.firmware,
        };
        let unchanged = self.peers.get(name) == Some(&seen);
        self.peers.insert(name.clone(), seen.clone());
        if unchanged {
            return;
        }
        log::info!(
            "discovery: found {} at {} (fw {}, fp {}…)",
            seen.terminal,
            seen.addr,
            seen.firmware,
            &seen.fingerprint[..12]
        );
        self.send(DiscoveryEvent::Found {
            terminal: seen.terminal,
            addr: seen.addr,
            fingerprint: seen.fingerprint,
            firmware: seen.firmware,
        });
    }

    fn on_removed(&mut self, name: &str) {
        // Removals come by name only, and the instance may be announced again:
        // browse afresh to see what is really there.
        self.rebrowse = true;
        let Some(gone) = self.peers.remove(name) else {
            log::debug!("discovery: {name:?} removed (was not a known peer)");
            return;
        };
        if self.peers.values().any(|p| p.terminal == gone.terminal) {
            log::debug!(
                "discovery: {name:?} removed; {} still advertised under another name",
                gone.terminal
            );
            return;
        }
        log::info!("discovery: lost {} ({name:?})", gone.terminal);
        self.send(DiscoveryEvent::Lost {
            terminal: gone.terminal,
        });
    }

    fn send(&self, event: DiscoveryEvent) {
        if self.events.try_send(event).is_err() {
            log::debug!("discovery: event dropped: no receiver");
        }
    }
}

/// Reads the keys we know from a zeroconf TXT record. zeroconf's accessors panic on
/// non-UTF-8 values (it `expect`s UTF-8); such a record is unreadable: `None`.
fn read_txt(record: Option<&TxtRecord>) -> Option<HashMap<&'static str, String>> {
    let record = record?;
    catch_unwind(AssertUnwindSafe(|| {
        txt::KEYS
            .iter()
            .filter_map(|key| record.get(key).map(|value| (*key, value)))
            .collect()
    }))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_fit_a_dns_label() {
        let adv = Advertisement {
            store: StoreId("é".repeat(40)),
            terminal: TerminalId(7),
            port: 1,
            fingerprint: String::new(),
            firmware: String::new(),
        };
        let name = instance_name(&adv);
        assert!(name.len() <= MAX_INSTANCE_LEN);
        assert!(name.starts_with("keel é"));
        let short = Advertisement {
            store: StoreId("demo".into()),
            ..adv
        };
        assert_eq!(instance_name(&short), "keel demo 7");
    }

    #[test]
    fn events_from_the_browser_state() {
        let (tx, rx) = smol::channel::unbounded();
        let mut state = BrowseState {
            store: StoreId("A".into()),
            terminal: TerminalId(1),
            peers: HashMap::new(),
            events: tx,
            rebrowse: false,
        };
        let fp = "ab".repeat(32);
        let discovery = |name: &str, store: &str, terminal: &str, address: &str| {
            let mut txt = TxtRecord::new();
            for (k, v) in [
                ("txtvers", "1"),
                ("store", store),
                ("terminal", terminal),
                ("port", "7002"),
                ("fp", fp.as_str()),
                ("fw", "0.1.0"),
            ] {
                txt.insert(k, v).expect("insert");
            }
            ServiceDiscovery::builder()
                .name(name.to_string())
                .service_type(ServiceType::new("keel", "udp").expect("type"))
                .domain("local".into())
                .host_name("h.local".into())
                .address(address.into())
                .port(7002)
                .txt(Some(txt))
                .build()
                .expect("discovery")
        };
        state.on_found(&discovery("keel A 2", "A", "2", "127.0.0.1"));
        state.on_found(&discovery("keel A 2", "A", "2", "127.0.0.1")); // duplicate: no event
        state.on_found(&discovery("keel A 1", "A", "1", "127.0.0.1")); // ourselves
        state.on_found(&discovery("keel B 3", "B", "3", "127.0.0.1")); // other store
        state.on_found(&discovery("keel A 4", "A", "4", "::1")); // IPv6
        state.on_found(&discovery("keel A 5", "A", "x", "127.0.0.1")); // bad TXT
        assert!(!state.rebrowse);
        state.on_removed("keel B 3");
        assert!(state.rebrowse, "a removal asks for a fresh browse");
        state.on_removed("keel A 2");
        let events: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(
            events,
            vec![
                DiscoveryEvent::Found {
                    terminal: TerminalId(2),
                    addr: "127.0.0.1:7002".parse().expect("addr"),
                    fingerprint: fp.clone(),
                    firmware: "0.1.0".into(),
                },
                DiscoveryEvent::Lost {
                    terminal: TerminalId(2)
                },
            ]
        );
    }
}
