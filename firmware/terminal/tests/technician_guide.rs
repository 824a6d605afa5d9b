//! Keeps docs/technician-guide.md true: every `keel> ` line of its console
//! blocks parses with the console's own parser, every `keel ...` shell line
//! with the `keel` binary's own argument parser, the guide covers each job
//! it promises, and each block introduced by "Checked transcript" is typed
//! into a real `keel console --demo` whose replies must match the guide line
//! for line (`…` where a value changes between runs).

use keel_terminal::console::command::{parse, USAGE};
use keel_testkit::guide::{
    code_blocks, console_steps, invocations, lines_match, shell_commands, CodeBlock, ConsoleStep,
};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn guide() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/technician-guide.md"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn console_blocks(text: &str) -> Vec<CodeBlock> {
    code_blocks(text)
        .expect("the guide's code blocks")
        .into_iter()
        .filter(|b| b.info.split_whitespace().next() == Some("console"))
        .collect()
}

fn steps(text: &str) -> Vec<ConsoleStep> {
    console_blocks(text)
        .iter()
        .flat_map(console_steps)
        .collect()
}

/// The USAGE name (`sale tender cash`, `ota install`...) a line resolves to:
/// the longest name the line starts with, word by word.
fn usage_name(line: &str) -> Option<&'static str> {
    let words: Vec<String> = line
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    USAGE
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            let n: Vec<&str> = name.split(' ').collect();
            n.len() <= words.len() && n.iter().zip(&words).all(|(a, b)| a == b)
        })
        .max_by_key(|name| name.len())
}

#[test]
fn every_console_line_in_the_guide_parses() {
    let text = guide();
    let steps = steps(&text);
    assert!(
        steps.len() >= 60,
        "only {} console lines found: has the `keel> ` convention changed?",
        steps.len()
    );
    let mut bad = Vec::new();
    for s in &steps {
        match parse(&s.command) {
            Ok(Some(_)) => {}
            Ok(None) => bad.push(format!("line {}: {:?} is not a command", s.line, s.command)),
            // A line the guide shows being refused must show the parser's
            // own message as its reply.
            Err(e) => {
                let shown = s
                    .reply
                    .first()
                    .map(|r| r.replace("\\\"", "\""))
                    .unwrap_or_default();
                if !shown.contains(&e.to_string()) {
                    bad.push(format!("line {}: {:?}: {e}", s.line, s.command));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "console lines in docs/technician-guide.md the console refuses:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_guide_shows_every_job_it_promises() {
    let text = guide();
    let shown: Vec<&str> = steps(&text)
        .iter()
        .filter_map(|s| usage_name(&s.command))
        .collect();
    let promised = [
        // logging in, help, JSON
        "login",
        "logout",
        "help",
        "json",
        // health
        "status",
        "journal verify",
        "journal tail",
        "journal export",
        "peers",
        "leader",
        "raft status",
        "cloud status",
        // peripherals
        "printer test",
        "printer status",
        "printer reprint",
        "drawer test",
        "scanner monitor",
        "scale read",
        // sales support
        "shift open",
        "shift close",
        "sale new",
        "sale add",
        "sale show",
        "sale tender cash",
        "sale complete",
        "sale cancel",
        "receipt show",
        "void",
        "refund",
        "report x",
        "report z",
        // AI
        "model list",
        "model score",
        "model reload",
        // OTA
        "ota status",
        "ota install",
        "ota rollback",
    ];
    let missing: Vec<&str> = promised
        .iter()
        .copied()
        .filter(|p| !shown.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "the technician guide has no `keel> ` example of: {missing:?}"
    );
}

#[test]
fn keel_command_lines_in_the_guide_parse() {
    let text = guide();
    let commands = shell_commands(&text).expect("the guide's shell blocks");
    let keel = invocations(&commands, &["keel"]);
    assert!(keel.len() >= 3, "no `keel ...` lines found: {commands:?}");
    for (line, args) in keel {
        if let Err(e) = keel_terminal::cli::parse(&args) {
            panic!("docs/technician-guide.md line {line}: keel {args:?}: {e}");
        }
    }
}

/// Runs `keel console --demo` on a fresh data directory with `input` on its
/// stdin and returns its stdout's lines (it exits at the end of its input).
fn run_demo_console(input: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["console", "--demo", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keel");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write commands");
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("poll keel").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keel console did not finish its input within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("keel's output");
    assert!(out.status.success(), "keel exited with {}", out.status);
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn checked_transcripts_match_the_real_console() {
    let text = guide();
    let checked: Vec<CodeBlock> = console_blocks(&text)
        .into_iter()
        .filter(|b| b.preceding.starts_with("Checked transcript"))
        .collect();
    assert!(
        checked.len() >= 4,
        "only {} checked transcripts found",
        checked.len()
    );
    for block in checked {
        let steps = console_steps(&block);
        let input: String = steps.iter().map(|s| format!("{}\n", s.command)).collect();
        let expected: Vec<String> = steps.iter().flat_map(|s| s.reply.clone()).collect();
        let actual = run_demo_console(&input);
        if let Err(e) = lines_match(&expected, &actual) {
            panic!(
                "the checked transcript at docs/technician-guide.md line {} no longer matches \
                 what keel prints:\n{e}",
                block.first_line
            );
        }
    }
}

#[test]
fn a_renamed_command_would_turn_this_red() {
    // The check is only worth something if the parser refuses what is not a
    // command: a guide line with a misspelt command must fail it.
    assert!(parse("ota instal /x.keelb").is_err());
    assert!(parse("journal verfy").is_err());
    assert!(keel_terminal::cli::parse(&["console".into(), "--dmo".into()]).is_err());
}
