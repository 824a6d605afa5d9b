//! `keel-kiosk`: the terminal with its touch UI, the program the appliance
//! boots into. It starts the whole terminal exactly as `keel console` does
//! (`keel_terminal::app::Terminal`: config, journal, cluster, uplink,
//! peripherals, health endpoint), serves the technician console on its own
//! thread (stdin/stdout or the configured serial device), and runs the UI on
//! the main thread on the backend chosen by `keel_kiosk::backend` (printed
//! with the reason). The console's end ends the program, as with `keel`; so
//! does closing the window.
//!
//! Scanner barcodes go to the UI (the sale on screen) rather than the console.
//! Product pictures come from `<data-dir>/images/` through
//! `keel_kiosk::pictures` (decoded off the UI thread); a demo terminal
//! (`--demo`, or `--demo-cards` as `cargo xtask run` starts it) gets the demo
//! catalog's pictures painted there when the directory holds none.

mod args;
mod display;

use args::Command;
use display::{Start, Stop};
use keel_kiosk::backend::{self, Backend, Probe};
use keel_kiosk::{CardTokenSource, DemoCardTerminal};
use keel_terminal::app::Terminal;
use keel_terminal::node::FIRMWARE_VERSION;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .target(env_logger::Target::Stderr)
        .init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match args::parse(&argv) {
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            println!("keel-kiosk {FIRMWARE_VERSION}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(a)) => match run(a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keel-kiosk: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("keel-kiosk: {e}");
            ExitCode::from(2)
        }
    }
}

/// Tells the OTA health check the UI is up: once Slint's event loop runs the
/// shown window (a call queued into the loop succeeds only then), at once for
/// the headless renderer.
fn report_ui_up(terminal: &Terminal, backend: Backend) {
    let Some(ota) = keel_terminal::ui_bridge::exec::lock(&terminal.node)
        .ota()
        .cloned()
    else {
        return;
    };
    if backend == Backend::Headless {
        ota.ui_up();
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("keel-ui-up".into())
        .spawn(move || {
            // Up to ten minutes: past that the health check has failed anyway.
            for _ in 0..3000 {
                let o = ota.clone();
                if slint::invoke_from_event_loop(move || o.ui_up()).is_ok() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
    if let Err(e) = spawned {
        log::error!("keel-kiosk: UI-up report thread: {e}");
    }
}

fn run(a: args::Args) -> Result<(), String> {
    // A UI runs: the OTA health check of a new system waits for it.
    let mut console_args = a.console.clone();
    console_args.ui_expected = true;
    let terminal = Arc::new(Terminal::start(&console_args).map_err(|e| e.to_string())?);
    let choice = backend::choose(terminal.ui.backend, &Probe::detect(), Backend::compiled)
        .map_err(|e| e.to_string())?;
    // stderr: stdout belongs to the console (one JSON object per reply with --json).
    eprintln!(
        "keel-kiosk: {} backend ({}); {} screens, language {}",
        choice.backend.as_str(),
        choice.why,
        terminal.ui.mode.as_str(),
        terminal.ui.language
    );
    log::info!("ui backend {}: {}", choice.backend.as_str(), choice.why);
    let images = keel_kiosk::pictures::images_dir(&terminal.data_dir);
    if a.console.demo || a.demo_cards {
        // The demo store: its catalog's pictures, painted when none are there.
        if let Err(e) = keel_kiosk::demo_pictures::write_if_empty(
            &images,
            &keel_kiosk::demo_pictures::demo_products(),
        ) {
            log::warn!("keel-kiosk: demo pictures not written: {e}");
        }
    }
    let stop = Stop::default();
    let console = if a.with_console {
        let (terminal, stop, c) = (Arc::clone(&terminal), stop.clone(), a.console.clone());
        let handle = std::thread::Builder::new()
            .name("keel-console".into())
            .spawn(move || {
                let r = terminal.serve_console(&c, None);
                stop.raise();
                r
            })
            .map_err(|e| format!("console thread: {e}"))?;
        Some(handle)
    } else {
        None
    };
    let cards: Option<Box<dyn CardTokenSource>> = if a.demo_cards {
        log::warn!("keel-kiosk: DEMO card terminal: card tenders approved with made-up tokens");
        Some(Box::new(DemoCardTerminal::default()))
    } else {
        None
    };
    let start = Start {
        node: Arc::clone(&terminal.node),
        services: terminal.ui_services(),
        cards,
        scans: terminal.take_scans(),
        size: a.size,
        // The config checked the word; the screens parse the same words.
        mode: keel_ui::mode::ScreenMode::parse(terminal.ui.mode.as_str())
            .map_err(|e| e.to_string())?,
        language: terminal.ui.language.clone(),
        images,
    };
    let service = terminal.notify_service_manager();
    report_ui_up(&terminal, choice.backend);
    let shown = display::run(choice.backend, start, stop.clone()).map_err(|e| e.to_string());
    if let Some(s) = service {
        s.stop();
    }
    // The console's own result, when it is what ended the program.
    let console_result = match console {
        Some(h) if h.is_finished() => h
            .join()
            .unwrap_or_else(|_| {
                Err(keel_terminal::app::AppError::Start(
                    "console thread panicked".into(),
                ))
            })
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    };
    if let Ok(terminal) = Arc::try_unwrap(terminal) {
        terminal.shutdown();
    }
    shown.and(console_result)
}
