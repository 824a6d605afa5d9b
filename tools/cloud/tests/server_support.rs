//! Support for the service tests (included by `server_*.rs` and `cli_*.rs` with
//! `#[path]`): the real `keel-cloud` binary started on loopback (its log kept
//! in a file when a test reads it), a raw QUIC uplink client with a terminal
//! certificate, and real chained journals sold (and customers registered,
//! sealed) through keel-core's engine.

#![allow(dead_code)]

use keel_cloud::http;
use keel_cluster::cloud::cloud_client_config;
use keel_cluster::identity::{OperatorCa, StoreCa, TerminalIdentity};
use keel_core::auth::{Role, User};
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::engine::{AddRequest, Engine};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::pii::{CustomerKey, FreshSecrets, KeyRing};
use keel_core::profile::StoreProfile;
use keel_core::state::TerminalState;
use keel_core::tax::{CashRounding, RoundingMode, TaxConfig, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;
use keel_testkit::process::ChildGuard;
use keel_uplink::wire::{
    frame, frame_len, Batch, BatchEntry, CloudMessage, EntryBody, StoreHealth, StoreMessage,
};
use keel_uplink::UplinkMarks;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keel-cloud"))
}

/// A loopback port free for both UDP and TCP at the time of asking.
pub fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Runs `keel-cloud` with `args` to completion: (success, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running `keel-cloud serve` on the embedded store.
pub struct Cloud {
    pub root: tempfile::TempDir,
    pub dir: PathBuf,
    pub quic: SocketAddr,
    pub http: SocketAddr,
    pub child: ChildGuard,
}

impl Cloud {
    /// `keel-cloud init` then `serve` on the embedded store, waiting for the ready line.
    pub fn start() -> Cloud {
        Cloud::start_on(None)
    }

    /// `keel-cloud init` then `serve` (on PostgreSQL at `database_url` if given).
    pub fn start_on(database_url: Option<&str>) -> Cloud {
        Cloud::start_logged(database_url, None)
    }

    /// Like [`Cloud::start_on`], the service's log (stderr, keel-cloud at debug)
    /// written to `log` when given.
    pub fn start_logged(database_url: Option<&str>, log: Option<&Path>) -> Cloud {
        keel_testkit::logging::init("cloud-test");
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("cloud");
        let quic: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let (ok, out, err) = run(&[
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            &quic.to_string(),
            "--http",
            &http.to_string(),
        ]);
        assert!(ok, "init failed: {out}{err}");
        let child = serve_to(&dir, &[], database_url, log);
        let ready = child
            .wait_line(Duration::from_secs(60), |l| l.contains("listening"))
            .expect("keel-cloud serve prints its ready line");
        let kind = if database_url.is_some() {
            "store=postgresql"
        } else {
            "store=embedded"
        };
        assert!(
            ready.contains(&format!("quic={quic}"))
                && ready.contains(&format!("http={http}"))
                && ready.contains(kind),
            "{ready}"
        );
        Cloud {
            root,
            dir,
            quic,
            http,
            child,
        }
    }

    /// Another `serve` of the same directory on fresh ports (another ingest node of
    /// the same database): its QUIC and HTTP addresses and the process.
    pub fn another_node(&self, database_url: &str) -> (SocketAddr, SocketAddr, ChildGuard) {
        let quic: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = serve(
            &self.dir,
            &["--listen", &quic.to_string(), "--http", &http.to_string()],
            Some(database_url),
        );
        child
            .wait_line(Duration::from_secs(60), |l| l.contains("listening"))
            .expect("the second node prints its ready line");
        (quic, http, child)
    }

    /// The operator CA of this cloud.
    pub fn operator(&self) -> OperatorCa {
        OperatorCa::from_pem(
            &std::fs::read_to_string(self.dir.join("operator-ca.pem")).unwrap(),
            &std::fs::read_to_string(self.dir.join("operator-ca-key.pem")).unwrap(),
        )
        .unwrap()
    }

    /// A GET on the HTTP endpoint: (status, body).
    pub fn get(&self, target: &str) -> (u16, String) {
        http::request(self.http, "GET", target, None, None).unwrap()
    }

    /// The admin token.
    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.join("admin-token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Runs an admin command against this cloud (`--dir` added).
    pub fn admin(&self, args: &[&str]) -> (bool, String, String) {
        let mut all: Vec<&str> = args.to_vec();
        let dir = self.dir.to_str().unwrap().to_string();
        all.insert(1, "--dir");
        all.insert(2, &dir);
        run(&all)
    }
}

/// Starts `keel-cloud serve --dir DIR ARGS`, the database URL (if any) given
/// through `KEEL_CLOUD_DATABASE_URL`.
pub fn serve(dir: &Path, args: &[&str], database_url: Option<&str>) -> ChildGuard {
    serve_to(dir, args, database_url, None)
}

/// [`serve`], its stderr (keel-cloud logging at debug) appended to `log` when given.
pub fn serve_to(
    dir: &Path,
    args: &[&str],
    database_url: Option<&str>,
    log: Option<&Path>,
) -> ChildGuard {
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--dir", dir.to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("KEEL_CLOUD_DATABASE_URL");
    if let Some(path) = log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        cmd.env("RUST_LOG", "info,keel_cloud=debug").stderr(file);
    }
    if let Some(url) = database_url {
        cmd.env("KEEL_CLOUD_DATABASE_URL", url);
    }
    ChildGuard::spawn("keel-cloud", &mut cmd).unwrap()
}

/// A store's CA issued by `op` and the identity of one of its terminals.
pub fn store_terminal(op: &OperatorCa, store: &str, terminal: u32) -> (StoreCa, TerminalIdentity) {
    let ca = op.issue_store_ca(&StoreId(store.into())).unwrap();
    let id = ca.issue_terminal(TerminalId(terminal)).unwrap();
    (ca, id)
}

/// Terminal `terminal` of `store` (certificates issued by `cloud`'s operator
/// CA) connected to `cloud`, its Hello answered with Welcome.
pub fn welcomed(cloud: &Cloud, store: &str, terminal: u32) -> Client {
    let op_pem = std::fs::read_to_string(cloud.dir.join("operator-ca.pem")).unwrap();
    let (_, id) = store_terminal(&cloud.operator(), store, terminal);
    let mut c = Client::connect(cloud.quic, &op_pem, &id).unwrap();
    let answer = c.request(&hello(store, terminal, 0));
    assert!(
        matches!(answer, CloudMessage::Welcome { .. }),
        "{store} T{terminal} not welcomed: {answer:?}"
    );
    c
}

/// A raw uplink connection: one QUIC connection, one bidirectional stream.
pub struct Client {
    endpoint: quinn::Endpoint,
    pub conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
}

/// How reading an answer ended.
#[derive(Debug)]
pub enum Read {
    /// A message.
    Message(CloudMessage),
    /// The stream ended cleanly or the connection closed (with its reason).
    Closed(String),
}

impl Client {
    /// Connects to `cloud` as the terminal `id`, trusting `operator_pem`.
    /// `Err` when the connection cannot be used (refused at the TLS layer).
    pub fn connect(
        cloud: SocketAddr,
        operator_pem: &str,
        id: &TerminalIdentity,
    ) -> Result<Client, String> {
        let config = cloud_client_config(operator_pem, id).map_err(|e| e.to_string())?;
        smol::block_on(async {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let endpoint = quinn::Endpoint::new(
                quinn::EndpointConfig::default(),
                None,
                socket,
                Arc::new(quinn::SmolRuntime),
            )
            .unwrap();
            let conn = endpoint
                .connect_with(config, cloud, "cloud.keel")
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())?;
            let (send, recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
            Ok(Client {
                endpoint,
                conn,
                send,
                recv,
            })
        })
    }

    /// Writes raw bytes on the stream.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        smol::block_on(self.send.write_all(bytes)).map_err(|e| e.to_string())
    }

    /// Reads one answer (10 s at most).
    pub fn read(&mut self) -> Read {
        let recv = &mut self.recv;
        let conn = &self.conn;
        smol::block_on(smol::future::or(
            async {
                let mut prefix = [0u8; 4];
                if let Err(e) = recv.read_exact(&mut prefix).await {
                    let reason = conn
                        .close_reason()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| e.to_string());
                    return Read::Closed(reason);
                }
                let n = frame_len(prefix).unwrap();
                let mut body = vec![0u8; n];
                if let Err(e) = recv.read_exact(&mut body).await {
                    return Read::Closed(e.to_string());
                }
                Read::Message(CloudMessage::decode(&body).unwrap())
            },
            async {
                smol::Timer::after(Duration::from_secs(10)).await;
                Read::Closed("timeout".into())
            },
        ))
    }

    /// Sends a message and reads its answer.
    pub fn request(&mut self, msg: &StoreMessage) -> CloudMessage {
        self.send_raw(&frame(&msg.encode())).unwrap();
        match self.read() {
            Read::Message(m) => m,
            Read::Closed(r) => panic!("no answer to {msg:?}: {r}"),
        }
    }

    /// Waits (5 s at most) for the connection to close; its reason.
    pub fn closed(&self) -> Option<String> {
        let conn = &self.conn;
        smol::block_on(smol::future::or(
            async { Some(conn.closed().await.to_string()) },
            async {
                smol::Timer::after(Duration::from_secs(5)).await;
                None
            },
        ))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.conn.close(0u32.into(), b"bye");
        self.endpoint.close(0u32.into(), b"bye");
    }
}

/// The Hello of terminal `t` of `store`, after `downlink` publications.
pub fn hello(store: &str, t: u32, downlink: u64) -> StoreMessage {
    StoreMessage::Hello {
        store: StoreId(store.into()),
        terminal: TerminalId(t),
        firmware: "test".into(),
        marks: UplinkMarks {
            downlink,
            ..UplinkMarks::default()
        },
        health: StoreHealth {
            terminals: 1,
            terminals_up: 1,
            disk_free_pct: 80,
            ..StoreHealth::default()
        },
    }
}

/// The wall clock now, ms.
pub fn now_ms() -> u64 {
    keel_cloud::now_ms()
}

fn profile(store: &str, terminal: u32) -> StoreProfile {
    let user = |id: &str, role| User {
        id: UserId(id.into()),
        name: id.into(),
        role,
        pin: "1111".into(),
    };
    StoreProfile {
        store: StoreId(store.into()),
        terminal: TerminalId(terminal),
        store_name: "Test".into(),
        address: vec![],
        tax_id: None,
        currency: Currency::EUR,
        tax: TaxConfig {
            mode: TaxMode::Inclusive,
            rates: vec![TaxRate {
                class: "standard".into(),
                rate_bp: 1900,
                label: "A".into(),
            }],
            rounding: RoundingMode::HalfUp,
            scope: TaxRoundingScope::PerReceipt,
        },
        cash_rounding: CashRounding {
            increment: 1,
            mode: RoundingMode::HalfUp,
        },
        card_limits: CardLimits {
            per_transaction: Money::new(100_000, Currency::EUR),
            total_offline: Money::new(1_000_000, Currency::EUR),
        },
        users: vec![user("cashier", Role::Cashier)],
        receipt_footer: None,
    }
}

/// One terminal's journal: records encoded and chained as a terminal's store
/// writes them, decided by keel-core's engine.
pub struct Journal {
    profile: StoreProfile,
    state: TerminalState,
    prev: ChainHash,
    now: u64,
    /// The records, seq 1 first.
    pub records: Vec<Vec<u8>>,
}

impl Journal {
    /// An opened journal with coffee (`COF`, 2.50 EUR) in its catalog and a shift open.
    pub fn new(store: &str, terminal: u32) -> Journal {
        let profile = profile(store, terminal);
        let state = TerminalState::new(profile.store.clone(), profile.terminal, profile.currency);
        let mut j = Journal {
            prev: genesis_hash(&profile.store, profile.terminal),
            profile,
            state,
            now: now_ms() - 60_000,
            records: Vec::new(),
        };
        j.push(EventBody::JournalOpened {
            store: j.profile.store.clone(),
            terminal: j.profile.terminal,
            currency: Currency::EUR,
            firmware: "test".into(),
        });
        j.push(EventBody::CatalogUpserted(CatalogItem {
            sku: Sku("COF".into()),
            barcodes: vec![],
            name: "Coffee".into(),
            category: "drinks".into(),
            price: Money::new(250, Currency::EUR),
            tax_class: "standard".into(),
            sold_by: SoldBy::Unit,
            active: true,
            kitchen_station: None,
        }));
        let c = j.profile.users[0].clone();
        let ev = j.engine().open_shift(Some(&c), "100.00").unwrap();
        j.apply(ev);
        j
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.profile, &self.state)
    }

    fn push(&mut self, body: EventBody) {
        self.now += 1;
        let e = Event {
            dot: Dot {
                terminal: self.profile.terminal,
                seq: self.records.len() as u64 + 1,
            },
            hlc: Hlc {
                wall_ms: self.now,
                counter: 0,
                node: self.profile.terminal.0,
            },
            prev: self.prev,
            body,
        };
        let bytes = encode_record(&e);
        self.prev = ChainHash::of(&bytes);
        self.records.push(bytes);
        self.state.apply(&e);
    }

    fn apply(&mut self, bodies: Vec<EventBody>) {
        for b in bodies {
            self.push(b);
        }
    }

    /// Sells `qty` coffees for cash.
    pub fn sell_coffee(&mut self, qty: u32) {
        let c = self.profile.users[0].clone();
        let ev = self.engine().new_sale(Some(&c)).unwrap();
        self.apply(ev);
        let q = qty.to_string();
        let ev = self
            .engine()
            .add_item(
                Some(&c),
                AddRequest {
                    key: "COF",
                    qty: Some(&q),
                    now_ms: 0,
                },
            )
            .unwrap();
        self.apply(ev);
        let due = self.engine().priced().unwrap().remaining;
        let ev = self
            .engine()
            .tender_cash(Some(&c), &due.amount_text())
            .unwrap();
        self.apply(ev);
        let (ev, _) = self.engine().complete(Some(&c)).unwrap();
        self.apply(ev);
    }

    /// Registers loyalty customer `id` through the engine, sealed under their
    /// key in `keys` (a new one, added to `keys`, when they have none).
    pub fn register_customer(
        &mut self,
        id: &str,
        name: &str,
        phone: Option<&str>,
        keys: &mut KeyRing,
    ) {
        let c = self.profile.users[0].clone();
        let seed = format!("key/{}/{}/{id}", self.profile.store, self.profile.terminal);
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&(self.records.len() as u64 + 1).to_be_bytes());
        let fresh = FreshSecrets {
            key: CustomerKey(ChainHash::of(seed.as_bytes()).0),
            nonce,
        };
        let (body, new_key) = self
            .engine()
            .customer_upsert_sealed(Some(&c), id, phone, name, keys, fresh)
            .unwrap();
        if let Some(k) = new_key {
            keys.add(id, k);
        }
        self.push(body);
    }

    /// Records `from..=to` (1-based) as a batch with id `id`.
    pub fn batch(&self, id: u64, from: u64, to: u64) -> Batch {
        Batch {
            id,
            entries: (from..=to)
                .map(|seq| BatchEntry {
                    origin: self.profile.terminal,
                    seq,
                    body: EntryBody::Full(self.records[seq as usize - 1].clone()),
                })
                .collect(),
        }
    }

    /// How many records.
    pub fn head(&self) -> u64 {
        self.records.len() as u64
    }
}

/// Reads a file of the cloud directory.
pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}
