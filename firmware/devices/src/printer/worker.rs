//! The print worker's thread: drawer kicks first, then status requests, then
//! the oldest pending job when its retry time has come, else an idle status
//! refresh; between steps it sleeps on its command channel.
//!
//! Owns the link (opening, dropping after any failure, reopening) and the
//! retry schedule. Holds the spool lock only for spool calls, never while
//! talking to the printer.

use super::backoff::Backoff;
use super::kick::{KickOutcome, KickRequest};
use super::{Command, PrinterConfig, Shared};
use crate::link::{self, Link, LinkSpec};
use crate::spool::{JobId, SpoolError};
use crate::status::{self, PrinterStatus};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes per write call: the stop flag is checked between chunks.
const CHUNK: usize = 512;
/// Retry interval for a kick waiting for the printer to come back.
const KICK_RETRY: Duration = Duration::from_millis(100);

/// How sending a kick went.
enum KickSend {
    Sent,
    /// Nothing reached the device: safe to try again.
    NothingSent(String),
    /// Some bytes went out: never repeated.
    Partly(String),
}

/// Why one attempt at a job did not print it.
enum Failure {
    /// The printer reported a state it cannot print in.
    NotReady(PrinterStatus),
    /// The link failed or could not be opened.
    Link(String),
    /// The job file could not be read; the reason.
    Spool(SpoolError),
    /// Shutting down mid-job.
    Stopping,
}

pub(super) struct Worker {
    spec: LinkSpec,
    cfg: PrinterConfig,
    shared: Arc<Shared>,
    rx: Receiver<Command>,
    link: Option<Box<dyn Link>>,
    kicks: VecDeque<KickRequest>,
    kick_retry_at: Option<Instant>,
    refreshes: Vec<SyncSender<PrinterStatus>>,
    backoff: Backoff,
    /// When a failed job may be tried again (`None`: now).
    retry_at: Option<Instant>,
    last_status_at: Option<Instant>,
}

impl Worker {
    pub(super) fn new(
        spec: LinkSpec,
        cfg: PrinterConfig,
        shared: Arc<Shared>,
        rx: Receiver<Command>,
    ) -> Worker {
        let backoff = Backoff::new(cfg.retry_min, cfg.retry_max);
        Worker {
            spec,
            cfg,
            shared,
            rx,
            link: None,
            kicks: VecDeque::new(),
            kick_retry_at: None,
            refreshes: Vec::new(),
            backoff,
            retry_at: None,
            last_status_at: None,
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// The thread's body.
    pub(super) fn run(mut self) {
        log::info!("printer worker for {} started", self.shared.device);
        loop {
            if !self.take_commands() || self.stopping() {
                break;
            }
            let now = Instant::now();
            if !self.kicks.is_empty() && self.kick_retry_at.is_none_or(|t| now >= t) {
                self.kick();
                continue;
            }
            if !self.refreshes.is_empty() {
                let status = self.probe();
                for tx in self.refreshes.drain(..) {
                    let _ = tx.try_send(status);
                }
                continue;
            }
            if self.retry_at.is_none_or(|t| now >= t) {
                let next = self.shared.spool().next_pending();
                match next {
                    Some(job) => {
                        self.attempt(job.id);
                        continue;
                    }
                    None => self.retry_at = None,
                }
            }
            let idle_due = self
                .last_status_at
                .map_or(now, |t| t + self.cfg.idle_status_every);
            if idle_due <= now {
                self.probe();
                continue;
            }
            let wake = [self.retry_at, self.kick_retry_at]
                .into_iter()
                .flatten()
                .fold(idle_due, Instant::min);
            match self.rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(cmd) => {
                    if !self.handle(cmd) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        for k in self.kicks.drain(..) {
            let _ = k
                .done
                .try_send(KickOutcome::Expired("printer worker stopped".into()));
        }
        self.link = None;
        log::info!("printer worker for {} stopped", self.shared.device);
    }

    /// Takes every queued command without waiting; `false` means stop.
    fn take_commands(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok(cmd) => {
                    if !self.handle(cmd) {
                        return false;
                    }
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => return true,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Wake => {}
            Command::Kick(k) => self.kicks.push_back(k),
            Command::Refresh(tx) => self.refreshes.push(tx),
            Command::Shutdown => return false,
        }
        true
    }

    /// The open link, opening it if needed.
    fn link(&mut self) -> Result<&mut Box<dyn Link>, String> {
        if self.link.is_none() {
            let link = link::open(&self.spec, self.cfg.timeouts).map_err(|e| e.to_string())?;
            log::info!("printer {} connected", self.shared.device);
            self.link = Some(link);
        }
        self.link.as_mut().ok_or_else(|| "no link".to_string())
    }

    /// Closes the link after a failure; the next step reopens it.
    fn drop_link(&mut self, why: &str) {
        if self.link.take().is_some() {
            log::warn!("printer {}: closing the link: {why}", self.shared.device);
        }
    }

    fn set_status(&mut self, status: PrinterStatus) {
        self.last_status_at = Some(Instant::now());
        self.shared.view().status = status;
    }

    fn set_error(&self, error: Option<String>) {
        self.shared.view().last_error = error;
    }

    /// Asks the status; a failure drops the link and shows the printer as
    /// unreachable.
    fn query(&mut self) -> Result<PrinterStatus, String> {
        let timeout = self.cfg.status_timeout;
        let sensor = self.cfg.drawer_sensor;
        let result = self.link().and_then(|link| {
            status::query(link.as_mut(), timeout, sensor).map_err(|e| e.to_string())
        });
        match result {
            Ok(status) => {
                self.set_status(status);
                Ok(status)
            }
            Err(e) => {
                self.drop_link(&e);
                self.set_status(PrinterStatus::unreachable());
                self.set_error(Some(e.clone()));
                Err(e)
            }
        }
    }

    /// The printer's status for the view: asked over DLE EOT, or, for a
    /// printer configured without status, "ready" whenever the link opens.
    /// A ready printer also ends any backoff (paper is back: print now) and,
    /// with nothing pending, clears the last error.
    fn probe(&mut self) -> PrinterStatus {
        let status = self.probe_once();
        if status.ready() {
            self.retry_at = None;
            self.backoff.reset();
            if self.shared.spool().pending_count() == 0 {
                self.set_error(None);
            }
        }
        status
    }

    fn probe_once(&mut self) -> PrinterStatus {
        if self.cfg.check_status {
            return self
                .query()
                .unwrap_or_else(|_| PrinterStatus::unreachable());
        }
        let status = match self.link() {
            Ok(_) => PrinterStatus {
                reachable: true,
                online: true,
                ..PrinterStatus::unreachable()
            },
            Err(e) => {
                self.set_error(Some(e));
                PrinterStatus::unreachable()
            }
        };
        self.set_status(status);
        status
    }

    /// Sends the first queued kick, or gives it up past its deadline.
    fn kick(&mut self) {
        let Some(k) = self.kicks.pop_front() else {
            return;
        };
        self.kick_retry_at = None;
        let outcome = match self.link() {
            Err(e) => KickSend::NothingSent(e),
            // The first write either takes some bytes or fails having sent
            // nothing; only a failure after bytes went out is ambiguous.
            Ok(link) => match link.write(&k.bytes) {
                Ok(0) => KickSend::NothingSent("the device took no bytes".into()),
                Ok(n) => match link.write_all(&k.bytes[n..]).and_then(|()| link.flush()) {
                    Ok(()) => KickSend::Sent,
                    Err(e) => KickSend::Partly(e.to_string()),
                },
                Err(e) => KickSend::NothingSent(e.to_string()),
            },
        };
        let device = self.shared.device.clone();
        match outcome {
            KickSend::Sent => {
                log::info!("printer {device}: drawer kicked");
                let _ = k.done.try_send(KickOutcome::Sent);
            }
            KickSend::Partly(e) => {
                self.drop_link(&e);
                log::warn!("printer {device}: drawer kick failed part way: {e}");
                let _ = k.done.try_send(KickOutcome::Failed(e));
            }
            KickSend::NothingSent(e) => {
                self.drop_link(&e);
                if Instant::now() >= k.deadline {
                    log::warn!("printer {device}: drawer kick given up: {e}");
                    let _ = k.done.try_send(KickOutcome::Expired(e));
                } else {
                    self.kicks.push_front(k);
                    self.kick_retry_at = Some(Instant::now() + KICK_RETRY);
                }
            }
        }
    }

    /// One attempt at job `id`; updates the view and the retry schedule.
    fn attempt(&mut self, id: JobId) {
        self.shared.view().printing = Some(id);
        let result = self.print(id);
        self.shared.view().printing = None;
        let device = self.shared.device.clone();
        match result {
            Ok(()) => {
                self.backoff.reset();
                self.retry_at = None;
                let mut v = self.shared.view();
                v.printed_total += 1;
                v.last_error = None;
                log::info!("printer {device}: job {id} printed");
            }
            Err(Failure::Stopping) => {}
            Err(Failure::Spool(SpoolError::Corrupt { path, reason })) => {
                log::error!(
                    "printer {device}: job {id} is damaged ({reason}); set aside as {}.corrupt",
                    path.display()
                );
                if let Err(e) = self.shared.spool().set_aside(id) {
                    log::error!("printer {device}: cannot set job {id} aside: {e}");
                }
            }
            Err(failure) => {
                let why = match failure {
                    Failure::NotReady(status) => {
                        status.problem().unwrap_or("not ready").to_string()
                    }
                    Failure::Link(e) => e,
                    Failure::Spool(e) => e.to_string(),
                    Failure::Stopping => String::new(),
                };
                let delay = self.backoff.next_delay();
                log::warn!("printer {device}: job {id} not printed ({why}); retry in {delay:?}");
                self.set_error(Some(format!("job {id} waiting: {why}")));
                self.retry_at = Some(Instant::now() + delay);
            }
        }
    }

    /// Status, write, status, mark printed.
    fn print(&mut self, id: JobId) -> Result<(), Failure> {
        if self.cfg.check_status {
            let status = self.query().map_err(Failure::Link)?;
            if !status.ready() {
                return Err(Failure::NotReady(status));
            }
        }
        let job = self.shared.spool().get(id).map_err(Failure::Spool)?;
        match self.write_job(&job.bytes) {
            Ok(()) => {}
            Err(e) if self.stopping() => {
                self.drop_link(&e.to_string());
                return Err(Failure::Stopping);
            }
            Err(e) => {
                let e = format!("{}: writing job {id}: {e}", self.shared.device);
                self.drop_link(&e);
                return Err(Failure::Link(e));
            }
        }
        if self.cfg.check_status {
            let status = self.query().map_err(Failure::Link)?;
            if !status.ready() {
                return Err(Failure::NotReady(status));
            }
        }
        if let Err(e) = self.shared.spool().mark_printed(id) {
            // The job stays pending and will print again: a duplicate is
            // better than a lost receipt.
            return Err(Failure::Spool(e));
        }
        Ok(())
    }

    /// Writes a job in chunks, stopping early on shutdown.
    fn write_job(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stop = Arc::clone(&self.shared);
        let link = self.link().map_err(io::Error::other)?;
        for chunk in bytes.chunks(CHUNK) {
            if stop.stop.load(Ordering::SeqCst) {
                return Err(io::Error::other("shutting down"));
            }
            link.write_all(chunk)?;
        }
        link.flush()
    }
}
