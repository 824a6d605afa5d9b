//! Keel's benchmarks. `journal` measures durable sale commits through
//! keel-store (redb) against SQLite (WAL, `synchronous=FULL`) doing the same
//! work, in one run, and prints p50/p99/p99.9 latency, throughput and their
//! ratios, ending with one machine-readable line
//! `BENCH journal keel_p99_ms=<f> sqlite_p99_ms=<f> ratio_p99=<f>` whose keel
//! figure is the full terminal commit (the headline).
//!
//! This tool owns only measurement; it must not change what it measures
//! (the store's durability settings are the production ones).
//!
//! # What each side does
//!
//! Every sale is the same completed 5-line cash sale (5 SKUs out of 500, a tax
//! line, a cash tender) on both sides. Only the commit is timed: building the
//! event and folding it (`TerminalState::apply`) happen before the clock starts,
//! as they do in the terminal.
//!
//! **Full terminal commit (the headline).**
//! - keel: exactly what `firmware/terminal/src/node.rs` commits for a sale: the
//!   `SaleCompleted` event plus the derived writes `TerminalState::apply` returns
//!   for it (counters, cart delete, shift totals, stock for each of the 5 SKUs,
//!   the `sale/<receipt>` receipt key) plus the idempotency entry (a random
//!   16-byte command id, like a client UUID -> the reply), as ONE `Journal::commit`
//!   (one redb write transaction, `Durability::Immediate`). A shift is open, and
//!   before every sale an *untimed* `CartEdited{Open}` command is committed the
//!   same way, so the sale really deletes an existing cart, as at the till.
//! - SQLite: ONE transaction doing the equivalent: 1 `sales` row + 5 `sale_lines`
//!   rows (the event, relational), an upsert of the 5 SKUs' quantities in
//!   `stock`, 1 `receipts` row (the receipt index), 1 `idempotency` row (same
//!   random id), and in the `state` key-value table the same counters and shift
//!   blobs keel writes plus the cart delete. The untimed cart-open before every
//!   sale upserts `counters` and `cart` in `state`. Key-value tables are
//!   `WITHOUT ROWID` (one B-tree each), which is the cheapest SQLite layout.
//!
//! **Event only (secondary line).** keel: the `SaleCompleted` event alone in one
//! commit (no derived writes, no idempotency). SQLite: the `sales` row and the 5
//! `sale_lines` rows in one transaction.
//!
//! # Method
//!
//! Four databases (keel full, SQLite full, keel event, SQLite event) are created
//! in the same directory (by default next to this binary, on `target/`'s
//! filesystem, never tmpfs) and warmed up. The measured sales run in blocks
//! (default 10 blocks of 500 per engine); each block runs every engine in turn,
//! the order rotating from block to block, so drift and noise from the machine
//! hit every engine alike. Percentiles use the nearest-rank method over all
//! samples of an engine; sales/s is samples / total timed commit time.

use keel_core::cart::CartEdit;
use keel_core::catalog::SoldBy;
use keel_core::chain::ChainHash;
use keel_core::derived::{DerivedTable, DerivedWrite};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{CommandId, ReceiptNo, Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::sale::{Sale, SaleLine};
use keel_core::state::TerminalState;
use keel_core::tax::{TaxLine, TaxMode};
use keel_core::tender::Tender;
use keel_store::{Batch, Journal, JournalIdentity};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: keel-bench journal [--sales N] [--blocks B] [--dir DIR]\n\
  --sales N   measured sales per engine (default 5000), split into B blocks\n\
  --blocks B  interleaved blocks (default 10); every block runs each engine in turn\n\
  --dir DIR   where the databases go (default: a temp dir next to this binary, i.e. on target/'s filesystem, not tmpfs)";

const LINES: usize = 5;
const SKUS: usize = 500;
const TERMINAL: TerminalId = TerminalId(1);

struct Args {
    sales: usize,
    blocks: usize,
    dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("journal") => {}
        Some("-h") | Some("--help") => return Err(String::new()),
        Some(other) => return Err(format!("unknown benchmark {other:?}")),
        None => return Err("missing benchmark name".into()),
    }
    let mut out = Args {
        sales: 5000,
        blocks: 10,
        dir: None,
    };
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        let v = v.ok_or(format!("{flag} needs a number"))?;
        match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag}: {v:?} is not a positive number")),
        }
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--sales" => out.sales = number("--sales", args.next())?,
            "--blocks" => out.blocks = number("--blocks", args.next())?,
            "--dir" => out.dir = Some(PathBuf::from(args.next().ok_or("--dir needs a directory")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if out.blocks > out.sales {
        return Err("--blocks must not exceed --sales".into());
    }
    Ok(out)
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn cashier() -> UserId {
    UserId("alice".into())
}

/// A completed 5-line sale, as the engine journals it.
fn sale(receipt: u64) -> Sale {
    let lines: Vec<SaleLine> = (0..LINES)
        .map(|i| {
            let qty = 1 + (receipt as i64 + i as i64) % 3;
            let price = 199 + 100 * i as i64;
            SaleLine {
                line_no: i as u32 + 1,
                sku: Sku(format!(
                    "SKU-{:04}",
                    (receipt as usize * 7 + i * 101) % SKUS
                )),
                name: format!("Product number {i}"),
                qty,
                sold_by: SoldBy::Unit,
                unit_price: eur(price),
                list_price: eur(price),
                gross: eur(price * qty),
                discount: eur(0),
                amount: eur(price * qty),
                tax_class: "standard".into(),
                override_reason: None,
                kitchen_station: None,
            }
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.amount.minor).sum();
    let net = total * 10_000 / 11_900;
    Sale {
        receipt_no: ReceiptNo(receipt),
        shift_no: 1,
        cashier: cashier(),
        lines,
        voided_lines: 0,
        subtotal: eur(total),
        discount_total: eur(0),
        tax_mode: TaxMode::Inclusive,
        taxes: vec![TaxLine {
            class: "standard".into(),
            label: "A".into(),
            rate_bp: 1900,
            net: eur(net),
            tax: eur(total - net),
            gross: eur(total),
        }],
        tax_total: eur(total - net),
        total: eur(total),
        rounding: eur(0),
        tenders: vec![Tender::Cash {
            amount: eur(total + 500),
        }],
        change: eur(500),
        tickets: vec![],
    }
}

/// A random-looking 16-byte command id (splitmix64), like a client's UUIDv4.
fn command_id(receipt: u64) -> CommandId {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&mix(receipt).to_le_bytes());
    id[8..].copy_from_slice(&mix(receipt ^ 0x5555_5555_5555_5555).to_le_bytes());
    CommandId(id)
}

fn reply(receipt: u64) -> Vec<u8> {
    format!("receipt {receipt}").into_bytes()
}

/// The fold a terminal keeps, producing derived writes the way `node.rs` does:
/// stamp the events, `TerminalState::apply` each provisional event.
struct Fold {
    state: TerminalState,
    hlc: Hlc,
    now_ms: u64,
}

impl Fold {
    fn new() -> Fold {
        Fold {
            state: TerminalState::new(StoreId("bench-store".into()), TERMINAL, Currency::EUR),
            hlc: Hlc::default(),
            now_ms: 1_700_000_000_000,
        }
    }

    /// Stamps `body` as record `seq` and folds it: the (hlc, body) to commit and its derived writes.
    fn apply(&mut self, seq: u64, body: EventBody) -> ((Hlc, EventBody), Vec<DerivedWrite>) {
        self.now_ms += 1;
        self.hlc = self
            .hlc
            .max(self.state.counters.last_hlc)
            .tick(self.now_ms, TERMINAL);
        let provisional = Event {
            dot: keel_core::ids::Dot {
                terminal: TERMINAL,
                seq,
            },
            hlc: self.hlc,
            prev: ChainHash::default(),
            body,
        };
        let derived = self.state.apply(&provisional);
        ((self.hlc, provisional.body), derived)
    }
}

/// One engine under test: untimed setup before each sale, then the timed commit.
trait Engine {
    fn name(&self) -> &'static str;
    /// Untimed work before sale `receipt` (the cart-open command of the full commit).
    fn before_sale(&mut self, receipt: u64) -> Result<(), String>;
    /// Commits sale `receipt` durably; returns the time the commit took.
    fn commit_sale(&mut self, receipt: u64) -> Result<Duration, String>;
    /// Checks the database after the run (`sales` sales committed).
    fn check(&mut self, sales: u64) -> Result<(), String>;
}

struct KeelEngine {
    journal: Journal,
    fold: Fold,
    full: bool,
    first_seq: u64,
}

impl KeelEngine {
    fn open(path: &Path, full: bool) -> Result<KeelEngine, String> {
        let identity = JournalIdentity {
            store: StoreId("bench-store".into()),
            terminal: TERMINAL,
            currency: Currency::EUR,
            firmware: "bench".into(),
        };
        let journal = Journal::open(
            path,
            &identity,
            Hlc {
                wall_ms: 1,
                counter: 0,
                node: 1,
            },
        )
        .map_err(|e| e.to_string())?;
        let mut engine = KeelEngine {
            journal,
            fold: Fold::new(),
            full,
            first_seq: 0,
        };
        if full {
            engine.command(
                EventBody::ShiftOpened {
                    shift_no: 1,
                    by: cashier(),
                    float: eur(10_000),
                },
                None,
            )?;
        }
        engine.first_seq = engine.journal.last_seq();
        Ok(engine)
    }

    /// Builds the batch of one command as `node.rs` does.
    fn batch(&mut self, body: EventBody, idempotency: Option<(CommandId, Vec<u8>)>) -> Batch {
        let seq = self.journal.last_seq() + 1;
        let (event, derived) = self.fold.apply(seq, body);
        Batch {
            events: vec![event],
            derived,
            idempotency,
        }
    }

    fn command(
        &mut self,
        body: EventBody,
        idempotency: Option<(CommandId, Vec<u8>)>,
    ) -> Result<(), String> {
        let batch = self.batch(body, idempotency);
        self.journal
            .commit(batch)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Engine for KeelEngine {
    fn name(&self) -> &'static str {
        if self.full {
            "keel full"
        } else {
            "keel event"
        }
    }

    fn before_sale(&mut self, _receipt: u64) -> Result<(), String> {
        if self.full {
            self.command(
                EventBody::CartEdited {
                    by: cashier(),
                    edit: CartEdit::Open,
                },
                None,
            )?;
        }
        Ok(())
    }

    fn commit_sale(&mut self, receipt: u64) -> Result<Duration, String> {
        let body = EventBody::SaleCompleted(sale(receipt));
        let batch = if self.full {
            self.batch(body, Some((command_id(receipt), reply(receipt))))
        } else {
            let seq = self.journal.last_seq() + 1;
            let ((hlc, body), _) = self.fold.apply(seq, body);
            Batch {
                events: vec![(hlc, body)],
                derived: Vec::new(),
                idempotency: None,
            }
        };
        let start = Instant::now();
        self.journal.commit(batch).map_err(|e| e.to_string())?;
        Ok(start.elapsed())
    }

    fn check(&mut self, sales: u64) -> Result<(), String> {
        let summary = self.journal.verify().map_err(|e| e.to_string())?;
        let per_sale = if self.full { 2 } else { 1 };
        let expected = self.first_seq + sales * per_sale;
        if summary.records != expected {
            return Err(format!(
                "{}: journal has {} records, expected {expected}",
                self.name(),
                summary.records
            ));
        }
        if self.full {
            let receipts = self
                .journal
                .derived_scan(DerivedTable::Receipts)
                .map_err(|e| e.to_string())?;
            let last = receipts
                .iter()
                .filter_map(|(_, v)| TerminalState::decode_seq(v))
                .max();
            if receipts.len() as u64 != sales || last != Some(expected) {
                return Err(format!("{}: {} receipts indexed, the last at seq {last:?}; expected {sales}, the last at {expected}", self.name(), receipts.len()));
            }
            if self
                .journal
                .idempotent_reply(&command_id(sales))
                .map_err(|e| e.to_string())?
                != Some(reply(sales))
            {
                return Err(format!(
                    "{}: idempotent reply of receipt {sales} missing",
                    self.name()
                ));
            }
        }
        Ok(())
    }
}

struct SqliteEngine {
    conn: Connection,
    fold: Fold,
    full: bool,
}

const SQLITE_SCHEMA: &str = "
    CREATE TABLE sales (id INTEGER PRIMARY KEY, receipt_no INTEGER NOT NULL, shift_no INTEGER NOT NULL, cashier TEXT NOT NULL,
                        subtotal INTEGER NOT NULL, tax_total INTEGER NOT NULL, total INTEGER NOT NULL, currency TEXT NOT NULL,
                        tendered INTEGER NOT NULL, change INTEGER NOT NULL, hlc_ms INTEGER NOT NULL);
    CREATE TABLE sale_lines (sale_id INTEGER NOT NULL, line_no INTEGER NOT NULL, sku TEXT NOT NULL, name TEXT NOT NULL,
                             qty INTEGER NOT NULL, unit_price INTEGER NOT NULL, amount INTEGER NOT NULL, tax_class TEXT NOT NULL,
                             PRIMARY KEY (sale_id, line_no));
    CREATE TABLE stock (sku TEXT PRIMARY KEY, qty INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE receipts (key TEXT PRIMARY KEY, sale_id INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE idempotency (id BLOB PRIMARY KEY, reply BLOB NOT NULL) WITHOUT ROWID;";

impl SqliteEngine {
    fn open(path: &Path, full: bool) -> Result<SqliteEngine, String> {
        let e = |e: rusqlite::Error| e.to_string();
        let conn = Connection::open(path).map_err(e)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(e)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("SQLite refused WAL (journal_mode={mode})"));
        }
        conn.execute_batch("PRAGMA synchronous=FULL;").map_err(e)?;
        conn.execute_batch(SQLITE_SCHEMA).map_err(e)?;
        let mut engine = SqliteEngine {
            conn,
            fold: Fold::new(),
            full,
        };
        if full {
            let (_, derived) = engine.fold.apply(
                1,
                EventBody::ShiftOpened {
                    shift_no: 1,
                    by: cashier(),
                    float: eur(10_000),
                },
            );
            let tx = engine.conn.transaction().map_err(e)?;
            apply_sqlite(&tx, &derived, 0).map_err(e)?;
            tx.commit().map_err(e)?;
        }
        Ok(engine)
    }
}

/// Writes keel's derived writes into the equivalent SQLite tables.
fn apply_sqlite(
    tx: &rusqlite::Transaction<'_>,
    writes: &[DerivedWrite],
    sale_id: i64,
) -> rusqlite::Result<()> {
    for w in writes {
        match (w.table, &w.value) {
            (DerivedTable::Stock, Some(v)) => {
                let qty: i64 = postcard::from_bytes(v).unwrap_or_default();
                tx.prepare_cached("INSERT INTO stock (sku, qty) VALUES (?1, ?2) ON CONFLICT (sku) DO UPDATE SET qty = excluded.qty")?
                    .execute(params![w.key, qty])?;
            }
            (DerivedTable::Stock, None) => {
                tx.prepare_cached("DELETE FROM stock WHERE sku = ?1")?
                    .execute(params![w.key])?;
            }
            (DerivedTable::Receipts, Some(_)) => {
                tx.prepare_cached("INSERT INTO receipts (key, sale_id) VALUES (?1, ?2)")?
                    .execute(params![w.key, sale_id])?;
            }
            (DerivedTable::Receipts, None) => {
                tx.prepare_cached("DELETE FROM receipts WHERE key = ?1")?
                    .execute(params![w.key])?;
            }
            (table, Some(v)) => {
                tx.prepare_cached("INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
                    .execute(params![format!("{}/{}", table.name(), w.key), v])?;
            }
            (table, None) => {
                tx.prepare_cached("DELETE FROM state WHERE key = ?1")?
                    .execute(params![format!("{}/{}", table.name(), w.key)])?;
            }
        }
    }
    Ok(())
}

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        if self.full {
            "sqlite full"
        } else {
            "sqlite event"
        }
    }

    fn before_sale(&mut self, _receipt: u64) -> Result<(), String> {
        if self.full {
            let e = |e: rusqlite::Error| e.to_string();
            let (_, derived) = self.fold.apply(
                0,
                EventBody::CartEdited {
                    by: cashier(),
                    edit: CartEdit::Open,
                },
            );
            let tx = self.conn.transaction().map_err(e)?;
            apply_sqlite(&tx, &derived, 0).map_err(e)?;
            tx.commit().map_err(e)?;
        }
        Ok(())
    }

    fn commit_sale(&mut self, receipt: u64) -> Result<Duration, String> {
        let e = |e: rusqlite::Error| e.to_string();
        let s = sale(receipt);
        let ((hlc, body), derived) = self.fold.apply(0, EventBody::SaleCompleted(s.clone()));
        drop(body);
        let id = command_id(receipt);
        let start = Instant::now();
        let tx = self.conn.transaction().map_err(e)?;
        {
            tx.prepare_cached(
                "INSERT INTO sales (receipt_no, shift_no, cashier, subtotal, tax_total, total, currency, tendered, change, hlc_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(e)?
            .execute(params![
                s.receipt_no.0 as i64,
                s.shift_no as i64,
                s.cashier.0,
                s.subtotal.minor,
                s.tax_total.minor,
                s.total.minor,
                s.total.currency.code(),
                s.tenders[0].amount().minor,
                s.change.minor,
                hlc.wall_ms as i64
            ])
            .map_err(e)?;
            let sale_id = tx.last_insert_rowid();
            let mut ins_line = tx
                .prepare_cached("INSERT INTO sale_lines (sale_id, line_no, sku, name, qty, unit_price, amount, tax_class) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .map_err(e)?;
            for l in &s.lines {
                ins_line
                    .execute(params![
                        sale_id,
                        l.line_no,
                        l.sku.0,
                        l.name,
                        l.qty,
                        l.unit_price.minor,
                        l.amount.minor,
                        l.tax_class
                    ])
                    .map_err(e)?;
            }
            if self.full {
                apply_sqlite(&tx, &derived, sale_id).map_err(e)?;
                tx.prepare_cached("INSERT INTO idempotency (id, reply) VALUES (?1, ?2)")
                    .map_err(e)?
                    .execute(params![&id.0[..], reply(receipt)])
                    .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        Ok(start.elapsed())
    }

    fn check(&mut self, sales: u64) -> Result<(), String> {
        let e = |e: rusqlite::Error| e.to_string();
        let count = |sql: &str| -> Result<i64, String> {
            self.conn.query_row(sql, [], |r| r.get(0)).map_err(e)
        };
        let lines = count("SELECT count(*) FROM sale_lines")?;
        if lines != (sales as usize * LINES) as i64 {
            return Err(format!(
                "{}: {lines} sale lines after {sales} sales",
                self.name()
            ));
        }
        if self.full {
            let (receipts, ids) = (
                count("SELECT count(*) FROM receipts")?,
                count("SELECT count(*) FROM idempotency")?,
            );
            let cart = count("SELECT count(*) FROM state WHERE key = 'cart/open'")?;
            if receipts != sales as i64 || ids != sales as i64 || cart != 0 {
                return Err(format!("{}: {receipts} receipts, {ids} idempotency rows, {cart} carts after {sales} sales", self.name()));
            }
        }
        Ok(())
    }
}

struct Stats {
    n: usize,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    per_s: f64,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut sorted = samples.to_vec();
    let total: Duration = sorted.iter().sum();
    sorted.sort();
    let n = sorted.len();
    let at = |q: f64| {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        sorted[rank - 1].as_secs_f64() * 1_000.0
    };
    Stats {
        n,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        p999_ms: at(0.999),
        per_s: n as f64 / total.as_secs_f64(),
    }
}

fn default_dir() -> Result<tempfile::TempDir, String> {
    // Next to the binary (target/<profile>/): the same filesystem as target/, never tmpfs.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let base = exe.parent().ok_or("binary has no directory")?;
    tempfile::Builder::new()
        .prefix("keel-bench-")
        .tempdir_in(base)
        .map_err(|e| format!("cannot create a temp dir in {}: {e}", base.display()))
}

/// Warm-up, then `blocks` rounds in which every engine commits its share of the
/// sales, the engine order rotating by one each round. Returns each engine's
/// samples and the per-block p50 of each engine.
/// Per engine: every sample, and the p50 (ms) of each block.
type Runs = (Vec<Vec<Duration>>, Vec<Vec<f64>>);

fn run(
    engines: &mut [Box<dyn Engine>],
    warmup: usize,
    sales: usize,
    blocks: usize,
) -> Result<Runs, String> {
    let mut receipt = vec![0u64; engines.len()];
    let sale = |engine: &mut Box<dyn Engine>, receipt: &mut u64| -> Result<Duration, String> {
        *receipt += 1;
        engine.before_sale(*receipt)?;
        engine.commit_sale(*receipt)
    };
    for (i, engine) in engines.iter_mut().enumerate() {
        for _ in 0..warmup {
            sale(engine, &mut receipt[i])?;
        }
    }
    let mut samples: Vec<Vec<Duration>> =
        engines.iter().map(|_| Vec::with_capacity(sales)).collect();
    let mut block_p50: Vec<Vec<f64>> = engines.iter().map(|_| Vec::with_capacity(blocks)).collect();
    for b in 0..blocks {
        let size = sales / blocks + usize::from(b < sales % blocks);
        for k in 0..engines.len() {
            let i = (b + k) % engines.len();
            let mut block = Vec::with_capacity(size);
            for _ in 0..size {
                block.push(sale(&mut engines[i], &mut receipt[i])?);
            }
            block_p50[i].push(stats(&block).p50_ms);
            samples[i].extend(block);
        }
    }
    for (i, engine) in engines.iter_mut().enumerate() {
        engine.check(receipt[i])?;
    }
    Ok((samples, block_p50))
}

mod cloud;
mod cluster;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("cluster") {
        return cluster::main();
    }
    if std::env::args().nth(1).as_deref() == Some("cloud") {
        return cloud::main();
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("keel-bench: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let temp = match &args.dir {
        Some(d) => match std::fs::create_dir_all(d)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                tempfile::Builder::new()
                    .prefix("keel-bench-")
                    .tempdir_in(d)
                    .map_err(|e| format!("cannot create a temp dir in {}: {e}", d.display()))
            }) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("keel-bench: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => match default_dir() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("keel-bench: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let dir = temp.path().to_path_buf();
    let warmup = (args.sales / 10).clamp(1, 500);
    println!(
        "journal bench: {} measured sales per engine ({} warm-up) of {LINES} lines each, durable commits, {} interleaved blocks, in {}",
        args.sales,
        warmup,
        args.blocks,
        dir.display()
    );
    println!("  keel full:    keel-store/redb, Durability::Immediate: SaleCompleted + its TerminalState::apply derived writes (counters, cart, shift, stock x{LINES}, receipt) + idempotency entry, one commit");
    println!("  sqlite full:  rusqlite (bundled), WAL, synchronous=FULL: sale row + {LINES} line rows + stock upsert x{LINES} + receipt row + counters/shift upsert + cart delete + idempotency row, one transaction");
    println!("  keel event:   the SaleCompleted event alone, one commit;  sqlite event: sale row + {LINES} line rows, one transaction");
    let opened: Result<Vec<Box<dyn Engine>>, String> = (|| {
        Ok(vec![
            Box::new(KeelEngine::open(&dir.join("keel-full.redb"), true)?) as Box<dyn Engine>,
            Box::new(SqliteEngine::open(&dir.join("sqlite-full.db"), true)?),
            Box::new(KeelEngine::open(&dir.join("keel-event.redb"), false)?),
            Box::new(SqliteEngine::open(&dir.join("sqlite-event.db"), false)?),
        ])
    })();
    let mut engines = match opened {
        Ok(e) => e,
        Err(e) => {
            eprintln!("keel-bench: opening the databases failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (samples, block_p50) = match run(&mut engines, warmup, args.sales, args.blocks) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keel-bench: run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let s: Vec<Stats> = samples.iter().map(|x| stats(x)).collect();
    for (engine, st) in engines.iter().zip(&s) {
        println!(
            "  {:<12}  n {}  p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  {:.0} sales/s",
            engine.name(),
            st.n,
            st.p50_ms,
            st.p99_ms,
            st.p999_ms,
            st.per_s
        );
    }
    let ratios = |label: &str, k: &Stats, q: &Stats, kb: &[f64], qb: &[f64]| {
        let per_block: Vec<f64> = kb.iter().zip(qb).map(|(a, b)| a / b).collect();
        let lo = per_block.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = per_block.iter().cloned().fold(0.0, f64::max);
        println!(
            "  {label} keel/sqlite: p50 {:.3}  p99 {:.3}  p99.9 {:.3}  throughput {:.3}  (per-block p50 ratio {:.3}..{:.3})",
            k.p50_ms / q.p50_ms,
            k.p99_ms / q.p99_ms,
            k.p999_ms / q.p999_ms,
            k.per_s / q.per_s,
            lo,
            hi
        );
    };
    ratios("full ", &s[0], &s[1], &block_p50[0], &block_p50[1]);
    ratios("event", &s[2], &s[3], &block_p50[2], &block_p50[3]);
    println!(
        "BENCH journal keel_p99_ms={:.3} sqlite_p99_ms={:.3} ratio_p99={:.3}",
        s[0].p99_ms,
        s[1].p99_ms,
        s[0].p99_ms / s[1].p99_ms
    );
    ExitCode::SUCCESS
}
