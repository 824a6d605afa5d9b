//! What the camera button and the risk policy put on the cashier's screens,
//! from the snapshot: the picker's rows (with the catalog's pictures), the
//! message line's translated text for what the camera found (and for a card
//! payment waiting for a manager's PIN), and the tender
//! screen's discreet note on the lowered offline card limit (never reason
//! codes: the snapshot has none). Pure: view-model in, screen values out; the
//! state of a press (waiting, picker closed) is [`crate::ui`]'s.

use crate::generated::Candidate;
use crate::i18n::{tr, trf};
use crate::pictures::Pictures;
use crate::view::{RecognitionView, ViewModel};

/// A confidence in per mille as a whole percentage (`57%`), rounded.
pub fn percent_text(permille: u16) -> String {
    format!("{}%", (u32::from(permille.min(1000)) + 5) / 10)
}

/// The picker's rows: the candidates when the camera was unsure, else none.
pub fn candidates(view: &ViewModel, pictures: &Pictures) -> Vec<Candidate> {
    let Some(RecognitionView::Choose(list)) = &view.recognition else {
        return Vec::new();
    };
    list.iter()
        .map(|c| {
            let (picture, has_picture) = pictures.tile(&c.sku);
            Candidate {
                sku: c.sku.as_str().into(),
                name: c.name.as_str().into(),
                confidence: percent_text(c.confidence_permille).into(),
                picture,
                has_picture,
            }
        })
        .collect()
}

/// The message line for what the camera found, or for a card payment
/// waiting for a manager's approval (`None`: the snapshot's own message).
pub fn message(view: &ViewModel) -> Option<String> {
    if view.card_approval.is_some() {
        return Some(tr("Card payment needs a manager's approval"));
    }
    Some(match view.recognition.as_ref()? {
        RecognitionView::Added(c) => trf(
            "Recognized {} ({}): added to the sale",
            &[&c.name, &percent_text(c.confidence_permille)],
        ),
        RecognitionView::Choose(_) => tr("Not sure what this is: pick the product"),
        RecognitionView::Manual { reason } => trf(
            "No product recognized ({}): enter the product manually",
            &[reason],
        ),
    })
}

/// The tender screen's note when the cashier's risk lowered the offline card
/// limit ("" at low risk).
pub fn risk_note(view: &ViewModel) -> String {
    match &view.card_risk {
        None => String::new(),
        Some(r) if r.approval_needed => trf(
            "Review: offline card limit lowered to {}; a card payment needs a manager's PIN",
            &[&r.card_limit.text],
        ),
        Some(r) => trf(
            "Review: offline card limit lowered to {}",
            &[&r.card_limit.text],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{CandidateView, CardRiskView, MoneyView};

    fn c(sku: &str, p: u16) -> CandidateView {
        CandidateView {
            sku: sku.into(),
            name: format!("{sku} name"),
            confidence_permille: p,
        }
    }

    #[test]
    fn texts_for_each_outcome() {
        assert_eq!(percent_text(514), "51%");
        assert_eq!(percent_text(995), "100%");
        assert_eq!(percent_text(4), "0%");
        let mut v = ViewModel::default();
        assert_eq!(message(&v), None);
        assert_eq!(risk_note(&v), "");
        v.recognition = Some(RecognitionView::Added(c("TEA", 973)));
        assert_eq!(
            message(&v).unwrap(),
            "Recognized TEA name (97%): added to the sale"
        );
        v.recognition = Some(RecognitionView::Manual {
            reason: "no camera configured".into(),
        });
        assert_eq!(
            message(&v).unwrap(),
            "No product recognized (no camera configured): enter the product manually"
        );
        assert!(candidates(&v, &Pictures::default()).is_empty());
        v.recognition = Some(RecognitionView::Choose(vec![
            c("A", 514),
            c("B", 486),
            c("C", 0),
        ]));
        let rows = candidates(&v, &Pictures::default());
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[1].sku.as_str(), rows[1].confidence.as_str()),
            ("B", "49%")
        );
        assert!(!rows[0].has_picture);
        v.card_risk = Some(CardRiskView {
            level: "high".into(),
            card_limit: MoneyView::new(125_000, "125.000"),
            approval_needed: true,
        });
        assert_eq!(
            risk_note(&v),
            "Review: offline card limit lowered to 125.000; a card payment needs a manager's PIN"
        );
    }
}
