//! A throw-away PostgreSQL server for tests, on loopback.
//!
//! Owns: [`PostgresHarness`], which finds the newest Debian PostgreSQL under
//! `/usr/lib/postgresql/*/bin`, creates a cluster in a fresh temporary directory
//! (`initdb`: trust authentication, superuser `keel`, UTF8), starts the server on
//! 127.0.0.1 and a free TCP port (plus a unix socket in that directory), creates
//! the database `keel`, and stops the server and removes the directory when
//! dropped. It can also crash the server ([`PostgresHarness::kill`]) and start it
//! again on the same port and data ([`PostgresHarness::restart`]).
//!
//! PostgreSQL refuses to run as root: when the tests run as root, the directory
//! is given to the `postgres` user and `initdb` and the server run as that user
//! (the uid/gid switch happens in the child before exec, like `runuser`). The
//! server is started directly (not through `pg_ctl`, which would detach it), from
//! a thread that lives as long as it does, with a parent-death signal: if the
//! test process dies without dropping the harness (a panic in a static, a
//! SIGKILL), the server shuts down at once instead of lingering.
//!
//! Must not do: touch any PostgreSQL it did not start. It never uses the Debian
//! package's own cluster (`/var/lib/postgresql`) or its service, never listens
//! anywhere but 127.0.0.1 and its own socket directory, and signals only the
//! server it spawned (and, in [`PostgresHarness::kill`], that server's own child
//! processes). Stale directories of earlier test runs are removed only when they
//! carry this harness's marker and the test process that made them is gone.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Where Debian installs the PostgreSQL server binaries, one directory per major version.
const PG_ROOT: &str = "/usr/lib/postgresql";

/// Prefix of the temporary directories this harness creates.
const DIR_PREFIX: &str = "keel-pg-";

/// Marker file naming the pid of the test process that created a directory.
const MARKER: &str = "keel-harness.pid";

/// How long the server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The database user (a superuser) every harness creates.
pub const USER: &str = "keel";

/// The database every harness creates.
pub const DATABASE: &str = "keel";

/// Why the harness could not start or control the server.
#[derive(Debug, thiserror::Error)]
pub enum PgHarnessError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "PostgreSQL is not installed (no {PG_ROOT}/*/bin/initdb): run `cargo xtask setup`, \
         which installs the Debian package `postgresql`"
    )]
    NotInstalled,
    /// The tests run as root but there is no `postgres` user to run the server as.
    #[error("running as root and there is no `postgres` user to run PostgreSQL as (install the Debian package `postgresql`: `cargo xtask setup`)")]
    NoPostgresUser,
    /// A file system or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A PostgreSQL tool exited with an error.
    #[error("{what} failed ({status}): {output}")]
    Tool {
        /// The command.
        what: String,
        /// Its exit status.
        status: String,
        /// What it printed.
        output: String,
    },
    /// The server did not come up.
    #[error("PostgreSQL did not start: {reason}; server log:\n{log}")]
    Start {
        /// Why.
        reason: String,
        /// The end of the server's log.
        log: String,
    },
    /// The server did not stop in time.
    #[error("PostgreSQL did not stop: {0}")]
    Stop(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> PgHarnessError {
    let what = what.into();
    move |source| PgHarnessError::Io { what, source }
}

/// A running (or stopped) PostgreSQL server of one test.
#[derive(Debug)]
pub struct PostgresHarness {
    bin: PathBuf,
    dir: Option<tempfile::TempDir>,
    port: u16,
    owner: Option<(u32, u32)>,
    settings: Vec<(String, String)>,
    server: Option<Server>,
}

/// The postmaster this harness spawned.
#[derive(Debug)]
struct Server {
    pid: i32,
    exited: Receiver<io::Result<ExitStatus>>,
}

impl PostgresHarness {
    /// Creates a cluster and starts it with the default settings (fsync on).
    pub fn start() -> Result<PostgresHarness, PgHarnessError> {
        PostgresHarness::start_with(&[])
    }

    /// Creates a cluster and starts it with extra server settings
    /// (`name=value` pairs passed as `-c`, e.g. `("fsync", "off")`).
    pub fn start_with(settings: &[(&str, &str)]) -> Result<PostgresHarness, PgHarnessError> {
        let bin = find_bin()?;
        let owner = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir()
            .map_err(io_err("creating the PostgreSQL directory"))?;
        fs::write(dir.path().join(MARKER), std::process::id().to_string())
            .map_err(io_err("writing the harness marker"))?;
        if let Some((uid, gid)) = owner {
            chown(dir.path(), uid, gid)?;
        }
        let mut h = PostgresHarness {
            bin,
            dir: Some(dir),
            port: 0,
            owner,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            server: None,
        };
        h.initdb()?;
        // A free port can be taken between our probe and the server's bind: retry.
        let mut last = None;
        for _ in 0..5 {
            h.port = free_port()?;
            match h.spawn_server() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        h.create_database(DATABASE)?;
        log::info!(
            "postgres harness: {} on 127.0.0.1:{}",
            h.dir_path().display(),
            h.port
        );
        Ok(h)
    }

    /// `postgres://keel@127.0.0.1:PORT/keel`.
    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    /// The URL of another database on this server.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the cluster (`data/`), the socket and `postgres.log`.
    pub fn dir_path(&self) -> &Path {
        match &self.dir {
            Some(d) => d.path(),
            // Only after stop(), which consumes the harness.
            None => Path::new("/nonexistent"),
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match &self.server {
            None => false,
            Some(s) => match s.exited.try_recv() {
                Err(mpsc::TryRecvError::Empty) => true,
                _ => {
                    self.server = None;
                    false
                }
            },
        }
    }

    /// Creates a database (e.g. one per test on a shared server).
    pub fn create_database(&self, name: &str) -> Result<(), PgHarnessError> {
        let mut cmd = Command::new(self.bin.join("createdb"));
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .arg(name);
        run_tool(&mut cmd, &format!("createdb {name}"))
    }

    /// Runs SQL with `psql` on `database` and returns its unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, PgHarnessError> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args([
                "-d",
                database,
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(io_err("running psql"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(PgHarnessError::Tool {
                what: format!("psql -c {sql:?}"),
                status: out.status.to_string(),
                output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// Crashes the server: SIGKILL to its processes (as a power cut would),
    /// then waits until they are gone. [`PostgresHarness::restart`] recovers it.
    pub fn kill(&mut self) -> Result<(), PgHarnessError> {
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        let children = children_of(server.pid);
        signal(server.pid, libc::SIGKILL);
        for c in &children {
            signal(*c, libc::SIGKILL);
        }
        wait_exit(&server, Duration::from_secs(10))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while children.iter().any(|c| alive(*c)) {
            if Instant::now() > deadline {
                return Err(PgHarnessError::Stop(
                    "server processes still alive 10 s after SIGKILL".into(),
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Starts the server again on the same data and port (after [`kill`](Self::kill)
    /// or [`shutdown`](Self::shutdown)); does nothing when it runs.
    pub fn restart(&mut self) -> Result<(), PgHarnessError> {
        if self.is_running() {
            return Ok(());
        }
        self.spawn_server()
    }

    /// Stops the server (fast shutdown: clients disconnected, data flushed) but
    /// keeps the cluster for [`restart`](Self::restart).
    pub fn shutdown(&mut self) -> Result<(), PgHarnessError> {
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        // SIGINT is `pg_ctl stop -m fast`; SIGQUIT is `-m immediate`.
        signal(server.pid, libc::SIGINT);
        if wait_exit(&server, Duration::from_secs(30)).is_ok() {
            return Ok(());
        }
        log::warn!("postgres harness: fast shutdown timed out, immediate shutdown");
        signal(server.pid, libc::SIGQUIT);
        if wait_exit(&server, Duration::from_secs(10)).is_ok() {
            return Ok(());
        }
        signal(server.pid, libc::SIGKILL);
        wait_exit(&server, Duration::from_secs(10))
    }

    /// Stops the server and removes its directory.
    pub fn stop(mut self) -> Result<(), PgHarnessError> {
        let r = self.shutdown();
        self.remove_dir();
        r
    }

    fn remove_dir(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(e) = dir.close() {
                log::warn!("postgres harness: removing {}: {e}", path.display());
            }
        }
    }

    fn as_owner(&self, cmd: &mut Command) {
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid).env("USER", "postgres");
        }
        cmd.current_dir(self.dir_path());
    }

    fn initdb(&self) -> Result<(), PgHarnessError> {
        let mut cmd = Command::new(self.bin.join("initdb"));
        cmd.arg("-D")
            .arg(self.dir_path().join("data"))
            .args(["-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .arg("--no-instructions");
        self.as_owner(&mut cmd);
        run_tool(&mut cmd, "initdb")
    }

    fn spawn_server(&mut self) -> Result<(), PgHarnessError> {
        let dir = self.dir_path().to_path_buf();
        let log_path = dir.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err("opening the server log"))?;
        let log2 = log.try_clone().map_err(io_err("opening the server log"))?;
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(dir.join("data"))
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("port={}", self.port)])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "max_connections=200"]);
        for (k, v) in &self.settings {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        self.as_owner(&mut cmd);
        // SAFETY: prctl is async-signal-safe; it runs in the child after the
        // uid switch (which would clear the parent-death signal) and before exec.
        unsafe {
            cmd.pre_exec(|| {
                // SIGQUIT: immediate shutdown, the server's children exit with it.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        // The keeper thread owns the child: it lives exactly as long as the server,
        // so the parent-death signal fires when the test process goes away.
        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        thread::Builder::new()
            .name("postgres-keeper".into())
            .spawn(move || match cmd.spawn() {
                Ok(mut child) => {
                    let _ = pid_tx.send(Ok(child.id()));
                    let _ = exit_tx.send(child.wait());
                }
                Err(e) => {
                    let _ = pid_tx.send(Err(e));
                }
            })
            .map_err(io_err("starting the postgres keeper thread"))?;
        let pid = pid_rx
            .recv()
            .map_err(|_| PgHarnessError::Start {
                reason: "the keeper thread died".into(),
                log: String::new(),
            })?
            .map_err(io_err("starting postgres"))?;
        let server = Server {
            pid: i32::try_from(pid).unwrap_or(i32::MAX),
            exited: exit_rx,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match server.exited.try_recv() {
                Ok(status) => {
                    return Err(PgHarnessError::Start {
                        reason: format!("the server exited: {status:?}"),
                        log: tail(&log_path),
                    })
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    return Err(PgHarnessError::Start {
                        reason: "the keeper thread died".into(),
                        log: tail(&log_path),
                    })
                }
                Err(mpsc::TryRecvError::Empty) => {}
            }
            if self.ready() {
                break;
            }
            if Instant::now() > deadline {
                signal(server.pid, libc::SIGQUIT);
                let _ = wait_exit(&server, Duration::from_secs(10));
                return Err(PgHarnessError::Start {
                    reason: format!("not accepting connections after {READY_TIMEOUT:?}"),
                    log: tail(&log_path),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.server = Some(server);
        Ok(())
    }

    fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", USER, "-d", "postgres"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for PostgresHarness {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            log::warn!("postgres harness: {e}");
        }
        self.remove_dir();
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding `initdb` and `postgres`.
fn find_bin() -> Result<PathBuf, PgHarnessError> {
    let Ok(entries) = fs::read_dir(PG_ROOT) else {
        return Err(PgHarnessError::NotInstalled);
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin)
        .ok_or(PgHarnessError::NotInstalled)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of the `postgres` user, from /etc/passwd.
fn postgres_user() -> Result<(u32, u32), PgHarnessError> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("reading /etc/passwd"))?;
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == "postgres")
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
        .ok_or(PgHarnessError::NoPostgresUser)
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), PgHarnessError> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(io_err(format!("giving {} to postgres", path.display())))
}

fn free_port() -> Result<u16, PgHarnessError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free port"))?;
    Ok(l.local_addr()
        .map_err(io_err("finding a free port"))?
        .port())
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<(), PgHarnessError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {what}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(PgHarnessError::Tool {
            what: what.to_string(),
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim()
            .to_string(),
        })
    }
}

fn signal(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: kill has no memory-safety preconditions; pid is a process we spawned.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn wait_exit(server: &Server, timeout: Duration) -> Result<(), PgHarnessError> {
    match server.exited.recv_timeout(timeout) {
        Ok(_) | Err(RecvTimeoutError::Disconnected) => Ok(()),
        Err(RecvTimeoutError::Timeout) => Err(PgHarnessError::Stop(format!(
            "server {} still running after {timeout:?}",
            server.pid
        ))),
    }
}

/// Whether a process exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
    }
}

/// The pids whose parent is `pid` (the server's backends and workers).
fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let (_, rest) = s.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Removes directories of earlier runs whose test process is gone (a harness
/// kept in a static is never dropped; its server died with the process).
fn remove_stale_dirs() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = fs::read_dir(&tmp) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name();
        if !name.to_str().is_some_and(|n| n.starts_with(DIR_PREFIX)) {
            continue;
        }
        let Ok(owner) = fs::read_to_string(e.path().join(MARKER)) else {
            continue;
        };
        let Ok(pid) = owner.trim().parse::<i32>() else {
            continue;
        };
        if pid != std::process::id() as i32 && !alive(pid) && !server_running(&e.path()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Whether the cluster in `dir` has a live postmaster (its `postmaster.pid`).
fn server_running(dir: &Path) -> bool {
    fs::read_to_string(dir.join("data").join("postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse::<i32>().ok())
        .is_some_and(alive)
}
