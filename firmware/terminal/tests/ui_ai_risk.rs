//! A card tender at high risk through the UI bridge (issue 7) on a real demo
//! node, staged as in `risk_tender.rs` with `FixedRisk` (a real risk source
//! giving a set assessment): the snapshot carries the level and the lowered
//! offline card limit (never the reason codes); the card tender is refused
//! and waits for a manager's PIN; a wrong PIN and a cashier's PIN are refused
//! with a clear message and the wait goes on; cancelling goes back to the
//! tender; the manager's PIN completes the tender and the sale is flagged
//! with the approving manager, as on the console.
//! Amounts are written `units_cents` (`100_00` is 100.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_core::event::EventBody;
use keel_core::risk::RiskLevel;
use keel_terminal::node::Node;
use keel_terminal::risk::{assessment, FixedRisk};
use keel_terminal::ui_bridge::card_risk::APPROVAL_NEEDED;
use keel_terminal::ui_bridge::snapshot::MessageKind;
use keel_terminal::ui_bridge::{AddSource, Qty, UiAction, UiBridge, UiServices, UiSnapshot};
use std::sync::{Arc, Mutex};

const REASONS: [&str; 2] = ["REFUND_FRAUD", "DRAWER_SKIMMING"];

fn card(amount: i64) -> UiAction {
    UiAction::TenderCard {
        amount,
        token: "tok-ui".into(),
        last4: "4242".into(),
        brand: Some("VISA".into()),
    }
}

fn approved(amount: i64, pin: &str) -> UiAction {
    UiAction::TenderCardApproved {
        amount,
        token: "tok-ui".into(),
        last4: "4242".into(),
        brand: Some("VISA".into()),
        manager_pin: pin.into(),
    }
}

/// Nothing the cashier reads names a reason code.
fn no_reason_codes(s: &UiSnapshot) {
    let texts = [
        s.message.as_ref().map(|m| m.text.clone()),
        s.card_approval.as_ref().and_then(|a| a.error.clone()),
        s.card_risk.as_ref().map(|r| format!("{r:?}")),
    ];
    for t in texts.into_iter().flatten() {
        assert!(REASONS.iter().all(|r| !t.contains(r)), "{t}");
    }
}

/// The flags in the journal: (receipt, level, approved by).
fn flagged(node: &Node) -> Vec<(u64, RiskLevel, Option<String>)> {
    let j = node.journal();
    j.range(1, j.last_seq())
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.event.body {
            EventBody::SaleFlagged {
                receipt_no,
                assessment,
                approved_by,
                ..
            } => Some((receipt_no.0, assessment.level, approved_by.map(|m| m.0))),
            _ => None,
        })
        .collect()
}

#[test]
fn a_high_risk_card_tender_waits_for_the_managers_pin() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::open(
        keel_terminal::demo::profile(1),
        dir.path(),
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap();
    let node = Arc::new(Mutex::new(node));
    let reasons: Vec<String> = REASONS.iter().map(|r| r.to_string()).collect();
    let risk = Arc::new(FixedRisk::new(Some(assessment(
        0.91,
        RiskLevel::High,
        &reasons,
        "fixed test source",
    ))));
    node.lock().unwrap().set_risk_source(risk.clone());
    let mut b = UiBridge::new(node.clone(), UiServices::default());
    b.apply(UiAction::Login { pin: "1111".into() });
    b.apply(UiAction::ShiftOpen { float: 100_00 });
    let s = b.snapshot();
    assert!(s.card_risk.is_none(), "no sale, nothing to show");
    b.apply(UiAction::SaleNew);
    let s = b.apply(UiAction::AddItem {
        code: "COFFEE-500".into(),
        qty: Some(Qty::Units(2)),
        source: AddSource::Grid,
    });
    // The tender screen's line: high, the limit halved to 125.00 (of 250.00).
    let r = s
        .card_risk
        .clone()
        .expect("the risk shows with a sale open");
    assert_eq!(r.level, "high");
    assert_eq!(
        (r.card_limit.minor, r.card_limit.text.as_str()),
        (125_00, "125.00")
    );
    assert!(r.approval_needed);
    no_reason_codes(&s);

    // The card: refused, waiting for a manager's PIN.
    let s = b.apply(card(17_98));
    let m = s.message.clone().expect("refused");
    assert_eq!(
        (m.kind, m.text.as_str()),
        (MessageKind::Error, APPROVAL_NEEDED)
    );
    let wait = s.card_approval.clone().expect("the PIN pad opens");
    assert_eq!((wait.amount.minor, wait.error), (17_98, None));
    assert_eq!(s.cart.as_ref().unwrap().paid.minor, 0);
    no_reason_codes(&s);
    // Periodic snapshots keep the pad up.
    assert!(b.snapshot().card_approval.is_some());

    // A wrong PIN: refused, the pad stays with the reason.
    let s = b.apply(approved(17_98, "5678"));
    let wait = s.card_approval.clone().expect("still waiting");
    let e = wait.error.expect("why");
    assert!(e.contains("manager PIN refused"), "{e}");
    assert_eq!(s.message.as_ref().unwrap().kind, MessageKind::Error);
    // A cashier's PIN: not a manager.
    let s = b.apply(approved(17_98, "1111"));
    let e = s.card_approval.clone().and_then(|w| w.error).expect("why");
    assert!(e.contains("not a manager"), "{e}");
    assert_eq!(s.cart.as_ref().unwrap().paid.minor, 0);
    no_reason_codes(&s);

    // Cancel on the pad: back to the tender, the sale untouched.
    let s = b.apply(UiAction::DismissMessage);
    assert!(s.card_approval.is_none() && s.message.is_none());
    assert_eq!(s.cart.as_ref().unwrap().total.minor, 17_98);

    // Again, and the manager's PIN this time: paid, the wait is over.
    b.apply(card(17_98));
    let s = b.apply(approved(17_98, "9999"));
    assert!(s.message.is_none(), "{:?}", s.message);
    assert!(s.card_approval.is_none());
    let c = s.cart.clone().unwrap();
    assert!(c.covered, "{c:?}");
    let r = s.card_risk.clone().expect("still high");
    assert!(!r.approval_needed, "approved for this sale");
    // Still the cashier's session and sale.
    assert_eq!(s.user.as_ref().unwrap().role, "cashier");
    let s = b.apply(UiAction::Complete { command_id: None });
    assert!(s.cart.is_none(), "{:?}", s.message);
    let receipt = s.receipt.as_ref().unwrap().number;
    assert_eq!(
        flagged(&node.lock().unwrap()),
        vec![(receipt, RiskLevel::High, Some("manager".into()))]
    );
    assert!(s.card_risk.is_none(), "no sale open");

    // Review: no PIN, the lowered limit shows; over it, refused without codes.
    risk.set(Some(assessment(
        0.6,
        RiskLevel::Review,
        &["SWEETHEARTING".into()],
        "fixed test source",
    )));
    b.apply(UiAction::SaleNew);
    let s = b.apply(UiAction::AddItem {
        code: "COFFEE-500".into(),
        qty: Some(Qty::Units(20)),
        source: AddSource::Grid,
    });
    let r = s.card_risk.clone().unwrap();
    assert_eq!((r.level.as_str(), r.approval_needed), ("review", false));
    let s = b.apply(card(150_00));
    let m = s.message.clone().unwrap();
    assert!(m.text.contains("limit of 125.00"), "{}", m.text);
    assert!(!m.text.contains("SWEETHEARTING"), "{}", m.text);
    assert!(s.card_approval.is_none(), "no PIN for a limit");
}
