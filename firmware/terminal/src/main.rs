//! `keel`: the terminal binary. Parses the command line, loads the config (or the
//! demo store), opens the journal and serves the technician console.

use keel_terminal::cli::{self, Cli};
use keel_terminal::clock::SystemClock;
use keel_terminal::console;
use keel_terminal::node::{Node, FIRMWARE_VERSION};
use keel_terminal::{cluster_runtime, config, demo, health, peripherals, uplink_runtime};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

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

/// `--printer-port` and `--scanner-events` on top of the config's sections.
fn apply_device_flags(c: &cli::ConsoleArgs, d: &mut config::DevicesConfig) {
    if let Some(path) = &c.printer_port {
        let port = config::PortConfig::Serial {
            path: path.clone(),
            baud: config::devices::DEFAULT_BAUD,
            flow: config::Flow::None,
        };
        match &mut d.printer {
            Some(p) => {
                // The config's speed and flow control stay; only the device changes.
                if let config::PortConfig::Serial { path: p_path, .. } = &mut p.port {
                    *p_path = path.clone();
                } else {
                    p.port = port;
                }
            }
            None => {
                d.printer = Some(config::PrinterConfig {
                    port,
                    width_mm: 80,
                    codepage: "cp858".into(),
                    drawer_pin: 2,
                })
            }
        }
        if d.drawer.is_none() {
            d.drawer = Some(config::DrawerConfig::ViaPrinter);
        }
    }
    if let Some(path) = &c.scanner_events {
        let source = config::ScannerSource::Events(path.clone());
        match &mut d.scanner {
            Some(s) => s.source = source,
            None => {
                d.scanner = Some(config::ScannerConfig {
                    source,
                    layout: "us".into(),
                    prefix: String::new(),
                    suffix: String::new(),
                    terminator: "enter".into(),
                    max_gap_ms: 50,
                })
            }
        }
    }
}

fn run_console(c: cli::ConsoleArgs) -> Result<(), String> {
    let (profile, data_dir, device, baud, seed, cluster, cloud, health_cfg, mut devices_cfg) =
        if c.demo {
            let terminal = c.terminal.unwrap_or(1);
            let dir = c
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("keel-data"));
            (
                demo::profile(terminal),
                dir,
                None,
                115_200,
                demo::seed_events(),
                None,
                None,
                None,
                config::DevicesConfig::default(),
            )
        } else {
            let path = c.config.clone().ok_or("no config")?;
            let cfg = config::load(&path).map_err(|e| e.to_string())?;
            let dir = c.data_dir.clone().unwrap_or(cfg.data_dir);
            if cfg.demo_catalog && cfg.profile.currency != keel_core::money::Currency::EUR {
                return Err(format!(
                    "{}: demo_catalog is priced in EUR but the store sells in {}",
                    path.display(),
                    cfg.profile.currency
                ));
            }
            let seed = if cfg.demo_catalog {
                demo::seed_events()
            } else {
                Vec::new()
            };
            (
                cfg.profile,
                dir,
                cfg.console_device,
                cfg.console_baud,
                seed,
                cfg.cluster,
                cfg.cloud,
                cfg.health,
                cfg.devices,
            )
        };
    apply_device_flags(&c, &mut devices_cfg);
    let node = Node::open(profile, &data_dir, Box::new(SystemClock::new()), seed)
        .map_err(|e| e.to_string())?;
    log::info!(
        "terminal {} of {} ready, journal at seq {}",
        node.profile.terminal,
        node.profile.store,
        node.journal().last_seq()
    );
    let node = Arc::new(Mutex::new(node));
    let peripherals = if devices_cfg == config::DevicesConfig::default() {
        None
    } else {
        Some(
            peripherals::Peripherals::start(node.clone(), &devices_cfg, &data_dir)
                .map_err(|e| e.to_string())?,
        )
    };
    let cluster_handle = match &cluster {
        Some(cfg) => Some(cluster_runtime::start(node.clone(), cfg).map_err(|e| e.to_string())?),
        None => None,
    };
    // The cloud uplink runs beside the cluster runtime (the config requires a
    // [cluster] with [cloud]); it uploads only while this terminal leads.
    let uplink = match (&cloud, &cluster, &cluster_handle) {
        (Some(cloud), Some(cluster_cfg), Some(handle)) => Some(
            uplink_runtime::start(node.clone(), handle.link(), cloud, cluster_cfg)
                .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let health = match &health_cfg {
        Some(h) => Some(
            health::start(
                h.listen,
                health::Sources {
                    node: node.clone(),
                    cluster: cluster_handle.as_ref().map(|c| c.link()),
                    uplink: uplink.as_ref().map(|u| u.view()),
                },
            )
            .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let cluster = cluster_handle;
    let services = console::Services {
        cluster: cluster.as_ref(),
        uplink: uplink.as_ref(),
        devices: peripherals.as_ref(),
    };
    let result = match device.filter(|_| !c.stdio) {
        Some(dev) => {
            let port = console::serial::open(&dev, baud).map_err(|e| e.to_string())?;
            let reader = BufReader::new(port.try_clone().map_err(|e| e.to_string())?);
            match peripherals.as_ref().and_then(|p| p.scans()) {
                Some((tx, rx)) => {
                    std::thread::spawn(move || console::forward_lines(reader, tx));
                    console::serve_channel(&node, services, c.json, false, rx, port)
                }
                None => console::serve(&node, services, c.json, false, reader, port),
            }
            .map_err(|e| format!("console on {}: {e}", dev.display()))
        }
        None => {
            let stdout = std::io::stdout();
            // SAFETY: isatty only inspects file descriptor 0.
            let interactive = unsafe { libc::isatty(0) } == 1;
            let r = match peripherals.as_ref().and_then(|p| p.scans()) {
                // Scans and typed lines share one console, in arrival order.
                Some((tx, rx)) => {
                    std::thread::spawn(move || console::forward_lines(std::io::stdin().lock(), tx));
                    console::serve_channel(&node, services, c.json, interactive, rx, stdout.lock())
                }
                None => console::serve(
                    &node,
                    services,
                    c.json,
                    interactive,
                    std::io::stdin().lock(),
                    stdout.lock(),
                ),
            };
            let _ = std::io::stdout().flush();
            r.map_err(|e| format!("console: {e}"))
        }
    };
    if let Some(u) = uplink {
        u.shutdown();
    }
    if let Some(h) = health {
        h.shutdown();
    }
    if let Some(handle) = cluster {
        handle.shutdown();
    }
    result
}
