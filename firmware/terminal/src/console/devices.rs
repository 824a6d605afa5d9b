//! The console's peripheral commands: `printer test`, `printer status`,
//! `printer reprint`, `drawer test`, `scanner monitor`, `scale read`,
//! `scale add` (an item sold by weight, weighed on the scale). They
//! only ask the terminal's peripherals (`crate::peripherals`) and render the
//! answer; opening the drawer is journaled first, like every opening.

use super::command::Command;
use super::reply::Reply;
use super::session::SessionState;
use crate::fields;
use crate::node::Node;
use crate::peripherals::Peripherals;
use keel_core::auth::{Permission, User};
use keel_core::catalog::SoldBy;
use keel_core::engine::{require, Engine};

fn need(devices: Option<&Peripherals>) -> Result<&Peripherals, Reply> {
    devices.ok_or_else(|| {
        Reply::err("this terminal has no peripherals configured ([printer], [drawer], [scanner], [scale] or --printer-port / --scanner-events)")
    })
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

/// Grams as kilograms with three decimals, in integers (`1234` -> `1.234`).
fn kilograms(grams: i64) -> String {
    let sign = if grams < 0 { "-" } else { "" };
    let g = grams.unsigned_abs();
    format!("{sign}{}.{:03}", g / 1000, g % 1000)
}

/// The printer's state in one word, as `status` shows it.
pub fn printer_state(r: &crate::peripherals::PrinterReport) -> &'static str {
    let st = &r.status;
    if !st.reachable {
        "not answering"
    } else if st.paper_out {
        "paper out"
    } else if st.cover_open {
        "cover open"
    } else if st.error {
        "error"
    } else if !st.online {
        "offline"
    } else if st.paper_near_end {
        "paper low"
    } else {
        "ready"
    }
}

/// Adds the printer's state to a `status` reply (`printer`, `print_queue`).
pub fn add_printer_line(reply: &mut Reply, r: &crate::peripherals::PrinterReport) {
    let state = printer_state(r);
    if let Ok(fields) = &mut reply.result {
        fields.insert("printer".into(), state.into());
        fields.insert("print_queue".into(), r.pending.into());
    }
    reply
        .text
        .push(format!("printer {state}, {} job(s) waiting", r.pending));
}

/// A wait on a device that a command asked for, run by the console loop with
/// the node unlocked; its outcome is the command's reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceWait {
    /// `scale read`: wait for a settled weight.
    ScaleRead,
    /// `scale add <key>`: wait for a settled weight, then sell it.
    ScaleAdd(String),
    /// `drawer test`: the drawer's switch shortly after the kick.
    DrawerStatus,
}

/// How a device wait ends.
#[derive(Clone, Debug)]
pub enum Finished {
    /// The command's reply.
    Reply(Reply),
    /// A console line to run next, with the node locked, whose reply is the
    /// command's (`scale add` becomes `sale add <key> <kg>`).
    Run(String),
}

/// The `sale add` line for `key` weighed at `reading`, or why nothing is sold:
/// only a settled, positive weight sells.
pub fn weighed_line(key: &str, reading: &crate::peripherals::ScaleReport) -> Result<String, Reply> {
    if reading.state == "stable" && reading.grams > 0 {
        Ok(format!("sale add {key} {}", kilograms(reading.grams)))
    } else {
        Err(Reply::err(format!(
            "the scale reads {} ({} kg): nothing added; put the item on the scale",
            reading.state,
            kilograms(reading.grams)
        )))
    }
}

/// Runs a device wait (the node is not locked) and renders the reply.
pub fn finish(wait: DeviceWait, devices: &Peripherals) -> Finished {
    match wait {
        DeviceWait::ScaleRead => Finished::Reply(match devices.scale_read() {
            Ok(r) => Reply::ok(
                fields! { "state" => r.state, "grams" => r.grams },
                vec![format!("scale: {} {} kg", r.state, kilograms(r.grams))],
            ),
            Err(e) => Reply::err(e),
        }),
        DeviceWait::ScaleAdd(key) => match devices.scale_read() {
            Ok(r) => match weighed_line(&key, &r) {
                Ok(line) => Finished::Run(line),
                Err(reply) => Finished::Reply(reply),
            },
            Err(e) => Finished::Reply(Reply::err(format!("nothing added: {e}"))),
        },
        DeviceWait::DrawerStatus => {
            let status = devices.drawer_status_after_kick();
            Finished::Reply(Reply::ok(
                fields! { "drawer" => "kicked", "open" => status },
                vec![format!(
                    "drawer kicked (journaled as a no-sale); reports open: {}",
                    yes_no(status)
                )],
            ))
        }
    }
}

/// Runs one peripheral command.
pub fn execute(
    node: &mut Node,
    st: &mut SessionState,
    user: Option<&User>,
    devices: Option<&Peripherals>,
    cmd: Command,
) -> Result<Reply, Reply> {
    match cmd {
        Command::PrinterTest => {
            require(user, Permission::Sell).map_err(Reply::err)?;
            let job = need(devices)?.printer_test(node).map_err(Reply::err)?;
            Ok(Reply::ok(
                fields! { "job" => job },
                vec![format!("test page queued as print job {job}")],
            ))
        }
        Command::PrinterStatus => {
            require(user, Permission::Sell).map_err(Reply::err)?;
            let r = need(devices)?
                .printer_status()
                .ok_or_else(|| Reply::err("no receipt printer configured"))?;
            let st = &r.status;
            let text = vec![
                format!(
                    "printer {}: {}",
                    r.port,
                    if !st.reachable {
                        "not answering"
                    } else if st.ready() {
                        "ready"
                    } else {
                        "not ready"
                    }
                ),
                format!(
                    "online {}  cover open {}  paper near end {}  paper out {}  error {}  drawer open {}",
                    yes_no(Some(st.online)),
                    yes_no(Some(st.cover_open)),
                    yes_no(Some(st.paper_near_end)),
                    yes_no(Some(st.paper_out)),
                    yes_no(Some(st.error)),
                    yes_no(st.drawer_open)
                ),
                format!(
                    "{} job(s) waiting, {} printed since start{}",
                    r.pending,
                    r.printed,
                    r.last_error
                        .as_ref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                ),
            ];
            Ok(Reply::ok(
                fields! {
                    "port" => r.port, "reachable" => st.reachable, "online" => st.online,
                    "cover_open" => st.cover_open, "paper_near_end" => st.paper_near_end,
                    "paper_out" => st.paper_out, "error" => st.error, "drawer_open" => st.drawer_open,
                    "pending" => r.pending, "printed" => r.printed, "last_error" => r.last_error,
                },
                text,
            ))
        }
        Command::PrinterReprint { receipt } => {
            require(user, Permission::Sell).map_err(Reply::err)?;
            let (no, job) = need(devices)?.reprint(node, receipt).map_err(Reply::err)?;
            Ok(Reply::ok(
                fields! { "receipt" => no, "job" => job },
                vec![format!("receipt {no} queued again as print job {job}")],
            ))
        }
        Command::DrawerTest => {
            let d = need(devices)?;
            if !d.has_drawer() {
                return Err(Reply::err("no cash drawer configured"));
            }
            // Every opening is journaled: a test is an authorised no-sale.
            let events = Engine::new(&node.profile, &node.state)
                .no_sale(user)
                .map_err(Reply::err)?;
            node.commit(events, None).map_err(Reply::err)?;
            st.device_wait = Some(DeviceWait::DrawerStatus);
            Ok(Reply::line("drawer kicked"))
        }
        Command::ScannerMonitor => {
            require(user, Permission::Diagnostics).map_err(Reply::err)?;
            if !need(devices)?.has_scanner() {
                return Err(Reply::err("no scanner configured"));
            }
            st.monitoring = true;
            Ok(Reply::ok(
                fields! { "monitor" => "started" },
                vec![
                    "scanner monitor: each scan is shown, nothing is sold; an empty line ends"
                        .into(),
                ],
            ))
        }
        Command::ScaleRead => {
            require(user, Permission::Sell).map_err(Reply::err)?;
            if !need(devices)?.has_scale() {
                return Err(Reply::err("no scale configured"));
            }
            st.device_wait = Some(DeviceWait::ScaleRead);
            Ok(Reply::line("reading the scale"))
        }
        Command::ScaleAdd { key } => {
            require(user, Permission::Sell).map_err(Reply::err)?;
            if !need(devices)?.has_scale() {
                return Err(Reply::err("no scale configured"));
            }
            // Refused before waiting on the scale: an unknown item, one sold
            // by the unit (`sale add` it), or no open sale.
            let engine = Engine::new(&node.profile, &node.state);
            let (item, _) = engine.resolve(&key).map_err(Reply::err)?;
            if item.sold_by != SoldBy::Weight {
                return Err(Reply::err(format!(
                    "{} is sold by the unit, not by weight: `sale add {key}`",
                    item.sku.0
                )));
            }
            if node.state.cart.is_none() {
                return Err(Reply::err("no open sale: `sale new` first"));
            }
            st.device_wait = Some(DeviceWait::ScaleAdd(key));
            Ok(Reply::line("weighing"))
        }
        other => Err(Reply::err(format!("{other:?} is not a peripheral command"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peripherals::{PrinterReport, ScaleReport};
    use keel_devices::status::PrinterStatus;

    fn report(edit: impl Fn(&mut PrinterStatus)) -> PrinterReport {
        let mut status = PrinterStatus {
            reachable: true,
            online: true,
            cover_open: false,
            paper_near_end: false,
            paper_out: false,
            error: false,
            drawer_open: Some(false),
        };
        edit(&mut status);
        PrinterReport {
            port: "/dev/ttyUSB0".into(),
            status,
            pending: 0,
            printed: 0,
            last_error: None,
        }
    }

    #[test]
    fn every_dle_eot_state_has_its_word() {
        let cases: [(&str, fn(&mut PrinterStatus)); 7] = [
            ("ready", |_| {}),
            ("paper low", |s| s.paper_near_end = true),
            ("paper out", |s| {
                s.paper_near_end = true;
                s.paper_out = true;
            }),
            ("cover open", |s| s.cover_open = true),
            ("error", |s| s.error = true),
            ("offline", |s| s.online = false),
            ("not answering", |s| *s = PrinterStatus::unreachable()),
        ];
        for (word, edit) in cases {
            assert_eq!(printer_state(&report(edit)), word);
        }
    }

    #[test]
    fn only_a_settled_positive_weight_sells() {
        let r = |state, grams| ScaleReport { state, grams };
        assert_eq!(
            weighed_line("BANANA", &r("stable", 1_234)).ok().as_deref(),
            Some("sale add BANANA 1.234")
        );
        assert_eq!(
            weighed_line("APPLE", &r("stable", 5)).ok().as_deref(),
            Some("sale add APPLE 0.005")
        );
        for (state, grams) in [
            ("zero", 0),
            ("unstable", 800),
            ("overload", 999_999),
            ("under zero", -20),
            ("stable", 0),
        ] {
            let e = weighed_line("BANANA", &r(state, grams)).unwrap_err();
            let text = e.render(false);
            assert!(
                text.contains(state) && text.contains("nothing added"),
                "{text}"
            );
        }
    }
}
