//! The console's command language: one command per line, parsed into a
//! [`Command`] or a one-line error carrying the command's usage. Pure: no I/O.

use thiserror::Error;

/// Every console command and its usage line, in help order.
pub const USAGE: &[(&str, &str)] = &[
    ("help", "help"),
    ("login", "login <pin>"),
    ("logout", "logout"),
    ("status", "status"),
    ("json", "json on|off"),
    ("catalog list", "catalog list [query]"),
    ("catalog import", "catalog import <csv|json path>"),
    ("stock", "stock [sku]"),
    ("stock adjust", "stock adjust <sku> <delta> <reason>"),
    ("shift open", "shift open <float>"),
    ("shift close", "shift close <counted>"),
    ("cash in", "cash in <amount> <reason>"),
    ("cash out", "cash out <amount> <reason>"),
    ("sale new", "sale new"),
    ("sale add", "sale add <barcode|sku|name> [qty]"),
    ("sale qty", "sale qty <line> <qty>"),
    ("sale void-line", "sale void-line <line>"),
    ("sale discount", "sale discount <line|all> <amount|N%>"),
    ("sale override", "sale override <line> <price> <reason>"),
    ("sale tender cash", "sale tender cash <amount>"),
    (
        "sale tender card",
        "sale tender card <amount> <token> <last4> [brand] [--approve <manager-pin>]",
    ),
    ("sale show", "sale show"),
    ("sale complete", "sale complete [command-id]"),
    ("sale cancel", "sale cancel"),
    ("receipt show", "receipt show <number>"),
    ("void", "void <receipt>"),
    ("refund", "refund <receipt> <line>:<qty>..."),
    ("drawer open", "drawer open"),
    ("drawer test", "drawer test"),
    ("printer test", "printer test"),
    ("printer status", "printer status"),
    ("printer reprint", "printer reprint [receipt]"),
    ("scanner monitor", "scanner monitor"),
    ("scale read", "scale read"),
    ("scale add", "scale add <barcode|sku|name>"),
    ("report x", "report x"),
    ("report z", "report z [number]"),
    ("journal tail", "journal tail <n>"),
    ("journal verify", "journal verify"),
    ("journal export", "journal export <path>"),
    ("journal rebuild", "journal rebuild"),
    ("peers", "peers"),
    ("leader", "leader"),
    ("raft status", "raft status"),
    ("cloud status", "cloud status"),
    ("cluster add", "cluster add <terminal-id>"),
    ("cluster remove", "cluster remove <terminal-id>"),
    ("price set", "price set <sku> <price>"),
    ("day close", "day close [YYYY-MM-DD]"),
    ("setting set", "setting set <key> <value>"),
    ("settings", "settings"),
    ("customer set", "customer set <id> <phone|-> <name>"),
    ("customer show", "customer show <id>"),
    ("customers", "customers [query]"),
    ("kitchen list", "kitchen list"),
    ("kitchen advance", "kitchen advance <ticket>"),
    ("kitchen recall", "kitchen recall <ticket>"),
    ("order place", "order place"),
    ("orders", "orders"),
    ("order take", "order take <number>"),
    ("order cancel", "order cancel <number>"),
    ("model list", "model list"),
    ("model recognize", "model recognize [image.png]"),
    ("model score", "model score [shift]"),
    (
        "model reload",
        "model reload <recognition|loss-prevention> <dir>",
    ),
    ("ota status", "ota status [--json]"),
    (
        "ota install",
        "ota install <bundle-path>|--offered [--now] [--allow-downgrade] [--json]",
    ),
    (
        "ota rollback",
        "ota rollback [models <recognition|loss-prevention>] [--json]",
    ),
    ("quit", "quit"),
];

/// A parsed console command. Arguments stay text where the engine parses them
/// against the store's currency or the item's unit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Command {
    Help,
    Login {
        pin: String,
    },
    Logout,
    Status,
    Json {
        on: bool,
    },
    CatalogList {
        query: String,
    },
    CatalogImport {
        path: String,
    },
    Stock {
        sku: Option<String>,
    },
    StockAdjust {
        sku: String,
        delta: i64,
        reason: String,
    },
    ShiftOpen {
        float: String,
    },
    ShiftClose {
        counted: String,
    },
    Cash {
        inward: bool,
        amount: String,
        reason: String,
    },
    SaleNew,
    SaleAdd {
        key: String,
        qty: Option<String>,
    },
    SaleQty {
        line: u32,
        qty: String,
    },
    SaleVoidLine {
        line: u32,
    },
    SaleDiscount {
        line: Option<u32>,
        value: String,
    },
    SaleOverride {
        line: u32,
        price: String,
        reason: String,
    },
    TenderCash {
        amount: String,
    },
    TenderCard {
        amount: String,
        token: String,
        last4: String,
        brand: Option<String>,
        /// A manager's PIN approving a high-risk offline card tender.
        approve_pin: Option<String>,
    },
    SaleShow,
    SaleComplete {
        command_id: Option<String>,
    },
    SaleCancel,
    ReceiptShow {
        number: u64,
    },
    Void {
        receipt: u64,
    },
    Refund {
        receipt: u64,
        lines: Vec<(u32, String)>,
    },
    DrawerOpen,
    DrawerTest,
    PrinterTest,
    PrinterStatus,
    PrinterReprint {
        receipt: Option<u64>,
    },
    ScannerMonitor,
    ScaleRead,
    ScaleAdd {
        key: String,
    },
    ReportX,
    ReportZ {
        number: Option<u64>,
    },
    JournalTail {
        n: u64,
    },
    JournalVerify,
    JournalExport {
        path: String,
    },
    JournalRebuild,
    Peers,
    Leader,
    RaftStatus,
    CloudStatus,
    ClusterAdd {
        terminal: u32,
    },
    ClusterRemove {
        terminal: u32,
    },
    PriceSet {
        sku: String,
        price: String,
    },
    DayClose {
        day: Option<String>,
    },
    SettingSet {
        key: String,
        value: String,
    },
    Settings,
    CustomerSet {
        id: String,
        phone: Option<String>,
        name: String,
    },
    CustomerShow {
        id: String,
    },
    Customers {
        query: String,
    },
    KitchenList,
    KitchenAdvance {
        ticket: String,
    },
    KitchenRecall {
        ticket: String,
    },
    OrderPlace,
    Orders,
    OrderTake {
        number: String,
    },
    OrderCancel {
        number: String,
    },
    ModelList,
    ModelRecognize {
        image: Option<String>,
    },
    ModelScore {
        shift: Option<u64>,
    },
    ModelReload {
        kind: String,
        dir: String,
    },
    /// `json`: this reply as JSON (`--json`).
    OtaStatus {
        json: bool,
    },
    /// `path` None: the channel's offer (`--offered`).
    OtaInstall {
        path: Option<String>,
        now: bool,
        allow_downgrade: bool,
        json: bool,
    },
    /// `models` None: firmware.
    OtaRollback {
        models: Option<String>,
        json: bool,
    },
    Quit,
}

/// A line that is not a valid command.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The first word(s) name no command.
    #[error("unknown command {0:?}; usage: help (lists every command); commands: {words}", words = command_words())]
    Unknown(String),
    /// The command's arguments are wrong.
    #[error("{problem}; usage: {usage}")]
    Usage {
        /// What is wrong.
        problem: String,
        /// The usage line(s).
        usage: String,
    },
    /// The line is longer than the console accepts.
    #[error("line too long ({0} bytes; at most {MAX_LINE})")]
    TooLong(usize),
}

/// The first words of every command, deduplicated, in help order.
fn command_words() -> String {
    let mut words: Vec<&str> = Vec::new();
    for (name, _) in USAGE {
        let w = name.split(' ').next().unwrap_or(name);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    words.join(", ")
}

/// Longest accepted line, in bytes.
pub const MAX_LINE: usize = 4096;

fn usage_of(name: &str) -> &'static str {
    USAGE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| *u)
        .unwrap_or("help")
}

struct Args<'l> {
    name: &'static str,
    words: Vec<&'l str>,
    rest: &'l str,
}

impl<'l> Args<'l> {
    fn bad(&self, problem: impl Into<String>) -> ParseError {
        ParseError::Usage {
            problem: problem.into(),
            usage: usage_of(self.name).to_string(),
        }
    }
    fn count(&self, min: usize, max: usize) -> Result<(), ParseError> {
        if self.words.len() < min {
            return Err(self.bad("missing argument"));
        }
        if self.words.len() > max {
            return Err(self.bad(format!("unexpected argument {:?}", self.words[max])));
        }
        Ok(())
    }
    fn word(&self, i: usize) -> String {
        self.words.get(i).map(|w| w.to_string()).unwrap_or_default()
    }
    fn number<T: std::str::FromStr>(&self, i: usize, what: &str) -> Result<T, ParseError> {
        let w = self.words.get(i).copied().unwrap_or("");
        w.parse()
            .map_err(|_| self.bad(format!("{what} must be a number, got {w:?}")))
    }
    /// Everything after the first `skip` words, trimmed (for free-text reasons).
    fn tail(&self, skip: usize) -> String {
        let mut rest = self.rest;
        for _ in 0..skip {
            rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = &rest[end..];
        }
        rest.trim().to_string()
    }
}

/// Parses one line. Returns `Ok(None)` for a blank line or a `#` comment.
pub fn parse(line: &str) -> Result<Option<Command>, ParseError> {
    if line.len() > MAX_LINE {
        return Err(ParseError::TooLong(line.len()));
    }
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = words[0].to_ascii_lowercase();
    let second = words
        .get(1)
        .map(|w| w.to_ascii_lowercase())
        .unwrap_or_default();
    // Longest match: three words ("sale tender cash"), then two, then one.
    let third = words
        .get(2)
        .map(|w| w.to_ascii_lowercase())
        .unwrap_or_default();
    let candidates = [
        format!("{first} {second} {third}"),
        format!("{first} {second}"),
        first.clone(),
    ];
    let (name, used) = candidates
        .iter()
        .zip([3usize, 2, 1])
        .find_map(|(c, n)| {
            USAGE
                .iter()
                .find(|(u, _)| *u == c.as_str())
                .map(|(u, _)| (*u, n))
        })
        .ok_or_else(|| {
            let group = USAGE
                .iter()
                .any(|(u, _)| u.starts_with(&format!("{first} ")));
            if group {
                let subs: Vec<&str> = USAGE
                    .iter()
                    .filter(|(u, _)| u.starts_with(&format!("{first} ")))
                    .map(|(_, u)| *u)
                    .collect();
                ParseError::Usage {
                    problem: format!(
                        "unknown {first} command {:?}",
                        words.get(1).copied().unwrap_or("")
                    ),
                    usage: subs.join(" | "),
                }
            } else {
                ParseError::Unknown(words[0].to_string())
            }
        })?;
    let mut rest = line;
    for _ in 0..used {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    let mut a = Args {
        name,
        words: words[used..].to_vec(),
        rest,
    };
    let cmd = match name {
        "help" => Command::Help,
        "login" => {
            a.count(1, 1)?;
            Command::Login { pin: a.word(0) }
        }
        "logout" => {
            a.count(0, 0)?;
            Command::Logout
        }
        "status" => Command::Status,
        "json" => {
            a.count(1, 1)?;
            match a.word(0).as_str() {
                "on" => Command::Json { on: true },
                "off" => Command::Json { on: false },
                w => return Err(a.bad(format!("expected on or off, got {w:?}"))),
            }
        }
        "catalog list" => Command::CatalogList { query: a.tail(0) },
        "catalog import" => {
            a.count(1, 1)?;
            Command::CatalogImport { path: a.word(0) }
        }
        "stock" => {
            a.count(0, 1)?;
            Command::Stock {
                sku: a.words.first().map(|s| s.to_string()),
            }
        }
        "stock adjust" => {
            if a.words.len() < 3 {
                return Err(a.bad("missing argument"));
            }
            Command::StockAdjust {
                sku: a.word(0),
                delta: a.number(1, "delta")?,
                reason: a.tail(2),
            }
        }
        "shift open" => {
            a.count(1, 1)?;
            Command::ShiftOpen { float: a.word(0) }
        }
        "shift close" => {
            a.count(1, 1)?;
            Command::ShiftClose { counted: a.word(0) }
        }
        "cash in" | "cash out" => {
            if a.words.len() < 2 {
                return Err(a.bad("missing argument"));
            }
            Command::Cash {
                inward: name == "cash in",
                amount: a.word(0),
                reason: a.tail(1),
            }
        }
        "sale new" => {
            a.count(0, 0)?;
            Command::SaleNew
        }
        "sale add" => {
            a.count(1, 2)?;
            Command::SaleAdd {
                key: a.word(0),
                qty: a.words.get(1).map(|s| s.to_string()),
            }
        }
        "sale qty" => {
            a.count(2, 2)?;
            Command::SaleQty {
                line: a.number(0, "line")?,
                qty: a.word(1),
            }
        }
        "sale void-line" => {
            a.count(1, 1)?;
            Command::SaleVoidLine {
                line: a.number(0, "line")?,
            }
        }
        "sale discount" => {
            a.count(2, 2)?;
            let line = if a.word(0).eq_ignore_ascii_case("all") {
                None
            } else {
                Some(a.number(0, "line")?)
            };
            Command::SaleDiscount {
                line,
                value: a.word(1),
            }
        }
        "sale override" => {
            if a.words.len() < 3 {
                return Err(a.bad("missing argument (a reason is required)"));
            }
            Command::SaleOverride {
                line: a.number(0, "line")?,
                price: a.word(1),
                reason: a.tail(2),
            }
        }
        "sale tender cash" => {
            a.count(1, 1)?;
            Command::TenderCash { amount: a.word(0) }
        }
        "sale tender card" => {
            // `--approve <pin>`: a manager approves a high-risk card tender.
            let mut approve_pin = None;
            if let Some(i) = a.words.iter().position(|w| *w == "--approve") {
                let pin = a
                    .words
                    .get(i + 1)
                    .ok_or_else(|| a.bad("--approve needs the manager's PIN"))?;
                approve_pin = Some(pin.to_string());
                a.words.drain(i..i + 2);
            }
            a.count(3, 4)?;
            Command::TenderCard {
                amount: a.word(0),
                token: a.word(1),
                last4: a.word(2),
                brand: a.words.get(3).map(|s| s.to_string()),
                approve_pin,
            }
        }
        "sale show" => Command::SaleShow,
        "sale complete" => {
            a.count(0, 1)?;
            Command::SaleComplete {
                command_id: a.words.first().map(|s| s.to_string()),
            }
        }
        "sale cancel" => Command::SaleCancel,
        "receipt show" => {
            a.count(1, 1)?;
            Command::ReceiptShow {
                number: a.number(0, "receipt")?,
            }
        }
        "void" => {
            a.count(1, 1)?;
            Command::Void {
                receipt: a.number(0, "receipt")?,
            }
        }
        "refund" => {
            if a.words.len() < 2 {
                return Err(a.bad("missing argument"));
            }
            let receipt = a.number(0, "receipt")?;
            let mut lines = Vec::new();
            for w in &a.words[1..] {
                let (l, q) = w
                    .split_once(':')
                    .ok_or_else(|| a.bad(format!("expected <line>:<qty>, got {w:?}")))?;
                let line = l
                    .parse()
                    .map_err(|_| a.bad(format!("line must be a number, got {l:?}")))?;
                if q.is_empty() {
                    return Err(a.bad(format!("missing quantity in {w:?}")));
                }
                lines.push((line, q.to_string()));
            }
            Command::Refund { receipt, lines }
        }
        "drawer open" => Command::DrawerOpen,
        "report x" => Command::ReportX,
        "report z" => {
            a.count(0, 1)?;
            Command::ReportZ {
                number: if a.words.is_empty() {
                    None
                } else {
                    Some(a.number(0, "number")?)
                },
            }
        }
        "journal tail" => {
            a.count(0, 1)?;
            Command::JournalTail {
                n: if a.words.is_empty() {
                    10
                } else {
                    a.number(0, "n")?
                },
            }
        }
        "journal verify" => Command::JournalVerify,
        "journal export" => {
            a.count(1, 1)?;
            Command::JournalExport { path: a.word(0) }
        }
        "journal rebuild" => Command::JournalRebuild,
        "peers" => Command::Peers,
        "leader" => Command::Leader,
        "raft status" => Command::RaftStatus,
        "cloud status" => {
            a.count(0, 0)?;
            Command::CloudStatus
        }
        "drawer test" => {
            a.count(0, 0)?;
            Command::DrawerTest
        }
        "printer test" => {
            a.count(0, 0)?;
            Command::PrinterTest
        }
        "printer status" => {
            a.count(0, 0)?;
            Command::PrinterStatus
        }
        "printer reprint" => {
            a.count(0, 1)?;
            Command::PrinterReprint {
                receipt: if a.words.len() == 1 {
                    Some(a.number(0, "receipt number")?)
                } else {
                    None
                },
            }
        }
        "scanner monitor" => {
            a.count(0, 0)?;
            Command::ScannerMonitor
        }
        "scale read" => {
            a.count(0, 0)?;
            Command::ScaleRead
        }
        "scale add" => {
            a.count(1, 1)?;
            Command::ScaleAdd { key: a.word(0) }
        }
        "cluster add" | "cluster remove" => {
            a.count(1, 1)?;
            let terminal: u32 = a.number(0, "terminal id")?;
            if terminal == 0 {
                return Err(a.bad("terminal ids start at 1"));
            }
            if name == "cluster add" {
                Command::ClusterAdd { terminal }
            } else {
                Command::ClusterRemove { terminal }
            }
        }
        "price set" => {
            a.count(2, 2)?;
            Command::PriceSet {
                sku: a.word(0),
                price: a.word(1),
            }
        }
        "setting set" => {
            if a.words.len() < 2 {
                return Err(a.bad("missing argument"));
            }
            Command::SettingSet {
                key: a.word(0),
                value: a.tail(1),
            }
        }
        "settings" => Command::Settings,
        "customer set" => {
            if a.words.len() < 3 {
                return Err(a.bad("missing argument"));
            }
            let phone = a.word(1);
            Command::CustomerSet {
                id: a.word(0),
                phone: if phone == "-" { None } else { Some(phone) },
                name: a.tail(2),
            }
        }
        "customer show" => {
            a.count(1, 1)?;
            Command::CustomerShow { id: a.word(0) }
        }
        "customers" => Command::Customers { query: a.tail(0) },
        "day close" => {
            a.count(0, 1)?;
            let day = a.words.first().map(|d| d.to_string());
            if let Some(d) = &day {
                let ok = d.len() == 10
                    && d.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                if !ok {
                    return Err(a.bad(format!("the day is YYYY-MM-DD, got {d:?}")));
                }
            }
            Command::DayClose { day }
        }
        "kitchen list" => Command::KitchenList,
        "kitchen advance" => {
            a.count(1, 1)?;
            Command::KitchenAdvance { ticket: a.word(0) }
        }
        "kitchen recall" => {
            a.count(1, 1)?;
            Command::KitchenRecall { ticket: a.word(0) }
        }
        "order place" => {
            a.count(0, 0)?;
            Command::OrderPlace
        }
        "orders" => {
            a.count(0, 0)?;
            Command::Orders
        }
        "order take" | "order cancel" => {
            a.count(1, 1)?;
            if keel_core::counter_order::CounterOrderId::parse(&a.word(0)).is_none() {
                return Err(a.bad(format!(
                    "an order number looks like K2-7, got {:?}",
                    a.word(0)
                )));
            }
            if name == "order take" {
                Command::OrderTake { number: a.word(0) }
            } else {
                Command::OrderCancel { number: a.word(0) }
            }
        }
        "model list" => {
            a.count(0, 0)?;
            Command::ModelList
        }
        "model recognize" => {
            a.count(0, 1)?;
            Command::ModelRecognize {
                image: a.words.first().map(|s| s.to_string()),
            }
        }
        "model score" => {
            a.count(0, 1)?;
            Command::ModelScore {
                shift: if a.words.is_empty() {
                    None
                } else {
                    Some(a.number(0, "shift")?)
                },
            }
        }
        "model reload" => {
            a.count(2, 2)?;
            let kind = a.word(0).to_ascii_lowercase();
            if kind != "recognition" && kind != "loss-prevention" {
                return Err(a.bad(format!(
                    "the model is recognition or loss-prevention, got {:?}",
                    a.word(0)
                )));
            }
            Command::ModelReload {
                kind,
                dir: a.word(1),
            }
        }
        "ota status" => {
            let json = a.words.contains(&"--json");
            a.words.retain(|w| *w != "--json");
            a.count(0, 0)?;
            Command::OtaStatus { json }
        }
        "ota install" => {
            let (mut path, mut offered, mut now, mut allow_downgrade) = (None, false, false, false);
            let mut json = false;
            for w in &a.words {
                match *w {
                    "--json" => json = true,
                    "--now" => now = true,
                    "--allow-downgrade" => allow_downgrade = true,
                    "--offered" => offered = true,
                    flag if flag.starts_with("--") => {
                        return Err(a.bad(format!("unknown option {flag:?}")))
                    }
                    p if path.is_none() => path = Some(p.to_string()),
                    extra => return Err(a.bad(format!("unexpected argument {extra:?}"))),
                }
            }
            if path.is_some() == offered {
                return Err(a.bad("give a bundle path or --offered"));
            }
            Command::OtaInstall {
                path,
                now,
                allow_downgrade,
                json,
            }
        }
        "ota rollback" => {
            let json = a.words.contains(&"--json");
            a.words.retain(|w| *w != "--json");
            a.count(0, 2)?;
            match a.words.first().map(|w| w.to_ascii_lowercase()) {
                None => Command::OtaRollback { models: None, json },
                Some(w) if w == "models" && a.words.len() == 2 => Command::OtaRollback {
                    models: Some(a.word(1).to_ascii_lowercase()),
                    json,
                },
                Some(_) => return Err(a.bad("`ota rollback` or `ota rollback models <kind>`")),
            }
        }
        "quit" => Command::Quit,
        _ => return Err(ParseError::Unknown(name.to_string())),
    };
    Ok(Some(cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract() {
        assert_eq!(
            parse("sale add 4006381333931 2").unwrap(),
            Some(Command::SaleAdd {
                key: "4006381333931".into(),
                qty: Some("2".into())
            })
        );
        assert_eq!(
            parse("  sale tender cash 20.00 ").unwrap(),
            Some(Command::TenderCash {
                amount: "20.00".into()
            })
        );
        assert_eq!(
            parse("sale override 2 1.00 damaged box, customer ok").unwrap(),
            Some(Command::SaleOverride {
                line: 2,
                price: "1.00".into(),
                reason: "damaged box, customer ok".into()
            })
        );
        assert_eq!(
            parse("refund 12 1:2 3:0.250").unwrap(),
            Some(Command::Refund {
                receipt: 12,
                lines: vec![(1, "2".into()), (3, "0.250".into())]
            })
        );
        assert_eq!(
            parse("sale discount all 10%").unwrap(),
            Some(Command::SaleDiscount {
                line: None,
                value: "10%".into()
            })
        );
        assert_eq!(parse("# comment").unwrap(), None);
        assert_eq!(parse("").unwrap(), None);
    }

    #[test]
    fn errors_carry_usage() {
        let e = parse("sale qty x 2").unwrap_err().to_string();
        assert!(e.contains("usage: sale qty <line> <qty>"), "{e}");
        let e = parse("frobnicate").unwrap_err().to_string();
        assert!(e.contains("unknown command"), "{e}");
        let e = parse("sale fly").unwrap_err().to_string();
        assert!(e.contains("usage:") && e.contains("sale new"), "{e}");
        let e = parse("refund 3 1-2").unwrap_err().to_string();
        assert!(e.contains("<line>:<qty>"), "{e}");
        assert!(matches!(
            parse(&"x".repeat(5000)),
            Err(ParseError::TooLong(_))
        ));
        for bad in [
            "day close 2026-13",
            "day close 23-11-2026",
            "cluster add 0",
            "cluster remove x",
            "price set CHOC-100",
            "setting set key",
            "customer set C-1 -",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains("usage:"), "{bad}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_line(line in ".{0,200}") {
            let _ = parse(&line);
        }

        #[test]
        fn never_panics_on_command_like_lines(
            head in proptest::sample::select(USAGE.iter().map(|(n, _)| *n).collect::<Vec<_>>()),
            tail in proptest::collection::vec("[ -~]{0,12}", 0..6),
        ) {
            let line = format!("{head} {}", tail.join(" "));
            if let Err(e) = parse(&line) {
                // Every refusal is one line and, for a known command, carries its usage.
                let text = e.to_string();
                proptest::prop_assert!(!text.contains('\n'));
                proptest::prop_assert!(text.contains("usage:") || text.contains("too long"), "{}", text);
            }
        }
    }
}
