//! An emulated network printer on raw TCP (the port-9100 protocol of kitchen
//! printers), listening on `127.0.0.1` at a free port.
//!
//! It serves one connection at a time, like most network printers (others
//! wait in the backlog). [`EmulatedTcpPrinter::unplug`] resets the open
//! connection and stops listening (new connections are refused);
//! [`EmulatedTcpPrinter::replug`] listens again on the same address.
//!
//! Owns the listener, the connection and the thread; the printer's behaviour
//! is [`PrinterModel`]'s. For tests and development only.

use super::printer_model::PrinterModel;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the thread waits for input before looking at its controls again.
const POLL: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Net {
    listener: Option<TcpListener>,
    conn: Option<TcpStream>,
}

struct Shared {
    model: PrinterModel,
    addr: SocketAddr,
    net: Mutex<Net>,
    stop: AtomicBool,
}

impl Shared {
    fn net(&self) -> MutexGuard<'_, Net> {
        self.net.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulated TCP printer; dereferences to its [`PrinterModel`].
/// Dropping it stops the thread and closes the socket.
pub struct EmulatedTcpPrinter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl EmulatedTcpPrinter {
    /// Starts listening on `127.0.0.1` at a free port; returns the printer
    /// and its address.
    pub fn start() -> io::Result<(EmulatedTcpPrinter, SocketAddr)> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            model: PrinterModel::new(),
            addr,
            net: Mutex::new(Net {
                listener: Some(listener),
                conn: None,
            }),
            stop: AtomicBool::new(false),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("emulated-tcp-printer".into())
            .spawn(move || run(&thread_shared))?;
        Ok((
            EmulatedTcpPrinter {
                shared,
                thread: Some(thread),
            },
            addr,
        ))
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The model, to hand to another thread.
    pub fn model(&self) -> PrinterModel {
        self.shared.model.clone()
    }

    /// Pulls the network cable: resets the open connection (the host sees a
    /// reset) and refuses new ones until [`EmulatedTcpPrinter::replug`].
    pub fn unplug(&self) {
        let mut net = self.shared.net();
        if let Some(conn) = net.conn.take() {
            reset(conn);
        }
        net.listener = None;
    }

    /// Listens again on the same address.
    pub fn replug(&self) -> io::Result<()> {
        let mut net = self.shared.net();
        if net.listener.is_none() {
            let listener = TcpListener::bind(self.shared.addr)?;
            listener.set_nonblocking(true)?;
            net.listener = Some(listener);
        }
        Ok(())
    }

    /// Resets the current connection only (the printer stays reachable).
    pub fn reset_connection(&self) {
        if let Some(conn) = self.shared.net().conn.take() {
            reset(conn);
        }
    }
}

impl Deref for EmulatedTcpPrinter {
    type Target = PrinterModel;

    fn deref(&self) -> &PrinterModel {
        &self.shared.model
    }
}

impl Drop for EmulatedTcpPrinter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Closes `conn` with an RST instead of a FIN (SO_LINGER 0), as a printer
/// that loses power mid-job does from the host's point of view.
fn reset(conn: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket this function owns, with a properly
    // sized, initialized linger struct.
    unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(conn);
}

/// The thread: accept one connection at a time, read, feed, answer.
fn run(shared: &Shared) {
    let mut buf = [0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        let mut net = shared.net();
        if net.conn.is_none() {
            let accepted = match &net.listener {
                Some(l) => l.accept(),
                None => Err(io::ErrorKind::WouldBlock.into()),
            };
            match accepted {
                Ok((conn, _)) => {
                    if conn.set_nonblocking(false).is_ok()
                        && conn.set_read_timeout(Some(POLL)).is_ok()
                    {
                        shared.model.connected();
                        net.conn = Some(conn);
                    }
                }
                Err(_) => {
                    drop(net);
                    thread::sleep(POLL);
                }
            }
            continue;
        }
        let Some(conn) = net.conn.as_mut() else {
            continue;
        };
        match conn.read(&mut buf) {
            Ok(0) => net.conn = None,
            Ok(n) => {
                let reply = shared.model.feed(&buf[..n]);
                if shared.model.take_unplug() {
                    if let Some(conn) = net.conn.take() {
                        reset(conn);
                    }
                    net.listener = None;
                    continue;
                }
                if !reply.is_empty() && conn.write_all(&reply).is_err() {
                    net.conn = None;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => net.conn = None,
        }
    }
}
