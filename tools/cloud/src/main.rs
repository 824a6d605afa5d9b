//! `keel-cloud`: the reference cloud service. Parses the command line and runs
//! `init`, `serve` or an admin command; exit status 0 on success, 1 when the
//! command failed, 2 on a bad command line.

use keel_cloud::cli::{self, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keel-cloud: {e}");
            return ExitCode::from(2);
        }
    };
    let level = if matches!(command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .target(env_logger::Target::Stderr)
        .init();
    match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("keel-cloud {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Init(plan) => match keel_cloud::init::init(&plan) {
            Ok(()) => {
                println!(
                    "cloud directory {} ready: QUIC {} (server name {}), HTTP {}",
                    plan.dir.display(),
                    plan.listen,
                    plan.server_name,
                    plan.http
                );
                println!(
                    "start it with: keel-cloud serve --dir {}",
                    plan.dir.display()
                );
                println!(
                    "provision stores with: keel provision --store S --terminals N --out STORE_DIR --operator {}",
                    plan.dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keel-cloud: init: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(opts) => match keel_cloud::server::serve(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keel-cloud: serve: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Admin { dir, http, action } => match keel_cloud::admin::run(&dir, http, &action) {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keel-cloud: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
