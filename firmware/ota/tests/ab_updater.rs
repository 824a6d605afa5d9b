//! The updater's transitions one by one: what each event does in each state,
//! the refusals, and the start-up decisions the power-loss test relies on.

use keel_ota::slot::Slot;
use keel_ota::updater::{step, Action, Event, StepError, UpdateRecord, UpdateState, Updater};
use Action as A;
use Slot::{A as SA, B as SB};
use UpdateState as S;

fn v() -> String {
    "2.0.0".to_string()
}

fn at(state: UpdateState, booted: Option<Slot>) -> Updater {
    Updater {
        record: UpdateRecord {
            format: 1,
            since_unix_ms: 5,
            update: state,
        },
        booted,
    }
}

fn go(state: UpdateState, booted: Option<Slot>, e: Event) -> (UpdateState, Vec<Action>) {
    let (u, actions) = step(&at(state, booted), e, 99).unwrap();
    (u.record.update, actions)
}

#[test]
fn the_happy_path_orders_its_durable_writes() {
    let dl = S::Downloading {
        version: v(),
        target: SB,
    };
    assert_eq!(
        go(S::Idle, Some(SA), Event::Start { version: v() }),
        (dl.clone(), vec![A::Persist, A::Download])
    );
    let vf = S::Verifying {
        version: v(),
        target: SB,
    };
    assert_eq!(
        go(dl, Some(SA), Event::DownloadDone),
        (vf.clone(), vec![A::Persist, A::Verify])
    );
    let wr = S::Writing {
        version: v(),
        target: SB,
    };
    assert_eq!(
        go(vf, Some(SA), Event::Verified),
        (
            wr.clone(),
            vec![A::MarkBad(SB), A::Persist, A::WriteSlot(SB)]
        )
    );
    let sw = S::Switching {
        version: v(),
        target: SB,
    };
    assert_eq!(
        go(wr, Some(SA), Event::WriteDone),
        (sw.clone(), vec![A::Persist, A::SwitchTo(SB)])
    );
    let rb = S::Rebooting {
        version: v(),
        target: SB,
    };
    assert_eq!(
        go(sw, Some(SA), Event::Switched),
        (rb.clone(), vec![A::Persist, A::Reboot])
    );
    let te = S::Testing {
        version: v(),
        target: SB,
        failures: 0,
        last_failure: None,
    };
    assert_eq!(
        go(rb, None, Event::Booted { slot: SB }),
        (te.clone(), vec![A::Persist, A::CheckHealth])
    );
    assert_eq!(
        go(te, Some(SB), Event::HealthPassed),
        (
            S::Committed {
                version: v(),
                slot: SB
            },
            vec![A::MarkGood(SB), A::Persist, A::DiscardDownload]
        )
    );
}

#[test]
fn the_time_of_the_change_is_recorded() {
    let (u, _) = step(&at(S::Idle, Some(SA)), Event::Start { version: v() }, 1234).unwrap();
    assert_eq!(u.record.since_unix_ms, 1234);
    let (u, _) = step(&at(S::Idle, Some(SA)), Event::HealthPassed, 1234).unwrap();
    assert_eq!(u.record.since_unix_ms, 5, "no state change, no new time");
}

#[test]
fn failures_before_the_switch_keep_the_running_system() {
    let cases = [
        (
            S::Downloading {
                version: v(),
                target: SB,
            },
            Event::DownloadFailed("404".into()),
            "404",
        ),
        (
            S::Verifying {
                version: v(),
                target: SB,
            },
            Event::VerifyFailed("wrong board".into()),
            "wrong board",
        ),
        (
            S::Writing {
                version: v(),
                target: SB,
            },
            Event::WriteFailed("hash mismatch".into()),
            "hash mismatch",
        ),
    ];
    for (state, event, reason) in cases {
        assert_eq!(
            go(state, Some(SA), event),
            (
                S::Failed {
                    version: Some(v()),
                    reason: reason.into()
                },
                vec![A::Persist, A::DiscardDownload]
            )
        );
    }
}

#[test]
fn cancel_before_the_reboot_makes_the_target_unbootable() {
    for state in [
        S::Downloading {
            version: v(),
            target: SB,
        },
        S::Verifying {
            version: v(),
            target: SB,
        },
        S::Writing {
            version: v(),
            target: SB,
        },
        S::Switching {
            version: v(),
            target: SB,
        },
    ] {
        assert_eq!(
            go(state, Some(SA), Event::Cancel),
            (
                S::Failed {
                    version: Some(v()),
                    reason: "cancelled".into()
                },
                vec![A::MarkBad(SB), A::Persist, A::DiscardDownload]
            )
        );
    }
    let r = step(
        &at(
            S::Rebooting {
                version: v(),
                target: SB,
            },
            Some(SA),
        ),
        Event::Cancel,
        0,
    );
    assert!(
        matches!(
            r,
            Err(StepError::Unexpected {
                state: "rebooting",
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn refusals_leave_the_state_alone() {
    let busy = step(
        &at(
            S::Writing {
                version: v(),
                target: SB,
            },
            Some(SA),
        ),
        Event::Start {
            version: "3.0.0".into(),
        },
        0,
    );
    assert_eq!(
        busy.unwrap_err().to_string(),
        "an update to 2.0.0 is already writing"
    );
    let e = step(&at(S::Idle, Some(SA)), Event::WriteDone, 0).unwrap_err();
    assert_eq!(e.to_string(), "WriteDone is not expected while idle");
    let e = step(&at(S::Idle, None), Event::Start { version: v() }, 0).unwrap_err();
    assert!(matches!(e, StepError::NotBooted(_)));
    // A settled outcome accepts a new update.
    for settled in [
        S::Committed {
            version: v(),
            slot: SB,
        },
        S::Failed {
            version: None,
            reason: "x".into(),
        },
        S::RolledBack {
            version: v(),
            failed_slot: SB,
            reason: "y".into(),
        },
    ] {
        let (s, _) = go(
            settled,
            Some(SA),
            Event::Start {
                version: "3.0.0".into(),
            },
        );
        assert_eq!(
            s,
            S::Downloading {
                version: "3.0.0".into(),
                target: SB
            }
        );
    }
}

#[test]
fn start_up_in_each_state() {
    let t = SB;
    let boot = |state: UpdateState, slot: Slot| go(state, None, Event::Booted { slot });
    assert_eq!(boot(S::Idle, SA), (S::Idle, vec![A::CheckHealth]));
    assert_eq!(
        boot(
            S::Downloading {
                version: v(),
                target: t
            },
            SA
        )
        .1,
        vec![A::CheckHealth, A::Download]
    );
    assert_eq!(
        boot(
            S::Verifying {
                version: v(),
                target: t
            },
            SA
        )
        .1,
        vec![A::CheckHealth, A::Verify]
    );
    assert_eq!(
        boot(
            S::Writing {
                version: v(),
                target: t
            },
            SA
        )
        .1,
        vec![A::MarkBad(t), A::CheckHealth, A::WriteSlot(t)]
    );
    assert_eq!(
        boot(
            S::Switching {
                version: v(),
                target: t
            },
            SA
        )
        .1,
        vec![A::CheckHealth, A::SwitchTo(t)]
    );
    // The switch landed before the record said so.
    assert_eq!(
        boot(
            S::Switching {
                version: v(),
                target: t
            },
            t
        )
        .0,
        S::Testing {
            version: v(),
            target: t,
            failures: 0,
            last_failure: None
        }
    );
    // The new system never got as far as its updater.
    let (s, a) = boot(
        S::Rebooting {
            version: v(),
            target: t,
        },
        SA,
    );
    assert_eq!(
        s,
        S::RolledBack {
            version: v(),
            failed_slot: t,
            reason: "the new system in slot B did not start in 3 tries".into()
        }
    );
    assert_eq!(
        a,
        vec![
            A::MarkBad(t),
            A::Persist,
            A::DiscardDownload,
            A::CheckHealth
        ]
    );
    // A health failure on trial is recorded and the box reboots for the next try.
    let te = S::Testing {
        version: v(),
        target: t,
        failures: 1,
        last_failure: Some("UI not up".into()),
    };
    assert_eq!(boot(te.clone(), t), (te.clone(), vec![A::CheckHealth]));
    assert_eq!(
        go(te.clone(), Some(t), Event::HealthFailed("UI not up".into())),
        (
            S::Testing {
                version: v(),
                target: t,
                failures: 2,
                last_failure: Some("UI not up".into())
            },
            vec![A::Persist, A::Reboot]
        )
    );
    // The committed system stopped booting; the bootloader fell back.
    let (s, a) = boot(
        S::Committed {
            version: v(),
            slot: t,
        },
        SA,
    );
    assert!(
        matches!(
            s,
            S::RolledBack {
                failed_slot: SB,
                ..
            }
        ),
        "{s:?}"
    );
    assert_eq!(a, vec![A::MarkBad(t), A::Persist, A::CheckHealth]);
    assert_eq!(
        boot(
            S::Committed {
                version: v(),
                slot: t
            },
            t
        ),
        (
            S::Committed {
                version: v(),
                slot: t
            },
            vec![A::DiscardDownload, A::CheckHealth]
        )
    );
    // The running system's own failed health check does not mark it good.
    assert_eq!(
        go(S::Idle, Some(SA), Event::HealthFailed("UI not up".into())),
        (S::Idle, vec![])
    );
    assert_eq!(
        go(S::Idle, Some(SA), Event::HealthPassed),
        (S::Idle, vec![A::MarkGood(SA)])
    );
}
