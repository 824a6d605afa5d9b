//! The command line of `keel-kiosk`: the options of `keel console` (parsed by
//! keel-terminal's own `cli`, so both binaries start a terminal the same way)
//! plus the kiosk's own. Pure: arguments in, [`Args`] or a message out.

use keel_terminal::cli::{self, Cli, ConsoleArgs};

/// Usage text.
pub const USAGE: &str = "usage:
  keel-kiosk [--demo | --config FILE] [--data-dir DIR] [--terminal N] [--json] [--stdio]
             [--printer-port PATH] [--scanner-events PATH] [--no-console] [--demo-cards]
             [--size WxH]
  keel-kiosk --version
  keel-kiosk help

  Starts the terminal exactly as `keel console` does (same options, config, journal,
  cluster, uplink, peripherals, health endpoint and technician console) and shows the
  touch UI. The console's end (end of input or `quit`) ends the program, as with keel.

  --no-console  no technician console: the UI runs until its window closes or the
                process is stopped
  --demo-cards  DEMO ONLY: card tenders are approved with made-up tokens (no card
                terminal); never on a store that takes real cards
  --size WxH    window size on the desktop and frame size headless (default 1280x800)

  backend: KEEL_UI_BACKEND=auto|linuxkms|winit|headless, else the config's
  [ui] backend (default auto: winit with DISPLAY or WAYLAND_DISPLAY, linuxkms with
  /dev/dri/card*, headless otherwise)
  renderer on linuxkms: KEEL_UI_RENDERER=auto|software|gl (auto: GL where the board
  has it, else software)
  headless: KEEL_UI_FRAME=FILE.png writes each rendered frame there";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Print the version.
    Version,
    /// Start the terminal with the UI.
    Run(Args),
}

/// The kiosk's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// The terminal's options, as `keel console` takes them.
    pub console: ConsoleArgs,
    /// Serve the technician console.
    pub with_console: bool,
    /// Wire the demo card terminal.
    pub demo_cards: bool,
    /// Window or frame size in pixels.
    pub size: (u32, u32),
}

/// Default window and frame size.
pub const DEFAULT_SIZE: (u32, u32) = (1280, 800);

fn parse_size(v: &str) -> Option<(u32, u32)> {
    let (w, h) = v.split_once(['x', 'X'])?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    ((320..=8192).contains(&w) && (240..=8192).contains(&h)).then_some((w, h))
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        Some("help" | "--help" | "-h") => return Ok(Command::Help),
        Some("--version" | "-V" | "version") => return Ok(Command::Version),
        _ => {}
    }
    let mut with_console = true;
    let mut demo_cards = false;
    let mut size = DEFAULT_SIZE;
    let mut rest = vec!["console".to_string()];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-console" => with_console = false,
            "--demo-cards" => demo_cards = true,
            "--size" => {
                let v = it.next().ok_or("--size needs a value like 1280x800")?;
                size = parse_size(v)
                    .ok_or_else(|| format!("--size: expected WxH like 1280x800, got {v:?}"))?;
            }
            _ => rest.push(a.clone()),
        }
    }
    match cli::parse(&rest) {
        Ok(Cli::Console(console)) => Ok(Command::Run(Args {
            console,
            with_console,
            demo_cards,
            size,
        })),
        // Only `console` options reach the parser; it answers with its own usage.
        Ok(_) => Err(USAGE.to_string()),
        Err(e) => Err(format!("{}\n{USAGE}", e.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn console_options_and_the_kiosks_own() {
        let Command::Run(a) = parse(&args(
            "--demo --no-console --data-dir /tmp/d --size 1024x768",
        ))
        .unwrap() else {
            panic!("not a run");
        };
        assert!(a.console.demo && !a.with_console && !a.demo_cards);
        assert_eq!(a.console.data_dir, Some("/tmp/d".into()));
        assert_eq!(a.size, (1024, 768));
        let Command::Run(a) = parse(&args("--config t.toml --demo-cards --json")).unwrap() else {
            panic!("not a run");
        };
        assert!(a.with_console && a.demo_cards && a.console.json);
        assert_eq!(a.size, DEFAULT_SIZE);
        assert_eq!(parse(&args("help")).unwrap(), Command::Help);
        assert_eq!(parse(&args("--version")).unwrap(), Command::Version);
        for bad in [
            "",
            "--demo --config t.toml",
            "--demo --size 10x10",
            "--demo --size",
            "--demo --bogus",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }
}
