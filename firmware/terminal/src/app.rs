//! Starting and stopping a whole terminal, shared by the two binaries: `keel`
//! (console only) and `keel-kiosk` (the touch UI, in keel-kiosk, plus the same
//! console). [`Terminal::start`] loads the config (or the demo store), opens
//! the journal and starts the peripherals, the cluster, the cloud uplink and
//! the health endpoint exactly as `keel console` always has;
//! [`Terminal::serve_console`] serves the technician console on stdin/stdout
//! or the configured serial device; [`Terminal::shutdown`] stops the runtimes.
//!
//! This module owns that order and the console's wiring. It must not parse
//! the command line (`cli` does), know about Slint or the screens (the UI
//! reaches the node through [`Terminal::ui_services`] and `ui_bridge`), or
//! hold any business rule.

use crate::cli::ConsoleArgs;
use crate::clock::SystemClock;
use crate::cluster_runtime::{self, ClusterHandle};
use crate::config::{self, ConfigError, DevicesConfig, UiConfig};
use crate::health::{self, HealthHandle};
use crate::node::Node;
use crate::peripherals::{Peripherals, ScanChannel};
use crate::ui_bridge::UiServices;
use crate::uplink_runtime::{self, UplinkHandle};
use crate::{console, demo};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Why a terminal cannot start or its console stopped with an error. The
/// messages are the ones `keel` has always printed after `keel: `.
#[derive(Debug, Error)]
pub enum AppError {
    /// Neither `--demo` nor `--config` (the command line checks this first).
    #[error("no config")]
    NoConfig,
    /// The config file is unreadable or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `demo_catalog = true` in a store that does not sell in EUR.
    #[error("{file}: demo_catalog is priced in EUR but the store sells in {currency}")]
    DemoCatalogCurrency {
        /// The config file.
        file: String,
        /// The store's currency.
        currency: String,
    },
    /// A runtime (journal, peripherals, cluster, uplink, health) could not start.
    #[error("{0}")]
    Start(String),
    /// The console ended with an I/O error (`on` names where it ran).
    #[error("{on}: {message}")]
    Console {
        /// `console` or `console on <device>`.
        on: String,
        /// What went wrong.
        message: String,
    },
}

fn start_err(e: impl std::fmt::Display) -> AppError {
    AppError::Start(e.to_string())
}

/// A running terminal: the node and every runtime the config asks for.
pub struct Terminal {
    /// The node (journal, folded state), shared with every runtime.
    pub node: Arc<Mutex<Node>>,
    /// Where the journal lives.
    pub data_dir: PathBuf,
    /// The `[ui]` section (defaults for `--demo`).
    pub ui: UiConfig,
    console_device: Option<PathBuf>,
    console_baud: u32,
    peripherals: Option<Arc<Peripherals>>,
    cluster: Option<Arc<ClusterHandle>>,
    uplink: Option<Arc<UplinkHandle>>,
    health: Option<HealthHandle>,
}

/// What one start draws from: the config file's sections, or the demo store's.
struct Plan {
    profile: keel_core::profile::StoreProfile,
    data_dir: PathBuf,
    console_device: Option<PathBuf>,
    console_baud: u32,
    seed: Vec<keel_core::event::EventBody>,
    cluster: Option<config::ClusterConfig>,
    cloud: Option<config::CloudConfig>,
    health: Option<config::HealthConfig>,
    devices: DevicesConfig,
    ui: UiConfig,
    ai: config::AiSettings,
    ota: config::OtaSettings,
    board: Option<PathBuf>,
}

fn plan(c: &ConsoleArgs) -> Result<Plan, AppError> {
    if c.demo {
        let terminal = c.terminal.unwrap_or(1);
        return Ok(Plan {
            profile: demo::profile(terminal),
            data_dir: c
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("keel-data")),
            console_device: None,
            console_baud: 115_200,
            seed: demo::seed_events(),
            cluster: None,
            cloud: None,
            health: None,
            devices: DevicesConfig::default(),
            ui: UiConfig::default(),
            ai: config::AiSettings::default(),
            ota: config::OtaSettings::default(),
            board: c.board.clone(),
        });
    }
    let path = c.config.clone().ok_or(AppError::NoConfig)?;
    let cfg = config::load(&path)?;
    if cfg.demo_catalog && cfg.profile.currency != keel_core::money::Currency::EUR {
        return Err(AppError::DemoCatalogCurrency {
            file: path.display().to_string(),
            currency: cfg.profile.currency.to_string(),
        });
    }
    Ok(Plan {
        seed: if cfg.demo_catalog {
            demo::seed_events()
        } else {
            Vec::new()
        },
        data_dir: c.data_dir.clone().unwrap_or(cfg.data_dir),
        profile: cfg.profile,
        console_device: cfg.console_device,
        console_baud: cfg.console_baud,
        cluster: cfg.cluster,
        cloud: cfg.cloud,
        health: cfg.health,
        devices: cfg.devices,
        ui: cfg.ui,
        ai: cfg.ai,
        ota: cfg.ota,
        board: c.board.clone().or(cfg.board),
    })
}

/// `--printer-port` and `--scanner-events` on top of the config's sections.
pub fn apply_device_flags(c: &ConsoleArgs, d: &mut DevicesConfig) {
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
            None => d.printer = Some(config::PrinterConfig::at(port)),
        }
        if d.drawer.is_none() {
            d.drawer = Some(config::DrawerConfig::ViaPrinter);
        }
    }
    if let Some(path) = &c.scanner_events {
        let source = config::ScannerSource::Events(path.clone());
        match &mut d.scanner {
            Some(s) => s.source = source,
            None => d.scanner = Some(config::ScannerConfig::reading(source)),
        }
    }
}

impl Terminal {
    /// Loads the config (or the demo store) named by `c`, opens the journal and
    /// starts the peripherals, cluster, uplink and health endpoint it names.
    pub fn start(c: &ConsoleArgs) -> Result<Terminal, AppError> {
        let mut p = plan(c)?;
        let board = match &p.board {
            Some(path) => Some(keel_board::load(path).map_err(start_err)?),
            None => None,
        };
        if let Some(b) = &board {
            crate::board::apply_defaults(
                b,
                &mut p.console_device,
                &mut p.console_baud,
                &mut p.devices,
            );
        }
        apply_device_flags(c, &mut p.devices);
        let mut node = Node::open(p.profile, &p.data_dir, Box::new(SystemClock::new()), p.seed)
            .map_err(start_err)?;
        if let Some(b) = &board {
            // The OTA channel reports the board; releases are offered per board.
            node.ota_channel().set_board(&b.name);
        }
        crate::ai::start_on(&mut node, &p.ai, c.models_dir.as_deref(), &p.data_dir);
        log::info!(
            "terminal {} of {} ready, journal at seq {}",
            node.profile.terminal,
            node.profile.store,
            node.journal().last_seq()
        );
        let node = Arc::new(Mutex::new(node));
        let peripherals = if p.devices == DevicesConfig::default() {
            None
        } else {
            Some(Arc::new(
                Peripherals::start(node.clone(), &p.devices, &p.data_dir).map_err(start_err)?,
            ))
        };
        let cluster = match &p.cluster {
            Some(cfg) => Some(Arc::new(
                cluster_runtime::start(node.clone(), cfg).map_err(start_err)?,
            )),
            None => None,
        };
        // The cloud uplink runs beside the cluster runtime (the config requires a
        // [cluster] with [cloud]); it uploads only while this terminal leads.
        let uplink = match (&p.cloud, &p.cluster, &cluster) {
            (Some(cloud), Some(cluster_cfg), Some(handle)) => Some(Arc::new(
                uplink_runtime::start(node.clone(), handle.link(), cloud, cluster_cfg)
                    .map_err(start_err)?,
            )),
            _ => None,
        };
        let ota = crate::ota::OtaService::start(crate::ota::OtaStart {
            node: node.clone(),
            data_dir: p.data_dir.clone(),
            settings: p.ota.clone(),
            board,
            utc_offset_minutes: p.ai.utc_offset_minutes,
            ui_expected: c.ui_expected,
            cluster: cluster.as_ref().map(|c| c.link()),
        });
        crate::ui_bridge::exec::lock(&node).set_ota(ota);
        let health = match &p.health {
            Some(h) => Some(
                health::start(
                    h.listen,
                    health::Sources {
                        node: node.clone(),
                        cluster: cluster.as_ref().map(|c| c.link()),
                        uplink: uplink.as_ref().map(|u| u.view()),
                    },
                )
                .map_err(start_err)?,
            ),
            None => None,
        };
        Ok(Terminal {
            node,
            data_dir: p.data_dir,
            ui: p.ui,
            console_device: p.console_device,
            console_baud: p.console_baud,
            peripherals,
            cluster,
            uplink,
            health,
        })
    }

    /// Tells systemd the terminal is ready (when started as a `Type=notify` service) and
    /// feeds its watchdog while the core answers (its lock is free within half the
    /// watchdog interval). None when not under systemd or when the notification failed
    /// (logged: selling goes on either way; systemd then restarts a notify service that
    /// never said ready, which is what should happen).
    pub fn notify_service_manager(&self) -> Option<crate::service_notify::ServiceNotify> {
        let node = self.node.clone();
        let status = {
            let n = crate::ui_bridge::exec::lock(&self.node);
            format!(
                "terminal {} of {} selling, journal at seq {}",
                n.profile.terminal,
                n.profile.store,
                n.journal().last_seq()
            )
        };
        match crate::service_notify::ServiceNotify::start(&status, move |budget| {
            crate::service_notify::lock_free_within(&node, budget)
        }) {
            Ok(n) => n,
            Err(e) => {
                log::error!("service manager: {e}");
                None
            }
        }
    }

    /// What the UI bridge reaches beyond the node (shared handles, no copies).
    pub fn ui_services(&self) -> UiServices {
        UiServices {
            cluster: self.cluster.clone(),
            uplink: self.uplink.clone(),
            devices: self.peripherals.clone(),
            ..UiServices::default()
        }
    }

    /// The scanner's channel, if a scanner runs (given out once): the console
    /// takes it when there is no UI; with a UI, the UI takes it and the
    /// console keeps only typed lines.
    pub fn take_scans(&self) -> Option<ScanChannel> {
        self.peripherals.as_ref().and_then(|p| p.scans())
    }

    /// Serves the technician console until its input ends or `quit`: on the
    /// config's serial device unless `--stdio`, else on stdin/stdout. `scans`
    /// (from [`Terminal::take_scans`]) mixes the scanner's barcodes into the
    /// console's input in arrival order.
    pub fn serve_console(
        &self,
        c: &ConsoleArgs,
        scans: Option<ScanChannel>,
    ) -> Result<(), AppError> {
        let services = console::Services {
            cluster: self.cluster.as_deref(),
            uplink: self.uplink.as_deref(),
            devices: self.peripherals.as_deref(),
        };
        let node = &self.node;
        match self.console_device.clone().filter(|_| !c.stdio) {
            Some(dev) => {
                let on = format!("console on {}", dev.display());
                let console_err = |e: &dyn std::fmt::Display| AppError::Console {
                    on: on.clone(),
                    message: e.to_string(),
                };
                let port = console::serial::open(&dev, self.console_baud).map_err(start_err)?;
                let reader = BufReader::new(port.try_clone().map_err(start_err)?);
                match scans {
                    Some((tx, rx)) => {
                        std::thread::spawn(move || console::forward_lines(reader, tx));
                        console::serve_channel(node, services, c.json, false, rx, port)
                    }
                    None => console::serve(node, services, c.json, false, reader, port),
                }
                .map_err(|e| console_err(&e))
            }
            None => {
                let stdout = std::io::stdout();
                // SAFETY: isatty only inspects file descriptor 0.
                let interactive = unsafe { libc::isatty(0) } == 1;
                let r = match scans {
                    // Scans and typed lines share one console, in arrival order.
                    Some((tx, rx)) => {
                        std::thread::spawn(move || {
                            console::forward_lines(std::io::stdin().lock(), tx)
                        });
                        console::serve_channel(
                            node,
                            services,
                            c.json,
                            interactive,
                            rx,
                            stdout.lock(),
                        )
                    }
                    None => console::serve(
                        node,
                        services,
                        c.json,
                        interactive,
                        std::io::stdin().lock(),
                        stdout.lock(),
                    ),
                };
                let _ = std::io::stdout().flush();
                r.map_err(|e| AppError::Console {
                    on: "console".into(),
                    message: e.to_string(),
                })
            }
        }
    }

    /// Stops the uplink, the health endpoint and the cluster runtime, waiting
    /// for each runtime's thread when nothing else (a UI bridge still
    /// running) holds it; otherwise the runtime is told to stop and ends on
    /// its own.
    pub fn shutdown(self) {
        if let Some(u) = self.uplink {
            if let Ok(u) = Arc::try_unwrap(u) {
                u.shutdown();
            }
        }
        if let Some(h) = self.health {
            h.shutdown();
        }
        if let Some(c) = self.cluster {
            if let Ok(c) = Arc::try_unwrap(c) {
                c.shutdown();
            }
        }
    }
}
