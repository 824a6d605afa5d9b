//! An emulated serial receipt printer on the far side of a pseudo-terminal.
//!
//! [`EmulatedPrinter::start`] opens a pty pair and gives the path the code
//! under test opens, as if it were the printer's serial port: a symlink in a
//! private temporary directory to the pty's slave (`/dev/pts/N`), the way
//! udev gives a USB printer a stable `/dev/serial/by-id/…` name. A thread
//! reads the master side and feeds [`PrinterModel`], which answers status
//! requests and records the paper.
//!
//! [`EmulatedPrinter::unplug`] closes the pty (the open slave sees a hangup:
//! reads and writes fail) and removes the symlink (opening fails);
//! [`EmulatedPrinter::replug`] opens a new pty and points the symlink at it,
//! so the device comes back under the same path.
//!
//! Owns the pty and its thread; the printer's behaviour is the model's. For
//! tests and development only; nothing here is used in production paths.

use super::printer_model::PrinterModel;
use serialport::{SerialPort, TTYPort};
use std::fs;
use std::io::{self, Read, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long the emulator's thread waits for input before looking at its
/// controls again.
const POLL: Duration = Duration::from_millis(10);

/// One plugged-in pseudo-terminal.
struct Pty {
    master: TTYPort,
    /// Held open so the master never sees "no slave" between host opens.
    _slave: TTYPort,
}

struct Shared {
    model: PrinterModel,
    pty: Mutex<Option<Pty>>,
    stop: AtomicBool,
    link: PathBuf,
}

impl Shared {
    fn pty(&self) -> MutexGuard<'_, Option<Pty>> {
        self.pty.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a new pty and points the symlink at its slave.
    fn plug(&self, slot: &mut Option<Pty>) -> io::Result<()> {
        if slot.is_some() {
            return Ok(());
        }
        let (mut master, slave) = TTYPort::pair().map_err(io::Error::from)?;
        master.set_timeout(POLL).map_err(io::Error::from)?;
        let name = slave
            .name()
            .ok_or_else(|| io::Error::other("pseudo-terminal without a name"))?;
        let tmp = self.link.with_extension("new");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&name, &tmp)?;
        fs::rename(&tmp, &self.link)?;
        *slot = Some(Pty {
            master,
            _slave: slave,
        });
        log::debug!(
            "emulated printer plugged in at {} -> {name}",
            self.link.display()
        );
        Ok(())
    }

    /// Closes the pty (hangup for whoever has the slave open) and removes the
    /// symlink.
    fn unplug(&self, slot: &mut Option<Pty>) {
        if slot.take().is_some() {
            let _ = fs::remove_file(&self.link);
            log::debug!("emulated printer unplugged from {}", self.link.display());
        }
    }
}

/// A running emulated serial printer. Dereferences to its [`PrinterModel`]
/// for the controls (`set_paper_out`, `set_silent`, …) and observations
/// (`received`, `decoded`, `kicks`, …). Dropping it stops the thread and
/// removes the pty and the temporary directory.
pub struct EmulatedPrinter {
    shared: Arc<Shared>,
    dir: PathBuf,
    thread: Option<JoinHandle<()>>,
}

impl EmulatedPrinter {
    /// Starts a printer with paper, cover closed, answering; returns it and
    /// the serial device path to open.
    pub fn start() -> io::Result<(EmulatedPrinter, PathBuf)> {
        let dir = private_dir("printer")?;
        let link = dir.join("printer");
        let shared = Arc::new(Shared {
            model: PrinterModel::new(),
            pty: Mutex::new(None),
            stop: AtomicBool::new(false),
            link: link.clone(),
        });
        {
            let mut slot = shared.pty();
            if let Err(e) = shared.plug(&mut slot) {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        }
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("emulated-printer".into())
            .spawn(move || run(&thread_shared))?;
        Ok((
            EmulatedPrinter {
                shared,
                dir,
                thread: Some(thread),
            },
            link,
        ))
    }

    /// The device path (a symlink to the current pty; absent while unplugged).
    pub fn path(&self) -> &Path {
        &self.shared.link
    }

    /// The model, to hand to another thread.
    pub fn model(&self) -> PrinterModel {
        self.shared.model.clone()
    }

    /// Pulls the cable: the pty closes (the host's open port sees a hangup)
    /// and the device path disappears. Returns once done.
    pub fn unplug(&self) {
        let mut slot = self.shared.pty();
        self.shared.unplug(&mut slot);
    }

    /// Plugs it back in: a new pty under the same device path.
    pub fn replug(&self) -> io::Result<()> {
        let mut slot = self.shared.pty();
        self.shared.plug(&mut slot)
    }

    /// Whether it is plugged in.
    pub fn plugged(&self) -> bool {
        self.shared.pty().is_some()
    }
}

impl Deref for EmulatedPrinter {
    type Target = PrinterModel;

    fn deref(&self) -> &PrinterModel {
        &self.shared.model
    }
}

impl Drop for EmulatedPrinter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.unplug();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The emulator's thread: read, feed the model, answer.
fn run(shared: &Shared) {
    let mut buf = [0u8; 4096];
    let mut host_open = false;
    while !shared.stop.load(Ordering::SeqCst) {
        let mut slot = shared.pty();
        let Some(pty) = slot.as_mut() else {
            host_open = false;
            drop(slot);
            thread::sleep(POLL);
            continue;
        };
        match pty.master.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => {
                if !host_open {
                    host_open = true;
                    shared.model.connected();
                }
                let reply = shared.model.feed(&buf[..n]);
                if shared.model.take_unplug() {
                    shared.unplug(&mut slot);
                    continue;
                }
                if !reply.is_empty() {
                    if let Err(e) = pty.master.write_all(&reply) {
                        log::debug!("emulated printer: reply lost: {e}");
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                if shared.model.take_unplug() {
                    shared.unplug(&mut slot);
                }
            }
            Err(e) => {
                log::debug!("emulated printer: read: {e}");
                drop(slot);
                thread::sleep(POLL);
            }
        }
    }
}

/// A fresh private directory under the system temp dir.
pub(crate) fn private_dir(what: &str) -> io::Result<PathBuf> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "keel-emulated-{what}-{}-{n}-{nanos}",
        std::process::id()
    ));
    fs::create_dir(&dir)?;
    Ok(dir)
}
