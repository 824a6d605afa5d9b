//! The console's `ota` commands over the node's OTA service: `ota status`,
//! `ota install <bundle>|--offered [--now] [--allow-downgrade]` and
//! `ota rollback [models <kind>]`, plus the `ota` line of `status`. Installs
//! and rollbacks need a manager or technician; `--now` needs a manager.
//! This module owns the replies; it must not check bundles or schedules
//! itself (the service does) nor do any slow work (the service's worker does).

use super::reply::Reply;
use crate::node::Node;
use crate::ota::{InstallRequest, OtaService, OtaStatus};
use keel_core::auth::{Permission, Role, User};
use keel_core::engine::require;
use serde_json::{Map, Value};
use std::path::PathBuf;

fn service(node: &Node) -> Result<OtaService, Reply> {
    node.ota()
        .cloned()
        .ok_or_else(|| Reply::err("this terminal runs no OTA service"))
}

fn fields_of(status: &OtaStatus) -> Map<String, Value> {
    match serde_json::to_value(status) {
        Ok(Value::Object(m)) => m,
        // OtaStatus is a struct of strings, numbers and lists: always an object.
        _ => Map::new(),
    }
}

/// The one-line summary `status` shows.
pub fn summary(s: &OtaStatus) -> String {
    let slot = s
        .running_slot
        .as_deref()
        .map(|x| format!(" slot {x}"))
        .unwrap_or_default();
    let mut line = format!("ota {}{slot}: {}", s.running_version, s.state);
    if let Some(v) = &s.state_version {
        line.push_str(&format!(" {v}"));
    }
    if let Some(p) = &s.progress {
        line.push_str(&format!(" ({} of {} bytes)", p.written, p.total));
    }
    for o in &s.offers {
        line.push_str(&format!(", offered {} {}", o.kind, o.version));
    }
    line
}

/// `ota status`.
pub fn status(node: &Node) -> Result<Reply, Reply> {
    let s = service(node)?.status();
    let mut text = vec![summary(&s)];
    text.push(format!(
        "board {}; other slot: {}",
        s.board,
        s.other_slot_version.as_deref().unwrap_or("unknown")
    ));
    if let Some(why) = &s.firmware_off {
        text.push(why.clone());
    }
    if let Some(l) = &s.last_result {
        text.push(format!(
            "last {} update: {}{}{}",
            l.kind,
            l.result,
            l.version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            l.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    for m in &s.models {
        text.push(format!(
            "model {}: active {} (a: {}, b: {})",
            m.kind,
            m.active.as_deref().unwrap_or("-"),
            m.a_version.as_deref().unwrap_or("-"),
            m.b_version.as_deref().unwrap_or("-"),
        ));
    }
    for o in &s.offers {
        text.push(format!(
            "offered by channel {}: {} {} (release {})",
            o.channel, o.kind, o.version, o.release_id
        ));
    }
    Ok(Reply::ok(fields_of(&s), text))
}

/// Adds the `ota` line (and field) to `status`.
pub fn add_status_line(reply: &mut Reply, node: &Node) {
    let Some(ota) = node.ota() else {
        return;
    };
    let s = ota.status();
    reply.text.push(summary(&s));
    if let Ok(fields) = &mut reply.result {
        fields.insert("ota".into(), Value::Object(fields_of(&s)));
    }
}

/// `ota install <bundle>|--offered [--now] [--allow-downgrade]`.
pub fn install(
    node: &Node,
    user: Option<&User>,
    path: Option<&str>,
    now: bool,
    allow_downgrade: bool,
) -> Result<Reply, Reply> {
    require(user, Permission::Diagnostics).map_err(Reply::err)?;
    let ota = service(node)?;
    let req = InstallRequest {
        path: path.map(PathBuf::from),
        now,
        manager: user.is_some_and(|u| u.role == Role::Manager),
        allow_downgrade,
        sale_open: node.state.cart.is_some(),
    };
    let a = ota
        .install(req)
        .map_err(|e| Reply::err(format!("not installed: {e}")))?;
    let then = if a.kind == keel_ota::manifest::BundleKind::Firmware {
        "the terminal reboots into it when written"
    } else {
        "it becomes active once it passes its smoke test"
    };
    Ok(Reply::ok(
        crate::fields! {
            "installing" => a.kind.as_str(),
            "version" => a.version,
            "bundle" => a.bundle.display().to_string(),
        },
        vec![format!(
            "installing {} {} from {}: {then}; `ota status` shows the progress",
            a.kind,
            a.version,
            a.bundle.display()
        )],
    ))
}

/// `ota rollback [models <kind>]`.
pub fn rollback(node: &Node, user: Option<&User>, models: Option<&str>) -> Result<Reply, Reply> {
    require(user, Permission::Diagnostics).map_err(Reply::err)?;
    let ota = service(node)?;
    match models {
        Some(kind) => {
            let done = ota
                .rollback_model(kind)
                .map_err(|e| Reply::err(format!("not rolled back: {e}")))?;
            let kind = crate::ota::models_ab::kind_word(done.kind);
            Ok(Reply::ok(
                crate::fields! {
                    "rolled_back" => "model",
                    "kind" => kind,
                    "version" => done.version.clone(),
                    "from" => done.previous.clone(),
                },
                vec![format!(
                    "{kind} model back to {} (was {})",
                    done.version,
                    done.previous.as_deref().unwrap_or("-")
                )],
            ))
        }
        None => {
            let (slot, version) = ota
                .rollback_firmware()
                .map_err(|e| Reply::err(format!("not rolled back: {e}")))?;
            Ok(Reply::ok(
                crate::fields! {
                    "rolled_back" => "firmware",
                    "slot" => slot.to_string(),
                    "version" => version.clone(),
                },
                vec![format!("slot {slot} ({version}) boots next: rebooting")],
            ))
        }
    }
}
