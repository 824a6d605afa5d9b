//! The sale screen's camera button (`UiAction::Recognize`): a frame from the
//! configured camera through the recognition model, with the node unlocked
//! (capture and inference never hold up the node or the screens; the runtime
//! enforces the time limit). A sure result goes into the sale through the scan
//! path (`UiAction::AddItem` from the scanner, as the console's `model
//! recognize` uses `sale add`); an unsure one leaves the top three for the
//! picker; no model, no camera or a timeout leaves manual entry with the
//! reason. The console's pieces (`console::models`) make the frame and the
//! texts; this module must not run a model itself or add to the cart any
//! other way.

use super::action::{AddSource, UiAction};
use super::exec::{self, Sessions};
use super::screen::{Screen, UiServices};
use super::snapshot::{CandidateView, MessageKind, RecognitionView, UiMessage};
use crate::config::CameraSetting;
use crate::console::models;
use crate::console::reply::Reply;
use crate::node::Node;
use keel_ai::Recognition;
use std::sync::Mutex;

/// Whether the camera button can work: an AI runtime and a camera configured.
pub fn available(node: &Node) -> bool {
    node.ai()
        .is_some_and(|ai| *ai.camera_setting() != CameraSetting::None)
}

/// A confidence (0..=1) in per mille; NaN reads as 0.
fn permille(confidence: f32) -> u16 {
    // Invariant: clamped to 0..=1000, so the cast neither wraps nor saturates.
    (confidence.clamp(0.0, 1.0) * 1000.0).round() as u16
}

fn candidate(node: &Node, sku: &str, confidence: f32) -> CandidateView {
    CandidateView {
        sku: sku.to_string(),
        name: models::product_name(node, sku),
        confidence_permille: permille(confidence),
    }
}

fn notice(screen: &mut Screen, kind: MessageKind, text: String) {
    screen.message = Some(UiMessage {
        kind,
        text,
        action: UiAction::Recognize.name().to_string(),
    });
}

/// Manual entry, with `reason`.
fn manual(screen: &mut Screen, reason: &str) -> Reply {
    let text = models::manual_text(reason);
    screen.recognition = Some(RecognitionView::Manual {
        reason: reason.to_string(),
    });
    notice(screen, MessageKind::Notice, text.clone());
    Reply::line(text)
}

/// Runs the camera button: capture, recognize, then add, offer or fall back.
pub fn recognize(
    node: &Mutex<Node>,
    services: &UiServices,
    sessions: &mut Sessions,
    screen: &mut Screen,
) -> Reply {
    let ai = exec::lock(node).ai().cloned();
    let Some(ai) = ai else {
        return manual(screen, "no AI models on this terminal");
    };
    if *ai.camera_setting() == CameraSetting::None {
        return manual(screen, "no camera configured");
    }
    // The node stays unlocked while the camera and the model work.
    let found = models::frame(&ai, None).map(|(frame, _)| ai.runtime().recognize(&frame));
    let recognition = match found {
        Ok(r) => r,
        Err(reply) => {
            let why = reply.result.err().unwrap_or_else(|| "camera failed".into());
            log::warn!("ui: camera: {why}");
            return manual(screen, &why);
        }
    };
    match recognition {
        Recognition::Accepted { sku, confidence } => {
            add_scanned(node, services, sessions, screen, &sku, confidence)
        }
        Recognition::Choose { candidates } => {
            let g = exec::lock(node);
            let list: Vec<CandidateView> = candidates
                .iter()
                .map(|(sku, c)| candidate(&g, sku, *c))
                .collect();
            drop(g);
            let text = format!(
                "not sure what this is: pick one of {} or enter it manually",
                list.iter()
                    .map(|c| c.sku.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            screen.recognition = Some(RecognitionView::Choose(list));
            notice(screen, MessageKind::Notice, text.clone());
            Reply::line(text)
        }
        Recognition::Manual { reason } => manual(screen, &reason),
    }
}

/// Adds `sku` as the scanner would (opening a sale first when none is open).
fn add_scanned(
    node: &Mutex<Node>,
    services: &UiServices,
    sessions: &mut Sessions,
    screen: &mut Screen,
    sku: &str,
    confidence: f32,
) -> Reply {
    let open = exec::lock(node).state.cart.is_some();
    if !open {
        let r = exec::execute(node, services, sessions, screen, &UiAction::SaleNew);
        if !r.is_ok() {
            let reply = models::not_added(r, sku, confidence);
            keep_error(screen, &reply);
            return reply;
        }
    }
    let scan = UiAction::AddItem {
        code: sku.to_string(),
        qty: None,
        source: AddSource::Scan,
    };
    let cart = exec::execute(node, services, sessions, screen, &scan);
    let g = exec::lock(node);
    if !cart.is_ok() {
        let reply = models::not_added(cart, sku, confidence);
        keep_error(screen, &reply);
        return reply;
    }
    let reply = models::added(cart, &g, sku, confidence);
    screen.recognition = Some(RecognitionView::Added(candidate(&g, sku, confidence)));
    if let Some(first) = reply.text.first() {
        notice(screen, MessageKind::Notice, first.clone());
    }
    log::info!("ui: camera recognized {sku} ({confidence:.2}): added as a scan");
    reply
}

fn keep_error(screen: &mut Screen, reply: &Reply) {
    if let Err(e) = &reply.result {
        notice(screen, MessageKind::Error, e.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::permille;

    #[test]
    fn confidences_in_per_mille() {
        assert_eq!(permille(0.5734), 573);
        assert_eq!(permille(1.2), 1000);
        assert_eq!(permille(-0.1), 0);
        assert_eq!(permille(f32::NAN), 0);
    }
}
