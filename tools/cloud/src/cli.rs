//! The `keel-cloud` command line, parsed. Pure: turns arguments into a
//! [`Command`] or an error that carries the usage.
//!
//! Amounts on the command line are major units of `--currency` (default EUR,
//! the currency `keel provision` gives stores), converted exactly with
//! keel-core's money parsing (`2.50` EUR -> 250); `--minor` takes them as
//! integer minor units instead. Rates and discounts are basis points (`1100`)
//! or percentages (`11%`, `10.5%`). Promotion times are days (`YYYY-MM-DD`,
//! UTC midnight) or milliseconds since the epoch.

use crate::admin::{Action, ItemSpec, PublishRequest};
use crate::init::{InitPlan, DEFAULT_HTTP, DEFAULT_LISTEN, DEFAULT_SERVER_NAME};
use crate::server::ServeOptions;
use keel_core::money::{parse_minor, Currency};
use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

/// Usage text.
pub const USAGE: &str = "usage:
  keel-cloud init --dir DIR [--server-name cloud.keel] [--listen 127.0.0.1:7400] [--http 127.0.0.1:7480]
  keel-cloud serve --dir DIR [--listen ADDR] [--http ADDR] [--database-url URL]
  keel-cloud publish --dir DIR [--store S]... price SKU AMOUNT [--currency C | --minor]
  keel-cloud publish --dir DIR [--store S]... setting KEY VALUE
  keel-cloud publish --dir DIR [--store S]... tax-rate CLASS RATE
  keel-cloud publish --dir DIR [--store S]... item SKU NAME PRICE [--currency C | --minor]
                     [--category C] [--tax-class C] [--barcode CODE]... [--by-weight] [--kitchen STATION] [--inactive]
  keel-cloud publish --dir DIR [--store S]... promotion ID SKU DISCOUNT FROM UNTIL
  keel-cloud erase-customer --dir DIR ID [--store S]...
  keel-cloud customer --dir DIR --store S ID
  keel-cloud status --dir DIR [--json]
  keel-cloud health --dir DIR
  keel-cloud report --dir DIR [--csv] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  keel-cloud orders --dir DIR [--store S] [--limit N]
  keel-cloud flags --dir DIR [--store S]
  keel-cloud flagged --dir DIR [--store S] [--json]
  keel-cloud stock --dir DIR --store S
  keel-cloud release publish --dir DIR --file BUNDLE --channel stable|beta --rollout PERCENT [--notes TEXT]
  keel-cloud release list|rollout ID PERCENT|withdraw ID|status ID --dir DIR [--json]
  keel-cloud --version | help

  init        make DIR: operator CA, the cloud's certificate, an admin token, cloud.toml
  serve       run the service (QUIC for stores, HTTP for health, status, reports, admin);
              without a database URL (--database-url, KEEL_CLOUD_DATABASE_URL or cloud.toml)
              it keeps everything in DIR/data/cloud.redb
  publish     send catalog items, prices, settings, tax rates or promotions to every store
              (or the --store ones); they reach stores that are offline later
  erase-customer  delete a customer's data keys in the cloud and in every store (or the
              --store ones), now or when they reconnect: their sealed data becomes unreadable
  customer    show a customer's name and phone if readable, or that they were erased
  flagged     sales the terminals flagged for risk review (receipt, terminal, cashier,
              score, reasons); the status view counts them per store
  release     OTA releases: publish a signed bundle (keel-bundle sign) to a channel with a
              staged rollout, list them, change the rollout, withdraw, see a rollout's terminals;
              a store's channel is its ota.channel setting (publish setting ota.channel beta)
  admin commands reach the running service at the http address of DIR/cloud.toml
  (or --http ADDR) with DIR/admin-token

  AMOUNT, PRICE  major units of --currency (default EUR): 2.50 -> 250 minor units;
                 --minor: integer minor units
  RATE, DISCOUNT basis points (1100) or a percentage (11%)
  FROM, UNTIL    YYYY-MM-DD (UTC midnight; UNTIL exclusive) or milliseconds since the epoch";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Print the version.
    Version,
    /// Make a cloud directory.
    Init(InitPlan),
    /// Run the service.
    Serve(ServeOptions),
    /// Talk to the running service.
    Admin {
        /// The cloud directory.
        dir: PathBuf,
        /// HTTP address override.
        http: Option<SocketAddr>,
        /// What to do.
        action: Action,
    },
}

/// A bad command line.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}\n{USAGE}")]
pub struct CliError(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(m.into()))
}

/// Options and positionals of one command.
struct Args {
    opts: Vec<(String, Option<String>)>,
    pos: Vec<String>,
}

impl Args {
    /// Splits `args`: `valued` options take the next argument, `flags` take none.
    fn split(args: &[String], valued: &[&str], flags: &[&str]) -> Result<Args, CliError> {
        let mut out = Args {
            opts: Vec::new(),
            pos: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if valued.contains(&a.as_str()) {
                let v = it
                    .next()
                    .ok_or_else(|| CliError(format!("{a} needs a value")))?;
                out.opts.push((a.clone(), Some(v.clone())));
            } else if flags.contains(&a.as_str()) {
                out.opts.push((a.clone(), None));
            } else if a.starts_with("--") {
                return err(format!("unknown option {a:?}"));
            } else {
                out.pos.push(a.clone());
            }
        }
        Ok(out)
    }

    fn one(&self, name: &str) -> Result<Option<&str>, CliError> {
        let mut found = self
            .opts
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.as_deref());
        let first = found.next();
        if found.next().is_some() {
            return err(format!("{name} given twice"));
        }
        Ok(first)
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.opts
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.clone())
            .collect()
    }

    fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(k, _)| k == name)
    }

    fn dir(&self) -> Result<PathBuf, CliError> {
        self.one("--dir")?.map(PathBuf::from).ok_or_else(|| {
            CliError("--dir DIR is required (the directory `keel-cloud init` wrote)".into())
        })
    }

    fn addr(&self, name: &str) -> Result<Option<SocketAddr>, CliError> {
        self.one(name)?
            .map(|v| {
                v.parse().map_err(|_| {
                    CliError(format!(
                        "{name} must be an address like 127.0.0.1:7400, got {v:?}"
                    ))
                })
            })
            .transpose()
    }

    fn positionals(&self, what: &str, n: usize) -> Result<&[String], CliError> {
        if self.pos.len() != n {
            return err(format!(
                "{what} takes {n} argument{}, got {}: {:?}",
                if n == 1 { "" } else { "s" },
                self.pos.len(),
                self.pos
            ));
        }
        Ok(&self.pos)
    }
}

/// Parses `args` (without the program name).
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    let Some((first, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    match first.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "-V" | "version" => Ok(Command::Version),
        "init" => parse_init(rest),
        "serve" => parse_serve(rest),
        "publish" => parse_publish(rest),
        "release" => crate::release_cli::parse(rest),
        "erase-customer" => {
            let a = Args::split(rest, &["--dir", "--http", "--store"], &[])?;
            let id = a.positionals("erase-customer", 1)?[0].clone();
            let request = PublishRequest {
                stores: a.all("--store"),
                item: ItemSpec::EraseCustomer { customer: id },
            };
            request.validate().map_err(CliError)?;
            admin(&a, Action::Publish(request))
        }
        "customer" => {
            let a = Args::split(rest, &["--dir", "--http", "--store"], &[])?;
            let id = a.positionals("customer", 1)?[0].clone();
            crate::customer::check_id(&id).map_err(CliError)?;
            let store = a
                .one("--store")?
                .ok_or_else(|| CliError("customer needs --store S".into()))?
                .to_string();
            admin(&a, Action::Customer { store, id })
        }
        "status" => {
            let a = Args::split(rest, &["--dir", "--http"], &["--json"])?;
            a.positionals("status", 0)?;
            admin(
                &a,
                Action::Status {
                    json: a.flag("--json"),
                },
            )
        }
        "health" => {
            let a = Args::split(rest, &["--dir", "--http"], &[])?;
            a.positionals("health", 0)?;
            admin(&a, Action::Health)
        }
        "report" => {
            let a = Args::split(rest, &["--dir", "--http", "--from", "--to"], &["--csv"])?;
            a.positionals("report", 0)?;
            let day = |name: &str| -> Result<Option<String>, CliError> {
                match a.one(name)? {
                    Some(d) if !crate::http::valid_day(d) => {
                        err(format!("{name} must be a day like 2026-11-23, got {d:?}"))
                    }
                    d => Ok(d.map(String::from)),
                }
            };
            let action = Action::Report {
                csv: a.flag("--csv"),
                from: day("--from")?,
                to: day("--to")?,
            };
            admin(&a, action)
        }
        "orders" => {
            let a = Args::split(rest, &["--dir", "--http", "--store", "--limit"], &[])?;
            a.positionals("orders", 0)?;
            let limit = a
                .one("--limit")?
                .map(|v| {
                    v.parse::<usize>()
                        .ok()
                        .filter(|n| (1..=crate::http::ORDERS_LIMIT.1).contains(n))
                        .ok_or_else(|| {
                            CliError(format!(
                                "--limit must be 1 to {}, got {v:?}",
                                crate::http::ORDERS_LIMIT.1
                            ))
                        })
                })
                .transpose()?;
            let action = Action::Orders {
                store: a.one("--store")?.map(String::from),
                limit,
            };
            admin(&a, action)
        }
        "flags" => {
            let a = Args::split(rest, &["--dir", "--http", "--store"], &[])?;
            a.positionals("flags", 0)?;
            let action = Action::Flags {
                store: a.one("--store")?.map(String::from),
            };
            admin(&a, action)
        }
        "flagged" => {
            let a = Args::split(rest, &["--dir", "--http", "--store"], &["--json"])?;
            a.positionals("flagged", 0)?;
            let action = Action::Flagged {
                store: a.one("--store")?.map(String::from),
                json: a.flag("--json"),
            };
            admin(&a, action)
        }
        "stock" => {
            let a = Args::split(rest, &["--dir", "--http", "--store"], &[])?;
            a.positionals("stock", 0)?;
            let store = a
                .one("--store")?
                .ok_or_else(|| CliError("stock needs --store S".into()))?
                .to_string();
            admin(&a, Action::Stock { store })
        }
        other => err(format!("unknown command {other:?}")),
    }
}

fn admin(a: &Args, action: Action) -> Result<Command, CliError> {
    Ok(Command::Admin {
        dir: a.dir()?,
        http: a.addr("--http")?,
        action,
    })
}

fn parse_init(rest: &[String]) -> Result<Command, CliError> {
    let a = Args::split(rest, &["--dir", "--server-name", "--listen", "--http"], &[])?;
    a.positionals("init", 0)?;
    let default = |v: &str| -> Result<SocketAddr, CliError> {
        v.parse()
            .map_err(|_| CliError(format!("bad default address {v}")))
    };
    let server_name = a
        .one("--server-name")?
        .unwrap_or(DEFAULT_SERVER_NAME)
        .trim()
        .to_ascii_lowercase();
    Ok(Command::Init(InitPlan {
        dir: a.dir()?,
        server_name,
        listen: match a.addr("--listen")? {
            Some(l) => l,
            None => default(DEFAULT_LISTEN)?,
        },
        http: match a.addr("--http")? {
            Some(h) => h,
            None => default(DEFAULT_HTTP)?,
        },
    }))
}

fn parse_serve(rest: &[String]) -> Result<Command, CliError> {
    let a = Args::split(
        rest,
        &["--dir", "--listen", "--http", "--database-url"],
        &[],
    )?;
    a.positionals("serve", 0)?;
    Ok(Command::Serve(ServeOptions {
        dir: a.dir()?,
        listen: a.addr("--listen")?,
        http: a.addr("--http")?,
        database_url: a.one("--database-url")?.map(String::from),
    }))
}

/// An amount: major units of the currency, or minor units with `--minor`.
fn amount(a: &Args, text: &str) -> Result<(i64, Currency), CliError> {
    let code = a.one("--currency")?.unwrap_or("EUR");
    let currency = Currency::from_code(code).map_err(|e| CliError(e.to_string()))?;
    let minor = if a.flag("--minor") {
        text.parse::<i64>().map_err(|_| {
            CliError(format!(
                "with --minor the amount is an integer, got {text:?}"
            ))
        })?
    } else {
        parse_minor(text, currency.exponent())
            .map_err(|e| CliError(format!("amount {text:?}: {e}")))?
    };
    if minor < 0 {
        return err(format!("amount {text:?} is negative"));
    }
    Ok((minor, currency))
}

/// Basis points from `1100` or `11%` / `10.5%`.
pub fn basis_points(text: &str) -> Result<u32, CliError> {
    let bp = match text.strip_suffix('%') {
        Some(p) => parse_minor(p, 2).map_err(|e| CliError(format!("{text:?}: {e}")))?,
        None => text.parse::<i64>().map_err(|_| {
            CliError(format!(
                "{text:?} is not basis points (1100) or a percentage (11%)"
            ))
        })?,
    };
    u32::try_from(bp)
        .ok()
        .filter(|bp| *bp <= 10_000)
        .ok_or_else(|| CliError(format!("{text:?} must be 0 to 100 %")))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch from `YYYY-MM-DD` (UTC midnight) or a number.
pub fn time_ms(text: &str) -> Result<u64, CliError> {
    if crate::http::valid_day(text) {
        let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap_or(0);
        let days = days_from_civil(n(0..4), n(5..7), n(8..10));
        return u64::try_from(days * 86_400_000)
            .map_err(|_| CliError(format!("{text:?} is before 1970")));
    }
    text.parse::<u64>().map_err(|_| {
        CliError(format!(
            "{text:?} is not a day (YYYY-MM-DD) or milliseconds since the epoch"
        ))
    })
}

fn parse_publish(rest: &[String]) -> Result<Command, CliError> {
    let a = Args::split(
        rest,
        &[
            "--dir",
            "--http",
            "--store",
            "--currency",
            "--category",
            "--tax-class",
            "--barcode",
            "--kitchen",
        ],
        &["--minor", "--by-weight", "--inactive"],
    )?;
    let Some(kind) = a.pos.first() else {
        return err("publish needs what to publish: price, setting, tax-rate, item or promotion");
    };
    let args = &a.pos[1..];
    let allowed: &[&str] = match kind.as_str() {
        "price" => &["--currency", "--minor"],
        "item" => &[
            "--currency",
            "--minor",
            "--category",
            "--tax-class",
            "--barcode",
            "--kitchen",
            "--by-weight",
            "--inactive",
        ],
        _ => &[],
    };
    for (k, _) in &a.opts {
        if !["--dir", "--http", "--store"].contains(&k.as_str()) && !allowed.contains(&k.as_str()) {
            return err(format!("{k} does not apply to publish {kind}"));
        }
    }
    let want = |n: usize| -> Result<&[String], CliError> {
        if args.len() != n {
            return err(format!(
                "publish {kind} takes {n} arguments, got {}: {args:?}",
                args.len()
            ));
        }
        Ok(args)
    };
    let item = match kind.as_str() {
        "price" => {
            let p = want(2)?;
            let (price_minor, _) = amount(&a, &p[1])?;
            ItemSpec::Price {
                sku: p[0].clone(),
                price_minor,
            }
        }
        "setting" => {
            let p = want(2)?;
            ItemSpec::Setting {
                key: p[0].clone(),
                value: p[1].clone(),
            }
        }
        "tax-rate" => {
            let p = want(2)?;
            ItemSpec::TaxRate {
                class: p[0].clone(),
                rate_bp: basis_points(&p[1])?,
            }
        }
        "item" => {
            let p = want(3)?;
            let (price_minor, currency) = amount(&a, &p[2])?;
            ItemSpec::Item {
                sku: p[0].clone(),
                name: p[1].clone(),
                price_minor,
                currency: currency.code().to_string(),
                category: a.one("--category")?.unwrap_or("general").to_string(),
                tax_class: a.one("--tax-class")?.unwrap_or("standard").to_string(),
                barcodes: a.all("--barcode"),
                by_weight: a.flag("--by-weight"),
                active: !a.flag("--inactive"),
                kitchen_station: a.one("--kitchen")?.map(String::from),
            }
        }
        "promotion" => {
            let p = want(5)?;
            ItemSpec::Promotion {
                id: p[0].clone(),
                sku: p[1].clone(),
                discount_bp: basis_points(&p[2])?,
                from_ms: time_ms(&p[3])?,
                until_ms: time_ms(&p[4])?,
            }
        }
        other => {
            return err(format!(
                "cannot publish {other:?}: use price, setting, tax-rate, item or promotion"
            ))
        }
    };
    let request = PublishRequest {
        stores: a.all("--store"),
        item,
    };
    // Refuse what the service would refuse, before reaching it.
    request.validate().map_err(CliError)?;
    admin(&a, Action::Publish(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn publish_item(s: &str) -> ItemSpec {
        match parse(&args(s)).unwrap() {
            Command::Admin {
                action: Action::Publish(r),
                ..
            } => r.item,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse(&[]).unwrap(), Command::Help);
        let Command::Init(p) = parse(&args("init --dir /tmp/c --listen 127.0.0.1:9000")).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.server_name, "cloud.keel");
        assert_eq!(p.listen.port(), 9000);
        assert_eq!(p.http.port(), 7480);
        let Command::Serve(s) =
            parse(&args("serve --dir /tmp/c --database-url postgresql://x")).unwrap()
        else {
            panic!()
        };
        assert_eq!(s.database_url.as_deref(), Some("postgresql://x"));
        assert_eq!(
            publish_item("publish --dir d price COF 2.50"),
            ItemSpec::Price {
                sku: "COF".into(),
                price_minor: 250
            }
        );
        assert_eq!(
            publish_item("publish --dir d price COF 27000 --currency IDR"),
            ItemSpec::Price {
                sku: "COF".into(),
                price_minor: 27000
            }
        );
        assert_eq!(
            publish_item("publish --dir d price COF 250 --minor"),
            ItemSpec::Price {
                sku: "COF".into(),
                price_minor: 250
            }
        );
        assert_eq!(
            publish_item("publish --dir d tax-rate standard 11%"),
            ItemSpec::TaxRate {
                class: "standard".into(),
                rate_bp: 1100
            }
        );
        let ItemSpec::Promotion {
            from_ms,
            until_ms,
            discount_bp,
            ..
        } = publish_item("publish --dir d promotion p1 COF 10% 2026-11-23 1795500000000")
        else {
            panic!()
        };
        assert_eq!(
            (from_ms, until_ms, discount_bp),
            (1_795_392_000_000, 1_795_500_000_000, 1000)
        );
        let ItemSpec::Item {
            barcodes, currency, ..
        } = publish_item(
            "publish --dir d --store s1 item TEA Tea 2.50 --barcode 4006381333931 --kitchen bar",
        )
        else {
            panic!()
        };
        assert_eq!((barcodes.len(), currency.as_str()), (1, "EUR"));
        let Command::Admin { action, .. } =
            parse(&args("report --dir d --csv --from 2026-11-01")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            action,
            Action::Report {
                csv: true,
                from: Some("2026-11-01".into()),
                to: None
            }
        );
        for bad in [
            "bogus",
            "init",
            "status",
            "status --dir d extra",
            "publish --dir d price COF 2.505",
            "publish --dir d price COF -1",
            "publish --dir d price COF 2.50 --category x",
            "publish --dir d setting onlykey",
            "publish --dir d tax-rate standard 101%",
            "publish --dir d frobnicate x",
            "publish --dir d item T T 1 --barcode 123",
            "report --dir d --from yesterday",
            "orders --dir d --limit 0",
            "stock --dir d",
            "customer --dir d C-1",
            "customer --dir d --store s1 bad_id",
            "erase-customer --dir d bad_id",
            "serve --dir d --listen nowhere",
            "status --dir d --dir e",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }
}
