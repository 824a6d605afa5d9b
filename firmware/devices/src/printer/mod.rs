//! The print worker: one thread per printer that prints the spool's pending
//! jobs in order, retrying until each is printed, and a cloneable
//! [`PrinterHandle`] the terminal uses from any thread.
//!
//! The guarantees:
//! - [`PrinterHandle::submit`] returns as soon as the job is durable in the
//!   spool; it never waits for the printer, so printing never blocks, slows or
//!   fails a sale.
//! - Before each job the worker asks the printer's status (DLE EOT); paper
//!   out, cover open, offline, an error or no answer leave the job pending and
//!   the worker retries with backoff. After writing it asks again, and only a
//!   ready printer gets the job marked printed.
//! - Every read and write has a timeout. A printer that vanishes mid-job
//!   (pty closed, TCP reset) or stops answering costs at most a timeout; the
//!   link is closed and reopened on the next attempt (the device may come
//!   back under the same path) and the job is sent again **from the start**.
//!   A job cut off part way, or one whose after-check failed, can therefore
//!   print twice (a whole second copy); nothing marks the copy. Printers
//!   that buffer data may also still be printing when the after-check
//!   passes: the check cannot see a fault that happens after it.
//! - Drawer kicks ([`PrinterHandle::kick_drawer`]) go out ahead of queued
//!   jobs and need no status or paper; see [`kick`] for why a kick is never
//!   repeated.
//!
//! This module owns the worker's loop and the handle. It must not decide
//! what to print or when to open the drawer (the terminal does), and it
//! must not hold the spool lock while talking to the printer.

mod backoff;
mod error;
pub mod kick;
mod worker;

pub use error::PrinterError;
pub use kick::{KickCommand, KickError, KickTicket};

use crate::escpos::kick::DrawerPin;
use crate::link::{LinkSpec, Timeouts};
use crate::spool::{JobId, JobKind, JobMeta, Spool, SpoolError, SpoolOptions};
use crate::status::{DrawerSensor, PrinterStatus};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How a print worker behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterConfig {
    /// Link timeouts (connect, read, write).
    pub timeouts: Timeouts,
    /// How long to wait for each DLE EOT reply.
    pub status_timeout: Duration,
    /// Ask the printer's status before and after each job. Turn off only for
    /// printers without a return channel: jobs are then marked printed once
    /// written, and paper out goes unnoticed.
    pub check_status: bool,
    /// How the drawer switch is wired to this printer's drawer port.
    pub drawer_sensor: DrawerSensor,
    /// First wait before retrying a job the printer could not take.
    pub retry_min: Duration,
    /// Longest wait between retries.
    pub retry_max: Duration,
    /// How often to refresh the status while idle (keeps `status` current and
    /// reconnects a printer that went away between jobs).
    pub idle_status_every: Duration,
    /// The drawer kick command.
    pub kick: KickCommand,
    /// How long a drawer kick may wait for the printer to be reachable before
    /// it is given up.
    pub kick_deadline: Duration,
    /// Printed jobs kept in the spool for reprints.
    pub keep_printed: usize,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            timeouts: Timeouts::default(),
            status_timeout: Duration::from_millis(500),
            check_status: true,
            drawer_sensor: DrawerSensor::default(),
            retry_min: Duration::from_millis(250),
            retry_max: Duration::from_secs(5),
            idle_status_every: Duration::from_secs(5),
            kick: KickCommand::default(),
            kick_deadline: Duration::from_secs(3),
            keep_printed: crate::spool::DEFAULT_KEEP_PRINTED,
        }
    }
}

/// What the terminal shows about a printer (`printer status`, the UI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterView {
    /// The device (path or `tcp://addr`).
    pub device: String,
    /// The last status the printer reported (unreachable until it answers).
    pub status: PrinterStatus,
    /// Jobs waiting to print.
    pub pending: usize,
    /// Why the last attempt failed, until a job prints.
    pub last_error: Option<String>,
    /// The job being sent right now.
    pub printing: Option<JobId>,
    /// Jobs printed since the worker started.
    pub printed_total: u64,
}

/// Requests to the worker thread.
#[derive(Debug)]
enum Command {
    /// A job was spooled.
    Wake,
    /// Kick the drawer ahead of the jobs.
    Kick(kick::KickRequest),
    /// Ask the status now and send it back.
    Refresh(mpsc::SyncSender<PrinterStatus>),
    /// Stop.
    Shutdown,
}

/// What the worker and the handles share.
#[derive(Debug)]
struct Shared {
    device: String,
    spool: Mutex<Spool>,
    view: Mutex<ViewState>,
    stop: AtomicBool,
}

#[derive(Debug)]
struct ViewState {
    status: PrinterStatus,
    last_error: Option<String>,
    printing: Option<JobId>,
    printed_total: u64,
}

impl Shared {
    fn spool(&self) -> MutexGuard<'_, Spool> {
        // The spool's state stays consistent across a panic elsewhere (each
        // method updates its maps only after the disk step succeeded).
        self.spool.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn view(&self) -> MutexGuard<'_, ViewState> {
        self.view.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts print workers.
#[derive(Debug)]
pub struct Printer;

impl Printer {
    /// Opens the spool in `spool_dir` and starts the worker for the printer
    /// at `spec`. Does not touch the printer: an absent printer only shows in
    /// the status, and jobs wait for it.
    pub fn start(
        spec: LinkSpec,
        spool_dir: impl AsRef<Path>,
        config: PrinterConfig,
    ) -> Result<PrinterHandle, PrinterError> {
        let spool = Spool::open_with(
            spool_dir,
            SpoolOptions {
                keep_printed: config.keep_printed,
            },
        )?;
        let device = spec.device();
        let shared = Arc::new(Shared {
            device: device.clone(),
            spool: Mutex::new(spool),
            view: Mutex::new(ViewState {
                status: PrinterStatus::unreachable(),
                last_error: None,
                printing: None,
                printed_total: 0,
            }),
            stop: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel();
        let worker = worker::Worker::new(spec, config.clone(), Arc::clone(&shared), rx);
        let thread = thread::Builder::new()
            .name(format!("printer {device}"))
            .spawn(move || worker.run())
            .map_err(PrinterError::Thread)?;
        Ok(PrinterHandle {
            inner: Arc::new(Inner {
                shared,
                tx,
                config,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    tx: Sender<Command>,
    config: PrinterConfig,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Command::Shutdown);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            if t.join().is_err() {
                log::error!("printer worker for {} panicked", self.shared.device);
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A handle to a running print worker; clones share the worker, which stops
/// when the last handle is dropped or on [`PrinterHandle::shutdown`].
#[derive(Clone, Debug)]
pub struct PrinterHandle {
    inner: Arc<Inner>,
}

impl PrinterHandle {
    /// Spools a job and returns its id as soon as it is durable; never waits
    /// for the printer. An `Err` means the job was not stored (disk full,
    /// read-only): the caller decides whether that matters for the sale.
    pub fn submit(&self, kind: JobKind, label: &str, bytes: &[u8]) -> Result<JobId, SpoolError> {
        let id = self.inner.shared.spool().enqueue(kind, label, bytes)?;
        if self.inner.tx.send(Command::Wake).is_err() {
            log::warn!(
                "printer worker for {} has stopped; job {id} waits in the spool",
                self.inner.shared.device
            );
        }
        Ok(id)
    }

    /// Spools a new copy of job `id` (pending or one of the kept printed
    /// jobs), labelled as a reprint; returns the new job's id.
    pub fn reprint(&self, id: JobId) -> Result<JobId, SpoolError> {
        let new = {
            let mut spool = self.inner.shared.spool();
            let job = spool.get(id)?;
            let label = format!("reprint of {id} ({})", job.label);
            spool.enqueue(JobKind::Reprint, &label, &job.bytes)?
        };
        let _ = self.inner.tx.send(Command::Wake);
        Ok(new)
    }

    /// Hands a drawer kick on `pin` to the worker, ahead of queued jobs, and
    /// returns at once; wait on the ticket to learn whether it went out.
    pub fn kick_drawer(&self, pin: DrawerPin) -> Result<KickTicket, PrinterError> {
        let cfg = &self.inner.config;
        let (done, rx) = mpsc::sync_channel(1);
        let now = Instant::now();
        let deadline = now + cfg.kick_deadline;
        let request = kick::KickRequest {
            bytes: cfg.kick.bytes(pin),
            deadline,
            done,
        };
        self.inner
            .tx
            .send(Command::Kick(request))
            .map_err(|_| PrinterError::Stopped(self.inner.shared.device.clone()))?;
        Ok(KickTicket {
            rx,
            answer_by: deadline + cfg.timeouts.write + cfg.status_timeout,
        })
    }

    /// Asks the printer's status now (after the worker's current step) and
    /// waits at most `timeout` for it.
    pub fn refresh_status(&self, timeout: Duration) -> Result<PrinterStatus, PrinterError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let device = || self.inner.shared.device.clone();
        self.inner
            .tx
            .send(Command::Refresh(tx))
            .map_err(|_| PrinterError::Stopped(device()))?;
        rx.recv_timeout(timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => PrinterError::Busy(device()),
            mpsc::RecvTimeoutError::Disconnected => PrinterError::Stopped(device()),
        })
    }

    /// The printer's state as last seen, without waiting for the printer.
    pub fn status(&self) -> PrinterView {
        let shared = &self.inner.shared;
        let pending = shared.spool().pending_count();
        let v = shared.view();
        PrinterView {
            device: shared.device.clone(),
            status: v.status,
            pending,
            last_error: v.last_error.clone(),
            printing: v.printing,
            printed_total: v.printed_total,
        }
    }

    /// The jobs waiting to print, oldest first.
    pub fn pending(&self) -> Vec<JobMeta> {
        self.inner.shared.spool().pending()
    }

    /// The printed jobs kept for reprints, oldest first.
    pub fn printed(&self) -> Vec<JobMeta> {
        self.inner.shared.spool().printed()
    }

    /// The device (path or `tcp://addr`).
    pub fn device(&self) -> &str {
        &self.inner.shared.device
    }

    /// The worker's configuration.
    pub fn config(&self) -> &PrinterConfig {
        &self.inner.config
    }

    /// Stops the worker and waits for it (at most about one write timeout: a
    /// job being sent is abandoned between chunks and stays pending). Other
    /// handles then get `Stopped` errors; spooling still works.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}
