//! Export to JSON Lines and re-verification of the export.
mod common;

use common::*;
use keel_core::chain::ChainBreak;
use keel_core::ids::TerminalId;
use keel_store::{verify_export, VerifyError};

fn exported(dir: &std::path::Path) -> (std::path::PathBuf, keel_core::chain::ChainHash) {
    let mut j = open(&dir.join("j.redb"));
    let mut fold = ToyFold::default();
    for r in 1..=6u64 {
        let batch = sale_batch(&j, &mut fold, r, 2_000 + r);
        j.commit(batch).unwrap();
    }
    let out = dir.join("export.jsonl");
    assert_eq!(j.export(&out).unwrap(), 7);
    (out, j.head())
}

#[test]
fn export_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (out, head) = exported(dir.path());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8);
    let header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(header["format"], "keel-journal-export");
    assert_eq!(header["records"], 7);
    assert_eq!(header["head"], head.hex());
    let rec: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(rec["seq"], 3);
    assert_eq!(rec["kind"], "sale-completed");
    assert!(rec["event"]["body"]["SaleCompleted"].is_object());
    let id = identity();
    let summary = verify_export(&out, Some((&id.store, id.terminal))).unwrap();
    assert_eq!((summary.records, summary.head), (7, head));
    assert!(matches!(
        verify_export(&out, Some((&id.store, TerminalId(9)))),
        Err(VerifyError::IdentityMismatch { .. })
    ));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

fn rewrite(path: &std::path::Path, line: usize, edit: impl FnOnce(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[line]).unwrap();
    edit(&mut v);
    lines[line] = v.to_string();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn tampered_record_bytes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = exported(dir.path());
    // Flip a byte of record 4's bytes and fix up its hash field, as a careful forger would.
    rewrite(&out, 4, |v| {
        let hex = v["record"].as_str().unwrap().to_string();
        let mut bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let n = bytes.len() - 2;
        bytes[n] ^= 1;
        v["record"] = bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into();
        v["hash"] = keel_core::chain::ChainHash::of(&bytes).hex().into();
    });
    let err = verify_export(&out, None).unwrap_err();
    assert_eq!(named_seq(&err), 4, "{err}");
}

#[test]
fn tampered_event_json_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = exported(dir.path());
    rewrite(&out, 5, |v| {
        v["event"]["body"]["SaleCompleted"]["total"]["minor"] = 1.into();
    });
    let err = verify_export(&out, None).unwrap_err();
    assert!(
        matches!(err, VerifyError::ExportMismatch { seq: 5, .. }),
        "{err}"
    );
}

#[test]
fn removed_and_truncated_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = exported(dir.path());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Drop the last line: the header's head says 7 records.
    std::fs::write(&out, lines[..7].join("\n") + "\n").unwrap();
    let err = verify_export(&out, None).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Truncated { seq: 7, head: 7 })
        ),
        "{err}"
    );
    // Drop record 3 and renumber nothing: its line position now holds record 4.
    let mut kept: Vec<&str> = lines.clone();
    kept.remove(3);
    std::fs::write(&out, kept.join("\n") + "\n").unwrap();
    let err = verify_export(&out, None).unwrap_err();
    assert_eq!(named_seq(&err), 3, "{err}");
}
