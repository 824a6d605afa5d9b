//! `keel`: the terminal binary. Parses the command line, starts the terminal
//! (`keel_terminal::app`: config or demo store, journal, runtimes) and serves
//! the technician console. `keel-kiosk` starts the same terminal with the UI.

use keel_terminal::app::Terminal;
use keel_terminal::cli::{self, Cli};
use keel_terminal::node::FIRMWARE_VERSION;
use std::process::ExitCode;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .target(env_logger::Target::Stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(Cli::Help) => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Cli::Version) => {
            println!("keel {FIRMWARE_VERSION}");
            ExitCode::SUCCESS
        }
        Ok(Cli::Provision(plan)) => match keel_terminal::provision::provision(&plan) {
            Ok(configs) => {
                println!(
                    "store {} provisioned in {}:",
                    plan.store,
                    plan.out.display()
                );
                for c in configs {
                    println!("  keel console --config {}", c.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keel: provision: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(Cli::ProvisionAdd {
            out,
            terminal,
            host,
            base_port,
            mdns,
        }) => {
            match keel_terminal::provision::provision_add(&out, terminal, host, base_port, mdns) {
                Ok(config) => {
                    println!(
                        "terminal {terminal} provisioned; start it with: keel console --config {}",
                        config.display()
                    );
                    println!("then admit it from any terminal's console: login 9999, cluster add {terminal}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("keel: provision: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(Cli::HashPin) => {
            let mut pin = String::new();
            let _ = std::io::stdin().read_line(&mut pin);
            let pin = pin.trim();
            if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                eprintln!("keel: hash-pin: a PIN is 4 to 8 digits");
                return ExitCode::from(2);
            }
            match keel_terminal::provision::hash_pin(pin) {
                Ok(h) => {
                    println!("pin_hash = \"{h}\"");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("keel: hash-pin: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Ok(Cli::Console(c)) => match run_console(c) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keel: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("keel: {e}");
            ExitCode::from(2)
        }
    }
}

/// `keel console`: the whole terminal (`app::Terminal`) with the console on
/// this terminal or the configured serial device; the console's end stops it.
fn run_console(c: cli::ConsoleArgs) -> Result<(), String> {
    let terminal = Terminal::start(&c).map_err(|e| e.to_string())?;
    let service = terminal.notify_service_manager();
    let scans = terminal.take_scans();
    let result = terminal.serve_console(&c, scans).map_err(|e| e.to_string());
    if let Some(s) = service {
        s.stop();
    }
    terminal.shutdown();
    result
}
