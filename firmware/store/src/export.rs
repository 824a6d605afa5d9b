//! Exporting the journal as JSON Lines for auditors and the cloud, and
//! re-verifying such an export from the exact record bytes it carries.
//!
//! Format (version 1): a header line
//! `{"format":"keel-journal-export","version":1,"store":..,"terminal":..,"records":N,"head":hex}`
//! then one line per record, in order:
//! `{"seq":..,"hash":hex,"prev":hex,"hlc":{..},"kind":..,"record":hex,"event":{..}}`.
//! `record` is authoritative (the exact bytes that were hashed); the other
//! fields are conveniences that the verifier checks against it.
//!
//! This module owns the file format. It must not write into the journal, and
//! writes the export to a temporary file renamed into place, so a failed export
//! never leaves a partial file under the requested name.

use crate::error::{read_error, ExportError, ReadError, VerifyError};
use crate::journal::Journal;
use crate::schema::EVENTS;
use crate::verify::{check_anchored, check_first_record};
use keel_core::chain::{decode_record, genesis_hash, verify_chain, ChainHash, ChainSummary};
use keel_core::ids::{StoreId, TerminalId};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The `format` field of an export header.
pub const EXPORT_FORMAT: &str = "keel-journal-export";
/// The `version` field of an export header.
pub const EXPORT_VERSION: u64 = 1;

fn record_line(seq: u64, bytes: &[u8]) -> Result<Value, ReadError> {
    let event = decode_record(bytes).map_err(|e| ReadError::Unreadable {
        seq,
        reason: e.to_string(),
    })?;
    let event_json = serde_json::to_value(&event).map_err(|e| ReadError::Unreadable {
        seq,
        reason: e.to_string(),
    })?;
    Ok(json!({
        "seq": seq,
        "hash": ChainHash::of(bytes).hex(),
        "prev": event.prev.hex(),
        "hlc": {"wall_ms": event.hlc.wall_ms, "counter": event.hlc.counter, "node": event.hlc.node},
        "kind": event.body.kind(),
        "record": keel_core::hex::encode(bytes),
        "event": event_json,
    }))
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

impl Journal {
    /// Writes the journal to `path` as JSON Lines (see the module docs), from one
    /// snapshot, via a temporary file that is fsynced and renamed into place.
    /// Returns the number of records written.
    pub fn export(&self, path: &Path) -> Result<u64, ExportError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let head = crate::read::read_head(&txn)?;
        let events = txn.open_table(EVENTS).map_err(read_error)?;
        let count = events.len().map_err(read_error)?;
        let tmp = temp_path(path);
        let io_err = |source: io::Error| ExportError::Io {
            path: path.display().to_string(),
            source,
        };
        let result = (|| -> Result<(), ExportError> {
            let mut out = BufWriter::new(File::create(&tmp).map_err(io_err)?);
            let header = json!({
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "store": self.identity.store.0,
                "terminal": self.identity.terminal.0,
                "records": count,
                "head": head.hash.hex(),
            });
            writeln!(out, "{header}").map_err(io_err)?;
            for entry in events.iter().map_err(read_error)? {
                let (seq, bytes) = entry.map_err(read_error)?;
                let line = record_line(seq.value(), bytes.value())?;
                writeln!(out, "{line}").map_err(io_err)?;
            }
            let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
            file.sync_all().map_err(io_err)?;
            fs::rename(&tmp, path).map_err(io_err)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        log::info!(
            "journal {}: exported {count} records to {}",
            self.label,
            path.display()
        );
        Ok(count)
    }
}

fn field<'a>(value: &'a Value, name: &str, line: u64) -> Result<&'a Value, VerifyError> {
    value.get(name).ok_or_else(|| VerifyError::Format {
        line,
        reason: format!("missing field {name:?}"),
    })
}

/// Checks one record line; returns its position and record bytes.
fn check_line(text: &str, line: u64) -> Result<(u64, Vec<u8>), VerifyError> {
    let position = line - 1;
    let value: Value = serde_json::from_str(text).map_err(|e| VerifyError::Format {
        line,
        reason: e.to_string(),
    })?;
    let record_hex =
        field(&value, "record", line)?
            .as_str()
            .ok_or_else(|| VerifyError::Format {
                line,
                reason: "record is not a string".into(),
            })?;
    let bytes = keel_core::hex::decode(record_hex).ok_or(VerifyError::ExportMismatch {
        seq: position,
        reason: "record is not hex".into(),
    })?;
    let mismatch = |reason: &str| VerifyError::ExportMismatch {
        seq: position,
        reason: reason.into(),
    };
    if field(&value, "seq", line)?.as_u64() != Some(position) {
        return Err(mismatch("seq is not the line's position"));
    }
    if field(&value, "hash", line)?.as_str() != Some(ChainHash::of(&bytes).hex().as_str()) {
        return Err(mismatch("hash does not match the record bytes"));
    }
    // Undecodable bytes are reported by the chain check, naming the record.
    if decode_record(&bytes).is_ok() {
        let expected = record_line(position, &bytes).map_err(|e| mismatch(&e.to_string()))?;
        for name in ["prev", "hlc", "kind", "event"] {
            if field(&value, name, line)? != &expected[name] {
                return Err(mismatch(&format!("{name} does not match the record bytes")));
            }
        }
    }
    Ok((position, bytes))
}

/// Re-verifies an export written by [`Journal::export`]: the header, every
/// line's fields against its record bytes, and the hash chain from the record
/// bytes against the header's head. `expected`, when given, must match the
/// header's store and terminal. The error names the first bad record.
pub fn verify_export(
    path: &Path,
    expected: Option<(&StoreId, TerminalId)>,
) -> Result<ChainSummary, VerifyError> {
    let io_err = |source: io::Error| VerifyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut lines = BufReader::new(File::open(path).map_err(io_err)?).lines();
    let header_text = lines
        .next()
        .ok_or(VerifyError::Format {
            line: 1,
            reason: "empty file".into(),
        })?
        .map_err(io_err)?;
    let header: Value = serde_json::from_str(&header_text).map_err(|e| VerifyError::Format {
        line: 1,
        reason: e.to_string(),
    })?;
    if header.get("format").and_then(Value::as_str) != Some(EXPORT_FORMAT) {
        return Err(VerifyError::Format {
            line: 1,
            reason: format!("not a {EXPORT_FORMAT} file"),
        });
    }
    if header.get("version").and_then(Value::as_u64) != Some(EXPORT_VERSION) {
        return Err(VerifyError::Format {
            line: 1,
            reason: format!("unsupported export version (this verifier reads {EXPORT_VERSION})"),
        });
    }
    let bad = |what: &str| VerifyError::Format {
        line: 1,
        reason: format!("header field {what} missing or invalid"),
    };
    let store = StoreId(
        header
            .get("store")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("store"))?
            .to_string(),
    );
    let terminal = TerminalId(
        header
            .get("terminal")
            .and_then(Value::as_u64)
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| bad("terminal"))?,
    );
    let records = header
        .get("records")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("records"))?;
    let head_hash = header
        .get("head")
        .and_then(Value::as_str)
        .and_then(keel_core::hex::decode)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| bad("head"))?;
    if let Some((s, t)) = expected {
        if *s != store || t != terminal {
            return Err(VerifyError::IdentityMismatch {
                expected: format!("store {s} terminal {t}"),
                found: format!("store {store} terminal {terminal}"),
            });
        }
    }

    let mut first_error: Option<VerifyError> = None;
    let mut first_record: Option<Vec<u8>> = None;
    let mut line_no = 1u64;
    let iter = lines.map_while(|text| {
        line_no += 1;
        let checked = text.map_err(io_err).and_then(|t| check_line(&t, line_no));
        match checked {
            Ok((pos, bytes)) => {
                if pos == 1 {
                    first_record = Some(bytes.clone());
                }
                Some((pos, bytes))
            }
            Err(e) => {
                first_error = Some(e);
                None
            }
        }
    });
    let result = verify_chain(
        terminal,
        genesis_hash(&store, terminal),
        iter,
        Some((records, ChainHash(head_hash))),
    );
    if let Some(e) = first_error {
        return Err(e);
    }
    let summary = result.map_err(VerifyError::Broken)?;
    check_anchored(&summary, records)?;
    if let Some(bytes) = first_record {
        check_first_record(&bytes, &store, terminal)?;
    }
    Ok(summary)
}
