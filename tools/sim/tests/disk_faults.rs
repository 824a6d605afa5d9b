//! Disk and printer faults: a full disk refuses cleanly and loses nothing acknowledged, a
//! torn power cut in the middle of a commit leaves redb opening at the last
//! synced commit, and the planted bug "acknowledge a sale whose commit was
//! refused" is caught; receipts wait for paper and print once.

use keel_core::engine::Engine;
use keel_core::ids::TerminalId;
use keel_sim::catalog;
use keel_sim::disk::CrashDisk;
use keel_sim::rng::SimRng;
use keel_sim::terminal::SimTerminal;
use keel_sim::{run, SimConfig};
use std::collections::BTreeSet;

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        terminals: 3,
        sales_per_terminal: 30,
        plant_lying_fsync: false,
        plant_ack_unsaved: false,
    }
}

#[test]
fn full_disks_torn_power_cuts_and_paper_outs_are_injected_and_every_invariant_holds() {
    let (mut refusals, mut torn, mut full, mut paper) = (0, 0, 0, 0);
    for seed in [3, 8] {
        let o = run(&cfg(seed));
        assert!(o.violations.is_empty(), "seed {seed}: {:#?}", o.violations);
        assert_eq!(o.acked, 90, "seed {seed}");
        refusals += o.faults.disk_full_refusals;
        torn += o.faults.torn_power_cuts;
        full += o.faults.disk_full_periods;
        paper += o
            .faults
            .print_attempts_without_paper
            .min(o.faults.paper_outs);
    }
    assert!(
        full > 0 && refusals > 0,
        "no full disk refused a step ({full} periods)"
    );
    assert!(torn > 0, "no torn power cut");
    assert!(paper > 0, "no receipt ever waited for paper");
}

#[test]
fn acknowledging_a_sale_the_disk_refused_is_caught() {
    let caught = (0..=3).any(|seed| {
        let mut c = cfg(seed);
        c.plant_ack_unsaved = true;
        run(&c)
            .violations
            .iter()
            .any(|v| v.contains("acknowledged") && v.contains("in the journal"))
    });
    assert!(
        caught,
        "the planted ack of an unsaved sale went unnoticed in seeds 0..=3"
    );
}

/// A real journal: the seed events, a shift opened, `extra` more commits.
fn journal_with_commits(disk: &CrashDisk, extra: usize) -> SimTerminal {
    let members: BTreeSet<TerminalId> = [TerminalId(1)].into();
    let now = 1_790_000_000_000;
    let mut t = SimTerminal::open(
        catalog::profile(1),
        disk,
        &members,
        now,
        catalog::seed_events(),
    )
    .unwrap();
    let p = t.profile.clone();
    let ev = Engine::new(&p, &t.state)
        .open_shift(Some(&p.users[1]), "100.00")
        .unwrap();
    t.commit(ev, now).unwrap();
    for i in 0..extra {
        let ev = Engine::new(&p, &t.state)
            .adjust_stock(Some(&p.users[1]), "BREAD", 1 + i as i64, "delivery")
            .unwrap();
        t.commit(ev, now).unwrap();
    }
    t
}

#[test]
fn a_power_cut_tearing_a_commit_leaves_the_journal_at_its_last_synced_commit() {
    let now = 1_790_000_000_000;
    let members: BTreeSet<TerminalId> = [TerminalId(1)].into();
    let mut torn_kept = 0;
    for seed in 0..24u64 {
        let disk = CrashDisk::new(false);
        let mut t = journal_with_commits(&disk, 3);
        let (seq, head) = (t.journal.last_seq(), t.journal.head());
        disk.arm_power_loss((seed % 8) as u32);
        let p = t.profile.clone();
        let ev = Engine::new(&p, &t.state)
            .adjust_stock(Some(&p.users[1]), "MILK1L", 5, "delivery")
            .unwrap();
        let committed = t.commit(ev, now).is_ok();
        drop(t);
        torn_kept += disk.power_cut_torn(&mut SimRng::new(seed));
        let t = SimTerminal::open(catalog::profile(1), &disk, &members, now, Vec::new())
            .unwrap_or_else(|e| panic!("seed {seed}: redb did not open after a torn cut: {e}"));
        t.journal.verify().unwrap();
        if committed {
            // The power loss struck after the commit's sync: it is durable.
            assert_eq!(t.journal.last_seq(), seq + 1, "seed {seed}");
        } else {
            assert_eq!(
                (t.journal.last_seq(), t.journal.head()),
                (seq, head),
                "seed {seed}"
            );
        }
    }
    assert!(
        torn_kept > 0,
        "no unsynced write ever survived: nothing was torn"
    );
}

#[test]
fn a_full_disk_refuses_a_commit_with_disk_full_and_sells_again_once_freed() {
    let disk = CrashDisk::new(false);
    let mut t = journal_with_commits(&disk, 0);
    let p = t.profile.clone();
    let now = 1_790_000_000_000;
    disk.fill(0);
    let mut refused = 0;
    // Commits go on while redb finds free pages in what is allocated; it must
    // then refuse with DiskFull and keep everything committed so far.
    for i in 0..500 {
        let ev = Engine::new(&p, &t.state)
            .adjust_stock(Some(&p.users[1]), "BREAD", 1 + i, "delivery")
            .unwrap();
        match t.commit(ev, now) {
            Ok(_) => {}
            Err(keel_store::CommitError::DiskFull { .. }) => {
                refused += 1;
                break;
            }
            Err(e) => panic!("not a clean refusal: {e}"),
        }
    }
    assert_eq!(refused, 1, "the full disk never refused");
    let seq = t.journal.last_seq();
    disk.free();
    let ev = Engine::new(&p, &t.state)
        .adjust_stock(Some(&p.users[1]), "BREAD", 1, "delivery")
        .unwrap();
    t.commit(ev, now).expect("sells again once space is back");
    assert_eq!(t.journal.last_seq(), seq + 1);
    t.journal.verify().unwrap();
}

/// What keel-terminal's `Node::sale` meets after a full disk refused a
/// commit: keel-store reopens redb at once, and reopening writes nothing, so
/// a receipt lookup still reads while the disk is full (the closed journal a
/// cashier would see as "storage unavailable" takes a reopen that failed,
/// which a dead disk gives, not a full one), and selling resumes once freed.
#[test]
fn after_a_full_disk_refused_a_commit_receipts_still_read_and_selling_resumes_once_freed() {
    let disk = CrashDisk::new(false);
    let mut t = journal_with_commits(&disk, 0);
    let p = t.profile.clone();
    let now = 1_790_000_000_000;
    let cashier = &p.users[0];
    let ev = Engine::new(&p, &t.state).new_sale(Some(cashier)).unwrap();
    t.commit(ev, now).unwrap();
    let ev = Engine::new(&p, &t.state)
        .add_item(
            Some(cashier),
            keel_core::engine::AddRequest {
                key: "BREAD",
                qty: Some("2"),
                now_ms: now,
            },
        )
        .unwrap();
    t.commit(ev, now).unwrap();
    let total = Engine::new(&p, &t.state).priced().unwrap().total.minor;
    let ev = Engine::new(&p, &t.state)
        .tender_cash(Some(cashier), &keel_core::money::format_minor(total, 2))
        .unwrap();
    t.commit(ev, now).unwrap();
    let (ev, _) = Engine::new(&p, &t.state).complete(Some(cashier)).unwrap();
    t.commit(ev, now).unwrap();
    let no = keel_core::ids::ReceiptNo(1);
    let read = |t: &SimTerminal| {
        keel_sim::cashier::sale_record(&t.journal, TerminalId(1), no)
            .expect("receipt 1 reads")
            .expect("receipt 1 is indexed")
            .sale
            .total
            .minor
    };
    assert_eq!(read(&t), total);
    disk.fill(0);
    let mut refused = false;
    for i in 0..500 {
        let ev = Engine::new(&p, &t.state)
            .adjust_stock(Some(&p.users[1]), "BREAD", 1 + i, "delivery")
            .unwrap();
        match t.commit(ev, now) {
            Ok(_) => {}
            Err(keel_store::CommitError::DiskFull { .. }) => {
                refused = true;
                break;
            }
            Err(e) => panic!("not a clean refusal: {e}"),
        }
    }
    assert!(refused, "the full disk never refused");
    let seq = t.journal.last_seq();
    assert_eq!(read(&t), total, "while the disk is full");
    disk.free();
    let ev = Engine::new(&p, &t.state)
        .adjust_stock(Some(&p.users[1]), "BREAD", 1, "delivery")
        .unwrap();
    t.commit(ev, now).expect("sells again once space is back");
    assert_eq!(t.journal.last_seq(), seq + 1);
    assert_eq!(read(&t), total);
}
