//! Derived state is a cache of the journal: `journal rebuild` reproduces it
//! exactly, and a terminal whose derived tables were damaged rebuilds them at
//! start instead of refusing to sell.

mod common;

use common::Keel;

fn snapshot(k: &mut Keel) -> Vec<serde_json::Value> {
    let mut status = k.ok("status");
    for volatile in ["uptime_s", "disk_free_bytes", "user", "role"] {
        status.as_object_mut().unwrap().remove(volatile);
    }
    let mut x = k.ok("report x");
    x.as_object_mut().unwrap().remove("reported_ms");
    let mut kitchen = k.ok("kitchen list");
    for t in kitchen["tickets"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("age_s");
    }
    vec![status, k.ok("stock"), k.ok("catalog list"), kitchen, x]
}

fn trade(k: &mut Keel) {
    k.ok("login 1111");
    k.ok("shift open 100.00");
    for i in 0..5 {
        k.ok("sale new");
        k.ok("sale add 4006381333931 2");
        k.ok("sale add ESPRESSO");
        k.ok("sale add BANANA 0.415");
        if i % 2 == 0 {
            k.ok("sale discount all 5%");
        }
        k.ok("sale tender cash 20.00");
        k.ok("sale complete");
    }
    k.ok("kitchen advance 1");
    k.ok("sale new");
    k.ok("sale add MILK-1L 3");
    k.ok("login 9999");
    k.ok("refund 2 1:1");
}

#[test]
fn rebuild_reproduces_the_derived_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    trade(&mut k);
    let before = snapshot(&mut k);
    let e = k.err("journal rebuild");
    assert!(e.contains("technician role needed"), "{e}");
    k.ok("login 0000");
    let r = k.ok("journal rebuild");
    assert!(r["replayed"].as_u64().unwrap() > 40);
    k.ok("login 9999");
    assert_eq!(snapshot(&mut k), before);
    k.quit();
}

#[test]
fn damaged_derived_tables_are_rebuilt_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    trade(&mut k);
    let before = snapshot(&mut k);
    k.quit();
    // Damage the derived state directly: the counters entry (tag 1 in the `state`
    // table, see firmware/store/src/schema.rs) becomes garbage.
    use redb::ReadableTable;
    let db = redb::Database::open(dir.path().join("journal.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut t = txn
            .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("state"))
            .unwrap();
        let key = b"\x01counters";
        assert!(
            t.get(&key[..]).unwrap().is_some(),
            "the counters entry is where the test expects it"
        );
        t.insert(&key[..], &[0xff_u8, 0xff, 0xff][..]).unwrap();
    }
    txn.commit().unwrap();
    drop(db);
    let mut k = Keel::start(dir.path());
    k.ok("login 9999");
    assert_eq!(snapshot(&mut k), before);
    k.ok("login 0000");
    k.ok("journal verify");
    k.quit();
}
