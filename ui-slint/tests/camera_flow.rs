//! The camera button, its picker and the card-approval PIN pad on a headless
//! window, with snapshots arriving as the threaded kiosk delivers them (a
//! periodic snapshot may still show the state before the answer): one
//! recognize per press, busy until the answer, focus to manual entry when
//! the camera gives up; a pick or Enter manually closes the picker for good
//! even if a stale snapshot still offers it; a cancelled approval pad stays
//! closed, and one that waits opens by itself with the refusal on it.

use keel_ui::action::{Action, AddSource, PinPurpose};
use keel_ui::demo;
use keel_ui::generated::{UiActions, UiState};
use keel_ui::headless::HeadlessUi;
use keel_ui::view::{
    CandidateView, CardApprovalView, MessageKind, MessageView, MoneyView, RecognitionView,
    ViewModel,
};
use slint::{ComponentHandle, Model};
use std::sync::mpsc::Receiver;

fn drain(rx: &Receiver<Action>) -> Vec<Action> {
    rx.try_iter().collect()
}

fn unsure() -> ViewModel {
    let c = |sku: &str, p| CandidateView {
        sku: sku.into(),
        name: sku.to_lowercase(),
        confidence_permille: p,
    };
    ViewModel {
        recognition: Some(RecognitionView::Choose(vec![
            c("MUFFIN", 480),
            c("SCONE", 410),
            c("BAGEL", 60),
        ])),
        message: Some(MessageView {
            kind: MessageKind::Notice,
            text: "not sure".into(),
        }),
        ..demo::sale()
    }
}

#[test]
fn one_recognize_per_press_and_manual_entry_gets_the_focus() {
    let (ui, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let w = ui.ui().window();
    let (state, actions) = (w.global::<UiState<'_>>(), w.global::<UiActions<'_>>());
    // No camera: the button does nothing.
    ui.ui().show(ViewModel {
        camera: false,
        ..demo::sale()
    });
    assert!(!state.get_camera_ready());
    actions.invoke_camera();
    assert!(drain(&rx).is_empty());

    ui.ui().show(demo::sale());
    assert!(state.get_camera_ready());
    actions.invoke_camera();
    actions.invoke_camera();
    assert_eq!(drain(&rx), vec![Action::Recognize], "one per press");
    assert!(state.get_camera_busy());
    // A periodic snapshot before the answer: still waiting.
    ui.ui().show(demo::sale());
    assert!(state.get_camera_busy());
    let focus = state.get_focus_manual();
    ui.ui().show(ViewModel {
        recognition: Some(RecognitionView::Manual {
            reason: "recognition timed out".into(),
        }),
        message: Some(MessageView {
            kind: MessageKind::Notice,
            text: "no product recognized".into(),
        }),
        ..demo::sale()
    });
    assert!(!state.get_camera_busy());
    assert_eq!(state.get_focus_manual(), focus + 1);
    assert_eq!(
        state.get_message().as_str(),
        "No product recognized (recognition timed out): enter the product manually"
    );
    // The same finding again (a periodic snapshot): no second focus request.
    ui.ui().show(ViewModel {
        recognition: Some(RecognitionView::Manual {
            reason: "recognition timed out".into(),
        }),
        ..demo::sale()
    });
    assert_eq!(state.get_focus_manual(), focus + 1);

    // A refusal (e.g. recognized but not added) also ends the wait.
    actions.invoke_camera();
    assert_eq!(drain(&rx), vec![Action::Recognize]);
    ui.ui().show(ViewModel {
        message: Some(MessageView {
            kind: MessageKind::Error,
            text: "not added".into(),
        }),
        ..demo::sale()
    });
    assert!(!state.get_camera_busy());
}

#[test]
fn the_picker_adds_the_pick_as_a_scan_and_stays_closed() {
    let (ui, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let w = ui.ui().window();
    let (state, actions) = (w.global::<UiState<'_>>(), w.global::<UiActions<'_>>());
    ui.ui().show(unsure());
    assert!(state.get_picker_visible());
    let rows: Vec<_> = state.get_picker_candidates().iter().collect();
    assert_eq!(
        rows.iter()
            .map(|r| (r.sku.to_string(), r.confidence.to_string()))
            .collect::<Vec<_>>(),
        [
            ("MUFFIN".to_string(), "48%".to_string()),
            ("SCONE".into(), "41%".into()),
            ("BAGEL".into(), "6%".into())
        ]
    );
    actions.invoke_pick_candidate(rows[1].sku.clone());
    assert_eq!(
        drain(&rx),
        vec![Action::AddItem {
            code: "SCONE".into(),
            source: AddSource::Scan
        }]
    );
    assert!(!state.get_picker_visible());
    // A periodic snapshot from before the pick still offers it: stays closed.
    ui.ui().show(unsure());
    assert!(!state.get_picker_visible());
    // The answer (no finding), then a new unsure press: it opens again.
    ui.ui().show(demo::sale());
    ui.ui().show(unsure());
    assert!(state.get_picker_visible());
    let focus = state.get_focus_manual();
    actions.invoke_enter_manually();
    assert_eq!(drain(&rx), vec![Action::DismissMessage]);
    assert!(!state.get_picker_visible());
    assert_eq!(state.get_focus_manual(), focus + 1);
}

#[test]
fn the_card_approval_pad_opens_by_itself_and_a_cancel_holds() {
    let (ui, rx) = HeadlessUi::with_channel(1024, 768).unwrap();
    let w = ui.ui().window();
    let (state, actions) = (w.global::<UiState<'_>>(), w.global::<UiActions<'_>>());
    let waiting = |error: Option<&str>| ViewModel {
        card_approval: Some(CardApprovalView {
            amount: MoneyView::new(567, "5.67"),
            error: error.map(str::to_string),
        }),
        // The bridge's own text (reason codes taken out); the screen shows its translated line.
        message: Some(MessageView {
            kind: MessageKind::Error,
            text: error.unwrap_or("card needs a manager's approval").into(),
        }),
        ..demo::tender()
    };
    ui.ui().show(waiting(None));
    assert!(state.get_pin_visible());
    assert_eq!(
        state.get_message().as_str(),
        "Card payment needs a manager's approval"
    );
    for k in ["1", "2", "3", "4"] {
        actions.invoke_pin_key(k.into());
    }
    actions.invoke_pin_submit();
    assert_eq!(
        drain(&rx),
        vec![Action::ManagerAuthorised {
            purpose: PinPurpose::CardApproval {
                amount: 567,
                amount_text: "5.67".into()
            },
            pin: "1234".into()
        }]
    );
    assert!(state.get_pin_visible(), "up until the answer");
    assert_eq!(state.get_pin_mask().as_str(), "");
    ui.ui()
        .show(waiting(Some("manager PIN refused: wrong PIN")));
    assert!(state.get_pin_visible());
    assert_eq!(
        state.get_pin_error().as_str(),
        "manager PIN refused: wrong PIN"
    );

    actions.invoke_pin_cancel();
    assert_eq!(drain(&rx), vec![Action::DismissMessage]);
    assert!(!state.get_pin_visible());
    // A snapshot from before the cancel still waits: the pad stays closed.
    ui.ui()
        .show(waiting(Some("manager PIN refused: wrong PIN")));
    assert!(!state.get_pin_visible());
    // Once the wait is over, the next refusal opens it again.
    ui.ui().show(demo::tender());
    ui.ui().show(waiting(None));
    assert!(state.get_pin_visible());
    // Paid: the answer has no wait, the pad closes.
    ui.ui().show(demo::tender());
    assert!(!state.get_pin_visible());
    assert!(drain(&rx).is_empty());
}
