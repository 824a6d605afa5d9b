//! Runs one [`UiAction`] through the console's [`Session`], so permissions,
//! journaling and idempotency are the console's own, then records what the
//! screen should show next (receipt preview, report, lookup results, the
//! message). The node is locked for the one action; a consensus decision, if
//! a command asks for one, is waited for with the node unlocked.
//!
//! Manager-PIN actions (void, refund, price override) run in a second,
//! supervisor session: the PIN logs the manager in there, the one command
//! runs as the manager (and is journaled as theirs), and the supervisor
//! session logs out again; the cashier's session is never touched, so the
//! cashier is back at once. The supervisor session persists between actions,
//! so its login lockout (five wrong PINs, 60 s) holds for the PIN pad too.
//!
//! A card tender approved on the PIN pad (`TenderCardApproved`) runs in the
//! cashier's session with the manager's PIN as the console's `--approve`
//! (the sale stays the cashier's; the session's login lockout holds). The
//! camera button (`Recognize`) is `camera`'s; what a card tender leaves on the
//! screen under risk is `card_risk`'s.
//!
//! An item sold by weight, tapped on the grid or scanned without a weight in
//! its code, is weighed on the scale when there is one: it runs as the
//! console's `scale add`, whose wait on the scale (up to 3 s for a settled
//! weight) happens with the node unlocked, like a consensus decision.
//!
//! This module must not hold business rules: the engine decides.

use super::action::UiAction;
use super::records;
use super::screen::{Screen, UiServices};
use super::snapshot::{MessageKind, UiMessage};
use crate::console::command::Command;
use crate::console::reply::Reply;
use crate::console::session::{Session, SessionState};
use crate::node::Node;
use keel_core::barcode::Barcode;
use keel_core::engine::Engine;
use keel_core::ids::{CommandId, ReceiptNo};
use std::sync::{Mutex, MutexGuard};

/// The two console sessions behind the screens.
#[derive(Default)]
pub struct Sessions {
    /// Whoever logged in on the screen.
    pub cashier: SessionState,
    /// A manager for one PIN-pad action at a time; nobody between actions.
    pub supervisor: SessionState,
}

/// Locks the node, recovering from a poisoned lock (the node's own commit path
/// reloads state after any failure, so its data stays consistent).
pub fn lock(node: &Mutex<Node>) -> MutexGuard<'_, Node> {
    match node.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn session<'n>(
    node: &'n mut Node,
    st: &'n mut SessionState,
    services: &'n UiServices,
) -> Session<'n> {
    Session::new(node, st, services.cluster.as_deref())
        .with_uplink(services.uplink.as_deref())
        .with_devices(services.devices.as_deref())
}

/// Runs `cmd` as the manager whose PIN is `pin`, then logs them out again.
fn as_manager(
    node: &mut Node,
    st: &mut SessionState,
    services: &UiServices,
    pin: &str,
    cmd: Command,
) -> Reply {
    let login = session(node, st, services).execute(Command::Login {
        pin: pin.to_string(),
    });
    if let Err(e) = login.result {
        return Reply::err(format!("manager PIN refused: {e}"));
    }
    let reply = session(node, st, services).execute(cmd);
    let out = session(node, st, services).execute(Command::Logout);
    if let Err(e) = out.result {
        log::warn!("ui: logging the manager out after one action: {e}");
    }
    reply
}

/// The notice a successful action leaves (`None` where the screen itself shows the result).
fn notice(action: &UiAction, reply: &Reply) -> Option<String> {
    match action {
        UiAction::AddItem { .. }
        | UiAction::SetQty { .. }
        | UiAction::VoidLine { .. }
        | UiAction::Discount { .. }
        | UiAction::TenderCash { .. }
        | UiAction::TenderCard { .. }
        | UiAction::TenderCardApproved { .. }
        | UiAction::CustomerLookup { .. }
        // The self-order kiosk's thank-you screen shows the order's number.
        | UiAction::PlaceCounterOrder => None,
        _ => reply.text.first().cloned(),
    }
}

/// Applies one screen-only action; `false` if `action` needs the node.
fn screen_only(action: &UiAction, screen: &mut Screen) -> bool {
    match action {
        UiAction::ProductSearch { query } => screen.search = query.trim().to_string(),
        UiAction::SwitchCategory { category } => {
            screen.category = Some(category.clone());
            screen.search.clear();
        }
        UiAction::DismissMessage => {
            screen.message = None;
            screen.recognition = None;
            screen.card_approval = None;
        }
        UiAction::Refresh => {}
        _ => return false,
    }
    true
}

/// Runs a screen action that reads the node but writes nothing (receipt
/// preview, chain verification); `None` if `action` is not one.
fn reads_only(
    node: &Mutex<Node>,
    services: &UiServices,
    sessions: &Sessions,
    screen: &mut Screen,
    action: &UiAction,
) -> Option<Reply> {
    if matches!(action, UiAction::Diagnose) {
        // The same permission as the console's `journal verify`: the check
        // holds the node for the whole journal, so not for whoever is at the till.
        let allowed = sessions.cashier.user().is_some_and(|u| {
            keel_core::auth::allows(u.role, keel_core::auth::Permission::Diagnostics)
        });
        if !allowed {
            let e = "verifying the journal needs a technician or a manager".to_string();
            screen.message = Some(UiMessage {
                kind: MessageKind::Error,
                text: e.clone(),
                action: action.name().to_string(),
            });
            return Some(Reply::err(e));
        }
    }
    let guard = match action {
        UiAction::PreviewReceipt { .. } | UiAction::Diagnose => lock(node),
        _ => return None,
    };
    let (reply, message) = match action {
        UiAction::PreviewReceipt { receipt } => match guard.sale(ReceiptNo(*receipt)) {
            Ok(Some(_)) => {
                screen.preview = Some(*receipt);
                (Reply::line("ok"), None)
            }
            Ok(None) => {
                let e = format!("no receipt {receipt} on this terminal");
                (Reply::err(e.clone()), Some((MessageKind::Error, e)))
            }
            Err(e) => {
                let e = format!("receipt {receipt} cannot be read: {e}");
                (Reply::err(e.clone()), Some((MessageKind::Error, e)))
            }
        },
        _ => {
            let check = super::diagnostics::verify_chain(&guard, services.clock.now_ms());
            let kind = if check.ok {
                MessageKind::Notice
            } else {
                MessageKind::Error
            };
            let text = if check.ok {
                format!("journal ok: {} records", check.records)
            } else {
                format!("journal verify FAILED: {}", check.detail)
            };
            screen.chain = Some(check);
            (Reply::line(text.clone()), Some((kind, text)))
        }
    };
    screen.message = message.map(|(kind, text)| UiMessage {
        kind,
        text,
        action: action.name().to_string(),
    });
    Some(reply)
}

/// The receipt recorded for command id `id`, if that sale was made.
fn first_receipt(node: &Node, id: &str) -> Option<u64> {
    let id = CommandId::parse(id)?;
    let stored = node.idempotent_reply(&id).ok()??;
    postcard::from_bytes(&stored).ok()
}

/// What the screen shows after a successful `action` (node still locked).
fn after_success(
    node: &Node,
    cashier: &SessionState,
    action: &UiAction,
    now_ms: u64,
    screen: &mut Screen,
) {
    match action {
        // A repeated command id answers with the first sale: preview that one.
        UiAction::Complete {
            command_id: Some(id),
        } => screen.preview = first_receipt(node, id),
        UiAction::Complete { command_id: None } => screen.preview = None,
        UiAction::VoidReceipt { receipt, .. } | UiAction::Refund { receipt, .. } => {
            screen.preview = Some(*receipt)
        }
        UiAction::ReportX => {
            match Engine::new(&node.profile, &node.state).x_report(cashier.user(), now_ms) {
                Ok(r) => screen.report = Some(records::report(&r)),
                Err(e) => log::warn!("ui: X report after the console allowed it: {e}"),
            }
        }
        UiAction::ShiftClose { .. } => match node.z_report(None) {
            Ok(r) => screen.report = r.as_ref().map(records::report),
            Err(e) => log::warn!("ui: reading the Z report just made: {e}"),
        },
        UiAction::CustomerLookup { query } => screen.customers = records::customers(node, query),
        // The customer just saved is listed (as a lookup of its id would).
        UiAction::CustomerSet { id, .. } => screen.customers = records::customers(node, id),
        UiAction::Logout => {
            screen.customers.clear();
            screen.report = None;
        }
        _ => {}
    }
}

/// An item sold by weight, tapped or scanned without a weight, is weighed on
/// the scale when there is one (the console's `scale add`); everything else
/// runs as translated.
fn weigh_on_the_scale(
    node: &Node,
    services: &UiServices,
    action: &UiAction,
    cmd: Command,
) -> Command {
    let UiAction::AddItem {
        code, qty: None, ..
    } = action
    else {
        return cmd;
    };
    if !services.devices.as_deref().is_some_and(|d| d.has_scale()) {
        return cmd;
    }
    // A code with its weight or price in it (in-store EAN-13) needs no scale.
    let weighed = matches!(
        Engine::new(&node.profile, &node.state).resolve(code),
        Ok((item, None | Some(Barcode::Product { .. })))
            if item.sold_by == keel_core::catalog::SoldBy::Weight
    );
    if weighed {
        Command::ScaleAdd { key: code.clone() }
    } else {
        cmd
    }
}

/// Executes `action`: updates `screen` (including its message) and returns the reply.
pub fn execute(
    node: &Mutex<Node>,
    services: &UiServices,
    sessions: &mut Sessions,
    screen: &mut Screen,
    action: &UiAction,
) -> Reply {
    // The camera's finding and a waiting card approval last until the next
    // action (a card tender settles the approval itself).
    if !matches!(action, UiAction::Refresh) {
        screen.recognition = None;
    }
    if !matches!(
        action,
        UiAction::Refresh | UiAction::TenderCard { .. } | UiAction::TenderCardApproved { .. }
    ) {
        screen.card_approval = None;
    }
    if screen_only(action, screen) {
        return Reply::line("ok");
    }
    if matches!(action, UiAction::Recognize) {
        return super::camera::recognize(node, services, sessions, screen);
    }
    if let Some(reply) = reads_only(node, services, sessions, screen, action) {
        return reply;
    }
    screen.report = None;
    if let UiAction::Reprint { receipt } = action {
        // The preview shows the receipt asked for even when no printer is there.
        screen.preview = *receipt;
    }
    let now_ms = services.clock.now_ms();
    let (reply, pending, device_wait) = {
        let mut guard = lock(node);
        let Some(cmd) = action.command(guard.profile.currency) else {
            return Reply::line("ok");
        };
        let cmd = weigh_on_the_scale(&guard, services, action, cmd);
        let (reply, st) = match action.manager_pin() {
            Some(pin) => (
                as_manager(&mut guard, &mut sessions.supervisor, services, pin, cmd),
                &mut sessions.supervisor,
            ),
            None => (
                session(&mut guard, &mut sessions.cashier, services).execute(cmd),
                &mut sessions.cashier,
            ),
        };
        let pending = st.pending.take();
        let device_wait = st.device_wait.take();
        if reply.is_ok() && pending.is_none() && device_wait.is_none() {
            after_success(&guard, &sessions.cashier, action, now_ms, screen);
        }
        (reply, pending, device_wait)
    };
    // A wait on the scale, likewise with the node unlocked; the weighed item
    // then goes in as the console's `sale add <key> <kg>`.
    let reply = match (device_wait, services.devices.as_deref()) {
        (Some(wait), Some(devices)) => match crate::console::devices::finish(wait, devices) {
            crate::console::devices::Finished::Reply(r) => r,
            crate::console::devices::Finished::Run(line) => {
                let mut guard = lock(node);
                session(&mut guard, &mut sessions.cashier, services)
                    .execute_line(&line)
                    .unwrap_or_else(|| Reply::err("the weighed item was not added"))
            }
        },
        _ => reply,
    };
    // A consensus operation is decided with the node unlocked (the cluster
    // runtime applies the decision to the node before answering).
    let reply = match (pending, services.cluster.as_deref()) {
        (Some(p), Some(c)) => {
            let outcome = c.consensus(p.request.clone());
            p.conclude(outcome, node)
        }
        (Some(p), None) => (p.render)(Err("this terminal has no cluster configured".into())),
        (None, _) => reply,
    };
    screen.message = match &reply.result {
        Ok(_) => notice(action, &reply).map(|text| UiMessage {
            kind: MessageKind::Notice,
            text,
            action: action.name().to_string(),
        }),
        Err(e) => Some(UiMessage {
            kind: MessageKind::Error,
            text: e.clone(),
            action: action.name().to_string(),
        }),
    };
    if matches!(
        action,
        UiAction::TenderCard { .. } | UiAction::TenderCardApproved { .. }
    ) {
        let guard = lock(node);
        let cashier = sessions.cashier.user();
        super::card_risk::after_tender(&guard, cashier, action, &reply, now_ms, screen);
    }
    match &reply.result {
        Ok(_) => log::info!("ui: {} done", action.name()),
        Err(e) => log::info!("ui: {} refused: {e}", action.name()),
    }
    reply
}
