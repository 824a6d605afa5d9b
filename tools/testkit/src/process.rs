//! Child processes started by tests.
//!
//! Owns: [`ChildGuard`] (a spawned child that is terminated and reaped when
//! dropped, whose stdout is read line by line on a thread) and
//! [`reexec_test`] (a command that runs one test of the current test binary again,
//! as a child process, with `--exact --nocapture`).
//!
//! Must not do: signal any process it did not spawn itself; it signals only the pid
//! of the `std::process::Child` it holds, and only before that child is reaped.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Why a child process could not be started or talked to.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be spawned (missing binary, bad namespace, ...).
    #[error("starting {name}: {source}")]
    Spawn {
        /// The name the test gave the child.
        name: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing to the child's stdin failed (it has probably exited).
    #[error("writing to {name}'s stdin: {source}")]
    Stdin {
        /// The name the test gave the child.
        name: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The path of the running test binary is unknown.
    #[error("finding the current test binary: {0}")]
    CurrentExe(std::io::Error),
}

/// A child process that belongs to the test: its stdout is read line by line on a
/// thread (see [`ChildGuard::wait_line`]); its stderr is inherited so its logs show
/// up in the test output. Dropping the guard sends SIGTERM, waits up to two seconds,
/// then sends SIGKILL, and always reaps the child.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl ChildGuard {
    /// Spawns `cmd` with stdin and stdout piped (stderr inherited); `name` is used
    /// in log lines and errors.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<ChildGuard, ProcessError> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        Self::spawn_configured(name, cmd)
    }

    /// Spawns a daemon-like child: stdin from /dev/null, stdout and stderr appended
    /// to `log` (created if missing). [`ChildGuard::wait_line`] never yields lines.
    pub fn spawn_logged(
        name: &str,
        cmd: &mut Command,
        log: &std::path::Path,
    ) -> Result<ChildGuard, ProcessError> {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|source| ProcessError::Spawn {
                    name: name.to_string(),
                    source,
                })
        };
        cmd.stdin(Stdio::null()).stdout(open()?).stderr(open()?);
        Self::spawn_configured(name, cmd)
    }

    fn spawn_configured(name: &str, cmd: &mut Command) -> Result<ChildGuard, ProcessError> {
        let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
            name: name.to_string(),
            source,
        })?;
        let (tx, rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let thread_name = format!("{name}-stdout");
            let log_name = name.to_string();
            let spawned = thread::Builder::new().name(thread_name).spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    log::trace!("{log_name}: {line}");
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            if let Err(e) = spawned {
                log::warn!("{name}: could not start its stdout reader: {e}");
            }
        }
        let stdin = child.stdin.take();
        log::debug!("{name}: started as pid {}", child.id());
        Ok(ChildGuard {
            name: name.to_string(),
            child: Some(child),
            stdin,
            lines: rx,
        })
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's process id (valid until the guard reaps it).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits up to `timeout` for the next stdout line for which `pred` holds; lines
    /// that do not match are consumed and dropped. `None` on timeout or when the
    /// child closed its stdout.
    pub fn wait_line(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Every stdout line received so far and not yet consumed, without waiting.
    pub fn drain_lines(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) -> Result<(), ProcessError> {
        let name = self.name.clone();
        let stdin = self.stdin.as_mut().ok_or_else(|| ProcessError::Stdin {
            name: name.clone(),
            source: std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdin closed"),
        })?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|source| ProcessError::Stdin { name, source })
    }

    /// Closes the child's stdin (children in child mode treat that as "stop").
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Sends SIGKILL and reaps the child; returns its exit status.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Err(e) = child.kill() {
            log::debug!("{}: kill: {e}", self.name);
        }
        child.wait().ok()
    }

    /// Waits up to `timeout` for the child to exit by itself; `None` if it is still
    /// running (it is then left to [`Drop`]).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.child = None;
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => return None,
                Err(e) => {
                    log::debug!("{}: try_wait: {e}", self.name);
                    return None;
                }
            }
        }
    }

    /// Sends SIGTERM, waits up to `grace`, then SIGKILLs; always reaps.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let Ok(pid) = libc::pid_t::try_from(child.id()) else {
            return self.kill();
        };
        // SAFETY of intent: `pid` is our own child, not yet reaped (we hold the
        // `Child` and have not waited on it), so the pid cannot have been reused.
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        if let Some(status) = self.wait_exit(grace) {
            return Some(status);
        }
        log::warn!(
            "{}: still running {grace:?} after SIGTERM; sending SIGKILL",
            self.name
        );
        self.kill()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stdin = None;
        if self.child.is_some() {
            self.terminate(Duration::from_secs(2));
        }
    }
}

/// Environment variable naming the child-mode role of a re-executed test binary
/// (set by [`reexec_test`]; read by the test with `std::env::var`).
pub const CHILD_ROLE_ENV: &str = "KEEL_TESTKIT_CHILD_ROLE";

/// A command that runs the test `test_name` (its full path as libtest prints it,
/// e.g. `child_entry`) of the currently running test binary as a child process:
/// `--exact --nocapture --test-threads=1 --include-ignored`, with
/// [`CHILD_ROLE_ENV`] set to `role`. The child test checks the variable and acts the
/// role; when the variable is absent that test does nothing, so it passes in a
/// normal run. Add environment (e.g. through the Avahi harness) before spawning.
pub fn reexec_test(test_name: &str, role: &str) -> Result<Command, ProcessError> {
    let exe = std::env::current_exe().map_err(ProcessError::CurrentExe)?;
    let mut cmd = Command::new(exe);
    cmd.args([
        test_name,
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "--include-ignored",
    ])
    .env(CHILD_ROLE_ENV, role);
    Ok(cmd)
}
