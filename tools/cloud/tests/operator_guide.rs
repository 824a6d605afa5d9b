//! Keeps docs/operator-guide.md true for `keel-cloud`: every `keel-cloud ...`
//! line of its shell blocks parses with keel-cloud's own argument parser, and
//! the guide shows the commands an operator needs for provisioning and releases;
//! a `keel-cloud ...` mention in the text parses too, or names a command a block shows.

use keel_cloud::admin::Action;
use keel_cloud::cli::{parse, Command};
use keel_cloud::release_cli::ReleaseAction;
use keel_testkit::guide::{inline_invocations, invocations, is_prefix_of_any, shell_commands};

fn guide_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operator-guide.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A name for what a parsed command does, to check the guide's coverage.
fn kind(cmd: &Command) -> String {
    match cmd {
        Command::Init(_) => "init".into(),
        Command::Serve(_) => "serve".into(),
        Command::Admin { action, .. } => match action {
            Action::Release(r) => match r {
                ReleaseAction::Publish { .. } => "release publish".into(),
                ReleaseAction::List { .. } => "release list".into(),
                ReleaseAction::Rollout { .. } => "release rollout".into(),
                ReleaseAction::Withdraw { .. } => "release withdraw".into(),
                ReleaseAction::Status { .. } => "release status".into(),
            },
            Action::Status { .. } => "status".into(),
            Action::Publish(_) => "publish".into(),
            other => format!("{other:?}"),
        },
        other => format!("{other:?}"),
    }
}

#[test]
fn every_keel_cloud_line_in_the_operator_guide_parses() {
    let commands = shell_commands(&guide_text()).expect("the guide's shell blocks");
    let mut seen = Vec::new();
    for (line, args) in invocations(&commands, &["keel-cloud"]) {
        match parse(&args) {
            Ok(cmd) => seen.push(kind(&cmd)),
            Err(e) => panic!("docs/operator-guide.md line {line}: keel-cloud {args:?}: {e}"),
        }
    }
    for needed in [
        "init",
        "serve",
        "status",
        "release publish",
        "release list",
        "release rollout",
        "release withdraw",
        "release status",
    ] {
        assert!(
            seen.iter().any(|s| s == needed),
            "the operator guide shows no `keel-cloud {needed}` line in a sh block (found {seen:?})"
        );
    }
}

#[test]
fn every_keel_cloud_mention_in_the_text_is_real() {
    let text = guide_text();
    let commands = shell_commands(&text).expect("the guide's shell blocks");
    let full = invocations(&commands, &["keel-cloud"]);
    let mentions = inline_invocations(&text, &["keel-cloud"]);
    assert!(!mentions.is_empty(), "no `keel-cloud ...` mentions found");
    for (line, args) in mentions {
        assert!(
            parse(&args).is_ok() || is_prefix_of_any(&args, &full),
            "docs/operator-guide.md line {line}: `keel-cloud {}` neither parses nor starts a command the guide shows",
            args.join(" ")
        );
    }
}

#[test]
fn a_renamed_subcommand_would_turn_this_red() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert!(parse(&args("release pause --dir /srv/keel-cloud 1")).is_err());
    assert!(parse(&args("release rollout --dir /srv/keel-cloud 1 150")).is_err());
    assert!(parse(&args(
        "release publish --dir d --file f --channel nightly --rollout 5"
    ))
    .is_err());
}
