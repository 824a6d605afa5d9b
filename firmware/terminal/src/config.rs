//! The terminal's TOML configuration: store profile, terminal id, data
//! directory, console device, tax and cash rules, card limits, staff, the
//! cluster, (in `cloud`) the cloud uplink and the health endpoint, and (in
//! `ui`) the touch UI's backend, mode and language. Every
//! error names the file, the line and the key. Reading the file is the only I/O.

use keel_core::auth::{Role, User};
use keel_core::ids::{StoreId, TerminalId, UserId};
use keel_core::money::{parse_minor, Currency, Money};
use keel_core::profile::StoreProfile;
use keel_core::tax::{CashRounding, RoundingMode, TaxConfig, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::Spanned;

pub mod ai;
pub mod cloud;
pub mod devices;
pub mod ota;
pub mod ui;

pub use ai::{AiSettings, CameraSetting};
pub use cloud::{CloudConfig, HealthConfig};
pub use devices::{
    DevicesConfig, DrawerConfig, Flow, PortConfig, PrinterConfig, ScaleConfig, ScannerConfig,
    ScannerSource,
};
pub use ota::OtaSettings;
pub use ui::{UiBackend, UiConfig, UiMode};

/// A loaded configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Store profile.
    pub profile: StoreProfile,
    /// Where the journal lives.
    pub data_dir: PathBuf,
    /// Serial console device, if the console should run there instead of stdio.
    pub console_device: Option<PathBuf>,
    /// Serial console baud rate.
    pub console_baud: u32,
    /// The store cluster, when this terminal has peers.
    pub cluster: Option<ClusterConfig>,
    /// Seed the built-in demo catalog and opening stock on first start.
    pub demo_catalog: bool,
    /// The operator's cloud the store leader uploads to, if any.
    pub cloud: Option<CloudConfig>,
    /// The health endpoint, if served.
    pub health: Option<HealthConfig>,
    /// Printers, drawer, scanner and scale.
    pub devices: DevicesConfig,
    /// The touch UI: backend, screen mode, language (`[ui]`).
    pub ui: UiConfig,
    /// The on-device AI: models directory, camera, time limits (`[ai]`).
    pub ai: AiSettings,
    /// Over-the-air updates (`[ota]`).
    pub ota: OtaSettings,
    /// The board description (`[terminal] board`), if any.
    pub board: Option<PathBuf>,
}

/// The `[cluster]` section: how this terminal joins its store's cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// UDP address the QUIC endpoint listens on.
    pub listen: SocketAddr,
    /// The store CA certificate (PEM).
    pub ca_cert: PathBuf,
    /// This terminal's certificate (PEM).
    pub cert: PathBuf,
    /// This terminal's private key (PEM).
    pub key: PathBuf,
    /// Register and browse `_keel._udp` through Avahi.
    pub mdns: bool,
    /// Every terminal of the store (the initial raft voters), this one included.
    pub members: Vec<TerminalId>,
    /// Static peers (the fallback where multicast is blocked).
    pub peers: Vec<(TerminalId, SocketAddr)>,
    /// This terminal joins an existing store: it waits to be added by `cluster add`
    /// instead of founding the raft group with `members`.
    pub join: bool,
}

/// A configuration error, located.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// File.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax or a missing, unknown or mistyped key.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// File.
        file: String,
        /// Line (1-based).
        line: usize,
        /// Parser's message (names the key).
        message: String,
    },
    /// A value is not acceptable.
    #[error("{file}:{line}: key `{key}`: {message}")]
    Value {
        /// File.
        file: String,
        /// Line (1-based).
        line: usize,
        /// Dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    store: RawStore,
    terminal: RawTerminal,
    #[serde(default)]
    console: RawConsole,
    tax: RawTax,
    #[serde(default)]
    cash: RawCash,
    cards: RawCards,
    users: Vec<RawUser>,
    cluster: Option<RawCluster>,
    cloud: Option<cloud::RawCloud>,
    health: Option<cloud::RawHealth>,
    printer: Option<devices::RawPrinter>,
    kitchen_printer: Option<devices::RawPrinter>,
    drawer: Option<devices::RawDrawer>,
    scanner: Option<devices::RawScanner>,
    scale: Option<devices::RawScale>,
    ui: Option<ui::RawUi>,
    ai: Option<ai::RawAi>,
    ota: Option<ota::RawOta>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    listen: Spanned<String>,
    ca_cert: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    #[serde(default)]
    mdns: bool,
    members: Spanned<Vec<u32>>,
    #[serde(default)]
    peers: Vec<RawPeer>,
    #[serde(default)]
    join: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    id: Spanned<u32>,
    addr: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    address: Vec<String>,
    tax_id: Option<String>,
    currency: Spanned<String>,
    footer: Option<String>,
    #[serde(default)]
    demo_catalog: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerminal {
    id: Spanned<u32>,
    data_dir: PathBuf,
    board: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    device: Option<PathBuf>,
    baud: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTax {
    mode: Spanned<String>,
    rounding: Spanned<String>,
    scope: Spanned<String>,
    rates: Vec<RawRate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    class: String,
    percent: Spanned<String>,
    label: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCash {
    rounding_step: Option<Spanned<String>>,
    rounding_mode: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCards {
    offline_per_transaction: Spanned<String>,
    offline_total: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: String,
    name: String,
    role: Spanned<String>,
    pin: Option<Spanned<String>>,
    pin_hash: Option<Spanned<String>>,
}

struct Locator<'t> {
    file: String,
    text: &'t str,
}

impl Locator<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text
            .get(..offset.min(self.text.len()))
            .map(|s| s.matches('\n').count() + 1)
            .unwrap_or(1)
    }
    fn bad<T>(&self, key: &str, spanned: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            file: self.file.clone(),
            line: self.line(spanned.span().start),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

fn rounding_mode(
    loc: &Locator<'_>,
    key: &str,
    v: &Spanned<String>,
) -> Result<RoundingMode, ConfigError> {
    match v.get_ref().as_str() {
        "half-up" => Ok(RoundingMode::HalfUp),
        "half-even" => Ok(RoundingMode::HalfEven),
        other => Err(loc.bad(
            key,
            v,
            format!("expected \"half-up\" or \"half-even\", got {other:?}"),
        )),
    }
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text, path.parent().unwrap_or(Path::new(".")))
}

/// Parses config `text` (from `file`, for messages); relative paths resolve against `base`.
pub fn parse(file: &str, text: &str, base: &Path) -> Result<Config, ConfigError> {
    let loc = Locator {
        file: file.to_string(),
        text,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        file: file.to_string(),
        line: e.span().map(|s| loc.line(s.start)).unwrap_or(1),
        message: e.message().to_string(),
    })?;
    let currency = Currency::from_code(raw.store.currency.get_ref())
        .map_err(|e| loc.bad("store.currency", &raw.store.currency, e.to_string()))?;
    if raw.store.id.get_ref().trim().is_empty() {
        return Err(loc.bad("store.id", &raw.store.id, "must not be empty"));
    }
    if *raw.terminal.id.get_ref() == 0 {
        return Err(loc.bad("terminal.id", &raw.terminal.id, "terminal ids start at 1"));
    }
    let mode = match raw.tax.mode.get_ref().as_str() {
        "inclusive" => TaxMode::Inclusive,
        "exclusive" => TaxMode::Exclusive,
        other => {
            return Err(loc.bad(
                "tax.mode",
                &raw.tax.mode,
                format!("expected \"inclusive\" or \"exclusive\", got {other:?}"),
            ))
        }
    };
    let scope = match raw.tax.scope.get_ref().as_str() {
        "per-line" => TaxRoundingScope::PerLine,
        "per-receipt" => TaxRoundingScope::PerReceipt,
        other => {
            return Err(loc.bad(
                "tax.scope",
                &raw.tax.scope,
                format!("expected \"per-line\" or \"per-receipt\", got {other:?}"),
            ))
        }
    };
    let rounding = rounding_mode(&loc, "tax.rounding", &raw.tax.rounding)?;
    let mut rates = Vec::new();
    for r in &raw.tax.rates {
        let bp = parse_minor(r.percent.get_ref(), 2)
            .map_err(|e| loc.bad("tax.rates.percent", &r.percent, e.to_string()))?;
        if !(0..=10_000).contains(&bp) {
            return Err(loc.bad("tax.rates.percent", &r.percent, "must be 0 to 100"));
        }
        rates.push(TaxRate {
            class: r.class.clone(),
            rate_bp: bp as u32,
            label: r.label.clone(),
        });
    }
    let money = |key: &str, v: &Spanned<String>| {
        Money::parse_non_negative(v.get_ref(), currency).map_err(|e| loc.bad(key, v, e.to_string()))
    };
    let cash_rounding = match &raw.cash.rounding_step {
        None => CashRounding::default(),
        Some(step) => {
            let m = money("cash.rounding_step", step)?;
            if m.minor < 1 {
                return Err(loc.bad(
                    "cash.rounding_step",
                    step,
                    "must be at least one minor unit",
                ));
            }
            let mode = match &raw.cash.rounding_mode {
                Some(v) => rounding_mode(&loc, "cash.rounding_mode", v)?,
                None => RoundingMode::HalfUp,
            };
            CashRounding {
                increment: m.minor,
                mode,
            }
        }
    };
    let card_limits = CardLimits {
        per_transaction: money(
            "cards.offline_per_transaction",
            &raw.cards.offline_per_transaction,
        )?,
        total_offline: money("cards.offline_total", &raw.cards.offline_total)?,
    };
    let mut users = Vec::new();
    for u in &raw.users {
        let role = Role::parse(u.role.get_ref()).ok_or_else(|| {
            loc.bad(
                "users.role",
                &u.role,
                "expected cashier, manager or technician",
            )
        })?;
        let pin = match (&u.pin, &u.pin_hash) {
            (Some(p), None) => {
                let pin = p.get_ref();
                if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(loc.bad("users.pin", p, "a PIN is 4 to 8 digits"));
                }
                if users
                    .iter()
                    .any(|x: &User| keel_core::auth::pin_matches(&x.pin, pin))
                {
                    return Err(loc.bad("users.pin", p, "two users share this PIN"));
                }
                pin.clone()
            }
            (None, Some(h)) => {
                if !keel_core::auth::is_pin_hash(h.get_ref()) {
                    return Err(loc.bad("users.pin_hash", h, "expected pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>, as `keel hash-pin` prints"));
                }
                h.get_ref().clone()
            }
            (Some(p), Some(_)) => {
                return Err(loc.bad("users.pin", p, "give either pin or pin_hash, not both"))
            }
            (None, None) => {
                return Err(loc.bad(
                    "users.role",
                    &u.role,
                    format!("user {} needs pin_hash (or pin)", u.id),
                ))
            }
        };
        users.push(User {
            id: UserId(u.id.clone()),
            name: u.name.clone(),
            role,
            pin,
        });
    }
    let baud = raw
        .console
        .baud
        .as_ref()
        .map(|b| *b.get_ref())
        .unwrap_or(115_200);
    if let Some(b) = &raw.console.baud {
        if !matches!(*b.get_ref(), 9600 | 19200 | 38400 | 57600 | 115200 | 230400) {
            return Err(loc.bad(
                "console.baud",
                b,
                "use 9600, 19200, 38400, 57600, 115200 or 230400",
            ));
        }
    }
    let resolve = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let data_dir = resolve(&raw.terminal.data_dir);
    let me = *raw.terminal.id.get_ref();
    let cluster = match &raw.cluster {
        None => None,
        Some(c) => {
            let listen: SocketAddr = c.listen.get_ref().parse().map_err(|e| {
                loc.bad(
                    "cluster.listen",
                    &c.listen,
                    format!("not an address like 127.0.0.1:7101: {e}"),
                )
            })?;
            let members: Vec<TerminalId> =
                c.members.get_ref().iter().map(|m| TerminalId(*m)).collect();
            if !members.contains(&TerminalId(me)) {
                return Err(loc.bad(
                    "cluster.members",
                    &c.members,
                    format!("must include this terminal ({me})"),
                ));
            }
            if members.contains(&TerminalId(0)) {
                return Err(loc.bad("cluster.members", &c.members, "terminal ids start at 1"));
            }
            let mut peers = Vec::new();
            for p in &c.peers {
                let id = *p.id.get_ref();
                if id == me || !members.contains(&TerminalId(id)) {
                    return Err(loc.bad(
                        "cluster.peers.id",
                        &p.id,
                        format!("peer {id} must be another member of the store"),
                    ));
                }
                let addr: SocketAddr = p.addr.get_ref().parse().map_err(|e| {
                    loc.bad(
                        "cluster.peers.addr",
                        &p.addr,
                        format!("not an address like 127.0.0.1:7102: {e}"),
                    )
                })?;
                peers.push((TerminalId(id), addr));
            }
            Some(ClusterConfig {
                listen,
                ca_cert: resolve(&c.ca_cert),
                cert: resolve(&c.cert),
                key: resolve(&c.key),
                mdns: c.mdns,
                members,
                peers,
                join: c.join,
            })
        }
    };
    let cloud = match &raw.cloud {
        None => None,
        Some(c) => Some(cloud::cloud(&loc, c, cluster.is_some(), &resolve)?),
    };
    let health = match &raw.health {
        None => None,
        Some(h) => Some(cloud::health(&loc, h)?),
    };
    let printer = match &raw.printer {
        None => None,
        Some(p) => Some(devices::printer(&loc, "printer", p, &resolve)?),
    };
    let ui = match &raw.ui {
        None => UiConfig::default(),
        Some(u) => ui::ui(&loc, u)?,
    };
    let ai = match &raw.ai {
        None => AiSettings::default(),
        Some(a) => ai::ai(&loc, a, &resolve)?,
    };
    let ota = match &raw.ota {
        None => OtaSettings::default(),
        Some(o) => ota::ota(&loc, o, &resolve)?,
    };
    let devices = DevicesConfig {
        kitchen_printer: match &raw.kitchen_printer {
            None => None,
            Some(p) => Some(devices::printer(&loc, "kitchen_printer", p, &resolve)?),
        },
        drawer: match &raw.drawer {
            None => None,
            Some(d) => Some(devices::drawer(&loc, d, printer.is_some(), &resolve)?),
        },
        scanner: match &raw.scanner {
            None => None,
            Some(s) => Some(devices::scanner(&loc, s, &resolve)?),
        },
        scale: match &raw.scale {
            None => None,
            Some(s) => Some(devices::scale(&loc, s, &resolve)?),
        },
        printer,
    };
    Ok(Config {
        profile: StoreProfile {
            store: StoreId(raw.store.id.get_ref().clone()),
            terminal: TerminalId(*raw.terminal.id.get_ref()),
            store_name: raw.store.name,
            address: raw.store.address,
            tax_id: raw.store.tax_id,
            currency,
            tax: TaxConfig {
                mode,
                rates,
                rounding,
                scope,
            },
            cash_rounding,
            card_limits,
            users,
            receipt_footer: raw.store.footer,
        },
        data_dir,
        console_device: raw.console.device,
        console_baud: baud,
        cluster,
        demo_catalog: raw.store.demo_catalog,
        cloud,
        health,
        devices,
        ui,
        ai,
        ota,
        board: raw.terminal.board.as_ref().map(resolve),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const GOOD: &str = r#"
[store]
id = "toko-1"
name = "Toko Satu"
currency = "IDR"

[terminal]
id = 2
data_dir = "data"

[tax]
mode = "inclusive"
rounding = "half-even"
scope = "per-line"
rates = [ { class = "standard", percent = "11", label = "A" } ]

[cash]
rounding_step = "100"

[cards]
offline_per_transaction = "1000000"
offline_total = "5000000"

[[users]]
id = "ani"
name = "Ani"
role = "cashier"
pin = "1234"
"#;

    #[test]
    fn parses_a_good_config() {
        let c = parse("t.toml", GOOD, Path::new("/etc/keel")).unwrap();
        assert_eq!(c.profile.currency, Currency::IDR);
        assert_eq!(c.profile.terminal, TerminalId(2));
        assert_eq!(c.profile.tax.rates[0].rate_bp, 1100);
        assert_eq!(c.profile.cash_rounding.increment, 100);
        assert_eq!(c.data_dir, PathBuf::from("/etc/keel/data"));
    }

    #[test]
    fn peripheral_sections_parse_and_bad_values_are_located() {
        let text = format!(
            "{GOOD}\n[printer]\nport = \"/dev/ttyS1\"\nbaud = 19200\nflow = \"hardware\"\nwidth_mm = 58\ncodepage = \"wpc1252\"\ndrawer_pin = 5\n\n[kitchen_printer]\ntcp = \"127.0.0.1:9100\"\n\n[drawer]\nvia = \"printer\"\n\n[scanner]\nevents = \"scanner.events\"\nlayout = \"de\"\nterminator = \"tab\"\nmax_gap_ms = 40\n\n[scale]\nport = \"/dev/ttyUSB1\"\nprotocol = \"toledo\"\nmode = \"request\"\n"
        );
        let c = parse("t.toml", &text, Path::new("/etc/keel")).unwrap();
        let p = c.devices.printer.unwrap();
        assert_eq!(
            p.port,
            PortConfig::Serial {
                path: "/dev/ttyS1".into(),
                baud: 19200,
                flow: Flow::Hardware
            }
        );
        assert_eq!(
            (p.width_mm, p.codepage.as_str(), p.drawer_pin),
            (58, "wpc1252", 5)
        );
        assert_eq!(
            c.devices.kitchen_printer.unwrap().port,
            PortConfig::Tcp("127.0.0.1:9100".parse().unwrap())
        );
        assert_eq!(c.devices.drawer, Some(DrawerConfig::ViaPrinter));
        let s = c.devices.scanner.unwrap();
        assert_eq!(
            s.source,
            ScannerSource::Events("/etc/keel/scanner.events".into())
        );
        assert_eq!(
            (s.layout.as_str(), s.terminator.as_str(), s.max_gap_ms),
            ("de", "tab", 40)
        );
        let sc = c.devices.scale.unwrap();
        assert_eq!(
            (sc.protocol.as_str(), sc.mode.as_str(), sc.baud),
            ("toledo", "request", 9600)
        );
        let bad = text.replace("width_mm = 58", "width_mm = 60");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key `printer.width_mm`") && e.contains("58 or 80"),
            "{e}"
        );
        let bad = format!("{GOOD}\n[drawer]\nvia = \"printer\"\n");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no [printer]"), "{e}");
        let bad = format!("{GOOD}\n[scanner]\nlayout = \"us\"\n");
        assert!(parse("t.toml", &bad, Path::new(".")).is_err());
    }

    #[test]
    fn the_ui_section_is_optional_and_checked() {
        let c = parse("t.toml", GOOD, Path::new(".")).unwrap();
        assert_eq!(c.ui, UiConfig::default());
        let text = format!(
            "{GOOD}\n[ui]\nbackend = \"headless\"\nmode = \"kitchen\"\nlanguage = \"id\"\n"
        );
        let c = parse("t.toml", &text, Path::new(".")).unwrap();
        assert_eq!(
            (c.ui.backend, c.ui.mode, c.ui.language.as_str()),
            (UiBackend::Headless, UiMode::Kitchen, "id")
        );
        for (bad, key) in [
            ("backend = \"x11\"", "ui.backend"),
            ("mode = \"boss\"", "ui.mode"),
            ("language = \"fr\"", "ui.language"),
        ] {
            let text = format!("{GOOD}\n[ui]\n{bad}\n");
            let e = parse("t.toml", &text, Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("key `{key}`")), "{e}");
        }
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let bad = GOOD.replace("currency = \"IDR\"", "currency = \"XYZ\"");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:5: key `store.currency`"), "{e}");
        let bad = GOOD.replace("role = \"cashier\"", "role = \"boss\"");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml:27: key `users.role`"), "{e}");
        let bad = GOOD.replace("[cards]", "[cards]\ncolour = 1");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:21:") && e.contains("colour"), "{e}");
        let bad = GOOD.replace("pin = \"1234\"", "pin = \"1234\"\npin_hash = \"x\"");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("either pin or pin_hash"), "{e}");
        let bad = GOOD.replace("pin = \"1234\"", "pin_hash = \"sha1$abc\"");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("key `users.pin_hash`"), "{e}");
        let hashed = GOOD.replace(
            "pin = \"1234\"",
            &format!(
                "pin_hash = \"{}\"",
                keel_core::auth::hash_pin("1234", b"0123456789abcdef", 1000)
            ),
        );
        assert!(parse("t.toml", &hashed, Path::new(".")).is_ok());
        let bad = GOOD.replace("id = 2", "id = \"two\"");
        let e = parse("t.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:8:"), "{e}");
    }
}
