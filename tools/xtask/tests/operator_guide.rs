//! Keeps docs/operator-guide.md true for `cargo xtask`: every `cargo xtask ...`
//! line of its shell blocks is handed to the real xtask binary with one extra,
//! unknown argument appended (`--keel-guide-probe`). xtask parses a task's
//! arguments before it does anything, in order, so the run must stop with a
//! usage error that names the probe: every argument before it was accepted
//! and nothing was built or booted. Only tasks whose arguments are parsed up
//! front are allowed in the guide (setup, image, boot-test). A board name is
//! checked after the arguments, so `--board` values are not covered here.

#[allow(dead_code)]
#[path = "../../testkit/src/guide.rs"]
mod guide;

use std::process::Command;

const PROBE: &str = "--keel-guide-probe";
const PROBED_TASKS: &[&str] = &["setup", "image", "boot-test"];

fn guide_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operator-guide.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs xtask with `args` and the probe; returns (exit code, stderr).
fn probe(args: &[String]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg(PROBE)
        .output()
        .expect("run xtask");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_cargo_xtask_line_in_the_operator_guide_is_accepted() {
    let commands = guide::shell_commands(&guide_text()).expect("the guide's shell blocks");
    let lines = guide::invocations(&commands, &["cargo", "xtask"]);
    assert!(
        lines.len() >= 3,
        "only {} `cargo xtask` lines found",
        lines.len()
    );
    for (line, args) in lines {
        let task = args.first().map(String::as_str).unwrap_or("");
        assert!(
            PROBED_TASKS.contains(&task),
            "docs/operator-guide.md line {line}: `cargo xtask {task}` cannot be checked without running it \
             (probed tasks: {PROBED_TASKS:?})"
        );
        let (code, stderr) = probe(&args);
        assert!(
            code == Some(2) && stderr.contains(&format!("`{PROBE}`")),
            "docs/operator-guide.md line {line}: cargo xtask {args:?} was not accepted \
             (exit {code:?}): {stderr}"
        );
    }
}

#[test]
fn the_probe_names_a_bad_argument_instead() {
    // The check is only worth something if a wrong flag before the probe is
    // what xtask complains about.
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    for bad in [
        "image --outt x.img",
        "boot-test --smp 99",
        "setup --chek",
        "imag",
    ] {
        let (code, stderr) = probe(&args(bad));
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(!stderr.contains(PROBE), "{bad}: {stderr}");
    }
}
