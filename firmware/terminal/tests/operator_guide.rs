//! Keeps docs/operator-guide.md true for the `keel` binary and the console:
//! every `keel ...` line of its shell blocks parses with keel's own argument
//! parser (a mention in the text parses too, or starts a command a block
//! shows), every console command it names in the text (`ota ...`) parses with
//! the console's parser, and every shell line runs a program this guide is
//! allowed to name, so a misspelt tool (`keel-bundel`) fails here while each
//! Keel tool's own test checks its arguments.

use keel_terminal::console::command::{parse as parse_console, USAGE};
use keel_testkit::guide::{inline_invocations, invocations, is_prefix_of_any, shell_commands};

fn guide_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operator-guide.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The programs the guide's shell blocks may run: Keel's tools (each checked
/// by its own crate's test) and standard Linux tools.
const PROGRAMS: &[&str] = &[
    "keel",
    "keel-bundle",
    "keel-cloud",
    "cargo",
    "lsblk",
    "umount",
    "bmaptool",
    "dd",
    "sgdisk",
    "cmp",
    "mount",
    "mkdir",
    "cp",
];

#[test]
fn every_keel_line_in_the_operator_guide_parses() {
    let text = guide_text();
    let commands = shell_commands(&text).expect("the guide's shell blocks");
    let full = invocations(&commands, &["keel"]);
    assert!(full.len() >= 2, "no `keel ...` lines found");
    for (line, args) in &full {
        if let Err(e) = keel_terminal::cli::parse(args) {
            panic!("docs/operator-guide.md line {line}: keel {args:?}: {e}");
        }
    }
    for (line, args) in inline_invocations(&text, &["keel"]) {
        assert!(
            keel_terminal::cli::parse(&args).is_ok() || is_prefix_of_any(&args, &full),
            "docs/operator-guide.md line {line}: `keel {}` neither parses nor starts a command the guide shows",
            args.join(" ")
        );
    }
}

#[test]
fn every_shell_line_runs_a_known_program() {
    let commands = shell_commands(&guide_text()).expect("the guide's shell blocks");
    for c in &commands {
        let program = c.words[0].as_str();
        assert!(
            PROGRAMS.contains(&program),
            "docs/operator-guide.md line {}: unknown program {program:?} (a typo? else add it to PROGRAMS)",
            c.line
        );
        if program == "cargo" {
            assert!(
                c.words.get(1).map(String::as_str) == Some("xtask")
                    || c.words.get(1).map(String::as_str) == Some("build"),
                "docs/operator-guide.md line {}: only `cargo xtask` and `cargo build` belong in the guide",
                c.line
            );
        }
    }
}

#[test]
fn every_console_command_named_in_the_operator_guide_parses() {
    let text = guide_text();
    let mentions = inline_invocations(&text, &["ota"]);
    assert!(
        mentions.len() >= 5,
        "only {} `ota ...` mentions found",
        mentions.len()
    );
    for (line, args) in mentions {
        let command = format!("ota {}", args.join(" "));
        let named = USAGE.iter().any(|(name, _)| *name == command);
        assert!(
            named || matches!(parse_console(&command), Ok(Some(_))),
            "docs/operator-guide.md line {line}: `{command}` is not a console command: {:?}",
            parse_console(&command)
        );
    }
}
