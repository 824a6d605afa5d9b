//! The console's `model` commands over the node's AI: `model list`, `model
//! recognize [image]`, `model score [shift]` and `model reload <kind> <dir>`,
//! plus the AI lines of `status`. A recognized product is not added here: the
//! session (and the UI bridge's camera button) adds it with `sale add <SKU>`,
//! the path a barcode scan takes; [`frame`], [`outcome`], [`added`] and
//! [`not_added`] are the pieces both use. This
//! module owns the replies; it must not run a model itself (the runtime does)
//! nor hold a business rule.

use super::reply::Reply;
use crate::ai::risk_source::{level_text, source_text};
use crate::ai::status_text::{latency_ms, latency_text, model_line, state_text};
use crate::ai::AiService;
use crate::fields;
use crate::node::Node;
use keel_ai::{ModelKind, ModelStatus, Recognition};
use keel_core::auth::{Permission, User};
use keel_core::engine::require;
use keel_core::ids::{Sku, UserId};
use serde_json::{json, Value};
use std::path::Path;

fn ai(node: &Node) -> Result<&AiService, Reply> {
    node.ai()
        .ok_or_else(|| Reply::err("this terminal runs no AI models (no AI runtime started)"))
}

fn kind_word(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Recognition => "recognition",
        ModelKind::LossPrevention => "loss-prevention",
    }
}

fn model_json(s: &ModelStatus) -> Value {
    let (state, reason) = match &s.state {
        keel_ai::ModelState::Ready => ("ready", None),
        keel_ai::ModelState::Fallback { reason } => ("fallback", Some(reason.clone())),
    };
    json!({
        "name": s.name,
        "kind": kind_word(s.kind),
        "version": s.version,
        "state": state,
        "reason": reason,
        "last_latency_ms": latency_ms(s.last_latency),
        "last_error": s.last_error,
    })
}

/// `model list`: one line per model (name, version, state, last latency).
pub fn list(node: &Node) -> Result<Reply, Reply> {
    let ai = ai(node)?;
    let models = ai.status();
    Ok(Reply::ok(
        fields! {
            "models_dir" => ai.models_dir().display().to_string(),
            "models" => models.iter().map(model_json).collect::<Vec<_>>(),
        },
        models
            .iter()
            .map(|s| {
                format!(
                    "{:<20} {:<8} {:<40} {}",
                    s.name,
                    s.version.as_deref().unwrap_or("-"),
                    state_text(s),
                    latency_text(s.last_latency)
                )
            })
            .collect(),
    ))
}

/// Adds the AI models' states to the `status` reply (a line per model).
pub fn add_status_lines(reply: &mut Reply, node: &Node) {
    let Some(ai) = node.ai() else {
        return;
    };
    let models = ai.status();
    for s in &models {
        reply.text.push(format!("ai {}", model_line(s)));
    }
    if let Ok(fields) = &mut reply.result {
        fields.insert(
            "ai_models".into(),
            Value::Array(models.iter().map(model_json).collect()),
        );
    }
}

/// What `model recognize` found: a product to add through the scan path, or
/// the reply itself (top three to pick from, or manual entry).
pub enum Recognized {
    /// Add this SKU as a scan would; then [`added`] makes the reply.
    Add {
        /// The recognized product.
        sku: String,
        /// The model's confidence (0..=1).
        confidence: f32,
    },
    /// Nothing to add: the reply says what to do.
    Reply(Reply),
}

/// The frame `model recognize [image]` works on: the image (PNG) or a frame
/// from the configured camera, and where it came from. Takes no node lock, so
/// the UI bridge captures with the node free.
pub fn frame(ai: &AiService, image: Option<&str>) -> Result<(keel_ai::Frame, String), Reply> {
    Ok(match image {
        Some(path) => (
            keel_ai::Frame::from_png_file(Path::new(path))
                .map_err(|e| Reply::err(format!("image {path}: {e}")))?,
            path.to_string(),
        ),
        None => (
            ai.capture().map_err(Reply::err)?,
            format!("camera {}", ai.camera_setting().describe()),
        ),
    })
}

/// The line telling the cashier to enter the product by hand, and why.
pub fn manual_text(reason: &str) -> String {
    format!("no product recognized ({reason}): enter the product manually")
}

/// The product name of `sku` in the catalog (a placeholder when it is not there).
pub fn product_name(node: &Node, sku: &str) -> String {
    node.state
        .catalog
        .get(&Sku(sku.to_string()))
        .map(|i| i.name.clone())
        .unwrap_or_else(|| "(not in the catalog)".into())
}

/// What the console does with `recognition` of the frame from `from`: a
/// product to add through the scan path, or the reply (pick one, or manual entry).
pub fn outcome(node: &Node, recognition: Recognition, from: String) -> Recognized {
    match recognition {
        Recognition::Accepted { sku, confidence } => Recognized::Add { sku, confidence },
        Recognition::Choose { candidates } => {
            let list: Vec<Value> = candidates
                .iter()
                .map(|(sku, c)| json!({"sku": sku, "name": product_name(node, sku), "confidence": c}))
                .collect();
            let mut text = vec![format!(
                "not sure what this is ({from}); pick one with `sale add <SKU>`:"
            )];
            for (sku, c) in &candidates {
                text.push(format!(
                    "  {sku:<14} {:<24} {:.0}%",
                    product_name(node, sku),
                    c * 100.0
                ));
            }
            Recognized::Reply(Reply::ok(
                fields! { "recognition" => "choose", "candidates" => list, "image" => from },
                text,
            ))
        }
        Recognition::Manual { reason } => Recognized::Reply(Reply::ok(
            fields! { "recognition" => "manual", "reason" => reason, "image" => from },
            vec![manual_text(&reason)],
        )),
    }
}

/// `model recognize [image]`: the image (PNG) or a camera frame through the
/// recognition model.
pub fn recognize(node: &Node, image: Option<&str>) -> Result<Recognized, Reply> {
    let ai = ai(node)?;
    let (frame, from) = frame(ai, image)?;
    Ok(outcome(node, ai.runtime().recognize(&frame), from))
}

/// The reply after a recognized product went into the cart (`cart` is
/// `sale add`'s reply): what was added, with the confidence, and the cart.
pub fn added(mut cart: Reply, node: &Node, sku: &str, confidence: f32) -> Reply {
    let name = product_name(node, sku);
    cart.text.insert(
        0,
        format!(
            "recognized {sku} ({name}) with confidence {:.0}%: added to the sale",
            confidence * 100.0
        ),
    );
    if let Ok(fields) = &mut cart.result {
        fields.insert("recognition".into(), json!("accepted"));
        fields.insert("recognized".into(), json!(sku));
        fields.insert("product".into(), json!(name));
        fields.insert("confidence".into(), json!(confidence));
    }
    cart
}

/// Whose window `model score [shift]` looks at and when it ends.
fn subject(
    node: &Node,
    user: Option<&User>,
    shift: Option<u64>,
    now: u64,
) -> Result<(UserId, u64, String), Reply> {
    let Some(n) = shift else {
        let u = user.ok_or_else(|| Reply::err("not logged in: `login <pin>` first"))?;
        return Ok((u.id.clone(), now, "current window".into()));
    };
    require(user, Permission::Reports).map_err(Reply::err)?;
    if let Some(open) = node.state.shift.as_ref().filter(|s| s.shift_no == n) {
        return Ok((open.opened_by.clone(), now, format!("shift {n} (open)")));
    }
    let report = node
        .z_report(Some(n))
        .map_err(Reply::err)?
        .ok_or_else(|| Reply::err(format!("no shift {n} on this terminal")))?;
    Ok((
        report.opened_by,
        report.reported_ms,
        format!("shift {n} (closed)"),
    ))
}

/// `model score [shift]`: the cashier's features over the last four hours
/// (to now, or to the shift's close) and the risk score.
pub fn score(node: &Node, user: Option<&User>, shift: Option<u64>) -> Result<Reply, Reply> {
    let ai = ai(node)?;
    let (cashier, at, what) = subject(node, user, shift, node.now_ms())?;
    let (features, score) = ai.score(&cashier, at);
    let feature_map: serde_json::Map<String, Value> = keel_ai::features::NAMES
        .iter()
        .zip(features.0.iter())
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    let reasons = if score.reasons.is_empty() {
        "none".to_string()
    } else {
        score.reasons.join(", ")
    };
    let mut text = vec![
        format!(
            "risk of {cashier}, {what}: {:.2} ({}), reasons: {reasons}",
            score.score,
            level_text(score.level)
        ),
        format!("source: {}", source_text(&score.source)),
    ];
    text.push(
        keel_ai::features::NAMES
            .iter()
            .zip(features.0.iter())
            .map(|(n, v)| format!("{n}={v:.3}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let source = match &score.source {
        keel_ai::ScoreSource::Model { version } => json!({"kind": "model", "version": version}),
        keel_ai::ScoreSource::Rules { why } => json!({"kind": "rules", "why": why}),
    };
    Ok(Reply::ok(
        fields! {
            "cashier" => cashier.0,
            "shift" => shift,
            "at_ms" => at,
            "score" => score.score,
            "level" => level_text(score.level),
            "reasons" => score.reasons,
            "source" => source,
            "features" => Value::Object(feature_map),
        },
        text,
    ))
}

/// `model reload <recognition|loss-prevention> <dir>` (manager or technician):
/// verify the new model and switch to it; on failure the old one stays.
pub fn reload(node: &Node, user: Option<&User>, kind: &str, dir: &str) -> Result<Reply, Reply> {
    require(user, Permission::Diagnostics).map_err(Reply::err)?;
    let ai = ai(node)?;
    let kind = match kind.to_ascii_lowercase().as_str() {
        "recognition" | "product-recognition" => ModelKind::Recognition,
        "loss-prevention" | "risk" => ModelKind::LossPrevention,
        other => {
            return Err(Reply::err(format!(
            "unknown model kind {other:?}; usage: model reload <recognition|loss-prevention> <dir>"
        )))
        }
    };
    let status = ai
        .runtime()
        .reload(kind, Path::new(dir))
        .map_err(|e| Reply::err(format!("model not loaded, the previous one stays: {e}")))?;
    log::info!("ai: reloaded from {dir}: {}", model_line(&status));
    Ok(Reply::ok(
        fields! { "reloaded" => kind_word(kind), "dir" => dir, "model" => model_json(&status) },
        vec![format!("loaded {}", model_line(&status))],
    ))
}

/// The refusal when a recognized product could not go into the cart (no
/// shift, nobody logged in...): says what was recognized and why not.
pub fn not_added(refusal: Reply, sku: &str, confidence: f32) -> Reply {
    let why = match refusal.result {
        Err(e) => e,
        Ok(_) => "refused".into(),
    };
    Reply::err(format!(
        "recognized {sku} with confidence {:.0}% but not added: {why}",
        confidence * 100.0
    ))
}
