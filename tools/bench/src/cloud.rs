//! `keel-bench cloud`: the cloud's ingest rate into PostgreSQL and the catch-up
//! time of a 15,000-event backlog, measured end to end through the real
//! `keel-cloud serve` process (QUIC, mutual TLS, PostgreSQL started here).
//!
//! **Ingest.** A load generator simulates many stores: each has an operator-issued
//! store CA and a leader certificate, and journals of three terminals made of
//! real chained records (mostly sales, some kitchen and drawer events). Several
//! connections upload concurrently, batch after batch, each waiting for its
//! ack; the figure is records acknowledged per second of wall time.
//!
//! **Backlog.** One more store with 15,000 records pending (a day offline)
//! reconnects; the leader's real batch builder (default batch size) sends until
//! the cloud holds everything. The figure is seconds from connecting to the
//! last ack.
//!
//! Targets (DESIGN.md): ingest >= 20,000 events/s on one 2-core node; backlog < 5 s.

use keel_cluster::cloud::cloud_client_config;
use keel_cluster::cloud_session::CloudSession;
use keel_cluster::identity::{OperatorCa, TerminalIdentity};
use keel_core::catalog::SoldBy;
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::event::{DrawerReason, Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, ReceiptNo, Sku, StoreId, TerminalId, TicketId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::sale::{Sale, SaleLine};
use keel_core::tax::{TaxLine, TaxMode};
use keel_core::tender::Tender;
use keel_uplink::builder::BatchBuilder;
use keel_uplink::wire::{
    Batch, BatchEntry, CloudMessage, EntryBody, StoreHealth, StoreMessage, DEFAULT_BATCH_BYTES,
};
use keel_uplink::UplinkMarks;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: keel-bench cloud [--stores N] [--events N] [--connections N] [--batch N] [--database-url URL]\n\
  --stores N       simulated stores (default 48)\n\
  --events N       records per store, over 3 terminals (default 2500)\n\
  --connections N  concurrent uploads (default 8)\n\
  --batch N        records per batch (default 1000)\n\
  --database-url   use this PostgreSQL instead of starting one";

const LIMIT: Duration = Duration::from_secs(60);

struct Args {
    stores: usize,
    events: usize,
    connections: usize,
    batch: usize,
    database_url: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        stores: 48,
        events: 2500,
        connections: 8,
        batch: 1000,
        database_url: None,
    };
    let mut it = std::env::args().skip(2);
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        let v = v.ok_or(format!("{flag} needs a number"))?;
        match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag}: {v:?} is not a positive number")),
        }
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--stores" => a.stores = number("--stores", it.next())?,
            "--events" => a.events = number("--events", it.next())?,
            "--connections" => a.connections = number("--connections", it.next())?,
            "--batch" => a.batch = number("--batch", it.next())?,
            "--database-url" => {
                a.database_url = Some(it.next().ok_or("--database-url needs a URL")?)
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(a)
}

fn idr(minor: i64) -> Money {
    Money::new(minor, Currency::IDR)
}

/// A realistic three-line sale in rupiah, 11 % VAT included, paid in cash.
fn sale(receipt: u64) -> Sale {
    let lines: Vec<SaleLine> = (0..3)
        .map(|i| {
            let qty = 1 + (receipt as i64 + i) % 3;
            let price = 12_000 + 3_500 * i;
            SaleLine {
                line_no: i as u32 + 1,
                sku: Sku(format!("SKU-{:03}", (receipt as i64 * 7 + i) % 300)),
                name: format!("Item {}", (receipt as i64 * 7 + i) % 300),
                qty,
                sold_by: SoldBy::Unit,
                unit_price: idr(price),
                list_price: idr(price),
                gross: idr(price * qty),
                discount: idr(0),
                amount: idr(price * qty),
                tax_class: "standard".into(),
                override_reason: None,
                kitchen_station: None,
            }
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.amount.minor).sum();
    let tax = total * 1100 / 11100;
    Sale {
        receipt_no: ReceiptNo(receipt),
        shift_no: 1,
        cashier: UserId("ani".into()),
        voided_lines: 0,
        subtotal: idr(total),
        discount_total: idr(0),
        tax_mode: TaxMode::Inclusive,
        taxes: vec![TaxLine {
            class: "standard".into(),
            label: "PPN 11%".into(),
            rate_bp: 1100,
            net: idr(total - tax),
            tax: idr(tax),
            gross: idr(total),
        }],
        tax_total: idr(tax),
        total: idr(total),
        rounding: idr(0),
        tenders: vec![Tender::Cash {
            amount: idr(total + 5_000),
        }],
        change: idr(5_000),
        tickets: Vec::new(),
        lines,
    }
}

/// Journals of a store's three terminals: `n` records in all, chained.
fn journals(store: &StoreId, n: usize, start_ms: u64) -> BTreeMap<TerminalId, Vec<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for t in 1..=3u32 {
        let origin = TerminalId(t);
        let count = n / 3 + usize::from((t as usize) <= n % 3);
        let mut prev = genesis_hash(store, origin);
        let mut recs = Vec::with_capacity(count);
        let mut receipt = 0;
        for i in 0..count {
            let body = match i % 10 {
                8 => EventBody::KitchenAdvanced {
                    ticket: TicketId {
                        terminal: origin,
                        number: i as u64,
                    },
                    to: keel_core::kitchen::TicketStatus::Preparing,
                    dismissed_recalls: 0,
                    by: UserId("chef".into()),
                },
                9 => EventBody::DrawerOpened {
                    by: UserId("ani".into()),
                    reason: DrawerReason::Sale(ReceiptNo(receipt)),
                },
                _ => {
                    receipt += 1;
                    EventBody::SaleCompleted(sale(receipt))
                }
            };
            let ev = Event {
                dot: Dot {
                    terminal: origin,
                    seq: i as u64 + 1,
                },
                hlc: Hlc {
                    wall_ms: start_ms + i as u64 * 1_000,
                    counter: 0,
                    node: t,
                },
                prev,
                body,
            };
            let bytes = encode_record(&ev);
            prev = ChainHash::of(&bytes);
            recs.push(bytes);
        }
        out.insert(origin, recs);
    }
    out
}

/// One simulated store: its leader's identity and its journals.
struct SimStore {
    store: StoreId,
    leader: TerminalIdentity,
    journals: BTreeMap<TerminalId, Vec<Vec<u8>>>,
}

fn health(pending: u64) -> StoreHealth {
    StoreHealth {
        pending,
        terminals: 3,
        terminals_up: 3,
        disk_free_pct: 80,
        ..StoreHealth::default()
    }
}

async fn open(
    s: &SimStore,
    operator_pem: &str,
    addr: SocketAddr,
) -> Result<(CloudSession, UplinkMarks), String> {
    let config = cloud_client_config(operator_pem, &s.leader).map_err(|e| e.to_string())?;
    let mut session = CloudSession::connect(addr, "cloud.keel", config, LIMIT)
        .await
        .map_err(|e| e.to_string())?;
    let pending = s.journals.values().map(|v| v.len() as u64).sum();
    let hello = StoreMessage::Hello {
        store: s.store.clone(),
        terminal: TerminalId(1),
        firmware: "bench".into(),
        marks: UplinkMarks::default(),
        health: health(pending),
    };
    match session
        .request(&hello, LIMIT)
        .await
        .map_err(|e| e.to_string())?
    {
        CloudMessage::Welcome { marks, .. } => Ok((session, marks)),
        other => Err(format!("{}: hello answered with {other:?}", s.store)),
    }
}

/// Uploads a store's journals in batches of `batch` full records; returns records acked.
async fn upload(
    s: &SimStore,
    operator_pem: &str,
    addr: SocketAddr,
    batch: usize,
) -> Result<u64, String> {
    let (mut session, _) = open(s, operator_pem, addr).await?;
    let mut acked = 0;
    let mut next = BTreeMap::<TerminalId, usize>::new();
    let mut id = 1;
    loop {
        let mut entries = Vec::with_capacity(batch);
        'fill: for (origin, recs) in &s.journals {
            let from = next.entry(*origin).or_insert(0);
            while *from < recs.len() {
                if entries.len() == batch {
                    break 'fill;
                }
                entries.push(BatchEntry {
                    origin: *origin,
                    seq: *from as u64 + 1,
                    body: EntryBody::Full(recs[*from].clone()),
                });
                *from += 1;
            }
        }
        if entries.is_empty() {
            break;
        }
        let n = entries.len() as u64;
        let msg = StoreMessage::Batch(Batch { id, entries });
        match session
            .request(&msg, LIMIT)
            .await
            .map_err(|e| e.to_string())?
        {
            CloudMessage::Ack { accepted, .. } if accepted == n => acked += n,
            other => return Err(format!("{}: batch {id} answered with {other:?}", s.store)),
        }
        id += 1;
    }
    session.close().await;
    Ok(acked)
}

/// Uploads a backlog with the leader's own batch builder; returns the seconds taken.
async fn catch_up(
    s: &SimStore,
    operator_pem: &str,
    addr: SocketAddr,
) -> Result<(f64, u64), String> {
    let started = Instant::now();
    let (mut session, marks) = open(s, operator_pem, addr).await?;
    let heads: BTreeMap<TerminalId, u64> = s
        .journals
        .iter()
        .map(|(o, r)| (*o, r.len() as u64))
        .collect();
    let mut builder = BatchBuilder::new(DEFAULT_BATCH_BYTES, 1, marks);
    let mut batches = 0;
    while let Some(batch) = builder.next(&heads, &s.journals) {
        let id = batch.id;
        match session
            .request(&StoreMessage::Batch(batch), LIMIT)
            .await
            .map_err(|e| e.to_string())?
        {
            CloudMessage::Ack { marks, .. } => builder.acked(id, &marks),
            other => return Err(format!("backlog batch {id} answered with {other:?}")),
        }
        batches += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    if builder.pending(&heads) != 0 {
        return Err(format!(
            "backlog: {} records still pending after the builder stopped",
            builder.pending(&heads)
        ));
    }
    session.close().await;
    Ok((secs, batches))
}

struct Service {
    child: Child,
    _dir: tempfile::TempDir,
    quic: SocketAddr,
    operator_pem: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keel_cloud_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory for the bench binary")?;
    let bin = dir.join("keel-cloud");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: build it first (`cargo build --release -p keel-cloud`; `cargo xtask bench cloud` does)",
            bin.display()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let t = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let p = s.local_addr().map_err(|e| e.to_string())?.port();
    drop(t);
    Ok(p)
}

fn start_service(database_url: &str) -> Result<Service, String> {
    let bin = keel_cloud_binary()?;
    let dir = tempfile::Builder::new()
        .prefix("keel-bench-cloud-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let cloud_dir = dir.path().join("cloud");
    let quic: SocketAddr = format!("127.0.0.1:{}", free_port()?)
        .parse()
        .map_err(|e| format!("{e}"))?;
    let http = format!("127.0.0.1:{}", free_port()?);
    let status = Command::new(&bin)
        .args(["init", "--dir"])
        .arg(&cloud_dir)
        .args(["--listen", &quic.to_string(), "--http", &http])
        .status()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !status.success() {
        return Err(format!("keel-cloud init failed: {status}"));
    }
    let mut child = Command::new(&bin)
        .args(["serve", "--dir"])
        .arg(&cloud_dir)
        .args(["--database-url", database_url])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout from keel-cloud")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next();
    match ready {
        Some(Ok(l)) if l.contains("listening") => {}
        other => {
            let _ = child.kill();
            return Err(format!("keel-cloud did not start: {other:?}"));
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let operator_pem = read(&cloud_dir.join("operator-ca.pem"))?;
    Ok(Service {
        child,
        _dir: dir,
        quic,
        operator_pem,
    })
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn make_stores(
    operator: &OperatorCa,
    prefix: &str,
    n: usize,
    events: usize,
) -> Result<Vec<SimStore>, String> {
    (0..n)
        .map(|i| {
            let store = StoreId(format!("{prefix}-{i:04}"));
            let ca = operator.issue_store_ca(&store).map_err(|e| e.to_string())?;
            let leader = ca
                .issue_terminal(TerminalId(1))
                .map_err(|e| e.to_string())?;
            let journals = journals(&store, events, 1_790_000_000_000 + i as u64);
            Ok(SimStore {
                store,
                leader,
                journals,
            })
        })
        .collect()
}

/// Runs the benchmark.
pub fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(m) => {
            if !m.is_empty() {
                eprintln!("keel-bench cloud: {m}");
            }
            eprintln!("{USAGE}");
            return if m.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keel-bench cloud: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let harness;
    let url = match &args.database_url {
        Some(u) => u.clone(),
        None => {
            harness =
                keel_testkit::postgres::PostgresHarness::start().map_err(|e| e.to_string())?;
            harness.url()
        }
    };
    let service = start_service(&url)?;
    let cloud_dir_operator = OperatorCa::from_pem(
        &service.operator_pem,
        &read(
            &service
                ._dir
                .path()
                .join("cloud")
                .join("operator-ca-key.pem"),
        )?,
    )
    .map_err(|e| e.to_string())?;
    println!(
        "cloud bench: keel-cloud serve on PostgreSQL; {} stores x {} records over {} connections, batches of {}",
        args.stores, args.events, args.connections, args.batch
    );
    let stores = make_stores(&cloud_dir_operator, "bench", args.stores, args.events)?;
    let total: u64 = stores
        .iter()
        .map(|s| s.journals.values().map(|v| v.len() as u64).sum::<u64>())
        .sum();
    let started = Instant::now();
    let mut acked = 0;
    std::thread::scope(|scope| -> Result<(), String> {
        let handles: Vec<_> = (0..args.connections)
            .map(|c| {
                let mine: Vec<&SimStore> =
                    stores.iter().skip(c).step_by(args.connections).collect();
                let pem = service.operator_pem.clone();
                let addr = service.quic;
                let batch = args.batch;
                scope.spawn(move || {
                    smol::block_on(async {
                        let mut n = 0;
                        for s in mine {
                            n += upload(s, &pem, addr, batch).await?;
                        }
                        Ok::<u64, String>(n)
                    })
                })
            })
            .collect();
        for h in handles {
            acked += h
                .join()
                .map_err(|_| "a load thread panicked".to_string())??;
        }
        Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    if acked != total {
        return Err(format!("{acked} of {total} records acknowledged"));
    }
    let rate = total as f64 / secs;
    println!(
        "  ingest: {total} records in {secs:.2} s = {rate:.0} events/s (target >= 20000: ratio {:.2})",
        rate / 20_000.0
    );
    let backlog = make_stores(&cloud_dir_operator, "backlog", 1, 15_000)?;
    let (b_secs, batches) =
        smol::block_on(catch_up(&backlog[0], &service.operator_pem, service.quic))?;
    println!(
        "  backlog: 15000 records in {batches} batches of <= {} KiB acked in {b_secs:.2} s (target < 5 s: ratio {:.2})",
        DEFAULT_BATCH_BYTES / 1024,
        b_secs / 5.0
    );
    println!("BENCH cloud ingest_events_per_s={rate:.0} backlog15k_s={b_secs:.2}");
    Ok(())
}
