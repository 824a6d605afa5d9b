//! The peripheral sections of the terminal's config: `[printer]`,
//! `[kitchen_printer]`, `[drawer]`, `[scanner]` and `[scale]`. On the
//! appliance the board config names the device nodes (serial ports, the
//! scanner's event node); a developer's config can point them at
//! pseudo-terminals or recorded event streams. This module owns only their
//! parsing and checking; it must not open any device.

use super::{ConfigError, Locator};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use toml::Spanned;

/// How a device is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortConfig {
    /// A serial port (8N1).
    Serial {
        /// Device node, e.g. `/dev/ttyS1`.
        path: PathBuf,
        /// Baud rate.
        baud: u32,
        /// Flow control.
        flow: Flow,
    },
    /// Raw TCP, e.g. a kitchen printer on port 9100.
    Tcp(SocketAddr),
}

/// Serial flow control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// None.
    None,
    /// RTS/CTS.
    Hardware,
    /// XON/XOFF.
    Software,
}

/// A printer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterConfig {
    /// Where it is.
    pub port: PortConfig,
    /// Paper width in mm: 58 (32 columns) or 80 (48).
    pub width_mm: u8,
    /// Code page: `cp437`, `cp858` or `wpc1252`.
    pub codepage: String,
    /// Drawer kick pin (2 or 5) when the drawer hangs off this printer.
    pub drawer_pin: u8,
}

impl PrinterConfig {
    /// A printer at `port` with the defaults a config section leaves unset:
    /// 80 mm paper, CP858, drawer on pin 2.
    pub fn at(port: PortConfig) -> PrinterConfig {
        PrinterConfig {
            port,
            width_mm: DEFAULT_WIDTH_MM,
            codepage: DEFAULT_CODEPAGE.into(),
            drawer_pin: DEFAULT_DRAWER_PIN,
        }
    }
}

/// Paper width when none is given, mm.
pub const DEFAULT_WIDTH_MM: u8 = 80;
/// Code page when none is given.
pub const DEFAULT_CODEPAGE: &str = "cp858";
/// Drawer kick pin when none is given.
pub const DEFAULT_DRAWER_PIN: u8 = 2;

/// Where the cash drawer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrawerConfig {
    /// On the receipt printer's drawer port.
    ViaPrinter,
    /// A separate serial drawer.
    Serial {
        /// Device node.
        path: PathBuf,
        /// Baud rate.
        baud: u32,
    },
}

/// A barcode scanner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannerConfig {
    /// Where scans come from.
    pub source: ScannerSource,
    /// Keyboard layout the scanner emulates: `us` or `de`.
    pub layout: String,
    /// Characters the scanner sends before each code (stripped).
    pub prefix: String,
    /// Characters the scanner sends after each code (stripped).
    pub suffix: String,
    /// `enter` or `tab`.
    pub terminator: String,
    /// Longest gap between two keys of one scan, ms (slower is a person typing).
    pub max_gap_ms: u64,
}

impl ScannerConfig {
    /// A scanner reading `source` with the defaults a config section leaves
    /// unset: US layout, no prefix or suffix, Enter, 50 ms between keys.
    pub fn reading(source: ScannerSource) -> ScannerConfig {
        ScannerConfig {
            source,
            layout: DEFAULT_LAYOUT.into(),
            prefix: String::new(),
            suffix: String::new(),
            terminator: DEFAULT_TERMINATOR.into(),
            max_gap_ms: DEFAULT_MAX_GAP_MS,
        }
    }
}

/// Scanner keyboard layout when none is given.
pub const DEFAULT_LAYOUT: &str = "us";
/// Scanner terminator when none is given.
pub const DEFAULT_TERMINATOR: &str = "enter";
/// Longest gap between a scan's keys when none is given, ms.
pub const DEFAULT_MAX_GAP_MS: u64 = 50;

/// Where a scanner's input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScannerSource {
    /// A kernel event node (grabbed exclusively), or a recorded stream / FIFO.
    Events(PathBuf),
    /// A serial scanner.
    Serial {
        /// Device node.
        path: PathBuf,
        /// Baud rate.
        baud: u32,
    },
}

/// A scale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleConfig {
    /// Device node.
    pub path: PathBuf,
    /// Baud rate.
    pub baud: u32,
    /// `cas` or `toledo`.
    pub protocol: String,
    /// `continuous` or `request`.
    pub mode: String,
}

/// Every peripheral section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DevicesConfig {
    /// The receipt printer.
    pub printer: Option<PrinterConfig>,
    /// The kitchen printer.
    pub kitchen_printer: Option<PrinterConfig>,
    /// The cash drawer.
    pub drawer: Option<DrawerConfig>,
    /// The barcode scanner.
    pub scanner: Option<ScannerConfig>,
    /// The scale.
    pub scale: Option<ScaleConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrinter {
    port: Option<PathBuf>,
    tcp: Option<Spanned<String>>,
    baud: Option<Spanned<i64>>,
    flow: Option<Spanned<String>>,
    width_mm: Option<Spanned<i64>>,
    codepage: Option<Spanned<String>>,
    drawer_pin: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrawer {
    via: Spanned<String>,
    port: Option<PathBuf>,
    baud: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScanner {
    events: Option<PathBuf>,
    port: Option<PathBuf>,
    baud: Option<Spanned<i64>>,
    layout: Option<Spanned<String>>,
    prefix: Option<String>,
    suffix: Option<String>,
    terminator: Option<Spanned<String>>,
    max_gap_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScale {
    port: PathBuf,
    baud: Option<Spanned<i64>>,
    protocol: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

/// Default serial speed of printers, drawers and scales (9600 8N1).
pub const DEFAULT_BAUD: u32 = 9600;

fn baud(loc: &Locator<'_>, key: &str, v: &Option<Spanned<i64>>) -> Result<u32, ConfigError> {
    match v {
        None => Ok(DEFAULT_BAUD),
        Some(b) => match *b.get_ref() {
            n @ (1200 | 2400 | 4800 | 9600 | 19200 | 38400 | 57600 | 115200) => Ok(n as u32),
            n => Err(loc.bad(
                key,
                b,
                format!("expected a standard baud rate (1200 to 115200), got {n}"),
            )),
        },
    }
}

fn one_of(
    loc: &Locator<'_>,
    key: &str,
    v: &Option<Spanned<String>>,
    allowed: &[&str],
    default: &str,
) -> Result<String, ConfigError> {
    match v {
        None => Ok(default.to_string()),
        Some(s) if allowed.contains(&s.get_ref().as_str()) => Ok(s.get_ref().clone()),
        Some(s) => Err(loc.bad(
            key,
            s,
            format!(
                "expected one of {}, got {:?}",
                allowed.join(", "),
                s.get_ref()
            ),
        )),
    }
}

pub(super) fn printer(
    loc: &Locator<'_>,
    section: &str,
    raw: &RawPrinter,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<PrinterConfig, ConfigError> {
    let key = |k: &str| format!("{section}.{k}");
    let port = match (&raw.port, &raw.tcp) {
        (Some(p), None) => PortConfig::Serial {
            path: resolve(p),
            baud: baud(loc, &key("baud"), &raw.baud)?,
            flow: match one_of(
                loc,
                &key("flow"),
                &raw.flow,
                &["none", "hardware", "software"],
                "none",
            )?
            .as_str()
            {
                "hardware" => Flow::Hardware,
                "software" => Flow::Software,
                _ => Flow::None,
            },
        },
        (None, Some(t)) => PortConfig::Tcp(t.get_ref().parse().map_err(|e| {
            loc.bad(
                &key("tcp"),
                t,
                format!("not an address like 192.168.1.50:9100: {e}"),
            )
        })?),
        (Some(_), Some(t)) => {
            return Err(loc.bad(&key("tcp"), t, "give either port (serial) or tcp, not both"))
        }
        (None, None) => {
            return Err(ConfigError::Value {
                file: loc.file.clone(),
                line: 1,
                key: section.to_string(),
                message: "needs port = \"/dev/ttyS1\" (serial) or tcp = \"host:9100\"".into(),
            })
        }
    };
    let width_mm = match &raw.width_mm {
        None => DEFAULT_WIDTH_MM,
        Some(w) => match *w.get_ref() {
            58 => 58,
            80 => 80,
            n => return Err(loc.bad(&key("width_mm"), w, format!("expected 58 or 80, got {n}"))),
        },
    };
    let drawer_pin = match &raw.drawer_pin {
        None => DEFAULT_DRAWER_PIN,
        Some(p) => match *p.get_ref() {
            2 => 2,
            5 => 5,
            n => return Err(loc.bad(&key("drawer_pin"), p, format!("expected 2 or 5, got {n}"))),
        },
    };
    Ok(PrinterConfig {
        port,
        width_mm,
        codepage: one_of(
            loc,
            &key("codepage"),
            &raw.codepage,
            &["cp437", "cp858", "wpc1252"],
            DEFAULT_CODEPAGE,
        )?,
        drawer_pin,
    })
}

pub(super) fn drawer(
    loc: &Locator<'_>,
    raw: &RawDrawer,
    has_printer: bool,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<DrawerConfig, ConfigError> {
    match raw.via.get_ref().as_str() {
        "printer" if has_printer => Ok(DrawerConfig::ViaPrinter),
        "printer" => Err(loc.bad(
            "drawer.via",
            &raw.via,
            "the drawer hangs off the printer, but there is no [printer]",
        )),
        "serial" => match &raw.port {
            Some(p) => Ok(DrawerConfig::Serial {
                path: resolve(p),
                baud: baud(loc, "drawer.baud", &raw.baud)?,
            }),
            None => Err(loc.bad(
                "drawer.via",
                &raw.via,
                "a serial drawer needs port = \"/dev/ttyS2\"",
            )),
        },
        other => Err(loc.bad(
            "drawer.via",
            &raw.via,
            format!("expected \"printer\" or \"serial\", got {other:?}"),
        )),
    }
}

pub(super) fn scanner(
    loc: &Locator<'_>,
    raw: &RawScanner,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<ScannerConfig, ConfigError> {
    let source = match (&raw.events, &raw.port) {
        (Some(e), None) => ScannerSource::Events(resolve(e)),
        (None, Some(p)) => ScannerSource::Serial {
            path: resolve(p),
            baud: baud(loc, "scanner.baud", &raw.baud)?,
        },
        _ => {
            return Err(ConfigError::Value {
                file: loc.file.clone(),
                line: 1,
                key: "scanner".into(),
                message: "needs exactly one of events = \"/dev/input/...\" (a keyboard-wedge scanner) or port = \"/dev/ttyACM0\" (serial)".into(),
            })
        }
    };
    let max_gap_ms = match &raw.max_gap_ms {
        None => DEFAULT_MAX_GAP_MS,
        Some(g) => match *g.get_ref() {
            n @ 1..=1000 => n as u64,
            n => {
                return Err(loc.bad(
                    "scanner.max_gap_ms",
                    g,
                    format!("expected 1 to 1000 ms, got {n}"),
                ))
            }
        },
    };
    Ok(ScannerConfig {
        source,
        layout: one_of(
            loc,
            "scanner.layout",
            &raw.layout,
            &["us", "de"],
            DEFAULT_LAYOUT,
        )?,
        prefix: raw.prefix.clone().unwrap_or_default(),
        suffix: raw.suffix.clone().unwrap_or_default(),
        terminator: one_of(
            loc,
            "scanner.terminator",
            &raw.terminator,
            &["enter", "tab"],
            DEFAULT_TERMINATOR,
        )?,
        max_gap_ms,
    })
}

pub(super) fn scale(
    loc: &Locator<'_>,
    raw: &RawScale,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
) -> Result<ScaleConfig, ConfigError> {
    Ok(ScaleConfig {
        path: resolve(&raw.port),
        baud: baud(loc, "scale.baud", &raw.baud)?,
        protocol: one_of(
            loc,
            "scale.protocol",
            &raw.protocol,
            &["cas", "toledo"],
            "cas",
        )?,
        mode: one_of(
            loc,
            "scale.mode",
            &raw.mode,
            &["continuous", "request"],
            "continuous",
        )?,
    })
}
