//! The `keel` command line's own inputs: `hash-pin` and `provision` refuse bad
//! input with a clear message and a non-zero exit, and write nothing.

use std::io::Write;
use std::process::{Command, Stdio};

fn keel(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hash_pin_hashes_good_pins_and_refuses_bad_ones() {
    let (code, out, _) = keel(&["hash-pin"], "4321\n");
    assert_eq!(code, 0);
    let hash = out
        .trim()
        .strip_prefix("pin_hash = \"")
        .and_then(|h| h.strip_suffix('"'))
        .unwrap();
    assert!(keel_core::auth::pin_matches(hash, "4321"));
    assert!(!keel_core::auth::pin_matches(hash, "4322"));
    for bad in ["12\n", "12ab\n", "\n", "123456789\n"] {
        let (code, out, err) = keel(&["hash-pin"], bad);
        assert_eq!(code, 2, "{bad:?}");
        assert!(
            out.is_empty() && err.contains("4 to 8 digits"),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn provision_refuses_bad_arguments_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("store");
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "provision",
                "--store",
                "Bad Store",
                "--terminals",
                "3",
                "--out",
                o,
            ],
            "store",
        ),
        (
            &["provision", "--store", "ok", "--terminals", "0", "--out", o],
            "--terminals",
        ),
        (
            &["provision", "--store", "ok", "--terminals", "x", "--out", o],
            "--terminals",
        ),
        (&["provision", "--store", "ok", "--terminals", "2"], "--out"),
        (
            &[
                "provision",
                "--store",
                "ok",
                "--terminals",
                "2",
                "--out",
                o,
                "--host",
                "nowhere",
            ],
            "--host",
        ),
        (
            &["provision", "--add-terminal", "4", "--out", o],
            "store-ca.pem",
        ),
    ];
    for (args, want) in cases {
        let (code, _, err) = keel(args, "");
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!out.join("t1").exists(), "{args:?} wrote a terminal");
    }
}
