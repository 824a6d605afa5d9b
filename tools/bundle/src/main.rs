//! `keel-bundle`: makes signing keys, signs OTA bundles, inspects them.
//! Exit status 0 on success, 1 when the command failed (or found a bad
//! signature or payload), 2 on a bad command line.

use keel_bundle::cli::{self, Command};
use keel_bundle::commands;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .target(env_logger::Target::Stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keel-bundle: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("keel-bundle {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Keygen { out } => commands::keygen(&out),
        Command::Sign(args) => {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            commands::sign(&args, now_ms)
        }
        Command::Inspect { file, pubkey, json } => {
            commands::inspect(&file, pubkey.as_deref(), json)
        }
    };
    match result {
        Ok(outcome) => {
            println!("{}", outcome.text);
            if outcome.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("keel-bundle: {e}");
            ExitCode::FAILURE
        }
    }
}
