//! Keeps docs/operator-guide.md true for `keel-bundle`: every `keel-bundle ...`
//! line of its shell blocks parses with keel-bundle's own argument parser, and
//! the guide shows each command an operator needs (keygen, sign, inspect); a
//! `keel-bundle ...` mention in the text parses too, or names a command a block shows.

// The guide reader is test support shared with the other guide tests; this
// crate does not depend on keel-testkit, so the file is included by path.
#[allow(dead_code)]
#[path = "../../testkit/src/guide.rs"]
mod guide;

use keel_bundle::cli::{parse, Command};

fn guide_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operator-guide.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_keel_bundle_line_in_the_operator_guide_parses() {
    let commands = guide::shell_commands(&guide_text()).expect("the guide's shell blocks");
    let lines = guide::invocations(&commands, &["keel-bundle"]);
    let mut seen = Vec::new();
    for (line, args) in &lines {
        match parse(args) {
            Ok(cmd) => seen.push(match cmd {
                Command::Keygen { .. } => "keygen",
                Command::Sign(_) => "sign",
                Command::Inspect { .. } => "inspect",
                _ => "other",
            }),
            Err(e) => panic!("docs/operator-guide.md line {line}: keel-bundle {args:?}: {e}"),
        }
    }
    for needed in ["keygen", "sign", "inspect"] {
        assert!(
            seen.contains(&needed),
            "the operator guide shows no `keel-bundle {needed}` (found {seen:?})"
        );
    }
}

#[test]
fn every_keel_bundle_mention_in_the_text_is_real() {
    let text = guide_text();
    let commands = guide::shell_commands(&text).expect("the guide's shell blocks");
    let full = guide::invocations(&commands, &["keel-bundle"]);
    for (line, args) in guide::inline_invocations(&text, &["keel-bundle"]) {
        assert!(
            parse(&args).is_ok() || guide::is_prefix_of_any(&args, &full),
            "docs/operator-guide.md line {line}: `keel-bundle {}` neither parses nor starts a command the guide shows",
            args.join(" ")
        );
    }
}

#[test]
fn a_misspelt_flag_would_turn_this_red() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert!(parse(&args("keygen --output k")).is_err());
    assert!(parse(&args(
        "sign --key k.pk8 --kind firmware --version 1.2.0 --boards b --payload rootfs=r --out o"
    ))
    .is_err());
}
