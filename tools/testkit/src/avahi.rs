//! A private Avahi for mDNS tests, isolated from the machine's network and D-Bus.
//!
//! Owns: [`AvahiHarness`], which for one test creates and later removes
//!
//! 1. a **network namespace** `keel-test-<pid>-<n>` (`ip netns add`), whose
//!    loopback is the only interface in it; the harness turns on `MULTICAST` and `UP`
//!    on that loopback (never on the host's), so mDNS multicast stays inside it;
//! 2. a **private D-Bus "system" bus**: `dbus-daemon --nofork --nopidfile
//!    --config-file <tmp>/dbus.conf`, listening only on `unix:path=<tmp>/bus`. The
//!    config written here has an allow-all policy and **no `<servicedir>`, no
//!    `<standard_system_servicedirs/>`, no `<includedir>`**, so the bus can activate
//!    nothing: a client asking for `org.freedesktop.Avahi` while our avahi-daemon is
//!    down gets `ServiceUnknown`; the system's `org.freedesktop.Avahi.service` file
//!    (which would start avahi-daemon with its default config on all interfaces) is
//!    never read. The machine's own system bus (`/run/dbus/system_bus_socket`) is
//!    never contacted: every process the harness starts, and every command passed
//!    through [`AvahiHarness::run_in_env`], gets `DBUS_SYSTEM_BUS_ADDRESS` pointing to
//!    the private bus (libdbus, avahi-daemon, avahi-client and so zeroconf, dbus-send
//!    and avahi-browse all honour it; the readiness check below proves that
//!    avahi-daemon registered on the private bus);
//! 3. an **avahi-daemon** in the foreground (`-f <tmp>/avahi.conf --no-rlimits
//!    --no-chroot --no-drop-root`, no `--daemonize`) with `allow-interfaces=lo`,
//!    IPv4 only, no wide-area, no reflector, no hinfo/workstation records, host name
//!    `keel-test`. Before exec it joins the namespace (`setns`) and a private mount
//!    namespace with a fresh tmpfs on `/run`, so its pid file and socket
//!    (`/run/avahi-daemon/{pid,socket}`) never collide with another harness (tests
//!    run in parallel) or with an avahi-daemon of the machine.
//!
//! [`AvahiHarness::start`] returns once avahi-daemon reports `AVAHI_SERVER_RUNNING`
//! (state 2 from `org.freedesktop.Avahi.Server.GetState`, asked with `dbus-send` on
//! the private bus). Dropping the harness SIGTERMs and reaps avahi-daemon, then
//! dbus-daemon, deletes the namespace and the temp dir. Both daemons are also
//! started with `PR_SET_PDEATHSIG(SIGTERM)`, so they die if the test process is
//! killed before the harness is dropped. Caveat: the death signal follows the
//! *thread* that started the harness, so keep a harness on the thread (the test)
//! that created it, not in a `static` initialised by a short-lived thread. A
//! namespace left behind by a killed run (`keel-test-<pid>-<n>`, `<pid>` dead) is
//! deleted by the next [`AvahiHarness::start`]; namespaces of live processes and
//! other names are never touched.
//!
//! Must not do: start anything on the host's interfaces or the host's system bus,
//! signal a process it did not spawn, or delete a namespace it did not add. When a
//! tool is missing the harness fails with [`HarnessError::MissingTool`] naming the
//! Debian package and `cargo xtask setup`; tests must propagate that as a failure.
//!
//! Needs root (network and mount namespaces) and these Debian packages:
//! [`APT_PACKAGES`].

use crate::process::{ChildGuard, ProcessError};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The Debian packages the harness needs at run time (the `keel-cluster` build also
/// needs `libavahi-client-dev` and `libclang-dev`).
pub const APT_PACKAGES: &[&str] = &[
    "iproute2",
    "dbus-daemon",
    "dbus-bin",
    "avahi-daemon",
    "avahi-utils",
];

/// The programs the harness runs, each with the Debian package that ships it.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("dbus-daemon", "dbus-daemon"),
    ("dbus-send", "dbus-bin"),
    ("avahi-daemon", "avahi-daemon"),
    ("avahi-browse", "avahi-utils"),
];

/// How long avahi-daemon may take to reach the running state.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the harness could not start or a query through it failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A required program is not installed.
    #[error("`{tool}` is not installed (Debian package `{package}`): run `cargo xtask setup`")]
    MissingTool {
        /// The program looked for on PATH, /usr/sbin and /sbin.
        tool: &'static str,
        /// The Debian package that ships it.
        package: &'static str,
    },
    /// Network namespaces need root (CAP_SYS_ADMIN).
    #[error("the Avahi test harness needs root for network namespaces (running as uid {0})")]
    NotRoot(u32),
    /// The namespace name is not a short `[A-Za-z0-9_-]` word.
    #[error("invalid network namespace name {0:?}")]
    BadNamespaceName(String),
    /// A namespace of that name already exists and was not created by this harness.
    #[error("network namespace {0} already exists; refusing to reuse or delete it")]
    NamespaceExists(String),
    /// A command the harness runs failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line, for the reader.
        command: String,
        /// Exit status and stderr, or the spawn error.
        detail: String,
    },
    /// A file in the harness's temp dir could not be written or opened.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A child process could not be spawned.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A daemon did not become ready in time or exited early.
    #[error("{daemon} did not become ready: {detail}")]
    NotReady {
        /// `dbus-daemon` or `avahi-daemon`.
        daemon: &'static str,
        /// What was seen, including the tail of its log.
        detail: String,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// One resolved service as listed by `avahi-browse -rtp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowseRecord {
    /// Interface name (`lo`).
    pub interface: String,
    /// `IPv4` or `IPv6`.
    pub protocol: String,
    /// Service instance name, unescaped.
    pub name: String,
    /// Service type, e.g. `_keel._udp`.
    pub service_type: String,
    /// Domain, normally `local`.
    pub domain: String,
    /// Host name the service points to.
    pub host: String,
    /// Resolved address as text.
    pub address: String,
    /// Service port.
    pub port: u16,
    /// TXT strings (`key=value`), unquoted and unescaped.
    pub txt: Vec<String>,
}

impl BrowseRecord {
    /// The value of TXT key `key`, if present as `key=value`.
    pub fn txt_value(&self, key: &str) -> Option<&str> {
        self.txt.iter().find_map(|entry| {
            entry
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
        })
    }
}

/// A network namespace this harness added; deleted on drop.
#[derive(Debug)]
struct NetnsGuard {
    ip: PathBuf,
    name: String,
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        match Command::new(&self.ip)
            .args(["netns", "del", &self.name])
            .output()
        {
            Ok(out) if out.status.success() => log::debug!("deleted netns {}", self.name),
            Ok(out) => log::warn!(
                "ip netns del {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => log::warn!("ip netns del {}: {e}", self.name),
        }
    }
}

/// A private D-Bus system bus plus avahi-daemon inside a network namespace of its
/// own; see the module documentation for exactly what it does.
#[derive(Debug)]
pub struct AvahiHarness {
    // Field order is drop order after `Drop::drop` has stopped the daemons.
    avahi: Option<ChildGuard>,
    dbus: Option<ChildGuard>,
    netns_fd: Arc<File>,
    netns: Option<NetnsGuard>,
    bus_address: String,
    avahi_browse: PathBuf,
    dir: tempfile::TempDir,
}

static NEXT_HARNESS: AtomicU32 = AtomicU32::new(0);

impl AvahiHarness {
    /// Starts a harness in a fresh namespace named `keel-test-<pid>-<n>`.
    pub fn start() -> Result<AvahiHarness, HarnessError> {
        let name = format!(
            "keel-test-{}-{}",
            std::process::id(),
            NEXT_HARNESS.fetch_add(1, Ordering::Relaxed)
        );
        let ip = find_tool("ip", "iproute2")?;
        sweep_stale_namespaces(&ip);
        // A namespace with our pid in its name but not created by this process is a
        // leftover of an earlier process that had the same pid and was killed.
        if Path::new("/run/netns").join(&name).exists() {
            log::warn!("removing stale network namespace {name}");
            drop(NetnsGuard {
                ip,
                name: name.clone(),
            });
        }
        Self::start_in_netns(&name)
    }

    /// Starts a harness in a new network namespace `name`, which must not exist yet.
    pub fn start_in_netns(name: &str) -> Result<AvahiHarness, HarnessError> {
        let mut paths = Vec::with_capacity(TOOLS.len());
        for (tool, package) in TOOLS {
            paths.push(find_tool(tool, package)?);
        }
        let [ip, dbus_daemon, dbus_send, avahi_daemon, avahi_browse] =
            <[PathBuf; 5]>::try_from(paths).map_err(|_| HarnessError::NotReady {
                daemon: "harness",
                detail: "tool list length mismatch".into(),
            })?;
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        if uid != 0 {
            return Err(HarnessError::NotRoot(uid));
        }
        if name.is_empty()
            || name.len() > 48
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(HarnessError::BadNamespaceName(name.to_string()));
        }
        if Path::new("/run/netns").join(name).exists() {
            return Err(HarnessError::NamespaceExists(name.to_string()));
        }

        let dir = tempfile::Builder::new()
            .prefix("keel-avahi-")
            .tempdir()
            .map_err(io_err("creating the harness temp dir"))?;

        run(Command::new(&ip).args(["netns", "add", name]))?;
        let netns = NetnsGuard {
            ip: ip.clone(),
            name: name.to_string(),
        };
        run(Command::new(&ip).args(["-n", name, "link", "set", "lo", "multicast", "on"]))?;
        run(Command::new(&ip).args(["-n", name, "link", "set", "lo", "up"]))?;
        let links = run(Command::new(&ip).args(["-n", name, "-o", "link", "show", "lo"]))?;
        if !(links.contains("MULTICAST") && links.contains("UP")) {
            return Err(HarnessError::Command {
                command: format!("ip -n {name} link show lo"),
                detail: format!("lo is not UP and MULTICAST: {links}"),
            });
        }
        let netns_path = Path::new("/run/netns").join(name);
        let netns_fd = Arc::new(
            File::open(&netns_path).map_err(io_err(format!("opening {}", netns_path.display())))?,
        );

        // The private bus.
        let bus_path = dir.path().join("bus");
        let bus_address = format!("unix:path={}", bus_path.display());
        let dbus_conf = dir.path().join("dbus.conf");
        std::fs::write(&dbus_conf, dbus_config(&bus_address))
            .map_err(io_err("writing dbus.conf"))?;
        let mut dbus_cmd = Command::new(&dbus_daemon);
        dbus_cmd
            .arg(format!("--config-file={}", dbus_conf.display()))
            .args(["--nofork", "--nopidfile"]);
        // SAFETY: prctl(2) only, between fork and exec.
        unsafe {
            dbus_cmd.pre_exec(die_with_parent);
        }
        let dbus =
            ChildGuard::spawn_logged("dbus-daemon", &mut dbus_cmd, &dir.path().join("dbus.log"))?;
        let mut harness = AvahiHarness {
            avahi: None,
            dbus: Some(dbus),
            netns_fd,
            netns: Some(netns),
            bus_address,
            avahi_browse,
            dir,
        };
        harness.wait_for_bus(&bus_path)?;

        // avahi-daemon, inside the namespace and a private mount namespace.
        let avahi_conf = harness.dir.path().join("avahi.conf");
        std::fs::write(&avahi_conf, AVAHI_CONFIG).map_err(io_err("writing avahi.conf"))?;
        let mut cmd = Command::new(&avahi_daemon);
        cmd.args(["--no-rlimits", "--no-chroot", "--no-drop-root", "-f"])
            .arg(&avahi_conf);
        harness.env_only(&mut cmd);
        let fd = Arc::clone(&harness.netns_fd);
        let tmpfs = CString::from(c"tmpfs");
        let run_dir = CString::from(c"/run");
        let root = CString::from(c"/");
        let opts = CString::from(c"mode=0755,size=4m");
        // SAFETY: the closure runs between fork and exec and only makes raw
        // syscalls (setns, unshare, mount) on data prepared before the fork; it
        // allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                die_with_parent()?;
                if libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::mount(
                    tmpfs.as_ptr(),
                    run_dir.as_ptr(),
                    tmpfs.as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    opts.as_ptr().cast(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let avahi_log = harness.dir.path().join("avahi.log");
        harness.avahi = Some(ChildGuard::spawn_logged(
            "avahi-daemon",
            &mut cmd,
            &avahi_log,
        )?);
        harness.wait_for_avahi(&dbus_send)?;
        log::info!(
            "avahi harness ready: netns {name}, bus {}, avahi-daemon pid {:?}",
            harness.bus_address,
            harness.avahi_pid()
        );
        Ok(harness)
    }

    /// The private bus's address (`unix:path=<tmp>/bus`), the value given to
    /// `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// The network namespace's name.
    pub fn netns(&self) -> &str {
        self.netns.as_ref().map_or("", |n| n.name.as_str())
    }

    /// The harness's temp dir (bus socket, configs, `dbus.log`, `avahi.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// avahi-daemon's pid, while it runs.
    pub fn avahi_pid(&self) -> Option<u32> {
        self.avahi.as_ref().and_then(ChildGuard::pid)
    }

    /// avahi-daemon's log so far.
    pub fn avahi_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("avahi.log")).unwrap_or_default()
    }

    /// Prepares `cmd` to run in the harness's environment: `DBUS_SYSTEM_BUS_ADDRESS`
    /// set to the private bus, and (just before exec) joined to the harness's network
    /// namespace. Spawn it while the harness is alive.
    pub fn run_in_env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        self.env_only(cmd);
        let fd = Arc::clone(&self.netns_fd);
        // SAFETY: the closure only calls setns(2) on an fd opened before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }

    /// Sets only the bus environment on `cmd` (no namespace): for processes that
    /// talk to Avahi over D-Bus but must stay in the test's own network namespace.
    pub fn env_only<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
    }

    /// Runs `avahi-browse -rtp <service_type>` in the harness's environment and
    /// returns the resolved records (one per interface/protocol/name, in order).
    pub fn avahi_browse(&self, service_type: &str) -> Result<Vec<BrowseRecord>, HarnessError> {
        let mut cmd = Command::new(&self.avahi_browse);
        cmd.args(["-r", "-t", "-p", service_type]);
        let out = run(self.run_in_env(&mut cmd))?;
        let mut records: Vec<BrowseRecord> = Vec::new();
        for line in out.lines() {
            if let Some(record) = parse_browse_line(line) {
                let dup = records.iter().any(|r| {
                    r.interface == record.interface
                        && r.protocol == record.protocol
                        && r.name == record.name
                        && r.service_type == record.service_type
                        && r.domain == record.domain
                });
                if !dup {
                    records.push(record);
                }
            }
        }
        Ok(records)
    }

    fn wait_for_bus(&mut self, bus_path: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !bus_path.exists() {
            if let Some(status) = self.dbus.as_mut().and_then(|d| d.wait_exit(Duration::ZERO)) {
                return Err(HarnessError::NotReady {
                    daemon: "dbus-daemon",
                    detail: format!("exited with {status}: {}", self.log_tail("dbus.log")),
                });
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NotReady {
                    daemon: "dbus-daemon",
                    detail: format!("no socket after 10 s: {}", self.log_tail("dbus.log")),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn wait_for_avahi(&mut self, dbus_send: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last: String;
        loop {
            if let Some(status) = self
                .avahi
                .as_mut()
                .and_then(|a| a.wait_exit(Duration::ZERO))
            {
                return Err(HarnessError::NotReady {
                    daemon: "avahi-daemon",
                    detail: format!("exited with {status}: {}", self.log_tail("avahi.log")),
                });
            }
            let mut cmd = Command::new(dbus_send);
            cmd.args([
                "--system",
                "--print-reply",
                "--reply-timeout=2000",
                "--dest=org.freedesktop.Avahi",
                "/",
                "org.freedesktop.Avahi.Server.GetState",
            ]);
            match run(self.env_only(&mut cmd)) {
                Ok(out) if out.contains("int32 2") => return Ok(()),
                Ok(out) => last = out,
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NotReady {
                    daemon: "avahi-daemon",
                    detail: format!(
                        "not running after {READY_TIMEOUT:?} (last answer: {}): {}",
                        last.trim(),
                        self.log_tail("avahi.log")
                    ),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self, file: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for AvahiHarness {
    fn drop(&mut self) {
        if let Some(mut avahi) = self.avahi.take() {
            avahi.terminate(Duration::from_secs(3));
        }
        if let Some(mut dbus) = self.dbus.take() {
            dbus.terminate(Duration::from_secs(3));
        }
        // NetnsGuard deletes the namespace; TempDir removes the directory.
        self.netns.take();
    }
}

/// Deletes namespaces `keel-test-<pid>-<n>` (the names [`AvahiHarness::start`]
/// gives) whose creating process `<pid>` no longer exists: leftovers of killed
/// test runs. Namespaces of live processes and any other name are left alone.
fn sweep_stale_namespaces(ip: &Path) {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("keel-test-") else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !numeric(pid) || !numeric(n) || Path::new("/proc").join(pid).exists() {
            continue;
        }
        log::warn!("removing network namespace {name} left behind by dead process {pid}");
        drop(NetnsGuard {
            ip: ip.to_path_buf(),
            name,
        });
    }
}

/// `PR_SET_PDEATHSIG(SIGTERM)`: the daemons get SIGTERM if the thread that
/// started the harness dies without dropping it (e.g. the test process is killed),
/// so no avahi-daemon or dbus-daemon outlives a crashed test run.
fn die_with_parent() -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes plain integers.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The D-Bus configuration of the private bus. No servicedir of any kind: nothing
/// can be activated on it.
fn dbus_config(address: &str) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- Keel test harness: a private system-like bus. Deliberately no servicedir,
       standard_system_servicedirs or includedir: no service can be activated. -->
  <type>system</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="signal"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="signal"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
"#
    )
}

/// avahi-daemon's configuration: loopback only (of the harness's namespace), IPv4,
/// nothing wide-area, no reflector, no hinfo/workstation records.
const AVAHI_CONFIG: &str = "\
[server]
host-name=keel-test
allow-interfaces=lo
use-ipv4=yes
use-ipv6=no
enable-dbus=yes
disallow-other-stacks=no
ratelimit-interval-usec=0

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no

[reflector]
enable-reflector=no
";

/// Runs `cmd` to completion; its stdout on success, an error with stderr otherwise.
fn run(cmd: &mut Command) -> Result<String, HarnessError> {
    let describe = |cmd: &Command| {
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|s| s.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = cmd.output().map_err(|e| HarnessError::Command {
        command: describe(cmd),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(HarnessError::Command {
            command: describe(cmd),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

/// Looks for `tool` on PATH, then in /usr/sbin and /sbin (not always on a user's
/// PATH on Debian).
fn find_tool(tool: &'static str, package: &'static str) -> Result<PathBuf, HarnessError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .ok_or(HarnessError::MissingTool { tool, package })
}

/// Parses one `=` line of `avahi-browse -p -r` output; other lines give `None`.
pub fn parse_browse_line(line: &str) -> Option<BrowseRecord> {
    let mut fields = line.splitn(10, ';');
    if fields.next()? != "=" {
        return None;
    }
    let interface = fields.next()?.to_string();
    let protocol = fields.next()?.to_string();
    let name = unescape(fields.next()?);
    let service_type = fields.next()?.to_string();
    let domain = fields.next()?.to_string();
    let host = fields.next()?.to_string();
    let address = fields.next()?.to_string();
    let port = fields.next()?.parse().ok()?;
    let txt = parse_txt_list(fields.next().unwrap_or(""));
    Some(BrowseRecord {
        interface,
        protocol,
        name,
        service_type,
        domain,
        host,
        address,
        port,
        txt,
    })
}

/// Undoes avahi's label escaping: `\DDD` (decimal byte) and `\X` (literal X).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let digits = &bytes[i + 1..bytes.len().min(i + 4)];
            if digits.len() == 3 && digits.iter().all(u8::is_ascii_digit) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
            out.push(bytes[i + 1]);
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits avahi's TXT rendering `"a=b" "c=d"` into unquoted, unescaped strings.
fn parse_txt_list(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut raw = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    raw.push('\\');
                    if let Some(next) = chars.next() {
                        raw.push(next);
                    }
                }
                '"' => break,
                other => raw.push(other),
            }
        }
        out.push(unescape(&raw));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_browse_lines() {
        let line = r#"=;lo;IPv4;keel\032A\0321;_keel._udp;local;keel-test.local;127.0.0.1;7001;"terminal=1" "store=A\"x""#;
        let r = parse_browse_line(line).expect("a record");
        assert_eq!(r.name, "keel A 1");
        assert_eq!(r.port, 7001);
        assert_eq!(r.address, "127.0.0.1");
        assert_eq!(r.txt_value("terminal"), Some("1"));
        assert_eq!(r.txt_value("store"), Some("A\"x"));
        assert!(parse_browse_line("+;lo;IPv4;keel;_keel._udp;local").is_none());
        assert!(parse_browse_line("=;lo;IPv4").is_none());
    }
}
