//! systemd's service notification protocol (`sd_notify`), and the watchdog built on it.
//!
//! On the appliance `keel.service` is `Type=notify` with `WatchdogSec=`: systemd passes
//! `NOTIFY_SOCKET` (a datagram socket, a path or `@abstract`) and `WATCHDOG_USEC`. The
//! terminal says `READY=1` once its journal is open and its runtimes run, then
//! `WATCHDOG=1` at half the interval for as long as it is alive, and `STOPPING=1` on the
//! way out. "Alive" is a real check, not a timer: the node's lock must be free within a
//! bound, so a terminal wedged on its core stops feeding the watchdog and systemd
//! restarts it (and after an update, a new system that wedges never marks itself good).
//!
//! This module owns only the protocol and the pinger thread. It must not decide what a
//! healthy terminal is beyond the liveness probe it is given, and it is silent (no
//! socket, no thread) when not started by systemd.

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What can go wrong talking to the service manager.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` is neither an absolute path nor an `@abstract` name.
    #[error("NOTIFY_SOCKET {0:?} is neither an absolute path nor an @abstract name")]
    BadSocketName(String),
    /// `WATCHDOG_USEC` is not a positive number of microseconds.
    #[error("WATCHDOG_USEC {0:?} is not a positive number of microseconds")]
    BadWatchdogUsec(String),
    /// The datagram could not be sent (the service manager went away, or the socket is wrong).
    #[error("notify {socket}: {source}")]
    Send {
        /// The socket named by `NOTIFY_SOCKET`.
        socket: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Where `NOTIFY_SOCKET` points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SocketName {
    /// A file system path.
    Path(String),
    /// A Linux abstract socket name (without the leading `@`).
    Abstract(String),
}

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    name: SocketName,
    text: String,
    socket: UnixDatagram,
}

impl Notifier {
    /// The notifier `NOTIFY_SOCKET` names; `Ok(None)` when the variable is unset or
    /// empty (not started by systemd).
    pub fn from_env() -> Result<Option<Notifier>, NotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(v) if !v.is_empty() => Notifier::new(&v).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for the socket named `text` (`/path` or `@abstract`).
    pub fn new(text: &str) -> Result<Notifier, NotifyError> {
        let name = if let Some(rest) = text.strip_prefix('@') {
            SocketName::Abstract(rest.to_string())
        } else if text.starts_with('/') {
            SocketName::Path(text.to_string())
        } else {
            return Err(NotifyError::BadSocketName(text.to_string()));
        };
        let socket = UnixDatagram::unbound().map_err(|source| NotifyError::Send {
            socket: text.to_string(),
            source,
        })?;
        Ok(Notifier {
            name,
            text: text.to_string(),
            socket,
        })
    }

    /// Sends one notification (`READY=1`, `WATCHDOG=1`, `STATUS=…`; several
    /// assignments separated by newlines).
    pub fn send(&self, state: &str) -> Result<(), NotifyError> {
        let err = |source| NotifyError::Send {
            socket: self.text.clone(),
            source,
        };
        match &self.name {
            SocketName::Path(p) => self.socket.send_to(state.as_bytes(), p).map_err(err)?,
            SocketName::Abstract(n) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(n.as_bytes())
                    .map_err(err)?;
                self.socket
                    .send_to_addr(state.as_bytes(), &addr)
                    .map_err(err)?
            }
        };
        Ok(())
    }
}

/// The watchdog interval systemd asks for (`WATCHDOG_USEC`), if it is meant for this
/// process (`WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Result<Option<Duration>, NotifyError> {
    let usec = match std::env::var("WATCHDOG_USEC") {
        Ok(v) if !v.is_empty() => v,
        _ => return Ok(None),
    };
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim() != std::process::id().to_string() {
            return Ok(None);
        }
    }
    parse_watchdog_usec(&usec).map(Some)
}

/// `WATCHDOG_USEC`'s value as a duration.
fn parse_watchdog_usec(text: &str) -> Result<Duration, NotifyError> {
    match text.trim().parse::<u64>() {
        Ok(us) if us > 0 => Ok(Duration::from_micros(us)),
        _ => Err(NotifyError::BadWatchdogUsec(text.to_string())),
    }
}

/// The running notifier: feeds the watchdog while the probe passes, says `STOPPING=1`
/// when stopped.
pub struct ServiceNotify {
    notifier: Arc<Notifier>,
    stop: Arc<AtomicBool>,
    pinger: Option<JoinHandle<()>>,
}

impl ServiceNotify {
    /// Says `READY=1` (with `status` as `STATUS=`) and, if systemd asked for a watchdog,
    /// starts a thread that sends `WATCHDOG=1` every half interval while `alive`
    /// returns Ok within that half interval's budget. `Ok(None)`: not under systemd.
    pub fn start(
        status: &str,
        alive: impl Fn(Duration) -> Result<(), String> + Send + 'static,
    ) -> Result<Option<ServiceNotify>, NotifyError> {
        let Some(notifier) = Notifier::from_env()? else {
            return Ok(None);
        };
        let interval = watchdog_interval()?;
        notifier.send(&format!("READY=1\nSTATUS={status}"))?;
        log::info!("service manager told READY ({status})");
        let notifier = Arc::new(notifier);
        let stop = Arc::new(AtomicBool::new(false));
        let pinger = match interval {
            Some(interval) => {
                let (n, stop) = (notifier.clone(), stop.clone());
                let every = (interval / 2).max(Duration::from_millis(10));
                let spawned = std::thread::Builder::new()
                    .name("keel-watchdog".into())
                    .spawn(move || feed(&n, &stop, every, alive));
                match spawned {
                    Ok(h) => Some(h),
                    Err(e) => {
                        // No pings: systemd restarts us after the interval, which is the
                        // right outcome for a process that cannot start a thread.
                        log::error!("watchdog thread not started: {e}");
                        None
                    }
                }
            }
            None => None,
        };
        Ok(Some(ServiceNotify {
            notifier,
            stop,
            pinger,
        }))
    }

    /// Says `STOPPING=1` and ends the watchdog thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Err(e) = self.notifier.send("STOPPING=1") {
            log::warn!("{e}");
        }
        if let Some(h) = self.pinger.take() {
            let _ = h.join();
        }
    }
}

/// The watchdog loop: a ping per period while `alive` passes within the period.
fn feed(
    n: &Notifier,
    stop: &AtomicBool,
    every: Duration,
    alive: impl Fn(Duration) -> Result<(), String>,
) {
    let mut failing = false;
    while !stop.load(Ordering::SeqCst) {
        match alive(every) {
            Ok(()) => {
                if failing {
                    log::warn!("watchdog: alive again");
                    failing = false;
                }
                if let Err(e) = n.send("WATCHDOG=1") {
                    log::warn!("watchdog: {e}");
                }
            }
            Err(why) => {
                if !failing {
                    log::error!("watchdog: not feeding systemd's watchdog: {why}");
                    failing = true;
                }
            }
        }
        // Sleep in small steps so a stop is prompt.
        let mut left = every;
        while !left.is_zero() && !stop.load(Ordering::SeqCst) {
            let step = left.min(Duration::from_millis(50));
            std::thread::sleep(step);
            left -= step;
        }
    }
}

/// A liveness probe over a mutex: Ok when it can be locked within `budget`.
pub fn lock_free_within<T>(m: &std::sync::Mutex<T>, budget: Duration) -> Result<(), String> {
    let start = std::time::Instant::now();
    loop {
        match m.try_lock() {
            Ok(_) => return Ok(()),
            Err(std::sync::TryLockError::Poisoned(_)) => {
                return Err("the terminal's core panicked (lock poisoned)".into())
            }
            Err(std::sync::TryLockError::WouldBlock) if start.elapsed() < budget => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(format!(
                    "the terminal's core has been busy for over {} ms",
                    budget.as_millis()
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_names_and_intervals_parse_or_say_why() {
        assert!(matches!(
            Notifier::new("relative/sock"),
            Err(NotifyError::BadSocketName(_))
        ));
        assert_eq!(
            Notifier::new("@keel").unwrap().name,
            SocketName::Abstract("keel".into())
        );
        assert_eq!(
            parse_watchdog_usec("3000000").unwrap(),
            Duration::from_secs(3)
        );
        assert!(parse_watchdog_usec("0").is_err());
        assert!(parse_watchdog_usec("3s").is_err());
    }

    #[test]
    fn a_held_lock_fails_the_probe_and_a_free_one_passes() {
        let m = std::sync::Mutex::new(());
        assert!(lock_free_within(&m, Duration::from_millis(20)).is_ok());
        let guard = m.lock().unwrap();
        let err = lock_free_within(&m, Duration::from_millis(20)).unwrap_err();
        assert!(err.contains("busy"), "{err}");
        drop(guard);
    }

    #[test]
    fn the_watchdog_is_fed_only_while_the_probe_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let healthy = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let n = Notifier::new(path.to_str().unwrap()).unwrap();
        let pinger = {
            let (healthy, stop) = (healthy.clone(), stop.clone());
            std::thread::spawn(move || {
                feed(&n, &stop, Duration::from_millis(20), |_| {
                    if healthy.load(Ordering::SeqCst) {
                        Ok(())
                    } else {
                        Err("wedged".into())
                    }
                })
            })
        };
        let mut buf = [0u8; 64];
        assert!(rx.recv(&mut buf).is_err(), "fed while the probe failed");
        healthy.store(true, Ordering::SeqCst);
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
        stop.store(true, Ordering::SeqCst);
        pinger.join().unwrap();
    }

    #[test]
    fn datagrams_reach_a_path_and_an_abstract_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        Notifier::new(path.to_str().unwrap())
            .unwrap()
            .send("READY=1")
            .unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("keel-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        Notifier::new(&format!("@{name}"))
            .unwrap()
            .send("WATCHDOG=1")
            .unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }
}
