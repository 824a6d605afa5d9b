//! Keel's benchmarks. `journal` measures durable sale commits through
//! keel-store (redb) and the same work in SQLite (WAL, synchronous=FULL) in
//! one run, and prints p50/p99 latency, throughput and their ratios, ending
//! with one machine-readable `BENCH journal ...` line.
//!
//! This tool owns only measurement; it must not change what it measures
//! (the store's durability settings are the production ones).

use keel_core::catalog::SoldBy;
use keel_core::derived::{DerivedTable, DerivedWrite};
use keel_core::event::EventBody;
use keel_core::hlc::Hlc;
use keel_core::ids::{CommandId, ReceiptNo, Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::sale::{Sale, SaleLine};
use keel_core::tax::{TaxLine, TaxMode};
use keel_core::tender::Tender;
use keel_store::{Batch, Journal, JournalIdentity};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: keel-bench journal [--sales N] [--dir DIR]\n\
  --sales N  measured sales per engine (default 2000; a warm-up of N/10, at most 200, comes first)\n\
  --dir DIR  where the databases go (default: a temp dir next to this binary, i.e. on target/'s filesystem, not tmpfs)";

const LINES: usize = 5;

struct Args {
    sales: usize,
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
    let mut out = Args { sales: 2000, dir: None };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--sales" => {
                let v = args.next().ok_or("--sales needs a number")?;
                out.sales = v.parse().map_err(|_| format!("--sales: {v:?} is not a number"))?;
                if out.sales == 0 {
                    return Err("--sales must be at least 1".into());
                }
            }
            "--dir" => out.dir = Some(PathBuf::from(args.next().ok_or("--dir needs a directory")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(out)
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

/// A completed 5-line sale, as the engine journals it.
fn sale(receipt: u64) -> Sale {
    let lines: Vec<SaleLine> = (0..LINES)
        .map(|i| {
            let qty = 1 + (receipt as i64 + i as i64) % 3;
            let price = 199 + 100 * i as i64;
            SaleLine {
                line_no: i as u32 + 1,
                sku: Sku(format!("SKU-{:04}", (receipt as usize * 7 + i) % 500)),
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
        cashier: UserId("alice".into()),
        lines,
        voided_lines: 0,
        subtotal: eur(total),
        discount_total: eur(0),
        tax_mode: TaxMode::Inclusive,
        taxes: vec![TaxLine { class: "standard".into(), label: "A".into(), rate_bp: 1900, net: eur(net), tax: eur(total - net), gross: eur(total) }],
        tax_total: eur(total - net),
        total: eur(total),
        rounding: eur(0),
        tenders: vec![Tender::Cash { amount: eur(total + 500) }],
        change: eur(500),
        tickets: vec![],
    }
}

/// The whole commit of a sale: the event, its derived writes (receipt index,
/// stock per line, counters) and the idempotent reply.
fn keel_batch(journal: &Journal, receipt: u64, wall_ms: u64) -> Batch {
    let s = sale(receipt);
    let seq = journal.last_seq() + 1;
    let mut derived = vec![DerivedWrite { table: DerivedTable::Receipts, key: receipt.to_string(), value: Some(seq.to_le_bytes().to_vec()) }];
    for line in &s.lines {
        derived.push(DerivedWrite { table: DerivedTable::Stock, key: line.sku.0.clone(), value: Some((1_000 - receipt as i64).to_le_bytes().to_vec()) });
    }
    derived.push(DerivedWrite { table: DerivedTable::Counters, key: "next_receipt".into(), value: Some((receipt + 1).to_le_bytes().to_vec()) });
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&receipt.to_be_bytes());
    Batch {
        events: vec![(Hlc { wall_ms, counter: 0, node: 1 }, EventBody::SaleCompleted(s))],
        derived,
        idempotency: Some((CommandId(id), format!("receipt {receipt}").into_bytes())),
    }
}

fn run_keel(dir: &Path, warmup: usize, sales: usize, full: bool) -> Result<Vec<Duration>, String> {
    let identity = JournalIdentity { store: StoreId("bench-store".into()), terminal: TerminalId(1), currency: Currency::EUR, firmware: "bench".into() };
    let name = if full { "keel-full.redb" } else { "keel-sale.redb" };
    let mut journal = Journal::open(&dir.join(name), &identity, Hlc { wall_ms: 1, counter: 0, node: 1 }).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(sales);
    for i in 0..warmup + sales {
        let receipt = i as u64 + 1;
        let mut batch = keel_batch(&journal, receipt, 1_000 + receipt);
        if !full {
            batch.derived.clear();
            batch.idempotency = None;
        }
        let start = Instant::now();
        journal.commit(batch).map_err(|e| e.to_string())?;
        let took = start.elapsed();
        if i >= warmup {
            out.push(took);
        }
    }
    let summary = journal.verify().map_err(|e| e.to_string())?;
    if summary.records != (warmup + sales) as u64 + 1 {
        return Err(format!("journal has {} records after the run", summary.records));
    }
    Ok(out)
}

fn run_sqlite(dir: &Path, warmup: usize, sales: usize) -> Result<Vec<Duration>, String> {
    let e = |e: rusqlite::Error| e.to_string();
    let mut conn = Connection::open(dir.join("sqlite.db")).map_err(e)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(e)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("SQLite refused WAL (journal_mode={mode})"));
    }
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         CREATE TABLE sales (id INTEGER PRIMARY KEY, receipt_no INTEGER NOT NULL, shift_no INTEGER NOT NULL, cashier TEXT NOT NULL,
                             subtotal INTEGER NOT NULL, tax_total INTEGER NOT NULL, total INTEGER NOT NULL, currency TEXT NOT NULL,
                             tendered INTEGER NOT NULL, change INTEGER NOT NULL, hlc_ms INTEGER NOT NULL);
         CREATE INDEX sales_receipt ON sales (receipt_no);
         CREATE TABLE sale_lines (sale_id INTEGER NOT NULL, line_no INTEGER NOT NULL, sku TEXT NOT NULL, name TEXT NOT NULL,
                                  qty INTEGER NOT NULL, unit_price INTEGER NOT NULL, amount INTEGER NOT NULL, tax_class TEXT NOT NULL,
                                  PRIMARY KEY (sale_id, line_no));",
    )
    .map_err(e)?;
    let mut out = Vec::with_capacity(sales);
    for i in 0..warmup + sales {
        let receipt = i as u64 + 1;
        let s = sale(receipt);
        let start = Instant::now();
        let tx = conn.transaction().map_err(e)?;
        {
            let mut ins_sale = tx
                .prepare_cached("INSERT INTO sales (receipt_no, shift_no, cashier, subtotal, tax_total, total, currency, tendered, change, hlc_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
                .map_err(e)?;
            ins_sale
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
                    1_000 + receipt as i64
                ])
                .map_err(e)?;
            let sale_id = tx.last_insert_rowid();
            let mut ins_line = tx
                .prepare_cached("INSERT INTO sale_lines (sale_id, line_no, sku, name, qty, unit_price, amount, tax_class) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                .map_err(e)?;
            for l in &s.lines {
                ins_line.execute(params![sale_id, l.line_no, l.sku.0, l.name, l.qty, l.unit_price.minor, l.amount.minor, l.tax_class]).map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        let took = start.elapsed();
        if i >= warmup {
            out.push(took);
        }
    }
    let n: i64 = conn.query_row("SELECT count(*) FROM sale_lines", [], |r| r.get(0)).map_err(e)?;
    if n != ((warmup + sales) * LINES) as i64 {
        return Err(format!("SQLite has {n} lines after the run"));
    }
    Ok(out)
}

struct Stats {
    p50_ms: f64,
    p99_ms: f64,
    per_s: f64,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    let total: Duration = samples.iter().sum();
    samples.sort();
    let n = samples.len();
    let at = |q: f64| {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        samples[rank - 1].as_secs_f64() * 1_000.0
    };
    Stats { p50_ms: at(0.50), p99_ms: at(0.99), per_s: n as f64 / total.as_secs_f64() }
}

fn default_dir() -> Result<tempfile::TempDir, String> {
    // Next to the binary (target/<profile>/): the same filesystem as target/, never tmpfs.
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let base = exe.parent().ok_or("binary has no directory")?;
    tempfile::Builder::new().prefix("keel-bench-").tempdir_in(base).map_err(|e| format!("cannot create a temp dir in {}: {e}", base.display()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("keel-bench: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            if let Err(e) = std::fs::create_dir_all(d) {
                eprintln!("keel-bench: cannot create {}: {e}", d.display());
                return ExitCode::FAILURE;
            }
            match tempfile::Builder::new().prefix("keel-bench-").tempdir_in(d) {
                Ok(t) => {
                    temp = t;
                    temp.path().to_path_buf()
                }
                Err(e) => {
                    eprintln!("keel-bench: cannot create a temp dir in {}: {e}", d.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        None => match default_dir() {
            Ok(t) => {
                temp = t;
                temp.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("keel-bench: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let warmup = (args.sales / 10).clamp(1, 200);
    println!("journal bench: {} measured sales ({} warm-up) of {LINES} lines each, durable commits, in {}", args.sales, warmup, dir.display());
    println!("  keel:   keel-store/redb, one SaleCompleted event per transaction (the same work as SQLite's), Durability::Immediate");
    println!("  keel full: as the terminal commits a sale: the event + 7 derived writes + the idempotency entry, one transaction");
    println!("  sqlite: rusqlite (bundled), journal_mode=WAL, synchronous=FULL, 1 sale row + {LINES} line rows per transaction, index on receipt_no");
    let keel_full = match run_keel(&dir, warmup, args.sales, true) {
        Ok(s) => stats(s),
        Err(e) => {
            eprintln!("keel-bench: keel run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let keel = match run_keel(&dir, warmup, args.sales, false) {
        Ok(s) => stats(s),
        Err(e) => {
            eprintln!("keel-bench: keel run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sqlite = match run_sqlite(&dir, warmup, args.sales) {
        Ok(s) => stats(s),
        Err(e) => {
            eprintln!("keel-bench: sqlite run failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("  keel       p50 {:.3} ms  p99 {:.3} ms  {:.0} sales/s", keel.p50_ms, keel.p99_ms, keel.per_s);
    println!("  keel full  p50 {:.3} ms  p99 {:.3} ms  {:.0} sales/s", keel_full.p50_ms, keel_full.p99_ms, keel_full.per_s);
    println!("  sqlite     p50 {:.3} ms  p99 {:.3} ms  {:.0} sales/s", sqlite.p50_ms, sqlite.p99_ms, sqlite.per_s);
    println!(
        "  keel full/sqlite: p50 {:.3}  p99 {:.3}  throughput {:.3}",
        keel_full.p50_ms / sqlite.p50_ms,
        keel_full.p99_ms / sqlite.p99_ms,
        keel_full.per_s / sqlite.per_s
    );
    println!(
        "  keel/sqlite: p50 {:.3}  p99 {:.3}  throughput {:.3}",
        keel.p50_ms / sqlite.p50_ms,
        keel.p99_ms / sqlite.p99_ms,
        keel.per_s / sqlite.per_s
    );
    println!("BENCH journal keel_p99_ms={:.3} sqlite_p99_ms={:.3} ratio_p99={:.3}", keel.p99_ms, sqlite.p99_ms, keel.p99_ms / sqlite.p99_ms);
    ExitCode::SUCCESS
}
