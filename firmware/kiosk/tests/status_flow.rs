//! The offline indicator end to end: a one-terminal store with a real cluster
//! runtime and cloud uplink (started by `keel_terminal::app::Terminal`, as
//! `keel-kiosk` starts it) syncs with the real `keel-cloud` service (its
//! embedded storage, on loopback), shown through a headless kiosk. The
//! asserts read the status bar's Slint models (`UiState.status`):
//! - while the cloud runs: online, nothing to sync;
//! - the cloud SIGKILLed: offline, and the count to sync grows with each
//!   sale made through the screens' callbacks;
//! - the cloud restarted: online again and the count drains to zero.
//!
//! `keel-cloud` is found beside this test's binary in the target directory:
//! `cargo test --workspace` builds it; run `cargo build -p keel-cloud` before
//! running this test alone. Ports: 30000-30999 (below the ephemeral range).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_core::ids::StoreId;
use keel_kiosk::{DemoCardTerminal, HeadlessKiosk};
use keel_terminal::app::Terminal;
use keel_terminal::cli::ConsoleArgs;
use keel_terminal::provision::{self, OperatorLink, ProvisionPlan, ProvisionRequest};
use keel_terminal::ui_bridge::snapshot::CloudState;
use keel_terminal::ui_bridge::{UiAction, UiBridge};
use keel_testkit::process::ChildGuard;
use keel_ui::generated::{Level, Page, StatusInfo, UiActions, UiState};
use slint::ComponentHandle;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CASHIER: &str = "1111";
const CHOC: &str = "4006381333931";
const PORTS: std::ops::Range<u16> = 30_000..31_000;

/// The `keel-cloud` binary, beside this test's directory in the target dir.
fn cloud_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/status_flow-<hash> -> target/<profile>/keel-cloud
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("keel-cloud");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p keel-cloud`; `cargo test --workspace` does)",
        bin.display()
    );
    bin
}

/// Ports in [`PORTS`] free right now: `udp` for UDP, `tcp` for TCP; the
/// scan starts at an offset of this process so parallel runs rarely meet.
fn free_ports(kinds: &[(bool, bool)], taken: &mut Vec<u16>) -> Vec<u16> {
    let span = PORTS.end - PORTS.start;
    let offset = (std::process::id() % u32::from(span)) as u16;
    let mut out = Vec::new();
    for &(udp, tcp) in kinds {
        let port = (0..span)
            .map(|i| PORTS.start + (offset + i) % span)
            .find(|p| {
                !taken.contains(p)
                    && (!udp || UdpSocket::bind(("127.0.0.1", *p)).is_ok())
                    && (!tcp || TcpListener::bind(("127.0.0.1", *p)).is_ok())
            })
            .expect("a free port in 30000-30999");
        taken.push(port);
        out.push(port);
    }
    out
}

/// The cloud service: its directory and, while it runs, its process.
struct Cloud {
    dir: PathBuf,
    quic: SocketAddr,
    child: Option<ChildGuard>,
}

impl Cloud {
    fn init(root: &Path, quic: SocketAddr, http: SocketAddr) -> Cloud {
        let dir = root.join("cloud");
        let out = Command::new(cloud_bin())
            .arg("init")
            .arg("--dir")
            .arg(&dir)
            .args(["--listen", &quic.to_string(), "--http", &http.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keel-cloud init: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Cloud {
            dir,
            quic,
            child: None,
        }
    }

    /// `keel-cloud serve` on its embedded storage; waits until it listens.
    fn start(&mut self) {
        let mut cmd = Command::new(cloud_bin());
        cmd.arg("serve")
            .arg("--dir")
            .arg(&self.dir)
            .env_remove("KEEL_CLOUD_DATABASE_URL")
            .env("RUST_LOG", "warn");
        let child = ChildGuard::spawn("keel-cloud", &mut cmd).unwrap();
        child
            .wait_line(Duration::from_secs(30), |l| l.contains("listening"))
            .expect("keel-cloud serve did not start");
        self.child = Some(child);
    }

    /// SIGKILL, as a crash or a pulled cable would look to the terminal.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }
}

/// A one-terminal store reporting to `cloud`; returns terminal 1's config.
fn provision_store(root: &Path, cloud: &Cloud, base_port: u16) -> PathBuf {
    let configs = provision::provision(&ProvisionRequest {
        plan: ProvisionPlan {
            store: StoreId("ui-status".into()),
            terminals: 1,
            out: root.join("store"),
            host: std::net::Ipv4Addr::LOCALHOST.into(),
            base_port,
            mdns: false,
            demo_catalog: true,
        },
        operator: Some(OperatorLink {
            cloud_dir: cloud.dir.clone(),
            addr: Some(cloud.quic),
        }),
    })
    .unwrap();
    let config = configs[0].clone();
    // Retry the cloud every half second at most, so the restart is seen quickly.
    let text = std::fs::read_to_string(&config).unwrap();
    let anchor = "ca_cert = \"operator-ca.pem\"\n";
    assert!(text.contains("[cloud]") && text.contains(anchor), "{text}");
    let text = text.replacen(anchor, &format!("{anchor}retry_max_ms = 500\n"), 1);
    std::fs::write(&config, text).unwrap();
    config
}

/// The status bar as the screens have it.
fn status(k: &HeadlessKiosk) -> StatusInfo {
    k.window().global::<UiState<'_>>().get_status()
}

/// The count to sync the status bar shows: the number in its label, zero
/// when it says all is synced (green, no number); `None` when it shows none.
fn pending_shown(s: &StatusInfo) -> Option<u64> {
    let digits: String = s
        .pending
        .label
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    match (digits.parse().ok(), s.pending.level) {
        (Some(n), _) => Some(n),
        (None, Level::Ok) => Some(0),
        (None, _) => None,
    }
}

/// Refreshes the screens from the bridge until `done` holds for the status bar.
fn wait_status(
    k: &mut HeadlessKiosk,
    what: &str,
    timeout: Duration,
    done: impl Fn(&StatusInfo) -> bool,
) -> StatusInfo {
    let deadline = Instant::now() + timeout;
    loop {
        k.send(UiAction::Refresh);
        let s = status(k);
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {timeout:?}; the status bar shows cloud {:?} ({:?}), pending {:?} ({:?}); bridge: {:?}",
            s.cloud.label.as_str(),
            s.cloud.level,
            s.pending.label.as_str(),
            s.pending.level,
            k.snapshot().status
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn online(s: &StatusInfo) -> bool {
    s.cloud.level == Level::Ok && s.cloud.label.as_str() == "Online"
}

fn offline(s: &StatusInfo) -> bool {
    s.cloud.level == Level::Bad && s.cloud.label.as_str() == "Offline"
}

/// Scans CHOC on the manual barcode entry, pays 2.00 cash on the keypad and
/// completes, all through the screens' callbacks.
fn cash_sale(k: &mut HeadlessKiosk) {
    let window = k.window();
    let actions = window.global::<UiActions<'_>>();
    actions.invoke_barcode_entered(CHOC.into());
    k.pump();
    actions.invoke_show_page(Page::Tender);
    for key in ["2", "0", "0"] {
        actions.invoke_keypad(key.into());
    }
    actions.invoke_tender_cash();
    k.pump();
    actions.invoke_complete();
    k.pump();
    let s = k.snapshot();
    assert!(
        s.cart.is_none(),
        "the sale did not complete: {:?}",
        s.message
    );
    assert!(s.receipt.is_some(), "no receipt: {:?}", s.message);
}

#[test]
fn the_status_bar_follows_the_cloud_going_away_and_coming_back() {
    let root = tempfile::tempdir().unwrap();
    let mut taken = Vec::new();
    // Cloud QUIC (UDP) and HTTP (TCP).
    let p = free_ports(&[(true, false), (false, true)], &mut taken);
    let (quic, http) = (
        SocketAddr::from(([127, 0, 0, 1], p[0])),
        SocketAddr::from(([127, 0, 0, 1], p[1])),
    );
    // The terminal's cluster port (UDP) with its health endpoint 101 above (TCP).
    let base = loop {
        let b = free_ports(&[(true, false)], &mut taken)[0];
        if PORTS.contains(&(b + 101)) && TcpListener::bind(("127.0.0.1", b + 101)).is_ok() {
            break b;
        }
    };
    let mut cloud = Cloud::init(root.path(), quic, http);
    cloud.start();
    let config = provision_store(root.path(), &cloud, base);
    let terminal = Terminal::start(&ConsoleArgs {
        config: Some(config),
        ..ConsoleArgs::default()
    })
    .unwrap();
    let bridge = UiBridge::new(terminal.node.clone(), terminal.ui_services());
    let mut k = HeadlessKiosk::new(
        bridge,
        1280,
        800,
        Some(Box::new(DemoCardTerminal::default())),
    )
    .unwrap();
    assert!(k
        .send(UiAction::Login {
            pin: CASHIER.into()
        })
        .user
        .is_some());
    assert!(k
        .send(UiAction::ShiftOpen { float: 100_00 })
        .shift
        .is_some());

    // The cloud runs: online, and everything (catalog, shift) synced.
    wait_status(&mut k, "online and synced", Duration::from_secs(60), |s| {
        online(s) && pending_shown(s) == Some(0)
    });
    assert_eq!(k.snapshot().status.cloud, CloudState::Online);
    assert_eq!(k.snapshot().status.pending_sync, Some(0));
    let frame = k.screens().render().unwrap();
    assert_eq!((frame.width(), frame.height()), (1280, 800));

    // The cloud dies: offline; each sale through the UI adds to the count.
    cloud.kill();
    let s = wait_status(&mut k, "offline", Duration::from_secs(30), offline);
    let mut pending = pending_shown(&s).expect("a count while offline");
    for sale in 1..=3 {
        cash_sale(&mut k);
        k.send(UiAction::Refresh);
        let s = status(&k);
        // Offline, or between two attempts to reach the cloud ("Connecting"):
        // never online while the cloud is down.
        assert!(
            !online(&s) && s.cloud.level != Level::Ok,
            "sale {sale}: {:?}",
            s.cloud.label.as_str()
        );
        let now = pending_shown(&s).expect("a count while offline");
        assert!(
            now > pending,
            "sale {sale}: the count to sync went from {pending} to {now}"
        );
        assert_eq!(s.pending.level, Level::Warn, "sale {sale}");
        assert_eq!(k.snapshot().status.pending_sync, Some(now));
        pending = now;
    }

    // The cloud is back: online, and the backlog drains to zero.
    cloud.start();
    wait_status(&mut k, "online and drained", Duration::from_secs(60), |s| {
        online(s) && pending_shown(s) == Some(0)
    });
    assert_eq!(k.snapshot().status.cloud, CloudState::Online);
    assert_eq!(k.snapshot().status.pending_sync, Some(0));
    drop(k);
    terminal.shutdown();
}
