//! The terminal's [`RiskSource`] over the AI: the cashier's features from the
//! recent journal events, scored by the loss-prevention model (or its rules
//! fallback), as the core's [`RiskAssessment`]. Registered on the node at
//! start; the engine decides what a score changes (card limit, approval,
//! review flag). This module owns only that conversion; it must not decide.

use super::AiService;
use crate::risk::RiskSource;
use keel_ai::{RiskScore, ScoreSource};
use keel_core::ids::UserId;
use keel_core::risk::{RiskAssessment, RiskLevel};

/// Scores a cashier with the node's AI.
pub struct AiRiskSource {
    ai: AiService,
}

impl AiRiskSource {
    /// A risk source over `ai`.
    pub fn new(ai: AiService) -> AiRiskSource {
        AiRiskSource { ai }
    }
}

/// Where a score came from, in words: `model loss-prevention 1.0.0` or `rules: <why>`.
pub fn source_text(source: &ScoreSource) -> String {
    match source {
        ScoreSource::Model { version } => format!("model loss-prevention {version}"),
        ScoreSource::Rules { why } => format!("rules: {why}"),
    }
}

/// The level's word (`low`, `review`, `high`).
pub fn level_text(level: keel_ai::RiskLevel) -> &'static str {
    match level {
        keel_ai::RiskLevel::Low => "low",
        keel_ai::RiskLevel::Review => "review",
        keel_ai::RiskLevel::High => "high",
    }
}

/// The AI's score as the core's assessment (always valid: see `risk::assessment`).
pub fn to_assessment(score: &RiskScore) -> RiskAssessment {
    let level = match score.level {
        keel_ai::RiskLevel::Low => RiskLevel::Low,
        keel_ai::RiskLevel::Review => RiskLevel::Review,
        keel_ai::RiskLevel::High => RiskLevel::High,
    };
    crate::risk::assessment(
        score.score,
        level,
        &score.reasons,
        &source_text(&score.source),
    )
}

impl RiskSource for AiRiskSource {
    fn assess(&self, cashier: &UserId, now_ms: u64) -> Option<RiskAssessment> {
        let (_, score) = self.ai.score(cashier, now_ms);
        Some(to_assessment(&score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_scores() {
        let a = to_assessment(&RiskScore {
            score: 0.8765,
            level: keel_ai::RiskLevel::High,
            reasons: vec!["DRAWER_SKIMMING".into()],
            source: ScoreSource::Model {
                version: "1.0.0".into(),
            },
        });
        assert_eq!(a.score_permille, 877);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(a.reasons, vec!["DRAWER_SKIMMING".to_string()]);
        assert_eq!(a.source, "model loss-prevention 1.0.0");
        assert!(a.validate().is_ok());
        let nan = to_assessment(&RiskScore {
            score: f32::NAN,
            level: keel_ai::RiskLevel::Low,
            reasons: vec![],
            source: ScoreSource::Rules {
                why: "model missing".into(),
            },
        });
        assert_eq!(nan.score_permille, 0);
        assert_eq!(nan.source, "rules: model missing");
    }
}
