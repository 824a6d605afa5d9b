//! The loss-prevention result: a score, its level and reason codes, and where
//! it came from (the model or the rules). Plain data plus the level rule; it
//! must not compute features or run models.

/// How worrying a score is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskLevel {
    /// Below `review`.
    Low,
    /// At or above `review`: flag the sale for review.
    Review,
    /// At or above `high`: lower limits / ask for a manager.
    High,
}

impl RiskLevel {
    /// The level of `score` given the `review` and `high` thresholds.
    pub fn of(score: f32, review: f32, high: f32) -> RiskLevel {
        if score >= high {
            RiskLevel::High
        } else if score >= review {
            RiskLevel::Review
        } else {
            RiskLevel::Low
        }
    }
}

/// Where a score came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScoreSource {
    /// The loss-prevention model of this version.
    Model {
        /// Manifest version.
        version: String,
    },
    /// The rules-based fallback (see `rules`), and why the model was not used.
    Rules {
        /// Why the model was not used.
        why: String,
    },
}

/// A cashier's risk at a moment.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskScore {
    /// 0..=1: the highest reason probability.
    pub score: f32,
    /// Level by the thresholds.
    pub level: RiskLevel,
    /// Reason codes at or above `review` (e.g. `SWEETHEARTING`), highest first.
    pub reasons: Vec<String>,
    /// Model or rules.
    pub source: ScoreSource,
}

impl RiskScore {
    /// Builds a score from per-label probabilities: score = max, reasons =
    /// labels at or above `review` (highest first), level by thresholds. A
    /// non-finite probability counts as 0.
    pub fn from_probabilities(
        labels: &[String],
        probabilities: &[f32],
        review: f32,
        high: f32,
        source: ScoreSource,
    ) -> RiskScore {
        let mut pairs: Vec<(&String, f32)> = labels
            .iter()
            .zip(probabilities.iter().map(|p| {
                if p.is_finite() {
                    p.clamp(0.0, 1.0)
                } else {
                    0.0
                }
            }))
            .collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
        let score = pairs.first().map_or(0.0, |p| p.1);
        RiskScore {
            score,
            level: RiskLevel::of(score, review, high),
            reasons: pairs
                .iter()
                .filter(|p| p.1 >= review)
                .map(|p| p.0.clone())
                .collect(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_the_max_and_reasons_the_labels_over_review() {
        let labels: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        let s = RiskScore::from_probabilities(
            &labels,
            &[0.55, 0.9, 0.1],
            0.5,
            0.8,
            ScoreSource::Rules { why: "t".into() },
        );
        assert_eq!(s.score, 0.9);
        assert_eq!(s.level, RiskLevel::High);
        assert_eq!(s.reasons, vec!["B".to_string(), "A".to_string()]);
        assert_eq!(RiskLevel::of(0.49, 0.5, 0.8), RiskLevel::Low);
        assert_eq!(RiskLevel::of(0.5, 0.5, 0.8), RiskLevel::Review);
    }
}
