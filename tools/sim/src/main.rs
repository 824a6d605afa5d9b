//! `keel-sim`: runs seeds of the store simulator and reports. Owns argument
//! parsing and printing only; the simulation, the worker threads and the
//! shrinker are in the library.
//!
//! usage: keel-sim [--seeds N] [--from S] [--terminals K] [--sales N] [--vary]
//! [--faults LIST] [--jobs J] [--shrink-runs N] [--quiet] [--plant-lying-fsync] [--plant-ack-unsaved]

use keel_sim::batch::{default_jobs, run_in_order};
use keel_sim::cashier::Workload;
use keel_sim::fault_mask::FaultMask;
use keel_sim::plan::{sized_by_seed, Case};
use keel_sim::shrink::shrink;
use keel_sim::{hex, run_case, Faults, SimConfig};
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// Prints a line; a closed stdout (e.g. piped into `head`) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

const USAGE: &str = "usage: keel-sim [--seeds N] [--from S] [--terminals K] [--sales N] [--vary] [--faults LIST] [--jobs J] [--shrink-runs N] [--quiet] [--plant-lying-fsync] [--plant-ack-unsaved]";

/// Options taking a value.
const VALUED: [&str; 7] = [
    "--seeds",
    "--from",
    "--terminals",
    "--sales",
    "--faults",
    "--jobs",
    "--shrink-runs",
];

/// Flags.
const FLAGS: [&str; 4] = [
    "--vary",
    "--quiet",
    "--plant-lying-fsync",
    "--plant-ack-unsaved",
];

/// Failing seeds shrunk per batch (shrinking costs runs; the first ones are what a reader needs).
const SHRUNK_SEEDS: u64 = 3;

struct Options {
    seeds: u64,
    from: u64,
    terminals: u32,
    sales: u32,
    vary: bool,
    faults: FaultMask,
    jobs: usize,
    shrink_runs: u32,
    quiet: bool,
    plant_lying_fsync: bool,
    plant_ack_unsaved: bool,
}

fn text<'a>(args: &'a [String], name: &str) -> Result<Option<&'a str>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .map(|v| Some(v.as_str()))
            .ok_or(format!("{name} needs a value")),
    }
}

fn value(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match text(args, name)? {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e| format!("{name}: {e}")),
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if VALUED.contains(&a) {
            i += 2;
        } else if FLAGS.contains(&a) {
            i += 1;
        } else {
            return Err(format!("unknown option {a}"));
        }
    }
    let terminals = value(args, "--terminals", 3)?;
    if !(3..=15).contains(&terminals) {
        return Err("--terminals must be 3 to 15".into());
    }
    let sales = value(args, "--sales", 20)?;
    if !(1..=10_000).contains(&sales) {
        return Err("--sales must be 1 to 10000".into());
    }
    let faults = match text(args, "--faults")? {
        None => FaultMask::all(),
        Some(t) => FaultMask::parse(t).map_err(|e| format!("--faults: {e}"))?,
    };
    let jobs = value(args, "--jobs", default_jobs() as u64)?;
    Ok(Options {
        seeds: value(args, "--seeds", 10)?,
        from: value(args, "--from", 0)?,
        terminals: terminals as u32,
        sales: sales as u32,
        vary: args.iter().any(|a| a == "--vary"),
        faults,
        jobs: usize::try_from(jobs.max(1)).map_err(|e| format!("--jobs: {e}"))?,
        shrink_runs: u32::try_from(value(args, "--shrink-runs", 40)?)
            .map_err(|e| format!("--shrink-runs: {e}"))?,
        quiet: args.iter().any(|a| a == "--quiet"),
        plant_lying_fsync: args.iter().any(|a| a == "--plant-lying-fsync"),
        plant_ack_unsaved: args.iter().any(|a| a == "--plant-ack-unsaved"),
    })
}

/// Faults injected (not their consequences such as heals or uploader changes).
fn injected(f: &Faults) -> u64 {
    f.lost
        + f.duplicated
        + f.reordered
        + f.partitions
        + f.power_cuts
        + f.clock_jumps
        + f.cloud_outages
        + f.disk_full_periods
        + f.torn_power_cuts
        + f.paper_outs
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("keel-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cases: Vec<Case> = (o.from..o.from.saturating_add(o.seeds))
        .map(|seed| {
            let (terminals, sales) = if o.vary {
                sized_by_seed(seed)
            } else {
                (o.terminals, o.sales)
            };
            Case {
                cfg: SimConfig {
                    seed,
                    terminals,
                    sales_per_terminal: sales,
                    plant_lying_fsync: o.plant_lying_fsync,
                    plant_ack_unsaved: o.plant_ack_unsaved,
                },
                faults: o.faults,
            }
        })
        .collect();
    let started = Instant::now();
    let mut total = Faults::default();
    let mut failed = 0u64;
    let mut acked = 0usize;
    let mut work = Workload::default();
    run_in_order(&cases, o.jobs, |_, case, out| {
        let seed = case.cfg.seed;
        acked += out.acked;
        work.add(&out.workload);
        total.lost += out.faults.lost;
        total.duplicated += out.faults.duplicated;
        total.reordered += out.faults.reordered;
        total.partitions += out.faults.partitions;
        total.heals += out.faults.heals;
        total.power_cuts += out.faults.power_cuts;
        total.clock_jumps += out.faults.clock_jumps;
        total.cloud_outages += out.faults.cloud_outages;
        total.uploader_changes += out.faults.uploader_changes;
        total.disk_full_periods += out.faults.disk_full_periods;
        total.disk_full_refusals += out.faults.disk_full_refusals;
        total.restarts_refused_disk_full += out.faults.restarts_refused_disk_full;
        total.torn_power_cuts += out.faults.torn_power_cuts;
        total.torn_writes_kept += out.faults.torn_writes_kept;
        total.commits_cut_by_power += out.faults.commits_cut_by_power;
        total.lookups_refused_unavailable += out.faults.lookups_refused_unavailable;
        total.paper_outs += out.faults.paper_outs;
        total.print_attempts_without_paper += out.faults.print_attempts_without_paper;
        if out.violations.is_empty() {
            if !o.quiet {
                say!(
                    "seed {seed}: ok  trace {}  {} terminals, {} sales, {} Z reports, {} deliveries, raft {} leader terms {} entries, {} cloud batches, {} messages, {:.0} s simulated",
                    &hex(&out.trace_hash)[..16],
                    case.cfg.terminals,
                    out.acked,
                    out.z_reports,
                    out.deliveries,
                    out.raft_terms,
                    out.raft_committed,
                    out.cloud_batches,
                    out.delivered,
                    out.sim_ms as f64 / 1000.0
                );
            }
            return;
        }
        failed += 1;
        say!("seed {seed}: FAILED  trace {}", &hex(&out.trace_hash)[..16]);
        for v in out.violations.iter().take(10) {
            say!("    {v}");
        }
        say!("    replay: {}", case.replay_command());
        if failed <= SHRUNK_SEEDS && o.shrink_runs > 0 {
            let s = shrink(case, o.shrink_runs, |c| !run_case(c).violations.is_empty());
            let first = run_case(&s.case).violations.into_iter().next();
            say!(
                "    shrunk in {} runs to {} terminals x {} sales, faults {}: {}",
                s.runs,
                s.case.cfg.terminals,
                s.case.cfg.sales_per_terminal,
                s.case.faults,
                first.unwrap_or_default()
            );
            say!("    replay shrunk: {}", s.case.replay_command());
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let per_s = o.seeds as f64 / secs.max(1e-9);
    say!(
        "{} seeds in {secs:.1} s ({per_s:.2} seeds/s, {} threads), {acked} sales acknowledged, {failed} failed",
        o.seeds,
        o.jobs
    );
    say!(
        "faults: lost {} duplicated {} reordered {} partitions {} heals {} power-cuts {} clock-jumps {} cloud-outages {} uploader-changes {}",
        total.lost, total.duplicated, total.reordered, total.partitions, total.heals, total.power_cuts, total.clock_jumps, total.cloud_outages, total.uploader_changes
    );
    say!(
        "disk faults: full-periods {} full-refusals {} restarts-refused-full {} torn-power-cuts {} torn-writes-kept {} commits-cut-by-power {} lookups-refused-unavailable {}",
        total.disk_full_periods, total.disk_full_refusals, total.restarts_refused_disk_full, total.torn_power_cuts, total.torn_writes_kept, total.commits_cut_by_power, total.lookups_refused_unavailable
    );
    say!(
        "printer faults: paper-outs {} print-attempts-without-paper {}",
        total.paper_outs,
        total.print_attempts_without_paper
    );
    say!(
        "workload: card-sales {} cards-refused-offline {} refunds {} voids {} kitchen-tickets {} kitchen-advances {} price-changes-applied {} price-override-flags {}",
        work.card_sales, work.cards_refused, work.refunds, work.voids, work.kitchen_tickets, work.kitchen_advances, work.price_changes_applied, work.price_override_flags
    );
    say!(
        "SIM seeds={} failed={failed} seeds_per_s={per_s:.2} faults={}",
        o.seeds,
        injected(&total)
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
