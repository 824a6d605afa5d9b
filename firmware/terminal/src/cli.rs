//! Command-line parsing for the `keel` binary. Pure: turns arguments into a
//! [`Cli`] or a message with the usage.

use std::path::PathBuf;
use thiserror::Error;

/// Usage text.
pub const USAGE: &str = "usage:
  keel console [--demo | --config FILE] [--data-dir DIR] [--terminal N] [--json] [--stdio]
               [--printer-port PATH] [--scanner-events PATH] [--models-dir DIR] [--board FILE]
  keel provision --store S --terminals N --out DIR [--host IP] [--base-port P] [--mdns] [--no-demo-catalog]
                 [--operator CLOUD_DIR [--cloud ADDR]]
  keel provision --add-terminal N --out DIR [--host IP] [--base-port P] [--mdns]
  keel hash-pin           (reads a PIN on stdin, prints a pin_hash for terminal.toml)
  keel --version
  keel help

  console     serve the technician console (stdin/stdout, or the serial device named in the config)
  --demo      run the built-in demo store (PINs: cashier 1111, manager 9999, technician 0000)
  --config    the terminal's TOML configuration
  --data-dir  where the journal lives (overrides the config; default ./keel-data for --demo)
  --terminal  terminal number for --demo (default 1)
  --json      one JSON object per reply
  --stdio     use stdin/stdout even if the config names a serial device
  --printer-port    the receipt printer's serial device (9600 8N1 unless the config says
                    otherwise); receipts print there and the drawer kicks through it
  --scanner-events  kernel input_event records of a keyboard-wedge scanner (its event node,
                    a recorded stream or a FIFO); each scan goes into the open sale
  --models-dir      the AI models' directory (overrides [ai] models_dir; default
                    DATA-DIR/models when it exists, else the repository's models/)
  --board           the board description (overrides [terminal] board): device defaults,
                    the A/B slots and bootloader for firmware OTA (board/README.md)

  provision   make a store CA, a certificate per terminal and DIR/t<n>/terminal.toml
              (terminal n listens on --host (127.0.0.1) port --base-port (7101) + n - 1)
  --operator  the directory `keel-cloud init` wrote: the store CA is issued by its operator
              CA and each terminal gets [cloud] (the uplink) and [health] (TCP port
              --base-port + 100 + n); --add-terminal keeps what the store was provisioned with
  --cloud     the cloud's QUIC address as terminals dial it (default: from CLOUD_DIR/cloud.toml)";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cli {
    /// Print the version.
    Version,
    /// Print usage.
    Help,
    /// Serve the console.
    Console(ConsoleArgs),
    /// Provision a store (with its operator's cloud, if `--operator` was given).
    Provision(crate::provision::ProvisionRequest),
    /// Print the hash of a PIN read from stdin.
    HashPin,
    /// Add a terminal to a provisioned store.
    ProvisionAdd {
        /// The store's provisioning directory.
        out: PathBuf,
        /// The new terminal's id.
        terminal: u32,
        /// Listen host.
        host: std::net::IpAddr,
        /// Base port (terminal n listens on base + n - 1).
        base_port: u16,
        /// mDNS on.
        mdns: bool,
    },
}

/// Arguments of `keel console`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsoleArgs {
    /// Use the demo store.
    pub demo: bool,
    /// Config file.
    pub config: Option<PathBuf>,
    /// Data directory override.
    pub data_dir: Option<PathBuf>,
    /// Demo terminal number.
    pub terminal: Option<u32>,
    /// JSON replies.
    pub json: bool,
    /// Force stdio.
    pub stdio: bool,
    /// Receipt printer serial device (overrides the config's `[printer]` port).
    pub printer_port: Option<PathBuf>,
    /// Scanner event source (overrides the config's `[scanner]` source).
    pub scanner_events: Option<PathBuf>,
    /// The AI models' directory (overrides the config's `[ai] models_dir`).
    pub models_dir: Option<PathBuf>,
    /// The board description (overrides the config's `[terminal] board`).
    pub board: Option<PathBuf>,
    /// A UI runs beside the console (keel-kiosk sets this): the OTA health
    /// check waits for the UI's report.
    pub ui_expected: bool,
}

/// A bad command line.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}\n{USAGE}")]
pub struct CliError(pub String);

/// Parses `args` (without the program name).
pub fn parse(args: &[String]) -> Result<Cli, CliError> {
    let mut it = args.iter();
    let first = it.next().map(String::as_str);
    match first {
        None | Some("help") | Some("--help") | Some("-h") => return Ok(Cli::Help),
        Some("--version") | Some("-V") | Some("version") => return Ok(Cli::Version),
        Some("hash-pin") => return Ok(Cli::HashPin),
        Some("console") => {}
        Some("provision") => return parse_provision(it.as_slice()),
        Some(other) => return Err(CliError(format!("unknown command {other:?}"))),
    }
    let mut c = ConsoleArgs::default();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| CliError(format!("{name} needs a value")))
        };
        match a.as_str() {
            "--demo" => c.demo = true,
            "--json" => c.json = true,
            "--stdio" => c.stdio = true,
            "--config" => c.config = Some(PathBuf::from(value("--config")?)),
            "--data-dir" => c.data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--printer-port" => c.printer_port = Some(PathBuf::from(value("--printer-port")?)),
            "--models-dir" => c.models_dir = Some(PathBuf::from(value("--models-dir")?)),
            "--board" => c.board = Some(PathBuf::from(value("--board")?)),
            "--scanner-events" => {
                c.scanner_events = Some(PathBuf::from(value("--scanner-events")?))
            }
            "--terminal" => {
                let v = value("--terminal")?;
                let n: u32 = v
                    .parse()
                    .map_err(|_| CliError(format!("--terminal must be a number, got {v:?}")))?;
                if n == 0 {
                    return Err(CliError("--terminal starts at 1".into()));
                }
                c.terminal = Some(n);
            }
            other => return Err(CliError(format!("unknown option {other:?}"))),
        }
    }
    if c.demo == c.config.is_some() {
        return Err(CliError(
            "give exactly one of --demo or --config FILE".into(),
        ));
    }
    Ok(Cli::Console(c))
}

fn parse_provision(args: &[String]) -> Result<Cli, CliError> {
    use keel_core::ids::StoreId;
    let mut store = None;
    let mut terminals = None;
    let mut out = None;
    let mut host: std::net::IpAddr = std::net::Ipv4Addr::LOCALHOST.into();
    let mut base_port = 7101u16;
    let mut mdns = false;
    let mut demo_catalog = true;
    let mut add = None;
    let mut operator: Option<PathBuf> = None;
    let mut cloud: Option<std::net::SocketAddr> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| CliError(format!("{name} needs a value")))
        };
        match a.as_str() {
            "--store" => store = Some(StoreId(value("--store")?)),
            "--terminals" => {
                let v = value("--terminals")?;
                terminals =
                    Some(v.parse::<u32>().map_err(|_| {
                        CliError(format!("--terminals must be a number, got {v:?}"))
                    })?);
            }
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--host" => {
                let v = value("--host")?;
                host = v
                    .parse()
                    .map_err(|_| CliError(format!("--host must be an IP address, got {v:?}")))?;
            }
            "--base-port" => {
                let v = value("--base-port")?;
                base_port = v.parse().map_err(|_| {
                    CliError(format!("--base-port must be a port number, got {v:?}"))
                })?;
            }
            "--mdns" => mdns = true,
            "--no-demo-catalog" => demo_catalog = false,
            "--operator" => operator = Some(PathBuf::from(value("--operator")?)),
            "--cloud" => {
                let v = value("--cloud")?;
                cloud = Some(v.parse().map_err(|_| {
                    CliError(format!(
                        "--cloud must be an address like 127.0.0.1:7400, got {v:?}"
                    ))
                })?);
            }
            "--add-terminal" => {
                let v = value("--add-terminal")?;
                add = Some(v.parse::<u32>().map_err(|_| {
                    CliError(format!("--add-terminal must be a number, got {v:?}"))
                })?);
            }
            other => return Err(CliError(format!("unknown option {other:?}"))),
        }
    }
    if cloud.is_some() && operator.is_none() {
        return Err(CliError(
            "--cloud needs --operator CLOUD_DIR (the directory `keel-cloud init` wrote)".into(),
        ));
    }
    if let Some(terminal) = add {
        if operator.is_some() {
            return Err(CliError(
                "--add-terminal takes the operator and cloud from the store's directory; drop --operator/--cloud".into(),
            ));
        }
        let out = out.ok_or_else(|| {
            CliError("provision --add-terminal needs --out (the store's directory)".into())
        })?;
        return Ok(Cli::ProvisionAdd {
            out,
            terminal,
            host,
            base_port,
            mdns,
        });
    }
    let plan = crate::provision::ProvisionPlan {
        store: store.ok_or_else(|| CliError("provision needs --store".into()))?,
        terminals: terminals.ok_or_else(|| CliError("provision needs --terminals".into()))?,
        out: out.ok_or_else(|| CliError("provision needs --out".into()))?,
        host,
        base_port,
        mdns,
        demo_catalog,
    };
    Ok(Cli::Provision(crate::provision::ProvisionRequest {
        plan,
        operator: operator.map(|cloud_dir| crate::provision::OperatorLink {
            cloud_dir,
            addr: cloud,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses() {
        assert_eq!(
            parse(&args("console --demo --data-dir /tmp/x --json")).unwrap(),
            Cli::Console(ConsoleArgs {
                demo: true,
                data_dir: Some("/tmp/x".into()),
                json: true,
                ..Default::default()
            })
        );
        assert!(parse(&args("console")).is_err());
        assert!(parse(&args("console --demo --config a")).is_err());
        assert!(parse(&args("console --demo --bogus"))
            .unwrap_err()
            .to_string()
            .contains("--bogus"));
        assert_eq!(parse(&args("--version")).unwrap(), Cli::Version);
    }

    #[test]
    fn parses_provisioning_with_an_operator() {
        let Cli::Provision(req) = parse(&args(
            "provision --store s1 --terminals 2 --out /tmp/s --operator /tmp/cloud --cloud 127.0.0.1:7400",
        ))
        .unwrap() else {
            panic!("not a provision");
        };
        let op = req.operator.clone().unwrap();
        assert_eq!(op.cloud_dir, PathBuf::from("/tmp/cloud"));
        assert_eq!(op.addr, Some("127.0.0.1:7400".parse().unwrap()));
        assert_eq!(req.store.0, "s1");
        let Cli::Provision(req) =
            parse(&args("provision --store s1 --terminals 2 --out /tmp/s")).unwrap()
        else {
            panic!("not a provision");
        };
        assert_eq!(req.operator, None);
        for bad in [
            "provision --store s1 --terminals 2 --out /tmp/s --cloud 127.0.0.1:7400",
            "provision --store s1 --terminals 2 --out /tmp/s --operator /c --cloud nowhere",
            "provision --add-terminal 3 --out /tmp/s --operator /c",
            "provision --store s1 --terminals 2 --out /tmp/s --operator",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }
}
