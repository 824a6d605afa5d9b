//! Store clusters of real `keel` processes on loopback: every terminal ends up
//! with every sale and identical store-wide state, a terminal that was down
//! catches up, and a terminal of another store is refused.

mod common;

use common::Keel;
use keel_core::ids::StoreId;
use keel_terminal::provision::{provision, ProvisionPlan};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn store(dir: &Path, name: &str, n: u32) -> Vec<PathBuf> {
    provision(&ProvisionPlan {
        store: StoreId(name.into()),
        terminals: n,
        out: dir.join(name),
        host: "127.0.0.1".parse().unwrap(),
        base_port: common::free_ports(20_000, n as u16),
        mdns: false,
        demo_catalog: true,
    })
    .unwrap()
}

/// The store-wide state a terminal shows: stock, kitchen tickets, catalog.
fn shared_state(k: &mut Keel) -> Vec<Value> {
    let mut kitchen = k.ok("kitchen list");
    for t in kitchen["tickets"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("age_s");
    }
    vec![
        k.ok("stock")["stock"].clone(),
        kitchen["tickets"].clone(),
        k.ok("catalog list")["items"].clone(),
    ]
}

fn origins(k: &mut Keel) -> Value {
    k.ok("status")["origins"].clone()
}

/// Waits until every terminal holds the same records of every origin, and each
/// origin's own count is what it wrote.
fn wait_converged(ks: &mut [Keel], timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let own: Vec<u64> = ks
            .iter_mut()
            .map(|k| k.ok("status")["last_seq"].as_u64().unwrap())
            .collect();
        let all: Vec<Value> = ks.iter_mut().map(origins).collect();
        let complete = all
            .iter()
            .all(|o| (0..own.len()).all(|i| o[(i + 1).to_string()].as_u64() == Some(own[i])));
        if complete {
            return all[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no convergence: own seqs {own:?}, held {all:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sell(k: &mut Keel, items: &[&str]) -> u64 {
    k.ok("sale new");
    for i in items {
        k.ok(&format!("sale add {i}"));
    }
    k.ok("sale tender cash 50.00");
    k.ok("sale complete")["receipt"].as_u64().unwrap()
}

fn run_store(n: u32, sales_each: usize) {
    let dir = tempfile::tempdir().unwrap();
    let configs = store(dir.path(), "corner", n);
    let mut ks: Vec<Keel> = configs.iter().map(|c| Keel::start_config(c)).collect();
    for k in ks.iter_mut() {
        k.ok("login 1111");
        k.ok("shift open 100.00");
    }
    // Terminal 1 seeded the demo catalog; every terminal needs it before selling.
    let deadline = Instant::now() + Duration::from_secs(20);
    for k in ks.iter_mut() {
        while k.ok("catalog list")["items"].as_array().unwrap().len() < 17 {
            assert!(Instant::now() < deadline, "catalog did not replicate");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Concurrent sales on every terminal.
    let handles: Vec<_> = ks
        .into_iter()
        .enumerate()
        .map(|(i, mut k)| {
            std::thread::spawn(move || {
                for s in 0..sales_each {
                    let items: &[&str] = if (i + s) % 2 == 0 {
                        &["4006381333931", "ESPRESSO"]
                    } else {
                        &["MILK-1L 2", "SANDWICH"]
                    };
                    sell(&mut k, items);
                }
                k
            })
        })
        .collect();
    let mut ks: Vec<Keel> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let held = wait_converged(&mut ks, Duration::from_secs(30));
    let reference = shared_state(&mut ks[0]);
    for k in ks.iter_mut().skip(1) {
        assert_eq!(shared_state(k), reference, "identical store-wide state");
    }
    // Stock reflects every terminal's sales: 120 chocolates, half the sales took one.
    let stock = &reference[0];
    let choc = stock
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sku"] == "CHOC-100")
        .unwrap()["on_hand"]
        .as_i64()
        .unwrap();
    let choc_sales: usize = (0..n as usize)
        .map(|i| (0..sales_each).filter(|s| (i + s) % 2 == 0).count())
        .sum();
    assert_eq!(choc, 120 - choc_sales as i64, "held {held}");
    // One kitchen ticket per sale (each sale has one kitchen item).
    assert_eq!(
        reference[1].as_array().unwrap().len(),
        n as usize * sales_each
    );
    for k in ks.iter_mut() {
        k.ok("login 0000");
        k.ok("journal verify");
    }
    for k in ks {
        k.quit();
    }
}

#[test]
fn three_terminals_converge() {
    run_store(3, 8);
}

#[test]
fn five_terminals_converge() {
    run_store(5, 5);
}

#[test]
fn a_terminal_that_was_down_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let configs = store(dir.path(), "corner", 3);
    let mut ks: Vec<Keel> = configs.iter().map(|c| Keel::start_config(c)).collect();
    for k in ks.iter_mut() {
        k.ok("login 1111");
        k.ok("shift open 50.00");
    }
    wait_converged(&mut ks, Duration::from_secs(20));
    // Terminal 3 goes away; the others keep selling.
    let t3 = ks.pop().unwrap();
    t3.kill();
    for _ in 0..10 {
        sell(&mut ks[0], &["4006381333931"]);
        sell(&mut ks[1], &["ESPRESSO"]);
    }
    // It comes back and catches up with everything it missed.
    ks.push(Keel::start_config(&configs[2]));
    ks[2].ok("login 1111");
    wait_converged(&mut ks, Duration::from_secs(30));
    let reference = shared_state(&mut ks[0]);
    assert_eq!(shared_state(&mut ks[2]), reference);
    for k in ks {
        k.quit();
    }
}

#[test]
fn a_terminal_of_another_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ours = store(dir.path(), "corner", 2);
    let theirs = store(dir.path(), "rival", 1);
    // Point the rival's terminal at our terminal 1 as if it were its peer.
    let ours_text = std::fs::read_to_string(&ours[0]).unwrap();
    let our_addr = ours_text
        .lines()
        .find(|l| l.starts_with("listen = "))
        .unwrap()
        .trim_start_matches("listen = ")
        .trim_matches('"')
        .to_string();
    let mut text = std::fs::read_to_string(&theirs[0]).unwrap();
    text = text.replace("members = [1]", "members = [1, 2]");
    text.push_str(&format!(
        "\n[[cluster.peers]]\nid = 2\naddr = \"{our_addr}\"\n"
    ));
    std::fs::write(&theirs[0], text).unwrap();
    let mut a1 = Keel::start_config(&ours[0]);
    let mut a2 = Keel::start_config(&ours[1]);
    let mut b1 = Keel::start_config(&theirs[0]);
    // Our two terminals connect; the rival never does, and the refusal names why.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let peers = a1.ok("peers");
        let refusals = peers["refusals"].as_array().unwrap().clone();
        let a2_up = peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == 2 && p["connected"] == true);
        let b_refusals = b1.ok("peers")["refusals"].as_array().unwrap().clone();
        if a2_up && (!refusals.is_empty() || !b_refusals.is_empty()) {
            let all: Vec<String> = refusals
                .iter()
                .chain(b_refusals.iter())
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            assert!(
                all.iter().any(|r| r.contains("not from this store's CA")),
                "{all:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "expected a refusal; ours {peers}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = b1.ok("status");
    assert_eq!(status["peers_connected"], 0);
    a2.ok("status");
    for k in [a1, a2, b1] {
        k.quit();
    }
}

fn wait_leader(ks: &mut [Keel]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let leaders: Vec<Option<u64>> = ks
            .iter_mut()
            .map(|k| k.ok("leader")["leader"].as_u64())
            .collect();
        if let Some(Some(l)) = leaders.first() {
            if leaders.iter().all(|x| *x == Some(*l)) {
                return *l;
            }
        }
        assert!(Instant::now() < deadline, "no agreed leader: {leaders:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn consensus_operations_from_any_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let configs = store(dir.path(), "corner", 3);
    let mut ks: Vec<Keel> = configs.iter().map(|c| Keel::start_config(c)).collect();
    let leader = wait_leader(&mut ks);
    let follower = (1..=3u64).find(|t| *t != leader).unwrap() as usize - 1;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ks[follower].ok("catalog list CHOC")["items"]
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "catalog did not replicate");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A cashier may not; a manager on a follower may: forwarded to the leader.
    ks[follower].ok("login 1111");
    assert!(ks[follower]
        .err("price set CHOC-100 1.99")
        .contains("manager role needed"));
    ks[follower].ok("login 9999");
    assert!(ks[follower]
        .err("price set NOPE 1.99")
        .contains("unknown SKU"));
    let r = ks[follower].ok("price set CHOC-100 1.99");
    assert!(r["raft_index"].as_u64().unwrap() > 0);
    let r = ks[follower].ok("setting set receipt.footer Thanks, see you soon");
    assert_eq!(r["value"], "Thanks, see you soon");
    ks[follower].ok("day close 2026-11-23");
    // Every terminal sees the decided price and setting.
    let deadline = Instant::now() + Duration::from_secs(20);
    for k in ks.iter_mut() {
        loop {
            let price = k.ok("catalog list CHOC-100")["items"][0]["price"].clone();
            let footer = k.ok("settings")["settings"]["receipt.footer"].clone();
            if price == "1.99" && footer == "Thanks, see you soon" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "decisions did not reach every terminal: {price} {footer}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // The leader journaled the day close.
    let l = leader as usize - 1;
    ks[l].ok("login 0000");
    let tail = ks[l].ok("journal tail 20");
    assert!(
        tail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "day-closed"),
        "{tail}"
    );
    // Membership: remove terminal 3 by consensus, then add it back.
    let m = if follower == 2 {
        leader as usize - 1
    } else {
        follower
    };
    ks[m].ok("login 9999");
    ks[m].ok("cluster remove 3");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ks[m].ok("raft status")["voters"] != serde_json::json!([1, 2]) {
        assert!(Instant::now() < deadline, "terminal 3 still a voter");
        std::thread::sleep(Duration::from_millis(50));
    }
    ks[m].ok("cluster add 3");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ks[m].ok("raft status")["voters"] != serde_json::json!([1, 2, 3]) {
        assert!(Instant::now() < deadline, "terminal 3 not back");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        ks[m]
            .err("cluster add 3")
            .to_lowercase()
            .contains("already"),
        "adding a voter twice is refused"
    );
    // The leader itself leaves: leadership moves first, then it is removed; then it rejoins.
    let l = wait_leader(&mut ks);
    ks[m].ok(&format!("cluster remove {l}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = ks[m].ok("raft status")["voters"].clone();
        if !v.as_array().unwrap().iter().any(|x| x.as_u64() == Some(l)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the leader T{l} is still a voter: {v}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ks[m].ok(&format!("cluster add {l}"));
    for k in ks {
        k.quit();
    }
}

#[test]
fn a_terminal_without_a_cluster_decides_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = Keel::start(dir.path());
    assert!(k.err("leader").contains("no cluster"));
    k.ok("login 9999");
    k.ok("price set CHOC-100 1.29");
    assert_eq!(k.ok("catalog list CHOC-100")["items"][0]["price"], "1.29");
    k.ok("setting set store.motto Fresh every day");
    assert_eq!(
        k.ok("settings")["settings"]["store.motto"],
        "Fresh every day"
    );
    assert!(k.err("setting set Bad-Key x").contains("bad setting"));
    k.ok("day close");
    k.quit();
}

#[test]
fn a_new_terminal_joins_and_receives_the_whole_store() {
    let dir = tempfile::tempdir().unwrap();
    let configs = store(dir.path(), "corner", 3);
    let mut ks: Vec<Keel> = configs.iter().map(|c| Keel::start_config(c)).collect();
    wait_leader(&mut ks);
    for k in ks.iter_mut() {
        k.ok("login 1111");
        k.ok("shift open 20.00");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while ks[2].ok("catalog list")["items"].as_array().unwrap().len() < 17 {
        assert!(Instant::now() < deadline, "catalog did not replicate");
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..3 {
        sell(&mut ks[i], &["4006381333931", "ESPRESSO"]);
    }
    // Provision terminal 4 into the same store (same CA) and start it: it joins.
    let text = std::fs::read_to_string(&configs[0]).unwrap();
    let listen = text
        .lines()
        .find(|l| l.starts_with("listen = "))
        .unwrap()
        .trim_start_matches("listen = ")
        .trim_matches('"')
        .to_string();
    let base: std::net::SocketAddr = listen.parse().unwrap();
    let t4 = keel_terminal::provision::provision_add(
        &dir.path().join("corner"),
        4,
        base.ip(),
        base.port(),
        false,
    )
    .unwrap();
    let mut k4 = Keel::start_config(&t4);
    ks[0].ok("login 9999");
    ks[0].ok("cluster add 4");
    ks.push(k4);
    // It receives every origin's journal and the same store-wide state, and its sales flow back.
    wait_converged(&mut ks, Duration::from_secs(30));
    let reference = shared_state(&mut ks[0]);
    assert_eq!(shared_state(&mut ks[3]), reference);
    k4 = ks.pop().unwrap();
    k4.ok("login 1111");
    k4.ok("shift open 20.00");
    sell(&mut k4, &["MILK-1L"]);
    ks.push(k4);
    wait_converged(&mut ks, Duration::from_secs(30));
    // Raft brings it in too: it learns the configuration from the leader.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = ks[3].ok("raft status");
        if r["voters"] == serde_json::json!([1, 2, 3, 4]) && r["leader"].as_u64().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "terminal 4 never joined raft: {r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for k in ks {
        k.quit();
    }
}

#[test]
fn customers_are_a_last_writer_wins_map_across_terminals() {
    let dir = tempfile::tempdir().unwrap();
    let configs = store(dir.path(), "corner", 3);
    let mut ks: Vec<Keel> = configs.iter().map(|c| Keel::start_config(c)).collect();
    for k in ks.iter_mut() {
        k.ok("login 1111");
    }
    assert!(ks[0]
        .err("customer set C-1 12ab Ani")
        .contains("bad customer"));
    ks[0].ok("customer set C-1 +628123456789 Ani Wijaya");
    std::thread::sleep(Duration::from_millis(5));
    ks[1].ok("customer set C-1 - Ani W.");
    ks[2].ok("customer set C-2 - Budi");
    wait_converged(&mut ks, Duration::from_secs(20));
    for k in ks.iter_mut() {
        // Records and the customers' keys travel separately; both arrive.
        // Until a record's key is here the record is listed as unreadable, not shown.
        let deadline = Instant::now() + Duration::from_secs(10);
        let (c, listed) = loop {
            let c = k.ok("customer show C-1");
            let listed = k.ok("customers")["customers"].as_array().unwrap().len();
            if (c["key_missing"] != true && listed == 2) || Instant::now() > deadline {
                break (c, listed);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert_eq!(c["name"], "Ani W.", "the later write wins everywhere: {c}");
        assert_eq!(c["phone"], serde_json::Value::Null);
        assert_eq!(listed, 2, "both customers readable everywhere");
    }
    for k in ks {
        k.quit();
    }
    // Personal data is sealed at rest: no terminal's files hold the names in clear,
    // while the records are there (replicated, sealed).
    for entry in walk(&dir.path().join("corner")) {
        let bytes = std::fs::read(&entry).unwrap();
        for clear in [&b"Wijaya"[..], b"Budi", b"628123456789"] {
            assert!(
                !bytes.windows(clear.len()).any(|w| w == clear),
                "{} holds personal data in clear",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
