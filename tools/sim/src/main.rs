//! `keel-sim`: runs seeds of the store simulator and reports. Owns argument
//! parsing and printing only; the simulation is in the library.
//!
//! usage: keel-sim [--seeds N] [--from S] [--terminals K] [--sales N] [--plant-lying-fsync] [--plant-ack-unsaved]

use keel_sim::cashier::Workload;
use keel_sim::{hex, run, Faults, SimConfig};
use std::io::Write;
use std::process::ExitCode;

/// Prints a line; a closed stdout (e.g. piped into `head`) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
use std::time::Instant;

fn value(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .ok_or(format!("{name} needs a number"))?
            .parse()
            .map_err(|e| format!("{name}: {e}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| -> Result<(u64, u64, u32, u32), String> {
        for a in &args {
            if a.starts_with("--")
                && ![
                    "--seeds",
                    "--from",
                    "--terminals",
                    "--sales",
                    "--plant-lying-fsync",
                    "--plant-ack-unsaved",
                ]
                .contains(&a.as_str())
            {
                return Err(format!("unknown option {a}"));
            }
        }
        let terminals = value(&args, "--terminals", 3)?;
        if !(3..=15).contains(&terminals) {
            return Err("--terminals must be 3 to 15".into());
        }
        Ok((
            value(&args, "--seeds", 10)?,
            value(&args, "--from", 0)?,
            terminals as u32,
            value(&args, "--sales", 20)? as u32,
        ))
    })();
    let (seeds, from, terminals, sales) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("keel-sim: {e}\nusage: keel-sim [--seeds N] [--from S] [--terminals K] [--sales N] [--plant-lying-fsync] [--plant-ack-unsaved]");
            return ExitCode::from(2);
        }
    };
    let plant = args.iter().any(|a| a == "--plant-lying-fsync");
    let plant_unsaved = args.iter().any(|a| a == "--plant-ack-unsaved");
    let started = Instant::now();
    let mut total = Faults::default();
    let mut failed = 0u64;
    let mut acked = 0usize;
    let mut work = Workload::default();
    for seed in from..from + seeds {
        let cfg = SimConfig {
            seed,
            terminals,
            sales_per_terminal: sales,
            plant_lying_fsync: plant,
            plant_ack_unsaved: plant_unsaved,
        };
        let o = run(&cfg);
        acked += o.acked;
        work.add(&o.workload);
        total.lost += o.faults.lost;
        total.duplicated += o.faults.duplicated;
        total.reordered += o.faults.reordered;
        total.partitions += o.faults.partitions;
        total.heals += o.faults.heals;
        total.power_cuts += o.faults.power_cuts;
        total.clock_jumps += o.faults.clock_jumps;
        total.cloud_outages += o.faults.cloud_outages;
        total.uploader_changes += o.faults.uploader_changes;
        total.disk_full_periods += o.faults.disk_full_periods;
        total.disk_full_refusals += o.faults.disk_full_refusals;
        total.restarts_refused_disk_full += o.faults.restarts_refused_disk_full;
        total.torn_power_cuts += o.faults.torn_power_cuts;
        total.torn_writes_kept += o.faults.torn_writes_kept;
        total.commits_cut_by_power += o.faults.commits_cut_by_power;
        total.paper_outs += o.faults.paper_outs;
        total.print_attempts_without_paper += o.faults.print_attempts_without_paper;
        if o.violations.is_empty() {
            say!(
                "seed {seed}: ok  trace {}  {} sales, {} Z reports, {} deliveries, raft {} leader terms {} entries, {} cloud batches, {} messages, {:.0} s simulated",
                &hex(&o.trace_hash)[..16],
                o.acked,
                o.z_reports,
                o.deliveries,
                o.raft_terms,
                o.raft_committed,
                o.cloud_batches,
                o.delivered,
                o.sim_ms as f64 / 1000.0
            );
        } else {
            failed += 1;
            say!("seed {seed}: FAILED  trace {}", &hex(&o.trace_hash)[..16]);
            for v in o.violations.iter().take(10) {
                say!("    {v}");
            }
            say!(
                "    replay: cargo xtask sim --seeds 1 --from {seed} --terminals {terminals} --sales {sales}{}{}",
                if plant { " --plant-lying-fsync" } else { "" },
                if plant_unsaved { " --plant-ack-unsaved" } else { "" }
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    say!(
        "{seeds} seeds in {secs:.1} s ({:.2} seeds/s), {acked} sales acknowledged, {failed} failed",
        seeds as f64 / secs.max(1e-9)
    );
    say!(
        "faults: lost {} duplicated {} reordered {} partitions {} heals {} power-cuts {} clock-jumps {} cloud-outages {} uploader-changes {}",
        total.lost, total.duplicated, total.reordered, total.partitions, total.heals, total.power_cuts, total.clock_jumps, total.cloud_outages, total.uploader_changes
    );
    say!(
        "disk faults: full-periods {} full-refusals {} restarts-refused-full {} torn-power-cuts {} torn-writes-kept {} commits-cut-by-power {}",
        total.disk_full_periods, total.disk_full_refusals, total.restarts_refused_disk_full, total.torn_power_cuts, total.torn_writes_kept, total.commits_cut_by_power
    );
    say!(
        "printer faults: paper-outs {} print-attempts-without-paper {}",
        total.paper_outs,
        total.print_attempts_without_paper
    );
    say!(
        "workload: card-sales {} cards-refused-offline {} refunds {} voids {} kitchen-tickets {} kitchen-advances {}",
        work.card_sales, work.cards_refused, work.refunds, work.voids, work.kitchen_tickets, work.kitchen_advances
    );
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
