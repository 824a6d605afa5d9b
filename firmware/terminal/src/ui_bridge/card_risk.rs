//! The open sale's card tender under the cashier's risk, as the screens show
//! it: the level and the lowered offline card limit (never the reason codes,
//! which are for the manager and the cloud), and the card tender waiting for
//! a manager's PIN after a refusal at high risk. The engine decides every
//! tender (through the console session); this module only reads the same
//! inputs to say what the screen shows, and must not accept or refuse anything.

use super::screen::Screen;
use super::snapshot::{CardApprovalView, CardRiskView, MessageKind, UiMessage};
use super::UiAction;
use crate::console::reply::Reply;
use crate::node::Node;
use keel_core::auth::{Role, User};
use keel_core::engine::Engine;
use keel_core::money::Money;
use keel_core::risk::{RiskAssessment, RiskLevel};

/// What the screen says when a card tender waits for a manager's PIN.
pub const APPROVAL_NEEDED: &str = "card needs a manager's approval: a manager keys their PIN";

/// The assessment the next card tender of `cashier` is decided under (the
/// risk source's now, else the cart's), and whether a manager already approved
/// card tenders at that level on this cart.
fn current(node: &Node, cashier: Option<&User>, now_ms: u64) -> Option<(RiskAssessment, bool)> {
    let live = match (node.risk_source(), cashier) {
        (Some(source), Some(u)) => source.assess(&u.id, now_ms),
        _ => None,
    };
    let cart = node.state.cart_risk.as_ref();
    match (live, cart) {
        (Some(a), Some(c)) => {
            let approved = c.approved_by.is_some() && c.assessment.level >= a.level;
            Some((a, approved))
        }
        (Some(a), None) => Some((a, false)),
        (None, Some(c)) => Some((c.assessment.clone(), c.approved_by.is_some())),
        (None, None) => None,
    }
}

/// The risk on the open sale's card tenders: `None` with no sale, no
/// assessment, or at `low`.
pub fn view(node: &Node, cashier: Option<&User>, now_ms: u64) -> Option<CardRiskView> {
    node.state.cart.as_ref()?;
    let (assessment, approved) = current(node, cashier, now_ms)?;
    let level = assessment.level;
    if level == RiskLevel::Low {
        return None;
    }
    let engine = Engine::new(&node.profile, &node.state);
    let policy = engine.risk_policy();
    let limit: Money = policy
        .card_limits(node.profile.card_limits, level)
        .per_transaction;
    // A manager ringing up the sale approves by being logged in.
    let manager = cashier.is_some_and(|u| u.role == Role::Manager);
    Some(CardRiskView {
        level: level.as_str().to_string(),
        card_limit: limit.into(),
        approval_needed: policy.needs_manager(level) && !approved && !manager,
    })
}

/// `text` without the reason codes of the cashier's assessment (`" (CODES)"`).
fn without_reasons(text: &str, assessment: Option<&RiskAssessment>) -> String {
    match assessment.filter(|a| !a.reasons.is_empty()) {
        Some(a) => text
            .replace(&format!(" ({})", a.reasons_text()), "")
            .replace(&format!("({})", a.reasons_text()), ""),
        None => text.to_string(),
    }
}

/// The approval's money view: `amount` in the store currency.
fn amount_view(node: &Node, amount: i64) -> super::snapshot::MoneyView {
    Money::new(amount, node.profile.currency).into()
}

/// The screen's approval state for a snapshot.
pub fn approval_view(node: &Node, screen: &Screen) -> Option<CardApprovalView> {
    let (amount, error) = screen.card_approval.as_ref()?;
    Some(CardApprovalView {
        amount: amount_view(node, *amount),
        error: error.clone(),
    })
}

/// After a card tender (`action`) answered `reply`: a refusal at high risk
/// opens the PIN pad (the message says why, without reason codes), a PIN
/// refused keeps it open with the reason, anything else closes it; reason
/// codes are taken out of any refusal the cashier reads.
pub fn after_tender(
    node: &Node,
    cashier: Option<&User>,
    action: &UiAction,
    reply: &Reply,
    now_ms: u64,
    screen: &mut Screen,
) {
    let (amount, approved) = match action {
        UiAction::TenderCard { amount, .. } => (*amount, false),
        UiAction::TenderCardApproved { amount, .. } => (*amount, true),
        _ => return,
    };
    let Err(e) = &reply.result else {
        screen.card_approval = None;
        return;
    };
    let assessment = current(node, cashier, now_ms).map(|(a, _)| a);
    let needed = view(node, cashier, now_ms).is_some_and(|v| v.approval_needed);
    let text = if !approved && needed {
        APPROVAL_NEEDED.to_string()
    } else {
        without_reasons(e, assessment.as_ref())
    };
    screen.card_approval = (approved || needed).then(|| (amount, approved.then(|| text.clone())));
    screen.message = Some(UiMessage {
        kind: MessageKind::Error,
        text,
        action: action.name().to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_taken_out() {
        let a = crate::risk::assessment(
            0.9,
            RiskLevel::High,
            &["REFUND_FRAUD".into(), "DRAWER_SKIMMING".into()],
            "t",
        );
        let e = "card refused: 150.00 is over the offline per-transaction card limit of 125.00, lowered to 50% by the risk review (REFUND_FRAUD, DRAWER_SKIMMING)";
        let t = without_reasons(e, Some(&a));
        assert!(
            !t.contains("FRAUD") && t.ends_with("by the risk review"),
            "{t}"
        );
        assert_eq!(without_reasons("x (Y)", None), "x (Y)");
    }
}
