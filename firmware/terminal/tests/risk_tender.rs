//! Adaptive offline risk on a real node (demo store, journal in a temp dir):
//! the console asks the node's risk source before a card tender; at Review the
//! offline card limits are halved and the sale is flagged in the journal, at
//! High a manager's PIN (`--approve`) or a manager at the till is needed;
//! without a source nothing changes; the UI bridge's card tender goes the same
//! way. The risk source here is `FixedRisk`, a real implementation of the
//! trait giving a set assessment. A restart and a rebuild keep every decision.
//! UI amounts are written `units_cents` (`100_00` is 100.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use keel_core::event::EventBody;
use keel_core::risk::RiskLevel;
use keel_terminal::console::command::parse;
use keel_terminal::console::session::{Session, SessionState};
use keel_terminal::node::Node;
use keel_terminal::risk::{assessment, FixedRisk};
use keel_terminal::ui_bridge::snapshot::MessageKind;
use keel_terminal::ui_bridge::{AddSource, Qty, UiAction, UiBridge, UiServices};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn open(dir: &Path) -> Node {
    Node::open(
        keel_terminal::demo::profile(1),
        dir,
        Box::new(keel_terminal::clock::SystemClock::new()),
        keel_terminal::demo::seed_events(),
    )
    .unwrap()
}

/// Runs one console line; the JSON reply.
fn run(node: &mut Node, st: &mut SessionState, line: &str) -> Value {
    let cmd = parse(line).unwrap().unwrap();
    let reply = Session::new(node, st, None).execute(cmd);
    serde_json::from_str(&reply.render(true)).unwrap()
}

fn ok(node: &mut Node, st: &mut SessionState, line: &str) -> Value {
    let v = run(node, st, line);
    assert_eq!(v["ok"], true, "{line}: {v}");
    v
}

fn refused(node: &mut Node, st: &mut SessionState, line: &str) -> String {
    let v = run(node, st, line);
    assert_eq!(v["ok"], false, "{line} was not refused: {v}");
    v["error"].as_str().unwrap_or_default().to_string()
}

/// A sale of 20 x COFFEE-500 (179.80) with the shift open.
fn new_sale(node: &mut Node, st: &mut SessionState) {
    ok(node, st, "sale new");
    let c = ok(node, st, "sale add COFFEE-500 20");
    assert_eq!(c["total"], "179.80", "{c}");
}

/// The sale-flagged records in the journal: (receipt, level, reasons, approved by).
fn flagged(node: &Node) -> Vec<(u64, RiskLevel, Vec<String>, Option<String>)> {
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
            } => Some((
                receipt_no.0,
                assessment.level,
                assessment.reasons,
                approved_by.map(|m| m.0),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn console_card_tenders_follow_the_risk_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = open(dir.path());
    let mut st = SessionState::new(true);
    ok(&mut node, &mut st, "login 1111");
    ok(&mut node, &mut st, "shift open 100.00");

    // No risk source: the usual 250.00 limit, nothing flagged.
    new_sale(&mut node, &mut st);
    let c = ok(&mut node, &mut st, "sale tender card 150.00 tok1 4242");
    assert!(c.get("risk").is_none(), "{c}");
    ok(&mut node, &mut st, "sale tender cash 29.80");
    ok(&mut node, &mut st, "sale complete");

    // Review: both limits at 50 %, the sale flagged.
    let risk = Arc::new(FixedRisk::new(Some(assessment(
        0.62,
        RiskLevel::Review,
        &["SWEETHEARTING".into()],
        "fixed test source",
    ))));
    node.set_risk_source(risk.clone());
    new_sale(&mut node, &mut st);
    let e = refused(&mut node, &mut st, "sale tender card 150.00 tok2 4242");
    assert!(
        e.contains("limit of 125.00") && e.contains("50%") && e.contains("SWEETHEARTING"),
        "{e}"
    );
    let c = ok(&mut node, &mut st, "sale tender card 125.00 tok2 4242");
    assert_eq!(c["risk"]["level"], "review", "{c}");
    assert_eq!(c["risk"]["score_permille"], 620, "{c}");
    ok(&mut node, &mut st, "sale tender cash 54.80");
    let done = ok(&mut node, &mut st, "sale complete");
    assert_eq!(done["flagged"]["level"], "review", "{done}");
    assert_eq!(done["flagged"]["reasons"], "SWEETHEARTING", "{done}");
    let receipt = done["receipt"].as_u64().unwrap();
    assert_eq!(receipt, 2, "{done}");
    assert_eq!(
        flagged(&node),
        vec![(
            receipt,
            RiskLevel::Review,
            vec!["SWEETHEARTING".into()],
            None
        )]
    );

    // High: a manager's approval, by PIN; a cashier's PIN or a wrong one does not do.
    risk.set(Some(assessment(
        0.91,
        RiskLevel::High,
        &["REFUND_FRAUD".into(), "DRAWER_SKIMMING".into()],
        "fixed test source",
    )));
    new_sale(&mut node, &mut st);
    let e = refused(&mut node, &mut st, "sale tender card 10.00 tok3 4242");
    assert!(
        e.contains("manager's approval") && e.contains("REFUND_FRAUD, DRAWER_SKIMMING"),
        "{e}"
    );
    let e = refused(
        &mut node,
        &mut st,
        "sale tender card 10.00 tok3 4242 --approve 1111",
    );
    assert!(e.contains("not a manager"), "{e}");
    let e = refused(
        &mut node,
        &mut st,
        "sale tender card 10.00 tok3 4242 --approve 5678",
    );
    assert!(e.contains("manager PIN refused"), "{e}");
    let c = ok(
        &mut node,
        &mut st,
        "sale tender card 100.00 tok3 4242 VISA --approve 9999",
    );
    assert_eq!(c["risk"]["approved_by"], "manager", "{c}");
    // The approval holds for the rest of this cart.
    ok(&mut node, &mut st, "sale tender card 20.00 tok4 4242");
    ok(&mut node, &mut st, "sale tender cash 59.80");
    ok(&mut node, &mut st, "sale complete");
    assert_eq!(flagged(&node).len(), 2);
    assert_eq!(flagged(&node)[1].3.as_deref(), Some("manager"));

    // A manager ringing up the sale approves by being logged in.
    ok(&mut node, &mut st, "login 9999");
    new_sale(&mut node, &mut st);
    let c = ok(&mut node, &mut st, "sale tender card 50.00 tok5 4242");
    assert_eq!(c["risk"]["approved_by"], "manager", "{c}");
    ok(&mut node, &mut st, "sale cancel");

    // Low: back to the usual limits, nothing flagged.
    ok(&mut node, &mut st, "login 1111");
    risk.set(Some(assessment(
        0.1,
        RiskLevel::Low,
        &[],
        "fixed test source",
    )));
    new_sale(&mut node, &mut st);
    ok(&mut node, &mut st, "sale tender card 179.80 tok6 4242");
    let done = ok(&mut node, &mut st, "sale complete");
    assert!(done.get("flagged").is_none(), "{done}");
    assert_eq!(flagged(&node).len(), 2);

    // A restart and a rebuild give the same state (the decisions are in the journal).
    let live = node.state.clone();
    drop(node);
    let mut node = open(dir.path());
    assert_eq!(node.state, live);
    node.rebuild().unwrap();
    assert_eq!(node.state, live);
    assert_eq!(flagged(&node).len(), 2);
}

#[test]
fn the_ui_card_tender_goes_through_the_same_path() {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Mutex::new(open(dir.path())));
    let risk = Arc::new(FixedRisk::new(Some(assessment(
        0.9,
        RiskLevel::High,
        &["SWEETHEARTING".into()],
        "fixed test source",
    ))));
    node.lock().unwrap().set_risk_source(risk.clone());
    let mut b = UiBridge::new(node.clone(), UiServices::default());
    b.apply(UiAction::Login { pin: "1111".into() });
    let s = b.apply(UiAction::ShiftOpen { float: 100_00 });
    assert!(s
        .message
        .as_ref()
        .is_none_or(|m| m.kind == MessageKind::Notice));
    b.apply(UiAction::SaleNew);
    b.apply(UiAction::AddItem {
        code: "COFFEE-500".into(),
        qty: Some(Qty::Units(2)),
        source: AddSource::Grid,
    });
    let card = UiAction::TenderCard {
        amount: 17_98,
        token: "tokui".into(),
        last4: "4242".into(),
        brand: None,
    };
    let s = b.apply(card.clone());
    let m = s.message.expect("refused");
    assert_eq!(m.kind, MessageKind::Error);
    assert!(m.text.contains("manager's approval"), "{}", m.text);
    // Review: accepted (within the halved limit) and flagged on completion.
    risk.set(Some(assessment(
        0.6,
        RiskLevel::Review,
        &["SWEETHEARTING".into()],
        "fixed test source",
    )));
    let s = b.apply(card);
    assert!(s.message.is_none(), "{:?}", s.message);
    b.apply(UiAction::Complete { command_id: None });
    assert_eq!(flagged(&node.lock().unwrap()).len(), 1);
}

/// A risk source that breaks the core's bounds (score over 1000, a reason code
/// in lower case): a real, if faulty, implementation of the trait.
struct OutOfBounds;

impl keel_terminal::risk::RiskSource for OutOfBounds {
    fn assess(
        &self,
        _cashier: &keel_core::ids::UserId,
        _now_ms: u64,
    ) -> Option<keel_core::risk::RiskAssessment> {
        Some(keel_core::risk::RiskAssessment {
            score_permille: 1500,
            level: RiskLevel::Review,
            reasons: vec!["SWEETHEARTING".into(), "not a code".into()],
            source: "faulty\nsource".into(),
        })
    }
}

#[test]
fn a_faulty_risk_source_never_stops_a_sale() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = open(dir.path());
    node.set_risk_source(Arc::new(OutOfBounds));
    let mut st = SessionState::new(true);
    ok(&mut node, &mut st, "login 1111");
    ok(&mut node, &mut st, "shift open 100.00");
    new_sale(&mut node, &mut st);
    // Its level still applies: the per-transaction limit is lowered to 125.00.
    let e = refused(&mut node, &mut st, "sale tender card 130.00 tok 4242");
    assert!(e.contains("limit of 125.00"), "{e}");
    let c = ok(&mut node, &mut st, "sale tender card 100.00 tok 4242");
    assert_eq!(c["risk"]["score_permille"], 1000, "{c}");
    assert_eq!(
        c["risk"]["reasons"],
        serde_json::json!(["SWEETHEARTING"]),
        "{c}"
    );
    ok(&mut node, &mut st, "sale tender card 79.80 tok 4242");
    ok(&mut node, &mut st, "sale complete");
}
