//! The PostgreSQL store against the conformance suite, on a real PostgreSQL
//! started on loopback by the test (one server per test binary, one database
//! per test), plus what only it has: migrations shared by several nodes, the
//! connection limit, a database crash in the middle of ingest. (The ingest rate is a benchmark:
//! `cargo xtask bench cloud`, not a test.)

mod common;

use common::journal::{item, Pay, TestTerminal, T0};
use common::Setup;
use keel_cloud::store::{CloudStore, PgStore, StoreError};
use keel_core::ids::StoreId;
use keel_testkit::postgres::PostgresHarness;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The server shared by this binary's tests (it shuts down with the process).
fn server() -> &'static Mutex<PostgresHarness> {
    static PG: OnceLock<Mutex<PostgresHarness>> = OnceLock::new();
    PG.get_or_init(|| Mutex::new(PostgresHarness::start().unwrap_or_else(|e| panic!("{e}"))))
}

/// A new empty database on the shared server; its URL.
fn new_database() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!("t{}", N.fetch_add(1, Ordering::SeqCst));
    let pg = server().lock().unwrap_or_else(|e| e.into_inner());
    pg.create_database(&name).unwrap();
    pg.url_for(&name)
}

fn fresh(handles: usize) -> Setup {
    let url = new_database();
    Setup {
        stores: (0..handles)
            .map(|_| Arc::new(PgStore::connect(&url).unwrap()) as Arc<dyn CloudStore>)
            .collect(),
        keep: Box::new(()),
    }
}

conformance_suite!(fresh);

#[test]
fn nodes_starting_together_migrate_once_and_rerun_is_a_no_op() {
    let url = new_database();
    let stores: Vec<PgStore> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| PgStore::connect(&url))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    for s in &stores {
        assert_eq!(s.migrate().unwrap(), 0);
    }
    let name = url.rsplit('/').next().unwrap();
    let pg = server().lock().unwrap();
    // Every migration applied exactly once (versions 1..=N, no gaps).
    assert_eq!(
        pg.psql(
            name,
            "SELECT count(*) = max(version) AND min(version) = 1 AND count(*) >= 2 FROM keel_schema"
        )
        .unwrap(),
        "t"
    );
    let h = stores[0].health();
    assert!(h.connected && h.detail.contains("PostgreSQL"), "{h:?}");
}

#[test]
fn one_node_keeps_to_its_connection_limit_under_many_callers() {
    let url = new_database();
    let db = PgStore::connect(&url).unwrap();
    let journals: Vec<TestTerminal> = (0..32)
        .map(|i| {
            let mut t = TestTerminal::new(&format!("s{i}"), 1, &[item("A", 1_00, "standard")]);
            t.sell(&[("A", 1)], Pay::Cash);
            t
        })
        .collect();
    std::thread::scope(|s| {
        for (i, t) in journals.iter().enumerate() {
            let db = &db;
            s.spawn(move || {
                let st = StoreId(format!("s{i}"));
                assert_eq!(db.ingest(&st, &t.all(1), T0).unwrap().accepted, t.head());
            });
        }
    });
    let total: u64 = journals.iter().map(|t| t.head()).sum();
    assert_eq!(db.event_count(None).unwrap(), total);
    let name = url.rsplit('/').next().unwrap();
    let open: u32 = server()
        .lock()
        .unwrap()
        .psql(
            name,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keel-cloud' AND datname = current_database()",
        )
        .unwrap()
        .parse()
        .unwrap();
    assert!(open <= 16, "{open} connections open");
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = PgStore::connect(&format!("postgres://keel@127.0.0.1:{port}/keel"))
        .err()
        .expect("nothing listens there");
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    assert!(
        matches!(PgStore::connect("mysql://x"), Err(StoreError::Invalid(_))),
        "a bad URL is refused"
    );
}

#[test]
fn database_killed_mid_ingest_then_the_upload_resumes_without_duplicates() {
    let mut pg = PostgresHarness::start().unwrap();
    let db = Arc::new(PgStore::connect(&pg.url()).unwrap());
    let st = StoreId("s1".into());
    let mut t = TestTerminal::new("s1", 1, &[item("A", 1_00, "standard")]);
    for _ in 0..400 {
        t.sell(&[("A", 1)], Pay::Cash);
    }
    let total = t.head();
    let step = 100;
    let acked = Arc::new(AtomicU64::new(0));
    // The uploader sends growing prefixes until everything is acked, retrying on errors.
    let uploader = {
        let (db, st, acked) = (db.clone(), st.clone(), acked.clone());
        let batches: Vec<_> = (1..=total.div_ceil(step))
            .map(|i| t.batch(i, 1..=(i * step).min(total)))
            .collect();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut errors = 0;
            let mut i = 0;
            while i < batches.len() {
                match db.ingest(&st, &batches[i], T0) {
                    Ok(_) => {
                        i += 1;
                        acked.store(i as u64, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => {
                        errors += 1;
                        assert!(Instant::now() < deadline, "never recovered: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            errors
        })
    };
    // Crash the database while batches are in flight, then bring it back.
    while acked.load(Ordering::SeqCst) < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }
    pg.kill().unwrap();
    let at_kill = acked.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    pg.restart().unwrap();
    let errors = uploader.join().unwrap();
    eprintln!("killed after {at_kill} batches; the uploader saw {errors} failed attempts");
    assert!(errors > 0, "the crash happened during the upload");

    assert_eq!(db.event_count(Some(&st)).unwrap(), total);
    assert_eq!(db.marks(&st).unwrap().of(t.id()).bodies, total);
    assert_eq!(db.orders(None, 1_000).unwrap().len(), 400);
    assert_eq!(
        db.sales_report(None, None).unwrap().rows[0].totals.sales,
        400
    );
    assert_eq!(
        pg.psql(
            "keel",
            "SELECT count(*), count(DISTINCT (terminal, seq)) FROM events"
        )
        .unwrap(),
        format!("{total}|{total}")
    );
    assert_eq!(
        pg.psql("keel", "SELECT sales FROM sales_daily").unwrap(),
        "400"
    );
    pg.stop().unwrap();
}
