//! The AI models' states in words: one line per model for `model list`,
//! `status` and the technician page, and the few words of the status bar's
//! indicator. Pure formatting; must not ask the runtime anything.

use keel_ai::{ModelState, ModelStatus};
use std::time::Duration;

/// `ready` or `fallback: <reason>`.
pub fn state_text(s: &ModelStatus) -> String {
    match &s.state {
        ModelState::Ready => "ready".into(),
        ModelState::Fallback { reason } => format!("fallback: {reason}"),
    }
}

/// A latency in milliseconds with two decimals (`3.41 ms`), `-` when none yet.
pub fn latency_text(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.2} ms", d.as_secs_f64() * 1000.0),
        None => "-".into(),
    }
}

/// Latency in milliseconds, for JSON.
pub fn latency_ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1_000_000.0).round() / 1000.0)
}

/// One model in a line: name, version, state, last latency (and last error).
pub fn model_line(s: &ModelStatus) -> String {
    let mut line = format!(
        "{} {}: {}, last latency {}",
        s.name,
        s.version.as_deref().unwrap_or("-"),
        state_text(s),
        latency_text(s.last_latency)
    );
    if let Some(e) = &s.last_error {
        line.push_str(&format!(", last error: {e}"));
    }
    line
}

/// The status bar's indicator: `AI ready` when every model is, else
/// `AI fallback: <first model's reason>` (kept short).
pub fn indicator(models: &[ModelStatus]) -> String {
    const MAX: usize = 48;
    let failing = models.iter().find_map(|m| match &m.state {
        ModelState::Fallback { reason } => Some((m, reason)),
        ModelState::Ready => None,
    });
    match failing {
        None if models.is_empty() => "AI off".into(),
        None => "AI ready".into(),
        Some((m, reason)) => {
            let short = if m.name.contains("recognition") {
                "recognition"
            } else {
                "risk"
            };
            let mut text = format!("AI fallback ({short}): {reason}");
            if text.chars().count() > MAX {
                text = text.chars().take(MAX - 1).collect::<String>() + "…";
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_ai::ModelKind;

    fn model(name: &str, kind: ModelKind, state: ModelState) -> ModelStatus {
        ModelStatus {
            name: name.into(),
            kind,
            version: Some("1.0.0".into()),
            state,
            last_latency: Some(Duration::from_micros(3410)),
            last_error: None,
        }
    }

    #[test]
    fn lines_and_indicator() {
        let ready = model(
            "product-recognition",
            ModelKind::Recognition,
            ModelState::Ready,
        );
        assert_eq!(
            model_line(&ready),
            "product-recognition 1.0.0: ready, last latency 3.41 ms"
        );
        let down = model(
            "loss-prevention",
            ModelKind::LossPrevention,
            ModelState::Fallback {
                reason: "model.tflite missing in a very long directory name indeed".into(),
            },
        );
        assert_eq!(indicator(std::slice::from_ref(&ready)), "AI ready");
        let i = indicator(&[ready, down]);
        assert!(
            i.starts_with("AI fallback (risk): model.tflite missing"),
            "{i}"
        );
        assert!(i.chars().count() <= 48, "{i}");
        assert_eq!(indicator(&[]), "AI off");
    }
}
